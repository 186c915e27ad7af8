package provider

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// lookupTool and refundTool are the tools of the tool-loop tests; lookup's
// mock is rubric's own business and must never be sent.
var (
	lookupTool = evals.Tool{Type: "function", Function: evals.ToolFunction{
		Name: "lookup_order", Description: "Find an order <by id> & more",
		Parameters: json.RawMessage(`{"type": "object", "required": ["order_id"],
			"properties": {"order_id": {"type": "string"}}}`),
		Strict: ptr(true),
	}, Mock: &evals.ToolMock{Result: json.RawMessage(`{"status": "shipped"}`)}}
	refundTool = evals.Tool{Type: "function", Function: evals.ToolFunction{Name: "refund", Strict: ptr(false)}}
)

// lookupToolJSON and refundToolJSON are the tools as OpenAI is sent them.
const (
	lookupToolJSON = `{"type":"function","function":{"name":"lookup_order","description":"Find an order <by id> & more",` +
		`"parameters":{"type":"object","required":["order_id"],"properties":{"order_id":{"type":"string"}}},"strict":true}}`
	refundToolJSON = `{"type":"function","function":{"name":"refund","strict":false}}`
)

// loopMessages are the messages of a tool loop's third step: two parallel
// calls (the second's arguments malformed) and their results, one an
// error, then a call with text, and its result.
var loopMessages = []evals.Message{
	{Role: "system", Content: "Use the tools."},
	{Role: "user", Content: "Where are A1 and B2?"},
	{Role: "assistant", ToolCalls: []evals.ToolCall{
		{ID: "call_1", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id": "A1"}`)},
		{ID: "call_2", Name: "lookup_order", Arguments: json.RawMessage(`"{\"order_id\": \"B2\""`), ArgumentsError: "arguments are not JSON: unexpected end of JSON input"},
	}},
	{Role: "tool", ToolCallID: "call_1", Name: "lookup_order", Content: `{"status":"shipped"}`},
	{Role: "tool", ToolCallID: "call_2", Name: "lookup_order", Content: "error: the arguments are not JSON", Error: "arguments are not JSON: unexpected end of JSON input"},
	{Role: "assistant", Content: "Let me look \"B2\" up again.", ToolCalls: []evals.ToolCall{
		{ID: "call_3", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id":"B2"}`)},
	}},
	{Role: "tool", ToolCallID: "call_3", Name: "lookup_order", Content: "no such order", Error: "no such order"},
}

// loopMessagesJSON is loopMessages as OpenAI is sent them: the arguments as
// the strings the model wrote, a null content for a message of calls only,
// no name or error on a tool message.
const loopMessagesJSON = `[{"role":"system","content":"Use the tools."},{"role":"user","content":"Where are A1 and B2?"},` +
	`{"role":"assistant","content":null,"tool_calls":[` +
	`{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\": \"A1\"}"}},` +
	`{"id":"call_2","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\": \"B2\""}}]},` +
	`{"role":"tool","content":"{\"status\":\"shipped\"}","tool_call_id":"call_1"},` +
	`{"role":"tool","content":"error: the arguments are not JSON","tool_call_id":"call_2"},` +
	`{"role":"assistant","content":"Let me look \"B2\" up again.","tool_calls":[{"id":"call_3","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"B2\"}"}}]},` +
	`{"role":"tool","content":"no such order","tool_call_id":"call_3"}]`

// TestOpenAIToolsBody sends the requests of a tool loop and checks the body
// the server receives, byte for byte: the tools (never their mocks) and
// tool_choice after the messages, before the params and extra_body; the
// assistant messages' tool calls and the tool messages. RequestBody, which
// the cache keys on, and the recorded body are the same bytes.
func TestOpenAIToolsBody(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*openaiTarget)
		msgs   []evals.Message
		tools  []evals.Tool
		choice json.RawMessage
		want   string
	}{
		{name: "tools, first step", msgs: testRequest.Messages, tools: []evals.Tool{lookupTool, refundTool},
			want: `{"model":"m","messages":` + testMessagesJSON + `,"tools":[` + lookupToolJSON + `,` + refundToolJSON + `]}`},
		{name: "a later step: calls and their results", msgs: loopMessages, tools: []evals.Tool{lookupTool},
			want: `{"model":"m","messages":` + loopMessagesJSON + `,"tools":[` + lookupToolJSON + `]}`},
		{name: "tool_choice", msgs: testRequest.Messages, tools: []evals.Tool{refundTool}, choice: json.RawMessage(` "required" `),
			want: `{"model":"m","messages":` + testMessagesJSON + `,"tools":[` + refundToolJSON + `],"tool_choice":"required"}`},
		{name: "named tool_choice, params, extra_body, stream",
			mod: func(s *openaiTarget) {
				s.Params = &evals.Params{Temperature: ptr(0.0)}
				s.ExtraBody = map[string]any{"parallel_tool_calls": false}
			},
			msgs: loopMessages, tools: []evals.Tool{lookupTool}, choice: json.RawMessage(`{"type": "function", "function": {"name": "lookup_order"}}`),
			want: `{"model":"m","messages":` + loopMessagesJSON + `,"tools":[` + lookupToolJSON + `],` +
				`"tool_choice":{"type":"function","function":{"name":"lookup_order"}},"temperature":0,"parallel_tool_calls":false}`},
		{name: "tool_choice without tools is not sent", msgs: testRequest.Messages, choice: json.RawMessage(`"auto"`),
			want: `{"model":"m","messages":` + testMessagesJSON + `}`},
		{name: "a tool message without an id still names one", msgs: []evals.Message{{Role: "tool", Content: "x"}},
			want: `{"model":"m","messages":[{"role":"tool","content":"x","tool_call_id":""}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []byte
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got = b
				mu.Unlock()
				answer(200, okBody)(w, r)
			})
			spec := openaiSpec(srv)
			if tt.mod != nil {
				tt.mod(&spec)
			}
			p := newOpenAI(t, spec)
			req := &evals.Request{Target: "t", CaseID: "c", Messages: tt.msgs, Tools: tt.tools, ToolChoice: tt.choice, Step: 2}
			resp, err := p.Complete(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := p.RequestBody(req)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if string(got) != tt.want {
				t.Errorf("body sent\n got %s\nwant %s", got, tt.want)
			}
			if !bytes.Equal(resp.Sent.Body, got) || !bytes.Equal(rb, got) {
				t.Errorf("Sent.Body %s\nRequestBody %s\nwant both the body sent", resp.Sent.Body, rb)
			}
			if !json.Valid(got) || bytes.Contains(got, []byte("mock")) || bytes.Contains(got, []byte("no such order\",\"error")) {
				t.Errorf("body %s: want JSON, without mocks or tool errors", got)
			}
		})
	}
}

// TestOpenAIToolsBodyCredentials: with an extra_body credential, the body
// recorded (and keyed on) holds the tools as sent, the credential redacted.
func TestOpenAIToolsBodyCredentials(t *testing.T) {
	var mu sync.Mutex
	var got []byte
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = b
		mu.Unlock()
		answer(200, okBody)(w, r)
	})
	spec := openaiSpec(srv)
	spec.ExtraBody = map[string]any{"api_key": "sk-body-0123456789"}
	p := newOpenAI(t, spec)
	req := &evals.Request{Target: "t", CaseID: "c", Messages: loopMessages, Tools: []evals.Tool{lookupTool}, ToolChoice: json.RawMessage(`"auto"`)}
	resp, err := p.Complete(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	head := `{"model":"m","messages":` + loopMessagesJSON + `,"tools":[` + lookupToolJSON + `],"tool_choice":"auto"`
	mu.Lock()
	defer mu.Unlock()
	if want := head + `,"api_key":"sk-body-0123456789"}`; string(got) != want {
		t.Errorf("sent\n%s\nwant\n%s", got, want)
	}
	rb, _ := p.RequestBody(req)
	if want := head + `,"api_key":"[REDACTED]"}`; string(resp.Sent.Body) != want || string(rb) != want {
		t.Errorf("recorded\n%s\nRequestBody\n%s\nwant\n%s", resp.Sent.Body, rb, want)
	}
}

// TestOpenAIToolsBodyInvalid: tools that are not JSON (which a loaded
// suite's never are) fail the request as a render error, naming the tool.
func TestOpenAIToolsBodyInvalid(t *testing.T) {
	p := newOpenAI(t, openaiTarget{evals.TargetSpec{Name: "t", Provider: "openai", Model: "m"}, OpenAIConfig{BaseURL: "http://127.0.0.1:1/v1"}})
	bad := refundTool
	bad.Function.Parameters = json.RawMessage(`{"type":`)
	for _, tt := range []struct {
		req  *evals.Request
		want string
	}{
		{&evals.Request{Tools: []evals.Tool{bad}}, `render: the request's tools: tool "refund": parameters: unexpected end of JSON input`},
		{&evals.Request{Tools: []evals.Tool{refundTool}, ToolChoice: json.RawMessage(`{x}`)}, `render: the request's tools: tool_choice: invalid character 'x' looking for beginning of object key string`},
	} {
		_, err := p.Complete(t.Context(), tt.req)
		if pe := providerError(t, err); pe.Kind != evals.ErrKindRender || err.Error() != tt.want {
			t.Errorf("error %q (%s), want %q", err, pe.Kind, tt.want)
		}
		if _, err := p.RequestBody(tt.req); err == nil || err.Error() != tt.want {
			t.Errorf("RequestBody: %v, want %q", err, tt.want)
		}
	}
}

// TestAzureToolsBody: an azure target sends openai's body, tools and all,
// without the model when a deployment names it.
func TestAzureToolsBody(t *testing.T) {
	srv := newAzureServer(t, "", "gpt4o-mini", "2024-10-21")
	req := &evals.Request{Target: "az", CaseID: "c", Messages: loopMessages, Tools: []evals.Tool{lookupTool, refundTool},
		ToolChoice: json.RawMessage(`"auto"`)}
	tail := loopMessagesJSON + `,"tools":[` + lookupToolJSON + `,` + refundToolJSON + `],"tool_choice":"auto","temperature":0}`
	for _, tt := range []struct {
		name string
		cfg  AzureConfig
		want string
	}{
		{"deployment", AzureConfig{Endpoint: srv.URL, Deployment: "gpt4o-mini", APIVersion: "2024-10-21"}, `{"messages":` + tail},
		{"v1", AzureConfig{Endpoint: srv.URL}, `{"model":"gpt4o-mini","messages":` + tail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := azureTarget("az", tt.cfg, "gpt4o-mini")
			spec.Params = &evals.Params{Temperature: ptr(0.0)}
			p, err := NewAzure(tt.cfg, spec, Env{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			before := len(srv.requests())
			resp, err := p.Complete(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.requests()[before].body; got != tt.want || string(resp.Sent.Body) != got {
				t.Errorf("sent\n%s\nrecorded\n%s\nwant\n%s", got, resp.Sent.Body, tt.want)
			}
		})
	}
}

// toolCallsBody is a chat completion whose message is msg.
func toolCallsBody(msg, finish string) string {
	return `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":` + msg +
		`,"logprobs":null,"finish_reason":"` + finish + `"}],"usage":{"prompt_tokens":80,"completion_tokens":30,"total_tokens":110}}`
}

// The calls the tool-call servers answer with, as the response gives them.
var (
	callA1 = evals.ToolCall{ID: "call_1", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id": "A1"}`)}
	callB2 = evals.ToolCall{ID: "call_2", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id":"B2"}`)}
	// callBad's arguments are the model's text, kept as a JSON string.
	callBad = evals.ToolCall{ID: "call_3", Name: "refund", Arguments: json.RawMessage(`"{\"order_id\": A1}"`),
		ArgumentsError: "arguments are not JSON: invalid character 'A' looking for beginning of value"}
)

// TestOpenAIToolCalls reads the tool calls of answers as OpenAI and the
// servers like it write them: one call, parallel calls, malformed arguments
// (kept as the model wrote them, marked), and the finish reason tool_calls.
func TestOpenAIToolCalls(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		text string
		want []evals.ToolCall
	}{
		{"one call", `{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\": \"A1\"}"}}],"refusal":null}`,
			"", []evals.ToolCall{callA1}},
		{"parallel calls, with text", `{"role":"assistant","content":"Looking both up.","tool_calls":[` +
			`{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\": \"A1\"}"}},` +
			`{"id":"call_2","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"B2\"}"}}]}`,
			"Looking both up.", []evals.ToolCall{callA1, callB2}},
		{"malformed arguments", `{"role":"assistant","content":null,"tool_calls":[{"id":"call_3","type":"function","function":{"name":"refund","arguments":"{\"order_id\": A1}"}}]}`,
			"", []evals.ToolCall{callBad}},
		{"empty arguments", `{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"refund","arguments":""}}]}`,
			"", []evals.ToolCall{{ID: "call_1", Name: "refund", Arguments: json.RawMessage(`{}`)}}},
		{"arguments as an object", `{"role":"assistant","content":"","tool_calls":[{"id":"call_2","type":"function","function":{"name":"lookup_order","arguments":{"order_id":"B2"}}}]}`,
			"", []evals.ToolCall{callB2}},
		{"no calls", `{"role":"assistant","content":"billing","tool_calls":[]}`, "billing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			finish := "tool_calls"
			if tt.want == nil {
				finish = "stop"
			}
			srv := serve(t, answer(200, toolCallsBody(tt.msg, finish)))
			resp, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), &evals.Request{Messages: testRequest.Messages, Tools: []evals.Tool{lookupTool, refundTool}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != tt.text || resp.Finish != finish || resp.Usage.TotalTokens != 110 {
				t.Errorf("got %q, finish %q, usage %+v; want %q, %s", resp.Text, resp.Finish, resp.Usage, tt.text, finish)
			}
			if !reflect.DeepEqual(resp.ToolCalls, tt.want) {
				t.Errorf("tool calls\n got %s\nwant %s", callsString(resp.ToolCalls), callsString(tt.want))
			}
		})
	}
	if got := callBad.ArgumentsText(); got != `{"order_id": A1}` {
		t.Errorf("a malformed call's arguments text %q, want the model's own", got)
	}
}

// callsString shows calls for a message.
func callsString(calls []evals.ToolCall) string {
	var b strings.Builder
	for _, c := range calls {
		b.WriteString("\n  " + c.ID + " " + c.Name + " " + string(c.Arguments) + " " + c.ArgumentsError)
	}
	return b.String()
}

// callChunk is a chunk whose delta holds the pieces of tool calls.
func callChunk(pieces ...string) string {
	return chunkEvent(`{"tool_calls":[`+strings.Join(pieces, ",")+`]}`, "null")
}

// toolStream streams, as OpenAI does, two parallel calls (the second's
// arguments malformed) and a third, their arguments in pieces, the pieces
// of the calls interleaved.
var toolStream = []string{
	chunkEvent(`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":""}}]}`, "null"),
	callChunk(`{"index":0,"function":{"arguments":"{\"order"}}`),
	callChunk(`{"index":0,"function":{"arguments":"_id\": "}}`),
	callChunk(`{"index":1,"id":"call_2","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\""}}`),
	callChunk(`{"index":0,"function":{"arguments":"\"A1\"}"}}`, `{"index":1,"function":{"arguments":":\"B2\"}"}}`),
	callChunk(`{"index":2,"id":"call_3","type":"function","function":{"name":"refund","arguments":""}}`),
	callChunk(`{"index":2,"function":{"arguments":"{\"order_id\": A1}"}}`),
	chunkEvent(`{}`, `"tool_calls"`),
	usageEvent(80, 30),
	doneEvent,
}

// TestOpenAIStreamToolCalls puts streamed tool calls together from their
// pieces, however the events are cut, and times them as the answer.
func TestOpenAIStreamToolCalls(t *testing.T) {
	want := []evals.ToolCall{callA1, callB2, callBad}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		text    string
		want    []evals.ToolCall
	}{
		{"as OpenAI streams", streamEvents(0, toolStream...), "", want},
		{"split across reads", streamEvents(0, splitEvery(strings.Join(toolStream, ""), 7)...), "", want},
		{"no [DONE], the connection closed", streamAndClose(toolStream[:len(toolStream)-1]...), "", want},
		{"text first", streamEvents(0, append([]string{chunkEvent(`{"role":"assistant","content":"Looking "}`, "null"),
			chunkEvent(`{"content":"it up."}`, "null")}, toolStream...)...), "Looking it up.", want},
		{"whole calls without an index, as some servers send them", streamEvents(0,
			callChunk(`{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\": \"A1\"}"}}`),
			callChunk(`{"id":"call_2","type":"function","function":{"name":"lookup_order","arguments":{"order_id":"B2"}}}`),
			chunkEvent(`{}`, `"tool_calls"`), usageEvent(80, 30), doneEvent), "", []evals.ToolCall{callA1, callB2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.handler)
			p := newOpenAI(t, streamTarget(srv.URL))
			resp, err := p.Complete(t.Context(), &evals.Request{Messages: testRequest.Messages, Tools: []evals.Tool{lookupTool, refundTool}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != tt.text || resp.Finish != "tool_calls" || resp.Usage != (evals.Usage{PromptTokens: 80, CompletionTokens: 30, TotalTokens: 110}) {
				t.Errorf("got %q, finish %q, usage %+v; want %q, tool_calls", resp.Text, resp.Finish, resp.Usage, tt.text)
			}
			if !reflect.DeepEqual(resp.ToolCalls, tt.want) {
				t.Errorf("tool calls\n got %s\nwant %s", callsString(resp.ToolCalls), callsString(tt.want))
			}
			if st := resp.Stream; st == nil || st.FirstContentMS <= 0 || st.FirstContentMS != st.FirstTokenMS {
				t.Errorf("stream timing %+v: the calls are the answer's first tokens", st)
			}
		})
	}
}

// splitEvery cuts s into pieces of n bytes.
func splitEvery(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

// TestOpenAIStreamToolCallErrors: a stream whose tool calls are not pieces
// of calls is a decode error, naming what is wrong.
func TestOpenAIStreamToolCallErrors(t *testing.T) {
	for _, tt := range []struct {
		name, event, want string
	}{
		{"index out of range", callChunk(`{"index":5000,"function":{"arguments":"{}"}}`),
			`decode: malformed chunk in the stream: delta.tool_calls index is 5000, not an integer from 0 to 1023; body: `},
		{"not an array", chunkEvent(`{"tool_calls":"x"}`, "null"),
			`decode: malformed chunk in the stream: delta.tool_calls is "x", not an array; body: `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, streamEvents(0, toolStream[0], tt.event, toolStream[7], doneEvent))
			_, err := newOpenAI(t, streamTarget(srv.URL)).Complete(t.Context(), &evals.Request{Messages: testRequest.Messages})
			if pe := providerError(t, err); pe.Kind != evals.ErrKindDecode || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want %q…", err, tt.want)
			}
		})
	}
}
