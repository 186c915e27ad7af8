package datasets

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the output of the tests")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update to accept it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func fptr(f float64) *float64 { return &f }

// exportExamples are examples with what makes formats hard: a system message
// and a few-shot exchange, a developer message, JSON and markup in the text,
// non-ASCII, quotes, commas and newlines, an unscored criterion.
func exportExamples() []*Example {
	sys := evals.Message{Role: "system", Content: "Answer with one JSON object: {\"intent\": ...}. Never <script>."}
	return []*Example{
		{
			Prompt: []evals.Message{sys, {Role: "user", Content: "I was charged twice, refund me"}},
			Chosen: `{"intent": "refund"}`, Rejected: `{"intent": "cancel"}`,
			CaseID: "c1", Target: "v1", Status: evals.StatusFailed, Score: fptr(0.5), Response: `{"intent": "cancel"}`,
			Expected: map[string]any{"intent": "refund"},
			Scores: []evals.Score{
				{Name: "json", Score: 1, Pass: true},
				{Name: "intent", Score: 0, Reason: `got "cancel", expected "refund"`},
			},
			Vars: map[string]any{"message": "I was charged twice, refund me"}, Tags: []string{"domain=billing", "lang=en"},
			Metadata: map[string]any{"source": "email", "priority": 2.0},
		},
		{
			Prompt: []evals.Message{
				{Role: "developer", Content: "Réponds en français, s'il te plaît."},
				{Role: "user", Content: "Exemple : « annuler »"}, {Role: "assistant", Content: `{"intent": "cancel"}`},
				{Role: "user", Content: "Fermez mon compte,\nmerci & à bientôt"},
			},
			Chosen: `{"intent": "cancel"}`, Rejected: "Je ne sais pas.",
			CaseID: "c2", Target: "v1", Repeat: 1, Status: evals.StatusFailed, Score: fptr(0), Response: "=HYPERLINK(\"http://x\")",
			Expected: "cancel",
			Scores: []evals.Score{
				{Name: "json", Score: 0, Reason: "output is not JSON"},
				{Name: "intent", Unscored: true, Reason: "extract: output is not JSON"},
			},
			Vars: map[string]any{"message": "Fermez mon compte,\nmerci & à bientôt"},
		},
	}
}

func TestExportGolden(t *testing.T) {
	for _, format := range ExportFormats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			w, err := NewExportWriter(&b, format, []string{"json", "intent"})
			if err != nil {
				t.Fatal(err)
			}
			for _, ex := range exportExamples() {
				if err := w.Write(ex); err != nil {
					t.Fatalf("%s: %v", ex.CaseID, err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if w.Lines() != 2 {
				t.Errorf("Lines() = %d, want 2", w.Lines())
			}
			ext := ".jsonl"
			if format == ExportReviewCSV {
				ext = ".csv"
			}
			golden(t, filepath.Join("export", format+ext), b.Bytes())
			// Every line is valid on its own, as the format's checker reads it.
			lines := strings.SplitAfter(b.String(), "\n")
			if format == ExportReviewCSV {
				return // records span lines; the writer checked each one
			}
			for _, l := range lines[:len(lines)-1] {
				if err := CheckLine(format, []byte(l), nil); err != nil {
					t.Errorf("line %q: %v", l, err)
				}
			}
		})
	}
}

// TestExportInvalidExamples gives each format examples it cannot hold: the
// writer must refuse them with a reason and write nothing.
func TestExportInvalidExamples(t *testing.T) {
	user := evals.Message{Role: "user", Content: "q"}
	for _, tc := range []struct {
		name    string
		formats []string
		ex      Example
		reason  string
	}{
		{"no prompt", []string{ExportChat, ExportPreferenceTRL}, Example{Chosen: "a", Rejected: "b"}, "no prompt recorded"},
		{"empty user message", []string{ExportChat, ExportPreferenceOpenAI}, Example{Prompt: []evals.Message{{Role: "user", Content: " \n"}}, Chosen: "a", Rejected: "b"}, "prompt has an empty user message"},
		{"tool message answering nothing", []string{ExportChat}, Example{Prompt: []evals.Message{{Role: "tool", Content: "x"}, user}, Chosen: "a"}, "message 0 (tool) answers no unanswered call of the assistant message before it"},
		{"function message", []string{ExportChat}, Example{Prompt: []evals.Message{{Role: "function", Content: "x"}, user}, Chosen: "a"}, "prompt has a function message: expected system, user, assistant and tool messages only"},
		{"prompt ends with the assistant", []string{ExportChat, ExportPreferenceTRL}, Example{Prompt: []evals.Message{user, {Role: "assistant", Content: "pre"}}, Chosen: "a", Rejected: "b"}, "prompt does not end with a user message"},
		{"empty reference", []string{ExportChat}, Example{Prompt: []evals.Message{user}, Chosen: ""}, "empty reference answer"},
		{"empty rejected", []string{ExportPreferenceOpenAI}, Example{Prompt: []evals.Message{user}, Chosen: "a", Rejected: "\t"}, "empty rejected answer"},
		{"same answers", []string{ExportPreferenceOpenAI, ExportPreferenceTRL}, Example{Prompt: []evals.Message{user}, Chosen: "a", Rejected: "a"}, "chosen and rejected answers are the same"},
		{"review without a prompt", []string{ExportReviewJSONL}, Example{CaseID: "c", Target: "t"}, "review row without a prompt"},
	} {
		for _, format := range tc.formats {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				var b bytes.Buffer
				w, err := NewExportWriter(&b, format, nil)
				if err != nil {
					t.Fatal(err)
				}
				err = w.Write(&tc.ex)
				var inv *Invalid
				if !errors.As(err, &inv) || inv.Reason != tc.reason {
					t.Errorf("error %v, want *Invalid %q", err, tc.reason)
				}
				w.Flush()
				if b.Len() != 0 || w.Lines() != 0 {
					t.Errorf("wrote %q for an invalid example", b.String())
				}
			})
		}
	}
}

// TestCheckLine feeds the checker lines that break each rule, as a bug in a
// writer could produce them.
func TestCheckLine(t *testing.T) {
	for _, tc := range []struct {
		format, line, want string
	}{
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}` + "\n", ""},
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`, "not exactly one line"},
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]` + "\n", "not valid JSON of the chat layout: unexpected EOF"},
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"extra":1}` + "\n", `not valid JSON of the chat layout: json: unknown field "extra"`},
		{ExportChat, `{"messages":[{"role":"assistant","content":"a"}]}` + "\n", "chat example has 1 messages, expected a prompt and an answer"},
		{ExportChat, `{"messages":[{"role":"function","content":"q"},{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}` + "\n", `message 0 has role "function": expected system, user, assistant or tool`},
		{ExportChat, `{"messages":[{"role":"tool","content":"q"},{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}` + "\n", `message 0 (tool) answers no unanswered call of the assistant message before it`},
		{ExportChat, `{"messages":[{"role":"system","content":""},{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}` + "\n", "message 0 (system) is empty"},
		{ExportChat, `{"messages":[{"role":"user","content":"q","weight":0},{"role":"assistant","content":"a"}]}` + "\n", "message 0 has weight 0: only assistant messages take a weight, 0 or 1"},
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"user","content":"a"}]}` + "\n", "the assistant turn is not one assistant message"},
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"  "}]}` + "\n", "the assistant turn is empty"},
		{ExportPreferenceOpenAI, `{"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[{"role":"assistant","content":"a"}],"non_preferred_output":[{"role":"assistant","content":"b"}]}` + "\n", ""},
		{ExportPreferenceOpenAI, `{"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[{"role":"assistant","content":"a"}]}` + "\n", "the rejected answer is not one assistant message"},
		{ExportPreferenceOpenAI, `{"input":{"messages":[{"role":"system","content":"q"}]},"preferred_output":[{"role":"assistant","content":"a"}],"non_preferred_output":[{"role":"assistant","content":"b"}]}` + "\n", "the prompt ends with a system message, expected user"},
		{ExportPreferenceTRL, `{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"a"}]}` + "\n", "chosen and rejected answers are the same"},
		{ExportPreferenceTRL, `{"prompt":"q","chosen":"a","rejected":"b"}` + "\n", "not valid JSON of the TRL preference layout: json: cannot unmarshal string"},
		{ExportReviewJSONL, `{"case_id":"","target":"t","prompt":[]}` + "\n", "review row without case_id or target"},
	} {
		t.Run(tc.format+" "+tc.want, func(t *testing.T) {
			err := CheckLine(tc.format, []byte(tc.line), nil)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("a valid line was refused: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	hdr := []string{"a", "b"}
	for line, want := range map[string]string{
		"x,y\n":        "",
		"\"x\ny\",z\n": "",
		"x\n":          "CSV record has 1 fields, expected 2",
		"x,y\nz,w\n":   "more than one CSV record",
		"\"x,y\n":      "not a CSV record",
		"x,\xff\n":     "CSV field is not valid UTF-8",
	} {
		err := CheckLine(ExportReviewCSV, []byte(line), hdr)
		if (want == "" && err != nil) || (want != "" && (err == nil || !strings.HasPrefix(err.Error(), want))) {
			t.Errorf("CSV %q: error %v, want %q", line, err, want)
		}
	}
}

func TestReference(t *testing.T) {
	withRef := func(src string) *evals.Suite {
		return &evals.Suite{ReferenceTemplate: evals.MustParseTemplate(src)}
	}
	for _, tc := range []struct {
		name     string
		suite    *evals.Suite
		expected any
		want     string
		reason   string
	}{
		{"expected text", nil, "refund", "refund", ""},
		{"no expected", nil, nil, "", "no reference answer: the case has no expected value"},
		{"expected object", nil, map[string]any{"a": 1.0}, "", `no reference answer: expected is an object, not text (set the suite's "reference")`},
		{"expected number", &evals.Suite{}, 3.0, "", `no reference answer: expected is a number, not text (set the suite's "reference")`},
		{"template field", withRef("{{ expected.answer }}"), map[string]any{"answer": "Paris"}, "Paris", ""},
		{"template object as JSON", withRef("{{ expected }}"), map[string]any{"intent": "refund", "n": 2.0}, `{"intent":"refund","n":2}`, ""},
		{"template with a missing field", withRef("{{ expected.answer }}"), map[string]any{"a": 1.0}, "", "no reference answer: the suite's reference uses {{ expected.answer }}, which the case does not define"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Reference(tc.suite, &evals.Case{ID: "c", Expected: tc.expected})
			if tc.reason != "" {
				var inv *Invalid
				if !errors.As(err, &inv) || inv.Reason != tc.reason {
					t.Errorf("error %v, want *Invalid %q", err, tc.reason)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// conversationExamples are conversations as export builds them from
// transcripts: a tool call answered, then the answer (the rejected one
// calling the tool again, as a model stuck until max_steps does); a
// scripted second turn, without tools; two calls at once, one answered with
// a tool error.
func conversationExamples() []*Example {
	sys := evals.Message{Role: "system", Content: "You are ACME's support assistant. Use the tools."}
	lookup := evals.Tool{Type: "function", Function: evals.ToolFunction{Name: "lookup_order", Description: "Find an order by id",
		Parameters: []byte(`{"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string"}}}`)},
		Mock: &evals.ToolMock{Result: []byte(`{"status": "shipped"}`)}} // never exported
	call := func(id, args string) evals.ToolCall { return evals.NewToolCall(id, "lookup_order", args) }
	return []*Example{
		{
			Prompt: []evals.Message{sys, {Role: "user", Content: "Where is my order A1?"},
				{Role: "assistant", ToolCalls: []evals.ToolCall{call("call_1", `{"order_id": "A1"}`)}},
				{Role: "tool", ToolCallID: "call_1", Name: "lookup_order", Content: `{"status":"shipped","eta":"2026-12-09"}`}},
			Tools:  []evals.Tool{lookup},
			Chosen: "Your order A1 has shipped; it arrives on 9 December.", RejectedCalls: []evals.ToolCall{call("call_2", `{"order_id": "A1"}`)},
			CaseID: "where-is-a1", Target: "support-v2", Status: evals.StatusFailed, Score: fptr(0), Response: `→ lookup_order({"order_id": "A1"})`,
			Expected: "Your order A1 has shipped; it arrives on 9 December.",
			Scores:   []evals.Score{{Name: "mentions-status", Reason: `got "", expected it to contain "shipped"`}},
			Vars:     map[string]any{"question": "Where is my order A1?"},
		},
		{
			Prompt: []evals.Message{sys, {Role: "user", Content: "Where is my order B2?"}, {Role: "assistant", Content: "It has shipped."},
				{Role: "user", Content: "And when will it arrive?"}},
			Chosen: "On 9 December.", Rejected: "I cannot tell.",
			CaseID: "eta", Target: "support-v2", Status: evals.StatusFailed, Score: fptr(0), Response: "I cannot tell.", Expected: "On 9 December.",
			Scores: []evals.Score{{Name: "mentions-status", Score: 1, Pass: true}},
		},
		{
			Prompt: []evals.Message{sys, {Role: "user", Content: "Where are A1 and B9?"},
				{Role: "assistant", Content: "Let me look.", ToolCalls: []evals.ToolCall{call("call_a", `{"order_id":"A1"}`), call("call_b", `{"order_id":"B9"}`)}},
				{Role: "tool", ToolCallID: "call_a", Name: "lookup_order", Content: `{"status":"shipped"}`},
				{Role: "tool", ToolCallID: "call_b", Name: "lookup_order", Content: "error: no such order", Error: "no such order"}},
			Tools:  []evals.Tool{lookup},
			Chosen: "A1 has shipped; I find no order B9.", Rejected: "Both have shipped.",
			CaseID: "two-orders", Target: "support-v2", Status: evals.StatusFailed, Score: fptr(0.5), Response: "Both have shipped.",
			Scores: []evals.Score{{Name: "mentions-status", Score: 1, Pass: true}},
		},
	}
}

// TestExportConversationGolden: a conversation exports in each format with
// its tool calls (OpenAI: arguments as a string of JSON; TRL: as an
// object), its tool messages answering them by id, and the tools without
// their mocks; each line passes the format's checker; review sheets show
// the calls and tool results in the prompt.
func TestExportConversationGolden(t *testing.T) {
	for _, format := range ExportFormats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			w, err := NewExportWriter(&b, format, []string{"mentions-status"})
			if err != nil {
				t.Fatal(err)
			}
			for _, ex := range conversationExamples() {
				if err := w.Write(ex); err != nil {
					t.Fatalf("%s: %v", ex.CaseID, err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			ext := ".jsonl"
			if format == ExportReviewCSV {
				ext = ".csv"
			}
			golden(t, filepath.Join("export", "conversation", format+ext), b.Bytes())
			if strings.Contains(b.String(), "mock") {
				t.Errorf("a mock was exported:\n%s", b.String())
			}
			if format == ExportReviewCSV {
				return
			}
			for _, l := range strings.SplitAfter(b.String(), "\n") {
				if l == "" {
					continue
				}
				if err := CheckLine(format, []byte(l), nil); err != nil {
					t.Errorf("line %q: %v", l, err)
				}
			}
		})
	}
}

// TestExportConversationInvalid: what a training format cannot hold in a
// conversation is refused with a reason, and nothing is written.
func TestExportConversationInvalid(t *testing.T) {
	user := evals.Message{Role: "user", Content: "q"}
	calls := func(args ...string) evals.Message {
		m := evals.Message{Role: "assistant"}
		for i, a := range args {
			m.ToolCalls = append(m.ToolCalls, evals.NewToolCall(fmt.Sprintf("c%d", i), "f", a))
		}
		return m
	}
	result := func(id string) evals.Message {
		return evals.Message{Role: "tool", ToolCallID: id, Name: "f", Content: "ok"}
	}
	for _, tc := range []struct {
		name   string
		ex     Example
		reason string
	}{
		{"malformed arguments", Example{Prompt: []evals.Message{user, calls(`{"a": `), result("c0")}, Chosen: "a", Rejected: "b"},
			"a tool call's arguments are not a JSON object"},
		{"arguments not an object", Example{Prompt: []evals.Message{user, calls(`[1]`), result("c0")}, Chosen: "a", Rejected: "b"},
			"a tool call's arguments are not a JSON object"},
		{"a call unanswered", Example{Prompt: []evals.Message{user, calls(`{}`, `{}`), result("c1")}, Chosen: "a", Rejected: "b"},
			"the prompt ends before every tool call of its last assistant message is answered"},
		{"the conversation goes on before the answer", Example{Prompt: []evals.Message{user, calls(`{}`), user}, Chosen: "a", Rejected: "b"},
			"message 2 (user) comes before every tool call of the assistant message before it is answered"},
		{"an answer to another call", Example{Prompt: []evals.Message{user, calls(`{}`), result("c9")}, Chosen: "a", Rejected: "b"},
			"message 2 (tool) answers no unanswered call of the assistant message before it"},
		{"a call answered twice", Example{Prompt: []evals.Message{user, calls(`{}`), result("c0"), result("c0")}, Chosen: "a", Rejected: "b"},
			"message 3 (tool) answers no unanswered call of the assistant message before it"},
		{"ids used twice", Example{Prompt: []evals.Message{user, calls(`{}`), result("c0"), user, calls(`{}`), result("c0")}, Chosen: "a", Rejected: "b"},
			"message 4: a tool call id is used twice in the example"},
		{"a call without an id", Example{Prompt: []evals.Message{user, {Role: "assistant", ToolCalls: []evals.ToolCall{evals.NewToolCall("", "f", `{}`)}}, result("")}, Chosen: "a", Rejected: "b"},
			"message 1: a tool call has no id"},
		{"the prompt ends with a call", Example{Prompt: []evals.Message{user, calls(`{}`)}, Chosen: "a", Rejected: "b"},
			"prompt does not end with a user or tool message"},
		{"an empty tool result", Example{Prompt: []evals.Message{user, calls(`{}`), {Role: "tool", ToolCallID: "c0"}}, Chosen: "a", Rejected: "b"},
			"prompt has an empty tool message"},
		{"a bad tool name", Example{Prompt: []evals.Message{user}, Tools: []evals.Tool{{Type: "function", Function: evals.ToolFunction{Name: "look up"}}}, Chosen: "a", Rejected: "b"},
			`tool 0 has name "look up": expected 1 to 64 letters, digits, _ or -`},
		{"the same call chosen and rejected", Example{Prompt: []evals.Message{user}, ChosenCalls: calls(`{"x": 1}`).ToolCalls, RejectedCalls: calls(`{"x": 1}`).ToolCalls},
			"chosen and rejected answers are the same"},
	} {
		for _, format := range []string{ExportChat, ExportPreferenceOpenAI, ExportPreferenceTRL} {
			if format == ExportChat && strings.Contains(tc.name, "chosen and rejected") {
				continue
			}
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				var b bytes.Buffer
				w, err := NewExportWriter(&b, format, nil)
				if err != nil {
					t.Fatal(err)
				}
				err = w.Write(&tc.ex)
				var inv *Invalid
				if !errors.As(err, &inv) || inv.Reason != tc.reason {
					t.Errorf("error %v, want *Invalid %q", err, tc.reason)
				}
				w.Flush()
				if b.Len() != 0 {
					t.Errorf("wrote %q for an invalid example", b.String())
				}
			})
		}
	}
}

// TestCheckLineToolCalls feeds the checker conversation lines that break
// the rules of tool calls, as a bug in a writer could produce them.
func TestCheckLineToolCalls(t *testing.T) {
	const (
		u    = `{"role":"user","content":"q"}`
		a    = `{"role":"assistant","content":"a"}`
		call = `{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]}`
		res  = `{"role":"tool","tool_call_id":"c1","content":"ok"}`
		tool = `{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}`
	)
	chat := func(msgs ...string) string {
		return `{"messages":[` + strings.Join(msgs, ",") + `],"tools":[` + tool + `]}` + "\n"
	}
	for _, tc := range []struct {
		format, line, want string
	}{
		{ExportChat, chat(u, call, res, a), ""},
		{ExportChat, chat(u, call), ""}, // an answer may call tools
		{ExportChat, chat(u, call, res), "the prompt ends with an assistant message, expected user or tool"},
		{ExportChat, chat(u, call, res, res), "the assistant turn is not one assistant message"},
		{ExportChat, chat(u, call, res, res, a), "message 3 (tool) answers no unanswered call"},
		{ExportChat, chat(u, call, u, a), "message 2 (user) comes before every tool call"},
		{ExportChat, chat(u, strings.Replace(call, `"c1"`, `""`, 1), res, a), "message 1: a tool call has no id"},
		{ExportChat, chat(u, strings.Replace(call, `"function","function"`, `"code","function"`, 1), res, a), `message 1: a tool call has type "code", expected function`},
		{ExportChat, chat(u, strings.Replace(call, `"{\"x\":1}"`, `{"x":1}`, 1), res, a), "message 1: a tool call's arguments are not a string"},
		{ExportChat, chat(u, strings.Replace(call, `"{\"x\":1}"`, `"x=1"`, 1), res, a), "message 1: a tool call's arguments are not a JSON object"},
		{ExportChat, chat(u, call, res, u, call, res, a), "message 4: a tool call id is used twice in the example"},
		{ExportChat, chat(u, call, res, strings.Replace(call, `"c1"`, `"c2"`, 1)), ""},
		{ExportChat, chat(u, call, strings.Replace(res, `"tool_call_id":"c1",`, `"tool_call_id":"c1","weight":0,`, 1), a), "message 2 has weight 0"},
		{ExportChat, chat(`{"role":"user","content":"q","tool_call_id":"c1"}`, a), "message 0 (user) has a tool_call_id or a name"},
		{ExportChat, chat(u, call, res, a)[:len(chat(u, call, res, a))-len(`,"tools":[`+tool+`]}`+"\n")] + `,"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}` + "\n",
			`tool "f" has parameters that are not a JSON Schema object`},
		{ExportChat, `{"messages":[` + u + `,` + a + `],"tools":[` + tool + `,` + tool + `]}` + "\n", `tool "f" is listed twice`},
		{ExportChat, `{"messages":[` + u + `,` + a + `],"tools":[{"type":"function","function":{"name":"f"},"mock":{"result":1}}]}` + "\n", `not valid JSON of the chat layout: json: unknown field "mock"`},
		{ExportPreferenceOpenAI, `{"input":{"messages":[` + u + `,` + call + `,` + res + `],"tools":[` + tool + `]},"preferred_output":[` + a + `],"non_preferred_output":[` + strings.Replace(call, `"c1"`, `"c2"`, 1) + `]}` + "\n", ""},
		{ExportPreferenceOpenAI, `{"input":{"messages":[` + u + `]},"preferred_output":[` + call + `],"non_preferred_output":[` + call + `]}` + "\n", "chosen and rejected answers are the same"},
		{ExportPreferenceTRL, `{"prompt":[` + u + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{"x":1}}}]},{"role":"tool","tool_call_id":"c1","name":"f","content":"ok"}],"chosen":[` + a + `],"rejected":[{"role":"assistant","content":"b"}],"tools":[` + tool + `]}` + "\n", ""},
		{ExportPreferenceTRL, `{"prompt":[` + u + `,` + call + `,` + res + `],"chosen":[` + a + `],"rejected":[{"role":"assistant","content":"b"}]}` + "\n", "message 1: a tool call's arguments are not a JSON object"},
	} {
		t.Run(tc.format+" "+tc.want, func(t *testing.T) {
			err := CheckLine(tc.format, []byte(tc.line), nil)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("a valid line was refused: %v\n%s", err, tc.line)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("error %v, want %q\n%s", err, tc.want, tc.line)
			}
		})
	}
}
