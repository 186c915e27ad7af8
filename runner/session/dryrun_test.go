package session

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
)

// TestMessageTokens checks the count of a prompt against token counts
// tiktoken gives ("hello world" is 2 tokens, "hello   world" 3, "system"
// and "user" 1 each, in both encodings), plus the framing OpenAI's cookbook
// counts: 3 a message and 3 for the reply. The model picks the encoding.
func TestMessageTokens(t *testing.T) {
	tc := newTokenCounter()
	msgs := []evals.Message{{Role: "system", Content: "hello world"}, {Role: "user", Content: "hello   world"}}
	for _, tt := range []struct{ model, encoding string }{
		{"gpt-4o-mini", "o200k_base"},
		{"gpt-4.1", "o200k_base"},
		{"gpt-4-turbo", "cl100k_base"},
		{"gpt-3.5-turbo", "cl100k_base"},
		{"llama3.2", "o200k_base"}, // unknown: the default
		{"", "o200k_base"},
	} {
		c := tc.forModel(tt.model)
		if c.GetName() != tt.encoding {
			t.Errorf("model %q: encoding %s, want %s", tt.model, c.GetName(), tt.encoding)
		}
		if got, want := messageTokens(c, msgs), 3+(3+1+2)+(3+1+3); got != want {
			t.Errorf("model %q: %d tokens, want %d", tt.model, got, want)
		}
		if got := textTokens(c, ""); got != 0 {
			t.Errorf("the empty text: %d tokens", got)
		}
	}
}

// dryRunSuite has two targets, one with max_tokens and a price, one with
// neither; two cases; a judge called by two criteria (one nested), and a
// second judge voting in one of them.
const dryRunSuite = `{
  "name": "plan",
  "messages": [{"role": "system", "content": "hello world"}, {"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"id": "a", "vars": {"q": "hello world"}}, {"id": "b", "vars": {"q": "hello   world"}}, {"id": "c", "vars": {"q": "hello world"}}]},
  "criteria": [
    {"name": "good", "type": "judge", "judge": "j", "rubric": "{{ output }}"},
    {"name": "both", "type": "not", "criterion": {"type": "judge", "judges": ["j", "k"], "rubric": "{{ output }}"}},
    {"name": "plain", "type": "contains", "value": "x"}
  ],
  "targets": [
    {"name": "capped", "provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "gpt-4o", "params": {"max_tokens": 100}, "price": {"input": 2, "output": 8}},
    {"name": "open", "provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "local"}
  ]
}`

const dryRunConfig = `{"targets": {
  "j": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "gpt-4o-mini", "params": {"max_tokens": 10}, "price": {"input": 1, "output": 4, "currency": "EUR"}},
  "k": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "gpt-4o-mini"}
}}`

func loadPlanSuite(t *testing.T, targets ...string) *build.Suite {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"suite.json": dryRunSuite, "rubric.config.json": dryRunConfig} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := build.Load(context.Background(), filepath.Join(dir, "suite.json"),
		build.Options{Load: evals.LoadOptions{Targets: targets}, Targets: true, Dataset: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestDryRunCounts checks a plan against a hand count: the requests per
// target (cases x repeats) and per judge (one per response, per criterion
// that calls it), the prompt tokens (each prompt counted as
// TestMessageTokens does), the completion bounds and the costs, with
// --limit and --repeat honoured, and nothing sent (the targets' address
// listens to nothing: a request would be an error, not a figure).
func TestDryRunCounts(t *testing.T) {
	s := loadPlanSuite(t)
	plan, err := DryRun(context.Background(), []*build.Suite{s}, Options{Limit: 2, Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	tc := newTokenCounter()
	o200k := tc.forModel("gpt-4o")
	// The prompts of cases a and b: system "hello world", then the case's q.
	prompt := func(q string) int {
		return messageTokens(o200k, []evals.Message{{Role: "system", Content: "hello world"}, {Role: "user", Content: q}})
	}
	targetTokens := 3 * (prompt("hello world") + prompt("hello   world")) // 3 repeats of 2 cases
	// Each judge sees the empty response of each of 2 targets x 3 repeats x 2 cases.
	responses := 2 * 3 * 2
	jc := newJudgeCalls(t, s)
	jTokens := responses * (jc["good"] + jc["both"])
	kTokens := responses * jc["both"]
	capped := 6 * 100
	jCompletion := 2 * responses * 10
	want := &Plan{
		Suites: []SuitePlan{{
			Suite: "plan", Path: s.Suite.Path, Cases: 2, Repeat: 3,
			Targets: []Estimate{
				{Name: "capped", Provider: "openai", Model: "gpt-4o", Requests: 6, Tokenizer: "o200k_base", PromptTokens: targetTokens,
					MaxCompletionTokens: &capped, Cost: &Cost{Amount: float64(targetTokens*2+capped*8) / 1e6, Currency: "USD"}},
				{Name: "open", Provider: "openai", Model: "local", Requests: 6, Tokenizer: "o200k_base", PromptTokens: targetTokens},
			},
			Judges: []Estimate{
				// The target "open" sets no max_tokens: the responses j reads are not bounded.
				{Name: "j", Provider: "openai", Model: "gpt-4o-mini", Criteria: []string{"good", "both"}, Requests: 2 * responses, Tokenizer: "o200k_base",
					PromptTokens: jTokens, MaxCompletionTokens: &jCompletion,
					Cost: &Cost{Amount: float64(jTokens*1+jCompletion*4) / 1e6, Currency: "EUR", AtLeast: true}},
				{Name: "k", Provider: "openai", Model: "gpt-4o-mini", Criteria: []string{"both"}, Requests: responses, Tokenizer: "o200k_base", PromptTokens: kTokens},
			},
		}},
		Costs: []Cost{
			{Amount: float64(targetTokens*2+capped*8) / 1e6, Currency: "USD"},
			{Amount: float64(jTokens*1+jCompletion*4) / 1e6, Currency: "EUR", AtLeast: true},
		},
	}
	checkPlan(t, plan, want)

	// With only the capped target, its max_tokens bound the responses the
	// judge reads, and the cost holds them: an upper bound.
	s = loadPlanSuite(t, "capped")
	plan, err = DryRun(context.Background(), []*build.Suite{s}, Options{Repeat: 1})
	if err != nil {
		t.Fatal(err)
	}
	responses = 3 // 3 cases, 1 repeat, 1 target
	jc = newJudgeCalls(t, s)
	jTokens = responses * (jc["good"] + jc["both"])
	jResponse := 2 * responses * 100
	jCompletion = 2 * responses * 10
	j := plan.Suites[0].Judges[0]
	wantJ := Estimate{Name: "j", Provider: "openai", Model: "gpt-4o-mini", Criteria: []string{"good", "both"}, Requests: 2 * responses, Tokenizer: "o200k_base",
		PromptTokens: jTokens, MaxResponseTokens: &jResponse, MaxCompletionTokens: &jCompletion,
		Cost: &Cost{Amount: float64((jTokens+jResponse)*1+jCompletion*4) / 1e6, Currency: "EUR"}}
	checkEstimate(t, j, wantJ)
	if got := plan.Suites[0].Cases; got != 3 {
		t.Errorf("without --limit: %d cases, want 3", got)
	}
}

// newJudgeCalls returns the tokens of the calls each criterion of s makes
// for a case with an empty response, by criterion: one judge's call (the
// rubric is the empty response alone, so every case's prompt is alike).
func newJudgeCalls(t *testing.T, s *build.Suite) map[string]int {
	t.Helper()
	o200k := newTokenCounter().forModel("gpt-4o-mini")
	out := map[string]int{}
	for _, c := range s.Criteria {
		cl, ok := c.Scorer.(evals.Caller)
		if !ok {
			continue
		}
		calls, err := cl.Calls(&evals.Input{Case: &evals.Case{ID: "a"}})
		if err != nil {
			t.Fatal(err)
		}
		out[c.Spec.Name] = messageTokens(o200k, calls[0].Messages)
	}
	if len(out) != 2 || out["good"] < 10 {
		t.Fatalf("judge prompts: %v", out)
	}
	return out
}

func checkPlan(t *testing.T, got, want *Plan) {
	t.Helper()
	if len(got.Suites) != len(want.Suites) {
		t.Fatalf("%d suites, want %d", len(got.Suites), len(want.Suites))
	}
	for i, sp := range got.Suites {
		w := want.Suites[i]
		if sp.Suite != w.Suite || sp.Path != w.Path || sp.Cases != w.Cases || sp.Repeat != w.Repeat || sp.RenderErrors != w.RenderErrors ||
			len(sp.Targets) != len(w.Targets) || len(sp.Judges) != len(w.Judges) {
			t.Fatalf("suite %+v\nwant %+v", sp, w)
		}
		for j := range sp.Targets {
			checkEstimate(t, sp.Targets[j], w.Targets[j])
		}
		for j := range sp.Judges {
			checkEstimate(t, sp.Judges[j], w.Judges[j])
		}
	}
	if len(got.Costs) != len(want.Costs) {
		t.Fatalf("costs %+v, want %+v", got.Costs, want.Costs)
	}
	for i := range got.Costs {
		checkCost(t, "total", &got.Costs[i], &want.Costs[i])
	}
}

// checkEstimate compares estimates, their costs to a rounding error.
func checkEstimate(t *testing.T, got, want Estimate) {
	t.Helper()
	checkCost(t, got.Name, got.Cost, want.Cost)
	got.Cost, want.Cost = nil, nil
	got.judge, got.chat, got.maxResponse = false, false, 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("estimate\n got %s\nwant %s", show(got), show(want))
	}
}

func checkCost(t *testing.T, what string, got, want *Cost) {
	t.Helper()
	if (got == nil) != (want == nil) || got != nil && (math.Abs(got.Amount-want.Amount) > 1e-12 || got.Currency != want.Currency || got.AtLeast != want.AtLeast) {
		t.Errorf("%s: cost %+v, want %+v", what, got, want)
	}
}

func show(e Estimate) string {
	p := func(n *int) any {
		if n == nil {
			return nil
		}
		return *n
	}
	return fmt.Sprintf("%+v (max response %v, max completion %v)", e, p(e.MaxResponseTokens), p(e.MaxCompletionTokens))
}

// A batch endpoint's requests are estimated at the batch APIs' half price.
func TestDryRunBatchCost(t *testing.T) {
	spec := evals.TargetSpec{Price: &evals.PriceSpec{Input: 2, Output: 8}}
	for _, tc := range []struct {
		batch bool
		want  float64
	}{{false, 2}, {true, 1}} {
		e := &Estimate{Requests: 4, PromptTokens: 1_000_000, chat: true, Batch: tc.batch}
		e.bound(spec)
		if e.Cost == nil || e.Cost.Amount != tc.want {
			t.Errorf("batch %v: cost %+v, want %v", tc.batch, e.Cost, tc.want)
		}
	}
}
