package criteria

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// labeled returns the results of one labeled criterion, and one unlabeled
// criterion, for the pairs given.
func labeled(expected, predicted []string) []*evals.Result {
	var out []*evals.Result
	for i := range expected {
		out = append(out, &evals.Result{CaseID: fmt.Sprint(i), Status: evals.StatusPassed, Scores: []evals.Score{
			{Name: "plain", Score: 1, Pass: true},
			{Name: "label", Label: &evals.Label{Expected: expected[i], Predicted: predicted[i]}},
		}})
	}
	return out
}

// classify feeds the results to the corpora of an equals without label and
// one with label: true, as the aggregation of a target does, and returns
// what they report.
func classify(results []*evals.Result) []evals.CriterionSummary {
	corpora := []evals.Corpus{(&Compare{}).NewCorpus(), (&Compare{label: true}).NewCorpus()}
	sums := make([]evals.CriterionSummary, len(corpora))
	for _, r := range results {
		for i := range r.Scores {
			if corpora[i] != nil && !r.Scores[i].Unscored {
				corpora[i].Add(&r.Scores[i])
			}
		}
	}
	for i, c := range corpora {
		if c != nil {
			c.Report(&sums[i])
		}
	}
	return sums
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestClassificationSklearnExample reproduces the example of scikit-learn's
// classification_report documentation: y_true [0, 1, 2, 2, 2], y_pred
// [0, 0, 2, 2, 1] give precision 0.50 / 0.00 / 1.00, recall 1.00 / 0.00 /
// 0.67, F1 0.67 / 0.00 / 0.80, support 1 / 1 / 3, accuracy 0.60, macro F1
// 0.49.
func TestClassificationSklearnExample(t *testing.T) {
	crits := classify(labeled(
		[]string{"class 0", "class 1", "class 2", "class 2", "class 2"},
		[]string{"class 0", "class 0", "class 2", "class 2", "class 1"},
	))
	if crits[0].Classification != nil {
		t.Errorf("unlabeled criterion has %+v", crits[0].Classification)
	}
	c := crits[1].Classification
	if c == nil {
		t.Fatal("no classification")
	}
	want := []evals.LabelMetrics{
		{Label: "class 0", Precision: 0.5, Recall: 1, F1: 2.0 / 3, Support: 1, Predicted: 2},
		{Label: "class 1", Precision: 0, Recall: 0, F1: 0, Support: 1, Predicted: 1},
		{Label: "class 2", Precision: 1, Recall: 2.0 / 3, F1: 0.8, Support: 3, Predicted: 2},
	}
	if len(c.Labels) != len(want) {
		t.Fatalf("labels %+v", c.Labels)
	}
	for i, w := range want {
		g := c.Labels[i]
		if g.Label != w.Label || !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) || g.Support != w.Support || g.Predicted != w.Predicted {
			t.Errorf("label %d: %+v, want %+v", i, g, w)
		}
	}
	if c.N != 5 || c.Correct != 3 || !near(c.MicroF1, 0.6) || !near(c.MacroF1, (2.0/3+0+0.8)/3) || c.OtherLabels != 0 {
		t.Errorf("n %d, correct %d, micro %v (want 0.6), macro %v (want 0.4889)", c.N, c.Correct, c.MicroF1, c.MacroF1)
	}
	wantCM := evals.Confusion{Labels: []string{"class 0", "class 1", "class 2"}, Counts: [][]int{{1, 0, 0}, {1, 0, 0}, {0, 1, 2}}}
	if !reflect.DeepEqual(c.Confusion, wantCM) {
		t.Errorf("confusion %+v, want %+v", c.Confusion, wantCM)
	}
}

// TestClassificationPredictedOnly checks that a label only ever predicted
// counts in the macro average with F1 0, as sklearn's f1_score(average=
// "macro") counts it: y_true [a a b], y_pred [a c b] give F1 2/3, 1, 0 and
// macro F1 5/9; micro F1 is the accuracy, 2/3.
func TestClassificationPredictedOnly(t *testing.T) {
	c := classify(labeled([]string{"a", "a", "b"}, []string{"a", "c", "b"}))[1].Classification
	if !near(c.MacroF1, 5.0/9) || !near(c.MicroF1, 2.0/3) {
		t.Errorf("macro %v (want 5/9), micro %v (want 2/3)", c.MacroF1, c.MicroF1)
	}
	if l := c.Labels[2]; l.Label != "c" || l.Precision != 0 || l.Recall != 0 || l.Support != 0 || l.Predicted != 1 {
		t.Errorf("label c: %+v", l)
	}
}

// TestClassificationSkipsUnscored leaves unscored verdicts and verdicts
// without a label out of the counts.
func TestClassificationSkipsUnscored(t *testing.T) {
	rs := labeled([]string{"a", "b"}, []string{"a", "a"})
	rs[1].Scores[1].Unscored = true
	rs = append(rs, &evals.Result{Status: evals.StatusFailed, Scores: []evals.Score{{Name: "plain"}, {Name: "label"}}})
	c := classify(rs)[1].Classification
	if c.N != 1 || c.Correct != 1 || len(c.Labels) != 1 {
		t.Errorf("%+v", c)
	}
}

// TestClassificationCapsLabels lists the MaxClassLabels most frequent labels
// and folds the others into "(other)" in the confusion matrix, without
// changing the averages.
func TestClassificationCapsLabels(t *testing.T) {
	var exp, pred []string
	for i := range 60 {
		// Label Lnn appears 60-i times, right every time but the first, when
		// it is taken for L00.
		for j := range 60 - i {
			exp = append(exp, fmt.Sprintf("L%02d", i))
			p := exp[len(exp)-1]
			if j == 0 {
				p = "L00"
			}
			pred = append(pred, p)
		}
	}
	c := classify(labeled(exp, pred))[1].Classification
	if len(c.Labels) != evals.MaxClassLabels || c.OtherLabels != 10 || c.Labels[49].Label != "L49" {
		t.Fatalf("%d labels listed, %d others, last %q", len(c.Labels), c.OtherLabels, c.Labels[len(c.Labels)-1].Label)
	}
	cm := c.Confusion
	if len(cm.Labels) != 51 || cm.Labels[50] != evals.OtherLabel || len(cm.Counts) != 51 || len(cm.Counts[50]) != 51 {
		t.Fatalf("confusion labels %d, rows %d", len(cm.Labels), len(cm.Counts))
	}
	total, other := 0, 0
	for i, row := range cm.Counts {
		for _, n := range row {
			total += n
			if i == 50 {
				other += n
			}
		}
	}
	// L50..L59 appear 10+9+...+1 = 55 times; 10 of those were predicted L00.
	if total != len(exp) || other != 55 || cm.Counts[50][0] != 10 || cm.Counts[50][50] != 45 {
		t.Errorf("total %d (want %d), other row %d (want 55), other->L00 %d, other->other %d", total, len(exp), other, cm.Counts[50][0], cm.Counts[50][50])
	}
	var sumF1 float64
	for i := range 60 {
		// Each label but L00 has precision 1 and recall (n-1)/n.
		n := float64(60 - i)
		if i > 0 {
			r := (n - 1) / n
			sumF1 += 2 * r / (1 + r)
		}
	}
	// L00: support 60, right every time, and predicted once wrongly for each
	// of the other 59: 119 times.
	p0, r0 := 60.0/119, 1.0
	sumF1 += 2 * p0 * r0 / (p0 + r0)
	if !near(c.MacroF1, sumF1/60) {
		t.Errorf("macro F1 %v, want %v over all 60 labels", c.MacroF1, sumF1/60)
	}
}

// TestLabelCountsBounded keeps at most maxTrackedLabels distinct labels.
func TestLabelCountsBounded(t *testing.T) {
	lc := newLabelCounts()
	for i := range maxTrackedLabels + 500 {
		s := fmt.Sprint(i)
		lc.add(&evals.Label{Expected: s, Predicted: s})
	}
	if len(lc.names) != maxTrackedLabels+1 || lc.names[lc.other] != evals.OtherLabel {
		t.Errorf("%d labels kept", len(lc.names))
	}
	if c := lc.summary(); c.N != maxTrackedLabels+500 || c.Correct != c.N || c.OtherLabels != maxTrackedLabels+1-evals.MaxClassLabels {
		t.Errorf("n %d, correct %d, other labels %d", c.N, c.Correct, c.OtherLabels)
	}
}
