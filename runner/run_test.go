package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// cases is an in-memory CaseSource.
type cases struct {
	list []*evals.Case
	i    int
	err  error // returned after the list, instead of io.EOF
}

func (c *cases) Next() (*evals.Case, error) {
	if c.i < len(c.list) {
		c.i++
		return c.list[c.i-1], nil
	}
	if c.err != nil {
		return nil, c.err
	}
	return nil, io.EOF
}
func (c *cases) Close() error { return nil }

func makeCases(n int) []*evals.Case {
	out := make([]*evals.Case, n)
	for i := range out {
		out[i] = &evals.Case{ID: fmt.Sprintf("c%03d", i), Vars: map[string]any{"q": fmt.Sprint(i)}}
	}
	return out
}

// echo answers "answer-Q" for the case's variable Q, with the usage and the
// request sent that a real endpoint's answer has: an evalstest.Provider's
// Respond.
func echo(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
	text := strings.TrimPrefix(req.Messages[0].Content, "Q: ")
	return &evals.Response{Text: "answer-" + text, Usage: evals.Usage{PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5},
		Sent: &evals.SentRequest{URL: "echo://", Body: []byte(`{}`)}}, nil
}

// even passes outputs whose number is even; unscored when it ends in 5.
type even struct{}

func (even) Score(_ context.Context, in *evals.Input) evals.Verdict {
	var n int
	fmt.Sscanf(strings.TrimPrefix(in.Output, "answer-"), "%d", &n)
	switch {
	case n%10 == 5:
		return evals.Verdict{Unscored: true, Reason: "ends in 5"}
	case n%2 == 0:
		return evals.Verdict{Score: 1, Pass: true}
	}
	return evals.Verdict{Score: 0, Reason: "odd"}
}

// memSink keeps every result.
type memSink struct {
	mu      sync.Mutex
	results []*evals.Result
	failAt  int
}

func (m *memSink) Write(r *evals.Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAt > 0 && len(m.results)+1 >= m.failAt {
		return errors.New("disk full")
	}
	m.results = append(m.results, r)
	return nil
}

func testSuite(t *testing.T, gates ...string) *evals.Suite {
	t.Helper()
	s := &evals.Suite{Name: "t", Messages: []evals.Message{{Role: "user", Content: "Q: {{ q }}"}}, CasePass: evals.CasePassAll}
	s.Templates = []*evals.Template{evals.MustParseTemplate(s.Messages[0].Content)}
	for _, g := range gates {
		pg, err := evals.ParseGate(g)
		if err != nil {
			t.Fatal(err)
		}
		s.Gates = append(s.Gates, pg)
	}
	return s
}

func crit(name string, sc evals.Scorer) Criterion {
	return Criterion{Spec: evals.CriterionSpec{Name: name, Type: "test"}, Scorer: sc}
}

func target(name string, p evals.Provider, conc int) Target {
	return Target{Spec: evals.TargetSpec{Name: name, Provider: "test", Concurrency: conc}, Provider: p}
}

func TestRunCountsEveryCaseOnceAndAggregates(t *testing.T) {
	list := makeCases(100)
	boom := &evals.ProviderError{Kind: evals.ErrKindHTTP, Status: 500, Message: "boom"}
	p := &evalstest.Provider{Respond: echo, Errors: map[string]error{"c007": boom, "c042": boom}}
	sink := &memSink{}
	s := testSuite(t, "pass_rate >= 0.4", "criteria.even.mean >= 0.6", "error_rate <= 0.01")
	sum, err := Run(context.Background(), Options{
		RunID: "r1", Suite: s,
		Targets:  []Target{target("a", p, 7), target("b", &evalstest.Provider{Respond: echo}, 3)},
		Criteria: []Criterion{crit("even", even{})},
		Open:     func() (CaseSource, error) { return &cases{list: list}, nil },
		Sink:     sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(sink.results); got != 200 {
		t.Fatalf("results = %d, want 200", got)
	}
	seen := map[string]int{}
	for _, r := range sink.results {
		seen[r.Target+"/"+r.CaseID]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s recorded %d times", k, n)
		}
	}
	// Of 100 cases: numbers ending in 5 (10) are unscored, 50 even pass, 40
	// odd fail; on a, c007 (odd) and c042 (even) error instead.
	a := sum.Targets[0]
	want := evals.TargetSummary{Figures: evals.Figures{Cases: 100, Passed: 49, Failed: 39, Errored: 2, Unscored: 10}}
	if a.Cases != want.Cases || a.Passed != want.Passed || a.Failed != want.Failed || a.Errored != want.Errored || a.Unscored != want.Unscored {
		t.Errorf("target a counts = %+v", a)
	}
	if a.Errors["http_status"] != 2 {
		t.Errorf("errors by kind = %v", a.Errors)
	}
	if a.PassRate != 0.49 || a.ErrorRate != 0.02 || a.UnscoredRate != 0.1 {
		t.Errorf("rates = %v %v %v", a.PassRate, a.ErrorRate, a.UnscoredRate)
	}
	if a.Usage.TotalTokens != 98*5 {
		t.Errorf("tokens = %d", a.Usage.TotalTokens)
	}
	c := a.Criteria[0]
	if c.N != 88 || c.Passed != 49 || c.Unscored != 10 {
		t.Errorf("criterion = %+v", c)
	}
	if got, want := c.Mean, 49.0/88; got != want {
		t.Errorf("criterion mean = %v, want %v", got, want)
	}
	b := sum.Targets[1]
	if b.Passed != 50 || b.Failed != 40 || b.Unscored != 10 || b.Errored != 0 {
		t.Errorf("target b = %+v", b)
	}
	Judge(sum, s.Gates) // Run leaves the verdict to Judge
	if sum.Gate.Held {
		t.Error("gate held; error_rate 0.02 > 0.01 on a should fail it")
	}
	var msgs []string
	for _, g := range sum.Gate.Results {
		if !g.Held {
			msgs = append(msgs, g.Message)
		}
	}
	wantMsgs := []string{
		"a: criteria.even.mean >= 0.6: got 0.5568, off by 0.0432",
		"a: error_rate <= 0.01: got 0.02, off by 0.01",
		"b: criteria.even.mean >= 0.6: got 0.5556, off by 0.0444",
	}
	if strings.Join(msgs, "\n") != strings.Join(wantMsgs, "\n") {
		t.Errorf("gate failures:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(wantMsgs, "\n"))
	}
	if !sum.Complete || sum.Interrupted {
		t.Errorf("complete=%v interrupted=%v", sum.Complete, sum.Interrupted)
	}
}

func TestRunRecordsRequestAndError(t *testing.T) {
	sent := &evals.SentRequest{URL: "http://x/v1/chat/completions", Body: []byte(`{"model":"m"}`)}
	// makeCases(1) is the one case c000.
	p := &evalstest.Provider{Respond: echo, Errors: map[string]error{
		"c000": &evals.ProviderError{Kind: evals.ErrKindHTTP, Status: 429, Message: "slow down", Sent: sent},
	}}
	sink := &memSink{}
	_, err := Run(context.Background(), Options{
		Suite: testSuite(t), Targets: []Target{target("a", p, 1)}, Criteria: []Criterion{crit("even", even{})},
		Open: func() (CaseSource, error) { return &cases{list: makeCases(1)}, nil }, Sink: sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := sink.results[0]
	if r.Status != evals.StatusError || r.Error.Kind != "http_status" || r.Error.Status != 429 || r.Error.Message != "slow down" {
		t.Errorf("error = %+v", r.Error)
	}
	if r.Request != sent || r.Scores != nil || r.Score != nil {
		t.Errorf("request %v, scores %v, score %v", r.Request, r.Scores, r.Score)
	}
}

func TestRunRenderErrorIsAResult(t *testing.T) {
	sink := &memSink{}
	list := []*evals.Case{{ID: "x", Vars: map[string]any{"other": 1}}}
	p := &evalstest.Provider{Respond: echo}
	sum, err := Run(context.Background(), Options{
		Suite: testSuite(t), Targets: []Target{target("a", p, 1)}, Criteria: []Criterion{crit("even", even{})},
		Open: func() (CaseSource, error) { return &cases{list: list}, nil }, Sink: sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count() != 0 {
		t.Error("a case that could not be rendered was sent")
	}
	r := sink.results[0]
	if r.Error == nil || r.Error.Kind != evals.ErrKindRender || r.Error.Message != `messages[0]: variable "q" is not defined for this case` {
		t.Errorf("error = %+v", r.Error)
	}
	if sum.Targets[0].Errors[evals.ErrKindRender] != 1 {
		t.Errorf("errors = %v", sum.Targets[0].Errors)
	}
}

func TestRunDatasetErrorStopsAndKeepsResults(t *testing.T) {
	sink := &memSink{}
	bad := evals.Problems{{File: "d.jsonl", Line: 51, Col: 1, Msg: "invalid JSON"}}
	sum, err := Run(context.Background(), Options{
		Suite: testSuite(t), Targets: []Target{target("a", &evalstest.Provider{Respond: echo}, 4)}, Criteria: []Criterion{crit("even", even{})},
		Open: func() (CaseSource, error) { return &cases{list: makeCases(50), err: bad}, nil }, Sink: sink,
	})
	var ps evals.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want the dataset's problem", err)
	}
	if sum == nil || sum.Complete {
		t.Fatal("summary missing or marked complete")
	}
	if sum.Targets[0].Cases != len(sink.results) {
		t.Errorf("summary counts %d, sink has %d", sum.Targets[0].Cases, len(sink.results))
	}
}

func TestRunSinkFailureStops(t *testing.T) {
	sink := &memSink{failAt: 10}
	p := &evalstest.Provider{Respond: echo}
	sum, err := Run(context.Background(), Options{
		Suite: testSuite(t), Targets: []Target{target("a", p, 2)}, Criteria: []Criterion{crit("even", even{})},
		Open: func() (CaseSource, error) { return &cases{list: makeCases(10000)}, nil }, Sink: sink,
	})
	if err == nil || !strings.Contains(err.Error(), "writing results: disk full") {
		t.Fatalf("err = %v", err)
	}
	// Results already queued for the collector (its buffer holds 256) may
	// have been sent; nothing beyond that.
	if n := p.Count(); n > 300 {
		t.Errorf("%d requests sent: dispatch went on after the sink failed", n)
	}
	if sum.Targets[0].Cases != 9 {
		t.Errorf("summary counts %d results, want the 9 written", sum.Targets[0].Cases)
	}
}

func TestRunInterruptKeepsCompletedAndStopsDispatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sink := &memSink{}
	p := &evalstest.Provider{Respond: echo, Delay: 20 * time.Millisecond}
	var once sync.Once
	sum, err := Run(ctx, Options{
		Suite: testSuite(t), Targets: []Target{target("a", p, 4)}, Criteria: []Criterion{crit("even", even{})},
		Open: func() (CaseSource, error) { return &cases{list: makeCases(1000)}, nil }, Sink: sink,
		Grace: time.Second,
		Progress: func(pr Progress) {
			if pr.Done >= 10 {
				once.Do(cancel)
			}
		},
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if !sum.Interrupted || sum.Complete {
		t.Errorf("interrupted=%v complete=%v", sum.Interrupted, sum.Complete)
	}
	// Requests in flight at the interrupt finish within the grace period and
	// are kept: every request sent has a result, none is lost.
	if got, sent := len(sink.results), p.Count(); got != sent {
		t.Errorf("%d requests sent, %d results kept", sent, got)
	}
	if len(sink.results) > 40 {
		t.Errorf("%d results: dispatch went on after the interrupt", len(sink.results))
	}
}

func TestRunInterruptAfterGraceDropsUnfinished(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sink := &memSink{}
	p := &evalstest.Provider{Respond: echo, Delay: 10 * time.Second}
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := Run(ctx, Options{
		Suite: testSuite(t), Targets: []Target{target("a", p, 4)}, Criteria: []Criterion{crit("even", even{})},
		Open: func() (CaseSource, error) { return &cases{list: makeCases(100)}, nil }, Sink: sink,
		Grace: 50 * time.Millisecond,
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v after the grace period", d)
	}
	if len(sink.results) != 0 {
		t.Errorf("%d results recorded for requests cut short", len(sink.results))
	}
}

// slowJudge scores like a criterion that calls a target: it waits for an
// answer that comes only after the run's grace period.
type slowJudge struct{}

func (slowJudge) Score(ctx context.Context, _ *evals.Input) evals.Verdict {
	select {
	case <-time.After(10 * time.Second):
		return evals.Verdict{Score: 1, Pass: true}
	case <-ctx.Done():
		return evals.Verdict{Unscored: true, Reason: "judge: canceled"}
	}
}

// TestRunInterruptDuringScoring drops results whose criteria were cut short
// by the end of the grace period, rather than record them unscored for good.
func TestRunInterruptDuringScoring(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sink := &memSink{}
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := Run(ctx, Options{
		Suite: testSuite(t), Targets: []Target{target("a", &evalstest.Provider{Respond: echo}, 4)}, Criteria: []Criterion{crit("even", even{}), crit("judge", slowJudge{})},
		Open: func() (CaseSource, error) { return &cases{list: makeCases(100)}, nil }, Sink: sink,
		Grace: 50 * time.Millisecond,
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v", err)
	}
	for _, r := range sink.results {
		t.Errorf("result %s recorded with %+v", r.CaseID, r.Scores)
	}
}

func TestCaseVerdict(t *testing.T) {
	half := 0.5
	sc := func(score float64, pass, unscored bool, w float64) evals.Score {
		return evals.Score{Score: score, Pass: pass, Unscored: unscored, Weight: w}
	}
	tests := []struct {
		name   string
		mode   string
		scores []evals.Score
		score  float64
		hasSc  bool
		status evals.Status
	}{
		{"all pass", "all", []evals.Score{sc(1, true, false, 1), sc(1, true, false, 2)}, 1, true, evals.StatusPassed},
		{"weighted mean", "all", []evals.Score{sc(1, true, false, 3), sc(0, false, false, 1)}, 0.75, true, evals.StatusFailed},
		{"unscored excluded from mean", "all", []evals.Score{sc(1, true, false, 1), sc(0, false, true, 1)}, 1, true, evals.StatusUnscored},
		{"fail beats unscored", "all", []evals.Score{sc(0, false, false, 1), sc(0, false, true, 1)}, 0, true, evals.StatusFailed},
		{"nothing scored", "all", []evals.Score{sc(0, false, true, 1)}, 0, false, evals.StatusUnscored},
		{"zero weights use plain mean", "all", []evals.Score{sc(1, true, false, 0), sc(0.5, true, false, 0)}, 0.75, true, evals.StatusPassed},
		{"score mode passes at pass_score", "score", []evals.Score{sc(1, true, false, 1), sc(0, false, false, 1)}, 0.5, true, evals.StatusPassed},
		{"score mode fails below", "score", []evals.Score{sc(0.4, false, false, 1)}, 0.4, true, evals.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &evals.Suite{CasePass: tt.mode, PassScore: &half}
			got, status := CaseVerdict(s, tt.scores)
			if status != tt.status {
				t.Errorf("status = %s, want %s", status, tt.status)
			}
			if (got != nil) != tt.hasSc || got != nil && *got != tt.score {
				t.Errorf("score = %v, want %v (present %v)", got, tt.score, tt.hasSc)
			}
		})
	}
}

// TestCheckGatesNoDataNewMetrics: every metric that can lack data says why.
func TestCheckGatesNoDataNewMetrics(t *testing.T) {
	tgt := evals.TargetSummary{
		Name: "t", Figures: evals.Figures{Cases: 4, Passed: 2, PassRate: 0.5, Scored: 4, Mean: 0.5, Errored: 4,
			Criteria: []evals.CriterionSummary{{Name: "c", N: 2}}},
		Repeats: &evals.RepeatSummary{N: 3, Cases: 2, PassCounts: []int{0, 1, 0, 1}},
	}
	tests := []struct{ expr, want string }{
		{"slice(tag=x).pass_rate >= 0.5", "t: slice(tag=x).pass_rate >= 0.5: no data (no case is in slice tag=x)"},
		{"latency.p95 <= 100", "t: latency.p95 <= 100: no data (no response was received)"},
		{"cost.total <= 1", "t: cost.total <= 1: no data (the target has no price table (price))"},
		{"pass@4 >= 0.5", "t: pass@4 >= 0.5: no data (k = 4 is more than the 3 repeats)"},
		{"delta.pass_rate >= -0.02", "t: delta.pass_rate >= -0.02: no data (no baseline to compare with: pass --baseline)"},
		{"regressions <= 0", "t: regressions <= 0: no data (no baseline to compare with: pass --baseline)"},
		{"mean.lower >= 0.5", "t: mean.lower >= 0.5: no data (no interval)"},
		{"criteria.c.corpus_bleu >= 30", "t: criteria.c.corpus_bleu >= 30: no data (criterion c has no corpus BLEU (only bleu criteria do))"},
		{"criteria.c.macro_f1 >= 0.8", "t: criteria.c.macro_f1 >= 0.8: no data (criterion c compares no labels (label: true))"},
	}
	for _, tc := range tests {
		g, err := evals.ParseGate(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		v := CheckGates([]evals.Gate{g}, []evals.TargetSummary{tgt})
		if v.Held || v.Results[0].Held {
			t.Errorf("%s held without data", tc.expr)
		}
		if got := v.Results[0].Message; got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.expr, got, tc.want)
		}
	}
}

// TestCheckGatesMetrics reads each kind of metric from a summary.
func TestCheckGatesMetrics(t *testing.T) {
	corpus := 48.530827
	tgt := evals.TargetSummary{
		Name: "t", Figures: evals.Figures{Cases: 10, Passed: 8, PassRate: 0.8, Scored: 10, Mean: 0.85,
			PassRateCI: &evals.Interval{Lo: 0.49, Hi: 0.94, Method: "wilson"},
			MeanCI:     &evals.Interval{Lo: 0.7, Hi: 0.95, Method: "bootstrap"},
			LatencyMS:  evals.LatencySummary{Mean: 120, P50: 100, P95: 300, P99: 450, Max: 500},
			Usage:      evals.Usage{PromptTokens: 700, CompletionTokens: 300, TotalTokens: 1000},
			Cost:       &evals.CostSummary{Total: 0.5, Mean: 0.05},
			Criteria: []evals.CriterionSummary{{Name: "c", N: 10, Passed: 9, PassRate: 0.9, Mean: 0.9, PassRateCI: &evals.Interval{Lo: 0.6, Hi: 0.98}},
				{Name: "b", N: 10, CorpusBLEU: &corpus},
				{Name: "l", N: 10, Classification: &evals.Classification{N: 10, Correct: 8, MacroF1: 0.75, MicroF1: 0.8}}}},
		Slices: []evals.SliceSummary{{Key: "lang", Value: "de", Figures: evals.Figures{Cases: 4, Passed: 2, PassRate: 0.5, Scored: 4, Mean: 0.6,
			Criteria: []evals.CriterionSummary{{Name: "c", N: 4, Passed: 3, PassRate: 0.75, Mean: 0.75}}}}},
		// 2 cases x 3 repeats: one passed 1 of 3, one 3 of 3.
		Repeats:    &evals.RepeatSummary{N: 3, Cases: 2, PassCounts: []int{0, 1, 0, 1}, FlakyRate: 0.5},
		Comparison: &evals.Comparison{Matched: 10, DeltaPassRate: -0.1, DeltaMean: 0.02, DeltaMeanCI: &evals.Interval{Lo: -0.05, Hi: 0.09}, Regressions: 2, Fixes: 1},
	}
	tests := []struct {
		expr string
		want float64
	}{
		{"pass_rate >= 0", 0.8}, {"pass_rate.lower >= 0", 0.49}, {"pass_rate.upper >= 0", 0.94},
		{"mean.lower >= 0", 0.7}, {"criteria.c.pass_rate.lower >= 0", 0.6},
		{"latency.p50 >= 0", 100}, {"latency.p95 >= 0", 300}, {"latency.p99 >= 0", 450}, {"latency.max >= 0", 500}, {"latency.mean >= 0", 120},
		{"tokens.total >= 0", 1000}, {"tokens.prompt >= 0", 700}, {"tokens.completion >= 0", 300}, {"tokens.mean >= 0", 100},
		{"cost.total >= 0", 0.5}, {"cost.mean >= 0", 0.05},
		{"slice(lang=de).pass_rate >= 0", 0.5}, {"slice(lang=de).mean >= 0", 0.6}, {"slice(lang=de).criteria.c.pass_rate >= 0", 0.75},
		// pass@1 = mean of c/n = (1/3 + 1)/2; pass@2 = (1 - C(2,2)/C(3,2) + 1)/2 = (2/3 + 1)/2;
		// pass^2 = (C(1,2)/C(3,2) + 1)/2 = 0.5; pass^3 = 0.5.
		{"pass@1 >= 0", 2.0 / 3}, {"pass@2 >= 0", 5.0 / 6}, {"pass^2 >= 0", 0.5}, {"pass^3 >= 0", 0.5}, {"flaky_rate >= 0", 0.5},
		{"criteria.b.corpus_bleu >= 40", 48.530827},
		{"criteria.l.macro_f1 >= 0", 0.75}, {"criteria.l.micro_f1 >= 0", 0.8},
		{"delta.pass_rate >= -1", -0.1}, {"delta.mean.lower >= -1", -0.05}, {"regressions >= 0", 2}, {"fixes >= 0", 1},
	}
	for _, tc := range tests {
		g, err := evals.ParseGate(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		v := CheckGates([]evals.Gate{g}, []evals.TargetSummary{tgt})
		r := v.Results[0]
		if r.Value == nil || math.Abs(*r.Value-tc.want) > 1e-12 {
			t.Errorf("%s: value %v (%s), want %v", tc.expr, r.Value, r.Message, tc.want)
		}
	}
}

func TestCheckGatesNoData(t *testing.T) {
	g := func(e string) evals.Gate {
		pg, err := evals.ParseGate(e)
		if err != nil {
			t.Fatal(err)
		}
		return pg
	}
	targets := []evals.TargetSummary{
		{Name: "empty"},
		{Name: "unscored", Figures: evals.Figures{Cases: 3, Unscored: 3, UnscoredRate: 1, Criteria: []evals.CriterionSummary{{Name: "judge", Unscored: 3}}}},
	}
	v := CheckGates([]evals.Gate{g("pass_rate >= 0.5"), g("mean > 0.5"), g("criteria.judge.pass_rate >= 90%"), g("unscored_rate < 0.5")}, targets)
	if v.Held {
		t.Fatal("gates without data held")
	}
	want := []string{
		"empty: pass_rate >= 0.5: no data (no case completed)",
		"empty: mean > 0.5: no data (no case of 0 was scored)",
		"empty: criteria.judge.pass_rate >= 90%: no data (no criterion judge)",
		"empty: unscored_rate < 0.5: no data (no case completed)",
		"unscored: pass_rate >= 0.5: got 0, off by 0.5",
		"unscored: mean > 0.5: no data (no case of 3 was scored)",
		"unscored: criteria.judge.pass_rate >= 90%: no data (criterion judge scored no response of the 3 cases)",
		"unscored: unscored_rate < 0.5: got 1, off by 0.5",
	}
	for i, r := range v.Results {
		if r.Message != want[i] {
			t.Errorf("result %d = %q, want %q", i, r.Message, want[i])
		}
		if r.Held {
			t.Errorf("result %d held", i)
		}
	}
}

func TestCheckGatesMargins(t *testing.T) {
	pg, _ := evals.ParseGate("error_rate <= 0.05")
	v := CheckGates([]evals.Gate{pg}, []evals.TargetSummary{{Name: "a", Figures: evals.Figures{Cases: 100, Errored: 2, ErrorRate: 0.02}}})
	r := v.Results[0]
	if !r.Held || r.Margin < 0.0299 || r.Margin > 0.0301 || r.Message != "a: error_rate <= 0.05: 0.02 (margin 0.03)" {
		t.Errorf("%+v", r)
	}
}

// TestApplyErrorBudget: a target over the budget, or one whose every result
// is an error, breaks it, and the gate is then not held; at the budget, or
// with no budget and some results, it holds.
func TestApplyErrorBudget(t *testing.T) {
	tgt := func(name string, cases, errored int) evals.TargetSummary {
		return evals.TargetSummary{Name: name, Figures: evals.Figures{Cases: cases, Errored: errored, ErrorRate: float64(errored) / float64(max(cases, 1))}}
	}
	b := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name    string
		budget  *float64
		targets []evals.TargetSummary
		note    string // a note the gate had before
		over    []evals.BudgetBreach
	}{
		{"no budget, no errors", nil, []evals.TargetSummary{tgt("a", 10, 0)}, "", nil},
		{"no budget, some errors", nil, []evals.TargetSummary{tgt("a", 10, 9)}, "", nil},
		{"no budget, no cases", nil, []evals.TargetSummary{tgt("a", 0, 0)}, "", nil},
		{"no budget, every request failed", nil, []evals.TargetSummary{tgt("a", 10, 3), tgt("b", 5, 5)}, "",
			[]evals.BudgetBreach{{Target: "b", Cases: 5, Errored: 5, ErrorRate: 1, Reason: "all 5 requests failed"}}},
		{"at the budget", b(0.3), []evals.TargetSummary{tgt("a", 10, 3)}, "", nil},
		{"over the budget", b(0.1), []evals.TargetSummary{tgt("a", 10, 1), tgt("b", 10, 3)}, "",
			[]evals.BudgetBreach{{Target: "b", Cases: 10, Errored: 3, ErrorRate: 0.3, Reason: "3 of 10 cases ended in an error (30.0%), over the error budget of 10.0%"}}},
		{"budget 0", b(0), []evals.TargetSummary{tgt("a", 40, 1)}, "",
			[]evals.BudgetBreach{{Target: "a", Cases: 40, Errored: 1, ErrorRate: 0.025, Reason: "1 of 40 cases ended in an error (2.5%), over the error budget of 0.0%"}}},
		{"every request failed, within a budget of 1", b(1), []evals.TargetSummary{tgt("a", 2, 2)}, "",
			[]evals.BudgetBreach{{Target: "a", Cases: 2, Errored: 2, ErrorRate: 1, Reason: "all 2 requests failed"}}},
		{"interrupted", b(0.1), []evals.TargetSummary{tgt("a", 4, 2)}, "the run did not complete",
			[]evals.BudgetBreach{{Target: "a", Cases: 4, Errored: 2, ErrorRate: 0.5, Reason: "2 of 4 cases ended in an error (50.0%), over the error budget of 10.0%"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := &evals.Summary{Targets: tc.targets, Gate: evals.GateVerdict{Held: tc.note == "", Note: tc.note}}
			ApplyErrorBudget(sum, tc.budget)
			eb := sum.ErrorBudget
			if eb == nil {
				t.Fatal("no verdict")
			}
			if !reflect.DeepEqual(eb.Over, tc.over) || eb.Held != (len(tc.over) == 0) {
				t.Errorf("held %v, over %+v\nwant over %+v", eb.Held, eb.Over, tc.over)
			}
			if (eb.Budget == nil) != (tc.budget == nil) || eb.Budget != nil && (*eb.Budget != *tc.budget || eb.Budget == tc.budget) {
				t.Errorf("budget %v, want a copy of %v", eb.Budget, tc.budget)
			}
			wantNote := tc.note
			if wantNote == "" && len(tc.over) > 0 {
				wantNote = evals.NoteErrorBudget
			}
			if sum.Gate.Held != (tc.note == "" && len(tc.over) == 0) || sum.Gate.Note != wantNote {
				t.Errorf("gate held %v, note %q; want note %q", sum.Gate.Held, sum.Gate.Note, wantNote)
			}
		})
	}
}

// flushSink is a sink that buffers, as the journal does: results count once
// flushed. It fails the flush numbered failAt.
type flushSink struct {
	memSink
	buffered []*evals.Result
	batches  []int
	failAt   int
}

func (f *flushSink) Write(r *evals.Result) error {
	f.buffered = append(f.buffered, r)
	return nil
}

func (f *flushSink) Flush() error {
	if f.failAt > 0 && len(f.batches)+1 >= f.failAt {
		return errors.New("disk full")
	}
	f.batches = append(f.batches, len(f.buffered))
	f.results = append(f.results, f.buffered...)
	f.buffered = nil
	return nil
}

// TestRunFlushesBatches: a sink that buffers is flushed whenever no result
// waits, so every result reaches it, in batches of at most maxBatch; when a
// flush fails the run stops, and the summary counts exactly the results the
// sink holds.
func TestRunFlushesBatches(t *testing.T) {
	sink := &flushSink{}
	sum, err := Run(context.Background(), Options{
		Suite: testSuite(t), Targets: []Target{target("a", &evalstest.Provider{Respond: echo}, 8)}, Criteria: []Criterion{crit("even", even{})},
		Open: func() (CaseSource, error) { return &cases{list: makeCases(3000)}, nil }, Sink: sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.results) != 3000 || sum.Targets[0].Cases != 3000 || len(sink.buffered) != 0 {
		t.Fatalf("sink holds %d (%d unflushed), summary counts %d; want 3000", len(sink.results), len(sink.buffered), sum.Targets[0].Cases)
	}
	for _, n := range sink.batches {
		if n < 1 || n > maxBatch {
			t.Fatalf("batches %v: want 1 to %d results each", sink.batches, maxBatch)
		}
	}

	failing := &flushSink{failAt: 3}
	sum, err = Run(context.Background(), Options{
		Suite: testSuite(t), Targets: []Target{target("a", &evalstest.Provider{Respond: echo}, 8)}, Criteria: []Criterion{crit("even", even{})},
		Open: func() (CaseSource, error) { return &cases{list: makeCases(3000)}, nil }, Sink: failing,
	})
	if err == nil || !strings.Contains(err.Error(), "writing results: disk full") {
		t.Fatalf("err = %v, want the flush's", err)
	}
	if sum.Targets[0].Cases != len(failing.results) || len(failing.batches) != 2 {
		t.Errorf("summary counts %d, the sink holds %d in %d batches: want them equal, 2 batches", sum.Targets[0].Cases, len(failing.results), len(failing.batches))
	}
}
