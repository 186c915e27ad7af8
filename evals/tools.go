package evals

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"
)

// Tools and conversations: the shapes a suite, a case, a request, a response
// and a result share when the model under test holds a conversation or calls
// tools. The loop that runs them is runner's; answering a tool call from a
// case's mocks is evals/tools'.

// Roles of the messages of a conversation beyond a prompt's.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
	// RoleTool is the answer to one tool call: ToolCallID names the call.
	RoleTool = "tool"
)

// Tool is a function the model may call, as OpenAI's tools field writes it,
// and the mock that answers its calls.
type Tool struct {
	Type     string       `json:"type"` // "function"
	Function ToolFunction `json:"function"`
	// Mock answers the tool's calls unless the case gives its own.
	Mock *ToolMock `json:"mock,omitempty"`
}

// ToolFunction is a tool's definition: what the model is told about it.
type ToolFunction struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the call's arguments, an object.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Strict     *bool           `json:"strict,omitempty"`
}

// ToolMock answers a tool's calls in place of the real tool: the first rule
// whose When the arguments contain, else Result (or Error), else a command
// run with the call as JSON on its stdin. A call nothing answers is a tool
// error fed back to the model.
type ToolMock struct {
	// Rules are tried in order; When is a subset of the arguments.
	Rules []MockRule `json:"rules,omitempty"`
	// Result answers any call no rule matched: a string is sent as it is,
	// any other JSON value as its JSON text.
	Result json.RawMessage `json:"result,omitempty"`
	// Error makes any call no rule matched fail with this message.
	Error string `json:"error,omitempty"`
	// Exec is a command (the program and its arguments) run for each call
	// no rule matched, with the call as JSON on
	// stdin; its stdout is the result, and a non-zero exit is a tool error.
	Exec json.RawMessage `json:"exec,omitempty"`
	// Timeout bounds an exec mock's run; default 30s.
	Timeout Duration `json:"timeout,omitempty"`
}

// MockRule answers the calls whose arguments contain When (a subset match:
// every key of When present with an equal value, objects compared the same
// way, recursively).
type MockRule struct {
	When   map[string]any  `json:"when"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// ToolCall is one call of a tool by the model.
type ToolCall struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Arguments are the call's arguments as JSON, as the model wrote them
	// when they parse; otherwise a JSON string holding the model's text,
	// and ArgumentsError says why it is not JSON.
	Arguments      json.RawMessage `json:"arguments"`
	ArgumentsError string          `json:"arguments_error,omitempty"`
}

// NewToolCall makes a call from the arguments text a model sent (OpenAI's
// arguments string): JSON when it parses, else the text, marked malformed.
func NewToolCall(id, name, args string) ToolCall {
	tc := ToolCall{ID: id, Name: name}
	switch {
	case args == "":
		tc.Arguments = json.RawMessage(`{}`)
	case json.Valid([]byte(args)):
		tc.Arguments = json.RawMessage(args)
	default:
		tc.Arguments, _ = json.Marshal(args)
		var v any
		err := json.Unmarshal([]byte(args), &v)
		tc.ArgumentsError = "arguments are not JSON: " + err.Error()
	}
	return tc
}

// ArgumentsText returns the arguments as the model wrote them: the JSON, or
// the malformed text.
func (tc ToolCall) ArgumentsText() string {
	if tc.ArgumentsError != "" {
		var s string
		if json.Unmarshal(tc.Arguments, &s) == nil {
			return s
		}
	}
	if len(tc.Arguments) == 0 {
		return "{}"
	}
	return string(tc.Arguments)
}

// Outcomes of a conversation that did not end with an answer.
const (
	// OutcomeMaxSteps: the model was still calling tools after max_steps
	// requests; the case is scored on what it has.
	OutcomeMaxSteps = "max_steps"
	// OutcomeMaxTurns: a simulated user had not stopped after max_turns.
	OutcomeMaxTurns = "max_turns"
)

// DefaultMaxSteps is the most model requests in one turn of a conversation.
const DefaultMaxSteps = 8

// DefaultMaxTurns is the most messages a simulated user writes, and
// DefaultStop the marker with which it ends the conversation.
const (
	DefaultMaxTurns = 5
	DefaultStop     = "[DONE]"
)

// MaxStepsOr returns the suite's max_steps, DefaultMaxSteps when unset.
func (s *Suite) MaxStepsOr() int {
	if s.MaxSteps > 0 {
		return s.MaxSteps
	}
	return DefaultMaxSteps
}

// Conversational reports whether a case is run as a conversation (the suite
// or the case has tools, the case has turns, or a simulated user talks to
// the target): its result records the transcript.
func (s *Suite) Conversational(c *Case) bool {
	return len(s.Tools) > 0 || len(c.Tools) > 0 || len(c.Turns) > 0 || s.UserSimulator != nil
}

// CaseTools returns the tools offered for case c: the suite's, with those
// the case defines added or, by name, replacing them; and each tool's mock,
// the case's mocks first.
func (s *Suite) CaseTools(c *Case) []Tool {
	if len(c.Tools) == 0 && len(c.Mocks) == 0 {
		return s.Tools
	}
	tools := make([]Tool, 0, len(s.Tools)+len(c.Tools))
	tools = append(tools, s.Tools...)
	for _, t := range c.Tools {
		replaced := false
		for i := range tools {
			if tools[i].Function.Name == t.Function.Name {
				tools[i], replaced = t, true
			}
		}
		if !replaced {
			tools = append(tools, t)
		}
	}
	for i := range tools {
		if m, ok := c.Mocks[tools[i].Function.Name]; ok {
			m := m
			tools[i].Mock = &m
		}
	}
	return tools
}

// UserSimulator is a target that plays the user of a conversation.
type UserSimulator struct {
	// Target names the target that writes the user's messages.
	Target TargetRef `json:"target"`
	// Messages are its prompt's opening (a persona, from the case's
	// variables); the conversation so far follows, seen from the user's
	// side.
	Messages []Message `json:"messages"`
	// MaxTurns caps the user's messages written by the simulator; default 5.
	MaxTurns int `json:"max_turns,omitempty"`
	// Stop is the marker with which the simulated user ends the
	// conversation; default "[DONE]".
	Stop string `json:"stop,omitempty"`

	// Templates are Messages parsed.
	Templates []*Template `json:"-"`
}

// Turn selects which turns of a conversation a criterion scores.
type Turn struct {
	// Mode is TurnFinal (the default), TurnEach, TurnTranscript or
	// TurnIndex.
	Mode string
	// Index, with TurnIndex, is the 1-based turn.
	Index int
}

// Turn modes.
const (
	TurnFinal      = "final"
	TurnEach       = "each"
	TurnTranscript = "transcript"
	TurnIndex      = "index"
)

// UnmarshalJSON accepts "final", "each", "transcript" or a turn number from 1.
func (t *Turn) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch s {
		case TurnFinal, TurnEach, TurnTranscript:
			*t = Turn{Mode: s}
			return nil
		}
		return fmt.Errorf(`turn: expected "final", "each", "transcript" or a turn number from 1, got %q`, s)
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 1 {
		return fmt.Errorf(`turn: expected "final", "each", "transcript" or a turn number from 1, got %s`, b)
	}
	*t = Turn{Mode: TurnIndex, Index: n}
	return nil
}

// MarshalJSON writes the turn as it is written in a suite.
func (t Turn) MarshalJSON() ([]byte, error) {
	if t.Mode == TurnIndex {
		return []byte(strconv.Itoa(t.Index)), nil
	}
	return json.Marshal(t.Mode)
}

// TurnSpan is one turn of a transcript: its user message at Start, and the
// messages up to End (exclusive) that answer it.
type TurnSpan struct {
	Start, End int
	// Answer is the text of the turn's last assistant message.
	Answer string
}

// Turns splits a transcript into its turns: each starts at a user message
// (the first one also takes in the messages before it, the prompt's
// opening) and runs to the next.
func Turns(transcript []Message) []TurnSpan {
	var spans []TurnSpan
	start := -1
	for i, m := range transcript {
		if m.Role != RoleUser {
			continue
		}
		if start >= 0 && hasAnswer(transcript[start:i]) {
			spans = append(spans, TurnSpan{Start: start, End: i})
			start = i
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		spans = append(spans, TurnSpan{Start: start, End: len(transcript)})
	}
	for i := range spans {
		for j := spans[i].End - 1; j >= spans[i].Start; j-- {
			if transcript[j].Role == RoleAssistant {
				spans[i].Answer = transcript[j].Content
				break
			}
		}
	}
	return spans
}

// hasAnswer reports whether msgs hold an assistant message: consecutive
// user messages (a prompt that writes two) are one turn.
func hasAnswer(msgs []Message) bool {
	for _, m := range msgs {
		if m.Role == RoleAssistant {
			return true
		}
	}
	return false
}

// CallsOf returns every tool call of a transcript, in order.
func CallsOf(transcript []Message) []ToolCall {
	var calls []ToolCall
	for _, m := range transcript {
		calls = append(calls, m.ToolCalls...)
	}
	return calls
}

// ToolErrorsOf counts the tool messages of a transcript that report an error.
func ToolErrorsOf(transcript []Message) int {
	n := 0
	for _, m := range transcript {
		if m.Role == RoleTool && m.Error != "" {
			n++
		}
	}
	return n
}

// toolName is the name OpenAI and Anthropic accept for a function.
var toolName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CheckTool says what is wrong with a tool definition, if anything: its
// type, its name, its parameters (a JSON Schema of an object) and its mock.
func CheckTool(t Tool) error {
	if t.Type != "function" {
		return FieldErrorf("type", `expected "function", got %q`, t.Type)
	}
	if !toolName.MatchString(t.Function.Name) {
		return FieldErrorf("function.name", "expected 1 to 64 letters, digits, _ or -, got %q", t.Function.Name)
	}
	if len(t.Function.Parameters) > 0 {
		if _, err := CompileToolSchema(t.Function.Parameters); err != nil {
			return &FieldError{Field: "function.parameters", Err: err}
		}
	}
	if t.Mock != nil {
		if err := CheckMock(*t.Mock); err != nil {
			return within("mock", err)
		}
	}
	return nil
}

// CompileToolSchema compiles a tool's parameters, a JSON Schema that must
// describe an object.
func CompileToolSchema(raw json.RawMessage) (*gojsonschema.Schema, error) {
	var top map[string]any
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("expected a JSON Schema object, got %s", JSONKind(raw))
	}
	if ty, ok := top["type"]; ok && ty != "object" {
		return nil, fmt.Errorf(`the arguments are an object: expected "type": "object", got %v`, ty)
	}
	sc, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(raw))
	if err != nil {
		return nil, fmt.Errorf("not a valid JSON Schema: %v", err)
	}
	return sc, nil
}

// CheckMock says what is wrong with a mock, if anything: a rule needs when
// and one of result or error; the mock's own answer is one of result,
// error or exec.
func CheckMock(m ToolMock) error {
	n := 0
	for _, set := range []bool{len(m.Result) > 0, m.Error != "", len(m.Exec) > 0} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errors.New("give one of result, error or exec, not several")
	}
	if n == 0 && len(m.Rules) == 0 {
		return errors.New("expected rules, result, error or exec: how the tool answers")
	}
	if m.Timeout != 0 && len(m.Exec) == 0 {
		return FieldErrorf("timeout", "applies only with exec")
	}
	for i, r := range m.Rules {
		if r.When == nil {
			return FieldErrorf(fmt.Sprintf("rules.%d.when", i), "required: the arguments (a subset) the rule answers")
		}
		if (len(r.Result) > 0) == (r.Error != "") {
			return FieldErrorf(fmt.Sprintf("rules.%d", i), "give one of result or error")
		}
	}
	return nil
}

// checkTools checks the suite's tools (each one, and their names unique),
// that tool_choice names one of them, and the simulated user's templates.
func checkTools(src *source, s *Suite) []Problem {
	var probs []Problem
	seen := map[string]int{}
	for i, t := range s.Tools {
		ptr := fmt.Sprintf("/tools/%d", i)
		if err := CheckTool(t); err != nil {
			probs = append(probs, src.fieldProblems(ptr, err)...)
			continue
		}
		if j, dup := seen[t.Function.Name]; dup {
			probs = append(probs, src.problem(ptr+"/function/name", false, "duplicate tool name %q (first at $.tools[%d])", t.Function.Name, j))
		}
		seen[t.Function.Name] = i
	}
	if len(s.ToolChoice) > 0 {
		var named struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if json.Unmarshal(s.ToolChoice, &named) == nil && named.Function.Name != "" {
			if _, ok := seen[named.Function.Name]; !ok {
				probs = append(probs, src.problem("/tool_choice/function/name", false, "tool_choice names %q, which is not one of the suite's tools", named.Function.Name))
			}
		}
		if len(s.Tools) == 0 {
			probs = append(probs, src.problem("/tool_choice", true, "tool_choice applies only with tools"))
		}
	}
	if sim := s.UserSimulator; sim != nil {
		for i, m := range sim.Messages {
			t, err := ParseTemplate(m.Content)
			if err != nil {
				probs = append(probs, src.problem(fmt.Sprintf("/user_simulator/messages/%d/content", i), false, "%s", err))
			}
			sim.Templates = append(sim.Templates, t)
		}
	}
	return probs
}

// within puts err, about a field of the object at field, at its place
// there: field.inner for a FieldError.
func within(field string, err error) *FieldError {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: field + "." + fe.Field, Err: fe.Err}
	}
	return &FieldError{Field: field, Err: err}
}

// TranscriptJSON writes a transcript as {{ transcript }} renders it, and as
// a criterion with turn "transcript" gets it in place of the output: one
// line of JSON, with <, > and & left as they are.
func TranscriptJSON(transcript []Message) string {
	var b strings.Builder
	if writeJSON(&b, transcript) != nil {
		return ""
	}
	return b.String()
}
