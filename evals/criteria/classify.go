package criteria

import (
	"cmp"
	"slices"

	"github.com/rubric-eval/rubric/evals"
)

// maxTrackedLabels caps the distinct labels one criterion's counts keep, so
// that a criterion comparing free text as labels cannot grow them without
// bound; labels beyond it are counted together, as evals.OtherLabel.
const maxTrackedLabels = 10000

var _ evals.CorpusScorer = (*Compare)(nil)

// NewCorpus implements evals.CorpusScorer: an equals with label: true
// measures its labels as a classifier's, over a target's responses.
func (c *Compare) NewCorpus() evals.Corpus {
	if !c.label {
		return nil
	}
	return newLabelCounts()
}

// labelCounts counts the (expected, predicted) label pairs of a criterion
// that compares labels, for one target: the evals.Corpus of such a
// criterion.
type labelCounts struct {
	index      map[string]int // label -> its index in names
	names      []string
	pairs      map[[2]int]int // (expected, predicted) -> responses
	other      int            // index of the overflow label; -1 until needed
	n, correct int
}

func newLabelCounts() *labelCounts {
	return &labelCounts{index: map[string]int{}, pairs: map[[2]int]int{}, other: -1}
}

// Add implements evals.Corpus: it counts the labels sc compared, if any.
func (lc *labelCounts) Add(sc *evals.Score) {
	if sc.Label != nil {
		lc.add(sc.Label)
	}
}

// Report implements evals.Corpus: the classification metrics, when some
// verdict compared labels.
func (lc *labelCounts) Report(sum *evals.CriterionSummary) {
	if lc.n > 0 {
		sum.Classification = lc.summary()
	}
}

func (lc *labelCounts) add(l *evals.Label) {
	lc.pairs[[2]int{lc.id(l.Expected), lc.id(l.Predicted)}]++
	lc.n++
	if l.Expected == l.Predicted {
		lc.correct++
	}
}

func (lc *labelCounts) id(label string) int {
	if i, ok := lc.index[label]; ok {
		return i
	}
	if len(lc.names) >= maxTrackedLabels {
		if lc.other < 0 {
			lc.other = len(lc.names)
			lc.names = append(lc.names, evals.OtherLabel)
		}
		return lc.other
	}
	lc.index[label] = len(lc.names)
	lc.names = append(lc.names, label)
	return len(lc.names) - 1
}

// summary computes the metrics, as scikit-learn's classification_report
// does: over every label expected or predicted, a ratio with nothing to
// divide by counting as 0.
func (lc *labelCounts) summary() *evals.Classification {
	k := len(lc.names)
	support, predicted, tp := make([]int, k), make([]int, k), make([]int, k)
	for p, n := range lc.pairs {
		support[p[0]] += n
		predicted[p[1]] += n
		if p[0] == p[1] {
			tp[p[0]] += n
		}
	}
	c := &evals.Classification{N: lc.n, Correct: lc.correct, MicroF1: ratio(lc.correct, lc.n)}
	metrics := make([]evals.LabelMetrics, k)
	for i := range k {
		p, r := ratio(tp[i], predicted[i]), ratio(tp[i], support[i])
		f := 0.0
		if p+r > 0 {
			f = 2 * p * r / (p + r)
		}
		metrics[i] = evals.LabelMetrics{Label: lc.names[i], Precision: p, Recall: r, F1: f, Support: support[i], Predicted: predicted[i]}
		c.MacroF1 += f
	}
	if k > 0 {
		c.MacroF1 /= float64(k)
	}

	// List the most frequent labels, by name.
	keep := make([]int, k)
	for i := range keep {
		keep[i] = i
	}
	slices.SortFunc(keep, func(a, b int) int {
		return cmp.Or(cmp.Compare(support[b]+predicted[b], support[a]+predicted[a]), cmp.Compare(lc.names[a], lc.names[b]))
	})
	keep = keep[:min(k, evals.MaxClassLabels)]
	slices.SortFunc(keep, func(a, b int) int { return cmp.Compare(lc.names[a], lc.names[b]) })
	c.OtherLabels = k - len(keep)

	row := make([]int, k) // label index -> row of the matrix
	for i := range row {
		row[i] = len(keep) // the "(other)" row, if any
	}
	for r, i := range keep {
		row[i] = r
		c.Labels = append(c.Labels, metrics[i])
		c.Confusion.Labels = append(c.Confusion.Labels, lc.names[i])
	}
	size := len(keep)
	if c.OtherLabels > 0 {
		size++
		c.Confusion.Labels = append(c.Confusion.Labels, evals.OtherLabel)
	}
	c.Confusion.Counts = make([][]int, size)
	for i := range c.Confusion.Counts {
		c.Confusion.Counts[i] = make([]int, size)
	}
	for p, n := range lc.pairs {
		c.Confusion.Counts[row[p[0]]][row[p[1]]] += n
	}
	return c
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
