package report

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func summary() *evals.Summary {
	v := 0.725
	judgeCost := 0.0351
	return &evals.Summary{
		ReportVersion: 1, RunID: "20261128-000000-abcdef", Suite: "triage", SuiteVersion: "3",
		Started: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		Targets: []evals.TargetSummary{{
			Name: "v1", Provider: "replay", Figures: evals.Figures{Cases: 40, Passed: 29, Failed: 9, Errored: 1, Unscored: 1,
				PassRate: 0.725, ErrorRate: 0.025, Mean: 0.856, Scored: 38, Cached: 12,
				Errors: map[string]int{"timeout": 1}, Usage: evals.Usage{TotalTokens: 10622},
				PassRateCI: &evals.Interval{Lo: 0.5725, Hi: 0.8389, Method: "wilson"},
				LatencyMS:  evals.LatencySummary{Mean: 1308.4, P50: 1250, P95: 1990.5, P99: 2080, Max: 2100},
				Cost:       &evals.CostSummary{Total: 0.0042, Mean: 0.000105, Currency: "USD"},
				Criteria: []evals.CriterionSummary{
					{Name: "schema", Type: "json-schema", N: 39, Passed: 35, PassRate: 35.0 / 39, Mean: 35.0 / 39, PassRateCI: &evals.Interval{Lo: 0.7639, Hi: 0.9594}},
					{Name: "judge", Type: "regex", N: 0, Unscored: 39},
					{Name: "translation", Type: "bleu", N: 38, Passed: 21, Unscored: 1, PassRate: 21.0 / 38, Mean: 0.4795,
						PassRateCI: &evals.Interval{Lo: 0.3966, Hi: 0.6976}, CorpusBLEU: ptr(48.530827)},
					{Name: "intent", Type: "equals", N: 5, Passed: 3, PassRate: 0.6, Mean: 0.6, Classification: &evals.Classification{
						N: 5, Correct: 3, MacroF1: (2.0/3 + 0.8) / 3, MicroF1: 0.6,
						Labels: []evals.LabelMetrics{
							{Label: "", Precision: 0, Recall: 0, F1: 0, Support: 0, Predicted: 1},
							{Label: "billing", Precision: 0.5, Recall: 1, F1: 2.0 / 3, Support: 1, Predicted: 2},
							{Label: "refund", Precision: 0, Recall: 0, F1: 0, Support: 1, Predicted: 0},
							{Label: "technical support", Precision: 1, Recall: 2.0 / 3, F1: 0.8, Support: 3, Predicted: 2},
						},
						Confusion: evals.Confusion{
							Labels: []string{"", "billing", "refund", "technical support"},
							Counts: [][]int{{0, 0, 0, 0}, {0, 1, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 2}},
						},
					}},
				}},
			Judges: &evals.JudgeSummary{Calls: 39, Cached: 12, Failed: 1, Usage: evals.Usage{TotalTokens: 23400}, Cost: &judgeCost, Currency: "EUR"},
			Slices: []evals.SliceSummary{
				{Key: "lang", Value: "de", Figures: evals.Figures{Cases: 4, Passed: 1, PassRate: 0.25, PassRateCI: &evals.Interval{Lo: 0.0456, Hi: 0.6994}}},
				{Key: "tag", Value: "vip", Figures: evals.Figures{Cases: 36, Passed: 28, PassRate: 28.0 / 36, PassRateCI: &evals.Interval{Lo: 0.6185, Hi: 0.8828}}},
			},
			Repeats: &evals.RepeatSummary{N: 2, Reducer: "mean", Cases: 20, Passed: 13, PassRate: 0.65,
				PassAtK: []evals.KValue{{K: 1, Value: 0.725}, {K: 2, Value: 0.8}}, PassHatK: []evals.KValue{{K: 1, Value: 0.725}, {K: 2, Value: 0.65}},
				Flaky: 3, FlakyRate: 0.15, FlakyCases: []string{"T-1", "T-7", "T-9"}},
			Comparison: &evals.Comparison{Target: "v1", Against: "v0", AgainstRun: "20261127-000000-000000", Matched: 40,
				Wins: 5, Ties: 30, Losses: 5, BothPassed: 27, BothFailed: 8, McNemarP: 1, Regressions: 2, Fixes: 3,
				DeltaPassRate: 0.025, DeltaPassRateCI: &evals.Interval{Lo: -0.1, Hi: 0.15}, DeltaMean: 0.01, DeltaMeanCI: &evals.Interval{Lo: -0.05, Hi: 0.07},
				RegressionCases: []string{"T-3", "T-4"}, FixCases: []string{"T-5", "T-6", "T-8"}},
			FailedCases: []evals.FailedCase{
				{CaseID: "T-1", Status: evals.StatusFailed, Reason: "schema: " + strings.Repeat("long reason ", 20)},
				{CaseID: "T-2", Repeat: 1, Status: evals.StatusError, Reason: "timeout: no response within 1m0s"},
			},
		}},
		Gate: evals.GateVerdict{Held: false, Results: []evals.GateResult{
			{Expr: "pass_rate >= 0.9", Target: "v1", Value: &v, Message: "v1: pass_rate >= 0.9: got 0.725, off by 0.175"},
		}},
	}
}

// TestText checks the terminal summary against a golden file, without and
// with colour.
func TestText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		color bool
	}{{"summary.txt", false}, {"summary-color.txt", true}} {
		var b bytes.Buffer
		if err := Text(&b, summary(), Style{Color: tc.color}); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", tc.name)
		if *update {
			os.WriteFile(golden, b.Bytes(), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if b.String() != string(want) {
			t.Errorf("%s differs (go test -update to accept):\n%s", tc.name, b.String())
		}
		if !tc.color && strings.Contains(b.String(), "\x1b[") {
			t.Error("escape sequences without colour")
		}
	}
}

// TestTextClassificationLarge keeps the terminal short when a criterion has
// many labels: the most frequent 20, and no confusion matrix.
func TestTextClassificationLarge(t *testing.T) {
	cl := &evals.Classification{N: 100, OtherLabels: 15}
	for i := range 50 {
		l := fmt.Sprintf("label-%02d", i)
		cl.Labels = append(cl.Labels, evals.LabelMetrics{Label: l, Support: 100 - i})
		cl.Confusion.Labels = append(cl.Confusion.Labels, l)
	}
	cl.Confusion.Labels = append(cl.Confusion.Labels, evals.OtherLabel)
	s := &evals.Summary{Targets: []evals.TargetSummary{{Name: "v1", Figures: evals.Figures{Criteria: []evals.CriterionSummary{{Name: "topic", Type: "equals", Classification: cl}}}}}}
	var b bytes.Buffer
	Text(&b, s, Style{})
	out := b.String()
	for _, want := range []string{"topic, v1: 100 compared", "over 65 labels", "label-19", "45 more labels in report.json", "confusion matrix of 51 labels in report.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "label-20") {
		t.Errorf("more than 20 labels listed:\n%s", out)
	}
}

// TestTextCached: the summary says, per target, how many responses came
// from the response cache, right under the table, and nothing when none did.
func TestTextCached(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cached [2]int // v1's and v2's, of 40 cases each
		want   []string
	}{
		{"none", [2]int{0, 0}, nil},
		{"all", [2]int{40, 40}, []string{
			"cached v1: 40 of 40 responses came from the response cache, none from the endpoint",
			"cached v2: 40 of 40 responses came from the response cache, none from the endpoint"}},
		{"some", [2]int{0, 12}, []string{"cached v2: 12 of 40 responses came from the response cache"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := summary()
			s.Targets = append(s.Targets, s.Targets[0])
			s.Targets[1].Name = "v2"
			for i := range s.Targets {
				s.Targets[i].Cached = tc.cached[i]
			}
			var b bytes.Buffer
			if err := Text(&b, s, Style{}); err != nil {
				t.Fatal(err)
			}
			_, after, _ := strings.Cut(b.String(), "\n      v2  ")
			_, after, _ = strings.Cut(after, "\n")
			var got []string
			for _, l := range strings.Split(b.String(), "\n") {
				if strings.HasPrefix(l, "cached ") {
					got = append(got, l)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("cached lines %q, want %q:\n%s", got, tc.want, b.String())
			}
			if len(tc.want) > 0 && !strings.HasPrefix(after, "\n"+tc.want[0]+"\n") {
				t.Errorf("the cached lines do not follow the table:\n%s", b.String())
			}
		})
	}
}

// TestTextStream: a target that streamed gets a line with its timings under
// the table, the first content and the rate when there are any; one that
// did not, none (the goldens have none).
func TestTextStream(t *testing.T) {
	s := summary()
	s.Targets = append(s.Targets, s.Targets[0], s.Targets[0])
	s.Targets[1].Name, s.Targets[2].Name = "v2", "v3"
	s.Targets[1].Stream = &evals.StreamSummary{Responses: 39,
		FirstTokenMS:     evals.LatencySummary{P50: 120.4, P95: 300, P99: 410.6},
		ContentResponses: 39, FirstContentMS: evals.LatencySummary{P50: 150, P95: 420, P99: 500},
		RatedResponses: 38, TokensPerSecond: 42.06}
	s.Targets[2].Stream = &evals.StreamSummary{Responses: 2, FirstTokenMS: evals.LatencySummary{P50: 90, P95: 99, P99: 99.8}}
	var b bytes.Buffer
	if err := Text(&b, s, Style{}); err != nil {
		t.Fatal(err)
	}
	want := "\ncached v1: 12 of 40 responses came from the response cache\n" +
		"cached v2: 12 of 40 responses came from the response cache\n" +
		"cached v3: 12 of 40 responses came from the response cache\n\n" +
		"stream v2: 39 streamed; first token p50 120 ms, p95 300 ms, p99 411 ms; first content p50 150 ms, p95 420 ms, p99 500 ms; 42.1 tokens/s\n" +
		"stream v3: 2 streamed; first token p50 90 ms, p95 99 ms, p99 100 ms\n\ncriterion"
	if !strings.Contains(b.String(), want) {
		t.Errorf("want the stream lines under the table:\n%s\ngot:\n%s", want, b.String())
	}
}

func TestTextInterrupted(t *testing.T) {
	s := summary()
	s.Interrupted = true
	s.Gate.Note = "the run did not complete: a gate is not held on partial results"
	var b bytes.Buffer
	Text(&b, s, Style{})
	for _, want := range []string{"interrupted: the figures cover the results completed", "gate not held: the run did not complete"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

// TestLeakLines: a run checked for leaks says so under the table, in the
// terminal and in Markdown, with each target's pass rate with and without
// the leaked cases; a run not checked says nothing (the goldens).
func TestLeakLines(t *testing.T) {
	s := summary()
	s.LeakCheck = &evals.LeakCheck{Manifests: []string{"train.jsonl.manifest.jsonl"}, Leaked: 3}
	s.Targets[0].Leaks = &evals.LeakSummary{Cases: 3, Passed: 3, PassRate: 1, CleanCases: 37, CleanPassed: 26, CleanPassRate: 26.0 / 37}
	var b bytes.Buffer
	if err := Text(&b, s, Style{}); err != nil {
		t.Fatal(err)
	}
	name := s.Targets[0].Name
	want := "\nleak check: 3 cases found in training data (1 manifest); their results are marked leaked\n  " + name +
		": pass rate " + pct(s.Targets[0].PassRate) + " with them, 70.3% without them (26 of 37), 100.0% on them (3 of 3)\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("terminal report lacks %q:\n%s", want, b.String())
	}
	var md bytes.Buffer
	m := NewMarkdown(&md)
	if err := m.Begin(s); err != nil {
		t.Fatal(err)
	}
	if err := m.End(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "**Leak check:** 3 cases found in training data (1 manifest); their results are marked leaked.\n- "+name+": pass rate") ||
		!strings.Contains(md.String(), "70.3% without them (26 of 37)") {
		t.Errorf("Markdown lacks the leak check:\n%s", md.String())
	}
	s.LeakCheck.Leaked, s.LeakCheck.NGrams, s.LeakCheck.Threshold, s.Targets[0].Leaks = 0, true, 0.5, nil
	if got := LeakCheckText(s.LeakCheck); got != "no case found in training data (1 manifest, 13-grams from 50%)" {
		t.Errorf("LeakCheckText = %q", got)
	}
}
