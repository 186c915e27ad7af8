package history

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
)

// A trend is one metric of one suite's target across the runs the history
// holds, oldest first, each point with its interval when the metric has
// one, and each change from the run before marked when the paired
// comparison of the two runs' cases calls it significant.

// Trend is one target's series of a metric.
type Trend struct {
	Suite  string  `json:"suite"`
	Target string  `json:"target"`
	Metric string  `json:"metric"`
	Points []Point `json:"points"`
}

// Point is the metric in one run.
type Point struct {
	RunID     string    `json:"run_id"`
	Started   time.Time `json:"started"`
	Model     string    `json:"model,omitempty"`
	GitCommit string    `json:"git_commit,omitempty"`
	// Value is the metric; Missing says why there is none in this run.
	Value   *float64 `json:"value,omitempty"`
	Lo      *float64 `json:"lo,omitempty"`
	Hi      *float64 `json:"hi,omitempty"`
	Missing string   `json:"missing,omitempty"`
	// Change compares the run with the one before it that has a value:
	// nil for the first, and when the two cannot be compared.
	Change *Change `json:"change,omitempty"`
}

// Change is a point's difference from the previous point.
type Change struct {
	Delta float64 `json:"delta"`
	// Significant is set when the paired comparison of the two runs' cases
	// (McNemar's exact test for a pass rate, the paired bootstrap interval
	// of the mean's difference excluding 0 for a mean) says the change is
	// not chance, at the runs' confidence level. Tested says whether the
	// metric has such a test at all: only pass_rate and mean, of the
	// target or of a slice.
	Tested      bool    `json:"tested"`
	Significant bool    `json:"significant"`
	P           float64 `json:"p,omitempty"`
	// Matched counts the cases the two runs share, on which the test ran.
	Matched int `json:"matched,omitempty"`
}

// Trends computes the metric for every target (or only target, when set)
// of the suite's runs in the history, oldest first, up to limit runs (the
// newest; 0 for all). Runs that did not complete are left out: a partial
// run would read as a change.
func Trends(ctx context.Context, s Store, suite, target, metric string, limit int) ([]Trend, error) {
	ref, perr := evals.ParseMetric(metric)
	if perr != nil {
		return nil, fmt.Errorf("--metric %q: %s", metric, perr.Msg)
	}
	if ref.Baseline() || ref.K > 0 {
		return nil, fmt.Errorf("--metric %q: a trend follows a run's own metrics, not comparisons or pass@k", metric)
	}
	runs, err := s.Runs(ctx, Filter{Suite: suite, Target: target})
	if err != nil {
		return nil, err
	}
	runs = slices.DeleteFunc(runs, func(r Run) bool { return !r.Complete })
	if limit > 0 && len(runs) > limit {
		runs = runs[:limit]
	}
	slices.Reverse(runs) // oldest first
	var trends []Trend
	byTarget := map[string]int{}
	prevCases := map[string]runner.Outcomes{} // by target: the last point's cases
	prevVal := map[string]float64{}
	havePrev := map[string]bool{}
	for _, r := range runs {
		full, err := s.Get(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", r.ID, err)
		}
		var sum evals.Summary
		if err := json.Unmarshal(full.Report, &sum); err != nil {
			return nil, fmt.Errorf("run %s: its report: %w", r.ID, err)
		}
		var outcomes map[string]runner.Outcomes // read once per run, when needed
		for i := range sum.Targets {
			t := &sum.Targets[i]
			if target != "" && t.Name != target {
				continue
			}
			ti, ok := byTarget[t.Name]
			if !ok {
				ti = len(trends)
				byTarget[t.Name] = ti
				trends = append(trends, Trend{Suite: suite, Target: t.Name, Metric: metric})
			}
			p := Point{RunID: r.ID, Started: r.Started, Model: t.Model, GitCommit: r.GitCommit}
			v, ok, why := ref.Measure(t)
			if !ok {
				p.Missing = why
				trends[ti].Points = append(trends[ti].Points, p)
				continue
			}
			p.Value = &v
			lo, hi := ref, ref
			lo.Bound, hi.Bound = "lower", "upper"
			if l, ok, _ := lo.Measure(t); ok {
				if h, ok, _ := hi.Measure(t); ok {
					p.Lo, p.Hi = &l, &h
				}
			}
			testable := ref.Criterion == "" && (ref.Stat == "pass_rate" || ref.Stat == "mean")
			var cur runner.Outcomes
			if testable {
				if outcomes == nil {
					if outcomes, err = caseOutcomes(ctx, s, r.ID, ref); err != nil {
						return nil, err
					}
				}
				cur = outcomes[t.Name]
			}
			if havePrev[t.Name] {
				ch := &Change{Delta: v - prevVal[t.Name], Tested: testable}
				if testable && prevCases[t.Name] != nil && cur != nil {
					c := runner.Compare(cur, prevCases[t.Name], t.Name, t.Name, sum.Statistics)
					ch.Matched = c.Matched
					switch ref.Stat {
					case "pass_rate":
						ch.P = c.McNemarP
						ch.Significant = c.Matched > 0 && c.McNemarP < 1-sum.Statistics.Confidence
					case "mean":
						ci := c.DeltaMeanCI
						ch.Significant = ci != nil && (ci.Lo > 0 || ci.Hi < 0)
					}
				}
				p.Change = ch
			}
			prevVal[t.Name], havePrev[t.Name] = v, true
			prevCases[t.Name] = cur
			trends[ti].Points = append(trends[ti].Points, p)
		}
	}
	if len(trends) == 0 {
		what := fmt.Sprintf("no complete run of suite %q in the history", suite)
		if target != "" {
			what += fmt.Sprintf(" with target %q", target)
		}
		return nil, fmt.Errorf("%s", what)
	}
	return trends, nil
}

// caseOutcomes reads a run's case index into outcomes by target, keeping
// only the cases of ref's slice when it names one.
func caseOutcomes(ctx context.Context, s Store, runID string, ref evals.MetricRef) (map[string]runner.Outcomes, error) {
	out := map[string]runner.Outcomes{}
	slice := ""
	if ref.SliceKey != "" {
		slice = ref.SliceKey + "=" + ref.SliceValue
	}
	err := s.Cases(ctx, runID, func(c Case) error {
		if slice != "" && !slices.Contains(c.Slices, slice) {
			return nil
		}
		o := out[c.Target]
		if o == nil {
			o = runner.Outcomes{}
			out[c.Target] = o
		}
		var score float64
		if c.Score != nil {
			score = *c.Score
		}
		o[runner.CaseKey{CaseID: c.CaseID, Repeat: c.Repeat}] = runner.Outcome{Pass: c.Status == string(evals.StatusPassed), Score: score}
		return nil
	})
	return out, err
}

// sparks are the eighths of a sparkline, lowest first.
var sparks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws values as one block each, scaled from their minimum to
// their maximum; a missing value is a space, and equal values a middle
// block.
func Sparkline(values []*float64) string {
	lo, hi, any := 0.0, 0.0, false
	for _, v := range values {
		if v == nil {
			continue
		}
		if !any || *v < lo {
			lo = *v
		}
		if !any || *v > hi {
			hi = *v
		}
		any = true
	}
	var b strings.Builder
	for _, v := range values {
		switch {
		case v == nil:
			b.WriteRune(' ')
		case hi == lo:
			b.WriteRune(sparks[3])
		default:
			i := int((*v-lo)/(hi-lo)*float64(len(sparks)-1) + 0.5)
			b.WriteRune(sparks[i])
		}
	}
	return b.String()
}
