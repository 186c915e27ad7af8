package criteria_test

import (
	"context"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// TestScoreAllocsMore keeps the criteria added with issue 4 allocation-free
// where they are now, on a passing response.
func TestScoreAllocsMore(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	c := caseOf(t, `{"category":"billing","priority":"high"}`, "")
	in := &evals.Input{Case: c, Output: benchOutput, Latency: 800 * time.Millisecond, Target: &pricedTarget,
		Response: &evals.Response{Usage: evals.Usage{PromptTokens: 420, CompletionTokens: 95, TotalTokens: 515}}}
	for _, tt := range []struct {
		spec string
		max  float64
	}{
		{`{"name":"c","type":"ends-with","value":"}","normalize":["trim"]}`, 0},
		{`{"name":"c","type":"one-of","extract":{"json":"priority"},"values":["low","medium","high"]}`, 0},
		{`{"name":"c","type":"length","max_chars":1000,"max_words":200}`, 0},
		{`{"name":"c","type":"all","criteria":[{"type":"json-valid"},{"type":"contains","value":"refund"},{"type":"length","max_words":200}]}`, 0},
		{`{"name":"c","type":"json-field","path":"entities.0.id","criterion":{"type":"equals","value":"INV-2291"}}`, 1}, // the input the held criterion sees
		{`{"name":"c","type":"latency","max_ms":2000}`, 0},
		{`{"name":"c","type":"tokens","max_completion":500,"max_total":2000}`, 0},
		{`{"name":"c","type":"cost","max":0.01}`, 0},
	} {
		sc := build(t, tt.spec, criteria.Env{})
		if v := sc.Score(context.Background(), in); !v.Pass {
			t.Fatalf("%s: %+v, want a pass", tt.spec, v)
		}
		if got := testing.AllocsPerRun(100, func() { sc.Score(context.Background(), in) }); got > tt.max {
			t.Errorf("%s: %v allocations per score, want at most %v", tt.spec, got, tt.max)
		}
	}
}
