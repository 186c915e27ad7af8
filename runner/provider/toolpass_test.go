package provider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// orderTools is a suite's tools, with a mock that no provider may send.
var orderTools = []evals.Tool{{
	Type: "function",
	Function: evals.ToolFunction{Name: "lookup_order", Description: "Find an order <by id>",
		Parameters: json.RawMessage(`{"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}`)},
	Mock: &evals.ToolMock{Result: json.RawMessage(`{"status": "shipped"}`)},
}}

// toolRequest is the first request of a conversation with orderTools.
func toolRequest(step int) *evals.Request {
	return &evals.Request{Target: "t", CaseID: "tools", Step: step, Tools: orderTools,
		Messages: []evals.Message{{Role: "system", Content: "Track orders."}, {Role: "user", Content: "Where is A1?"}}}
}

// answerCalls returns the request that follows req once the loop answers
// the calls of resp, each with result.
func answerCalls(req *evals.Request, resp *evals.Response, result string) *evals.Request {
	next := *req
	next.Step++
	next.Messages = append(slices.Clone(req.Messages), evals.Message{Role: evals.RoleAssistant, Content: resp.Text, ToolCalls: resp.ToolCalls})
	for _, tc := range resp.ToolCalls {
		next.Messages = append(next.Messages, evals.Message{Role: evals.RoleTool, ToolCallID: tc.ID, Name: tc.Name, Content: result})
	}
	return &next
}

// TestExecToolLoop runs a conversation with tools through a command, with
// both protocols: the command reads the tools on stdin (never their
// mocks), answers with tool calls in both shapes, and then reads the calls
// and the tools' answers in OpenAI's shape.
func TestExecToolLoop(t *testing.T) {
	for _, protocol := range []string{"once", "lines"} {
		t.Run(protocol, func(t *testing.T) {
			spec := modelSpec(t, "answer")
			if protocol == "lines" {
				spec.Env[modelEnv] = "lines"
			}
			spec.Protocol = ptr(protocol)
			p := newExec(t, spec)
			req := toolRequest(0)
			resp, err := p.Complete(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			want := []evals.ToolCall{
				evals.NewToolCall("call_a", "lookup_order", `{"order_id": "A1"}`),
				evals.NewToolCall("call_0_1", "lookup_order", `{"order_id":"B2"}`),
			}
			if resp.Text != "" || !reflect.DeepEqual(resp.ToolCalls, want) {
				t.Fatalf("step 0: text %q, calls %+v\nwant no text, calls %+v", resp.Text, resp.ToolCalls, want)
			}
			resp, err = p.Complete(t.Context(), answerCalls(req, resp, `{"status":"shipped"}`))
			if err != nil {
				t.Fatal(err)
			}
			wantText := `step 1, choice "auto", calls call_a function lookup_order{"order_id": "A1"}; call_0_1 function lookup_order{"order_id":"B2"}, answer to call_0_1: {"status":"shipped"}`
			if resp.Text != wantText || resp.ToolCalls != nil {
				t.Errorf("step 1: text %q, calls %+v\nwant %q", resp.Text, resp.ToolCalls, wantText)
			}
		})
	}
}

// TestExecStdinTools pins the document a command reads for a request that
// offers tools, and checks that one that offers none, a conversation
// included, reads what it read before tools were passed through.
func TestExecStdinTools(t *testing.T) {
	spec := modelSpec(t, "echo")
	spec.Format = ptr("text")
	p := newExec(t, spec)
	req := answerCalls(toolRequest(0), &evals.Response{ToolCalls: []evals.ToolCall{
		evals.NewToolCall("call_1", "lookup_order", `{"order_id": "A1"}`),
		evals.NewToolCall("call_2", "lookup_order", `{"order_id": `),
	}}, "shipped")
	req.ToolChoice = json.RawMessage(`{"type": "function", "function": {"name": "lookup_order"}}`)
	want := `{"messages":[{"role":"system","content":"Track orders."},{"role":"user","content":"Where is A1?"},` +
		`{"role":"assistant","content":null,"tool_calls":[` +
		`{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\": \"A1\"}"}},` +
		`{"id":"call_2","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\": "}}]},` +
		`{"role":"tool","content":"shipped","tool_call_id":"call_1"},{"role":"tool","content":"shipped","tool_call_id":"call_2"}],` +
		`"case_id":"tools","repeat":0,"model":"","params":{},` +
		`"tools":[{"type":"function","function":{"name":"lookup_order","description":"Find an order <by id>","parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}}}],` +
		`"tool_choice":{"type":"function","function":{"name":"lookup_order"}},"step":1}`
	for _, tt := range []struct {
		name string
		req  *evals.Request
		want string
	}{
		{"tools", req, want},
		{"tools, tool_choice unset", func() *evals.Request { r := *req; r.ToolChoice = nil; return &r }(),
			strings.Replace(want, `"tool_choice":{"type":"function","function":{"name":"lookup_order"}}`, `"tool_choice":"auto"`, 1)},
		{"turns without tools", &evals.Request{Target: "t", CaseID: "c", Step: 2, Messages: []evals.Message{
			{Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Hello."}, {Role: "user", Content: "Bye"}}},
			`{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."},{"role":"user","content":"Bye"}],"case_id":"c","repeat":0,"model":"","params":{}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Complete(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != tt.want {
				t.Errorf("stdin\n got %s\nwant %s", resp.Text, tt.want)
			}
			if !json.Valid([]byte(resp.Text)) {
				t.Errorf("stdin is not JSON: %s", resp.Text)
			}
			if body, _ := p.RequestBody(tt.req); string(body) != tt.want {
				t.Errorf("RequestBody %s\nwant %s", body, tt.want)
			}
		})
	}
}

// toolsBody is an http target's body that passes a conversation with tools
// on, as an OpenAI-compatible service takes it.
const toolsBody = `{"messages": "{{ messages | json }}", "tools": "{{ tools | json }}", "tool_choice": "{{ tool_choice | json }}"}`

// TestHTTPToolLoop runs a conversation with tools through an http target
// whose service reads the tools from the body and answers with tool calls
// where an OpenAI-compatible API has them; the next request carries the
// calls and the tools' answers in OpenAI's shape.
func TestHTTPToolLoop(t *testing.T) {
	var rec *recorder // it reads the body before the handler runs
	rec = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []map[string]any `json:"messages"`
			Tools    []struct {
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
				Mock any `json:"mock"`
			} `json:"tools"`
		}
		sent := rec.got()
		if err := json.Unmarshal([]byte(sent[len(sent)-1].body), &body); err != nil || len(body.Tools) == 0 || body.Tools[0].Mock != nil {
			answer(400, `{"error": "expected tools without mocks"}`)(w, r)
			return
		}
		last := body.Messages[len(body.Messages)-1]
		if last["role"] != "tool" {
			answer(200, fmt.Sprintf(`{"choices": [{"message": {"content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": %q, "arguments": "{\"order_id\": \"A1\"}"}}]}, "finish_reason": "tool_calls"}]}`, body.Tools[0].Function.Name))(w, r)
			return
		}
		text, _ := json.Marshal(fmt.Sprintf("%s says %s", last["tool_call_id"], last["content"]))
		answer(200, `{"choices": [{"message": {"content": `+string(text)+`}, "finish_reason": "stop"}]}`)(w, r)
	})
	h := httpSpec(rec.srv, toolsBody)
	h.Response = &HTTPResponse{Text: "choices.0.message.content", Finish: "choices.0.finish_reason", ToolCalls: "choices.0.message.tool_calls"}
	p := newHTTP(t, h)

	req := toolRequest(0)
	resp, err := p.Complete(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []evals.ToolCall{evals.NewToolCall("call_1", "lookup_order", `{"order_id": "A1"}`)}
	if resp.Text != "" || resp.Finish != "tool_calls" || !reflect.DeepEqual(resp.ToolCalls, want) {
		t.Fatalf("step 0: %q %q %+v, want no text, tool_calls, %+v", resp.Text, resp.Finish, resp.ToolCalls, want)
	}
	next := answerCalls(req, resp, `{"status":"shipped"}`)
	resp, err = p.Complete(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != `call_1 says {"status":"shipped"}` || resp.ToolCalls != nil {
		t.Errorf("step 1: %q %+v", resp.Text, resp.ToolCalls)
	}

	const tools = `"tool_choice":"auto","tools":[{"function":{"description":"Find an order <by id>","name":"lookup_order","parameters":{"properties":{"order_id":{"type":"string"}},"required":["order_id"],"type":"object"}},"type":"function"}]}`
	wantBodies := []string{
		`{"messages":[{"content":"Track orders.","role":"system"},{"content":"Where is A1?","role":"user"}],` + tools,
		`{"messages":[{"content":"Track orders.","role":"system"},{"content":"Where is A1?","role":"user"},` +
			`{"content":"","role":"assistant","tool_calls":[{"function":{"arguments":"{\"order_id\": \"A1\"}","name":"lookup_order"},"id":"call_1","type":"function"}]},` +
			`{"content":"{\"status\":\"shipped\"}","role":"tool","tool_call_id":"call_1"}],` + tools,
	}
	got := rec.got()
	if len(got) != 2 {
		t.Fatalf("sent %d requests, want 2", len(got))
	}
	for i, want := range wantBodies {
		if got[i].body != want {
			t.Errorf("step %d sent\n %s\nwant %s", i, got[i].body, want)
		}
	}
}

// TestHTTPToolsTemplate renders {{ tools }} and {{ tool_choice }}, and
// paths into them and into the messages' tool calls, for requests with and
// without tools.
func TestHTTPToolsTemplate(t *testing.T) {
	withCall := answerCalls(toolRequest(2), &evals.Response{ToolCalls: []evals.ToolCall{evals.NewToolCall("c7", "lookup_order", `{"order_id": "A1"`)}}, "no such order")
	named := toolRequest(0)
	named.ToolChoice = json.RawMessage(`{"type": "function", "function": {"name": "lookup_order"}}`)
	tests := []struct {
		name, body string
		req        *evals.Request
		want       string
	}{
		{"no tools: [] and none", `{"q": "{{ prompt }}", "tools": "{{ tools | json }}", "choice": "{{ tool_choice | json }}"}`, testRequest,
			`{"choice":"none","q":"Say \"hi\" <b>\n","tools":[]}`},
		{"a tool_choice naming a tool", `{"q": "{{ prompt }}", "choice": "{{ tool_choice | json }}"}`, named,
			`{"choice":{"function":{"name":"lookup_order"},"type":"function"},"q":"Where is A1?"}`},
		{"paths into tools", `{"q": "{{ prompt }}", "first": "{{ tools.0.function.name }}", "p": "{{ tools.0.function.parameters.required | json }}"}`, named,
			`{"first":"lookup_order","p":["order_id"],"q":"Where is A1?"}`},
		{"paths into tool calls, malformed arguments as written", `{"q": "{{ prompt }}", "args": "{{ messages.2.tool_calls.0.function.arguments }}", "answers": "{{ messages.3.tool_call_id }}"}`, withCall,
			`{"answers":"c7","args":"{\"order_id\": \"A1\"","q":"Where is A1?"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, answer(200, `{"output":"ok"}`))
			p := newHTTP(t, httpSpec(rec.srv, tt.body))
			if _, err := p.Complete(t.Context(), tt.req); err != nil {
				t.Fatal(err)
			}
			if got := rec.got(); len(got) != 1 || got[0].body != tt.want {
				t.Errorf("sent %q\nwant %q", got, tt.want)
			}
		})
	}

	t.Run("a path into a message without tool calls", func(t *testing.T) {
		rec := newRecorder(t, answer(200, `{"output":"ok"}`))
		p := newHTTP(t, httpSpec(rec.srv, `{"q": "{{ prompt }}", "call": "{{ messages.1.tool_calls.0.id }}"}`))
		_, err := p.Complete(t.Context(), toolRequest(0))
		pe := providerError(t, err)
		if want := "body.call: {{ messages.1.tool_calls }} is not in the request"; pe.Kind != evals.ErrKindRender || pe.Message != want {
			t.Errorf("got %s %q, want render %q", pe.Kind, pe.Message, want)
		}
		if len(rec.got()) != 0 {
			t.Errorf("sent %d requests, want none", len(rec.got()))
		}
	})
}

// TestHTTPToolCalls reads tool calls from 2xx bodies at response.tool_calls:
// both shapes, arguments as text or as JSON, malformed arguments, ids made
// up, and what is not tool calls.
func TestHTTPToolCalls(t *testing.T) {
	const shapes = `{"id", "function": {"name", "arguments"}} or {"id", "name", "arguments"}`
	tests := []struct {
		name string
		body string
		want *evals.Response // nil for an error
		err  string
	}{
		{"OpenAI's shape, text null", `{"text": null, "calls": [{"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": "{\"order_id\": \"A1\"}"}}]}`,
			&evals.Response{ToolCalls: []evals.ToolCall{evals.NewToolCall("c1", "lookup_order", `{"order_id": "A1"}`)}}, ""},
		{"flat shape, arguments an object, text missing", `{"calls": [{"id": "c1", "name": "lookup_order", "arguments": {"order_id": "A1", "n": [1, 2.50]}}]}`,
			&evals.Response{ToolCalls: []evals.ToolCall{evals.NewToolCall("c1", "lookup_order", `{"order_id":"A1","n":[1,2.50]}`)}}, ""},
		{"text and parallel calls of both shapes, ids made up", `{"text": "Let me look.", "calls": [{"function": {"name": "a", "arguments": ""}}, {"id": "", "name": "b"}, {"id": null, "name": "c", "arguments": null}]}`,
			&evals.Response{Text: "Let me look.", ToolCalls: []evals.ToolCall{evals.NewToolCall("call_3_0", "a", ""), evals.NewToolCall("call_3_1", "b", ""), evals.NewToolCall("call_3_2", "c", "")}}, ""},
		{"malformed arguments kept as text", `{"calls": [{"id": "c1", "name": "lookup_order", "arguments": "{\"order_id\": 'A1'}"}]}`,
			&evals.Response{ToolCalls: []evals.ToolCall{{ID: "c1", Name: "lookup_order", Arguments: json.RawMessage(`"{\"order_id\": 'A1'}"`),
				ArgumentsError: "arguments are not JSON: invalid character '\\'' looking for beginning of value"}}}, ""},
		{"calls null", `{"text": "done", "calls": null}`, &evals.Response{Text: "done"}, ""},
		{"calls missing", `{"text": "done"}`, &evals.Response{Text: "done"}, ""},
		{"no calls and no text", `{"calls": []}`, nil, `response.text: path "text" is not in the response; body: {"calls": []}`},
		{"no calls and text null", `{"text": null, "calls": null}`, nil, `response.text: path "text" is null; body: {"text": null, "calls": null}`},
		{"calls an object", `{"calls": {"name": "a"}}`, nil,
			`response.tool_calls: path "calls" is not the tool calls: expected an array of tool calls, each ` + shapes + `, got an object; body: {"calls": {"name": "a"}}`},
		{"a call a string", `{"calls": ["a"]}`, nil,
			`response.tool_calls: path "calls" is not the tool calls: [0]: expected a tool call, ` + shapes + `, got a string; body: {"calls": ["a"]}`},
		{"no name", `{"calls": [{"id": "c1", "name": "a"}, {"id": "c2", "arguments": "{}"}]}`, nil,
			`response.tool_calls: path "calls" is not the tool calls: [1].name: expected the name of the tool called, a string, got nothing; body: {"calls": [{"id": "c1", "name": "a"}, {"id": "c2", "arguments": "{}"}]}`},
		{"an empty name", `{"calls": [{"function": {"name": ""}}]}`, nil,
			`response.tool_calls: path "calls" is not the tool calls: [0].function.name: expected the name of the tool called, a string, got an empty string; body: {"calls": [{"function": {"name": ""}}]}`},
		{"function not an object", `{"calls": [{"function": "a"}]}`, nil,
			`response.tool_calls: path "calls" is not the tool calls: [0].function: expected an object {"name", "arguments"}, got a string; body: {"calls": [{"function": "a"}]}`},
		{"id a number", `{"calls": [{"id": 7, "name": "a"}]}`, nil,
			`response.tool_calls: path "calls" is not the tool calls: [0].id: expected a string, got a number; body: {"calls": [{"id": 7, "name": "a"}]}`},
		{"an id twice", `{"calls": [{"id": "c", "name": "a"}, {"id": "c", "name": "a"}]}`, nil,
			`response.tool_calls: path "calls" is not the tool calls: [1].id: "c" is also the id of [0]: each call needs its own; body: {"calls": [{"id": "c", "name": "a"}, {"id": "c", "name": "a"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, answer(200, tt.body))
			h := httpSpec(srv, `{"input": "{{ prompt }}"}`)
			h.Response = &HTTPResponse{Text: "text", ToolCalls: "calls"}
			req := *testRequest
			req.Step = 3
			resp, err := newHTTP(t, h).Complete(t.Context(), &req)
			if tt.want == nil {
				pe := providerError(t, err)
				if pe.Kind != evals.ErrKindDecode || pe.Message != tt.err || pe.Retryable() {
					t.Errorf("got %s %q (retryable %v)\nwant decode %q", pe.Kind, pe.Message, pe.Retryable(), tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Sent = nil
			if !reflect.DeepEqual(resp, tt.want) {
				t.Errorf("got  %+v\nwant %+v", resp, tt.want)
			}
		})
	}
}
