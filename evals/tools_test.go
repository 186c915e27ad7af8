package evals

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNewToolCall(t *testing.T) {
	for _, tc := range []struct {
		name, args, wantArgs, wantText string
		malformed                      bool
	}{
		{"object kept as written", `{"id": "A1"}`, `{"id": "A1"}`, `{"id": "A1"}`, false},
		{"empty is no arguments", ``, `{}`, `{}`, false},
		{"truncated", `{"id": "A`, `"{\"id\": \"A"`, `{"id": "A`, true},
		{"not JSON", `id=A1`, `"id=A1"`, `id=A1`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call := NewToolCall("c1", "lookup", tc.args)
			if string(call.Arguments) != tc.wantArgs {
				t.Errorf("Arguments = %s, want %s", call.Arguments, tc.wantArgs)
			}
			if (call.ArgumentsError != "") != tc.malformed {
				t.Errorf("ArgumentsError = %q, malformed %v", call.ArgumentsError, tc.malformed)
			}
			if got := call.ArgumentsText(); got != tc.wantText {
				t.Errorf("ArgumentsText = %q, want %q", got, tc.wantText)
			}
			if !json.Valid(call.Arguments) {
				t.Errorf("Arguments %s are not JSON: results.jsonl could not hold them", call.Arguments)
			}
		})
	}
}

func TestTurns(t *testing.T) {
	tr := []Message{
		{Role: "system", Content: "sys"},
		{Role: "user", Content: "q1"},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "1", Name: "f"}}},
		{Role: "tool", ToolCallID: "1", Content: "r", Error: "no mock"},
		{Role: "assistant", Content: "a1"},
		{Role: "user", Content: "q2"},
		{Role: "assistant", Content: "a2"},
		{Role: "user", Content: "q3"},
	}
	got := Turns(tr)
	want := []TurnSpan{{1, 5, "a1"}, {5, 7, "a2"}, {7, 8, ""}}
	if len(got) != len(want) {
		t.Fatalf("Turns = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("turn %d = %+v, want %+v", i+1, got[i], want[i])
		}
	}
	if n := len(CallsOf(tr)); n != 1 {
		t.Errorf("CallsOf: %d calls, want 1", n)
	}
	if n := ToolErrorsOf(tr); n != 1 {
		t.Errorf("ToolErrorsOf = %d, want 1", n)
	}
	// Two user messages in a row (a prompt that writes both) are one turn.
	if got := Turns([]Message{{Role: "user"}, {Role: "user"}, {Role: "assistant", Content: "a"}}); len(got) != 1 || got[0].Answer != "a" {
		t.Errorf("consecutive user messages: %+v, want one turn answered a", got)
	}
}

func TestTurnJSON(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{`"final"`, ""}, {`"each"`, ""}, {`"transcript"`, ""}, {`2`, ""},
		{`0`, "a turn number from 1"}, {`"last"`, `got "last"`}, {`1.5`, "got 1.5"},
	} {
		var tu Turn
		err := json.Unmarshal([]byte(tc.in), &tu)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.in, err)
				continue
			}
			if b, _ := json.Marshal(tu); string(b) != tc.in {
				t.Errorf("%s round-trips as %s", tc.in, b)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one containing %q", tc.in, err, tc.err)
		}
	}
}

func TestCheckToolAndMock(t *testing.T) {
	obj := json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"}}}`)
	for _, tc := range []struct {
		name string
		tool Tool
		err  string
	}{
		{"fine", Tool{Type: "function", Function: ToolFunction{Name: "lookup_order", Parameters: obj}, Mock: &ToolMock{Result: json.RawMessage(`"ok"`)}}, ""},
		{"no parameters", Tool{Type: "function", Function: ToolFunction{Name: "now"}}, ""},
		{"type", Tool{Type: "fn", Function: ToolFunction{Name: "f"}}, `type: expected "function"`},
		{"name with space", Tool{Type: "function", Function: ToolFunction{Name: "look up"}}, "function.name: expected 1 to 64"},
		{"parameters not an object schema", Tool{Type: "function", Function: ToolFunction{Name: "f", Parameters: json.RawMessage(`{"type":"string"}`)}}, `function.parameters: the arguments are an object`},
		{"parameters not a schema", Tool{Type: "function", Function: ToolFunction{Name: "f", Parameters: json.RawMessage(`{"type":"object","required":"id"}`)}}, "not a valid JSON Schema"},
		{"mock with two answers", Tool{Type: "function", Function: ToolFunction{Name: "f"}, Mock: &ToolMock{Result: json.RawMessage(`1`), Error: "x"}}, "mock: give one of result, error or exec"},
		{"mock with none", Tool{Type: "function", Function: ToolFunction{Name: "f"}, Mock: &ToolMock{}}, "mock: expected rules, result, error or exec"},
		{"rule without when", Tool{Type: "function", Function: ToolFunction{Name: "f"}, Mock: &ToolMock{Rules: []MockRule{{Result: json.RawMessage(`1`)}}}}, "mock.rules.0.when: required"},
		{"rule with both", Tool{Type: "function", Function: ToolFunction{Name: "f"}, Mock: &ToolMock{Rules: []MockRule{{When: map[string]any{}, Result: json.RawMessage(`1`), Error: "e"}}}}, "mock.rules.0: give one of result or error"},
		{"timeout without exec", Tool{Type: "function", Function: ToolFunction{Name: "f"}, Mock: &ToolMock{Result: json.RawMessage(`1`), Timeout: Duration(1)}}, "mock.timeout: applies only with exec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTool(tc.tool)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestCaseTools(t *testing.T) {
	s := &Suite{Tools: []Tool{
		{Type: "function", Function: ToolFunction{Name: "a", Description: "suite a"}, Mock: &ToolMock{Result: json.RawMessage(`"suite"`)}},
		{Type: "function", Function: ToolFunction{Name: "b"}},
	}}
	c := &Case{
		Tools: []Tool{{Type: "function", Function: ToolFunction{Name: "b", Description: "case b"}}, {Type: "function", Function: ToolFunction{Name: "c"}}},
		Mocks: map[string]ToolMock{"a": {Result: json.RawMessage(`"case"`)}},
	}
	got := s.CaseTools(c)
	if len(got) != 3 || got[1].Function.Description != "case b" || got[2].Function.Name != "c" {
		t.Fatalf("CaseTools = %+v", got)
	}
	if string(got[0].Mock.Result) != `"case"` {
		t.Errorf("tool a's mock = %s, want the case's", got[0].Mock.Result)
	}
	if string(s.Tools[0].Mock.Result) != `"suite"` {
		t.Errorf("the suite's tool was changed: %s", s.Tools[0].Mock.Result)
	}
	if !s.Conversational(&Case{}) || (&Suite{}).Conversational(&Case{}) {
		t.Error("Conversational: a suite with tools is one, a bare suite is not")
	}
}

func TestMillis(t *testing.T) {
	for _, tc := range []struct {
		ms   float64
		want time.Duration
	}{
		{1.021, 1_021_000}, {0.001, 1000}, {952.123456, 952_123_456}, {0, 0}, {30000, 30 * time.Second},
	} {
		if got := Millis(tc.ms); got != tc.want {
			t.Errorf("Millis(%v) = %d, want %d", tc.ms, got, tc.want)
		}
	}
}
