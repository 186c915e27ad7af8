package criteria_test

import (
	"context"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// pricedTarget is a target with a price table: 2 per million prompt tokens,
// 10 per million completion tokens.
var pricedTarget = evals.TargetSpec{Name: "gpt", Price: &evals.PriceSpec{Input: 2, Output: 10, Currency: "USD"}}

// streamed is a streamed response whose first token came after ms.
func streamed(ms float64) *evals.Response {
	return &evals.Response{Text: "x", Stream: &evals.StreamTiming{FirstTokenMS: ms, FirstContentMS: ms + 100}}
}

func TestCallBounds(t *testing.T) {
	usage := func(p, c, total int) *evals.Response {
		return &evals.Response{Usage: evals.Usage{PromptTokens: p, CompletionTokens: c, TotalTokens: total}}
	}
	unpriced := evals.TargetSpec{Name: "local"}
	euro := evals.TargetSpec{Name: "eu", Price: &evals.PriceSpec{Input: 1, Output: 1}}
	tests := []struct {
		name string
		spec string
		in   evals.Input
		want evals.Verdict
	}{
		{"latency under", `{"name":"c","type":"latency","max_ms":500}`, evals.Input{Latency: 499 * time.Millisecond}, pass()},
		{"latency at the bound", `{"name":"c","type":"latency","max_ms":500}`, evals.Input{Latency: 500 * time.Millisecond}, pass()},
		{"latency over", `{"name":"c","type":"latency","max_ms":500}`, evals.Input{Latency: 500*time.Millisecond + 1500*time.Microsecond},
			fail("took 501.5 ms, expected at most 500 ms")},
		{"latency fractional bound", `{"name":"c","type":"latency","max_ms":0.25}`, evals.Input{Latency: 300 * time.Microsecond},
			fail("took 0.3 ms, expected at most 0.25 ms")},
		{"latency not recorded", `{"name":"c","type":"latency","max_ms":500}`, evals.Input{}, unscoredV("no latency recorded for this response")},
		{"latency threshold 0 passes anyway", `{"name":"c","type":"latency","max_ms":1,"threshold":0}`, evals.Input{Latency: time.Second},
			evals.Verdict{Pass: true, Reason: "took 1000 ms, expected at most 1 ms"}},
		{"first token within", `{"name":"c","type":"latency","max_ttft_ms":300}`, evals.Input{Response: streamed(300)}, pass()},
		{"first token late", `{"name":"c","type":"latency","max_ttft_ms":300}`, evals.Input{Response: streamed(300.25)},
			fail("first token after 300.25 ms, expected within 300 ms")},
		{"first token bound, latency none", `{"name":"c","type":"latency","max_ttft_ms":300}`, evals.Input{Response: streamed(120)}, pass()},
		{"both bounds over", `{"name":"c","type":"latency","max_ms":500,"max_ttft_ms":300}`,
			evals.Input{Latency: 800 * time.Millisecond, Response: streamed(450)},
			fail("took 800 ms, expected at most 500 ms; first token after 450 ms, expected within 300 ms")},
		{"latency over, first token within", `{"name":"c","type":"latency","max_ms":500,"max_ttft_ms":300}`,
			evals.Input{Latency: 800 * time.Millisecond, Response: streamed(100)}, fail("took 800 ms, expected at most 500 ms")},
		{"first token of a response not streamed", `{"name":"c","type":"latency","max_ttft_ms":300}`,
			evals.Input{Latency: time.Millisecond, Response: &evals.Response{Text: "x"}},
			unscoredV(`no time to first token: the response was not streamed (set "stream": true on the target)`)},
		{"first token without a response", `{"name":"c","type":"latency","max_ttft_ms":300}`, evals.Input{Latency: time.Millisecond},
			unscoredV(`no time to first token: the response was not streamed (set "stream": true on the target)`)},

		{"tokens under", `{"name":"c","type":"tokens","max_completion":10,"max_prompt":100,"max_total":110}`, evals.Input{Response: usage(100, 10, 110)}, pass()},
		{"tokens completion over", `{"name":"c","type":"tokens","max_completion":10}`, evals.Input{Response: usage(5, 11, 16)},
			fail("11 completion tokens, expected at most 10")},
		{"tokens all over", `{"name":"c","type":"tokens","max_completion":10,"max_prompt":4,"max_total":15}`, evals.Input{Response: usage(5, 11, 16)},
			fail("11 completion tokens, expected at most 10; 5 prompt tokens, expected at most 4; 16 total tokens, expected at most 15")},
		{"tokens total computed when missing", `{"name":"c","type":"tokens","max_total":15}`, evals.Input{Response: usage(5, 11, 0)},
			fail("16 total tokens, expected at most 15")},
		{"tokens total only", `{"name":"c","type":"tokens","max_total":15}`, evals.Input{Response: usage(0, 0, 9)}, pass()},
		{"tokens total only, completion bound", `{"name":"c","type":"tokens","max_completion":15}`, evals.Input{Response: usage(0, 0, 9)},
			unscoredV("the endpoint reported only a total of 9 tokens, no completion count")},
		{"tokens no usage", `{"name":"c","type":"tokens","max_total":15}`, evals.Input{Response: usage(0, 0, 0)},
			unscoredV("the endpoint reported no token usage")},
		{"tokens no response", `{"name":"c","type":"tokens","max_total":15}`, evals.Input{},
			unscoredV("no response to take token counts from")},

		// 1000 prompt tokens at 2/M and 100 completion tokens at 10/M: 0.003.
		{"cost under", `{"name":"c","type":"cost","max":0.003}`, evals.Input{Target: &pricedTarget, Response: usage(1000, 100, 1100)}, pass()},
		{"cost over", `{"name":"c","type":"cost","max":0.0029}`, evals.Input{Target: &pricedTarget, Response: usage(1000, 100, 1100)},
			fail("cost 0.003 USD (1000 prompt + 100 completion tokens), expected at most 0.0029 USD")},
		{"cost without currency", `{"name":"c","type":"cost","max":0}`, evals.Input{Target: &euro, Response: usage(1, 0, 1)},
			fail("cost 1e-06 (1 prompt + 0 completion tokens), expected at most 0")},
		{"cost unpriced target", `{"name":"c","type":"cost","max":1}`, evals.Input{Target: &unpriced, Response: usage(1, 1, 2)},
			unscoredV(`target "local" has no price: give it "price" (per million input and output tokens) to bound the cost`)},
		{"cost no target", `{"name":"c","type":"cost","max":1}`, evals.Input{Response: usage(1, 1, 2)}, unscoredV("no target to take prices from")},
		{"cost no usage", `{"name":"c","type":"cost","max":1}`, evals.Input{Target: &pricedTarget, Response: usage(0, 0, 0)},
			unscoredV("the endpoint reported no token usage")},
		{"cost total only", `{"name":"c","type":"cost","max":1}`, evals.Input{Target: &pricedTarget, Response: usage(0, 0, 7)},
			unscoredV("the endpoint reported only a total of 7 tokens: the cost needs the prompt and completion counts")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := build(t, tt.spec, criteria.Env{})
			if got := sc.Score(context.Background(), &tt.in); got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestLatencyBoundsErrors: a latency criterion needs one bound at least,
// each a number of milliseconds above 0.
func TestLatencyBoundsErrors(t *testing.T) {
	runNewErrorTests(t, t.TempDir(), []newErrorTest{
		{"no bound", `{"name":"c","type":"latency"}`, "max_ms",
			"missing: expected the most milliseconds a call may take (max_ms), or its first token (max_ttft_ms), or both"},
		{"zero", `{"name":"c","type":"latency","max_ms":0}`, "max_ms", "expected a number of milliseconds above 0 and at most a day, got 0"},
		{"negative first token", `{"name":"c","type":"latency","max_ms":10,"max_ttft_ms":-1}`, "max_ttft_ms",
			"expected a number of milliseconds above 0 and at most a day, got -1"},
		{"first token over a day", `{"name":"c","type":"latency","max_ttft_ms":86400001}`, "max_ttft_ms",
			"expected a number of milliseconds above 0 and at most a day, got 8.6400001e+07"},
	})
}
