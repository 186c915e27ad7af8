package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/store"
)

// The test server answers as Anthropic's Messages API documents
// (platform.claude.com/docs: the Messages API reference, "Errors", and
// "Streaming messages"): a Message object, or an error body
// {"type":"error","error":{"type","message"},"request_id"}, or a stream of
// server-sent events.

// anthropicBody is a Message whose one text block is text.
func anthropicBody(text string) string {
	t, _ := json.Marshal(text)
	return `{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-test",` +
		`"content":[{"type":"text","text":` + string(t) + `}],"stop_reason":"end_turn","stop_sequence":null,` +
		`"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}`
}

// anthropicErrorBody is an error body of the API.
func anthropicErrorBody(typ, message string) string {
	m, _ := json.Marshal(message)
	return `{"type":"error","error":{"type":"` + typ + `","message":` + string(m) + `},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`
}

// anthropicTarget is an anthropic target as a test writes it.
type anthropicTarget struct {
	evals.TargetSpec
	AnthropicConfig
}

func (a anthropicTarget) spec() evals.TargetSpec { return withConfig(a.TargetSpec, a.AnthropicConfig) }

// anthropicSpec returns a minimal valid target for a server.
func anthropicSpec(srv *httptest.Server) anthropicTarget {
	return anthropicTarget{
		evals.TargetSpec{Name: "t", Provider: "anthropic", Model: "claude-test", Params: &evals.Params{MaxTokens: ptr(64)}},
		AnthropicConfig{BaseURL: srv.URL},
	}
}

func newAnthropic(t testing.TB, a anthropicTarget) *Anthropic {
	t.Helper()
	p, err := NewAnthropic(a.AnthropicConfig, a.TargetSpec, Env{})
	if err != nil {
		t.Fatalf("NewAnthropic: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// msg is a message.
func msg(role, content string) evals.Message { return evals.Message{Role: role, Content: content} }

// sse is one event of a stream as the API writes it.
func sse(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }

// documentedStream is the stream of the documentation's examples: a
// message_start with the input usage, a thinking block, a ping, a text block
// split over deltas, the message_delta with the stop reason and the output
// usage, and message_stop.
func documentedStream(text ...string) []string {
	events := []string{
		sse("message_start", `{"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-test","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":50,"output_tokens":1}}}`),
		sse("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`),
		sse("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The ticket is about a charge."}}`),
		sse("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}`),
		sse("content_block_stop", `{"type":"content_block_stop","index":0}`),
		sse("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`),
		sse("ping", `{"type": "ping"}`),
	}
	for _, s := range text {
		d, _ := json.Marshal(s)
		events = append(events, sse("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":`+string(d)+`}}`))
	}
	return append(events,
		sse("content_block_stop", `{"type":"content_block_stop","index":1}`),
		sse("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}`),
		sse("message_stop", `{"type":"message_stop"}`),
	)
}

// streamOf answers with the chunks as a stream, flushing after each.
func streamOf(chunks ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		for _, c := range chunks {
			io.WriteString(w, c)
			w.(http.Flusher).Flush()
		}
	}
}

// TestAnthropicRequest checks the request on the wire: POST
// {base_url}/v1/messages with the documented headers, and the body Sent and
// RequestBody record, byte for byte.
func TestAnthropicRequest(t *testing.T) {
	const key = "sk-ant-request-0123456789"
	t.Setenv("RUBRIC_ANTHROPIC_KEY", key)
	var got []byte
	var r0 *http.Request
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		r0 = r
		answer(200, anthropicBody("billing"))(w, r)
	})
	tests := []struct {
		name    string
		cfg     func(*anthropicTarget)
		version string
		accept  string
	}{
		{"defaults", func(*anthropicTarget) {}, "2023-06-01", "application/json"},
		{"version and beta header", func(a *anthropicTarget) {
			a.AnthropicVersion = "2023-01-01"
			a.Headers = map[string]string{"anthropic-beta": "output-128k-2025-02-19"}
		}, "2023-01-01", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := anthropicSpec(srv)
			spec.APIKeyEnv = "RUBRIC_ANTHROPIC_KEY"
			tt.cfg(&spec)
			p := newAnthropic(t, spec)
			resp, err := p.Complete(t.Context(), testRequest)
			if err != nil {
				t.Fatal(err)
			}
			if r0.Method != http.MethodPost || r0.URL.Path != "/v1/messages" {
				t.Errorf("request %s %s, want POST /v1/messages", r0.Method, r0.URL.Path)
			}
			for name, want := range map[string]string{
				"X-Api-Key": key, "Anthropic-Version": tt.version, "Content-Type": "application/json",
				"Accept": tt.accept, "Authorization": "", "Anthropic-Beta": spec.Headers["anthropic-beta"],
			} {
				if v := r0.Header.Get(name); v != want {
					t.Errorf("header %s: %q, want %q", name, v, want)
				}
			}
			want := `{"model":"claude-test","max_tokens":64,"system":"Classify the ticket.","messages":[{"role":"user","content":"Say \"hi\" <b>\n"}]}`
			if string(got) != want {
				t.Errorf("body sent\n got %s\nwant %s", got, want)
			}
			if resp.Sent == nil || string(resp.Sent.Body) != want || resp.Sent.URL != srv.URL+"/v1/messages" {
				t.Errorf("Sent = %+v, want the body sent to %s/v1/messages", resp.Sent, srv.URL)
			}
			if b, err := p.RequestBody(testRequest); err != nil || string(b) != want {
				t.Errorf("RequestBody = %s, %v; want the body sent", b, err)
			}
		})
	}
}

// TestAnthropicMessages checks how the suite's messages map to the
// Messages API: system (and developer) messages to the top-level system
// field; consecutive messages of one role to one turn of text blocks, as
// the API combines them; no user message, or a role it lacks, is an error.
func TestAnthropicMessages(t *testing.T) {
	p := newAnthropic(t, anthropicSpec(serve(t, answer(200, anthropicBody("x")))))
	const head = `{"model":"claude-test","max_tokens":64`
	tests := []struct {
		name string
		msgs []evals.Message
		want string // the body after head, or the error
		err  bool
	}{
		{"one user message", []evals.Message{msg("user", "hi")},
			`,"messages":[{"role":"user","content":"hi"}]}`, false},
		{"system and user", []evals.Message{msg("system", "Be brief."), msg("user", "hi")},
			`,"system":"Be brief.","messages":[{"role":"user","content":"hi"}]}`, false},
		{"developer is a system message", []evals.Message{msg("developer", "Be brief."), msg("user", "hi")},
			`,"system":"Be brief.","messages":[{"role":"user","content":"hi"}]}`, false},
		{"several system messages, wherever they are, in order", []evals.Message{msg("system", "A"), msg("user", "hi"), msg("developer", "B")},
			`,"system":[{"type":"text","text":"A"},{"type":"text","text":"B"}],"messages":[{"role":"user","content":"hi"}]}`, false},
		{"a conversation", []evals.Message{msg("system", "S"), msg("user", "u1"), msg("assistant", "a1"), msg("user", "u2")},
			`,"system":"S","messages":[{"role":"user","content":"u1"},{"role":"assistant","content":"a1"},{"role":"user","content":"u2"}]}`, false},
		{"consecutive user messages make one turn", []evals.Message{msg("user", "u1"), msg("user", "u2"), msg("assistant", "a")},
			`,"messages":[{"role":"user","content":[{"type":"text","text":"u1"},{"type":"text","text":"u2"}]},{"role":"assistant","content":"a"}]}`, false},
		{"a system message between two user messages", []evals.Message{msg("user", "u1"), msg("system", "S"), msg("user", "u2")},
			`,"system":"S","messages":[{"role":"user","content":[{"type":"text","text":"u1"},{"type":"text","text":"u2"}]}]}`, false},
		{"an assistant prefill", []evals.Message{msg("user", "Answer in JSON."), msg("assistant", "{"), msg("assistant", `"label":`)},
			`,"messages":[{"role":"user","content":"Answer in JSON."},{"role":"assistant","content":[{"type":"text","text":"{"},{"type":"text","text":"\"label\":"}]}]}`, false},
		{"escapes", []evals.Message{msg("user", "tab\t<b>&\u2028\x01é")},
			`,"messages":[{"role":"user","content":"tab\t<b>&\u2028\u0001é"}]}`, false},
		{"only system messages", []evals.Message{msg("system", "S")},
			"render: the Messages API needs a user or assistant message, and the request has only system messages", true},
		{"no messages", nil,
			"render: the Messages API needs a user or assistant message, and the request has only system messages", true},
		{"an unknown role", []evals.Message{msg("user", "u"), msg("function", "t")},
			`render: message 2 has role "function": the Messages API takes system, user, assistant and tool messages`, true},
		{"a tool message without its call's id", []evals.Message{msg("user", "u"), msg("tool", "t")},
			`render: message 2 is a tool message without tool_call_id: the Messages API needs the id of the tool_use it answers`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &evals.Request{Target: "t", CaseID: "c", Messages: tt.msgs}
			b, err := p.RequestBody(req)
			if tt.err {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("RequestBody = %s, %v; want error %q", b, err, tt.want)
				}
				_, cerr := p.Complete(t.Context(), req)
				if pe := providerError(t, cerr); pe.Kind != evals.ErrKindRender {
					t.Errorf("Complete: %v, want a render error", cerr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := head + tt.want; string(b) != want {
				t.Errorf("body\n got %s\nwant %s", b, want)
			}
			if !json.Valid(b) {
				t.Errorf("body is not valid JSON")
			}
		})
	}
}

// lookupTools are a suite's tools as evals holds them: OpenAI's form, with
// a mock and strict, which are not sent.
var lookupTools = []evals.Tool{
	{Type: "function", Function: evals.ToolFunction{Name: "lookup_order", Description: "Find an order by id",
		Parameters: json.RawMessage(`{"type": "object", "required": ["order_id"],
			"properties": {"order_id": {"type": "string"}}}`), Strict: ptr(true)},
		Mock: &evals.ToolMock{Result: json.RawMessage(`{"status":"shipped"}`)}},
	{Type: "function", Function: evals.ToolFunction{Name: "now"}},
}

// lookupToolsJSON is lookupTools as the Messages API takes them.
const lookupToolsJSON = `"tools":[{"name":"lookup_order","description":"Find an order by id","input_schema":{"type":"object","required":["order_id"],"properties":{"order_id":{"type":"string"}}}},` +
	`{"name":"now","input_schema":{"type":"object"}}]`

// TestAnthropicTools checks how a request's tools and tool_choice map to the
// Messages API: tools with input_schema (and neither strict nor the mock),
// after the messages; OpenAI's tool_choice in Anthropic's form; nothing for a
// request without tools; and what cannot be sent is a render error.
func TestAnthropicTools(t *testing.T) {
	srv := serve(t, answer(200, anthropicBody("x")))
	const head = `{"model":"claude-test","max_tokens":64,"messages":[{"role":"user","content":"hi"}]`
	named := json.RawMessage(`{"type": "function", "function": {"name": "lookup_order"}}`)
	tests := []struct {
		name   string
		tools  []evals.Tool
		choice json.RawMessage
		extra  map[string]any
		want   string // the body after head, or the error
		err    bool
	}{
		{"no tools", nil, nil, nil, `}`, false},
		{"tools, no tool_choice", lookupTools, nil, nil, `,` + lookupToolsJSON + `}`, false},
		{"auto", lookupTools, json.RawMessage(`"auto"`), nil, `,` + lookupToolsJSON + `,"tool_choice":{"type":"auto"}}`, false},
		{"required is any", lookupTools, json.RawMessage(`"required"`), nil, `,` + lookupToolsJSON + `,"tool_choice":{"type":"any"}}`, false},
		{"none", lookupTools, json.RawMessage(`"none"`), nil, `,` + lookupToolsJSON + `,"tool_choice":{"type":"none"}}`, false},
		{"a named function is a tool", lookupTools, named, nil, `,` + lookupToolsJSON + `,"tool_choice":{"type":"tool","name":"lookup_order"}}`, false},
		{"before the params and extra_body", lookupTools[1:], nil, map[string]any{"top_k": 5},
			`,"tools":[{"name":"now","input_schema":{"type":"object"}}],"top_k":5}`, false},
		{"parameters without a type get one", []evals.Tool{
			{Type: "function", Function: evals.ToolFunction{Name: "a", Parameters: json.RawMessage(`{"properties": {"q": {"type": "string"}}}`)}},
			{Type: "function", Function: evals.ToolFunction{Name: "b", Parameters: json.RawMessage(`{ }`)}},
		}, nil, nil,
			`,"tools":[{"name":"a","input_schema":{"type":"object","properties":{"q":{"type":"string"}}}},{"name":"b","input_schema":{"type":"object"}}]}`, false},
		{"tool_choice without tools is not sent", nil, json.RawMessage(`"required"`), nil, `}`, false},
		{"a tool_choice of another shape", lookupTools, json.RawMessage(`{"type": "any"}`), nil,
			`render: tool_choice: expected "auto", "none", "required" or {"type": "function", "function": {"name": NAME}}, got {"type": "any"}`, true},
		{"parameters that are not an object", []evals.Tool{{Type: "function", Function: evals.ToolFunction{Name: "a", Parameters: json.RawMessage(`[]`)}}}, nil, nil,
			`render: tool "a": parameters: expected a JSON Schema object, got an array`, true},
		{"extra_body's tools as well", lookupTools, nil, map[string]any{"tools": []any{map[string]any{"type": "web_search_20250305", "name": "web_search"}}},
			`render: extra_body sets "tools", and so does the suite: give tools in one place`, true},
		{"extra_body's tool_choice as well", lookupTools, json.RawMessage(`"auto"`), map[string]any{"tool_choice": map[string]any{"type": "any"}},
			`render: extra_body sets "tool_choice", and so does the suite: give tool_choice in one place`, true},
		{"extra_body's tool_choice, the suite's none", lookupTools, nil, map[string]any{"tool_choice": map[string]any{"type": "any"}},
			`,` + lookupToolsJSON + `,"tool_choice":{"type":"any"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := anthropicSpec(srv)
			spec.ExtraBody = tt.extra
			p := newAnthropic(t, spec)
			req := &evals.Request{Target: "t", CaseID: "c", Messages: []evals.Message{msg("user", "hi")}, Tools: tt.tools, ToolChoice: tt.choice}
			b, err := p.RequestBody(req)
			if tt.err {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("RequestBody = %s, %v; want error %q", b, err, tt.want)
				}
				_, cerr := p.Complete(t.Context(), req)
				if pe := providerError(t, cerr); pe.Kind != evals.ErrKindRender {
					t.Errorf("Complete: %v, want a render error", cerr)
				}
				return
			}
			if want := head + tt.want; err != nil || string(b) != want {
				t.Errorf("body\n got %s (%v)\nwant %s", b, err, want)
			}
			if !json.Valid(b) {
				t.Errorf("body is not valid JSON")
			}
		})
	}
}

// TestAnthropicToolMessages checks how a conversation with tool calls maps
// to the Messages API: an assistant message's calls are tool_use blocks
// after its text (none when it has no text); tool messages are tool_result
// blocks in a user turn, is_error set for a tool error, the results of
// parallel calls in one turn, and a user message after them in the same
// turn, after the results; arguments that are not a JSON object go back as
// input {}. The body is sent as RequestBody gives it.
func TestAnthropicToolMessages(t *testing.T) {
	call := func(id, name, args string) evals.ToolCall { return evals.NewToolCall(id, name, args) }
	assistant := func(text string, tcs ...evals.ToolCall) evals.Message {
		return evals.Message{Role: "assistant", Content: text, ToolCalls: tcs}
	}
	result := func(id, name, content, err string) evals.Message {
		return evals.Message{Role: "tool", ToolCallID: id, Name: name, Content: content, Error: err}
	}
	const head = `{"model":"claude-test","max_tokens":64,"system":"S","messages":[{"role":"user","content":"Where is A1?"},`
	tests := []struct {
		name string
		msgs []evals.Message
		want string // the messages after the first
	}{
		{"a call and its result", []evals.Message{
			assistant("", call("toolu_1", "lookup_order", `{"order_id": "A1"}`)),
			result("toolu_1", "lookup_order", `{"status":"shipped"}`, ""),
			assistant("It has shipped."),
		}, `{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"lookup_order","input":{"order_id":"A1"}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"{\"status\":\"shipped\"}"}]},` +
			`{"role":"assistant","content":"It has shipped."}]`},
		{"text, two parallel calls, their results in one turn, one an error", []evals.Message{
			assistant("Let me look.", call("toolu_1", "lookup_order", `{"order_id":"A1"}`), call("toolu_2", "lookup_order", `{"order_id":"B2"}`)),
			result("toolu_1", "lookup_order", "shipped", ""),
			result("toolu_2", "lookup_order", "no such order", "the mock's error: no such order"),
		}, `{"role":"assistant","content":[{"type":"text","text":"Let me look."},` +
			`{"type":"tool_use","id":"toolu_1","name":"lookup_order","input":{"order_id":"A1"}},` +
			`{"type":"tool_use","id":"toolu_2","name":"lookup_order","input":{"order_id":"B2"}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"shipped"},` +
			`{"type":"tool_result","tool_use_id":"toolu_2","content":"no such order","is_error":true}]}]`},
		{"a user turn after the results: text after them", []evals.Message{
			assistant(" \n", call("toolu_1", "now", "")),
			result("toolu_1", "now", "", ""),
			msg("user", "And B2?"),
		}, `{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"now","input":{}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1"},{"type":"text","text":"And B2?"}]}]`},
		{"malformed and non-object arguments go back as {}", []evals.Message{
			assistant("", call("toolu_1", "lookup_order", `{"order_id": "A1"`), call("toolu_2", "lookup_order", `["A1"]`)),
			result("toolu_1", "lookup_order", "arguments are not JSON", "arguments are not JSON"),
			result("toolu_2", "lookup_order", "arguments do not fit", "arguments do not fit"),
		}, `{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"lookup_order","input":{}},` +
			`{"type":"tool_use","id":"toolu_2","name":"lookup_order","input":{}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"arguments are not JSON","is_error":true},` +
			`{"type":"tool_result","tool_use_id":"toolu_2","content":"arguments do not fit","is_error":true}]}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			p := newAnthropic(t, anthropicSpec(serve(t, func(w http.ResponseWriter, r *http.Request) {
				got, _ = io.ReadAll(r.Body)
				answer(200, anthropicBody("x"))(w, r)
			})))
			req := &evals.Request{Target: "t", CaseID: "c", Step: 1, Tools: lookupTools,
				Messages: append([]evals.Message{msg("system", "S"), msg("user", "Where is A1?")}, tt.msgs...)}
			want := head + tt.want + `,` + lookupToolsJSON + `}`
			b, err := p.RequestBody(req)
			if err != nil || string(b) != want {
				t.Errorf("RequestBody\n got %s (%v)\nwant %s", b, err, want)
			}
			if !json.Valid(b) {
				t.Errorf("body is not valid JSON")
			}
			resp, err := p.Complete(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want || string(resp.Sent.Body) != want {
				t.Errorf("sent %s\nrecorded %s\nwant %s", got, resp.Sent.Body, want)
			}
		})
	}
}

// TestAnthropicParams checks how params map to the body: temperature and
// top_p as they are, stop as stop_sequences, stream, then extra_body's keys
// in sorted order; and a request's own params (a judge's) fill in what the
// target leaves unset, its seed dropped.
func TestAnthropicParams(t *testing.T) {
	srv := serve(t, answer(200, anthropicBody("x")))
	const msgs = `,"messages":[{"role":"user","content":"hi"}]`
	req := &evals.Request{Target: "t", CaseID: "c", Messages: []evals.Message{msg("user", "hi")}}
	judge := &evals.Request{Target: "t", CaseID: "c", Messages: req.Messages,
		Params: &evals.Params{Temperature: ptr(0.0), Seed: ptr(int64(42))}}
	tests := []struct {
		name   string
		params *evals.Params
		stream bool
		extra  map[string]any
		req    *evals.Request
		want   string
	}{
		{"max_tokens only", &evals.Params{MaxTokens: ptr(300)}, false, nil, req,
			`{"model":"claude-test","max_tokens":300` + msgs + `}`},
		{"every param it takes", &evals.Params{MaxTokens: ptr(300), Temperature: ptr(0.0), TopP: ptr(0.9), Stop: json.RawMessage(`[ "\n\nHuman:", "END" ]`)}, false, nil, req,
			`{"model":"claude-test","max_tokens":300` + msgs + `,"temperature":0,"top_p":0.9,"stop_sequences":["\n\nHuman:","END"]}`},
		{"one stop string", &evals.Params{MaxTokens: ptr(300), Stop: json.RawMessage(`"END"`)}, false, nil, req,
			`{"model":"claude-test","max_tokens":300` + msgs + `,"stop_sequences":["END"]}`},
		{"stream and extra_body", &evals.Params{MaxTokens: ptr(300), Temperature: ptr(1.0)}, true,
			map[string]any{"top_k": 5, "thinking": map[string]any{"type": "enabled", "budget_tokens": 1024}, "metadata": map[string]any{"user_id": "ci"}}, req,
			`{"model":"claude-test","max_tokens":300` + msgs + `,"temperature":1,"stream":true,"metadata":{"user_id":"ci"},"thinking":{"budget_tokens":1024,"type":"enabled"},"top_k":5}`},
		{"a judge's temperature, its seed dropped", &evals.Params{MaxTokens: ptr(300)}, false, nil, judge,
			`{"model":"claude-test","max_tokens":300` + msgs + `,"temperature":0}`},
		{"the target's temperature wins", &evals.Params{MaxTokens: ptr(300), Temperature: ptr(0.7)}, false, nil, judge,
			`{"model":"claude-test","max_tokens":300` + msgs + `,"temperature":0.7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := anthropicSpec(srv)
			spec.Params, spec.Stream, spec.ExtraBody = tt.params, tt.stream, tt.extra
			b, err := newAnthropic(t, spec).RequestBody(tt.req)
			if err != nil || string(b) != tt.want {
				t.Errorf("body\n got %s (%v)\nwant %s", b, err, tt.want)
			}
		})
	}

	t.Run("a request's params the API lacks", func(t *testing.T) {
		p := newAnthropic(t, anthropicSpec(srv))
		bad := &evals.Request{Target: "t", CaseID: "c", Messages: req.Messages,
			Params: &evals.Params{ResponseFormat: json.RawMessage(`{"type":"json_object"}`), PresencePenalty: ptr(0.5)}}
		_, err := p.Complete(t.Context(), bad)
		pe := providerError(t, err)
		want := "the request's params: params.presence_penalty: not supported by provider \"anthropic\": the Messages API has no presence penalty; remove it\n" +
			"params.response_format: not supported by provider \"anthropic\": the Messages API has no response_format (ask for JSON in the prompt, and check it with a json-valid or json-schema criterion); remove it"
		if pe.Kind != evals.ErrKindRender || pe.Message != want {
			t.Errorf("got %s %q\nwant render %q", pe.Kind, pe.Message, want)
		}
	})
}

// TestAnthropicConstructionErrors checks the target's problems found when
// the suite loads, each naming its field.
func TestAnthropicConstructionErrors(t *testing.T) {
	t.Setenv("RUBRIC_ANTHROPIC_KEY", "sk-ant-x")
	tests := []struct {
		name   string
		target string
		want   string
	}{
		{"no params", `{"model": "m"}`,
			`params.max_tokens: required by provider "anthropic": the Messages API needs the most tokens an answer may have (for example 1024)`},
		{"params without max_tokens", `{"model": "m", "params": {"temperature": 0}}`,
			`params.max_tokens: required by provider "anthropic": the Messages API needs the most tokens an answer may have (for example 1024)`},
		{"no model", `{"params": {"max_tokens": 5}}`,
			`model: required by provider "anthropic" (for example claude-sonnet-4-5)`},
		{"temperature above 1", `{"model": "m", "params": {"max_tokens": 5, "temperature": 1.5}}`,
			`params.temperature: 1.5 is above 1, the highest temperature the Messages API takes`},
		{"params the API lacks", `{"model": "m", "params": {"max_tokens": 5, "seed": 7, "presence_penalty": 0.1, "frequency_penalty": 0.1, "response_format": {"type": "json_object"}}}`,
			"params.seed: not supported by provider \"anthropic\": the Messages API has no seed; remove it\n" +
				"params.presence_penalty: not supported by provider \"anthropic\": the Messages API has no presence penalty; remove it\n" +
				"params.frequency_penalty: not supported by provider \"anthropic\": the Messages API has no frequency penalty; remove it\n" +
				"params.response_format: not supported by provider \"anthropic\": the Messages API has no response_format (ask for JSON in the prompt, and check it with a json-valid or json-schema criterion); remove it"},
		{"stop of another type", `{"model": "m", "params": {"max_tokens": 5, "stop": [1]}}`,
			`params.stop: expected a string or an array of strings, got [1]`},
		{"base_url with /v1", `{"model": "m", "params": {"max_tokens": 5}, "base_url": "https://api.anthropic.com/v1"}`,
			`base_url: "https://api.anthropic.com/v1" ends in /v1: give the base URL without it (such as https://api.anthropic.com); the provider appends /v1/messages`},
		{"base_url with /v1/messages", `{"model": "m", "params": {"max_tokens": 5}, "base_url": "https://gw.example.com/anthropic/v1/messages/"}`,
			`base_url: "https://gw.example.com/anthropic/v1/messages/" ends in /v1/messages: give the base URL without it (such as https://api.anthropic.com); the provider appends /v1/messages`},
		{"base_url with a password", `{"model": "m", "params": {"max_tokens": 5}, "base_url": "https://bob:hunter2@gw.example.com"}`,
			`base_url: "https://xxxxx@gw.example.com" holds a user or password, which the Messages API does not take: give the key in api_key_env (sent as x-api-key) or in headers`},
		{"base_url not http", `{"model": "m", "params": {"max_tokens": 5}, "base_url": "ftp://gw.example.com"}`,
			`base_url: "ftp://gw.example.com" is not an http or https URL such as https://api.anthropic.com`},
		{"headers the provider sets", `{"model": "m", "params": {"max_tokens": 5}, "api_key_env": "RUBRIC_ANTHROPIC_KEY", "headers": {"x-api-key": "k", "Anthropic-Version": "2024-01-01"}}`,
			"headers.Anthropic-Version: set anthropic_version instead of the header Anthropic-Version\n" +
				"headers.x-api-key: header X-Api-Key conflicts with api_key_env, which sets it"},
		{"extra_body keys the provider sets", `{"model": "m", "params": {"max_tokens": 5}, "extra_body": {"system": "s", "stream": true, "stop_sequences": ["x"], "max_tokens": 9, "seed": 1}}`,
			"extra_body.max_tokens: \"max_tokens\" is set by the provider: set params.max_tokens instead\n" +
				"extra_body.seed: \"seed\" is a params field: set params.seed instead\n" +
				"extra_body.stop_sequences: \"stop_sequences\" is set by the provider: set params.stop instead\n" +
				"extra_body.stream: \"stream\" is set by the provider: set \"stream\" on the target instead\n" +
				"extra_body.system: \"system\" is set by the provider: it holds the suite's system messages"},
		{"key unset", `{"model": "m", "params": {"max_tokens": 5}, "api_key_env": "RUBRIC_ANTHROPIC_UNSET"}`,
			`api_key_env: environment variable RUBRIC_ANTHROPIC_UNSET is not set`},
		{"another provider's field", `{"model": "m", "params": {"max_tokens": 5}, "path": "r.jsonl"}`,
			`path: field does not apply to provider "anthropic" (it is a field of provider "replay")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := `{"name": "t", "provider": "anthropic", ` + strings.TrimPrefix(tt.target, "{")
			p, err := New(targetOf(t, obj))
			if p != nil || err == nil || err.Error() != tt.want {
				t.Errorf("New = %v, %v\nwant the error\n%s", p, err, tt.want)
			}
			var fe *evals.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %v is not a FieldError", err)
			}
		})
	}
}

// TestAnthropicResponse checks what is read of a Message: the text blocks
// joined (thinking and tool use are not the answer), the tool_use blocks as
// tool calls in order, stop_reason, and the usage, its cache tokens counted
// as prompt tokens.
func TestAnthropicResponse(t *testing.T) {
	call := func(id, name, args string) evals.ToolCall {
		return evals.ToolCall{ID: id, Name: name, Arguments: json.RawMessage(args)}
	}
	tests := []struct {
		name string
		body string
		want evals.Response
	}{
		{"one text block", anthropicBody("billing"),
			evals.Response{Text: "billing", Finish: "end_turn", Usage: evals.Usage{PromptTokens: 12, CompletionTokens: 1, TotalTokens: 13}}},
		{"thinking, text blocks and a tool call", `{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[` +
			`{"type":"thinking","thinking":"It is a charge.","signature":"EqQB"},{"type":"redacted_thinking","data":"EmwKAhgB"},` +
			`{"type":"text","text":"The answer is ","citations":null},{"type":"text","text":"billing."},` +
			`{"type":"tool_use","id":"toolu_1","name":"route","input":{"queue":"billing"}}],` +
			`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":2048,"cache_creation_input_tokens":248,"cache_read_input_tokens":1800,"output_tokens":503}}`,
			evals.Response{Text: "The answer is billing.", Finish: "tool_use", Usage: evals.Usage{PromptTokens: 4096, CompletionTokens: 503, TotalTokens: 4599},
				ToolCalls: []evals.ToolCall{call("toolu_1", "route", `{"queue":"billing"}`)}}},
		{"parallel tool calls, no text", `{"type":"message","role":"assistant","content":[` +
			`{"type":"tool_use","id":"toolu_01A","name":"lookup_order","input":{ "order_id" : "A1",` + "\n" + `"items": [1, 2] }},` +
			`{"type":"tool_use","id":"toolu_01B","name":"now","input":{}},{"type":"tool_use","id":"toolu_01C","name":"now"}],` +
			`"stop_reason":"tool_use","usage":{"input_tokens":30,"output_tokens":60}}`,
			evals.Response{Finish: "tool_use", Usage: evals.Usage{PromptTokens: 30, CompletionTokens: 60, TotalTokens: 90},
				ToolCalls: []evals.ToolCall{call("toolu_01A", "lookup_order", `{"order_id":"A1","items":[1,2]}`), call("toolu_01B", "now", `{}`), call("toolu_01C", "now", `{}`)}}},
		{"a stop sequence, usage without cache counts", `{"type":"message","content":[{"type":"text","text":"x"}],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":3,"output_tokens":2}}`,
			evals.Response{Text: "x", Finish: "stop_sequence", Usage: evals.Usage{PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5}}},
		{"empty content, no usage", `{"type":"message","content":[],"stop_reason":"max_tokens"}`,
			evals.Response{Finish: "max_tokens"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := newAnthropic(t, anthropicSpec(serve(t, answer(200, tt.body)))).Complete(t.Context(), testRequest)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != tt.want.Text || resp.Finish != tt.want.Finish || resp.Usage != tt.want.Usage || resp.Stream != nil {
				t.Errorf("got %q %q %+v (stream %v)\nwant %q %q %+v", resp.Text, resp.Finish, resp.Usage, resp.Stream, tt.want.Text, tt.want.Finish, tt.want.Usage)
			}
			if !reflect.DeepEqual(resp.ToolCalls, tt.want.ToolCalls) {
				t.Errorf("ToolCalls\n got %s\nwant %s", toolCallsJSON(resp.ToolCalls), toolCallsJSON(tt.want.ToolCalls))
			}
		})
	}
}

// TestAnthropicDecodeErrors checks 2xx bodies that are not a Message.
func TestAnthropicDecodeErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `Service unavailable`, "malformed response: invalid character 'S' looking for beginning of value; body: Service unavailable"},
		{"no content", `{"type":"message","stop_reason":"end_turn"}`, `response has no content; body: {"type":"message","stop_reason":"end_turn"}`},
		{"an error with status 200", anthropicErrorBody("overloaded_error", "Overloaded"),
			"a 2xx response holding an error: overloaded_error: Overloaded (request_id req_011CSHoEeqs5C35K2UUqR7Fy)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newAnthropic(t, anthropicSpec(serve(t, answer(200, tt.body)))).Complete(t.Context(), testRequest)
			pe := providerError(t, err)
			if pe.Kind != evals.ErrKindDecode || pe.Message != tt.want || pe.Sent == nil || pe.Retryable() {
				t.Errorf("got %s %q (Sent %v, retryable %v)\nwant decode %q", pe.Kind, pe.Message, pe.Sent != nil, pe.Retryable(), tt.want)
			}
		})
	}
}

// TestAnthropicStatusErrors checks each of the API's documented errors: the
// status, the message as "type: message (request_id …)", the wait a 429
// asks for, and which are retried.
func TestAnthropicStatusErrors(t *testing.T) {
	tests := []struct {
		status    int
		typ       string
		header    http.Header
		retryable bool
		wait      time.Duration
	}{
		{400, "invalid_request_error", nil, false, 0},
		{401, "authentication_error", nil, false, 0},
		{402, "billing_error", nil, false, 0},
		{403, "permission_error", nil, false, 0},
		{404, "not_found_error", nil, false, 0},
		{413, "request_too_large", nil, false, 0},
		{429, "rate_limit_error", http.Header{"Retry-After": {"7"}}, true, 7 * time.Second},
		{500, "api_error", nil, true, 0},
		{504, "timeout_error", nil, true, 0},
		{529, "overloaded_error", nil, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				answer(tt.status, anthropicErrorBody(tt.typ, "something about "+tt.typ))(w, r)
			})
			_, err := newAnthropic(t, anthropicSpec(srv)).Complete(t.Context(), testRequest)
			pe := providerError(t, err)
			want := tt.typ + ": something about " + tt.typ + " (request_id req_011CSHoEeqs5C35K2UUqR7Fy)"
			if pe.Kind != evals.ErrKindHTTP || pe.Status != tt.status || pe.Message != want || pe.Sent == nil {
				t.Errorf("got %s %d %q (Sent %v)\nwant http_status %d %q", pe.Kind, pe.Status, pe.Message, pe.Sent != nil, tt.status, want)
			}
			if pe.Retryable() != tt.retryable || pe.RetryAfter != tt.wait {
				t.Errorf("retryable %v after %v, want %v after %v", pe.Retryable(), pe.RetryAfter, tt.retryable, tt.wait)
			}
		})
	}
	t.Run("not the API's shape", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head></html>")
		})
		_, err := newAnthropic(t, anthropicSpec(srv)).Complete(t.Context(), testRequest)
		if pe := providerError(t, err); pe.Status != 502 || pe.Message != "502 Bad Gateway" {
			t.Errorf("got %d %q, want the page's title", pe.Status, pe.Message)
		}
	})
}

// TestAnthropicRetries checks the retries through Retry: an
// overloaded_error (529) is retried like a 503, a rate_limit_error after
// the retry-after it gives, and an invalid request is not.
func TestAnthropicRetries(t *testing.T) {
	type reply struct {
		status int
		header http.Header
		body   string
	}
	ok := reply{200, nil, anthropicBody("billing")}
	overloaded := reply{529, nil, anthropicErrorBody("overloaded_error", "Overloaded")}
	tests := []struct {
		name    string
		spec    *evals.RetrySpec
		replies []reply
		waits   []time.Duration
		err     string
	}{
		{"529 then an answer", nil, []reply{overloaded, ok}, []time.Duration{500*time.Millisecond - 1}, ""},
		{"429 with retry-after", nil, []reply{{429, http.Header{"Retry-After": {"3"}}, anthropicErrorBody("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit")}, ok},
			[]time.Duration{3*time.Second + 300*time.Millisecond - 1}, ""},
		{"529 until the attempts run out", &evals.RetrySpec{Attempts: 2}, []reply{overloaded, overloaded}, []time.Duration{500*time.Millisecond - 1},
			"http_status 529: gave up after 2 attempts: overloaded_error: Overloaded (request_id req_011CSHoEeqs5C35K2UUqR7Fy)"},
		{"400 not retried", nil, []reply{{400, nil, anthropicErrorBody("invalid_request_error", "max_tokens: Field required")}}, nil,
			"http_status 400: invalid_request_error: max_tokens: Field required (request_id req_011CSHoEeqs5C35K2UUqR7Fy)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if i >= len(tt.replies) {
					t.Errorf("request %d, want %d", i+1, len(tt.replies))
					i = len(tt.replies) - 1
				}
				for k, v := range tt.replies[i].header {
					w.Header()[k] = v
				}
				answer(tt.replies[i].status, tt.replies[i].body)(w, r)
			})
			w := &waits{}
			resp, err := Retry(newAnthropic(t, anthropicSpec(srv)), tt.spec, fastRetry(w)...).Complete(t.Context(), testRequest)
			exactly(tt.waits...)(t, w.list())
			if tt.err == "" {
				if err != nil || resp.Text != "billing" || resp.Attempts != len(tt.replies) {
					t.Fatalf("got %+v, %v; want billing after %d attempts", resp, err, len(tt.replies))
				}
				return
			}
			if pe := providerError(t, err); err.Error() != tt.err || pe.Attempts != len(tt.replies) {
				t.Errorf("got %q after %d attempts, want %q after %d", err, pe.Attempts, tt.err, len(tt.replies))
			}
		})
	}
}

// TestAnthropicSecretsRedacted checks that the key and header secrets a
// server echoes are redacted from messages, and never recorded.
func TestAnthropicSecretsRedacted(t *testing.T) {
	const key, token = "sk-ant-api03-secret-0123456789", "tok-gateway-secret-987"
	t.Setenv("RUBRIC_ANTHROPIC_KEY", key)
	t.Setenv("RUBRIC_GATEWAY_TOKEN", token)
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream ", stream), func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				echo := "bad key " + r.Header.Get("X-Api-Key") + " and token " + r.Header.Get("X-Gateway-Token")
				if stream {
					streamOf(sse("message_start", `{"type":"message_start","message":{"usage":{"input_tokens":1}}}`),
						sse("error", anthropicErrorBody("authentication_error", echo)))(w, r)
					return
				}
				answer(401, anthropicErrorBody("authentication_error", echo))(w, r)
			})
			spec := anthropicSpec(srv)
			spec.APIKeyEnv, spec.Stream = "RUBRIC_ANTHROPIC_KEY", stream
			spec.Headers = map[string]string{"X-Gateway-Token": "${RUBRIC_GATEWAY_TOKEN}"}
			spec.ExtraBody = map[string]any{"metadata": map[string]any{"api_key": "body-secret-555"}}
			_, err := newAnthropic(t, spec).Complete(t.Context(), testRequest)
			pe := providerError(t, err)
			want := "authentication_error: bad key [REDACTED] and token [REDACTED] (request_id req_011CSHoEeqs5C35K2UUqR7Fy)"
			if stream {
				want = "error event in the stream: " + want
			}
			if pe.Message != want || pe.Status != 401 {
				t.Errorf("message %d %q, want 401 %q", pe.Status, pe.Message, want)
			}
			all := err.Error() + string(pe.Sent.Body) + pe.Sent.URL
			for _, s := range []string{key, token, "body-secret-555"} {
				if strings.Contains(all, s) {
					t.Errorf("secret %q in %s", s, all)
				}
			}
			if !strings.Contains(string(pe.Sent.Body), `"metadata":{"api_key":"[REDACTED]"}`) {
				t.Errorf("Sent.Body %s: want the extra_body credential recorded as [REDACTED]", pe.Sent.Body)
			}
		})
	}
}

// TestAnthropicStream checks a stream as the documentation shows it, with a
// thinking block, pings, comments, and events split over reads and lines
// ended by CRLF: the answer is the text blocks, the usage comes from
// message_start and message_delta, and the timings are recorded.
func TestAnthropicStream(t *testing.T) {
	events := documentedStream("bill", "ing")
	whole := strings.Join(events, "")
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"an event per write", streamOf(events...)},
		{"a byte per write", streamOf(strings.Split(whole, "")...)},
		{"CRLF and comments", streamOf(": keep-alive\r\n\r\n", strings.ReplaceAll(whole, "\n", "\r\n"))},
		{"one write, the connection closed after it", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			streamOf(whole)(w, r)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var accept string
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				got, _ = io.ReadAll(r.Body)
				accept = r.Header.Get("Accept")
				tt.handler(w, r)
			})
			spec := anthropicSpec(srv)
			spec.Stream = true
			resp, err := newAnthropic(t, spec).Complete(t.Context(), testRequest)
			if err != nil {
				t.Fatal(err)
			}
			want := evals.Usage{PromptTokens: 175, CompletionTokens: 15, TotalTokens: 190}
			if resp.Text != "billing" || resp.Finish != "end_turn" || resp.Usage != want {
				t.Errorf("got %q %q %+v, want billing end_turn %+v", resp.Text, resp.Finish, resp.Usage, want)
			}
			if !strings.HasSuffix(string(got), `,"stream":true}`) || accept != "text/event-stream" {
				t.Errorf("request body %s, Accept %q: want stream true, text/event-stream", got, accept)
			}
			st := resp.Stream
			if st == nil || st.FirstTokenMS <= 0 || st.FirstContentMS < st.FirstTokenMS || st.TokensPerSecond <= 0 {
				t.Errorf("Stream = %+v, want timings with the first token before the first content", st)
			}
		})
	}
}

// TestAnthropicStreamBlocks checks a stream of several blocks: text, a
// tool call, and text again, whose deltas arrive out of order.
func TestAnthropicStreamBlocks(t *testing.T) {
	ev := documentedStream()
	spec := anthropicSpec(serve(t, streamOf(ev[0],
		sse("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Routing "}}`),
		sse("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"to "}}`),
		sse("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"route","input":{}}}`),
		sse("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"queue\":"}}`),
		sse("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"billing"}}`),
		sse("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}`),
		sse("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"."}}`),
		sse("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" now"}}`),
		sse("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`),
		sse("message_stop", `{"type":"message_stop"}`),
		sse("ping", `{"type":"ping"}`), // after message_stop: not read
	)))
	spec.Stream = true
	resp, err := newAnthropic(t, spec).Complete(t.Context(), testRequest)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "Routing to billing now." || resp.Finish != "tool_use" || resp.Usage.CompletionTokens != 9 {
		t.Errorf("got %q %q %+v, want the text blocks in order", resp.Text, resp.Finish, resp.Usage)
	}
	if want := []evals.ToolCall{evals.NewToolCall("toolu_1", "route", `{"queue":`)}; !reflect.DeepEqual(resp.ToolCalls, want) {
		t.Errorf("ToolCalls %s, want the call cut short, marked: %s", toolCallsJSON(resp.ToolCalls), toolCallsJSON(want))
	}
}

// toolCallsJSON shows tool calls in a test's message.
func toolCallsJSON(calls []evals.ToolCall) string {
	b, _ := json.Marshal(calls)
	return string(b)
}

// TestAnthropicStreamToolCalls checks the tool calls of a stream: each
// tool_use block's partial_json joined, by block index, however the deltas
// of two blocks interleave; a block without deltas has the input of its
// content_block_start; partial_json that does not join into JSON is kept
// and marked, not an error. The text, stop reason, usage and timings are
// read as without tools: a stream of tool calls alone has no first content.
func TestAnthropicStreamToolCalls(t *testing.T) {
	ev := documentedStream()
	start, stop := ev[0], ev[len(ev)-1]
	toolStart := func(i int, id, name string) string {
		return sse("content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":{"type":"tool_use","id":%q,"name":%q,"input":{}}}`, i, id, name))
	}
	partial := func(i int, s string) string {
		d, _ := json.Marshal(s)
		return sse("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"input_json_delta","partial_json":%s}}`, i, d))
	}
	blockStop := func(i int) string {
		return sse("content_block_stop", fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, i))
	}
	delta := sse("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":40}}`)
	usage := evals.Usage{PromptTokens: 175, CompletionTokens: 40, TotalTokens: 215}
	lookup := evals.ToolCall{ID: "toolu_01A", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id":"A1","items":[1,2]}`)}
	tests := []struct {
		name    string
		events  []string
		text    string
		calls   []evals.ToolCall
		content bool // whether the stream has a first content
	}{
		{"text, then two calls whose deltas interleave", []string{start,
			sse("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
			sse("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me look."}}`),
			blockStop(0),
			toolStart(1, "toolu_01A", "lookup_order"), partial(1, ""), partial(1, `{"order_`),
			toolStart(2, "toolu_01B", "lookup_order"), partial(2, `{"order_id": "B2"}`),
			partial(1, `id": "A1", "it`), partial(1, `ems": [1, 2]}`),
			blockStop(1), blockStop(2), delta, stop,
		}, "Let me look.", []evals.ToolCall{lookup, {ID: "toolu_01B", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id":"B2"}`)}}, true},
		{"tool calls alone: one without deltas, one malformed", []string{start,
			toolStart(0, "toolu_01A", "lookup_order"), partial(0, `{"order_id": "A1", `), partial(0, `"items": [1, 2]}`), blockStop(0),
			toolStart(1, "toolu_01B", "now"), blockStop(1),
			toolStart(2, "toolu_01C", "lookup_order"), partial(2, `{"order_id": `), partial(2, `"C3"`), blockStop(2),
			delta, stop,
		}, "", []evals.ToolCall{lookup, {ID: "toolu_01B", Name: "now", Arguments: json.RawMessage(`{}`)},
			evals.NewToolCall("toolu_01C", "lookup_order", `{"order_id": "C3"`)}, false},
	}
	for _, tt := range tests {
		for _, split := range []string{"an event per write", "a byte per write"} {
			t.Run(tt.name+"/"+split, func(t *testing.T) {
				chunks := tt.events
				if split == "a byte per write" {
					chunks = strings.Split(strings.Join(tt.events, ""), "")
				}
				spec := anthropicSpec(serve(t, streamOf(chunks...)))
				spec.Stream = true
				resp, err := newAnthropic(t, spec).Complete(t.Context(), testRequest)
				if err != nil {
					t.Fatal(err)
				}
				if resp.Text != tt.text || resp.Finish != "tool_use" || resp.Usage != usage {
					t.Errorf("got %q %q %+v, want %q tool_use %+v", resp.Text, resp.Finish, resp.Usage, tt.text, usage)
				}
				if !reflect.DeepEqual(resp.ToolCalls, tt.calls) {
					t.Errorf("ToolCalls\n got %s\nwant %s", toolCallsJSON(resp.ToolCalls), toolCallsJSON(tt.calls))
				}
				if st := resp.Stream; st == nil || st.FirstTokenMS <= 0 || (st.FirstContentMS > 0) != tt.content {
					t.Errorf("Stream = %+v, want a first token, and a first content: %v", st, tt.content)
				}
			})
		}
	}
	if tc := tests[1].calls[2]; tc.ArgumentsError == "" || tc.ArgumentsText() != `{"order_id": "C3"` {
		t.Errorf("the malformed call %+v is not marked as evals.NewToolCall marks it", tc)
	}
}

// TestAnthropicStreamTimings checks the timings against a server that
// takes its time: thinking after 30ms, the answer 50ms later.
func TestAnthropicStreamTimings(t *testing.T) {
	ev := documentedStream("bill", "ing")
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(chunks ...string) {
			io.WriteString(w, strings.Join(chunks, ""))
			w.(http.Flusher).Flush()
		}
		send(ev[0])
		time.Sleep(30 * time.Millisecond)
		send(ev[1:3]...) // the thinking block and its first delta
		time.Sleep(50 * time.Millisecond)
		send(ev[3:8]...) // the text block and "bill"
		time.Sleep(20 * time.Millisecond)
		send(ev[8:]...)
	})
	spec := anthropicSpec(srv)
	spec.Stream = true
	start := time.Now()
	resp, err := newAnthropic(t, spec).Complete(t.Context(), testRequest)
	total := float64(time.Since(start)) / float64(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	st := resp.Stream
	if st == nil || st.FirstTokenMS < 30 || st.FirstContentMS < 80 || st.FirstContentMS <= st.FirstTokenMS || st.FirstContentMS > total {
		t.Fatalf("Stream = %+v in %vms; want the first token after 30ms, the first content after 80ms", st, total)
	}
	// 14 output tokens after the first, in at most total - first token.
	if low := 14 / ((total - st.FirstTokenMS) / 1000); st.TokensPerSecond < low {
		t.Errorf("TokensPerSecond %v, want at least %v", st.TokensPerSecond, low)
	}
}

// TestAnthropicStreamClock checks that an anthropic stream is timed as
// every provider's is (streamClock): no timings when no token came, a first
// content at 0 when only thinking came, tokens per second to the last token
// (not to message_stop), and every figure to the microsecond.
func TestAnthropicStreamClock(t *testing.T) {
	ev := documentedStream()
	start, thinking := ev[0], ev[1:5]
	textStart, stop := ev[5], ev[len(ev)-3:] // content_block_stop, message_delta, message_stop
	delta := func(text string) string {
		return sse("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"`+text+`"}}`)
	}
	const pause = 20 * time.Millisecond
	tests := []struct {
		name   string
		writes [][]string // each written and flushed, pause apart
		check  func(*evals.StreamTiming) string
	}{
		{"no token", [][]string{{start, textStart}, stop}, func(st *evals.StreamTiming) string {
			if st != nil {
				return "want no timings: no token came"
			}
			return ""
		}},
		{"only thinking", [][]string{{start}, thinking, {textStart}, stop}, func(st *evals.StreamTiming) string {
			if st == nil || st.FirstTokenMS < float64(pause/time.Millisecond) || st.FirstContentMS != 0 {
				return "want the first token at the thinking, and first_content_ms 0: no text came"
			}
			return ""
		}},
		// 14 output tokens after the first, from the thinking to "ing" (one
		// pause), then ten pauses to message_stop.
		{"tokens per second to the last token", [][]string{{start}, thinking, {textStart, delta("bill"), delta("ing")}, {}, {}, {}, {}, {}, {}, {}, {}, {}, stop},
			func(st *evals.StreamTiming) string {
				if st == nil || st.FirstContentMS <= st.FirstTokenMS || st.TokensPerSecond < 14/(5*pause.Seconds()) {
					return fmt.Sprintf("want more than %.0f tokens/s: 14 tokens over about one pause, not eleven", 14/(5*pause.Seconds()))
				}
				return ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				for i, events := range tt.writes {
					if i > 0 {
						time.Sleep(pause)
					}
					io.WriteString(w, strings.Join(events, ""))
					w.(http.Flusher).Flush()
				}
			})
			spec := anthropicSpec(srv)
			spec.Stream = true
			resp, err := newAnthropic(t, spec).Complete(t.Context(), testRequest)
			if err != nil {
				t.Fatal(err)
			}
			if why := tt.check(resp.Stream); why != "" {
				t.Errorf("Stream = %+v: %s", resp.Stream, why)
			}
			if st := resp.Stream; st != nil && (st.FirstTokenMS != roundTo(st.FirstTokenMS, 1e3) || st.FirstContentMS != roundTo(st.FirstContentMS, 1e3) || st.TokensPerSecond != roundTo(st.TokensPerSecond, 1e3)) {
				t.Errorf("Stream = %+v, want each figure to the thousandth, as streamClock gives it", st)
			}
		})
	}
}

// TestAnthropicStreamErrors checks streams that do not end as documented:
// cut before message_stop or inside an event (transport errors, retried),
// an error event (the status its type stands for), an answer that is not a
// stream, and an event that is not JSON (decode errors).
func TestAnthropicStreamErrors(t *testing.T) {
	ev := documentedStream("bill", "ing")
	full := strings.Join(ev, "")
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		kind      string
		status    int
		message   string
		retryable bool
	}{
		{"cut after a delta", streamOf(ev[:8]...), evals.ErrKindTransport, 0,
			"the stream was cut off: it ended before message_stop", true},
		{"cut before message_stop", streamOf(ev[:len(ev)-1]...), evals.ErrKindTransport, 0,
			"the stream was cut off: it ended before message_stop", true},
		{"cut inside an event", streamOf(strings.Join(ev[:7], "") + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"bi\"}}\n"),
			evals.ErrKindTransport, 0, "the stream was cut off: it ended inside an event, before message_stop", true},
		{"cut mid-line, the connection closed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			streamOf(full[:len(full)/2])(w, r)
		}, evals.ErrKindTransport, 0, "", true},
		{"overloaded mid-stream", streamOf(append(ev[:7:7], sse("error", `{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}`))...),
			evals.ErrKindHTTP, 529, "error event in the stream: overloaded_error: Overloaded", true},
		{"an invalid request mid-stream", streamOf(ev[0], sse("error", anthropicErrorBody("invalid_request_error", "prompt is too long"))),
			evals.ErrKindHTTP, 400, "error event in the stream: invalid_request_error: prompt is too long (request_id req_011CSHoEeqs5C35K2UUqR7Fy)", false},
		{"an error event without an error", streamOf(ev[0], sse("error", `{"type":"error"}`)),
			evals.ErrKindTransport, 0, `error event in the stream: {"type":"error"}`, true},
		{"an error event of an unknown type", streamOf(ev[0], sse("error", `{"type":"error","error":{"type":"brand_new_error","message":"hm"}}`)),
			evals.ErrKindTransport, 0, "error event in the stream: brand_new_error: hm", true},
		{"one JSON body", answer(200, anthropicBody("billing")), evals.ErrKindDecode, 0,
			"the target asks for a stream, and the endpoint answered with one JSON body (Content-Type application/json): it does not stream; set stream to false", false},
		{"an error in one JSON body, status 200", answer(200, anthropicErrorBody("overloaded_error", "Overloaded")), evals.ErrKindDecode, 0,
			"the server answered with an error instead of a stream: overloaded_error: Overloaded (request_id req_011CSHoEeqs5C35K2UUqR7Fy)", false},
		{"a body with no event", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "<html>gateway timeout</html>\n")
		}, evals.ErrKindDecode, 0, `the response holds no server-sent events (Content-Type "text/event-stream")`, false},
		{"an empty body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
		}, evals.ErrKindTransport, 0, "the stream was cut off: it ended before message_stop", true},
		{"an event that is not JSON", streamOf(ev[0], "event: content_block_delta\ndata: {\"type\":\n\n"), evals.ErrKindDecode, 0,
			`malformed content_block_delta event: unexpected end of JSON input; data: {"type":`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := anthropicSpec(serve(t, tt.handler))
			spec.Stream = true
			resp, err := newAnthropic(t, spec).Complete(t.Context(), testRequest)
			if resp != nil {
				t.Fatalf("got an answer %q from a broken stream", resp.Text)
			}
			pe := providerError(t, err)
			if pe.Kind != tt.kind || pe.Status != tt.status || tt.message != "" && pe.Message != tt.message || pe.Retryable() != tt.retryable || pe.Sent == nil {
				t.Errorf("got %s %d %q (retryable %v, Sent %v)\nwant %s %d %q (retryable %v)", pe.Kind, pe.Status, pe.Message, pe.Retryable(), pe.Sent != nil,
					tt.kind, tt.status, tt.message, tt.retryable)
			}
		})
	}
}

// TestAnthropicStreamRetried checks that a stream cut off is sent again
// and the complete answer recorded, never the part that came first.
func TestAnthropicStreamRetried(t *testing.T) {
	ev := documentedStream("bill", "ing")
	var n atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			streamOf(ev[:8]...)(w, r) // "bill", then nothing
			return
		}
		streamOf(ev...)(w, r)
	})
	spec := anthropicSpec(srv)
	spec.Stream = true
	w := &waits{}
	resp, err := Retry(newAnthropic(t, spec), nil, fastRetry(w)...).Complete(t.Context(), testRequest)
	if err != nil || resp.Text != "billing" || resp.Attempts != 2 || resp.Stream == nil {
		t.Fatalf("got %+v, %v; want billing, streamed, after 2 attempts", resp, err)
	}
}

// TestAnthropicStreamTimeout checks that a stream that stalls ends at the
// target's timeout, and that canceling the run ends it at once.
func TestAnthropicStreamTimeout(t *testing.T) {
	ev := documentedStream("bill", "ing")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		streamOf(ev[:8]...)(w, r)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	spec := anthropicSpec(srv)
	spec.Stream, spec.Timeout = true, evals.Duration(150*time.Millisecond)
	_, err := newAnthropic(t, spec).Complete(t.Context(), testRequest)
	if pe := providerError(t, err); pe.Kind != evals.ErrKindTimeout || pe.Message != "no response within 150ms" {
		t.Errorf("got %s %q, want a timeout", pe.Kind, pe.Message)
	}
}

// TestAnthropicStreamKeepAlive checks that streams read to message_stop
// leave their connection for the next request, though the body's end comes
// a moment after the last event; and that a server that holds the body open
// after message_stop does not hold up the answer.
func TestAnthropicStreamKeepAlive(t *testing.T) {
	var hold atomic.Int64
	hold.Store(int64(20 * time.Millisecond))
	srv, conns := serveCountingConns(t, func(w http.ResponseWriter, r *http.Request) {
		streamOf(documentedStream("billing")...)(w, r)
		select {
		case <-time.After(time.Duration(hold.Load())):
		case <-r.Context().Done():
		}
	})
	spec := anthropicSpec(srv)
	spec.Stream = true
	p := newAnthropic(t, spec)
	ctx, idle := traceIdle(t)
	for range 5 {
		if _, err := p.Complete(ctx, testRequest); err != nil {
			t.Fatal(err)
		}
		// The answer is complete at message_stop; the body's end is read
		// in the background, and the connection then kept.
		waitIdle(t, idle)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 requests in turn took %d connections, want 1", n)
	}

	hold.Store(int64(10 * time.Second))
	start := time.Now()
	if _, err := p.Complete(ctx, testRequest); err != nil {
		t.Fatal(err)
	}
	t.Logf("held: %v", time.Since(start))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a body held open after message_stop held the answer for %v", d)
	}
}

// TestAnthropicStreamAnswersAtStop: the answer is complete at message_stop,
// whatever the server does after it; a server that keeps the body open does
// not hold the answer up (the rest is read in the background, and cut off at
// the timeout), and once the body ends the connection is kept for the next
// request, not dropped.
func TestAnthropicStreamAnswersAtStop(t *testing.T) {
	release := make(chan struct{})
	srv, conns := serveCountingConns(t, func(w http.ResponseWriter, r *http.Request) {
		streamOf(documentedStream("billing")...)(w, r)
		select { // the body stays open
		case <-release:
		case <-r.Context().Done():
		}
	})
	spec := anthropicSpec(srv)
	spec.Stream, spec.Timeout = true, evals.Duration(5*time.Second)
	p := newAnthropic(t, spec)
	ctx, idle := traceIdle(t)
	start := time.Now()
	resp, err := p.Complete(ctx, testRequest)
	if err != nil || resp.Text != "billing" {
		t.Fatalf("%v, %v", resp, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the answer took %v: it waited for the body to end after message_stop", d)
	}
	close(release)
	waitIdle(t, idle)
	if _, err := p.Complete(ctx, testRequest); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("2 requests in turn took %d connections, want 1", n)
	}
}

// serveCountingConns serves handler, counting the connections opened to it.
func serveCountingConns(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// traceIdle returns a context whose requests report on idle when they put
// their connection back in the transport's pool (nil) or fail to.
func traceIdle(t *testing.T) (context.Context, <-chan error) {
	idle := make(chan error, 16)
	return httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{PutIdleConn: func(err error) {
		select {
		case idle <- err:
		default:
		}
	}}), idle
}

// waitIdle waits for a connection to go back to the pool.
func waitIdle(t *testing.T, idle <-chan error) {
	t.Helper()
	select {
	case err := <-idle:
		if err != nil {
			t.Fatalf("the connection was not kept: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not go back to the pool: it was dropped, or its body never read to the end")
	}
}

// TestAnthropicEndpoint checks what the endpoint of an anthropic target can
// do: its responses are cached by its request body, it names its key, and
// it neither embeds nor asks for structured outputs.
func TestAnthropicEndpoint(t *testing.T) {
	const key = "sk-ant-endpoint-0123456789"
	t.Setenv("RUBRIC_ANTHROPIC_KEY", key)
	var n atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		answer(200, anthropicBody("billing"))(w, r)
	})
	spec := anthropicSpec(srv)
	spec.APIKeyEnv = "RUBRIC_ANTHROPIC_KEY"
	dbPath := filepath.Join(t.TempDir(), "rubric.db")
	db := openCacheDB(t, dbPath)
	ep, err := Default().Endpoint(spec.spec(), Options{Cache: func() *store.DB { return db }})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	if ep.Embedder != nil || ep.StructuredOutputs || !slices.Equal(ep.SecretEnv, []string{"RUBRIC_ANTHROPIC_KEY"}) || ep.Closer == nil {
		t.Errorf("Embedder %v, StructuredOutputs %v, SecretEnv %q, Closer %v; want none, false, the key's variable, a closer",
			ep.Embedder != nil, ep.StructuredOutputs, ep.SecretEnv, ep.Closer != nil)
	}
	for i := range 2 {
		resp, err := ep.Provider.Complete(t.Context(), testRequest)
		if err != nil || resp.Text != "billing" || resp.Cached != (i == 1) {
			t.Fatalf("request %d: %+v, %v; want billing, cached the second time", i+1, resp, err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("the server got %d requests, want 1", n.Load())
	}
	db.Close()
	if b, err := os.ReadFile(dbPath); err != nil || len(b) == 0 || strings.Contains(string(b), key) {
		t.Errorf("cache database (%d bytes, %v) holds the key, or nothing", len(b), err)
	}
}

// TestAnthropicRecordingReplays checks that a response of the anthropic
// provider, written as rubric run writes it in results.jsonl, replays the same.
func TestAnthropicRecordingReplays(t *testing.T) {
	spec := anthropicSpec(serve(t, streamOf(documentedStream("bill", "ing")...)))
	spec.Stream = true
	resp, err := newAnthropic(t, spec).Complete(t.Context(), testRequest)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(evals.Result{CaseID: testRequest.CaseID, Target: "t", Request: resp.Sent, Output: resp.Text,
		Finish: resp.Finish, Usage: resp.Usage, LatencyMS: 412, Stream: resp.Stream, Status: evals.StatusPassed})
	dir := writeFile(t, "results.jsonl", string(line)+"\n")
	rs := replaySpec(dir, "results.jsonl")
	rs.ReplayAs = "t" // the anthropic target's name
	replay, err := newReplay(rs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := replay.Complete(t.Context(), testRequest)
	if err != nil || got.Text != resp.Text || got.Finish != resp.Finish || got.Usage != resp.Usage || got.Latency != 412*time.Millisecond {
		t.Errorf("replayed %+v, %v; want the recorded %q %q %+v", got, err, resp.Text, resp.Finish, resp.Usage)
	}
}

// TestAnthropicEmptyAnswer: an answer with neither text nor a tool call,
// sent back in a later turn of a conversation, is left out, since the
// Messages API refuses empty content; the user's messages around it make
// one turn.
func TestAnthropicEmptyAnswer(t *testing.T) {
	p := newAnthropic(t, anthropicSpec(serve(t, answer(200, anthropicBody("x")))))
	req := &evals.Request{Target: "t", CaseID: "c", Step: 1, Messages: []evals.Message{
		msg("system", "S"), msg("user", "Where is A1?"), msg("assistant", " \n"), msg("user", "Hello?")}}
	b, err := p.RequestBody(req)
	want := `{"model":"claude-test","max_tokens":64,"system":"S","messages":[{"role":"user","content":[{"type":"text","text":"Where is A1?"},{"type":"text","text":"Hello?"}]}]}`
	if err != nil || string(b) != want {
		t.Errorf("RequestBody\n got %s (%v)\nwant %s", b, err, want)
	}
	// Only empty answers go: one with text stays, and so does the request.
	req.Messages[2].Content = "Hi."
	if b, err := p.RequestBody(req); err != nil || !strings.Contains(string(b), `{"role":"assistant","content":"Hi."}`) {
		t.Errorf("an answer with text: %s (%v)", b, err)
	}
}
