package runner

import (
	"slices"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/stats"
)

// caseRepeats collects one case's repeats until all have come.
type caseRepeats struct {
	n, passed int
	scores    []float64
}

// repeatAgg accumulates the reduced verdicts of cases whose repeats are all in.
type repeatAgg struct {
	cases, passed, flaky int
	scoreSum             stats.Sum // of the reduced case scores
	hist                 []int     // hist[c]: cases with c passing repeats
	flakyIDs             []string
}

// addRepeat collects a result into its case's repeats and, when the last
// has come, reduces them.
func (a *aggregate) addRepeat(r *evals.Result) {
	cr := a.open[r.CaseID]
	if cr == nil {
		cr = &caseRepeats{}
		a.open[r.CaseID] = cr
	}
	cr.n++
	if r.Status == evals.StatusPassed {
		cr.passed++
	}
	score := 0.0 // an error or an unscored case scores 0 here
	if r.Score != nil {
		score = *r.Score
	}
	cr.scores = append(cr.scores, score)
	if cr.n < a.repeat {
		return
	}
	delete(a.open, r.CaseID)
	ra := &a.reduced
	ra.cases++
	ra.scoreSum.Add(reduceScores(a.reduce, cr.scores))
	ra.hist[min(cr.passed, a.repeat)]++
	if reducedPass(a.reduce, cr.passed, cr.n) {
		ra.passed++
	}
	if cr.passed > 0 && cr.passed < cr.n {
		ra.flaky++
		ra.flakyIDs = keepSmallest(ra.flakyIDs, r.CaseID, evals.MaxFailedCases)
	}
}

// reducedPass is a case's verdict over its repeats: the reducer applied to
// the pass verdicts (1 or 0), passing above 0.5.
func reducedPass(reduce string, passed, n int) bool {
	switch reduce {
	case evals.ReduceMax:
		return passed > 0
	case evals.ReduceMin:
		return passed == n
	}
	// mean, median and majority agree on 0/1 verdicts: more than half.
	return 2*passed > n
}

// reduceScores reduces a case's repeat scores to one.
func reduceScores(reduce string, xs []float64) float64 {
	var v float64
	var err error
	switch reduce {
	case evals.ReduceMedian:
		v, err = stats.Median(xs)
	case evals.ReduceMax:
		v, err = stats.Max(xs)
	case evals.ReduceMin:
		v, err = stats.Min(xs)
	default:
		v, err = stats.Mean(xs)
	}
	if err != nil {
		return 0
	}
	return v
}

// keepSmallest adds id to ids, keeping the max smallest, sorted.
func keepSmallest(ids []string, id string, max int) []string {
	i, found := slices.BinarySearch(ids, id)
	if found || i >= max {
		return ids
	}
	ids = slices.Insert(ids, i, id)
	if len(ids) > max {
		ids = ids[:max]
	}
	return ids
}

func (a *aggregate) repeatSummary() *evals.RepeatSummary {
	ra := a.reduced
	rs := &evals.RepeatSummary{
		N:          a.repeat,
		Reducer:    a.reduce,
		Cases:      ra.cases,
		Passed:     ra.passed,
		PassRate:   ratio(ra.passed, ra.cases),
		PassCounts: slices.Clone(ra.hist),
		Flaky:      ra.flaky,
		FlakyRate:  ratio(ra.flaky, ra.cases),
		FlakyCases: slices.Clone(ra.flakyIDs),
	}
	if ra.cases == 0 {
		return rs
	}
	rs.Mean = ra.scoreSum.Value() / float64(ra.cases)
	for _, k := range reportedKs(a.repeat) {
		at, hat, ok := rs.PassK(k)
		if ok {
			rs.PassAtK = append(rs.PassAtK, evals.KValue{K: k, Value: at})
			rs.PassHatK = append(rs.PassHatK, evals.KValue{K: k, Value: hat})
		}
	}
	return rs
}

// reportedKs are the k at which the report gives pass@k and pass^k: 1, 2,
// 3, 5, 10, 20, 50, ... up to n, and n. Gates may ask for any k up to n.
func reportedKs(n int) []int {
	var ks []int
	for _, k := range []int{1, 2, 3, 5, 10, 20, 50, 100, 200, 500} {
		if k < n {
			ks = append(ks, k)
		}
	}
	return append(ks, n)
}
