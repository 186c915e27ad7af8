package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// The conversation tests run a suite of tool-using cases through the
// binary against a server that plays an agent: it reads the case from the
// first user message and decides each answer from the conversation it is
// sent (the tool results it got, the user's turns), as a model would, in
// OpenAI's or Anthropic's wire format. The same agent, reading the same
// conversations, must give the same transcripts whatever the format.

// agentMsg is a message of a conversation as the agent reads it from
// either wire format.
type agentMsg struct {
	Role, Content string
	// CallID names the call a tool message answers; IsError is Anthropic's
	// is_error on its result.
	CallID  string
	IsError bool
	Calls   []agentCall
}

// agentCall is a tool call: its arguments as the text the model wrote.
type agentCall struct{ ID, Name, Args string }

// agentReply is the agent's answer: text, tool calls, or both.
type agentReply struct {
	text  string
	calls []agentCall
}

// agentRequest is a request the agent server got.
type agentRequest struct {
	caseID, model string
	// n counts the messages of the conversation sent (a system message,
	// each tool result): the length of the transcript before the answer.
	n        int
	phase    int32
	answered bool
	stream   bool
	body     map[string]any
	raw      []byte
}

// agentServer plays the agent (any model but judgeModel) and the judge
// (judgeModel) in OpenAI's chat completions format, or with anthropic set
// in Anthropic's Messages format; streamed when the request asks.
type agentServer struct {
	*httptest.Server
	anthropic bool
	// version 1 is an earlier agent: it answers one-call without the
	// tool, and loop after one call. With flaky, version 2 answers the
	// second request for parallel without looking anything up.
	version atomic.Int32
	flaky   bool
	openers atomic.Int32 // the parallel case's first steps
	// hang, before resumed() is called, leaves a request unanswered until
	// the client goes away; fail answers it 500.
	hang func(caseID string, n int) bool
	fail func(caseID string, n int) bool
	// hung is closed when the first request is left hanging.
	hung     chan struct{}
	hungOnce sync.Once
	phase    atomic.Int32

	mu     sync.Mutex
	reqs   []agentRequest
	judged map[string][][]evals.Message // the transcripts the judge read, by case
}

const (
	agentSystem = "You are ACME's support assistant. Use the tools."
	judgeModel  = "judge-1"
)

// firstUserCase finds the case id in the prompt "[ID] question".
var firstUserCase = regexp.MustCompile(`^\[([a-z0-9-]+)\] `)

func newAgentServer(t *testing.T, anthropic bool, opts ...func(*agentServer)) *agentServer {
	s := &agentServer{anthropic: anthropic, hung: make(chan struct{}), judged: map[string][][]evals.Message{}}
	s.version.Store(2)
	for _, o := range opts {
		o(s)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// resumed marks the requests that come from now on as the resumed run's:
// none hangs.
func (s *agentServer) resumed() { s.phase.Store(1) }

func (s *agentServer) requests() []agentRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// agentRequests returns the requests for the model under test, leaving
// the judge's out.
func (s *agentServer) agentRequests() []agentRequest {
	return slices.DeleteFunc(s.requests(), func(q agentRequest) bool { return q.model == judgeModel })
}

func (s *agentServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	model, _ := body["model"].(string)
	stream, _ := body["stream"].(bool)
	var msgs []agentMsg
	if s.anthropic {
		msgs = anthropicConversation(body)
	} else {
		msgs = openAIConversation(body)
	}
	var reply agentReply
	caseID := ""
	if model == judgeModel {
		var transcript []evals.Message
		caseID, transcript, reply = judgeReply(msgs)
		s.mu.Lock()
		s.judged[caseID] = append(s.judged[caseID], transcript)
		s.mu.Unlock()
	} else {
		for _, m := range msgs {
			if m.Role == evals.RoleUser {
				if c := firstUserCase.FindStringSubmatch(m.Content); c != nil {
					caseID = c[1]
				}
				break
			}
		}
		reply = s.reply(caseID, msgs, stream)
	}
	phase := s.phase.Load()
	s.mu.Lock()
	i := len(s.reqs)
	s.reqs = append(s.reqs, agentRequest{caseID: caseID, model: model, n: len(msgs), phase: phase, stream: stream, body: body, raw: raw})
	s.mu.Unlock()

	if phase == 0 && s.hang != nil && s.hang(caseID, len(msgs)) {
		s.hungOnce.Do(func() { close(s.hung) })
		<-r.Context().Done()
		return
	}
	if s.fail != nil && s.fail(caseID, len(msgs)) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":{"message":"the agent crashed"}}`)
		return
	}
	switch {
	case !s.anthropic && stream:
		writeOpenAIStream(w, reply)
	case !s.anthropic:
		writeOpenAIReply(w, reply)
	case stream:
		writeAnthropicStream(w, model, reply)
	default:
		writeAnthropicReply(w, model, reply)
	}
	if http.NewResponseController(w).Flush() == nil {
		s.mu.Lock()
		s.reqs[i].answered = true
		s.mu.Unlock()
	}
}

// reply is the agent's answer for caseID to the conversation msgs.
func (s *agentServer) reply(caseID string, msgs []agentMsg, stream bool) agentReply {
	lastUser, users, step := -1, 0, 0
	for i, m := range msgs {
		switch m.Role {
		case evals.RoleUser:
			lastUser, users = i, users+1
		case evals.RoleAssistant:
			step++
		}
	}
	// results are the tool messages of this turn: the calls answered.
	var results []string
	for _, m := range msgs[lastUser+1:] {
		if m.Role == evals.RoleTool {
			results = append(results, m.Content)
		}
	}
	id := func(i int) string { return fmt.Sprintf("call_%s_%d_%d", caseID, step, i) }
	call := func(name, args string) agentReply { return agentReply{calls: []agentCall{{id(0), name, args}}} }
	text := func(s string) agentReply { return agentReply{text: s} }
	first := len(results) == 0
	switch caseID {
	case "one-call":
		switch {
		case s.version.Load() == 1:
			return text("I cannot look that up.")
		case first:
			return call("lookup_order", `{"order_id":"A1"}`)
		}
		return text("Order A1: " + results[0])
	case "parallel":
		if first && s.flaky && s.version.Load() == 2 && s.openers.Add(1) == 2 {
			return text("I do not know.")
		}
		if first {
			return agentReply{text: "Let me check both.", calls: []agentCall{
				{id(0), "lookup_order", `{"order_id":"B2"}`},
				{id(1), "track_parcel", `{"order_id":"B2"}`},
			}}
		}
		return text(fmt.Sprintf("Order B2: %s; parcel: %s", results[0], results[1]))
	case "malformed":
		if first {
			// Cut off mid-object; the Messages API's whole answers carry
			// an object, so they get one that does not fit the schema.
			args := `{"order_id": "A1"`
			if s.anthropic && !stream {
				args = `{"order_id":7}`
			}
			return call("lookup_order", args)
		}
		return text("Sorry, that went wrong: " + results[0])
	case "loop":
		if s.version.Load() == 1 && !first {
			return text("Order A1: " + results[0])
		}
		return call("lookup_order", `{"order_id":"A1"}`)
	case "multi-turn":
		switch {
		case users == 1:
			return text("Sure, what would you like to know about order A1?")
		case first:
			return call("check_return", `{"order_id":"A1"}`)
		}
		return text("Yes, you can return order A1: " + results[0])
	case "no-rule":
		if first {
			return call("lookup_order", `{"order_id":"Z9"}`)
		}
		return text("I could not find order Z9. " + results[0])
	case "unknown-tool":
		if first {
			return call("cancel_order", `{"order_id":"A1"}`)
		}
		return text("I cannot cancel orders. " + results[0])
	case "refund":
		if first {
			return call("refund", `{"order_id":"A1"}`)
		}
		return text("A human agent will handle your refund. " + results[0])
	}
	return text("I know no case " + caseID + ".")
}

// judgeReply grades a conversation: Y when a tool answered a call without
// an error. It returns the case and the transcript the judge was shown.
func judgeReply(msgs []agentMsg) (string, []evals.Message, agentReply) {
	prompt := ""
	if n := len(msgs); n > 0 {
		prompt = msgs[n-1].Content
	}
	var transcript []evals.Message
	for _, m := range blockRE.FindAllStringSubmatch(prompt, -1) {
		if m[1] == "transcript" {
			_ = json.Unmarshal([]byte(strings.TrimPrefix(m[2], "| ")), &transcript)
		}
	}
	caseID, verdict := "", "N"
	for _, m := range transcript {
		if c := firstUserCase.FindStringSubmatch(m.Content); c != nil && caseID == "" && m.Role == evals.RoleUser {
			caseID = c[1]
		}
		if m.Role == evals.RoleTool && m.Error == "" {
			verdict = "Y"
		}
	}
	return caseID, transcript, agentReply{text: "Graded the conversation.\nVERDICT: " + verdict}
}

// openAIConversation reads a chat completions request's messages.
func openAIConversation(body map[string]any) []agentMsg {
	var out []agentMsg
	msgs, _ := body["messages"].([]any)
	for _, raw := range msgs {
		m, _ := raw.(map[string]any)
		am := agentMsg{Role: str(m["role"]), Content: str(m["content"]), CallID: str(m["tool_call_id"])}
		calls, _ := m["tool_calls"].([]any)
		for _, c := range calls {
			c, _ := c.(map[string]any)
			f, _ := c["function"].(map[string]any)
			am.Calls = append(am.Calls, agentCall{str(c["id"]), str(f["name"]), str(f["arguments"])})
		}
		out = append(out, am)
	}
	return out
}

// anthropicConversation reads a Messages request's system and messages:
// each tool_result block is a tool message, an assistant turn's text and
// tool_use blocks one assistant message.
func anthropicConversation(body map[string]any) []agentMsg {
	var out []agentMsg
	switch sys := body["system"].(type) {
	case string:
		out = append(out, agentMsg{Role: "system", Content: sys})
	case []any:
		for _, b := range sys {
			b, _ := b.(map[string]any)
			out = append(out, agentMsg{Role: "system", Content: str(b["text"])})
		}
	}
	msgs, _ := body["messages"].([]any)
	for _, raw := range msgs {
		m, _ := raw.(map[string]any)
		role := str(m["role"])
		blocks, ok := m["content"].([]any)
		if !ok {
			out = append(out, agentMsg{Role: role, Content: str(m["content"])})
			continue
		}
		asst := agentMsg{Role: role}
		for _, b := range blocks {
			b, _ := b.(map[string]any)
			switch str(b["type"]) {
			case "tool_result":
				isErr, _ := b["is_error"].(bool)
				out = append(out, agentMsg{Role: evals.RoleTool, CallID: str(b["tool_use_id"]), Content: str(b["content"]), IsError: isErr})
			case "text":
				if role == evals.RoleUser {
					out = append(out, agentMsg{Role: role, Content: str(b["text"])})
				} else {
					asst.Content += str(b["text"])
				}
			case "tool_use":
				input, _ := json.Marshal(b["input"])
				asst.Calls = append(asst.Calls, agentCall{str(b["id"]), str(b["name"]), string(input)})
			}
		}
		if role == evals.RoleAssistant {
			out = append(out, asst)
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// agentView is what the agent should read of a transcript: the messages a
// request of step k carries, in the wire format's terms.
func agentView(transcript []evals.Message, anthropic bool) []agentMsg {
	var out []agentMsg
	for _, m := range transcript {
		am := agentMsg{Role: m.Role, Content: m.Content, CallID: m.ToolCallID, IsError: anthropic && m.Error != ""}
		for _, c := range m.ToolCalls {
			args := c.ArgumentsText()
			if anthropic && (c.ArgumentsError != "" || !strings.HasPrefix(string(c.Arguments), "{")) {
				args = "{}" // the Messages API takes only an object
			}
			am.Calls = append(am.Calls, agentCall{c.ID, c.Name, args})
		}
		out = append(out, am)
	}
	return out
}

func writeOpenAIReply(w http.ResponseWriter, reply agentReply) {
	msg := map[string]any{"role": "assistant", "content": reply.text}
	finish := "stop"
	if len(reply.calls) > 0 {
		if reply.text == "" {
			msg["content"] = nil
		}
		var calls []any
		for _, c := range reply.calls {
			calls = append(calls, map[string]any{"id": c.ID, "type": "function", "function": map[string]any{"name": c.Name, "arguments": c.Args}})
		}
		msg["tool_calls"] = calls
		finish = "tool_calls"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-agent", "object": "chat.completion",
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]any{"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35},
	})
}

// writeOpenAIStream streams a reply as chat completion chunks: the text in
// two pieces, then each call, its id and name first and its arguments in
// two more pieces (which need not be JSON on their own, nor together);
// then the finish reason, the usage and [DONE].
func writeOpenAIStream(w http.ResponseWriter, reply agentReply) {
	w.Header().Set("Content-Type", "text/event-stream")
	type obj = map[string]any
	send := func(data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	delta := func(d obj, finish any) {
		send(obj{"id": "chatcmpl-agent", "object": "chat.completion.chunk", "choices": []any{obj{"index": 0, "delta": d, "finish_reason": finish}}})
	}
	delta(obj{"role": "assistant", "content": ""}, nil)
	half := len(reply.text) / 2
	for _, part := range []string{reply.text[:half], reply.text[half:]} {
		if part != "" {
			delta(obj{"content": part}, nil)
		}
	}
	for i, c := range reply.calls {
		delta(obj{"tool_calls": []any{obj{"index": i, "id": c.ID, "type": "function", "function": obj{"name": c.Name, "arguments": ""}}}}, nil)
		half := len(c.Args) / 2
		for _, part := range []string{c.Args[:half], c.Args[half:]} {
			delta(obj{"tool_calls": []any{obj{"index": i, "function": obj{"arguments": part}}}}, nil)
		}
	}
	finish := "stop"
	if len(reply.calls) > 0 {
		finish = "tool_calls"
	}
	delta(obj{}, finish)
	send(obj{"id": "chatcmpl-agent", "object": "chat.completion.chunk", "choices": []any{},
		"usage": obj{"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35}})
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// anthropicBlocks are the content blocks of a reply: its text, then a
// tool_use block per call, whose input is the arguments (valid JSON).
func anthropicBlocks(reply agentReply) (blocks []any, stop string) {
	if reply.text != "" {
		blocks = append(blocks, map[string]any{"type": "text", "text": reply.text})
	}
	for _, c := range reply.calls {
		blocks = append(blocks, map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": json.RawMessage(c.Args)})
	}
	if len(reply.calls) > 0 {
		return blocks, "tool_use"
	}
	return blocks, "end_turn"
}

func writeAnthropicReply(w http.ResponseWriter, model string, reply agentReply) {
	blocks, stop := anthropicBlocks(reply)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "msg_agent", "type": "message", "role": "assistant", "model": model,
		"content": blocks, "stop_reason": stop, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": 40, "output_tokens": 20},
	})
}

// writeAnthropicStream streams a reply as the Messages API does: a text
// block in two deltas, then each tool_use block with its input in two
// input_json_delta pieces (which need not be JSON on their own, nor
// together: a model cut off writes half an object).
func writeAnthropicStream(w http.ResponseWriter, model string, reply agentReply) {
	w.Header().Set("Content-Type", "text/event-stream")
	event := func(name string, data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
	}
	type obj = map[string]any
	event("message_start", obj{"type": "message_start", "message": obj{"id": "msg_agent", "type": "message", "role": "assistant",
		"content": []any{}, "model": model, "stop_reason": nil, "stop_sequence": nil, "usage": obj{"input_tokens": 40, "output_tokens": 1}}})
	index := 0
	if reply.text != "" {
		event("content_block_start", obj{"type": "content_block_start", "index": index, "content_block": obj{"type": "text", "text": ""}})
		half := len(reply.text) / 2
		for _, part := range []string{reply.text[:half], reply.text[half:]} {
			event("content_block_delta", obj{"type": "content_block_delta", "index": index, "delta": obj{"type": "text_delta", "text": part}})
		}
		event("content_block_stop", obj{"type": "content_block_stop", "index": index})
		index++
	}
	for _, c := range reply.calls {
		event("content_block_start", obj{"type": "content_block_start", "index": index, "content_block": obj{"type": "tool_use", "id": c.ID, "name": c.Name, "input": obj{}}})
		half := len(c.Args) / 2
		for _, part := range []string{c.Args[:half], c.Args[half:]} {
			event("content_block_delta", obj{"type": "content_block_delta", "index": index, "delta": obj{"type": "input_json_delta", "partial_json": part}})
		}
		event("content_block_stop", obj{"type": "content_block_stop", "index": index})
		index++
	}
	_, stop := anthropicBlocks(reply)
	event("message_delta", obj{"type": "message_delta", "delta": obj{"stop_reason": stop, "stop_sequence": nil}, "usage": obj{"output_tokens": 20}})
	event("message_stop", obj{"type": "message_stop"})
}

// agentSuite is the conversation suite the agent plays: eight cases, each
// a way a tool loop goes, with four tools whose mocks answer by rules, a
// fixed result, an error (a case's mock) and a script.
type agentSuite struct {
	targets string // the suite's targets, a JSON array
	judge   string // the judge target, a JSON object
	gate    string // the gate, a JSON array; by default one that holds
	extra   string // more top-level fields, each followed by a comma
}

const orderParams = `{"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string"}}}`

// write writes the suite to dir/suite.json, with its exec mock, and
// returns the suite's path.
func (a agentSuite) write(t *testing.T, dir string) string {
	t.Helper()
	gate := a.gate
	if gate == "" {
		gate = `["criteria.answer.pass_rate >= 0.75"]`
	}
	suite := `{
  "name": "order-agent",
  "messages": [
    {"role": "system", "content": "` + agentSystem + `"},
    {"role": "user", "content": "[{{ id }}] {{ question }}"}
  ],
  "tools": [
    {"type": "function",
     "function": {"name": "lookup_order", "description": "Find an order by id",
                  "parameters": {"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string", "pattern": "^[A-Z][0-9]$"}}}},
     "mock": {"rules": [{"when": {"order_id": "A1"}, "result": {"status": "shipped"}},
                        {"when": {"order_id": "B2"}, "result": {"status": "processing"}}]}},
    {"type": "function", "function": {"name": "track_parcel", "description": "Where an order's parcel is", "parameters": ` + orderParams + `},
     "mock": {"result": "In transit at the Oslo hub"}},
    {"type": "function", "function": {"name": "refund", "description": "Refund an order", "parameters": ` + orderParams + `},
     "mock": {"result": "refunded"}},
    {"type": "function", "function": {"name": "check_return", "description": "Whether an order can be returned", "parameters": ` + orderParams + `},
     "mock": {"exec": ["./check_return.sh"], "timeout": "10s"}}
  ],
  "tool_choice": "auto",
  "max_steps": 3,
  "dataset": {"cases": [
    {"id": "one-call", "question": "Where is my order A1?", "expected": {"keyword": "shipped", "answer": "Order A1 has shipped."}, "tags": ["lookup"]},
    {"id": "parallel", "question": "Where are order B2 and its parcel?", "expected": {"keyword": "Oslo", "answer": "Order B2 is being packed; its parcel is at the Oslo hub."}, "tags": ["lookup"]},
    {"id": "malformed", "question": "Look up order A1, quickly.", "expected": {"keyword": "Sorry", "answer": "Order A1 has shipped."}, "tags": ["errors"]},
    {"id": "loop", "question": "Keep an eye on order A1.", "expected": {"keyword": "shipped", "answer": "Order A1 has shipped."}, "tags": ["lookup"]},
    {"id": "multi-turn", "question": "I have a question about order A1.", "order": "A1", "turns": ["Can I return order {{ order }}?"],
     "expected": {"keyword": "return", "answer": "Yes: order A1 can be returned until 2027-01-31."}, "tags": ["multi"]},
    {"id": "no-rule", "question": "Where is order Z9?", "expected": {"keyword": "could not find", "answer": "There is no order Z9."}, "tags": ["errors"]},
    {"id": "unknown-tool", "question": "Cancel order A1.", "expected": {"keyword": "cannot cancel", "answer": "I cannot cancel orders; a human agent will."}, "tags": ["errors"]},
    {"id": "refund", "question": "Refund order A1.", "mocks": {"refund": {"error": "refunds need a human agent"}},
     "expected": {"keyword": "human agent", "answer": "A human agent will refund order A1."}, "tags": ["errors"]}
  ]},
  "criteria": [
    {"name": "answer", "type": "contains", "value": "{{ expected.keyword }}"},
    {"name": "each-turn", "type": "regex", "pattern": "^[A-Z]", "turn": "each"},
    {"name": "turn-2", "type": "contains", "value": "return", "turn": 2},
    {"name": "clean-tools", "type": "not-contains", "value": "\"error\":\"", "turn": "transcript"},
    {"name": "grounded", "type": "judge", "judge": ` + a.judge + `,
     "rubric": "Did the assistant use what a tool returned?\n\nIts answer:\n{{ output }}\n\nThe conversation, as JSON:\n{{ transcript }}"}
  ],
  "case_pass": "score",
  "pass_score": 0.75,
  "reference": "{{ expected.answer }}",
  ` + a.extra + `
  "targets": ` + a.targets + `,
  "gate": ` + gate + `
}
`
	writeFiles(t, dir, map[string]string{
		"suite.json": suite,
		// The exec mock answers with the call it read on stdin.
		"check_return.sh": "#!/bin/sh\nread -r call\nprintf 'returnable until 2027-01-31; call: %s\\n' \"$call\"\n",
	})
	if err := os.Chmod(filepath.Join(dir, "check_return.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "suite.json")
}

// agentToolsJSON is the suite's tools as OpenAI's API and its fine-tuning
// data write them: without their mocks.
const agentToolsJSON = `[{"type":"function","function":{"name":"lookup_order","description":"Find an order by id","parameters":{"type":"object","required":["order_id"],"properties":{"order_id":{"type":"string","pattern":"^[A-Z][0-9]$"}}}}},` +
	`{"type":"function","function":{"name":"track_parcel","description":"Where an order's parcel is","parameters":` + orderParamsJSON + `}},` +
	`{"type":"function","function":{"name":"refund","description":"Refund an order","parameters":` + orderParamsJSON + `}},` +
	`{"type":"function","function":{"name":"check_return","description":"Whether an order can be returned","parameters":` + orderParamsJSON + `}}]`

const orderParamsJSON = `{"type":"object","required":["order_id"],"properties":{"order_id":{"type":"string"}}}`

// openAIAgent is an openai target of the agent server, model model.
func openAIAgent(name, url, model string, concurrency int, extra string) string {
	return fmt.Sprintf(`{"name": %q, "provider": "openai", "base_url": %q, "model": %q, "api_key_env": "RUBRIC_E2E_KEY",
    "params": {"temperature": 0}, "retry": {"attempts": 3, "base_delay": "1ms", "max_delay": "5ms"}, %s
    "concurrency": %d, "timeout": "10s"}`, name, url+"/v1", model, extra, concurrency)
}

// openAIJudge is the judge target of the agent server: model judgeModel.
func openAIJudge(url string) string {
	return `{"name": "grader", "provider": "openai", "base_url": "` + url + `/v1", "model": "` + judgeModel + `", "api_key_env": "RUBRIC_E2E_KEY"}`
}

// anthropicAgent is an anthropic target of the agent server.
func anthropicAgent(name, url, model string, stream bool) string {
	return fmt.Sprintf(`{"name": %q, "provider": "anthropic", "base_url": %q, "model": %q, "api_key_env": "RUBRIC_E2E_ANTHROPIC_KEY",
    "params": {"max_tokens": 300}, "stream": %v, "retry": {"attempts": 2, "base_delay": "1ms"}, "concurrency": 4, "timeout": "10s"}`, name, url, model, stream)
}

// agentOutcome is how each case of the agent suite ends with the agent of
// version 2: its status, counts and outcome, and each criterion's verdict
// in the suite's order.
type agentOutcome struct {
	status                               evals.Status
	steps, calls, toolErrors             int
	outcome                              string
	answer, each, turn2, clean, grounded string
}

var agentOutcomes = map[string]agentOutcome{
	"one-call":     {evals.StatusPassed, 2, 1, 0, "", "pass", "pass", "unscored", "pass", "pass"},
	"parallel":     {evals.StatusPassed, 2, 2, 0, "", "pass", "pass", "unscored", "pass", "pass"},
	"malformed":    {evals.StatusFailed, 2, 1, 1, "", "pass", "pass", "unscored", "fail", "fail"},
	"loop":         {evals.StatusFailed, 3, 3, 0, evals.OutcomeMaxSteps, "fail", "fail", "unscored", "pass", "pass"},
	"multi-turn":   {evals.StatusPassed, 3, 1, 0, "", "pass", "pass", "pass", "pass", "pass"},
	"no-rule":      {evals.StatusFailed, 2, 1, 1, "", "pass", "pass", "unscored", "fail", "fail"},
	"unknown-tool": {evals.StatusFailed, 2, 1, 1, "", "pass", "pass", "unscored", "fail", "fail"},
	"refund":       {evals.StatusFailed, 2, 1, 1, "", "pass", "pass", "unscored", "fail", "fail"},
}

// agentCaseIDs are the cases in the dataset's order.
var agentCaseIDs = []string{"one-call", "parallel", "malformed", "loop", "multi-turn", "no-rule", "unknown-tool", "refund"}

// wantAgentTranscripts are the transcripts of the agent of version 2, the
// malformed case's call having arguments args answered with the tool error
// argsErr.
func wantAgentTranscripts(args, argsErr string) map[string][]evals.Message {
	sys := evals.Message{Role: "system", Content: agentSystem}
	user := func(s string) evals.Message { return evals.Message{Role: evals.RoleUser, Content: s} }
	asst := func(text string, calls ...evals.ToolCall) evals.Message {
		return evals.Message{Role: evals.RoleAssistant, Content: text, ToolCalls: calls}
	}
	call := func(id, name, args string) evals.ToolCall { return evals.NewToolCall(id, name, args) }
	tool := func(id, name, content string) evals.Message {
		return evals.Message{Role: evals.RoleTool, ToolCallID: id, Name: name, Content: content}
	}
	toolErr := func(id, name, msg string) evals.Message {
		return evals.Message{Role: evals.RoleTool, ToolCallID: id, Name: name, Content: "Error: " + msg, Error: msg}
	}
	const shipped, processing, parcel = `{"status":"shipped"}`, `{"status":"processing"}`, "In transit at the Oslo hub"
	returnable := `returnable until 2027-01-31; call: {"id":"call_multi-turn_1_0","name":"check_return","arguments":{"order_id":"A1"},` +
		`"case":{"id":"multi-turn","vars":{"order":"A1","question":"I have a question about order A1."}}}`
	noRule := `no rule of the mock of lookup_order matches the arguments {"order_id":"Z9"}`
	noTool := `no tool named "cancel_order": the tools are "lookup_order", "track_parcel", "refund", "check_return"`
	return map[string][]evals.Message{
		"one-call": {sys, user("[one-call] Where is my order A1?"),
			asst("", call("call_one-call_0_0", "lookup_order", `{"order_id":"A1"}`)),
			tool("call_one-call_0_0", "lookup_order", shipped),
			asst("Order A1: " + shipped)},
		"parallel": {sys, user("[parallel] Where are order B2 and its parcel?"),
			asst("Let me check both.", call("call_parallel_0_0", "lookup_order", `{"order_id":"B2"}`), call("call_parallel_0_1", "track_parcel", `{"order_id":"B2"}`)),
			tool("call_parallel_0_0", "lookup_order", processing),
			tool("call_parallel_0_1", "track_parcel", parcel),
			asst("Order B2: " + processing + "; parcel: " + parcel)},
		"malformed": {sys, user("[malformed] Look up order A1, quickly."),
			asst("", call("call_malformed_0_0", "lookup_order", args)),
			toolErr("call_malformed_0_0", "lookup_order", argsErr),
			asst("Sorry, that went wrong: Error: " + argsErr)},
		"loop": {sys, user("[loop] Keep an eye on order A1."),
			asst("", call("call_loop_0_0", "lookup_order", `{"order_id":"A1"}`)),
			tool("call_loop_0_0", "lookup_order", shipped),
			asst("", call("call_loop_1_0", "lookup_order", `{"order_id":"A1"}`)),
			tool("call_loop_1_0", "lookup_order", shipped),
			asst("", call("call_loop_2_0", "lookup_order", `{"order_id":"A1"}`))},
		"multi-turn": {sys, user("[multi-turn] I have a question about order A1."),
			asst("Sure, what would you like to know about order A1?"),
			user("Can I return order A1?"),
			asst("", call("call_multi-turn_1_0", "check_return", `{"order_id":"A1"}`)),
			tool("call_multi-turn_1_0", "check_return", returnable),
			asst("Yes, you can return order A1: " + returnable)},
		"no-rule": {sys, user("[no-rule] Where is order Z9?"),
			asst("", call("call_no-rule_0_0", "lookup_order", `{"order_id":"Z9"}`)),
			toolErr("call_no-rule_0_0", "lookup_order", noRule),
			asst("I could not find order Z9. Error: " + noRule)},
		"unknown-tool": {sys, user("[unknown-tool] Cancel order A1."),
			asst("", call("call_unknown-tool_0_0", "cancel_order", `{"order_id":"A1"}`)),
			toolErr("call_unknown-tool_0_0", "cancel_order", noTool),
			asst("I cannot cancel orders. Error: " + noTool)},
		"refund": {sys, user("[refund] Refund order A1."),
			asst("", call("call_refund_0_0", "refund", `{"order_id":"A1"}`)),
			toolErr("call_refund_0_0", "refund", "refunds need a human agent"),
			asst("A human agent will handle your refund. Error: refunds need a human agent")},
	}
}

// The malformed call as OpenAI sends it, and as a streamed Anthropic
// answer does: JSON cut off.
const (
	cutArgs    = `{"order_id": "A1"`
	cutArgsErr = "the arguments of lookup_order are not valid JSON: arguments are not JSON: unexpected end of JSON input"
)

// readResults reads a run's results.jsonl as results.
func readResults(t *testing.T, runDir string) []evals.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []evals.Result
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		var r evals.Result
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("results.jsonl:%d: %v", i+1, err)
		}
		out = append(out, r)
	}
	return out
}

// convReport is the part of report.json the conversation tests read.
type convReport struct {
	Complete    bool                  `json:"complete"`
	Interrupted bool                  `json:"interrupted"`
	Targets     []evals.TargetSummary `json:"targets"`
	Gate        struct {
		Held bool `json:"held"`
	} `json:"gate"`
}

func readConvReport(t *testing.T, runDir string) convReport {
	t.Helper()
	var rep convReport
	readJSON(t, filepath.Join(runDir, "report.json"), &rep)
	return rep
}

// verdict is a score as agentOutcome writes it.
func verdict(sc evals.Score) string {
	switch {
	case sc.Unscored:
		return "unscored"
	case sc.Pass:
		return "pass"
	}
	return "fail"
}

// checkAgentResults checks target's results of a run of the agent suite
// against want: one result per case (and repeat), none an error, each with
// its transcript, counts, outcome, status and verdicts; and that the judge
// was shown each transcript as recorded. It returns the results by case.
func checkAgentResults(t *testing.T, results []evals.Result, target string, want map[string][]evals.Message, srv *agentServer) map[string]evals.Result {
	t.Helper()
	byCase := map[string]evals.Result{}
	for _, r := range results {
		if r.Target != target {
			continue
		}
		if _, dup := byCase[r.CaseID]; dup {
			t.Errorf("%s: %s has two results", target, r.CaseID)
		}
		byCase[r.CaseID] = r
		o, ok := agentOutcomes[r.CaseID]
		if !ok {
			t.Errorf("%s: a result for an unknown case %q", target, r.CaseID)
			continue
		}
		if r.Error != nil || r.Status != o.status {
			t.Errorf("%s: %s: status %s, error %+v; want %s", target, r.CaseID, r.Status, r.Error, o.status)
		}
		if !reflect.DeepEqual(r.Transcript, want[r.CaseID]) {
			got, _ := json.MarshalIndent(r.Transcript, "", "  ")
			exp, _ := json.MarshalIndent(want[r.CaseID], "", "  ")
			t.Errorf("%s: %s: transcript\n%s\nwant\n%s", target, r.CaseID, got, exp)
		}
		if r.Steps != o.steps || r.ToolCalls != o.calls || r.ToolErrors != o.toolErrors || r.Outcome != o.outcome {
			t.Errorf("%s: %s: steps %d, tool calls %d, tool errors %d, outcome %q; want %d, %d, %d, %q",
				target, r.CaseID, r.Steps, r.ToolCalls, r.ToolErrors, r.Outcome, o.steps, o.calls, o.toolErrors, o.outcome)
		}
		var got []string
		for _, sc := range r.Scores {
			got = append(got, sc.Name+":"+verdict(sc))
		}
		if w := []string{"answer:" + o.answer, "each-turn:" + o.each, "turn-2:" + o.turn2, "clean-tools:" + o.clean, "grounded:" + o.grounded}; !slices.Equal(got, w) {
			t.Errorf("%s: %s: verdicts %q, want %q", target, r.CaseID, got, w)
		}
		// The output is the last assistant message's text.
		if tr := r.Transcript; len(tr) > 0 && r.Output != tr[len(tr)-1].Content {
			t.Errorf("%s: %s: output %q, want the last message's text", target, r.CaseID, r.Output)
		}
		srv.mu.Lock()
		judged := srv.judged[r.CaseID]
		srv.mu.Unlock()
		if !slices.ContainsFunc(judged, func(tr []evals.Message) bool { return reflect.DeepEqual(tr, r.Transcript) }) {
			t.Errorf("%s: %s: the judge never read the transcript; it read\n%+v", target, r.CaseID, judged)
		}
	}
	for _, id := range agentCaseIDs {
		if _, ok := byCase[id]; !ok {
			t.Errorf("%s: no result for %s", target, id)
		}
	}
	return byCase
}

// checkAgentRequests checks the requests reqs of the target whose results
// are byCase: each carries the conversation up to an assistant message of
// its case's transcript (in the wire format's terms), and each case sent
// as many as its steps, each step once.
func checkAgentRequests(t *testing.T, srv *agentServer, reqs []agentRequest, byCase map[string]evals.Result) {
	t.Helper()
	sent := map[string]int{}
	for _, q := range reqs {
		model := q.model
		key := fmt.Sprint(q.caseID, "/", q.n)
		sent[key]++
		if sent[key] > 1 {
			t.Errorf("%s: step %s was sent %d times", model, key, sent[key])
		}
		tr := byCase[q.caseID].Transcript
		if q.n >= len(tr) || tr[q.n].Role != evals.RoleAssistant {
			t.Errorf("%s: a request for %s with %d messages answers no assistant message of the transcript", model, q.caseID, q.n)
			continue
		}
		var got []agentMsg
		if srv.anthropic {
			got = anthropicConversation(q.body)
		} else {
			got = openAIConversation(q.body)
		}
		if want := agentView(tr[:q.n], srv.anthropic); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: request for %s with %d messages sent\n%+v\nwant\n%+v", model, q.caseID, q.n, got, want)
		}
	}
	for id, r := range byCase {
		n := 0
		for key, c := range sent {
			if strings.HasPrefix(key, id+"/") {
				n += c
			}
		}
		if n != r.Steps {
			t.Errorf("%s: %s sent %d requests, its result counts %d steps", r.Target, id, n, r.Steps)
		}
	}
}

// checkConversations checks a target's conversations in report.json.
func checkConversations(t *testing.T, ts evals.TargetSummary, times int) {
	t.Helper()
	want := &evals.ConversationSummary{Cases: 8 * times, Steps: 18 * times, StepsMean: 2.25, ToolCalls: 11 * times, ToolErrors: 4 * times, MaxSteps: times}
	if !reflect.DeepEqual(ts.Conversations, want) {
		t.Errorf("%s: report conversations %+v, want %+v", ts.Name, ts.Conversations, want)
	}
}

// TestConversationOpenAI runs the agent suite against an OpenAI-compatible
// agent: one tool call, parallel calls, malformed arguments, a loop that
// reaches max_steps, a second turn with a call answered by a script, a call
// no mock rule answers, an unknown tool and a mock's error. Every case ends
// with a recorded outcome and its exact transcript; the requests carry the
// tools and the conversation; the report sums the conversations; criteria
// score each turn, turn 2 and the transcript; a judge reads the transcript;
// the gate decides the exit code; and a second run comes from the cache.
func TestConversationOpenAI(t *testing.T) {
	t.Parallel()
	srv := newAgentServer(t, false)
	dir := t.TempDir()
	const model = "agent-openai"
	agentSuite{
		targets: "[" + openAIAgent("agent", srv.URL, model, 4, "") + "]",
		judge:   openAIJudge(srv.URL),
	}.write(t, dir)
	env := []string{"RUBRIC_E2E_KEY=" + e2eKey}
	r := rubric(t, dir, env, "run", "suite.json", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("want exit 0 (the gate holds)\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	runDir := filepath.Join(dir, "runs", id)
	runFiles(t, dir, "runs", id)
	results := readResults(t, runDir)
	if len(results) != len(agentCaseIDs) {
		t.Errorf("results.jsonl has %d lines, want %d", len(results), len(agentCaseIDs))
	}
	byCase := checkAgentResults(t, results, "agent", wantAgentTranscripts(cutArgs, cutArgsErr), srv)
	checkAgentRequests(t, srv, srv.agentRequests(), byCase)

	// The wire format of a step after parallel calls, byte for byte: the
	// assistant message with its text and both calls, then a tool message
	// per call; the tools (without their mocks) and tool_choice after the
	// messages, then the params.
	tools := `"tools":` + agentToolsJSON + `,"tool_choice":"auto","temperature":0`
	wantBodies := map[string]string{
		"parallel/5": `{"model":"agent-openai","messages":[{"role":"system","content":"You are ACME's support assistant. Use the tools."},` +
			`{"role":"user","content":"[parallel] Where are order B2 and its parcel?"},` +
			`{"role":"assistant","content":"Let me check both.","tool_calls":[{"id":"call_parallel_0_0","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"B2\"}"}},` +
			`{"id":"call_parallel_0_1","type":"function","function":{"name":"track_parcel","arguments":"{\"order_id\":\"B2\"}"}}]},` +
			`{"role":"tool","content":"{\"status\":\"processing\"}","tool_call_id":"call_parallel_0_0"},` +
			`{"role":"tool","content":"In transit at the Oslo hub","tool_call_id":"call_parallel_0_1"}],` + tools + `}`,
		// Malformed arguments go back as the model wrote them, a tool
		// error as the content the model is told.
		"malformed/4": `{"model":"agent-openai","messages":[{"role":"system","content":"You are ACME's support assistant. Use the tools."},` +
			`{"role":"user","content":"[malformed] Look up order A1, quickly."},` +
			`{"role":"assistant","content":null,"tool_calls":[{"id":"call_malformed_0_0","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\": \"A1\""}}]},` +
			`{"role":"tool","content":"Error: ` + strings.ReplaceAll(cutArgsErr, `"`, `\"`) + `","tool_call_id":"call_malformed_0_0"}],` + tools + `}`,
	}
	for _, q := range srv.agentRequests() {
		key := fmt.Sprint(q.caseID, "/", q.n)
		if want, ok := wantBodies[key]; ok {
			delete(wantBodies, key)
			if string(q.raw) != want {
				t.Errorf("request %s:\n got %s\nwant %s", key, q.raw, want)
			}
		}
		if !bytes.HasSuffix(q.raw, []byte("],"+tools+"}")) {
			t.Errorf("request %s/%d does not end with the tools, tool_choice and params: %s", q.caseID, q.n, q.raw)
		}
	}
	for key := range wantBodies {
		t.Errorf("no request %s", key)
	}
	// A result records the last request and sums the usage of all.
	for id, res := range byCase {
		var body struct {
			Messages []json.RawMessage `json:"messages"`
		}
		if res.Request == nil || json.Unmarshal(res.Request.Body, &body) != nil || res.Request.URL != srv.URL+"/v1/chat/completions" {
			t.Errorf("%s: recorded request %+v", id, res.Request)
		} else if n := len(body.Messages); n != lastAsked(res.Transcript) {
			t.Errorf("%s: the recorded request has %d messages, the last step sent %d", id, n, lastAsked(res.Transcript))
		}
		if want := (evals.Usage{PromptTokens: 30 * res.Steps, CompletionTokens: 5 * res.Steps, TotalTokens: 35 * res.Steps}); res.Usage != want {
			t.Errorf("%s: usage %+v, want %+v", id, res.Usage, want)
		}
		if res.Attempts != res.Steps || res.Cached {
			t.Errorf("%s: attempts %d, cached %v; want %d, false", id, res.Attempts, res.Cached, res.Steps)
		}
	}

	// Per-turn criteria say which turn.
	reasons := map[string]string{}
	for _, id := range []string{"multi-turn", "loop", "one-call", "malformed"} {
		for _, sc := range byCase[id].Scores {
			reasons[id+"/"+sc.Name] = sc.Reason
		}
	}
	for key, want := range map[string]string{
		"multi-turn/each-turn": "2 of 2 turns passed",
		"multi-turn/turn-2":    "",
		"loop/each-turn":       `1 of 1 turns failed; turn 1: no match for /^[A-Z]/ in ""`,
		"one-call/turn-2":      "turn 2: the conversation has 1 turn(s)",
		"loop/answer":          `got "", expected it to contain "shipped"`,
	} {
		if reasons[key] != want {
			t.Errorf("%s: reason %q, want %q", key, reasons[key], want)
		}
	}
	if reason := reasons["malformed/clean-tools"]; !strings.HasPrefix(reason, `found "\"error\":\"" in `) {
		t.Errorf("malformed/clean-tools: reason %q does not quote the tool error", reason)
	}

	rep := readConvReport(t, runDir)
	if len(rep.Targets) != 1 || !rep.Complete || !rep.Gate.Held {
		t.Fatalf("report: complete %v, gate held %v, %d targets", rep.Complete, rep.Gate.Held, len(rep.Targets))
	}
	ts := rep.Targets[0]
	checkConversations(t, ts, 1)
	if ts.Cases != 8 || ts.Passed != 3 || ts.Failed != 5 || ts.Errored != 0 || ts.Unscored != 0 {
		t.Errorf("report: %d cases, %d passed, %d failed, %d errored, %d unscored; want 8, 3, 5, 0, 0", ts.Cases, ts.Passed, ts.Failed, ts.Errored, ts.Unscored)
	}
	crit := map[string]evals.CriterionSummary{}
	for _, c := range ts.Criteria {
		crit[c.Name] = c
	}
	// turn 2 exists in one conversation; the others leave it unscored.
	if c := crit["turn-2"]; c.N != 1 || c.Passed != 1 || c.Unscored != 7 {
		t.Errorf("report: turn-2 scored %d, passed %d, unscored %d; want 1, 1, 7", c.N, c.Passed, c.Unscored)
	}
	if c := crit["answer"]; c.N != 8 || c.Passed != 7 {
		t.Errorf("report: answer scored %d, passed %d; want 8, 7", c.N, c.Passed)
	}
	if ts.Judges == nil || ts.Judges.Calls != 8 {
		t.Errorf("report: judges %+v, want 8 calls", ts.Judges)
	}
	// The summary shows how each failed conversation ended.
	wantLines(t, "stdout", r.stdout,
		"gate held",
		"    max_steps after 3 steps, 3 tool calls; the last 3 of 7 messages:",
		`      assistant: → lookup_order({"order_id":"A1"})`,
	)

	// The same run again comes from the cache, tool calls and all: nothing
	// is sent, the transcripts are the same, and a gate that fails exits 1.
	before := len(srv.requests())
	r = rubric(t, dir, env, "run", "suite.json", "--out", "runs", "--gate", "pass_rate >= 0.5")
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1 (pass_rate 0.375 < 0.5)\n%s", r)
	}
	wantLines(t, "stdout", r.stdout, "  FAIL  agent: pass_rate >= 0.5: got 0.375, off by 0.125")
	if n := len(srv.requests()) - before; n != 0 {
		t.Errorf("the cached run sent %d requests, want none", n)
	}
	again := readResults(t, filepath.Join(dir, "runs", runIDs(t, r.stderr)[0]))
	checkAgentResults(t, again, "agent", wantAgentTranscripts(cutArgs, cutArgsErr), srv)
	for _, res := range again {
		if !res.Cached || res.Attempts != 0 {
			t.Errorf("%s: cached %v, attempts %d in the cached run", res.CaseID, res.Cached, res.Attempts)
		}
	}
	checkNoKey(t, r, filepath.Join(dir, "runs", runIDs(t, r.stderr)[0]))

	// The recorded run replays offline: each step answered from the
	// transcripts, the calls by the mocks again, the same conversations.
	recorded, err := os.ReadFile(filepath.Join(runDir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"recorded.jsonl":     string(recorded),
		"rubric.config.json": `{"targets": {"replayed": {"provider": "replay", "path": "recorded.jsonl", "replay_as": "agent"}}}`,
	})
	before = len(srv.agentRequests())
	r = rubric(t, dir, env, "run", "suite.json", "--out", "runs", "--target", "replayed")
	if r.code != exitOK {
		t.Fatalf("replay: want exit 0\n%s", r)
	}
	replayed := readResults(t, filepath.Join(dir, "runs", runIDs(t, r.stderr)[0]))
	checkAgentResults(t, replayed, "replayed", wantAgentTranscripts(cutArgs, cutArgsErr), srv)
	if n := len(srv.agentRequests()) - before; n != 0 {
		t.Errorf("the replay sent %d requests to the agent, want none", n)
	}
}

// TestConversationOpenAIStream runs the agent suite with a streamed
// OpenAI-compatible target: the calls come in pieces of delta.tool_calls,
// parallel ones by their index, malformed arguments cut off, and the
// conversations are the same as whole answers give.
func TestConversationOpenAIStream(t *testing.T) {
	t.Parallel()
	srv := newAgentServer(t, false)
	dir := t.TempDir()
	agentSuite{
		targets: "[" + openAIAgent("agent", srv.URL, "agent-stream", 4, `"stream": true,`) + "]",
		judge:   openAIJudge(srv.URL),
	}.write(t, dir)
	r := rubric(t, dir, []string{"RUBRIC_E2E_KEY=" + e2eKey}, "run", "suite.json", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	runDir := filepath.Join(dir, "runs", runIDs(t, r.stderr)[0])
	results := readResults(t, runDir)
	if len(results) != len(agentCaseIDs) {
		t.Errorf("results.jsonl has %d lines, want %d", len(results), len(agentCaseIDs))
	}
	byCase := checkAgentResults(t, results, "agent", wantAgentTranscripts(cutArgs, cutArgsErr), srv)
	reqs := srv.agentRequests()
	for _, q := range reqs {
		if !q.stream {
			t.Errorf("request %s/%d was not streamed", q.caseID, q.n)
		}
	}
	checkAgentRequests(t, srv, reqs, byCase)
	for id, res := range byCase {
		finish := map[bool]string{true: "tool_calls", false: "stop"}[id == "loop"]
		if res.Finish != finish || res.Stream == nil || res.Usage.TotalTokens != 35*res.Steps {
			t.Errorf("%s: finish_reason %q, stream %+v, usage %+v; want %q, timings, %d tokens", id, res.Finish, res.Stream, res.Usage, finish, 35*res.Steps)
		}
	}
	rep := readConvReport(t, runDir)
	if len(rep.Targets) != 1 || rep.Targets[0].Stream == nil || rep.Targets[0].Stream.Responses != 8 {
		t.Fatalf("report: targets %+v", rep.Targets)
	}
	checkConversations(t, rep.Targets[0], 1)
}

// lastAsked is how many messages the last request of a conversation sent:
// those before its last assistant message.
func lastAsked(transcript []evals.Message) int {
	for i := len(transcript) - 1; i >= 0; i-- {
		if transcript[i].Role == evals.RoleAssistant {
			return i
		}
	}
	return 0
}

// TestConversationAnthropic runs the agent suite against the same agent
// speaking Anthropic's Messages API, whole and streamed, in one run: the
// calls come as tool_use blocks (stop_reason tool_use), parallel ones in one
// answer; their results go back as tool_result blocks in one user message,
// tool errors with is_error. The transcripts are the OpenAI run's, but for
// the malformed call: a whole answer's input is an object, here one that
// does not fit the tool's parameters, while a stream's is cut off mid-JSON.
func TestConversationAnthropic(t *testing.T) {
	t.Parallel()
	srv := newAgentServer(t, true)
	dir := t.TempDir()
	const model = "agent-claude"
	agentSuite{
		targets: "[" + anthropicAgent("claude", srv.URL, model, false) + ",\n" + anthropicAgent("claude-stream", srv.URL, model, true) + "]",
		judge: `{"name": "grader", "provider": "anthropic", "base_url": "` + srv.URL + `", "model": "` + judgeModel +
			`", "api_key_env": "RUBRIC_E2E_ANTHROPIC_KEY", "params": {"max_tokens": 200}}`,
	}.write(t, dir)
	r := rubric(t, dir, []string{"RUBRIC_E2E_ANTHROPIC_KEY=" + anthropicKey}, "run", "suite.json", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	runDir := filepath.Join(dir, "runs", id)
	runFiles(t, dir, "runs", id)
	results := readResults(t, runDir)
	if len(results) != 2*len(agentCaseIDs) {
		t.Errorf("results.jsonl has %d lines, want %d", len(results), 2*len(agentCaseIDs))
	}
	const schemaErr = "the arguments of lookup_order do not fit its parameters: order_id: Invalid type. Expected: string, given: integer"
	whole := checkAgentResults(t, results, "claude", wantAgentTranscripts(`{"order_id":7}`, schemaErr), srv)
	streamed := checkAgentResults(t, results, "claude-stream", wantAgentTranscripts(cutArgs, cutArgsErr), srv)
	reqs := srv.agentRequests()
	isStream := func(q agentRequest) bool { return q.stream }
	checkAgentRequests(t, srv, slices.DeleteFunc(slices.Clone(reqs), isStream), whole)
	checkAgentRequests(t, srv, slices.DeleteFunc(slices.Clone(reqs), func(q agentRequest) bool { return !q.stream }), streamed)

	for target, byCase := range map[string]map[string]evals.Result{"claude": whole, "claude-stream": streamed} {
		for id, res := range byCase {
			finish := "end_turn"
			if id == "loop" {
				finish = "tool_use"
			}
			if res.Finish != finish || res.Request == nil || res.Request.URL != srv.URL+"/v1/messages" {
				t.Errorf("%s: %s: finish_reason %q, request %+v; want %q", target, id, res.Finish, res.Request, finish)
			}
			if want := (evals.Usage{PromptTokens: 40 * res.Steps, CompletionTokens: 20 * res.Steps, TotalTokens: 60 * res.Steps}); res.Usage != want {
				t.Errorf("%s: %s: usage %+v, want %+v", target, id, res.Usage, want)
			}
			if (res.Stream != nil) != (target == "claude-stream") {
				t.Errorf("%s: %s: stream timings %+v", target, id, res.Stream)
			}
		}
	}

	// The Messages API's shapes, byte for byte: an assistant turn of a text
	// block and a tool_use block per call, then one user turn holding a
	// tool_result per call; a tool error's result has is_error; the tools
	// have input_schema, and tool_choice is {"type": "auto"}.
	tools := `"tools":[{"name":"lookup_order","description":"Find an order by id","input_schema":{"type":"object","required":["order_id"],"properties":{"order_id":{"type":"string","pattern":"^[A-Z][0-9]$"}}}},` +
		`{"name":"track_parcel","description":"Where an order's parcel is","input_schema":{"type":"object","required":["order_id"],"properties":{"order_id":{"type":"string"}}}},` +
		`{"name":"refund","description":"Refund an order","input_schema":{"type":"object","required":["order_id"],"properties":{"order_id":{"type":"string"}}}},` +
		`{"name":"check_return","description":"Whether an order can be returned","input_schema":{"type":"object","required":["order_id"],"properties":{"order_id":{"type":"string"}}}}],` +
		`"tool_choice":{"type":"auto"}`
	head := `{"model":"agent-claude","max_tokens":300,"system":"You are ACME's support assistant. Use the tools.","messages":[`
	wantBodies := map[string]string{
		"parallel/5": head + `{"role":"user","content":"[parallel] Where are order B2 and its parcel?"},` +
			`{"role":"assistant","content":[{"type":"text","text":"Let me check both."},{"type":"tool_use","id":"call_parallel_0_0","name":"lookup_order","input":{"order_id":"B2"}},` +
			`{"type":"tool_use","id":"call_parallel_0_1","name":"track_parcel","input":{"order_id":"B2"}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_parallel_0_0","content":"{\"status\":\"processing\"}"},` +
			`{"type":"tool_result","tool_use_id":"call_parallel_0_1","content":"In transit at the Oslo hub"}]}],` + tools + `}`,
		"no-rule/4": head + `{"role":"user","content":"[no-rule] Where is order Z9?"},` +
			`{"role":"assistant","content":[{"type":"tool_use","id":"call_no-rule_0_0","name":"lookup_order","input":{"order_id":"Z9"}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_no-rule_0_0","content":"Error: no rule of the mock of lookup_order matches the arguments {\"order_id\":\"Z9\"}","is_error":true}]}],` + tools + `}`,
	}
	checked := 0
	for _, q := range reqs {
		key := fmt.Sprint(q.caseID, "/", q.n)
		want, ok := wantBodies[key]
		if !ok {
			continue
		}
		checked++
		if q.stream {
			want = strings.TrimSuffix(want, "}") + `,"stream":true}`
		}
		if string(q.raw) != want {
			t.Errorf("request %s (stream %v):\n got %s\nwant %s", key, q.stream, q.raw, want)
		}
	}
	if checked != 2*len(wantBodies) {
		t.Errorf("%d requests checked byte for byte, want %d", checked, 2*len(wantBodies))
	}
	// A call cut off mid-JSON goes back with an empty input; one whose
	// input does not fit the schema, as it came.
	for _, q := range reqs {
		want := map[bool]string{true: `{}`, false: `{"order_id":7}`}[q.stream]
		if q.caseID == "malformed" && q.n == 4 &&
			!bytes.Contains(q.raw, []byte(`{"type":"tool_use","id":"call_malformed_0_0","name":"lookup_order","input":`+want+`}`)) {
			t.Errorf("the malformed call went back as %s", q.raw)
		}
	}

	rep := readConvReport(t, runDir)
	if len(rep.Targets) != 2 || !rep.Complete || !rep.Gate.Held {
		t.Fatalf("report: complete %v, gate held %v, %d targets", rep.Complete, rep.Gate.Held, len(rep.Targets))
	}
	for _, ts := range rep.Targets {
		checkConversations(t, ts, 1)
		if ts.Provider != "anthropic" || ts.Passed != 3 || ts.Errored != 0 {
			t.Errorf("report: %s: provider %s, %d passed, %d errored", ts.Name, ts.Provider, ts.Passed, ts.Errored)
		}
	}
	if found := findSecrets(t, []string{anthropicKey}, runDir); len(found) > 0 {
		t.Errorf("the API key is stored:\n%s", strings.Join(found, "\n"))
	}
}

// TestConversationCompare runs the agent suite twice with repeat: 2, with
// an earlier agent and then the current one (which answers the second
// repeat of parallel badly), and compares them: the report's statistics,
// slices, repeats and conversations count every repeat; --baseline and
// rubric compare find the regressions (both repeats of loop, the second of
// parallel) and the fixes (one-call); a slice gate on the cases of a tag
// holds or fails. One request at a time, so that the second repeat of
// parallel is the second one sent.
func TestConversationCompare(t *testing.T) {
	t.Parallel()
	srv := newAgentServer(t, false, func(s *agentServer) { s.flaky = true })
	srv.version.Store(1)
	dir := t.TempDir()
	agentSuite{
		targets: "[" + openAIAgent("agent", srv.URL, "agent-compare", 1, "") + "]",
		judge:   openAIJudge(srv.URL),
		extra:   `"repeat": 2,`,
		gate:    `["criteria.answer.pass_rate >= 0.75", "slice(tag=multi).pass_rate >= 1"]`,
	}.write(t, dir)
	env := []string{"RUBRIC_E2E_KEY=" + e2eKey}
	// The runs differ only by the agent: no cache.
	r := rubric(t, dir, env, "run", "suite.json", "--out", "runs", "--no-cache")
	if r.code != exitOK {
		t.Fatalf("v1: want exit 0\n%s", r)
	}
	v1 := runIDs(t, r.stderr)[0]
	if n := len(srv.agentRequests()); n != 2*16 {
		t.Errorf("v1: %d requests to the agent, want 32 (16 steps, twice)", n)
	}

	srv.version.Store(2)
	before := len(srv.requests())
	r = rubric(t, dir, env, "run", "suite.json", "--out", "runs", "--no-cache", "--baseline", v1, "--gate", "slice(tag=lookup).pass_rate >= 1")
	if r.code != exitGateFailed {
		t.Fatalf("v2: want exit 1 (the lookup slice fails)\n%s", r)
	}
	v2 := runIDs(t, r.stderr)[0]
	wantLines(t, "stdout", r.stdout,
		"  ok    agent: slice(tag=multi).pass_rate >= 1: 1 (margin 0)",
		"  FAIL  agent: slice(tag=lookup).pass_rate >= 1: got 0.5, off by 0.5",
	)
	// Each step of each repeat was sent once: every (case, step) twice.
	steps := map[string]int{}
	for _, q := range srv.requests()[before:] {
		if q.model != judgeModel {
			steps[fmt.Sprint(q.caseID, "/", q.n)]++
		}
	}
	for key, n := range steps {
		if n != 2 && !strings.HasPrefix(key, "parallel/") {
			t.Errorf("v2: step %s sent %d times, want 2 (one per repeat)", key, n)
		}
	}
	if steps["parallel/2"] != 2 || steps["parallel/5"] != 1 {
		t.Errorf("v2: parallel's steps sent %d and %d times, want 2 and 1 (one repeat did not call the tools)", steps["parallel/2"], steps["parallel/5"])
	}

	runDir := filepath.Join(dir, "runs", v2)
	results := readResults(t, runDir)
	if len(results) != 16 {
		t.Fatalf("v2: %d results, want 16", len(results))
	}
	passed := map[string]int{}
	for _, res := range results {
		if res.Transcript == nil || res.Steps == 0 {
			t.Errorf("v2: %s repeat %d has no conversation", res.CaseID, res.Repeat)
		}
		if res.Status == evals.StatusPassed {
			passed[res.CaseID]++
		}
	}
	if want := map[string]int{"one-call": 2, "multi-turn": 2, "parallel": 1}; !reflect.DeepEqual(passed, want) {
		t.Errorf("v2: passing repeats by case %v, want %v", passed, want)
	}

	rep := readConvReport(t, runDir)
	ts := rep.Targets[0]
	// One repeat of parallel ended at its first step, without its two
	// calls: a step and 2 calls fewer than twice a run's.
	want := &evals.ConversationSummary{Cases: 16, Steps: 35, StepsMean: 35.0 / 16, ToolCalls: 20, ToolErrors: 8, MaxSteps: 2}
	if !reflect.DeepEqual(ts.Conversations, want) {
		t.Errorf("v2: conversations %+v, want %+v", ts.Conversations, want)
	}
	if ts.Cases != 16 || ts.Passed != 5 || ts.PassRateCI == nil || ts.PassRateCI.Method != "wilson" ||
		!(ts.PassRateCI.Lo < ts.PassRate && ts.PassRate < ts.PassRateCI.Hi) || ts.MeanCI == nil {
		t.Errorf("v2: %d cases, %d passed, pass rate %v in %+v, mean interval %+v", ts.Cases, ts.Passed, ts.PassRate, ts.PassRateCI, ts.MeanCI)
	}
	for _, c := range ts.Criteria {
		if c.Name == "turn-2" && (c.N != 2 || c.Unscored != 14) {
			t.Errorf("v2: turn-2 scored %d, unscored %d; want 2, 14", c.N, c.Unscored)
		}
	}
	slicesByName := map[string][2]int{}
	for _, sl := range ts.Slices {
		slicesByName[sl.Name()] = [2]int{sl.Cases, sl.Passed}
	}
	if want := map[string][2]int{"tag=lookup": {6, 3}, "tag=multi": {2, 2}, "tag=errors": {8, 0}}; !reflect.DeepEqual(slicesByName, want) {
		t.Errorf("v2: slices (cases, passed) %v, want %v", slicesByName, want)
	}
	rs := ts.Repeats
	if rs == nil || rs.N != 2 || rs.Cases != 8 || rs.Flaky != 1 || !slices.Equal(rs.FlakyCases, []string{"parallel"}) || !slices.Equal(rs.PassCounts, []int{5, 1, 2}) {
		t.Errorf("v2: repeats %+v, want 2 repeats of 8 cases, parallel flaky, pass counts [5 1 2]", rs)
	}

	cmp := ts.Comparison
	// Repeats are compared one to one.
	if cmp == nil || cmp.AgainstRun != v1 || cmp.Matched != 16 || cmp.Regressions != 3 || cmp.Fixes != 2 ||
		!slices.Equal(cmp.RegressionCases, []string{"loop", "loop#1", "parallel#1"}) || !slices.Equal(cmp.FixCases, []string{"one-call", "one-call#1"}) {
		t.Fatalf("v2: comparison %+v, want 16 matched, regressions loop, loop#1 and parallel#1, fixes one-call and one-call#1", cmp)
	}
	wantLines(t, "stdout", r.stdout,
		"compare agent vs agent (run "+v1+"): 16 cases matched",
		"  3 regressions: loop, loop#1, parallel#1",
		"  2 fixes: one-call, one-call#1",
	)

	for _, tc := range []struct {
		gate string
		code int
		line string
	}{
		{"regressions <= 0", exitGateFailed, "  FAIL  agent: regressions <= 0: got 3, off by 3"},
		{"fixes >= 1", exitOK, "  ok    agent: fixes >= 1: 2 (margin 1)"},
	} {
		r := rubric(t, dir, nil, "compare", v2, v1, "--out", "runs", "--gate", tc.gate)
		if r.code != tc.code {
			t.Errorf("compare --gate %q: want exit %d\n%s", tc.gate, tc.code, r)
		}
		wantLines(t, "compare's stdout", r.stdout, tc.line)
	}
}

// TestConversationResume interrupts a run of the agent suite while a
// conversation waits for its third step, then resumes it: the cases
// recorded before the interrupt are not sent again, the interrupted one
// starts over with its two finished steps from the response cache, and the
// server answers no step of any case twice.
func TestConversationResume(t *testing.T) {
	t.Parallel()
	// multi-turn's third step: the prompt, the first answer, the second
	// turn, the call and its result.
	const hangAt = 6
	srv := newAgentServer(t, false, func(s *agentServer) {
		s.hang = func(caseID string, n int) bool { return caseID == "multi-turn" && n == hangAt }
	})
	dir := t.TempDir()
	agentSuite{
		// One case at a time: the four before multi-turn are recorded,
		// those after it not started.
		targets: "[" + openAIAgent("agent", srv.URL, "agent-resume", 1, "") + "]",
		judge:   openAIJudge(srv.URL),
	}.write(t, dir)
	cmd, stdout, stderr, waitLines := startRun(t, dir, "run", "suite.json", "--out", "runs", "--grace", "100ms", "--no-progress")
	select {
	case <-srv.hung:
	case <-time.After(20 * time.Second):
		t.Fatalf("multi-turn's third step never came\nstderr:\n%s", stderr)
	}
	runDir := waitLines(4)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := cmdResult{waitExit(t, cmd, 10*time.Second), stdout.String(), stderr.String()}
	checkNoRace(t, r.stderr)
	if r.code != exitInterrupted {
		t.Fatalf("want exit 130\n%s", r)
	}
	id := filepath.Base(runDir)
	recorded := map[string]bool{}
	for _, res := range readResults(t, runDir) {
		recorded[res.CaseID] = true
	}
	if want := map[string]bool{"one-call": true, "parallel": true, "malformed": true, "loop": true}; !reflect.DeepEqual(recorded, want) {
		t.Fatalf("recorded at the interrupt: %v, want %v", recorded, want)
	}
	if rep := readConvReport(t, runDir); !rep.Interrupted || rep.Complete {
		t.Errorf("report at the interrupt: interrupted %v, complete %v", rep.Interrupted, rep.Complete)
	}
	srv.resumed()

	r = rubric(t, dir, []string{"RUBRIC_E2E_KEY=" + e2eKey}, "run", "--resume", id, "--out", "runs", "--no-progress")
	if r.code != exitOK {
		t.Fatalf("resume: want exit 0\n%s", r)
	}
	if want := fmt.Sprintf("rubric: resuming run %s (4 results recorded): suite order-agent, 8 cases x 1 target (agent)\n", id); !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr does not start with\n%s%s", want, r)
	}
	results := readResults(t, runDir)
	if len(results) != len(agentCaseIDs) {
		t.Errorf("results.jsonl has %d lines, want %d", len(results), len(agentCaseIDs))
	}
	byCase := checkAgentResults(t, results, "agent", wantAgentTranscripts(cutArgs, cutArgsErr), srv)
	if rep := readConvReport(t, runDir); !rep.Complete || rep.Interrupted || len(rep.Targets) != 1 {
		t.Errorf("report after the resume: complete %v, interrupted %v", rep.Complete, rep.Interrupted)
	} else {
		checkConversations(t, rep.Targets[0], 1)
	}
	// The interrupted case sent its third step only: one attempt, not
	// all from the cache.
	if mt := byCase["multi-turn"]; mt.Attempts != 1 || mt.Cached {
		t.Errorf("multi-turn: attempts %d, cached %v; want 1, false", mt.Attempts, mt.Cached)
	}

	answered := map[string]int{}
	for _, q := range srv.requests() {
		key := fmt.Sprint(q.model, " ", q.caseID, "/", q.n)
		if q.answered {
			answered[key]++
		}
		if q.phase == 1 && recorded[q.caseID] {
			t.Errorf("resume: %s was recorded before the interrupt and sent again (%s)", q.caseID, key)
		}
		if q.phase == 1 && q.caseID == "multi-turn" && q.model != judgeModel && q.n != hangAt {
			t.Errorf("resume: multi-turn's finished step with %d messages was sent again, not taken from the cache", q.n)
		}
		if q.phase == 0 && q.caseID == "multi-turn" && q.n == hangAt && q.answered {
			t.Errorf("the step left hanging was answered")
		}
	}
	for key, n := range answered {
		if n != 1 {
			t.Errorf("%s was answered %d times", key, n)
		}
	}
	// Every step of every case, and one judge's call per case, answered.
	if want := 18 + len(agentCaseIDs); len(answered) != want {
		t.Errorf("%d requests answered, want %d", len(answered), want)
	}
}

// TestConversationStepFails has the server fail a later step of a
// conversation with 500s until the retries run out: the case ends with
// status error, keeping the transcript up to the step that failed, and the
// others run on.
func TestConversationStepFails(t *testing.T) {
	t.Parallel()
	srv := newAgentServer(t, false, func(s *agentServer) {
		s.fail = func(caseID string, n int) bool { return caseID == "parallel" && n == 5 }
	})
	dir := t.TempDir()
	agentSuite{
		targets: "[" + openAIAgent("agent", srv.URL, "agent-fails", 4, "") + "]",
		judge:   openAIJudge(srv.URL),
	}.write(t, dir)
	r := rubric(t, dir, []string{"RUBRIC_E2E_KEY=" + e2eKey}, "run", "suite.json", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("want exit 0 (one error, within the gate)\n%s", r)
	}
	runDir := filepath.Join(dir, "runs", runIDs(t, r.stderr)[0])
	results := readResults(t, runDir)
	if len(results) != len(agentCaseIDs) {
		t.Errorf("results.jsonl has %d lines, want %d", len(results), len(agentCaseIDs))
	}
	var failed evals.Result
	for _, res := range results {
		if res.CaseID == "parallel" {
			failed = res
			continue
		}
		if res.Status == evals.StatusError || res.Status != agentOutcomes[res.CaseID].status {
			t.Errorf("%s: status %s, error %+v", res.CaseID, res.Status, res.Error)
		}
	}
	want := wantAgentTranscripts(cutArgs, cutArgsErr)["parallel"]
	want = want[:len(want)-1] // no answer to the step that failed
	if !reflect.DeepEqual(failed.Transcript, want) {
		t.Errorf("parallel: transcript\n%+v\nwant\n%+v", failed.Transcript, want)
	}
	if e := failed.Error; failed.Status != evals.StatusError || e == nil || e.Kind != evals.ErrKindHTTP || e.Status != 500 || !strings.Contains(e.Message, "the agent crashed") {
		t.Errorf("parallel: status %s, error %+v; want an http_status 500 error", failed.Status, e)
	}
	if failed.Steps != 2 || failed.ToolCalls != 2 || failed.ToolErrors != 0 || failed.Outcome != "" || failed.Scores != nil || failed.Score != nil {
		t.Errorf("parallel: steps %d, tool calls %d, tool errors %d, outcome %q, scores %v", failed.Steps, failed.ToolCalls, failed.ToolErrors, failed.Outcome, failed.Scores)
	}
	// The first step once, the second three times (the retries).
	if failed.Attempts != 4 {
		t.Errorf("parallel: attempts %d, want 4", failed.Attempts)
	}
	// What was sent last is the step that failed; there is no answer.
	var body struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if failed.Request == nil || json.Unmarshal(failed.Request.Body, &body) != nil || len(body.Messages) != 5 {
		t.Errorf("parallel: recorded request %+v, want the failed step's (5 messages)", failed.Request)
	}
	if failed.Output != "" || failed.Finish != "" {
		t.Errorf("parallel: output %q, finish_reason %q; want none for an error", failed.Output, failed.Finish)
	}
	sent := 0
	for _, q := range srv.agentRequests() {
		if q.caseID == "parallel" && q.n == 5 {
			sent++
			if q.answered {
				t.Errorf("the server answered the step it fails")
			}
		}
	}
	if sent != 3 {
		t.Errorf("the failing step was sent %d times, want 3", sent)
	}
	rep := readConvReport(t, runDir)
	ts := rep.Targets[0]
	if ts.Errored != 1 || !reflect.DeepEqual(ts.Errors, map[string]int{"http_status": 1}) {
		t.Errorf("report: %d errored, errors %v", ts.Errored, ts.Errors)
	}
	wantLines(t, "stdout", r.stdout, "errors agent: http_status 1",
		"  parallel     error    http_status: gave up after 3 attempts: the agent crashed",
		"    2 steps, 2 tool calls; the last 3 of 5 messages:",
		`      assistant: Let me check both. → lookup_order({"order_id":"B2"}) → track_parcel({"order_id":"B2"})`,
	)
}

// TestConversationExport exports a run of the agent suite as training
// data: chat fine-tuning lines with the tools and the assistant's tool
// calls (the earlier assistant messages weighted 0, the reference answer
// last), and preference pairs whose prompt is the conversation up to the
// last assistant message; every line passes the format's checks.
func TestConversationExport(t *testing.T) {
	t.Parallel()
	srv := newAgentServer(t, false)
	dir := t.TempDir()
	agentSuite{
		targets: "[" + openAIAgent("agent", srv.URL, "agent-export", 4, "") + "]",
		judge:   openAIJudge(srv.URL),
	}.write(t, dir)
	r := rubric(t, dir, []string{"RUBRIC_E2E_KEY=" + e2eKey}, "run", "suite.json", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	export := func(format string, args ...string) (cmdResult, []map[string]any) {
		t.Helper()
		r := rubric(t, dir, nil, append([]string{"export", id, "--out", "runs", "--format", format, "-o", format + ".jsonl"}, args...)...)
		if r.code != exitOK {
			t.Fatalf("export %s: want exit 0\n%s", format, r)
		}
		b, err := os.ReadFile(filepath.Join(dir, format+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		return r, exportLines(t, format, string(b))
	}
	results := map[string]evals.Result{}
	for _, res := range readResults(t, filepath.Join(dir, "runs", id)) {
		results[res.CaseID] = res
	}
	var tools []any
	if err := json.Unmarshal([]byte(agentToolsJSON), &tools); err != nil {
		t.Fatal(err)
	}
	references := map[string]string{
		"loop": "Order A1 has shipped.", "multi-turn": "Yes: order A1 can be returned until 2027-01-31.",
		"no-rule": "There is no order Z9.", "one-call": "Order A1 has shipped.", "parallel": "Order B2 is being packed; its parcel is at the Oslo hub.",
		"refund": "A human agent will refund order A1.", "unknown-tool": "I cannot cancel orders; a human agent will.",
	}
	// caseOf finds a line's case by its first user message.
	caseOf := func(msgs []any) string {
		for _, m := range openAIConversation(map[string]any{"messages": msgs}) {
			if c := firstUserCase.FindStringSubmatch(m.Content); c != nil && m.Role == evals.RoleUser {
				return c[1]
			}
		}
		return ""
	}
	// checkPrompt checks that msgs are the conversation before the case's
	// last assistant message, in OpenAI's format.
	checkPrompt := func(format, caseID string, msgs []any) {
		t.Helper()
		tr := results[caseID].Transcript
		if got, want := openAIConversation(map[string]any{"messages": msgs}), agentView(tr[:lastAsked(tr)], false); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %s: prompt\n%+v\nwant\n%+v", format, caseID, got, want)
		}
	}
	assistant := func(text string) []any { return []any{map[string]any{"role": "assistant", "content": text}} }

	// Chat data: every case but the malformed call's, by case id.
	r, chat := export("chat")
	if want := "7 written, 1 skipped\n  1 skipped: a tool call's arguments are not a JSON object (first: malformed (target agent, repeat 0))\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("export chat: stderr lacks %q\n%s", want, r.stderr)
	}
	var order []string
	for _, line := range chat {
		msgs, _ := line["messages"].([]any)
		id := caseOf(msgs)
		order = append(order, id)
		if !reflect.DeepEqual(line["tools"], tools) {
			t.Errorf("chat: %s: tools %v", id, line["tools"])
		}
		if len(msgs) == 0 || !reflect.DeepEqual(msgs[len(msgs)-1], assistant(references[id])[0]) {
			t.Errorf("chat: %s does not end with the reference answer: %v", id, msgs)
			continue
		}
		// The earlier assistant messages are context: weight 0.
		var prompt []any
		for _, m := range msgs[:len(msgs)-1] {
			m := maps.Clone(m.(map[string]any))
			if m["role"] == evals.RoleAssistant {
				if m["weight"] != 0.0 {
					t.Errorf("chat: %s: an earlier assistant message has weight %v, want 0", id, m["weight"])
				}
				delete(m, "weight")
			}
			prompt = append(prompt, m)
		}
		checkPrompt("chat", id, prompt)
	}
	if want := []string{"loop", "multi-turn", "no-rule", "one-call", "parallel", "refund", "unknown-tool"}; !slices.Equal(order, want) {
		t.Errorf("chat: lines for %q, want %q", order, want)
	}
	// One line whole: parallel calls, each answered by its id.
	var want map[string]any
	if err := json.Unmarshal([]byte(`{"messages":[{"role":"system","content":"You are ACME's support assistant. Use the tools."},`+
		`{"role":"user","content":"[parallel] Where are order B2 and its parcel?"},`+
		`{"role":"assistant","content":"Let me check both.","tool_calls":[{"id":"call_parallel_0_0","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"B2\"}"}},`+
		`{"id":"call_parallel_0_1","type":"function","function":{"name":"track_parcel","arguments":"{\"order_id\":\"B2\"}"}}],"weight":0},`+
		`{"role":"tool","content":"{\"status\":\"processing\"}","tool_call_id":"call_parallel_0_0"},`+
		`{"role":"tool","content":"In transit at the Oslo hub","tool_call_id":"call_parallel_0_1"},`+
		`{"role":"assistant","content":"Order B2 is being packed; its parcel is at the Oslo hub."}],"tools":`+agentToolsJSON+`}`), &want); err != nil {
		t.Fatal(err)
	}
	if i := slices.Index(order, "parallel"); i < 0 || !reflect.DeepEqual(chat[i], want) {
		t.Errorf("chat: parallel's line\n%v\nwant\n%v", chat[max(i, 0)], want)
	}

	// Preference pairs of the failed cases: the conversation up to the last
	// assistant message, the reference preferred to the model's answer (a
	// tool call, for the loop cut off at max_steps).
	_, pairs := export("preference-openai", "--failed")
	order = nil
	for _, line := range pairs {
		input, _ := line["input"].(map[string]any)
		msgs, _ := input["messages"].([]any)
		id := caseOf(msgs)
		order = append(order, id)
		checkPrompt("preference-openai", id, msgs)
		if !reflect.DeepEqual(input["tools"], tools) {
			t.Errorf("preference-openai: %s: tools %v", id, input["tools"])
		}
		if !reflect.DeepEqual(line["preferred_output"], assistant(references[id])) {
			t.Errorf("preference-openai: %s: preferred %v", id, line["preferred_output"])
		}
		tr := results[id].Transcript
		rejected, _ := line["non_preferred_output"].([]any)
		if got, want := openAIConversation(map[string]any{"messages": rejected}), agentView(tr[len(tr)-1:], false); !reflect.DeepEqual(got, want) {
			t.Errorf("preference-openai: %s: rejected %+v, want the model's last message %+v", id, got, want)
		}
	}
	if want := []string{"loop", "no-rule", "refund", "unknown-tool"}; !slices.Equal(order, want) {
		t.Errorf("preference-openai: pairs for %q, want %q", order, want)
	}

	// TRL's layout: arguments as objects, tool messages named.
	_, trl := export("preference-trl", "--failed")
	if len(trl) != 4 {
		t.Fatalf("preference-trl: %d pairs, want 4", len(trl))
	}
	want = nil
	if err := json.Unmarshal([]byte(`{"prompt":[{"role":"system","content":"You are ACME's support assistant. Use the tools."},{"role":"user","content":"[no-rule] Where is order Z9?"},`+
		`{"role":"assistant","tool_calls":[{"id":"call_no-rule_0_0","type":"function","function":{"name":"lookup_order","arguments":{"order_id":"Z9"}}}]},`+
		`{"role":"tool","content":"Error: no rule of the mock of lookup_order matches the arguments {\"order_id\":\"Z9\"}","tool_call_id":"call_no-rule_0_0","name":"lookup_order"}],`+
		`"chosen":[{"role":"assistant","content":"There is no order Z9."}],`+
		`"rejected":[{"role":"assistant","content":"I could not find order Z9. Error: no rule of the mock of lookup_order matches the arguments {\"order_id\":\"Z9\"}"}],"tools":`+agentToolsJSON+`}`), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(trl[1], want) {
		t.Errorf("preference-trl: no-rule's pair\n%v\nwant\n%v", trl[1], want)
	}
}
