package criteria_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// Calls the tests make, by letter.
var (
	callA = evals.NewToolCall("a", "lookup_order", `{"order_id": "A1"}`)
	callR = evals.NewToolCall("r", "refund", `{"order_id":"A1","amount":5}`)
	callS = evals.NewToolCall("s", "search", `{"q":"x"}`)
	callN = evals.NewToolCall("n", "notify", ``)
	// callB looks up another order; callV adds an argument to callA's.
	callB = evals.NewToolCall("b", "lookup_order", `{"order_id":"B2"}`)
	callV = evals.NewToolCall("v", "lookup_order", `{"order_id":"A1","verbose":true}`)
	// callX is a lookup whose arguments are not JSON.
	callX = evals.NewToolCall("x", "lookup_order", `{order_id: A1`)
)

// chat builds a transcript: a prompt, then for each step an assistant
// message making its calls, each answered by a tool message (an error for
// arguments that are not JSON, and for ids starting with "err"), then a
// final answer.
func chat(steps ...[]evals.ToolCall) []evals.Message {
	msgs := []evals.Message{{Role: "system", Content: "Use the tools."}, {Role: "user", Content: "Where is A1?"}}
	for _, calls := range steps {
		msgs = append(msgs, evals.Message{Role: evals.RoleAssistant, ToolCalls: calls})
		for _, tc := range calls {
			m := evals.Message{Role: evals.RoleTool, ToolCallID: tc.ID, Name: tc.Name, Content: `{"status":"shipped"}`}
			switch {
			case tc.ArgumentsError != "":
				m.Error, m.Content = tc.ArgumentsError, "error: "+tc.ArgumentsError
			case strings.HasPrefix(tc.ID, "err"):
				m.Error, m.Content = "no such order", "error: no such order"
			}
			msgs = append(msgs, m)
		}
	}
	return append(msgs, evals.Message{Role: evals.RoleAssistant, Content: "It has shipped."})
}

// one is the steps of a conversation whose calls each take a step.
func one(calls ...evals.ToolCall) [][]evals.ToolCall {
	steps := make([][]evals.ToolCall, len(calls))
	for i, c := range calls {
		steps[i] = []evals.ToolCall{c}
	}
	return steps
}

// toolTest is a conversation, or a single answer, scored by one criterion,
// and the exact verdict.
type toolTest struct {
	name string
	spec string
	// steps are the conversation's, its calls by step (parallel calls share
	// one); nil for a single answer, whose response makes calls.
	steps      [][]evals.ToolCall
	calls      []evals.ToolCall
	noResponse bool   // a single answer without a response
	expected   string // JSON text of the case's expected answer, "" for none
	vars       string // JSON text of the case's variables, "" for none
	want       evals.Verdict
}

func runToolTests(t *testing.T, tests []toolTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := build(t, tt.spec, criteria.Env{Dir: t.TempDir()})
			in := &evals.Input{Case: caseOf(t, tt.expected, tt.vars), Output: "It has shipped."}
			switch {
			case tt.steps != nil:
				in.Transcript = chat(tt.steps...)
				in.Response = &evals.Response{Text: in.Output}
			case !tt.noResponse:
				in.Response = &evals.Response{Text: in.Output, ToolCalls: tt.calls}
			}
			got := sc.Score(context.Background(), in)
			if want := tt.want.Calls; want != nil && (got.Calls == nil || *got.Calls != *want) {
				t.Errorf("spec %s: calls %+v, want %+v", tt.spec, got.Calls, want)
			}
			got.Calls, tt.want.Calls = nil, nil // checked above, where a row says
			if !sameVerdict(got, tt.want) {
				t.Errorf("spec %s\n got %+v\nwant %+v", tt.spec, got, tt.want)
			}
		})
	}
}

// scored is a verdict with a score below 1 and a reason, passing when
// pass.
func scored(score float64, pass bool, reason string) evals.Verdict {
	return evals.Verdict{Score: score, Pass: pass, Reason: reason}
}

func TestToolCall(t *testing.T) {
	const lookup = `{"name":"c","type":"tool-call","tool":"lookup_order"`
	spec := func(more string) string { return lookup + more + `}` }
	args := spec(`,"arguments":{"order_id":"A1"}`)
	field := func(criterion string) string {
		return spec(`,"field":"order_id","criterion":` + criterion)
	}
	runToolTests(t, []toolTest{
		{name: "called", spec: spec(``), steps: one(callS, callA), want: pass()},
		{name: "called, arguments a subset", spec: args, steps: one(callV), want: pass()},
		{name: "arguments exactly", spec: spec(`,"arguments":{"order_id":"A1"},"subset":false`), steps: one(callV),
			want: fail(`lookup_order was called 1 time(s), never as expected: call 1 (lookup_order): at $.verbose: unexpected key, got true`)},
		{name: "arguments compare as json-match does", spec: spec(`,"arguments":{"ids":[2,1.0]},"ignore_order":true`),
			steps: one(evals.NewToolCall("1", "lookup_order", `{"ids":[1,2e0],"x":0}`)), want: pass()},
		{name: "not called", spec: args, steps: one(callS, callN),
			want: fail(`lookup_order was not called; calls made: search {"q":"x"}, notify {}`)},
		{name: "no call at all", spec: args, steps: [][]evals.ToolCall{},
			want: fail(`no tool was called, expected a call of lookup_order`)},
		{name: "repeated: the second call matches", spec: args, steps: one(callB, callA), want: pass()},
		{name: "repeated: no call matches", spec: args, steps: one(callB, callS, callB),
			want: fail(`lookup_order was called 2 time(s), never as expected: call 1 (lookup_order): at $.order_id: got "B2", expected "A1"`)},
		{name: "parallel calls, at step 2", spec: spec(`,"step":2`), steps: [][]evals.ToolCall{{callS, callA}}, want: pass()},
		{name: "parallel calls, at step 1", spec: spec(`,"step":1`), steps: [][]evals.ToolCall{{callS, callA}},
			want: fail(`call 1 is search {"q":"x"}, expected lookup_order`)},
		{name: "step any", spec: spec(`,"step":"any"`), steps: [][]evals.ToolCall{{callS, callA}}, want: pass()},
		{name: "step beyond the calls", spec: spec(`,"step":3`), steps: [][]evals.ToolCall{{callS, callA}},
			want: fail(`expected call 3 to be lookup_order, but only 2 tool calls were made`)},
		{name: "step with arguments", spec: spec(`,"step":2,"arguments":{"order_id":"A1"}`), steps: one(callA, callB),
			want: fail(`call 2 (lookup_order): at $.order_id: got "B2", expected "A1"`)},
		{name: "malformed arguments fail a check of them", spec: args, steps: one(callX),
			want: fail(`lookup_order was called 1 time(s), never as expected: call 1 (lookup_order): arguments are not JSON: invalid character 'o' looking for beginning of object key string`)},
		{name: "malformed arguments still call the tool", spec: spec(``), steps: one(callX), want: pass()},
		{name: "a malformed call and a good one", spec: args, steps: one(callX, callA), want: pass()},

		{name: "field", spec: field(`{"type":"equals","value":"{{ order }}"}`), vars: `{"order":"A1"}`, steps: one(callA), want: pass()},
		{name: "field differs", spec: field(`{"type":"equals","value":"{{ order }}"}`), vars: `{"order":"A1"}`, steps: one(callB),
			want: fail(`lookup_order was called 1 time(s), never as expected: call 1 (lookup_order): field "order_id": got "B2", expected "A1"`)},
		{name: "field missing", spec: field(`{"type":"regex","pattern":"^"}`), steps: one(evals.NewToolCall("1", "lookup_order", `{"id":"A1"}`)),
			want: fail(`lookup_order was called 1 time(s), never as expected: call 1 (lookup_order): no field "order_id"`)},
		{name: "field of a malformed call", spec: field(`{"type":"regex","pattern":"^"}`), steps: one(callX),
			want: fail(`lookup_order was called 1 time(s), never as expected: call 1 (lookup_order): arguments are not JSON: invalid character 'o' looking for beginning of object key string`)},
		{name: "field and arguments both", spec: spec(`,"arguments":{"order_id":"A1"},"field":"order_id","criterion":{"type":"length","max_chars":1}`), steps: one(callA),
			want: fail(`lookup_order was called 1 time(s), never as expected: call 1 (lookup_order): field "order_id": 2 character(s), expected at most 1`)},
		{name: "field's criterion unscored", spec: field(`{"type":"equals"}`), steps: one(callA),
			want: unscoredV(`call 1 (lookup_order): field "order_id": no value to compare: set value or give the case an expected answer`)},
		{name: "an unscored call and a passing one", spec: field(`{"type":"equals","value":"{{ expected.id }}"}`), expected: `{"id":"A1"}`, steps: one(callX, callA), want: pass()},

		{name: "tool from the case", spec: `{"name":"c","type":"tool-call","tool":"{{ expected.tool }}"}`, expected: `{"tool":"refund"}`, steps: one(callA, callR), want: pass()},
		{name: "tool from the case, missing", spec: `{"name":"c","type":"tool-call","tool":"{{ expected.tool }}"}`, expected: `{"x":1}`, steps: one(callA),
			want: unscoredV(`tool "{{ expected.tool }}": variable "expected.tool" is not defined for this case`)},
		{name: "arguments from the case", spec: spec(`,"arguments":"{{ expected.args }}"`), expected: `{"args":{"amount":5}}`,
			steps: one(evals.NewToolCall("1", "lookup_order", `{"amount":5.0,"order_id":"A1"}`)), want: pass()},
		{name: "arguments from the case, differ", spec: spec(`,"arguments":"{{ expected.args }}"`), expected: `{"args":{"amount":5}}`,
			steps: one(evals.NewToolCall("1", "lookup_order", `{"amount":"5"}`)),
			want:  fail(`lookup_order was called 1 time(s), never as expected: call 1 (lookup_order): at $.amount: got a string "5", expected a number 5`)},

		{name: "arguments from the case, not an object", spec: spec(`,"arguments":"{{ expected.args }}"`), expected: `{"args":"A1"}`, steps: one(callA),
			want: unscoredV(`arguments "{{ expected.args }}" is a string, expected an object`)},

		{name: "a single answer's calls", spec: args, calls: []evals.ToolCall{callS, callA}, want: pass()},
		{name: "a single answer without calls", spec: args, want: fail(`no tool was called, expected a call of lookup_order`)},
		{name: "no response", spec: args, noResponse: true, want: unscoredV(`no response to take tool calls from`)},
		{name: "a tool name the model made up is quoted", spec: args, steps: one(evals.NewToolCall("1", "look up\n", `{}`)),
			want: fail(`lookup_order was not called; calls made: "look up\n" {}`)},
	})
}

func TestTrajectory(t *testing.T) {
	traj := func(mode, expected string) string {
		return `{"name":"c","type":"trajectory","mode":"` + mode + `","expected":` + expected + `}`
	}
	const ar = `[{"name":"lookup_order","arguments":{"order_id":"A1"}},{"name":"refund","arguments":{"order_id":"A1","amount":5}}]`
	const arn = `[{"name":"lookup_order","arguments":{"order_id":"A1"}},{"name":"refund","arguments":{"amount":5}},{"name":"notify"}]`
	const madeRA = `calls made: refund {"order_id":"A1","amount":5}, lookup_order {"order_id":"A1"}`
	// Precision, recall and F1 are of the best pairing, whatever the mode:
	// F1 = 2 × pairs / (expected + made).
	runToolTests(t, []toolTest{
		{name: "exact", spec: traj("exact", ar), steps: one(callA, callR), want: withCalls(pass(), 2, 2, 2)},
		{name: "exact is the default", spec: `{"name":"c","type":"trajectory","expected":` + ar + `}`, steps: one(callR, callA),
			want: fail(`0 of 2 expected calls matched (exact); call 1 is refund {"order_id":"A1","amount":5}, expected lookup_order {"order_id":"A1"}; ` + madeRA + `; tool-call precision 2/2, recall 2/2, F1 1`)},
		{name: "exact, parallel calls in their order", spec: traj("exact", ar), steps: [][]evals.ToolCall{{callA, callR}}, want: pass()},
		{name: "exact, a call too many", spec: traj("exact", ar), steps: one(callA, callR, callN),
			want: scored(2.0/3, false, `all 2 expected calls matched (exact); call 3, notify {}, was not expected; calls made: lookup_order {"order_id":"A1"}, refund {"order_id":"A1","amount":5}, notify {}; tool-call precision 2/3, recall 2/2, F1 0.8`)},
		{name: "exact, a call missing", spec: traj("exact", ar), steps: one(callA),
			want: scored(0.5, false, `1 of 2 expected calls matched (exact); expected call 2, refund {"amount":5,"order_id":"A1"}, was not made; calls made: lookup_order {"order_id":"A1"}; tool-call precision 1/1, recall 1/2, F1 0.6667`)},
		{name: "exact, other arguments", spec: traj("exact", ar), steps: one(callB, callR),
			want: scored(0.5, false, `1 of 2 expected calls matched (exact); call 1 (lookup_order): at $.order_id: got "B2", expected "A1"; calls made: lookup_order {"order_id":"B2"}, refund {"order_id":"A1","amount":5}; tool-call precision 1/2, recall 1/2, F1 0.5`)},
		{name: "exact, arguments a subset", spec: traj("exact", ar), steps: one(callV, callR), want: pass()},
		{name: "exact threshold", spec: strings.TrimSuffix(traj("exact", ar), "}") + `,"threshold":0.5}`, steps: one(callA),
			want: scored(0.5, true, `1 of 2 expected calls matched (exact); expected call 2, refund {"amount":5,"order_id":"A1"}, was not made; calls made: lookup_order {"order_id":"A1"}; tool-call precision 1/1, recall 1/2, F1 0.6667`)},

		{name: "in_order", spec: traj("in_order", ar), steps: one(callA, callR), want: pass()},
		{name: "in_order, others between", spec: traj("in_order", ar), steps: one(callS, callA, callN, callR),
			want: scored(1, true, `all 2 expected calls matched (in_order); calls made: search {"q":"x"}, lookup_order {"order_id":"A1"}, notify {}, refund {"order_id":"A1","amount":5}; tool-call precision 2/4, recall 2/2, F1 0.6667`)},
		{name: "in_order, swapped", spec: traj("in_order", ar), steps: one(callR, callA),
			want: scored(0.5, false, `1 of 2 expected calls matched (in_order); expected call 2, refund {"amount":5,"order_id":"A1"}, was not made in order: call 1 matches it, out of order; `+madeRA+`; tool-call precision 2/2, recall 2/2, F1 1`)},
		{name: "in_order, a longest run", spec: traj("in_order", arn), steps: one(callS, callA, callA, callR),
			want: scored(2.0/3, false, `2 of 3 expected calls matched (in_order); expected call 3, notify (any arguments), was not made in order; calls made: search {"q":"x"}, lookup_order {"order_id":"A1"}, lookup_order {"order_id":"A1"}, refund {"order_id":"A1","amount":5}; tool-call precision 2/4, recall 2/3, F1 0.5714`)},
		{name: "in_order, repeated expected call made once", spec: traj("in_order", `[{"name":"lookup_order"},{"name":"lookup_order"}]`), steps: one(callA),
			want: scored(0.5, false, `1 of 2 expected calls matched (in_order); expected call 2, lookup_order (any arguments), was not made in order: every call of lookup_order matched another expected call; calls made: lookup_order {"order_id":"A1"}; tool-call precision 1/1, recall 1/2, F1 0.6667`)},

		{name: "any_order", spec: traj("any_order", ar), steps: one(callR, callA), want: pass()},
		{name: "any_order, parallel", spec: traj("any_order", ar), steps: [][]evals.ToolCall{{callR, callA}}, want: pass()},
		{name: "any_order, a call too many", spec: traj("any_order", ar), steps: one(callS, callR, callA),
			want: scored(2.0/3, false, `all 2 expected calls matched (any_order); call 1, search {"q":"x"}, was not expected; calls made: search {"q":"x"}, refund {"order_id":"A1","amount":5}, lookup_order {"order_id":"A1"}; tool-call precision 2/3, recall 2/2, F1 0.8`)},
		{name: "any_order, a repeat is a call too many", spec: traj("any_order", ar), steps: one(callA, callR, callA),
			want: scored(2.0/3, false, `all 2 expected calls matched (any_order); call 3, lookup_order {"order_id":"A1"}, was not expected; calls made: lookup_order {"order_id":"A1"}, refund {"order_id":"A1","amount":5}, lookup_order {"order_id":"A1"}; tool-call precision 2/3, recall 2/2, F1 0.8`)},

		{name: "subset", spec: traj("subset", ar), steps: one(callS, callR, callN, callA),
			want: scored(1, true, `all 2 expected calls matched (subset); calls made: search {"q":"x"}, refund {"order_id":"A1","amount":5}, notify {}, lookup_order {"order_id":"A1"}; tool-call precision 2/4, recall 2/2, F1 0.6667`)},
		{name: "subset, other arguments", spec: traj("subset", ar), steps: one(callA, evals.NewToolCall("2", "refund", `{"order_id":"B2","amount":5}`)),
			want: scored(0.5, false, `1 of 2 expected calls matched (subset); expected call 2, refund {"amount":5,"order_id":"A1"}, was not made: call 2 (refund): at $.order_id: got "B2", expected "A1"; calls made: lookup_order {"order_id":"A1"}, refund {"order_id":"B2","amount":5}; tool-call precision 1/2, recall 1/2, F1 0.5`)},
		{name: "subset, repeated expected call made once", spec: traj("subset", `[{"name":"lookup_order","arguments":{"order_id":"A1"}},{"name":"lookup_order"}]`), steps: one(callA),
			want: scored(0.5, false, `1 of 2 expected calls matched (subset); expected call 2, lookup_order (any arguments), was not made: every call of lookup_order matched another expected call; calls made: lookup_order {"order_id":"A1"}; tool-call precision 1/1, recall 1/2, F1 0.6667`)},
		{name: "subset, pairs the calls best", spec: traj("subset", `[{"name":"lookup_order"},{"name":"lookup_order","arguments":{"order_id":"A1"}}]`), steps: one(callA, callB), want: pass()},

		{name: "malformed arguments match no arguments", spec: traj("exact", `[{"name":"lookup_order","arguments":{"order_id":"A1"}}]`), steps: one(callX),
			want: fail(`0 of 1 expected calls matched (exact); call 1 (lookup_order): arguments are not JSON: invalid character 'o' looking for beginning of object key string; calls made: lookup_order "{order_id: A1" (not JSON); tool-call precision 0/1, recall 0/1, F1 0`)},
		{name: "malformed arguments match a name alone", spec: traj("exact", `[{"name":"lookup_order"}]`), steps: one(callX), want: pass()},
		{name: "no calls expected, none made", spec: traj("exact", `[]`), steps: [][]evals.ToolCall{}, want: pass()},
		{name: "no calls expected, one made", spec: traj("any_order", `[]`), steps: one(callS),
			want: fail(`no call was expected (any_order); call 1, search {"q":"x"}, was not expected; calls made: search {"q":"x"}; tool-call precision 0/1, recall 0/0, F1 0`)},
		{name: "calls expected, none made", spec: traj("subset", ar), steps: [][]evals.ToolCall{},
			want: fail(`0 of 2 expected calls matched (subset); expected call 1, lookup_order {"order_id":"A1"}, was not made; no tool was called; tool-call precision 0/0, recall 0/2, F1 0`)},

		{name: "a single answer's calls", spec: traj("exact", ar), calls: []evals.ToolCall{callA, callR}, want: pass()},
		{name: "no response", spec: traj("exact", ar), noResponse: true, want: unscoredV(`no response to take tool calls from`)},

		{name: "expected from the case", spec: `{"name":"c","type":"trajectory","mode":"in_order"}`, expected: ar, steps: one(callA, callR), want: pass()},
		{name: "the case's expected is not calls", spec: `{"name":"c","type":"trajectory"}`, expected: `"It has shipped."`, steps: one(callA),
			want: unscoredV(`the case's expected answer is not a list of calls: expected an array of calls {"name", "arguments"}, got a string`)},
		{name: "no expected", spec: `{"name":"c","type":"trajectory"}`, steps: one(callA),
			want: unscoredV(`no expected calls: set expected or give the case an expected answer`)},
		{name: "expected from a template", spec: traj("exact", `"{{ expected.calls }}"`), expected: `{"calls":` + ar + `}`, steps: one(callA, callR), want: pass()},
		{name: "expected from a template, numbers as numbers", spec: traj("exact", `"{{ expected.calls }}"`), expected: `{"calls":[{"name":"refund","arguments":{"amount":5}}]}`,
			steps: one(evals.NewToolCall("1", "refund", `{"amount":5.00,"order_id":"A1"}`)), want: pass()},
		{name: "expected from a template, not calls", spec: traj("exact", `"{{ expected.calls }}"`), expected: `{"calls":[{"arguments":{}}]}`, steps: one(callA),
			want: unscoredV(`expected "{{ expected.calls }}" is not a list of calls: at 0.name: missing: expected the tool's name`)},
		{name: "expected from a template, unknown key", spec: traj("exact", `"{{ expected.calls }}"`), expected: `{"calls":[{"name":"a","id":"call_1"}]}`, steps: one(callA),
			want: unscoredV(`expected "{{ expected.calls }}" is not a list of calls: at 0.id: unknown key: a call has "name" and, optionally, "arguments"`)},
		{name: "expected from a template, missing", spec: traj("exact", `"{{ expected.calls }}"`), steps: one(callA),
			want: unscoredV(`expected "{{ expected.calls }}": variable "expected" is not defined for this case`)},
	})
}

func TestNoToolCall(t *testing.T) {
	runToolTests(t, []toolTest{
		{name: "none", spec: `{"name":"c","type":"no-tool-call"}`, steps: [][]evals.ToolCall{}, want: pass()},
		{name: "some", spec: `{"name":"c","type":"no-tool-call"}`, steps: [][]evals.ToolCall{{callS, callA}},
			want: fail(`expected no tool call, got 2: call 1, search {"q":"x"}; call 2, lookup_order {"order_id":"A1"}`)},
		{name: "a malformed call is a call", spec: `{"name":"c","type":"no-tool-call"}`, steps: one(callX),
			want: fail(`expected no tool call, got 1: call 1, lookup_order "{order_id: A1" (not JSON)`)},
		{name: "none of names", spec: `{"name":"c","type":"no-tool-call","names":["refund","notify"]}`, steps: one(callS, callA), want: pass()},
		{name: "one of names", spec: `{"name":"c","type":"no-tool-call","names":["refund","notify"]}`, steps: one(callS, callR, callR),
			want: fail(`expected no call of refund, notify, got 2: call 2, refund {"order_id":"A1","amount":5}; call 3, refund {"order_id":"A1","amount":5}`)},
		{name: "a single answer without calls", spec: `{"name":"c","type":"no-tool-call"}`, want: pass()},
		{name: "a single answer's calls", spec: `{"name":"c","type":"no-tool-call"}`, calls: []evals.ToolCall{callN},
			want: fail(`expected no tool call, got 1: call 1, notify {}`)},
		{name: "no response", spec: `{"name":"c","type":"no-tool-call"}`, noResponse: true, want: unscoredV(`no response to take tool calls from`)},
	})
}

func TestStepsAndToolErrors(t *testing.T) {
	errA := evals.NewToolCall("err1", "lookup_order", `{"order_id":"Z9"}`)
	runToolTests(t, []toolTest{
		// Three steps: two that call tools, and the answer.
		{name: "steps within", spec: `{"name":"c","type":"steps","min":2,"max":3}`, steps: one(callA, callR), want: pass()},
		{name: "steps above max", spec: `{"name":"c","type":"steps","max":2}`, steps: one(callA, callR),
			want: fail(`3 steps (model requests), expected at most 2`)},
		{name: "parallel calls are one step", spec: `{"name":"c","type":"steps","max":2}`, steps: [][]evals.ToolCall{{callA, callR}}, want: pass()},
		{name: "steps below min", spec: `{"name":"c","type":"steps","min":2}`, steps: [][]evals.ToolCall{},
			want: fail(`1 step(s) (model requests), expected at least 2`)},
		{name: "a single answer is one step", spec: `{"name":"c","type":"steps","max":1}`, calls: []evals.ToolCall{callA, callR}, want: pass()},
		{name: "a single answer is below min", spec: `{"name":"c","type":"steps","min":2}`,
			want: fail(`1 step(s) (model requests), expected at least 2`)},
		{name: "steps without a response", spec: `{"name":"c","type":"steps","max":1}`, noResponse: true, want: unscoredV(`no response to count the steps of`)},

		{name: "no tool error", spec: `{"name":"c","type":"tool-errors"}`, steps: one(callA, callR), want: pass()},
		{name: "tool errors", spec: `{"name":"c","type":"tool-errors"}`, steps: [][]evals.ToolCall{{errA, callX}, {callA}},
			want: fail(`2 tool error(s), expected at most 0: lookup_order: "no such order"; lookup_order: "arguments are not JSON: invalid character 'o' looking for beginning of object ke"… (88 bytes)`)},
		{name: "tool errors within max", spec: `{"name":"c","type":"tool-errors","max":2}`, steps: [][]evals.ToolCall{{errA, callX}}, want: pass()},
		{name: "many tool errors", spec: `{"name":"c","type":"tool-errors","max":1}`, steps: one(errA, errA, errA, errA, errA),
			want: fail(`5 tool error(s), expected at most 1: lookup_order: "no such order"; lookup_order: "no such order"; lookup_order: "no such order"; and 2 more`)},
		{name: "a single answer runs no tool", spec: `{"name":"c","type":"tool-errors"}`, calls: []evals.ToolCall{callX}, want: pass()},
		{name: "tool errors without a response", spec: `{"name":"c","type":"tool-errors"}`, noResponse: true, want: unscoredV(`no response to count the tool errors of`)},
	})
}

func TestNewErrorsTools(t *testing.T) {
	runNewErrorTests(t, t.TempDir(), []newErrorTest{
		{"tool-call without tool", `{"name":"c","type":"tool-call"}`, "tool", `missing: expected the name of the tool the model must call, such as "lookup_order"`},
		{"tool-call bad tool name", `{"name":"c","type":"tool-call","tool":"lookup order"}`, "tool", `expected 1 to 64 letters, digits, _ or -, got "lookup order"`},
		{"tool-call bad tool template", `{"name":"c","type":"tool-call","tool":"{{ x"}`, "tool", `template: "{{" is never closed by "}}" at character 1`},
		{"tool-call step 0", `{"name":"c","type":"tool-call","tool":"a","step":0}`, "step", `expected "any" or the number of a tool call, from 1, got 0`},
		{"tool-call step word", `{"name":"c","type":"tool-call","tool":"a","step":"last"}`, "step", `expected "any" or the number of a tool call, from 1, got "last"`},
		{"tool-call step fraction", `{"name":"c","type":"tool-call","tool":"a","step":1.5}`, "step", `expected "any" or the number of a tool call, from 1, got 1.5`},
		{"tool-call arguments an array", `{"name":"c","type":"tool-call","tool":"a","arguments":[1]}`, "arguments",
			`expected an object, the arguments to match, or a template naming one ("{{ expected.arguments }}"), got an array`},
		{"tool-call arguments a plain string", `{"name":"c","type":"tool-call","tool":"a","arguments":"order A1"}`, "arguments",
			`expected an object, the arguments to match, or a template naming one ("{{ expected.arguments }}"), got a string`},
		{"tool-call subset without arguments", `{"name":"c","type":"tool-call","tool":"a","subset":false}`, "subset", `applies only with "arguments"`},
		{"tool-call ignore_order without arguments", `{"name":"c","type":"tool-call","tool":"a","ignore_order":true}`, "ignore_order", `applies only with "arguments"`},
		{"tool-call field without criterion", `{"name":"c","type":"tool-call","tool":"a","field":"id"}`, "criterion",
			`missing: "field" names the argument that "criterion" judges, e.g. {"type": "equals", "value": "{{ order_id }}"}`},
		{"tool-call criterion without field", `{"name":"c","type":"tool-call","tool":"a","criterion":{"type":"json-valid"}}`, "field",
			`missing: expected the argument that "criterion" judges, dotted keys and indexes such as "order_id" or "items.0.sku"`},
		{"tool-call bad field", `{"name":"c","type":"tool-call","tool":"a","field":"a..b","criterion":{"type":"json-valid"}}`, "field",
			`empty key in path "a..b": expected dotted keys and indexes, e.g. "category" or "items.0.name"`},
		{"tool-call bad criterion", `{"name":"c","type":"tool-call","tool":"a","field":"id","criterion":{"type":"regex"}}`, "criterion.pattern",
			`missing: expected a regular expression (Go RE2 syntax)`},
		{"tool-call extract", `{"name":"c","type":"tool-call","tool":"a","extract":{"last_line":true}}`, "extract",
			`does not apply to criterion type "tool-call": it judges the conversation, not the output`},
		{"tool-call normalize", `{"name":"c","type":"tool-call","tool":"a","normalize":["trim"]}`, "normalize",
			`does not apply to criterion type "tool-call": it judges the conversation, not the output`},

		{"trajectory unknown mode", `{"name":"c","type":"trajectory","mode":"strict","expected":[]}`, "mode",
			`unknown mode "strict": expected one of exact, in_order, any_order, subset`},
		{"trajectory mode of contains", `{"name":"c","type":"trajectory","mode":"all","expected":[]}`, "mode",
			`unknown mode "all": expected one of exact, in_order, any_order, subset`},
		{"trajectory expected a string", `{"name":"c","type":"trajectory","expected":"lookup_order"}`, "expected",
			`expected an array of calls such as [{"name": "lookup_order", "arguments": {"order_id": "A1"}}], or a template naming one ("{{ expected.calls }}"), got the string "lookup_order"`},
		{"trajectory expected an object", `{"name":"c","type":"trajectory","expected":{"name":"a"}}`, "expected",
			`expected an array of calls such as [{"name": "lookup_order", "arguments": {"order_id": "A1"}}], or a template naming one ("{{ expected.calls }}"), got an object`},
		{"trajectory call not an object", `{"name":"c","type":"trajectory","expected":["a"]}`, "expected.0",
			`expected a call, an object {"name", "arguments"}, got a string`},
		{"trajectory call without name", `{"name":"c","type":"trajectory","expected":[{"name":"a"},{"arguments":{}}]}`, "expected.1.name",
			`missing: expected the tool's name`},
		{"trajectory call name not a string", `{"name":"c","type":"trajectory","expected":[{"name":1}]}`, "expected.0.name",
			`expected the tool's name, a string, got a number`},
		{"trajectory call bad name", `{"name":"c","type":"trajectory","expected":[{"name":"a b"}]}`, "expected.0.name",
			`expected 1 to 64 letters, digits, _ or -, got "a b"`},
		{"trajectory call arguments not an object", `{"name":"c","type":"trajectory","expected":[{"name":"a","arguments":"x"}]}`, "expected.0.arguments",
			`expected an object, the arguments the call must contain, got a string`},
		{"trajectory call unknown key", `{"name":"c","type":"trajectory","expected":[{"name":"a","id":"call_1"}]}`, "expected.0.id",
			`unknown key: a call has "name" and, optionally, "arguments"`},
		{"trajectory empty in_order", `{"name":"c","type":"trajectory","mode":"in_order","expected":[]}`, "expected",
			`empty array: with mode "in_order" every conversation would pass; expected at least one call (for no call at all, use no-tool-call)`},
		{"trajectory bad template", `{"name":"c","type":"trajectory","expected":"{{ }}"}`, "expected",
			`template: empty placeholder {{ }}: expected a variable name at character 1`},
		{"trajectory extract", `{"name":"c","type":"trajectory","expected":[],"extract":{"code_fence":true}}`, "extract",
			`does not apply to criterion type "trajectory": it judges the conversation, not the output`},

		{"no-tool-call empty names", `{"name":"c","type":"no-tool-call","names":[]}`, "names",
			`empty array: expected the names of the tools the model must not call (leave names out to forbid every tool)`},
		{"no-tool-call bad name", `{"name":"c","type":"no-tool-call","names":["a",""]}`, "names.1", `expected 1 to 64 letters, digits, _ or -, got ""`},
		{"no-tool-call name twice", `{"name":"c","type":"no-tool-call","names":["a","b","a"]}`, "names.2", `"a" is listed twice (also at names.0)`},

		{"steps without bounds", `{"name":"c","type":"steps"}`, "max", `missing: expected the most model requests (max), the fewest (min), or both`},
		{"steps max 0", `{"name":"c","type":"steps","max":0}`, "max", `expected an integer >= 1 (a conversation takes one request at least), got 0`},
		{"steps min above max", `{"name":"c","type":"steps","min":3,"max":2}`, "min", `3 is above max 2: no conversation could pass`},
		{"steps max a fraction", `{"name":"c","type":"steps","max":2.5}`, "max", `expected an integer, got the number 2.5`},
		{"tool-errors negative", `{"name":"c","type":"tool-errors","max":-1}`, "max", `expected an integer >= 0, got -1`},
		{"tool-errors normalize", `{"name":"c","type":"tool-errors","normalize":["trim"]}`, "normalize",
			`does not apply to criterion type "tool-errors": it judges the conversation, not the output`},
	})
}

// hostileTranscripts are conversations every criterion must survive.
func hostileTranscripts() [][]evals.Message {
	odd := []evals.ToolCall{
		{ID: "", Name: "", Arguments: nil},
		{ID: "1", Name: "lookup_order", Arguments: []byte(`null`)},
		{ID: "2", Name: "lookup_order", Arguments: []byte(`[1,2]`)},
		{ID: "3", Name: "lookup_order", Arguments: []byte(`{"order_id":`)}, // broken, yet not marked
		{ID: "4", Name: "東京\n<<<END output>>>", Arguments: []byte(`"text"`), ArgumentsError: "arguments are not JSON"},
		evals.NewToolCall("5", "lookup_order", "\xff\xfe"),
		evals.NewToolCall("6", "lookup_order", `{"order_id":"`+strings.Repeat("x", 1<<16)+`"}`),
		evals.NewToolCall("7", "lookup_order", strings.Repeat(`{"a":`, 2000)+"1"+strings.Repeat("}", 2000)),
	}
	many := make([]evals.ToolCall, 2000)
	for i := range many {
		many[i] = callA
	}
	return [][]evals.Message{
		{},
		{{Role: evals.RoleUser, Content: "hi"}},
		chat(),
		chat(odd),
		chat(one(odd...)...),
		chat([][]evals.ToolCall{many}...),
		{{Role: evals.RoleTool, Error: "orphan", Name: "x"}, {Role: evals.RoleAssistant}},
	}
}

// TestConformanceTranscripts runs every registered criterion, in its
// minimal form, on conversations with odd tool calls (no name, arguments
// null, an array, broken, huge, deep, not UTF-8; thousands of calls) and
// on single answers that make them: it must not panic, and its verdict
// must be sound, as TestConformance checks.
func TestConformanceTranscripts(t *testing.T) {
	hostile := hostileTranscripts()
	for _, name := range criteria.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc := build(t, minimal[name], conformanceEnv(t.TempDir()))
			for _, c := range []*evals.Case{nil, caseOf(t, `[{"name":"lookup_order"}]`, `{"label":"x"}`)} {
				for _, tr := range hostile {
					checkInput(t, sc, &evals.Input{Case: c, Output: "x", Transcript: tr, Response: &evals.Response{Text: "x"}}, 1)
					checkInput(t, sc, &evals.Input{Case: c, Output: "x", Response: &evals.Response{Text: "x", ToolCalls: evals.CallsOf(tr)}}, 1)
				}
			}
		})
	}
}

// withCalls is v with the tool-call counts a trajectory records.
func withCalls(v evals.Verdict, expected, made, matched int) evals.Verdict {
	v.Calls = &evals.CallCounts{Expected: expected, Made: made, Matched: matched}
	return v
}

// TestTrajectoryCorpus: the report's tool-call F1 is of the counts summed
// over the responses (micro-averaged), not the mean of each one's F1.
func TestTrajectoryCorpus(t *testing.T) {
	sc := build(t, `{"name":"c","type":"trajectory","mode":"subset","expected":[{"name":"lookup_order"},{"name":"refund"}]}`, criteria.Env{Dir: t.TempDir()})
	corpus := sc.(evals.CorpusScorer).NewCorpus()
	for _, made := range [][]evals.ToolCall{
		{callA, callR}, // 2 of 2, 2 made
		{callA},        // 1 of 2, 1 made
		{callA, callA, callA, evals.NewToolCall("x", "notify", `{}`)}, // 1 of 2, 4 made
	} {
		in := &evals.Input{Case: &evals.Case{ID: "1"}, Response: &evals.Response{ToolCalls: made}}
		v := sc.Score(context.Background(), in)
		corpus.Add(&evals.Score{Calls: v.Calls})
	}
	corpus.Add(&evals.Score{}) // a verdict without counts (unscored) adds nothing
	var sum evals.CriterionSummary
	corpus.Report(&sum)
	got := sum.ToolCalls
	// Expected 6, made 7, matched 4: precision 4/7, recall 4/6, F1 8/13.
	if got == nil || got.CallCounts != (evals.CallCounts{Expected: 6, Made: 7, Matched: 4}) ||
		math.Abs(got.Precision-4.0/7) > 1e-12 || math.Abs(got.Recall-4.0/6) > 1e-12 || math.Abs(got.F1-8.0/13) > 1e-12 {
		t.Fatalf("tool calls %+v", got)
	}
}
