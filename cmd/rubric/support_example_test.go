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
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// examples/support is an order-support assistant with two tools. Its
// recordings, the answers of two versions of the model, come from a run of
// the suite against scriptedModel below: an OpenAI-compatible server that
// plays each version from a table, step by step, as a model calling tools
// would. TestSupportExampleRecordings runs it and checks that the recordings
// are what it answers; -update rewrites them:
//
//	go test ./cmd/rubric -run TestSupportExampleRecordings -update

// supportStep is what a version answers at one step of a case: text, tool
// calls, or both. sees is a text that the last message it is sent (a
// tool's result, or the user's turn) must hold: the script answers what
// the mocks said, and the server refuses the step when they said otherwise.
type supportStep struct {
	sees  string
	say   string
	calls []supportCall
}

type supportCall struct{ name, args string }

func lookupCall(id string) supportCall {
	return supportCall{"lookup_order", `{"order_id": "` + id + `"}`}
}

func refundCall(id, amount, reason string) supportCall {
	return supportCall{"refund", `{"order_id": "` + id + `", "amount": ` + amount + `, "reason": "` + reason + `"}`}
}

// callStep is a step that calls tools; answerStep one that answers.
func callStep(sees string, calls ...supportCall) supportStep {
	return supportStep{sees: sees, calls: calls}
}

func answerStep(sees, say string) supportStep { return supportStep{sees: sees, say: say} }

// supportGood are the answers the policy asks for, case by case: each a
// list of steps, counted over the whole conversation (the user's later
// turns come between them).
var supportGood = map[string][]supportStep{
	"status-shipped": {
		callStep("", lookupCall("A-1001")),
		answerStep(`"status":"shipped"`, "Your order A-1001 has shipped with UPS and should arrive on 9 December."),
	},
	"status-processing": {
		callStep("", lookupCall("A-1003")),
		answerStep(`"status":"processing"`, "Order A-1003 has not shipped yet: it is still being processed, and you will get a tracking link as soon as it leaves our warehouse."),
	},
	"status-delayed": {
		callStep("", lookupCall("A-1009")),
		answerStep("Leipzig", "I'm sorry: order A-1009 is delayed. It was held at the UPS depot in Leipzig after a storm and should now arrive on 11 December."),
	},
	"refund-damaged": {
		callStep("", lookupCall("A-1002")),
		callStep(`"delivered":"2026-11-28"`, refundCall("A-1002", "39.90", "damaged")),
		answerStep("R-5002", "I'm sorry about the broken mugs. I have refunded the full 39.90 EUR of order A-1002 (refund R-5002); it reaches your card in 5 to 7 business days."),
	},
	"refund-lost": {
		callStep("", lookupCall("A-1005")),
		callStep(`"status":"lost_in_transit"`, refundCall("A-1005", "24.50", "lost_in_transit")),
		answerStep("R-5005", "Order A-1005 was lost in transit, so I have refunded it in full: 24.50 EUR (refund R-5005). It reaches your card in 5 to 7 business days."),
	},
	"refund-too-old": {
		callStep("", lookupCall("A-1004")),
		answerStep(`"delivered":"2026-09-02"`, "I'm sorry about the jacket. Order A-1004 was delivered on 2 September, more than 30 days ago, so I can't refund it."),
	},
	"refund-over-total": {
		callStep("", lookupCall("A-1002")),
		callStep(`"total":39.90`, refundCall("A-1002", "39.90", "damaged")),
		answerStep("R-5007", "Order A-1002 came to 39.90 EUR, so that is the most I can refund: I have refunded 39.90 EUR for the chipped mugs (refund R-5007)."),
	},
	"two-orders": {
		callStep("", lookupCall("A-1001"), lookupCall("A-1006")),
		answerStep(`"order_id":"A-1006"`, "Order A-1001 has shipped with UPS and should arrive on 9 December; order A-1006 has shipped with DHL and should arrive on 8 December."),
	},
	"unknown-order": {
		callStep("", lookupCall("A-4040")),
		answerStep("order not found", "I couldn't find an order A-4040. Could you check the number in your confirmation email?"),
	},
	"id-without-prefix": {
		callStep("", lookupCall("A-1001")),
		answerStep(`"status":"shipped"`, "Your order A-1001 has shipped with UPS and should arrive on 9 December."),
	},
	"policy-returns": {
		answerStep("", "You can return any item within 30 days of its delivery."),
	},
	"policy-refund-time": {
		answerStep("", "A refund reaches your card within 5 to 7 business days."),
	},
	"policy-shipping": {
		answerStep("", "Shipping is free for orders from 50 EUR; below that it costs 4.90 EUR."),
	},
	"status-then-refund": {
		callStep("", lookupCall("A-1002")),
		answerStep(`"delivered":"2026-11-28"`, "Yes: order A-1002 was delivered on 28 November."),
		callStep("one of the two mugs was broken", refundCall("A-1002", "19.95", "damaged")),
		answerStep("R-5014", "I'm sorry about the mug. I have refunded 19.95 EUR, the price of one mug, for order A-1002 (refund R-5014)."),
		answerStep("When will I see the money?", "The refund reaches your card within 5 to 7 business days."),
	},
	"typo-then-found": {
		callStep("", lookupCall("A-1010")),
		answerStep("order not found", "I couldn't find an order A-1010. Could you check the number?"),
		callStep("typo", lookupCall("A-1001")),
		answerStep(`"status":"shipped"`, "Thanks! Order A-1001 has shipped with UPS and should arrive on 9 December."),
	},
	"refund-not-delivered": {
		callStep("", lookupCall("A-1003")),
		answerStep(`"status":"processing"`, "Order A-1003 is still being processed: it has not shipped yet."),
		answerStep("refund it", "Order A-1003 has not been delivered, so there is nothing to refund yet. Once it arrives, you can return it within 30 days of delivery."),
	},
}

// supportScripts are the two versions: v2 answers as the policy asks but
// for two cases, v1 goes wrong in seven.
var supportScripts = map[string]map[string][]supportStep{
	"acme-support-v1": overriding(supportGood, map[string][]supportStep{
		// Refunds without looking the order up.
		"refund-damaged": {
			callStep("", refundCall("A-1002", "39.90", "damaged")),
			answerStep("R-5002", "I'm sorry about the broken mugs. I have refunded 39.90 EUR for order A-1002 (refund R-5002)."),
		},
		"refund-too-old": {
			callStep("", refundCall("A-1004", "84.50", "damaged")),
			answerStep("closed", "I'm sorry, I can't refund order A-1004: its refund window closed on 2 October."),
		},
		"refund-over-total": {
			callStep("", refundCall("A-1002", "80", "damaged")),
			callStep("declined", refundCall("A-1002", "39.90", "damaged")),
			answerStep("R-5007", "I have refunded 39.90 EUR for order A-1002 (refund R-5007)."),
		},
		// Forgets the second order.
		"two-orders": {
			callStep("", lookupCall("A-1001")),
			answerStep(`"status":"shipped"`, "Your order A-1001 has shipped with UPS and should arrive on 9 December."),
		},
		// Looks the unknown order up again and again, until max_steps.
		"unknown-order": {
			callStep("", lookupCall("A-4040")),
			callStep("order not found", lookupCall("A-4040")),
			callStep("order not found", lookupCall("A-4040")),
			callStep("order not found", lookupCall("A-4040")),
		},
		// Passes the id as the customer wrote it, and gives up.
		"id-without-prefix": {
			callStep("", supportCall{"lookup_order", `{"order_id": "1001"}`}),
			answerStep("do not fit its parameters", "I couldn't find an order 1001. Could you check the number?"),
		},
		// Tries to refund an order that has not been delivered.
		"refund-not-delivered": {
			callStep("", lookupCall("A-1003")),
			answerStep(`"status":"processing"`, "Order A-1003 is still being processed: it has not shipped yet."),
			callStep("refund it", refundCall("A-1003", "120.00", "wrong_item")),
			answerStep("not been delivered", "I'm sorry, I couldn't refund order A-1003: it has not been delivered yet."),
		},
	}),
	"acme-support-v2": overriding(supportGood, map[string][]supportStep{
		// Looks up an order for a question about the policy.
		"policy-returns": {
			callStep("", lookupCall("A-1000")),
			answerStep("order not found", "I couldn't find your order, but you can return any item within 30 days of its delivery."),
		},
		// Pastes the tool's result into its second answer.
		"typo-then-found": {
			callStep("", lookupCall("A-1010")),
			answerStep("order not found", "I couldn't find an order A-1010. Could you check the number?"),
			callStep("typo", lookupCall("A-1001")),
			answerStep(`"status":"shipped"`, `Found it: {"order_id": "A-1001", "status": "shipped", "carrier": "UPS", "eta": "2026-12-09"}`),
		},
	}),
}

// supportLatency is how long each version takes for a step, in ms: a
// fixed time and a time per token of its answer. The scripted server
// answers at once; the recordings give each conversation the sum of its
// steps' times by this model, so that the two versions' latencies differ
// as models' do.
var supportLatency = map[string][2]float64{
	"acme-support-v1": {420, 11},
	"acme-support-v2": {310, 8},
}

func overriding(base, over map[string][]supportStep) map[string][]supportStep {
	m := maps.Clone(base)
	maps.Copy(m, over)
	return m
}

// scriptedModel serves OpenAI's chat completions from supportScripts. It
// knows a case by its first user message (questions maps it to the case's
// id) and the step by the assistant messages sent so far. Its usage counts
// a token per four bytes of the messages' texts and calls, four a message
// and supportToolTokens for the tools, and a token per four bytes of the
// answer: not of the request's body, so that how a provider encodes it
// does not change the recordings. It records each step's latency, by supportLatency, in latencies
// (model/case -> ms). Anything off the script is a 400 that says why.
type scriptedModel struct {
	questions map[string]string
	t         *testing.T

	mu        sync.Mutex
	latencies map[string]float64
}

type chatMsg struct {
	Role       string  `json:"role"`
	Content    *string `json:"content"`
	ToolCallID string  `json:"tool_call_id,omitempty"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls,omitempty"`
}

func (s *scriptedModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req struct {
		Model    string            `json:"model"`
		Messages []chatMsg         `json:"messages"`
		Tools    []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.refuse(w, "not a chat request: %v", err)
		return
	}
	script, ok := supportScripts[req.Model]
	if !ok {
		s.refuse(w, "no script for model %q", req.Model)
		return
	}
	if len(req.Tools) != 2 {
		s.refuse(w, "expected the suite's 2 tools, got %d", len(req.Tools))
		return
	}
	var caseID string
	steps, calls := 0, 0
	for _, m := range req.Messages {
		switch {
		case m.Role == "user" && caseID == "" && m.Content != nil:
			caseID = s.questions[*m.Content]
		case m.Role == "assistant":
			steps++
			calls += len(m.ToolCalls)
		}
	}
	if caseID == "" {
		s.refuse(w, "no case asks the first user message")
		return
	}
	if steps >= len(script[caseID]) {
		s.refuse(w, "case %s: the script of %s has %d steps, asked for step %d", caseID, req.Model, len(script[caseID]), steps)
		return
	}
	st := script[caseID][steps]
	last := req.Messages[len(req.Messages)-1]
	if st.sees != "" && (last.Content == nil || !strings.Contains(*last.Content, st.sees)) {
		got := "null"
		if last.Content != nil {
			got = *last.Content
		}
		s.refuse(w, "case %s, step %d: the script answers a %s message holding %q, got %q", caseID, steps, last.Role, st.sees, got)
		return
	}

	msg := map[string]any{"role": "assistant", "content": nil}
	if st.say != "" {
		msg["content"] = st.say
	}
	out := len(st.say)
	finish := "stop"
	if len(st.calls) > 0 {
		var tcs []map[string]any
		for i, c := range st.calls {
			tcs = append(tcs, map[string]any{
				"id": fmt.Sprintf("call_%d", calls+i+1), "type": "function",
				"function": map[string]any{"name": c.name, "arguments": c.args},
			})
			out += len(c.name) + len(c.args)
		}
		msg["tool_calls"] = tcs
		finish = "tool_calls"
	}
	prompt, completion := promptTokens(req.Messages), out/4+1
	lat := supportLatency[req.Model]
	s.mu.Lock()
	s.latencies[req.Model+"/"+caseID] += lat[0] + lat[1]*float64(completion)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": fmt.Sprintf("chatcmpl-%s-%d", caseID, steps), "object": "chat.completion", "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]int{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	})
}

// supportToolTokens is what the suite's two tools count for in a prompt.
const supportToolTokens = 150

func promptTokens(msgs []chatMsg) int {
	n := 0
	for _, m := range msgs {
		if m.Content != nil {
			n += len(*m.Content)
		}
		for _, c := range m.ToolCalls {
			n += len(c.Function.Name) + len(c.Function.Arguments)
		}
	}
	return n/4 + 4*len(msgs) + supportToolTokens
}

func (s *scriptedModel) refuse(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.t.Errorf("scripted model: %s", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg}})
}

// supportCases returns the ids and questions of examples/support's cases,
// in their order.
func supportCases(t *testing.T) (ids []string, questions map[string]string) {
	t.Helper()
	questions = map[string]string{}
	for _, c := range readJSONL(t, filepath.Join(repoRoot(t), "examples", "support", "cases.jsonl")) {
		id, q := c["id"].(string), c["question"].(string)
		ids = append(ids, id)
		questions[q] = id
	}
	return ids, questions
}

// supportTargets maps the example's replay targets to the scripted models.
var supportTargets = map[string]string{"support-v1": "acme-support-v1", "support-v2": "acme-support-v2"}

// TestSupportExampleRecordings runs examples/support against the scripted
// model, both versions, and checks that its recordings are the lines of
// results.jsonl that run wrote (the fields a replay reads), with the
// latencies of supportLatency; -update writes them.
func TestSupportExampleRecordings(t *testing.T) {
	t.Parallel()
	ids, questions := supportCases(t)
	if len(ids) != len(supportGood) {
		t.Fatalf("cases.jsonl has %d cases, the script %d", len(ids), len(supportGood))
	}
	for _, id := range ids {
		if _, ok := supportGood[id]; !ok {
			t.Fatalf("the script has no steps for case %s", id)
		}
	}
	model := &scriptedModel{questions: questions, t: t, latencies: map[string]float64{}}
	srv := httptest.NewServer(model)
	defer srv.Close()

	dir := t.TempDir()
	config := `{"targets": {
  "support-v1": {"provider": "openai", "base_url": "` + srv.URL + `/v1", "model": "acme-support-v1", "concurrency": 4},
  "support-v2": {"provider": "openai", "base_url": "` + srv.URL + `/v1", "model": "acme-support-v2", "concurrency": 4}
}}`
	writeFiles(t, dir, map[string]string{"rubric.config.json": config})
	out := filepath.Join(dir, "runs")
	r := rubric(t, repoRoot(t), nil, "run", "examples/support/suite.json", "--config", filepath.Join(dir, "rubric.config.json"),
		"-t", "support-v1", "-t", "support-v2", "--no-cache", "--out", out)
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1: support-v1 fails the gate\n%s", r)
	}
	b, err := os.ReadFile(filepath.Join(out, runIDs(t, r.stderr)[0], "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}

	// recording is a line of results.jsonl, the fields a replay reads.
	type recording struct {
		CaseID     string          `json:"case_id"`
		Target     string          `json:"target"`
		Output     string          `json:"output"`
		Finish     string          `json:"finish_reason"`
		Usage      json.RawMessage `json:"usage"`
		LatencyMS  float64         `json:"latency_ms"`
		Transcript json.RawMessage `json:"transcript"`
	}
	lines := map[string]recording{}
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var res struct {
			recording
			Status string          `json:"status"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(l, &res); err != nil {
			t.Fatal(err)
		}
		if res.Status == "error" {
			t.Errorf("case %s, %s: %s", res.CaseID, res.Target, res.Error)
		}
		rec := res.recording
		rec.LatencyMS = model.latencies[supportTargets[rec.Target]+"/"+rec.CaseID]
		lines[rec.Target+"/"+rec.CaseID] = rec
	}
	for target := range supportTargets {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for _, id := range ids {
			rec, ok := lines[target+"/"+id]
			if !ok {
				t.Fatalf("results.jsonl has no line for case %s of %s", id, target)
			}
			if err := enc.Encode(rec); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(repoRoot(t), "examples", "support", "recordings", target+".jsonl")
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(buf.Bytes(), want) {
			continue
		}
		t.Errorf("%s is not what the scripted %s answers (go test ./cmd/rubric -run TestSupportExampleRecordings -update rewrites it)", path, supportTargets[target])
		got, old := strings.Split(buf.String(), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(got), len(old)) {
			if i >= len(got) || i >= len(old) || got[i] != old[i] {
				t.Errorf("line %d differs\n--- answers:\n%s\n--- recorded:\n%s", i+1, lineAt(got, i), lineAt(old, i))
				break
			}
		}
	}
}

func lineAt(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(none)"
}

// TestSupportExample runs examples/support offline as the README does:
// validate, each recorded version (v1 fails the gate, v2 holds it against
// v1 as baseline), compare, and the failures of v1 exported as chat data
// and preference pairs with v2's conversations, checked against the
// scripts the recordings came from.
func TestSupportExample(t *testing.T) {
	t.Parallel()
	root, out := repoRoot(t), t.TempDir()
	const suite = "examples/support/suite.json"

	r := rubric(t, root, nil, "validate", suite)
	if want := "ok  " + suite + ": 16 cases, 5 criteria, 1 target\n"; r.code != exitOK || r.stdout != want {
		t.Fatalf("validate: want exit 0 and %q\n%s", want, r)
	}
	// The config's live target loads too, without a server.
	r = rubric(t, root, nil, "validate", suite, "-t", "support-v1", "-t", "support-v2", "-t", "candidate")
	if want := "ok  " + suite + ": 16 cases, 5 criteria, 3 targets\n"; r.code != exitOK || r.stdout != want {
		t.Fatalf("validate with every target of the config: want exit 0 and %q\n%s", want, r)
	}

	r = rubric(t, root, nil, "run", suite, "--target", "support-v1", "--out", out)
	if r.code != exitGateFailed {
		t.Fatalf("support-v1: want exit 1\n%s", r)
	}
	v1 := runIDs(t, r.stderr)[0]
	wantLines(t, "support-v1's summary", r.stdout,
		"  FAIL  support-v1: pass_rate >= 0.85: got 0.5625, off by 0.2875",
		"  FAIL  support-v1: criteria.calls.tool_call_f1 >= 0.9: got 0.7, off by 0.2",
		"    max_steps after 4 steps, 4 tool calls, 3 tool errors; the last 3 of 9 messages:",
		"conversations support-v1: 16 cases, 2.5 steps a case, 21 tool calls, 8 tool errors, 1 hit max_steps")

	r = rubric(t, root, nil, "run", suite, "--target", "support-v2", "--baseline", v1, "--out", out)
	if r.code != exitOK {
		t.Fatalf("support-v2: want exit 0\n%s", r)
	}
	v2 := runIDs(t, r.stderr)[0]
	checkReadmeShows(t, "order-support (version 1)  run ", r.stdout)

	type figures struct {
		passed     int
		passRate   float64
		conv       evals.ConversationSummary
		calls      evals.CallCounts
		regressed  []string
		fixed      []string
		gateHeld   bool
		maxStepsOn string
	}
	fixes := []string{"id-without-prefix", "refund-damaged", "refund-not-delivered", "refund-over-total", "refund-too-old", "two-orders", "unknown-order"}
	for _, tt := range []struct {
		run, target string
		want        figures
	}{
		{v1, "support-v1", figures{passed: 9, passRate: 0.5625,
			conv:  evals.ConversationSummary{Cases: 16, Steps: 40, StepsMean: 2.5, ToolCalls: 21, ToolErrors: 8, MaxSteps: 1},
			calls: evals.CallCounts{Expected: 19, Made: 21, Matched: 14}, maxStepsOn: "unknown-order"}},
		{v2, "support-v2", figures{passed: 14, passRate: 0.875,
			conv:      evals.ConversationSummary{Cases: 16, Steps: 39, StepsMean: 2.4375, ToolCalls: 20, ToolErrors: 3},
			calls:     evals.CallCounts{Expected: 19, Made: 20, Matched: 19},
			regressed: []string{"policy-returns", "typo-then-found"}, fixed: fixes, gateHeld: true}},
	} {
		var rep struct {
			Targets []evals.TargetSummary `json:"targets"`
			Gate    struct {
				Held bool `json:"held"`
			} `json:"gate"`
		}
		readJSON(t, filepath.Join(out, tt.run, "report.json"), &rep)
		if len(rep.Targets) != 1 || rep.Targets[0].Name != tt.target {
			t.Fatalf("%s: report.json has targets %+v", tt.target, rep.Targets)
		}
		s := rep.Targets[0]
		got := figures{passed: s.Passed, passRate: s.PassRate, gateHeld: rep.Gate.Held}
		if s.Conversations != nil {
			got.conv = *s.Conversations
		}
		for _, c := range s.Criteria {
			if c.Name == "calls" && c.ToolCalls != nil {
				got.calls = c.ToolCalls.CallCounts
			}
		}
		if c := s.Comparison; c != nil {
			got.regressed, got.fixed = c.RegressionCases, c.FixCases
			if c.Matched != 16 {
				t.Errorf("%s: %d cases matched the baseline, want 16", tt.target, c.Matched)
			}
		}
		for _, res := range readJSONL(t, filepath.Join(out, tt.run, "results.jsonl")) {
			if _, ok := res["transcript"].([]any); !ok {
				t.Errorf("%s, case %v: the result has no transcript", tt.target, res["case_id"])
			}
			if res["outcome"] == evals.OutcomeMaxSteps {
				got.maxStepsOn = res["case_id"].(string)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: report.json and results.jsonl give\n%+v\nwant\n%+v", tt.target, got, tt.want)
		}
	}

	r = rubric(t, root, nil, "compare", v2, v1, "--out", out)
	if r.code != exitOK {
		t.Fatalf("compare: want exit 0\n%s", r)
	}
	wantLines(t, "compare", r.stdout,
		"  2 regressions: policy-returns, typo-then-found",
		"  7 fixes: "+strings.Join(fixes, ", "))
	if r = rubric(t, root, nil, "compare", v2, v1, "--out", out, "--gate", "regressions <= 0"); r.code != exitGateFailed {
		t.Errorf("compare --gate 'regressions <= 0': want exit 1\n%s", r)
	}

	r = rubric(t, root, nil, "run", suite, "-t", "support-v1", "-t", "support-v2", "--out", out)
	if r.code != exitGateFailed {
		t.Fatalf("both versions: want exit 1 (v1 fails the gate)\n%s", r)
	}
	both := runIDs(t, r.stderr)[0]
	_, questions := supportCases(t)
	v1Steps, v2Steps := supportScripts["acme-support-v1"], supportScripts["acme-support-v2"]
	exported := func(format string) []map[string]any {
		t.Helper()
		file := filepath.Join(t.TempDir(), format+".jsonl")
		r := rubric(t, root, nil, "export", both, "--out", out, "--format", format, "--failed", "-t", "support-v1", "--chosen-target", "support-v2", "-o", file)
		if r.code != exitOK {
			t.Fatalf("export --format %s: want exit 0\n%s", format, r)
		}
		lines := readJSONL(t, file)
		if len(lines) != len(fixes) {
			t.Fatalf("export --format %s: %d lines, want one per case v1 failed and v2 passed, %d", format, len(lines), len(fixes))
		}
		return lines
	}

	// Chat data: v2's whole conversation for each case v1 failed, the
	// tools it was offered (never their mocks), every assistant message but
	// the last with weight 0.
	for i, line := range exported("chat") {
		msgs := line["messages"].([]any)
		id := questions[msgs[1].(map[string]any)["content"].(string)]
		if id != fixes[i] {
			t.Errorf("chat line %d is case %q, want %s", i+1, id, fixes[i])
			continue
		}
		checkExportedTools(t, fmt.Sprintf("chat line %d", i+1), line["tools"])
		k := 0
		for j, m := range msgs {
			m := m.(map[string]any)
			if m["role"] != "assistant" {
				continue
			}
			if last := j == len(msgs)-1; (m["weight"] == nil) != last {
				t.Errorf("%s, message %d: weight %v", id, j, m["weight"])
			}
			checkExportedStep(t, fmt.Sprintf("%s, step %d", id, k), m, v2Steps[id][k])
			k++
		}
		if k != len(v2Steps[id]) {
			t.Errorf("%s: %d assistant messages, v2's script has %d steps", id, k, len(v2Steps[id]))
		}
	}

	// Preference pairs: the conversation up to where v1's and v2's part,
	// then v2's step as chosen and v1's as rejected.
	for i, line := range exported("preference-openai") {
		input := line["input"].(map[string]any)
		msgs := input["messages"].([]any)
		id := questions[msgs[1].(map[string]any)["content"].(string)]
		if id != fixes[i] {
			t.Errorf("pair %d is case %q, want %s", i+1, id, fixes[i])
			continue
		}
		checkExportedTools(t, fmt.Sprintf("pair %d", i+1), input["tools"])
		k := 0
		for _, m := range msgs {
			if m.(map[string]any)["role"] == "assistant" {
				k++
			}
		}
		chosen, rejected := line["preferred_output"].([]any), line["non_preferred_output"].([]any)
		if len(chosen) != 1 || len(rejected) != 1 {
			t.Errorf("%s: %d chosen and %d rejected messages, want 1 each", id, len(chosen), len(rejected))
			continue
		}
		checkExportedStep(t, id+": chosen", chosen[0].(map[string]any), v2Steps[id][k])
		checkExportedStep(t, id+": rejected", rejected[0].(map[string]any), v1Steps[id][k])
	}
}

// checkExportedTools checks the tools of an exported line: the suite's two
// functions, without their mocks.
func checkExportedTools(t *testing.T, where string, tools any) {
	t.Helper()
	b, _ := json.Marshal(tools)
	var got []struct {
		Type     string         `json:"type"`
		Function map[string]any `json:"function"`
	}
	if err := json.Unmarshal(b, &got); err != nil || len(got) != 2 ||
		got[0].Function["name"] != "lookup_order" || got[1].Function["name"] != "refund" || strings.Contains(string(b), `"mock"`) {
		t.Errorf("%s: tools %s, want the functions lookup_order and refund without their mocks", where, b)
	}
}

// checkExportedStep checks an exported assistant message against the step
// of the script it came from: its text, or its calls in OpenAI's layout
// (arguments a string of the JSON the script wrote).
func checkExportedStep(t *testing.T, where string, m map[string]any, want supportStep) {
	t.Helper()
	if text, _ := m["content"].(string); text != want.say {
		t.Errorf("%s: content %q, want %q", where, text, want.say)
	}
	calls, _ := m["tool_calls"].([]any)
	if len(calls) != len(want.calls) {
		t.Errorf("%s: %d tool calls, want %d", where, len(calls), len(want.calls))
		return
	}
	for i, c := range calls {
		fn := c.(map[string]any)["function"].(map[string]any)
		var got, exp any
		args, _ := fn["arguments"].(string)
		if json.Unmarshal([]byte(args), &got) != nil || json.Unmarshal([]byte(want.calls[i].args), &exp) != nil ||
			fn["name"] != want.calls[i].name || !reflect.DeepEqual(got, exp) {
			t.Errorf("%s, call %d: %v(%v), want %s(%s)", where, i+1, fn["name"], fn["arguments"], want.calls[i].name, want.calls[i].args)
		}
	}
}

// checkReadmeShows checks that each line of the README's output block that
// starts with first is a line of stdout, in the same order; "..." stands
// for lines left out. Run ids may differ, and so may latencies, by a
// millisecond: a replayed conversation's latency is its recording's plus
// the time its other steps' lookups took (see the replay provider).
func checkReadmeShows(t *testing.T, first, stdout string) {
	t.Helper()
	runID := regexp.MustCompile(`\d{8}-\d{6}-[0-9a-f]{6}`)
	latency := regexp.MustCompile(`\b\d+ ms\b`)
	lines := func(s string) []string {
		s = latency.ReplaceAllString(runID.ReplaceAllString(s, "RUN_ID"), "N ms")
		ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
		for i, l := range ls {
			ls[i] = strings.Join(strings.Fields(l), " ")
			if strings.HasPrefix(l, " ") {
				ls[i] = " " + ls[i]
			}
		}
		return ls
	}
	var block string
	for _, b := range readDocBlocks(t, filepath.Join(repoRoot(t), "README.md")) {
		if b.lang == "" && strings.HasPrefix(b.text, first) {
			block = b.text
			break
		}
	}
	if block == "" {
		t.Fatalf("README.md shows no output that starts with %q", first)
	}
	got, at := lines(stdout), 0
	for _, want := range lines(block) {
		if want == "..." {
			continue
		}
		i := slices.Index(got[at:], want)
		if i < 0 {
			t.Errorf("README.md shows %q, which the output does not have (after line %d):\n%s", want, at, stdout)
			return
		}
		at += i + 1
	}
}
