package runner

import (
	"maps"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/stats"
)

// tally counts the figures of a set of results: a target's, or one slice's.
// Both are counted by this one type, so that a figure means the same for a
// target and for a slice. Like the aggregate it belongs to, only the
// collector goroutine touches it.
type tally struct {
	f      evals.Figures // the counts; figures computes the rest
	scores sample
	lat    latencies
	stream streamTimes
	cost   stats.Sum
	crit   []critAgg
}

func newTally(criteria []Criterion, st evals.Statistics) tally {
	return tally{scores: sample{max: st.BootstrapMax}, crit: newCritAggs(criteria, st.BootstrapMax)}
}

// critAgg counts one criterion's verdicts.
type critAgg struct {
	evals.CriterionSummary
	sample sample
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

// add counts r.
func (t *tally) add(r *evals.Result) {
	f := &t.f
	f.Cases++
	switch r.Status {
	case evals.StatusPassed:
		f.Passed++
	case evals.StatusFailed:
		f.Failed++
	case evals.StatusUnscored:
		f.Unscored++
	case evals.StatusError:
		f.Errored++
		if f.Errors == nil {
			f.Errors = map[string]int{}
		}
		f.Errors[r.Error.Kind]++
	}
	if r.Score != nil {
		t.scores.add(*r.Score)
	}
	t.lat.add(r)
	t.stream.add(r)
	if r.Cached {
		f.Cached++
	}
	if r.Cost != nil {
		t.cost.Add(*r.Cost)
	}
	f.Usage.Add(r.Usage)
	addScores(t.crit, r.Scores)
}

// addScores counts the verdicts of a result's criteria.
func addScores(cs []critAgg, scores []evals.Score) {
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
	}
}

// figures returns the counts with the rates, intervals and mean computed,
// the latencies summed up, the cost at price, and the criteria.
// critIntervals gives the criteria their mean's interval: a target's do,
// a slice's not, which would bootstrap once per slice and criterion.
func (t *tally) figures(price *evals.PriceSpec, st evals.Statistics, critIntervals bool) evals.Figures {
	f := t.f
	f.PassRate = ratio(f.Passed, f.Cases)
	f.PassRateCI = wilson(f.Passed, f.Cases, st)
	f.ErrorRate = ratio(f.Errored, f.Cases)
	f.UnscoredRate = ratio(f.Unscored, f.Cases)
	f.Scored = t.scores.n
	f.Mean, f.MeanStdErr, f.MeanCI = t.scores.summary(st)
	f.Errors = maps.Clone(f.Errors)
	f.LatencyMS = t.lat.summary()
	f.Stream = t.stream.summary()
	f.Cost = costSummary(price, t.cost.Value(), f.Cases-f.Errored)
	f.Criteria = critSummaries(t.crit, st, critIntervals)
	return f
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
		if intervals {
			sum.MeanStdErr, sum.MeanCI = se, ci
		}
		out[i] = sum
	}
	return out
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
