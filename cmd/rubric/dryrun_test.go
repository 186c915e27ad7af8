package main

import (
	"bytes"
	"testing"

	"github.com/rubric-eval/rubric/runner/session"
)

// TestPrintPlan checks the dry run's table against a golden file: a suite
// with repeats, a render error, a target with a price and max_tokens, one
// with neither, judges with a lower-bound cost, a second suite without
// judges, a cost too small for 4 decimals, and the totals in two
// currencies.
func TestPrintPlan(t *testing.T) {
	n := func(v int) *int { return &v }
	plan := &session.Plan{
		Suites: []session.SuitePlan{
			{Suite: "triage", Path: "examples/triage/suite.json", Cases: 40, Repeat: 2, RenderErrors: 1,
				Targets: []session.Estimate{
					{Name: "candidate", Provider: "openai", Model: "acme-triage-v3", Requests: 78, Tokenizer: "o200k_base", PromptTokens: 10872,
						MaxCompletionTokens: n(23400), Cost: &session.Cost{Amount: 0.0405, Currency: "USD"}},
					{Name: "triage-v2", Provider: "replay", Requests: 78, Tokenizer: "o200k_base", PromptTokens: 10872},
				},
				Judges: []session.Estimate{
					{Name: "gpt", Provider: "openai", Model: "gpt-4o-mini", Criteria: []string{"helpful"}, Requests: 156, Tokenizer: "o200k_base",
						PromptTokens: 31200, Cost: &session.Cost{Amount: 0.00468, Currency: "EUR", AtLeast: true}},
				}},
			{Suite: "labels", Path: "labels.json", Cases: 1, Repeat: 1,
				Targets: []session.Estimate{{Name: "local", Provider: "openai", Model: "tiny-1", Requests: 1, Tokenizer: "o200k_base", PromptTokens: 20,
					MaxCompletionTokens: n(20), Cost: &session.Cost{Amount: 0, Currency: "USD"}},
					{Name: "cheap", Provider: "openai", Model: "tiny-2", Requests: 1, Tokenizer: "o200k_base", PromptTokens: 36,
						Cost: &session.Cost{Amount: 0.000036, Currency: "USD", AtLeast: true}},
					{Name: "nightly", Provider: "anthropic", Model: "tiny-3", Requests: 1, Tokenizer: "o200k_base", PromptTokens: 36,
						MaxCompletionTokens: n(20), Batch: true, Cost: &session.Cost{Amount: 0.00004, Currency: "USD"}}}},
		},
		Costs: []session.Cost{{Amount: 0.040576, Currency: "USD", AtLeast: true}, {Amount: 0.00468, Currency: "EUR", AtLeast: true}},
	}
	var b bytes.Buffer
	if err := printPlan(&b, plan); err != nil {
		t.Fatal(err)
	}
	golden(t, "dryrun.txt", b.String())
}
