package runner

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// aggregate accumulates one target's results. Only the collector goroutine
// touches it, so it needs no lock.
type aggregate struct {
	spec     evals.TargetSpec
	s        evals.TargetSummary
	scoreSum float64
	latSum   float64
	latN     int
	crit     []critAgg
}

type critAgg struct {
	evals.CriterionSummary
	sum    float64
	labels *labelCounts // nil until a verdict compares labels
}

func newAggregate(spec evals.TargetSpec, criteria []Criterion) *aggregate {
	a := &aggregate{spec: spec, s: evals.TargetSummary{Name: spec.Name, Provider: spec.Provider, Model: spec.Model}}
	for _, c := range criteria {
		a.crit = append(a.crit, critAgg{CriterionSummary: evals.CriterionSummary{Name: c.Spec.Name, Type: c.Spec.Type, Weight: c.Spec.WeightOr()}})
	}
	return a
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
		s.Scored++
		a.scoreSum += *r.Score
	}
	if r.Status != evals.StatusError || r.Error.Kind != evals.ErrKindRender {
		// A cached response counts with the latency of the call that was
		// cached: the figure describes the endpoint, not the cache.
		lat := r.LatencyMS
		if r.Cached {
			lat = r.OriginalLatencyMS
			s.Cached++
		}
		a.latSum += lat
		a.latN++
		s.LatencyMS.Max = math.Max(s.LatencyMS.Max, lat)
	}
	if r.Status != evals.StatusPassed {
		a.keepFailed(r)
	}
	s.Usage.PromptTokens += r.Usage.PromptTokens
	s.Usage.CompletionTokens += r.Usage.CompletionTokens
	s.Usage.TotalTokens += r.Usage.TotalTokens
	for i, sc := range r.Scores {
		c := &a.crit[i]
		if sc.Unscored {
			c.Unscored++
			continue
		}
		c.N++
		c.sum += sc.Score
		if sc.Pass {
			c.Passed++
		}
		if sc.Label != nil {
			if c.labels == nil {
				c.labels = newLabelCounts()
			}
			c.labels.add(sc.Label)
		}
	}
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
	s.PassRate = ratio(s.Passed, s.Cases)
	s.ErrorRate = ratio(s.Errored, s.Cases)
	s.UnscoredRate = ratio(s.Unscored, s.Cases)
	if s.Scored > 0 {
		s.Mean = a.scoreSum / float64(s.Scored)
	}
	if a.latN > 0 {
		s.LatencyMS.Mean = math.Round(a.latSum/float64(a.latN)*1000) / 1000
	}
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
	s.Criteria = make([]evals.CriterionSummary, len(a.crit))
	for i, c := range a.crit {
		cs := c.CriterionSummary
		cs.PassRate = ratio(cs.Passed, cs.N)
		if cs.N > 0 {
			cs.Mean = c.sum / float64(cs.N)
		}
		if c.labels != nil {
			cs.Classification = c.labels.summary()
		}
		s.Criteria[i] = cs
	}
	return s
}

// metric returns the value a gate's metric names for one target, and false
// when there is no data for it.
func metric(g evals.Gate, t *evals.TargetSummary) (float64, bool) {
	if name, m, ok := g.Criterion(); ok {
		for _, c := range t.Criteria {
			if c.Name != name {
				continue
			}
			if c.N == 0 {
				return 0, false
			}
			if m == "mean" {
				return c.Mean, true
			}
			return c.PassRate, true
		}
		return 0, false
	}
	switch g.Metric {
	case "pass_rate":
		return t.PassRate, t.Cases > 0
	case "error_rate":
		return t.ErrorRate, t.Cases > 0
	case "unscored_rate":
		return t.UnscoredRate, t.Cases > 0
	case "mean":
		return t.Mean, t.Scored > 0
	}
	return 0, false
}

// CheckGates checks every gate on every target. A gate on a metric with no
// data fails: a gate nobody could measure has not held.
func CheckGates(gates []evals.Gate, targets []evals.TargetSummary) evals.GateVerdict {
	v := evals.GateVerdict{Held: true}
	for ti := range targets {
		t := &targets[ti]
		for _, g := range gates {
			r := evals.GateResult{Expr: g.Expr, Target: t.Name}
			val, ok := metric(g, t)
			if !ok {
				r.Message = fmt.Sprintf("%s: %s: no data (%s)", t.Name, g.Expr, noDataReason(g, t))
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

func noDataReason(g evals.Gate, t *evals.TargetSummary) string {
	if name, _, ok := g.Criterion(); ok {
		return fmt.Sprintf("criterion %s scored no response of the %d cases", name, t.Cases)
	}
	if g.Metric == "mean" {
		return fmt.Sprintf("no case of %d was scored", t.Cases)
	}
	return "no case completed"
}

func fmtNum(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}
