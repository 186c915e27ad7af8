package export

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
)

// convResults is a run of an order-support conversation suite on two
// targets, built by hand as the tool loop records results: small looped on
// lookup_order until max_steps (where-is-a1) and missed the second turn of
// a scripted conversation (eta); large, an Anthropic target whose request
// writes tools in its own layout, answered where-is-a1 after the same
// lookup.
func convResults() []*evals.Result {
	sys := evals.Message{Role: "system", Content: "You are ACME's support assistant. Use the tools."}
	user := func(s string) evals.Message { return evals.Message{Role: "user", Content: s} }
	call := func(id string) evals.Message {
		return evals.Message{Role: "assistant", ToolCalls: []evals.ToolCall{evals.NewToolCall(id, "lookup_order", `{"order_id":"A1"}`)}}
	}
	result := func(id string) evals.Message {
		return evals.Message{Role: "tool", ToolCallID: id, Name: "lookup_order", Content: `{"status":"shipped"}`}
	}
	said := func(s string) evals.Message { return evals.Message{Role: "assistant", Content: s} }
	openaiBody := func(msgs string) json.RawMessage {
		return json.RawMessage(`{"model":"small","messages":` + msgs + `,"tools":[{"type":"function","function":{"name":"lookup_order","description":"Find an order by id","parameters":{"type":"object","properties":{"order_id":{"type":"string"}}}}}]}`)
	}
	failed := func(name, reason string) []evals.Score {
		return []evals.Score{{Name: name, Type: "contains", Weight: 1, Reason: reason}}
	}
	zero, one := 0.0, 1.0
	return []*evals.Result{
		{RunID: "run", CaseID: "where-is-a1", Target: "small", Status: evals.StatusFailed, Score: &zero,
			Expected: "Your order A1 has shipped.", Steps: 3, ToolCalls: 3, Outcome: evals.OutcomeMaxSteps,
			Request:    &evals.SentRequest{URL: "http://x/v1/chat/completions", Body: openaiBody(`[]`)},
			Transcript: []evals.Message{sys, user("Where is my order A1?"), call("call_1"), result("call_1"), call("call_2"), result("call_2"), call("call_3")},
			Scores:     failed("mentions-status", `got "", expected it to contain "shipped"`)},
		{RunID: "run", CaseID: "where-is-a1", Target: "large", Status: evals.StatusPassed, Score: &one,
			Output: "Your order A1 has shipped, and arrives on 9 December.", Steps: 2, ToolCalls: 1,
			Request: &evals.SentRequest{URL: "http://x/v1/messages", Body: json.RawMessage(`{"model":"large","system":"…","messages":[],` +
				`"tools":[{"name":"lookup_order","description":"Find an order by id","input_schema":{"type":"object","properties":{"order_id":{"type":"string"}}}}]}`)},
			Transcript: []evals.Message{sys, user("Where is my order A1?"), call("toolu_01"), result("toolu_01"), said("Your order A1 has shipped, and arrives on 9 December.")},
			Scores:     []evals.Score{{Name: "mentions-status", Type: "contains", Weight: 1, Score: 1, Pass: true}}},
		{RunID: "run", CaseID: "eta", Target: "small", Status: evals.StatusFailed, Score: &zero,
			Expected: "It arrives on 9 December.", Output: "I cannot tell.", Steps: 2,
			Request:    &evals.SentRequest{URL: "http://x/v1/chat/completions", Body: json.RawMessage(`{"model":"small","messages":[]}`)},
			Transcript: []evals.Message{sys, user("Where is my order B2?"), said("It has shipped."), user("And when will it arrive?"), said("I cannot tell.")},
			Scores:     failed("mentions-date", `got "I cannot tell.", expected it to contain "9 December"`)},
	}
}

// TestExportConversation: a tool-using result exports as chat data with its
// tool calls, the tool messages that answer them and the tools the request
// offered; a multi-turn one with its earlier turns, untrained (weight 0);
// every line passes the format's checker.
func TestExportConversation(t *testing.T) {
	results := writeResults(t, convResults())
	out, st := export(t, results, Options{Format: datasets.ExportChat, Select: Selection{Failed: true}})
	want := []string{
		`{"messages":[{"role":"system","content":"You are ACME's support assistant. Use the tools."},{"role":"user","content":"Where is my order B2?"},{"role":"assistant","content":"It has shipped.","weight":0},{"role":"user","content":"And when will it arrive?"},{"role":"assistant","content":"It arrives on 9 December."}]}`,
		`{"messages":[{"role":"system","content":"You are ACME's support assistant. Use the tools."},{"role":"user","content":"Where is my order A1?"},` +
			`{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A1\"}"}}],"weight":0},` +
			`{"role":"tool","content":"{\"status\":\"shipped\"}","tool_call_id":"call_1"},` +
			`{"role":"assistant","tool_calls":[{"id":"call_2","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A1\"}"}}],"weight":0},` +
			`{"role":"tool","content":"{\"status\":\"shipped\"}","tool_call_id":"call_2"},` +
			`{"role":"assistant","content":"Your order A1 has shipped."}],` +
			`"tools":[{"type":"function","function":{"name":"lookup_order","description":"Find an order by id","parameters":{"type":"object","properties":{"order_id":{"type":"string"}}}}}]}`,
	}
	checkLines(t, datasets.ExportChat, out, want)
	if st.Written != 2 {
		t.Errorf("wrote %d, skipped %v", st.Written, st.Skipped)
	}

	// With the chosen target, chat data is large's own conversation, its
	// tools (written by the Anthropic provider) in OpenAI's layout.
	out, _ = export(t, results, Options{Format: datasets.ExportChat, Select: Selection{Failed: true, Targets: []string{"small"}}, ChosenTarget: "large"})
	checkLines(t, datasets.ExportChat, out, []string{
		`{"messages":[{"role":"system","content":"You are ACME's support assistant. Use the tools."},{"role":"user","content":"Where is my order A1?"},` +
			`{"role":"assistant","tool_calls":[{"id":"toolu_01","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A1\"}"}}],"weight":0},` +
			`{"role":"tool","content":"{\"status\":\"shipped\"}","tool_call_id":"toolu_01"},` +
			`{"role":"assistant","content":"Your order A1 has shipped, and arrives on 9 December."}],` +
			`"tools":[{"type":"function","function":{"name":"lookup_order","description":"Find an order by id","parameters":{"type":"object","properties":{"order_id":{"type":"string"}}}}}]}`,
	})
}

// TestExportConversationPairs: a pair's prompt is the conversation up to
// its last assistant message; chosen is the reference, rejected that
// message, a tool call when the model was still calling tools. With a
// chosen target, the prompt is what the two conversations share, and the
// answers are where they part.
func TestExportConversationPairs(t *testing.T) {
	results := writeResults(t, convResults())
	out, st := export(t, results, Options{Format: datasets.ExportPreferenceTRL, Select: Selection{Targets: []string{"small"}}})
	if st.Written != 2 {
		t.Errorf("wrote %d, skipped %v", st.Written, st.Skipped)
	}
	checkLines(t, datasets.ExportPreferenceTRL, out, []string{
		`{"prompt":[{"role":"system","content":"You are ACME's support assistant. Use the tools."},{"role":"user","content":"Where is my order B2?"},{"role":"assistant","content":"It has shipped."},{"role":"user","content":"And when will it arrive?"}],` +
			`"chosen":[{"role":"assistant","content":"It arrives on 9 December."}],"rejected":[{"role":"assistant","content":"I cannot tell."}]}`,
		`{"prompt":[{"role":"system","content":"You are ACME's support assistant. Use the tools."},{"role":"user","content":"Where is my order A1?"},` +
			`{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":{"order_id":"A1"}}}]},` +
			`{"role":"tool","content":"{\"status\":\"shipped\"}","tool_call_id":"call_1","name":"lookup_order"},` +
			`{"role":"assistant","tool_calls":[{"id":"call_2","type":"function","function":{"name":"lookup_order","arguments":{"order_id":"A1"}}}]},` +
			`{"role":"tool","content":"{\"status\":\"shipped\"}","tool_call_id":"call_2","name":"lookup_order"}],` +
			`"chosen":[{"role":"assistant","content":"Your order A1 has shipped."}],` +
			`"rejected":[{"role":"assistant","tool_calls":[{"id":"call_3","type":"function","function":{"name":"lookup_order","arguments":{"order_id":"A1"}}}]}],` +
			`"tools":[{"type":"function","function":{"name":"lookup_order","description":"Find an order by id","parameters":{"type":"object","properties":{"order_id":{"type":"string"}}}}}]}`,
	})

	out, st = export(t, results, Options{Format: datasets.ExportPreferenceOpenAI, Select: Selection{Targets: []string{"small"}}, ChosenTarget: "large"})
	checkLines(t, datasets.ExportPreferenceOpenAI, out, []string{
		`{"input":{"messages":[{"role":"system","content":"You are ACME's support assistant. Use the tools."},{"role":"user","content":"Where is my order A1?"},` +
			`{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A1\"}"}}]},` +
			`{"role":"tool","content":"{\"status\":\"shipped\"}","tool_call_id":"call_1"}],` +
			`"tools":[{"type":"function","function":{"name":"lookup_order","description":"Find an order by id","parameters":{"type":"object","properties":{"order_id":{"type":"string"}}}}}]},` +
			`"preferred_output":[{"role":"assistant","content":"Your order A1 has shipped, and arrives on 9 December."}],` +
			`"non_preferred_output":[{"role":"assistant","tool_calls":[{"id":"call_2","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A1\"}"}}]}]}`,
	})
	if st.Skipped["no passing answer of target large for the case"] != 1 {
		t.Errorf("eta, which large did not answer, skipped as %v", st.Skipped)
	}
}

// TestExportConversationReview: a review sheet's prompt is the
// conversation before the answer, its tool calls and results written out;
// the response is the answer, its tool calls when it made some.
func TestExportConversationReview(t *testing.T) {
	results := writeResults(t, convResults())
	out, _ := export(t, results, Options{Format: datasets.ExportReviewCSV, Select: Selection{Targets: []string{"small"}, Criteria: []string{"mentions-status"}}})
	for _, want := range []string{
		"[assistant]\n→ lookup_order({\"\"order_id\"\":\"\"A1\"\"})\n\n[tool lookup_order]\n{\"\"status\"\":\"\"shipped\"\"}",
		`,"→ lookup_order({""order_id"":""A1""})",Your order A1 has shipped.,`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("review sheet lacks %q:\n%s", want, out)
		}
	}
}

// TestExportConversationSkips: what a conversation lacks is skipped and
// counted: tools the request wrote in no known layout, a conversation with
// no answer, malformed tool arguments.
func TestExportConversationSkips(t *testing.T) {
	rs := convResults()
	rs[0].Request.Body = json.RawMessage(`{"messages":[],"tools":[{"kind":"lookup"}]}`)
	rs[2].Transcript = rs[2].Transcript[:2] // the request failed before the first answer
	rs = append(rs, &evals.Result{RunID: "run", CaseID: "garbled", Target: "small", Status: evals.StatusFailed, Expected: "x",
		Transcript: []evals.Message{{Role: "user", Content: "q"},
			{Role: "assistant", ToolCalls: []evals.ToolCall{evals.NewToolCall("c1", "lookup_order", `{"order_id": A1}`)}},
			{Role: "tool", ToolCallID: "c1", Name: "lookup_order", Content: "error: arguments are not JSON", Error: "arguments are not JSON"},
			{Role: "assistant", Content: "Sorry."}}})
	_, st := export(t, writeResults(t, rs), Options{Format: datasets.ExportPreferenceOpenAI, Select: Selection{Targets: []string{"small"}}})
	want := map[string]int{SkipBadTools: 1, SkipNoAnswer: 1, "a tool call's arguments are not a JSON object": 1}
	for r, n := range want {
		if st.Skipped[r] != n {
			t.Errorf("skipped %v, want %v", st.Skipped, want)
			break
		}
	}
	if st.Written != 0 {
		t.Errorf("wrote %d", st.Written)
	}
}

// checkLines compares the lines written with want, and checks each with the
// format's checker.
func checkLines(t *testing.T, format, out string, want []string) {
	t.Helper()
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), out)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
		if err := datasets.CheckLine(format, []byte(got[i]+"\n"), nil); err != nil {
			t.Errorf("line %d fails the check: %v", i+1, err)
		}
	}
}
