package evals

import (
	"fmt"
	"strings"
)

// ConversationTail is how a conversation ended, as the reports show it
// under a case that did not pass: its counts, its outcome, and its last
// messages, one line each (MessageLine). A single answer has none.
type ConversationTail struct {
	// Steps, ToolCalls, ToolErrors and Outcome are the result's.
	Steps      int    `json:"steps"`
	ToolCalls  int    `json:"tool_calls"`
	ToolErrors int    `json:"tool_errors,omitempty"`
	Outcome    string `json:"outcome,omitempty"`
	// Messages counts the messages of the transcript; Last are the last
	// TailMessages of them, oldest first.
	Messages int      `json:"messages"`
	Last     []string `json:"last"`
}

// TailMessages is how many of a conversation's last messages the reports
// show.
const TailMessages = 3

// Clipping of MessageLine, in characters: a message's text, a tool call's
// arguments, a tool's result.
const (
	lineText   = 100
	lineArgs   = 60
	lineResult = 80
)

// TailOf returns how r's conversation ended; nil when r is a single answer
// (it has no transcript).
func TailOf(r *Result) *ConversationTail {
	if len(r.Transcript) == 0 {
		return nil
	}
	t := &ConversationTail{
		Steps: r.Steps, ToolCalls: r.ToolCalls, ToolErrors: r.ToolErrors, Outcome: r.Outcome,
		Messages: len(r.Transcript),
	}
	for _, m := range r.Transcript[max(0, len(r.Transcript)-TailMessages):] {
		t.Last = append(t.Last, MessageLine(m))
	}
	return t
}

// Counts says in a few words how the conversation went: "3 steps, 2 tool
// calls", or "max_steps after 8 steps, 8 tool calls, 1 tool error".
func (t *ConversationTail) Counts() string {
	s := plural(t.Steps, "step") + ", " + plural(t.ToolCalls, "tool call")
	if t.ToolErrors > 0 {
		s += ", " + plural(t.ToolErrors, "tool error")
	}
	if t.Outcome != "" {
		s = t.Outcome + " after " + s
	}
	return s
}

// Heading is Counts followed by which messages Last holds: "3 steps, 2 tool
// calls; the last 3 of 7 messages:".
func (t *ConversationTail) Heading() string {
	if len(t.Last) == t.Messages {
		return fmt.Sprintf("%s; the %s:", t.Counts(), plural(t.Messages, "message"))
	}
	return fmt.Sprintf("%s; the last %d of %d messages:", t.Counts(), len(t.Last), t.Messages)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// MessageLine writes a message of a conversation on one line, for a
// report: its role, then its text, each tool call of an assistant message
// as → NAME(ARGUMENTS), and a tool's result as ← NAME: RESULT, or ← NAME:
// error: WHY for a tool error. Runs of white space become one space, and
// the text, arguments and results are clipped (Clip).
func MessageLine(m Message) string {
	var b strings.Builder
	b.WriteString(m.Role)
	b.WriteString(":")
	if m.Role == RoleTool {
		b.WriteString(" ← " + m.Name + ": ")
		if m.Error != "" {
			b.WriteString("error: " + Clip(oneLine(m.Error), lineResult))
		} else {
			b.WriteString(Clip(oneLine(m.Content), lineResult))
		}
		return b.String()
	}
	if text := oneLine(m.Content); text != "" {
		b.WriteString(" " + Clip(text, lineText))
	}
	for _, c := range m.ToolCalls {
		b.WriteString(" → " + c.Name + "(" + Clip(oneLine(c.ArgumentsText()), lineArgs) + ")")
	}
	return b.String()
}

// oneLine joins s's words with single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
