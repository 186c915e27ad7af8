package runner

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

// aggregate accumulates one target's results. Only the collector goroutine
// touches it, so it needs no lock.
type aggregate struct {
	spec   evals.TargetSpec
	stats  evals.Statistics
	s      evals.TargetSummary
	scores sample
	lat    latencies
	cost   float64
	crit   []critAgg
	judges *evals.JudgeSummary // nil until a criterion calls a judge
	// criteria are the suite's, for the aggregates of new slices.
	criteria []Criterion

	sliceBy map[string]bool // metadata fields the suite slices by
	slices  map[sliceKey]*sliceAgg
	values  map[string]int // distinct values seen per slice key
	keys    []sliceKey     // scratch: the slices of the result being added

	repeat  int // repeats per case; > 1 turns on the repeats section
	reduce  string
	open    map[string]*caseRepeats // cases with repeats still to come
	reduced repeatAgg
}

type critAgg struct {
	evals.CriterionSummary
	sample sample
	labels *labelCounts // nil until a verdict compares labels
	bleu   *bleuSum     // nil until a verdict has BLEU counts
}

// bleuSum adds up the BLEU counts of a criterion's verdicts, for corpus BLEU:
// the sums only, so that memory does not grow with the cases.
type bleuSum struct {
	stats textmetric.BLEUStats
	n     int // verdicts counted
}

// add counts c, unless it could not come from a BLEU (a negative count, more
// matches than n-grams), which would make the score no number.
func (b *bleuSum) add(c *evals.BLEUCounts) {
	if c.HypLen < 0 || c.RefLen < 0 {
		return
	}
	for n := range c.Matches {
		if c.Matches[n] < 0 || c.Matches[n] > c.Totals[n] {
			return
		}
	}
	b.stats = b.stats.Add(textmetric.BLEUStats(*c))
	b.n++
}

// corpusBLEU is the corpus BLEU of a criterion's n scored verdicts, as
// sacrebleu's corpus_bleu computes it: 13a tokenisation, exp smoothing, no
// effective order (BLEU's zero value), on the summed counts. Nil unless all n
// verdicts had counts: a journal written before they were recorded has none,
// and a corpus BLEU of some of the responses would not be sacrebleu's.
func (b *bleuSum) corpusBLEU(n int) *float64 {
	if b == nil || n == 0 || b.n != n {
		return nil
	}
	v := textmetric.BLEU{}.Score(b.stats).Score
	return &v
}

func newAggregate(spec evals.TargetSpec, criteria []Criterion, suite *evals.Suite, st evals.Statistics, repeat int) *aggregate {
	a := &aggregate{
		spec:   spec,
		stats:  st,
		s:      evals.TargetSummary{Name: spec.Name, Provider: spec.Provider, Model: spec.Model},
		scores: sample{max: st.BootstrapMax},
		slices: map[sliceKey]*sliceAgg{},
		values: map[string]int{},
		repeat: repeat,
	}
	a.criteria = criteria
	a.crit = newCritAggs(criteria, st.BootstrapMax)
	if suite != nil {
		a.reduce = suite.Reduce
		a.sliceBy = map[string]bool{}
		for _, f := range suite.Slices {
			a.sliceBy[f] = true
		}
	}
	if a.reduce == "" {
		a.reduce = evals.ReduceMean
	}
	if repeat > 1 {
		a.open = map[string]*caseRepeats{}
		a.reduced.hist = make([]int, repeat+1)
	}
	return a
}

func newCritAggs(criteria []Criterion, max int) []critAgg {
	cs := make([]critAgg, len(criteria))
	for i, c := range criteria {
		cs[i] = critAgg{
			CriterionSummary: evals.CriterionSummary{Name: c.Spec.Name, Type: c.Spec.Type, Weight: c.Spec.WeightOr()},
			sample:           sample{max: max},
		}
	}
	return cs
}

func (a *aggregate) add(r *evals.Result) {
	s := &a.s
	s.Cases++
	switch r.Status {
	case evals.StatusPassed:
		s.Passed++
	case evals.StatusFailed:
		s.Failed++
	case evals.StatusUnscored:
		s.Unscored++
	case evals.StatusError:
		s.Errored++
		if s.Errors == nil {
			s.Errors = map[string]int{}
		}
		s.Errors[r.Error.Kind]++
	}
	if r.Score != nil {
		a.scores.add(*r.Score)
	}
	a.lat.add(r)
	if r.Cached {
		s.Cached++
	}
	if r.Cost != nil {
		a.cost += *r.Cost
	}
	if r.Status != evals.StatusPassed {
		a.keepFailed(r)
	}
	s.Usage.Add(r.Usage)
	addScores(a.crit, r.Scores, true)
	a.addJudges(r.Scores)
	a.keys = a.keys[:0]
	for _, tag := range r.Tags {
		a.keys = append(a.keys, tagSlice(tag))
	}
	for field := range a.sliceBy {
		if v, ok := sliceValue(r.Metadata[field]); ok {
			a.keys = append(a.keys, sliceKey{field, v})
		}
	}
	for i, k := range a.keys {
		if !slices.Contains(a.keys[:i], k) { // a tag "lang=de" and metadata lang "de"
			a.slice(k).add(r)
		}
	}
	if a.open != nil {
		a.addRepeat(r)
	}
}

// addJudges sums the calls of the LLM judges that scored r.
func (a *aggregate) addJudges(scores []evals.Score) {
	for _, sc := range scores {
		if sc.Judge == nil {
			continue
		}
		if a.judges == nil {
			a.judges = &evals.JudgeSummary{}
		}
		j := a.judges
		for _, v := range sc.Judge.Votes {
			j.Calls++
			if v.Cached {
				j.Cached++
			}
			if v.Verdict == "" {
				j.Failed++
			}
			if u := v.Usage; u != nil {
				j.Usage.Add(*u)
			}
			if v.Cost != nil {
				if j.Cost == nil {
					j.Cost, j.Currency = new(float64), v.Currency
				}
				*j.Cost += *v.Cost
			}
		}
	}
}

// addScores counts the verdicts of a result's criteria; for a target (not a
// slice), also the labels compared, for the classification metrics, and the
// BLEU counts, for corpus BLEU.
func addScores(cs []critAgg, scores []evals.Score, target bool) {
	for i, sc := range scores {
		if i >= len(cs) {
			break // a resumed run's criteria changed; the suite hash forbids it
		}
		c := &cs[i]
		if sc.Unscored {
			c.Unscored++
			continue
		}
		c.N++
		c.sample.add(sc.Score)
		if sc.Pass {
			c.Passed++
		}
		if target && sc.Label != nil {
			if c.labels == nil {
				c.labels = newLabelCounts()
			}
			c.labels.add(sc.Label)
		}
		if target && sc.BLEU != nil {
			if c.bleu == nil {
				c.bleu = &bleuSum{}
			}
			c.bleu.add(sc.BLEU)
		}
	}
}

// costSummary is the cost of n responses at price, nil without a price.
func costSummary(p *evals.PriceSpec, total float64, n int) *evals.CostSummary {
	if p == nil {
		return nil
	}
	cur := p.Currency
	if cur == "" {
		cur = "USD"
	}
	c := &evals.CostSummary{Total: total, Currency: cur}
	if n > 0 {
		c.Mean = total / float64(n)
	}
	return c
}

// keepFailed keeps the failed cases with the smallest ids, so the list does
// not depend on the order in which requests completed.
func (a *aggregate) keepFailed(r *evals.Result) {
	f := evals.FailedCase{CaseID: r.CaseID, Repeat: r.Repeat, Status: r.Status}
	fs := a.s.FailedCases
	if len(fs) < evals.MaxFailedCases {
		f.Reason = why(r)
		a.s.FailedCases = append(fs, f)
		return
	}
	worst := 0
	for i := range fs {
		if failedLess(fs[worst], fs[i]) {
			worst = i
		}
	}
	if failedLess(f, fs[worst]) {
		f.Reason = why(r)
		fs[worst] = f
	}
}

func failedLess(a, b evals.FailedCase) bool {
	if a.CaseID != b.CaseID {
		return a.CaseID < b.CaseID
	}
	return a.Repeat < b.Repeat
}

// why says in one line why a result did not pass: its error, or each criterion
// that failed or could not score, with its reason.
func why(r *evals.Result) string {
	if r.Error != nil {
		return r.Error.Kind + ": " + r.Error.Message
	}
	var parts []string
	for _, sc := range r.Scores {
		switch {
		case sc.Unscored:
			parts = append(parts, sc.Name+" unscored: "+sc.Reason)
		case !sc.Pass:
			parts = append(parts, sc.Name+": "+sc.Reason)
		}
	}
	return strings.Join(parts, "; ")
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (a *aggregate) summary() evals.TargetSummary {
	s := a.s
	st := a.stats
	s.PassRate = ratio(s.Passed, s.Cases)
	s.PassRateCI = wilson(s.Passed, s.Cases, st)
	s.ErrorRate = ratio(s.Errored, s.Cases)
	s.UnscoredRate = ratio(s.Unscored, s.Cases)
	s.Scored = a.scores.n
	s.Mean, s.MeanStdErr, s.MeanCI = a.scores.summary(st)
	s.LatencyMS = a.lat.summary()
	s.Cost = costSummary(a.spec.Price, a.cost, s.Cases-s.Errored)
	s.FailedCases = slices.Clone(s.FailedCases)
	slices.SortFunc(s.FailedCases, func(x, y evals.FailedCase) int {
		if failedLess(x, y) {
			return -1
		}
		if failedLess(y, x) {
			return 1
		}
		return 0
	})
	s.Criteria = critSummaries(a.crit, st, true)
	if a.judges != nil {
		j := *a.judges
		if j.Cost != nil {
			c := *j.Cost
			j.Cost = &c
		}
		s.Judges = &j
	}
	keys := slices.Collect(maps.Keys(a.slices))
	slices.SortFunc(keys, func(x, y sliceKey) int {
		if c := cmp.Compare(x.key, y.key); c != 0 {
			return c
		}
		return cmp.Compare(x.value, y.value)
	})
	s.Slices = nil
	for _, k := range keys {
		sa := a.slices[k]
		ss := sa.s
		ss.PassRate = ratio(ss.Passed, ss.Cases)
		ss.PassRateCI = wilson(ss.Passed, ss.Cases, st)
		ss.ErrorRate = ratio(ss.Errored, ss.Cases)
		ss.UnscoredRate = ratio(ss.Unscored, ss.Cases)
		ss.Scored = sa.scores.n
		ss.Mean, ss.MeanStdErr, ss.MeanCI = sa.scores.summary(st)
		ss.LatencyMS = sa.lat.summary()
		ss.Cost = costSummary(a.spec.Price, sa.cost, ss.Cases-ss.Errored)
		ss.Criteria = critSummaries(sa.crit, st, false)
		s.Slices = append(s.Slices, ss)
	}
	if a.open != nil {
		s.Repeats = a.repeatSummary()
	}
	return s
}

func critSummaries(cs []critAgg, st evals.Statistics, intervals bool) []evals.CriterionSummary {
	out := make([]evals.CriterionSummary, len(cs))
	for i, c := range cs {
		sum := c.CriterionSummary
		sum.PassRate = ratio(sum.Passed, sum.N)
		var se float64
		var ci *evals.Interval
		sum.Mean, se, ci = c.sample.summary(st)
		// A slice's criteria get the Wilson interval, which is cheap, and
		// not the bootstrap, which would run once per slice and criterion.
		sum.PassRateCI = wilson(sum.Passed, sum.N, st)
		if c.labels != nil {
			sum.Classification = c.labels.summary()
		}
		sum.CorpusBLEU = c.bleu.corpusBLEU(sum.N)
		if intervals {
			sum.MeanStdErr, sum.MeanCI = se, ci
		}
		out[i] = sum
	}
	return out
}
