package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/rubric-eval/rubric/evals"
)

// Tools passed through: http and exec targets have no API of their own to
// map a conversation to, so they get it in OpenAI's shape (an http target's
// {{ messages }}, {{ tools }} and {{ tool_choice }}, an exec target's
// stdin), and their answers give tool calls in OpenAI's shape or a flat
// one (parseToolCalls).

// toolDef is a tool as OpenAI's tools field writes it: its definition,
// never its mock.
type toolDef struct {
	Type     string             `json:"type"`
	Function evals.ToolFunction `json:"function"`
}

// toolDefs returns tools as OpenAI's tools field writes them, a JSON
// array; [] for none.
func toolDefs(tools []evals.Tool) ([]byte, error) {
	defs := make([]toolDef, len(tools))
	for i, t := range tools {
		defs[i] = toolDef{Type: t.Type, Function: t.Function}
	}
	return marshalValue(defs)
}

// toolChoice returns the tool_choice of req as JSON: the suite's, or
// "auto" (OpenAI's default) when it sets none; "none" when req offers no
// tools.
func toolChoice(req *evals.Request) ([]byte, error) {
	switch {
	case len(req.Tools) == 0:
		return []byte(`"none"`), nil
	case len(req.ToolChoice) == 0:
		return []byte(`"auto"`), nil
	}
	return marshalValue(req.ToolChoice)
}

// chatMessageValues returns msgs as a template sees them: the values of
// appendMessages' array.
func chatMessageValues(msgs []evals.Message) []any {
	out := make([]any, len(msgs))
	for i, m := range msgs {
		v := map[string]any{"role": m.Role, "content": m.Content}
		if len(m.ToolCalls) > 0 {
			calls := make([]any, len(m.ToolCalls))
			for j, tc := range m.ToolCalls {
				calls[j] = map[string]any{"id": tc.ID, "type": "function",
					"function": map[string]any{"name": tc.Name, "arguments": tc.ArgumentsText()}}
			}
			v["tool_calls"] = calls
		}
		if m.ToolCallID != "" {
			v["tool_call_id"] = m.ToolCallID
		}
		out[i] = v
	}
	return out
}

// jsonValue decodes JSON text into the value a template sees, its numbers
// as written.
func jsonValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// wireCall is a tool call as an http service or an exec command answers
// it: OpenAI's {"id", "function": {"name", "arguments"}}, or the flat
// {"id", "name", "arguments"}. Other keys ("type", "index") are ignored.
type wireCall struct {
	ID        *json.RawMessage `json:"id"`
	Name      *json.RawMessage `json:"name"`
	Arguments json.RawMessage  `json:"arguments"`
	Function  *json.RawMessage `json:"function"`
}

// wireFunction is the function of an OpenAI-shaped tool call.
type wireFunction struct {
	Name      *json.RawMessage `json:"name"`
	Arguments json.RawMessage  `json:"arguments"`
}

// toolCallShapes names the shapes parseToolCalls reads, for its errors.
const toolCallShapes = `{"id", "function": {"name", "arguments"}} or {"id", "name", "arguments"}`

// parseToolCalls reads raw, the JSON array of the tool calls of an answer
// to the request of step step. Arguments given as a string are the model's
// text (evals.NewToolCall: JSON when it parses, else kept and marked
// malformed); as any other JSON value, that value; missing or null, {}. A
// call without an id (or with "") gets call_STEP_INDEX (both from 0), so that the
// tool's answer can name it. A call without a name, an id that is not a
// string or that two calls share, is an error that names the call's index.
func parseToolCalls(raw []byte, step int) ([]evals.ToolCall, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("expected an array of tool calls, each %s, got %s", toolCallShapes, evals.JSONKind(raw))
	}
	calls := make([]evals.ToolCall, 0, len(elems))
	ids := make(map[string]int, len(elems))
	for i, e := range elems {
		at := "[" + strconv.Itoa(i) + "]"
		var w wireCall
		if err := json.Unmarshal(e, &w); err != nil || bytes.TrimSpace(e)[0] != '{' {
			return nil, fmt.Errorf("%s: expected a tool call, %s, got %s", at, toolCallShapes, evals.JSONKind(e))
		}
		nameRaw, args, nameAt := w.Name, w.Arguments, at+".name"
		if w.Function != nil {
			var f wireFunction
			if err := json.Unmarshal(*w.Function, &f); err != nil || bytes.TrimSpace(*w.Function)[0] != '{' {
				return nil, fmt.Errorf("%s.function: expected an object {\"name\", \"arguments\"}, got %s", at, evals.JSONKind(*w.Function))
			}
			nameRaw, args, nameAt = f.Name, f.Arguments, at+".function.name"
		}
		var name string
		if nameRaw == nil || json.Unmarshal(*nameRaw, &name) != nil || name == "" {
			got := "nothing"
			if nameRaw != nil {
				got = evals.JSONKind(*nameRaw)
				if string(bytes.TrimSpace(*nameRaw)) == `""` {
					got = "an empty string"
				}
			}
			return nil, fmt.Errorf("%s: expected the name of the tool called, a string, got %s", nameAt, got)
		}
		var id string
		if w.ID != nil && string(bytes.TrimSpace(*w.ID)) != "null" {
			if json.Unmarshal(*w.ID, &id) != nil {
				return nil, fmt.Errorf("%s.id: expected a string, got %s", at, evals.JSONKind(*w.ID))
			}
		}
		if id == "" {
			id = fmt.Sprintf("call_%d_%d", step, i)
		}
		if j, dup := ids[id]; dup {
			return nil, fmt.Errorf("%s.id: %q is also the id of [%d]: each call needs its own", at, id, j)
		}
		ids[id] = i
		calls = append(calls, toolCallOf(id, name, args))
	}
	return calls, nil
}

// toolCallOf makes a call from arguments given as a JSON string (the
// model's text), as another JSON value, or not at all.
func toolCallOf(id, name string, args json.RawMessage) evals.ToolCall {
	args = bytes.TrimSpace(args)
	if len(args) == 0 || string(args) == "null" {
		return evals.NewToolCall(id, name, "")
	}
	if args[0] == '"' {
		var text string
		if err := json.Unmarshal(args, &text); err == nil {
			return evals.NewToolCall(id, name, text)
		}
	}
	compact, err := marshalValue(args)
	if err != nil { // cannot happen: args is a valid JSON value
		return evals.NewToolCall(id, name, string(args))
	}
	return evals.NewToolCall(id, name, string(compact))
}
