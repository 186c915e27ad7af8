package runner

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/stats"
)

// Rated is a result an LLM judge rated, with what people said of it.
type Rated struct {
	CaseID, Target string
	Repeat         int
	// JudgePass and JudgeScore are the judge criterion's verdict; Reason
	// its reason.
	JudgePass  bool
	JudgeScore float64
	Reason     string
	// Humans are each reviewer's verdict, in the order of the reviewers:
	// pass (true), fail (false), or none (nil).
	Humans []*bool
}

// KappaMethod names the interval of a judge's kappa in reports.
const KappaMethod = "fleiss-cohen-everitt"

// Agree fills in a's figures from the results the judge rated, at the
// confidence level given: the people's verdict on a result is its
// reviewers' majority (a result with none is counted in NoReview, one they
// split on evenly in Split, and both are left out); N, the raw agreement,
// Cohen's kappa with its interval, the confusion matrix, the rates and the
// disagreements, worst first. With two reviewers or more, Krippendorff's
// alpha of the judge and the reviewers, and of the reviewers alone, on
// every result (missing verdicts allowed).
func Agree(a *evals.Agreement, items []Rated, level float64) {
	var table [2][2]int
	var all, humans [][]int
	reviewers := len(a.Reviewers)
	a.Disagreements = []evals.Disagreement{}
	for _, it := range items {
		pass, fail := 0, 0
		var unit []int
		for _, h := range it.Humans {
			switch {
			case h == nil:
				continue
			case *h:
				pass++
			default:
				fail++
			}
			unit = append(unit, class(*h))
		}
		if reviewers > 1 {
			humans = append(humans, unit)
			all = append(all, append([]int{class(it.JudgePass)}, unit...))
		}
		switch {
		case pass+fail == 0:
			a.NoReview++
			continue
		case pass == fail:
			a.Split++
			continue
		}
		human := pass > fail
		table[class(it.JudgePass)][class(human)]++
		if it.JudgePass != human {
			d := evals.Disagreement{CaseID: it.CaseID, Target: it.Target, Repeat: it.Repeat,
				JudgePass: it.JudgePass, JudgeScore: it.JudgeScore, HumanPass: human, Reason: it.Reason}
			if reviewers > 1 {
				d.Humans = make([]string, len(it.Humans))
				for i, h := range it.Humans {
					if h != nil {
						d.Humans[i] = verdictWord(*h)
					}
				}
			}
			a.Disagreements = append(a.Disagreements, d)
		}
	}
	a.Confusion = table
	a.N = table[0][0] + table[0][1] + table[1][0] + table[1][1]
	if a.N > 0 {
		a.Agreement = ptr(float64(table[0][0]+table[1][1]) / float64(a.N))
	}
	a.TPR = rate(table[1][1], table[0][1]+table[1][1])
	a.FPR = rate(table[1][0], table[0][0]+table[1][0])
	k, err := stats.CohenKappa([][]int{table[0][:], table[1][:]}, level)
	switch {
	case errors.Is(err, stats.ErrNoData):
		a.KappaUndefined = "no result was rated by both the judge and people"
	case errors.Is(err, stats.ErrUndefined):
		a.KappaUndefined = "the judge and people put every result in one class (" + verdictWord(table[0][0] > 0) + "): agreement by chance alone would be perfect"
	case err != nil:
		a.KappaUndefined = err.Error()
	default:
		a.Kappa, a.KappaSE = ptr(k.Kappa), ptr(k.SE)
		a.KappaCI = &evals.Interval{Lo: k.Lo, Hi: k.Hi, Method: KappaMethod}
	}
	if reviewers > 1 {
		if al, err := stats.KrippendorffAlpha(all); err == nil {
			a.Alpha = ptr(al.Alpha)
		}
		if al, err := stats.KrippendorffAlpha(humans); err == nil {
			a.ReviewersAlpha = ptr(al.Alpha)
		}
	}
	human := func(d evals.Disagreement) float64 {
		if d.HumanPass {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(a.Disagreements, func(x, y evals.Disagreement) int {
		return cmp.Or(cmp.Compare(math.Abs(y.JudgeScore-human(y)), math.Abs(x.JudgeScore-human(x))),
			strings.Compare(x.Target, y.Target), strings.Compare(x.CaseID, y.CaseID), cmp.Compare(x.Repeat, y.Repeat))
	})
}

// class is a verdict's row or column: 0 pass, 1 fail.
func class(pass bool) int {
	if pass {
		return 0
	}
	return 1
}

func verdictWord(pass bool) string {
	if pass {
		return "pass"
	}
	return "fail"
}

func rate(num, den int) *float64 {
	if den == 0 {
		return nil
	}
	return ptr(float64(num) / float64(den))
}

func ptr(v float64) *float64 { return &v }
