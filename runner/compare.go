package runner

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/stats"
)

// CaseKey identifies a result within a target: the case and the repeat.
type CaseKey struct {
	CaseID string
	Repeat int
}

// Outcome is what a comparison needs of one result.
type Outcome struct {
	Pass  bool
	Score float64 // 0 when the result has no score (an error)
}

// Outcomes are one target's results by case, for comparing.
type Outcomes map[CaseKey]Outcome

// Add records r; a later result for the same case and repeat replaces an
// earlier one.
func (o Outcomes) Add(r *evals.Result) {
	var score float64
	if r.Score != nil {
		score = *r.Score
	}
	o[CaseKey{r.CaseID, r.Repeat}] = Outcome{Pass: r.Status == evals.StatusPassed, Score: score}
}

// scoreTie is the difference below which two case scores tie.
const scoreTie = 1e-9

// Compare compares target a (named aName) with b (bName) over the cases both
// have, matched by case id and repeat: win/tie/loss on case scores, the 2x2
// table of pass/fail with McNemar's exact test, paired intervals for the
// differences of pass rate and mean score (a's minus b's), and the cases
// that regressed (passed in b, fail in a) and were fixed.
func Compare(a, b Outcomes, aName, bName string, st evals.Statistics) evals.Comparison {
	c := evals.Comparison{Target: aName, Against: bName}
	keys := make([]CaseKey, 0, min(len(a), len(b)))
	for k := range a {
		if _, ok := b[k]; ok {
			keys = append(keys, k)
		} else {
			c.OnlyA++
		}
	}
	c.OnlyB = len(b) - len(keys)
	c.Matched = len(keys)
	if c.Matched == 0 {
		return c
	}
	// The bootstrap's resamples depend on the order of the cases: sort them.
	slices.SortFunc(keys, func(x, y CaseKey) int {
		if r := cmp.Compare(x.CaseID, y.CaseID); r != 0 {
			return r
		}
		return cmp.Compare(x.Repeat, y.Repeat)
	})
	as, bs := make([]float64, len(keys)), make([]float64, len(keys))
	ap, bp := make([]float64, len(keys)), make([]float64, len(keys))
	for i, k := range keys {
		x, y := a[k], b[k]
		as[i], bs[i] = x.Score, y.Score
		ap[i], bp[i] = b2f(x.Pass), b2f(y.Pass)
		switch {
		case x.Pass && y.Pass:
			c.BothPassed++
		case !x.Pass && !y.Pass:
			c.BothFailed++
		case x.Pass:
			c.Fixes++
			if len(c.FixCases) < evals.MaxListedCases {
				c.FixCases = append(c.FixCases, caseLabel(k))
			}
		default:
			c.Regressions++
			if len(c.RegressionCases) < evals.MaxListedCases {
				c.RegressionCases = append(c.RegressionCases, caseLabel(k))
			}
		}
	}
	if rec, err := stats.WinTieLoss(as, bs, scoreTie); err == nil {
		c.Wins, c.Ties, c.Losses = rec.Wins, rec.Ties, rec.Losses
	}
	if p, err := stats.McNemar(c.Fixes, c.Regressions); err == nil {
		c.McNemarP = p
	}
	c.DeltaPassRate, c.DeltaPassRateCI = meanDiff(ap, bp, st)
	c.DeltaMean, c.DeltaMeanCI = meanDiff(as, bs, st)
	return c
}

// meanDiff is mean(x) - mean(y) over matched samples with its interval: the
// paired bootstrap up to st.BootstrapMax pairs, the normal interval of the
// paired differences beyond.
func meanDiff(x, y []float64, st evals.Statistics) (float64, *evals.Interval) {
	n := len(x)
	var mean, m2 float64
	for i := range x {
		d := x[i] - y[i]
		delta := d - mean
		mean += delta / float64(i+1)
		m2 += delta * (d - mean)
	}
	if n <= st.BootstrapMax {
		bs := stats.Bootstrap{Seed: st.Seed, Resamples: st.Resamples, Level: st.Confidence}
		if iv, err := bs.MeanDiff(x, y); err == nil {
			return iv.Estimate, &evals.Interval{Lo: iv.Lo, Hi: iv.Hi, Method: "bootstrap"}
		}
	}
	z, err := stats.Z(st.Confidence)
	if err != nil || n < 2 {
		return mean, nil
	}
	se := math.Sqrt(m2/float64(n-1)) / math.Sqrt(float64(n))
	return mean, &evals.Interval{Lo: mean - z*se, Hi: mean + z*se, Method: "normal"}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// caseLabel names a case in a list: its id, and its repeat when not the first.
func caseLabel(k CaseKey) string {
	if k.Repeat == 0 {
		return k.CaseID
	}
	return k.CaseID + "#" + strconv.Itoa(k.Repeat)
}
