package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// convFixture is a run of a conversation suite, its results built by hand
// as the tool loop records them: a conversation that passed; one that ended
// at max_steps with the model calling a tool that kept failing; a scripted
// multi-turn one that failed its last turn; one cut off by a timeout after a
// tool call; and a single answer, which the reports show as before. The
// summary lists the failed cases as the aggregator does, with TailOf.
func convFixture() (*evals.Summary, []*evals.Result) {
	sys := evals.Message{Role: "system", Content: "You are ACME's support assistant. Use the tools."}
	user := func(s string) evals.Message { return evals.Message{Role: "user", Content: s} }
	said := func(s string) evals.Message { return evals.Message{Role: "assistant", Content: s} }
	call := func(id, args string) evals.Message {
		return evals.Message{Role: "assistant", ToolCalls: []evals.ToolCall{evals.NewToolCall(id, "lookup_order", args)}}
	}
	answer := func(id, content string) evals.Message {
		return evals.Message{Role: "tool", ToolCallID: id, Name: "lookup_order", Content: content}
	}
	failedTool := func(id, why string) evals.Message {
		return evals.Message{Role: "tool", ToolCallID: id, Name: "lookup_order", Content: "error: " + why, Error: why}
	}
	sc := func(name string, pass bool, reason string) evals.Score {
		s := evals.Score{Name: name, Type: "contains", Weight: 1, Pass: pass, Reason: reason}
		if pass {
			s.Score = 1
		}
		return s
	}
	run := "20261207-000000-c0ffee"
	results := []*evals.Result{
		{RunID: run, CaseID: "where-is-a1", Target: "support-v2", Status: evals.StatusPassed, Score: ptr(1), LatencyMS: 900,
			Output: "Your order A1 has shipped.", Steps: 2, ToolCalls: 1,
			Transcript: []evals.Message{sys, user("Where is my order A1?"), call("call_1", `{"order_id":"A1"}`),
				answer("call_1", `{"status":"shipped"}`), said("Your order A1 has shipped.")},
			Scores: []evals.Score{sc("mentions-status", true, "")}},
		{RunID: run, CaseID: "loop", Target: "support-v2", Status: evals.StatusFailed, Score: ptr(0), LatencyMS: 2400,
			Steps: 3, ToolCalls: 3, ToolErrors: 3, Outcome: evals.OutcomeMaxSteps,
			Transcript: []evals.Message{sys, user("Where is my order A9?"),
				call("call_1", `{"order_id": "A9"}`), failedTool("call_1", "no such order"),
				call("call_2", `{"order_id": "a9"}`), failedTool("call_2", "no such order"),
				call("call_3", `{"order_id": "A-9"}`), failedTool("call_3", "arguments do not fit the tool's parameters: order_id: Does not match pattern '^[A-Z][0-9]+$'")},
			Scores: []evals.Score{sc("mentions-status", false, `got "", expected it to contain "shipped"`)}},
		{RunID: run, CaseID: "eta", Target: "support-v2", Status: evals.StatusFailed, Score: ptr(0), LatencyMS: 1300,
			Output: "I cannot tell\nwhen it arrives.", Steps: 2,
			Transcript: []evals.Message{sys, user("Where is my order B2?"), said("It left our warehouse | today. \x1b[2J"),
				user("And when will it arrive?"), said("I cannot tell\nwhen it arrives.")},
			Scores: []evals.Score{sc("mentions-date", false, `got "I cannot tell when it arrives.", expected it to contain "2026-12-09"`)}},
		{RunID: run, CaseID: "slow", Target: "support-v2", Status: evals.StatusError, LatencyMS: 30000,
			Steps: 2, ToolCalls: 1,
			Transcript: []evals.Message{sys, user("Cancel order C3"), call("call_1", `{"order_id":"C3"}`), answer("call_1", `{"status":"processing"}`)},
			Error:      &evals.ResultError{Kind: evals.ErrKindTimeout, Message: "no response within 30s"}},
		{RunID: run, CaseID: "single", Target: "support-v2", Status: evals.StatusFailed, Score: ptr(0), LatencyMS: 500,
			Output: "Hello!", Scores: []evals.Score{sc("mentions-status", false, `got "Hello!", expected it to contain "shipped"`)}},
	}
	t := evals.TargetSummary{Name: "support-v2", Provider: "replay", Figures: evals.Figures{
		Cases: 5, Passed: 1, Failed: 3, Errored: 1, PassRate: 0.2, ErrorRate: 0.2, Mean: 0.25, Scored: 4,
		Errors: map[string]int{"timeout": 1}, LatencyMS: evals.LatencySummary{Mean: 7020, P50: 1300, P95: 24480, Max: 30000},
		Criteria: []evals.CriterionSummary{{Name: "mentions-status", Type: "contains", N: 3, Passed: 1, PassRate: 1.0 / 3, Mean: 1.0 / 3}},
	}, Conversations: &evals.ConversationSummary{Cases: 4, Steps: 9, StepsMean: 2.25, ToolCalls: 5, ToolErrors: 3, MaxSteps: 1}}
	for _, id := range []string{"eta", "loop", "single", "slow"} { // the aggregator's order: by id
		for _, r := range results {
			if r.CaseID != id {
				continue
			}
			reason := r.Scores
			f := evals.FailedCase{CaseID: r.CaseID, Status: r.Status, Conversation: evals.TailOf(r)}
			if r.Error != nil {
				f.Reason = r.Error.Kind + ": " + r.Error.Message
			} else {
				f.Reason = reason[0].Name + ": " + reason[0].Reason
			}
			t.FailedCases = append(t.FailedCases, f)
		}
	}
	sum := &evals.Summary{ReportVersion: 1, RunID: run, Suite: "order-support",
		Started: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), Targets: []evals.TargetSummary{t},
		Gate: evals.GateVerdict{Results: []evals.GateResult{{Expr: "pass_rate >= 0.8", Target: "support-v2", Value: ptr(0.2), Margin: -0.6,
			Message: "support-v2: pass_rate >= 0.8: got 0.2, off by 0.6"}}}}
	return sum, results
}

// TestConversationReports: under a failed conversation, the terminal
// summary, the Markdown summary and the JUnit test case show its counts,
// its outcome and its last messages, one line each, tool calls and results
// (errors marked) included; a single answer in the same run shows as it
// always did (the other golden files, which have no conversation, are
// unchanged).
func TestConversationReports(t *testing.T) {
	sum, rs := convFixture()

	var text bytes.Buffer
	if err := Text(&text, sum, Style{}); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "conversation.txt", text.Bytes())

	var md bytes.Buffer
	if err := WriteSuite(sum, sliceResults(rs), NewMarkdown(&md)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "conversation.md", md.Bytes())
	checkMarkdownTables(t, md.String())

	doc := writeJUnit(t, convFixture)
	checkGolden(t, "conversation-junit.xml", doc)
	checkJUnitSchema(t, doc)

	for name, out := range map[string]string{"terminal": text.String(), "markdown": md.String(), "junit": string(doc)} {
		for _, want := range []string{
			"max_steps after 3 steps, 3 tool calls, 3 tool errors; the last 3 of 8 messages:",
			`assistant: → lookup_order({"order_id": "A-9"})`,
			"tool: ← lookup_order: error: arguments do not fit the tool's parameters",
			"2 steps, 0 tool calls; the last 3 of 5 messages:",
			"user: And when will it arrive?",
			"assistant: I cannot tell when it arrives.",
		} {
			if name == "markdown" && strings.Contains(want, "; the last") {
				want = mdText(want) // the heading is text, the lines code spans
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, out)
			}
		}
		if strings.Contains(out, "\x1b") {
			t.Errorf("%s: a raw escape sequence from a message:\n%s", name, out)
		}
		if strings.Count(out, "the last 3 of") != 3 {
			t.Errorf("%s: want a tail under each of the 3 conversations that did not pass, and none under the single answer:\n%s", name, out)
		}
	}
}

// TestCSVConversation: the CSV's steps, tool_calls, tool_errors and outcome
// columns hold a conversation's counts, and are empty for a single answer.
func TestCSVConversation(t *testing.T) {
	sum, rs := convFixture()
	var b bytes.Buffer
	c, err := NewCSV(&b, []string{"mentions-status", "mentions-date"})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSuite(sum, sliceResults(rs), c); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	want := map[string][4]string{ // steps, tool_calls, tool_errors, outcome
		"where-is-a1": {"2", "1", "0", ""},
		"loop":        {"3", "3", "3", "max_steps"},
		"eta":         {"2", "0", "0", ""},
		"slow":        {"2", "1", "0", ""},
		"single":      {"", "", "", ""},
	}
	for _, row := range rows[1:] {
		w := want[row[col["case_id"]]]
		got := [4]string{row[col["steps"]], row[col["tool_calls"]], row[col["tool_errors"]], row[col["outcome"]]}
		if got != w {
			t.Errorf("%s: steps, tool_calls, tool_errors, outcome = %q, want %q", row[col["case_id"]], got, w)
		}
	}
}

// TestFailedCasesAligned: ids longer than the column's 10 runes widen it,
// so that the statuses of the failures still line up.
func TestFailedCasesAligned(t *testing.T) {
	sum := &evals.Summary{Suite: "s", Targets: []evals.TargetSummary{{Name: "m", Figures: evals.Figures{Cases: 2, Failed: 2},
		FailedCases: []evals.FailedCase{
			{CaseID: "a", Status: evals.StatusFailed, Reason: "x"},
			{CaseID: "refund-not-delivered", Status: evals.StatusError, Reason: "y"},
		}}}}
	var b bytes.Buffer
	if err := Text(&b, sum, Style{}); err != nil {
		t.Fatal(err)
	}
	var cols []int
	for _, line := range strings.Split(b.String(), "\n") {
		if i := strings.Index(line, " failed "); strings.HasPrefix(line, "  a ") && i > 0 {
			cols = append(cols, i)
		}
		if i := strings.Index(line, " error "); strings.HasPrefix(line, "  refund-not-delivered ") && i > 0 {
			cols = append(cols, i)
		}
	}
	if len(cols) != 2 || cols[0] != cols[1] {
		t.Fatalf("the statuses are not in one column (%v):\n%s", cols, b.String())
	}
}
