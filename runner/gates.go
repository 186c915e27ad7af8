package runner

import (
	"fmt"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// CheckGates checks every gate on every target. A gate on a metric with no
// data fails: a gate nobody could measure has not held. A judge.NAME gate
// has no data here: its value is a run's (checkGates).
func CheckGates(gates []evals.Gate, targets []evals.TargetSummary) evals.GateVerdict {
	return checkGates(gates, targets, nil)
}

// checkGates checks the gates of targets on every target, and those of
// judges (judge.NAME) once, on judges, the agreements the run's report
// holds.
func checkGates(gates []evals.Gate, targets []evals.TargetSummary, judges []evals.JudgeAgreement) evals.GateVerdict {
	v := evals.GateVerdict{Held: true}
	for ti := range targets {
		t := &targets[ti]
		for _, g := range gates {
			if g.Ref.Judge != "" {
				continue
			}
			val, ok, why := g.Ref.Measure(t)
			r := gateResult(g, t.Name, val, ok, why)
			r.Target = t.Name
			v.Held = v.Held && r.Held
			v.Results = append(v.Results, r)
		}
	}
	for _, g := range gates {
		if g.Ref.Judge == "" {
			continue
		}
		val, ok, why := g.Ref.MeasureJudge(judges)
		r := gateResult(g, "judge "+g.Ref.Judge, val, ok, why)
		r.Judge = g.Ref.Judge
		v.Held = v.Held && r.Held
		v.Results = append(v.Results, r)
	}
	return v
}

// gateResult is gate g checked on what its message calls who: val, or no
// data, and why.
func gateResult(g evals.Gate, who string, val float64, ok bool, why string) evals.GateResult {
	r := evals.GateResult{Expr: g.Expr}
	if !ok {
		r.Message = fmt.Sprintf("%s: %s: no data (%s)", who, g.Expr, why)
		return r
	}
	r.Value = &val
	r.Held = g.Holds(val)
	r.Margin = val - g.Value
	if strings.HasPrefix(g.Op, "<") {
		r.Margin = g.Value - val
	}
	if r.Held {
		r.Message = fmt.Sprintf("%s: %s: %s (margin %s)", who, g.Expr, fmtNum(val), fmtNum(r.Margin))
	} else {
		r.Message = fmt.Sprintf("%s: %s: got %s, off by %s", who, g.Expr, fmtNum(val), fmtNum(-r.Margin))
	}
	return r
}

// CheckErrorBudget checks each target's errors against budget, the largest
// error rate a target may have (nil for none). A target over it breaks it,
// and so, budget or not, does a target whose every result is an error.
func CheckErrorBudget(budget *float64, targets []evals.TargetSummary) *evals.ErrorBudget {
	eb := &evals.ErrorBudget{Held: true}
	if budget != nil {
		b := *budget
		eb.Budget = &b
	}
	for _, t := range targets {
		if t.Cases == 0 || t.Errored == 0 {
			continue
		}
		br := evals.BudgetBreach{Target: t.Name, Cases: t.Cases, Errored: t.Errored, ErrorRate: t.ErrorRate}
		switch {
		case t.Errored == t.Cases:
			br.Reason = fmt.Sprintf("all %d requests failed", t.Cases)
		case budget != nil && t.ErrorRate > *budget:
			br.Reason = fmt.Sprintf("%d of %d cases ended in an error (%.1f%%), over the error budget of %.1f%%",
				t.Errored, t.Cases, 100*t.ErrorRate, 100**budget)
		default:
			continue
		}
		eb.Held = false
		eb.Over = append(eb.Over, br)
	}
	return eb
}

// ApplyErrorBudget records the verdict of CheckErrorBudget in sum. When the
// budget broke, the gate is not held either, with evals.NoteErrorBudget as
// its note unless a note already explains why (an interrupt).
func ApplyErrorBudget(sum *evals.Summary, budget *float64) {
	sum.ErrorBudget = CheckErrorBudget(budget, sum.Targets)
	if sum.ErrorBudget.Held {
		return
	}
	sum.Gate.Held = false
	if sum.Gate.Note == "" {
		sum.Gate.Note = evals.NoteErrorBudget
	}
}

func fmtNum(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}
