package evals

import (
	"reflect"
	"strings"
	"testing"
)

func TestMessageLine(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		name string
		m    Message
		want string
	}{
		{"user", Message{Role: "user", Content: "Where is\n my  order?"}, "user: Where is my order?"},
		{"answer", Message{Role: "assistant", Content: "It has shipped."}, "assistant: It has shipped."},
		{"one call", Message{Role: "assistant", ToolCalls: []ToolCall{NewToolCall("c1", "lookup_order", `{"order_id":"A1"}`)}},
			`assistant: → lookup_order({"order_id":"A1"})`},
		{"text and two calls", Message{Role: "assistant", Content: "Checking.", ToolCalls: []ToolCall{
			NewToolCall("c1", "lookup_order", `{"order_id": "A1"}`), NewToolCall("c2", "refund", `{"order_id":"A1",`)}},
			`assistant: Checking. → lookup_order({"order_id": "A1"}) → refund({"order_id":"A1",)`},
		{"result", Message{Role: "tool", ToolCallID: "c1", Name: "lookup_order", Content: "{\n  \"status\": \"shipped\"\n}"},
			`tool: ← lookup_order: { "status": "shipped" }`},
		{"tool error", Message{Role: "tool", ToolCallID: "c1", Name: "lookup_order", Content: "error: no such order", Error: "no such order"},
			`tool: ← lookup_order: error: no such order`},
		{"clipped", Message{Role: "assistant", Content: long, ToolCalls: []ToolCall{NewToolCall("c1", "f", `{"q":"`+long+`"}`)}},
			"assistant: " + strings.Repeat("x", 100) + "… → f(" + `{"q":"` + strings.Repeat("x", 54) + "…)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MessageLine(tc.m); got != tc.want {
				t.Errorf("MessageLine =\n %q\nwant\n %q", got, tc.want)
			}
		})
	}
}

func TestTailOf(t *testing.T) {
	if got := TailOf(&Result{Output: "a single answer"}); got != nil {
		t.Errorf("a single answer has a tail: %+v", got)
	}
	call := NewToolCall("c1", "lookup_order", `{"order_id":"A1"}`)
	r := &Result{
		Transcript: []Message{
			{Role: "system", Content: "sys"},
			{Role: "user", Content: "Where is A1?"},
			{Role: "assistant", ToolCalls: []ToolCall{call}},
			{Role: "tool", ToolCallID: "c1", Name: "lookup_order", Content: "error: no such order", Error: "no such order"},
			{Role: "assistant", ToolCalls: []ToolCall{call}},
		},
		Steps: 2, ToolCalls: 2, ToolErrors: 1, Outcome: OutcomeMaxSteps,
	}
	got := TailOf(r)
	want := &ConversationTail{Steps: 2, ToolCalls: 2, ToolErrors: 1, Outcome: "max_steps", Messages: 5, Last: []string{
		`assistant: → lookup_order({"order_id":"A1"})`,
		`tool: ← lookup_order: error: no such order`,
		`assistant: → lookup_order({"order_id":"A1"})`,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("TailOf =\n %+v\nwant\n %+v", got, want)
	}
	if h := got.Heading(); h != "max_steps after 2 steps, 2 tool calls, 1 tool error; the last 3 of 5 messages:" {
		t.Errorf("Heading = %q", h)
	}
	short := &ConversationTail{Steps: 1, ToolCalls: 0, Messages: 2, Last: []string{"user: q", "assistant: a"}}
	if h := short.Heading(); h != "1 step, 0 tool calls; the 2 messages:" {
		t.Errorf("Heading = %q", h)
	}
}
