package runner

import (
	"fmt"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// metric returns the value a gate's metric names for one target, and, when
// there is no data for it, false and why.
func metric(g evals.Gate, t *evals.TargetSummary) (float64, bool, string) {
	m := g.Ref
	cases, scored := t.Cases, t.Scored
	passRate, mean, errRate, unscRate := t.PassRate, t.Mean, t.ErrorRate, t.UnscoredRate
	passCI, meanCI := t.PassRateCI, t.MeanCI
	crits := t.Criteria
	where := ""
	if m.SliceKey != "" {
		var sl *evals.SliceSummary
		for i := range t.Slices {
			if t.Slices[i].Key == m.SliceKey && t.Slices[i].Value == m.SliceValue {
				sl = &t.Slices[i]
			}
		}
		if sl == nil {
			return 0, false, fmt.Sprintf("no case is in slice %s", m.Slice())
		}
		cases, scored = sl.Cases, sl.Scored
		passRate, mean, errRate, unscRate = sl.PassRate, sl.Mean, sl.ErrorRate, sl.UnscoredRate
		passCI, meanCI = sl.PassRateCI, sl.MeanCI
		crits = sl.Criteria
		where = " in slice " + m.Slice()
	}
	bound := func(v float64, ci *evals.Interval) (float64, bool, string) {
		switch m.Bound {
		case "lower":
			if ci == nil {
				return 0, false, "no interval" + where
			}
			return ci.Lo, true, ""
		case "upper":
			if ci == nil {
				return 0, false, "no interval" + where
			}
			return ci.Hi, true, ""
		}
		return v, true, ""
	}
	if m.Criterion != "" {
		for _, c := range crits {
			if c.Name != m.Criterion {
				continue
			}
			if c.N == 0 {
				return 0, false, fmt.Sprintf("criterion %s scored no response of the %d cases%s", c.Name, cases, where)
			}
			if m.Stat == "macro_f1" || m.Stat == "micro_f1" {
				if c.Classification == nil {
					return 0, false, fmt.Sprintf("criterion %s compares no labels (label: true)", c.Name)
				}
				if m.Stat == "macro_f1" {
					return c.Classification.MacroF1, true, ""
				}
				return c.Classification.MicroF1, true, ""
			}
			if m.Stat == "corpus_bleu" {
				if c.CorpusBLEU == nil {
					return 0, false, fmt.Sprintf("criterion %s has no corpus BLEU (only bleu criteria do)", c.Name)
				}
				return *c.CorpusBLEU, true, ""
			}
			if m.Stat == "mean" {
				if m.Bound != "" && c.MeanCI == nil {
					return 0, false, fmt.Sprintf("the report has no interval for a criterion's mean%s", where)
				}
				return bound(c.Mean, c.MeanCI)
			}
			return bound(c.PassRate, c.PassRateCI)
		}
		return 0, false, fmt.Sprintf("no criterion %s", m.Criterion)
	}
	noCases := "no case completed" + where
	switch m.Stat {
	case "pass_rate":
		if cases == 0 {
			return 0, false, noCases
		}
		return bound(passRate, passCI)
	case "error_rate":
		return errRate, cases > 0, noCases
	case "unscored_rate":
		return unscRate, cases > 0, noCases
	case "mean":
		if scored == 0 {
			return 0, false, fmt.Sprintf("no case of %d was scored%s", cases, where)
		}
		return bound(mean, meanCI)
	}
	noLatency := "no response was received"
	received := t.Cases - t.Errored
	switch m.Stat {
	case "latency.p50":
		return t.LatencyMS.P50, received > 0, noLatency
	case "latency.p95":
		return t.LatencyMS.P95, received > 0, noLatency
	case "latency.p99":
		return t.LatencyMS.P99, received > 0, noLatency
	case "latency.mean":
		return t.LatencyMS.Mean, received > 0, noLatency
	case "latency.max":
		return t.LatencyMS.Max, received > 0, noLatency
	case "tokens.total":
		return float64(t.Usage.TotalTokens), received > 0, noLatency
	case "tokens.prompt":
		return float64(t.Usage.PromptTokens), received > 0, noLatency
	case "tokens.completion":
		return float64(t.Usage.CompletionTokens), received > 0, noLatency
	case "tokens.mean":
		return ratio(t.Usage.TotalTokens, received), received > 0, noLatency
	case "cost.total", "cost.mean":
		if t.Cost == nil {
			return 0, false, "the target has no price table (price)"
		}
		if m.Stat == "cost.total" {
			return t.Cost.Total, true, ""
		}
		return t.Cost.Mean, received > 0, noLatency
	case "pass@k", "pass^k", "flaky_rate":
		if t.Repeats == nil {
			return 0, false, "the cases ran once: pass@k, pass^k and flaky_rate need repeat > 1"
		}
		if t.Repeats.Cases == 0 {
			return 0, false, "no case has all its repeats"
		}
		if m.Stat == "flaky_rate" {
			return t.Repeats.FlakyRate, true, ""
		}
		at, hat, ok := t.Repeats.PassK(m.K)
		if !ok {
			return 0, false, fmt.Sprintf("k = %d is more than the %d repeats", m.K, t.Repeats.N)
		}
		if m.Stat == "pass@k" {
			return at, true, ""
		}
		return hat, true, ""
	}
	c := t.Comparison
	if c == nil {
		return 0, false, "no baseline to compare with: pass --baseline"
	}
	if c.Matched == 0 {
		return 0, false, fmt.Sprintf("no case matched the baseline's %s", c.Against)
	}
	switch m.Stat {
	case "delta.pass_rate":
		return bound(c.DeltaPassRate, c.DeltaPassRateCI)
	case "delta.mean":
		return bound(c.DeltaMean, c.DeltaMeanCI)
	case "regressions":
		return float64(c.Regressions), true, ""
	case "fixes":
		return float64(c.Fixes), true, ""
	}
	return 0, false, "unknown metric"
}

// CheckGates checks every gate on every target. A gate on a metric with no
// data fails: a gate nobody could measure has not held.
func CheckGates(gates []evals.Gate, targets []evals.TargetSummary) evals.GateVerdict {
	v := evals.GateVerdict{Held: true}
	for ti := range targets {
		t := &targets[ti]
		for _, g := range gates {
			r := evals.GateResult{Expr: g.Expr, Target: t.Name}
			val, ok, why := metric(g, t)
			if !ok {
				r.Message = fmt.Sprintf("%s: %s: no data (%s)", t.Name, g.Expr, why)
			} else {
				r.Value = &val
				r.Held = g.Holds(val)
				r.Margin = val - g.Value
				if strings.HasPrefix(g.Op, "<") {
					r.Margin = g.Value - val
				}
				if r.Held {
					r.Message = fmt.Sprintf("%s: %s: %s (margin %s)", t.Name, g.Expr, fmtNum(val), fmtNum(r.Margin))
				} else {
					r.Message = fmt.Sprintf("%s: %s: got %s, off by %s", t.Name, g.Expr, fmtNum(val), fmtNum(-r.Margin))
				}
			}
			v.Held = v.Held && r.Held
			v.Results = append(v.Results, r)
		}
	}
	return v
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
