package datasets

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// Tool calls in training data. OpenAI's chat fine-tuning and preference
// formats write an assistant message's calls as tool_calls, [{"id", "type":
// "function", "function": {"name", "arguments"}}], with the arguments as a
// string holding JSON, answer each with a tool message that names it by
// tool_call_id, and list the functions in a top-level tools array. TRL's
// layout, read through Hugging Face chat templates, is the same but for the
// arguments, a JSON object, and the tool messages, which also carry the
// tool's name.

// dialect is how a format writes tool calls.
type dialect int

const (
	dialectOpenAI dialect = iota // arguments as a string of JSON
	dialectTRL                   // arguments as a JSON object; tool messages named
)

type chatToolCall struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	Function chatFunctionCall `json:"function"`
}

type chatFunctionCall struct {
	Name string `json:"name"`
	// Arguments is a JSON string holding the arguments' JSON (OpenAI), or
	// the arguments' JSON object itself (TRL).
	Arguments json.RawMessage `json:"arguments"`
}

// chatTool is a function definition as the formats list it in tools: a
// Tool without its mock.
type chatTool struct {
	Type     string             `json:"type"`
	Function evals.ToolFunction `json:"function"`
}

func chatTools(tools []evals.Tool) []chatTool {
	if len(tools) == 0 {
		return nil
	}
	out := make([]chatTool, len(tools))
	for i, t := range tools {
		out[i] = chatTool{Type: t.Type, Function: t.Function}
	}
	return out
}

// calls converts an assistant message's tool calls. A call whose arguments
// are not a JSON object (the model wrote something else, which the
// conversation answered with a tool error) makes the example invalid:
// training formats hold arguments as JSON.
func (d dialect) calls(calls []evals.ToolCall) ([]chatToolCall, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	out := make([]chatToolCall, len(calls))
	for i, c := range calls {
		if c.ArgumentsError != "" || !isObject(c.Arguments) {
			return nil, invalid("a tool call's arguments are not a JSON object")
		}
		args := c.Arguments
		if d == dialectOpenAI {
			args, _ = json.Marshal(c.ArgumentsText())
		}
		out[i] = chatToolCall{ID: c.ID, Type: "function", Function: chatFunctionCall{Name: c.Name, Arguments: args}}
	}
	return out, nil
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil
}

// sameAnswer reports whether two answers say the same: the same text and
// the same calls (ids aside).
func sameAnswer(a, b chatMessage) bool {
	if a.Content != b.Content || len(a.ToolCalls) != len(b.ToolCalls) {
		return false
	}
	for i := range a.ToolCalls {
		x, y := a.ToolCalls[i].Function, b.ToolCalls[i].Function
		if x.Name != y.Name || !bytes.Equal(x.Arguments, y.Arguments) {
			return false
		}
	}
	return true
}

// toolName is the name OpenAI and Anthropic accept for a function.
var toolName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// checkTools checks a line's tools: functions with valid, distinct names,
// whose parameters, when given, are a JSON object.
func checkTools(tools []chatTool) error {
	seen := map[string]bool{}
	for i, t := range tools {
		switch {
		case t.Type != "function":
			return invalid("tool %d has type %q, expected function", i, t.Type)
		case !toolName.MatchString(t.Function.Name):
			return invalid("tool %d has name %q: expected 1 to 64 letters, digits, _ or -", i, t.Function.Name)
		case seen[t.Function.Name]:
			return invalid("tool %q is listed twice", t.Function.Name)
		case len(t.Function.Parameters) > 0 && !isObject(t.Function.Parameters):
			return invalid("tool %q has parameters that are not a JSON Schema object", t.Function.Name)
		}
		seen[t.Function.Name] = true
	}
	return nil
}

// callChecker checks the tool calls of one line: ids present and unique
// over the line, type function, a name, and arguments as the dialect writes
// them, a JSON object.
type callChecker struct {
	d   dialect
	ids map[string]bool
}

// check checks the calls of a message, named by where, and returns their
// ids.
func (c *callChecker) check(where string, calls []chatToolCall) (map[string]bool, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	if c.ids == nil {
		c.ids = map[string]bool{}
	}
	open := make(map[string]bool, len(calls))
	for _, tc := range calls {
		switch {
		case tc.ID == "":
			return nil, invalid("%s: a tool call has no id", where)
		case c.ids[tc.ID]:
			return nil, invalid("%s: a tool call id is used twice in the example", where)
		case tc.Type != "function":
			return nil, invalid("%s: a tool call has type %q, expected function", where, tc.Type)
		case tc.Function.Name == "":
			return nil, invalid("%s: a tool call names no function", where)
		}
		args := tc.Function.Arguments
		if c.d == dialectOpenAI {
			var text string
			if json.Unmarshal(args, &text) != nil {
				return nil, invalid("%s: a tool call's arguments are not a string", where)
			}
			args = json.RawMessage(text)
		}
		if !isObject(args) {
			return nil, invalid("%s: a tool call's arguments are not a JSON object", where)
		}
		c.ids[tc.ID], open[tc.ID] = true, true
	}
	return open, nil
}

// AnswerText writes an answer for a person to read: its text, then each
// tool call on a line of its own, as → NAME(ARGUMENTS).
func AnswerText(m evals.Message) string {
	var b strings.Builder
	b.WriteString(m.Content)
	for _, c := range m.ToolCalls {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("→ " + c.Name + "(" + c.ArgumentsText() + ")")
	}
	return b.String()
}
