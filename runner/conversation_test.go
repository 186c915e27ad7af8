package runner

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
	"github.com/rubric-eval/rubric/evals/mock"
)

// toolSuite is a suite with one tool, lookup_order(order_id), mocked by
// rules: A1 has shipped, B2 fails, others get no answer.
func toolSuite(t *testing.T) *evals.Suite {
	s := testSuite(t)
	s.Tools = []evals.Tool{{
		Type: "function",
		Function: evals.ToolFunction{Name: "lookup_order", Parameters: json.RawMessage(
			`{"type":"object","required":["order_id"],"properties":{"order_id":{"type":"string"}},"additionalProperties":false}`)},
		Mock: &evals.ToolMock{Rules: []evals.MockRule{
			{When: map[string]any{"order_id": "A1"}, Result: json.RawMessage(`{"status": "shipped"}`)},
			{When: map[string]any{"order_id": "B2"}, Error: "order service down"},
		}},
	}}
	return s
}

// script answers a conversation's steps in turn: each entry is the answer
// to the request with that Step.
func script(answers ...*evals.Response) func(context.Context, int, *evals.Request) (*evals.Response, error) {
	return func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
		if req.Step >= len(answers) {
			return nil, errors.New("no more answers")
		}
		a := *answers[req.Step]
		a.ToolCalls = append([]evals.ToolCall(nil), a.ToolCalls...) // the loop may fill ids
		a.Usage = evals.Usage{PromptTokens: 10, CompletionTokens: 2, TotalTokens: 12}
		return &a, nil
	}
}

func calls(cs ...evals.ToolCall) *evals.Response {
	return &evals.Response{ToolCalls: cs, Finish: "tool_calls"}
}
func say(text string) *evals.Response     { return &evals.Response{Text: text, Finish: "stop"} }
func call(id, args string) evals.ToolCall { return evals.NewToolCall(id, "lookup_order", args) }

func runOne(t *testing.T, s *evals.Suite, c *evals.Case, p *evalstest.Provider, crits ...Criterion) *evals.Result {
	t.Helper()
	if crits == nil {
		crits = []Criterion{crit("any", scoreFunc(func(in *evals.Input) evals.Verdict { return evals.Verdict{Score: 1, Pass: true} }))}
	}
	sink := &memSink{}
	_, err := Run(context.Background(), Options{
		RunID: "r", Suite: s, Targets: []Target{target("m", p, 2)}, Criteria: crits,
		Open: func() (CaseSource, error) { return &cases{list: []*evals.Case{c}}, nil },
		Sink: sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.results) != 1 {
		t.Fatalf("%d results, want 1", len(sink.results))
	}
	return sink.results[0]
}

type scoreFunc func(in *evals.Input) evals.Verdict

func (f scoreFunc) Score(_ context.Context, in *evals.Input) evals.Verdict { return f(in) }

func roles(ms []evals.Message) string {
	var b []string
	for _, m := range ms {
		b = append(b, m.Role)
	}
	return strings.Join(b, ",")
}

func TestConversationToolLoop(t *testing.T) {
	q := &evals.Case{ID: "c1", Vars: map[string]any{"q": "where is A1?"}}
	for _, tc := range []struct {
		name       string
		answers    []*evals.Response
		roles      string
		toolErrors int
		toolCalls  int
		tool       []string // the tool messages' contents
		errs       []string // their errors, as far as they go
		output     string
	}{
		{name: "one call answered by a rule",
			answers: []*evals.Response{calls(call("1", `{"order_id": "A1"}`)), say("It has shipped.")},
			roles:   "user,assistant,tool,assistant", toolCalls: 1,
			tool: []string{`{"status":"shipped"}`}, output: "It has shipped."},
		{name: "parallel calls answered in order",
			answers: []*evals.Response{calls(call("1", `{"order_id": "A1"}`), call("2", `{"order_id": "B2"}`)), say("One shipped, one unknown.")},
			roles:   "user,assistant,tool,tool,assistant", toolCalls: 2, toolErrors: 1,
			tool: []string{`{"status":"shipped"}`, "Error: order service down"}, errs: []string{"", "order service down"}},
		{name: "malformed arguments are fed back",
			answers: []*evals.Response{calls(call("1", `{"order_id": "A1"`)), say("Sorry.")},
			roles:   "user,assistant,tool,assistant", toolCalls: 1, toolErrors: 1,
			errs: []string{"the arguments of lookup_order are not valid JSON: arguments are not JSON: unexpected end of JSON input"}},
		{name: "arguments outside the schema",
			answers: []*evals.Response{calls(call("1", `{"order_id": 7}`)), say("Sorry.")},
			roles:   "user,assistant,tool,assistant", toolCalls: 1, toolErrors: 1,
			errs: []string{"the arguments of lookup_order do not fit its parameters: order_id: Invalid type. Expected: string, given: integer"}},
		{name: "no rule matches",
			answers: []*evals.Response{calls(call("1", `{"order_id": "Z9"}`)), say("Unknown.")},
			roles:   "user,assistant,tool,assistant", toolCalls: 1, toolErrors: 1,
			errs: []string{`no rule of the mock of lookup_order matches the arguments {"order_id": "Z9"}`}},
		{name: "unknown tool",
			answers: []*evals.Response{calls(evals.NewToolCall("1", "cancel_order", `{}`)), say("Done.")},
			roles:   "user,assistant,tool,assistant", toolCalls: 1, toolErrors: 1,
			errs: []string{`no tool named "cancel_order": the tools are "lookup_order"`}},
		{name: "missing ids are made up",
			answers: []*evals.Response{calls(call("", `{"order_id": "A1"}`)), say("ok")},
			roles:   "user,assistant,tool,assistant", toolCalls: 1, tool: []string{`{"status":"shipped"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &evalstest.Provider{Respond: script(tc.answers...)}
			r := runOne(t, toolSuite(t), q, p)
			if r.Status != evals.StatusPassed || r.Error != nil {
				t.Fatalf("status %s, error %+v", r.Status, r.Error)
			}
			if got := roles(r.Transcript); got != tc.roles {
				t.Errorf("transcript roles %s, want %s", got, tc.roles)
			}
			if r.Steps != len(tc.answers) || r.ToolCalls != tc.toolCalls || r.ToolErrors != tc.toolErrors {
				t.Errorf("steps %d, tool calls %d, tool errors %d; want %d, %d, %d", r.Steps, r.ToolCalls, r.ToolErrors, len(tc.answers), tc.toolCalls, tc.toolErrors)
			}
			var tools []evals.Message
			for _, m := range r.Transcript {
				if m.Role == evals.RoleTool {
					tools = append(tools, m)
				}
			}
			for i, want := range tc.tool {
				if tools[i].Content != want {
					t.Errorf("tool message %d: %q, want %q", i, tools[i].Content, want)
				}
			}
			for i, want := range tc.errs {
				if tools[i].Error != want {
					t.Errorf("tool message %d error: %q, want %q", i, tools[i].Error, want)
				}
			}
			// Each tool message answers a call of the message before.
			for i, m := range r.Transcript {
				if m.Role == evals.RoleAssistant && len(m.ToolCalls) > 0 {
					for k, c := range m.ToolCalls {
						if c.ID == "" || r.Transcript[i+1+k].ToolCallID != c.ID || r.Transcript[i+1+k].Name != c.Name {
							t.Errorf("call %+v is answered by %+v", c, r.Transcript[i+1+k])
						}
					}
				}
			}
			want := tc.output
			if want == "" {
				want = tc.answers[len(tc.answers)-1].Text
			}
			if r.Output != want || r.Finish != "stop" {
				t.Errorf("output %q finish %q, want %q stop", r.Output, r.Finish, want)
			}
			if r.Usage.TotalTokens != 12*len(tc.answers) {
				t.Errorf("usage %+v: want the steps' usage summed", r.Usage)
			}
			// Each step sent the whole conversation so far, with the tools.
			sent := p.Calls()
			for k, c := range sent {
				if c.Request.Step != k || len(c.Request.Tools) != 1 {
					t.Errorf("request %d: step %d, %d tools", k, c.Request.Step, len(c.Request.Tools))
				}
			}
			last := sent[len(sent)-1].Request.Messages
			if !reflect.DeepEqual(last, r.Transcript[:len(r.Transcript)-1]) {
				t.Errorf("the last request sent %s, want the transcript before the answer", roles(last))
			}
		})
	}
}

func TestConversationMaxSteps(t *testing.T) {
	s := toolSuite(t)
	s.MaxSteps = 3
	forever := func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
		return calls(call("", `{"order_id": "A1"}`)), nil
	}
	p := &evalstest.Provider{Respond: forever}
	r := runOne(t, s, &evals.Case{ID: "c", Vars: map[string]any{"q": "x"}}, p)
	if r.Outcome != evals.OutcomeMaxSteps || r.Steps != 3 || len(p.Calls()) != 3 {
		t.Fatalf("outcome %q after %d steps (%d requests), want max_steps after 3", r.Outcome, r.Steps, len(p.Calls()))
	}
	if r.Status == evals.StatusError {
		t.Fatalf("max_steps is an outcome, not an error: %+v", r.Error)
	}
	// The last calls are recorded, unanswered: the loop stopped there.
	if last := r.Transcript[len(r.Transcript)-1]; last.Role != evals.RoleAssistant || len(last.ToolCalls) != 1 {
		t.Errorf("transcript ends with %+v", last)
	}
	if r.ToolCalls != 3 {
		t.Errorf("tool calls %d, want 3", r.ToolCalls)
	}
}

func TestConversationTurnsAndPerTurnCriteria(t *testing.T) {
	s := testSuite(t)
	c := &evals.Case{ID: "c", Vars: map[string]any{"q": "hi", "name": "Ada"}, Turns: []string{"I am {{ name }}", "bye"}}
	answers := map[int]string{1: "hello", 3: "nice to meet you, Ada", 5: "goodbye"}
	p := &evalstest.Provider{Respond: func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
		return say(answers[len(req.Messages)]), nil
	}}
	hasA := func(in *evals.Input) evals.Verdict {
		if strings.Contains(in.Output, "o") {
			return evals.Verdict{Score: 1, Pass: true}
		}
		return evals.Verdict{Reason: "no o in " + in.Output}
	}
	mk := func(name string, turn *evals.Turn, f scoreFunc) Criterion {
		return Criterion{Spec: evals.CriterionSpec{Name: name, Type: "test", Turn: turn}, Scorer: f}
	}
	var seen string
	r := runOne(t, s, c, p,
		mk("final", nil, hasA),
		mk("each", &evals.Turn{Mode: evals.TurnEach}, func(in *evals.Input) evals.Verdict {
			if strings.Contains(in.Output, "Ada") {
				return evals.Verdict{Reason: "said the name"}
			}
			return evals.Verdict{Score: 1, Pass: true}
		}),
		mk("second", &evals.Turn{Mode: evals.TurnIndex, Index: 2}, func(in *evals.Input) evals.Verdict {
			seen = roles(in.Messages) + " -> " + in.Output
			return evals.Verdict{Score: 1, Pass: true}
		}),
		mk("fourth", &evals.Turn{Mode: evals.TurnIndex, Index: 4}, hasA),
		mk("whole", &evals.Turn{Mode: evals.TurnTranscript}, func(in *evals.Input) evals.Verdict {
			var msgs []evals.Message
			if err := json.Unmarshal([]byte(in.Output), &msgs); err != nil || len(msgs) != 6 {
				return evals.Verdict{Reason: "not the transcript: " + in.Output}
			}
			return evals.Verdict{Score: 1, Pass: true}
		}),
	)
	if got := roles(r.Transcript); got != "user,assistant,user,assistant,user,assistant" {
		t.Fatalf("transcript %s", got)
	}
	if r.Transcript[2].Content != "I am Ada" {
		t.Errorf("turn 2 rendered %q", r.Transcript[2].Content)
	}
	if r.Output != "goodbye" || r.Steps != 3 {
		t.Errorf("output %q after %d steps", r.Output, r.Steps)
	}
	byName := map[string]evals.Score{}
	for _, sc := range r.Scores {
		byName[sc.Name] = sc
	}
	if sc := byName["each"]; sc.Pass || sc.Score != 2.0/3 || sc.Reason != "1 of 3 turns failed; turn 2: said the name" {
		t.Errorf("each: %+v", sc)
	}
	if seen != "user,assistant,user -> nice to meet you, Ada" {
		t.Errorf("turn 2 saw %q", seen)
	}
	if sc := byName["fourth"]; !sc.Unscored || sc.Reason != "turn 4: the conversation has 3 turn(s)" {
		t.Errorf("fourth: %+v", sc)
	}
	if sc := byName["whole"]; !sc.Pass {
		t.Errorf("whole: %+v", sc)
	}
}

func TestConversationFailedStepKeepsTranscript(t *testing.T) {
	failed := &evals.SentRequest{URL: "u", Body: json.RawMessage(`{"step":1}`)}
	boom := &evals.ProviderError{Kind: evals.ErrKindHTTP, Status: 500, Message: "boom", Sent: failed}
	p := &evalstest.Provider{Respond: func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
		if req.Step == 1 {
			return nil, boom
		}
		resp := calls(call("1", `{"order_id": "A1"}`))
		resp.Text = "Looking."
		resp.Sent = &evals.SentRequest{URL: "u", Body: json.RawMessage(`{"step":0}`)}
		return resp, nil
	}}
	r := runOne(t, toolSuite(t), &evals.Case{ID: "c", Vars: map[string]any{"q": "x"}}, p)
	if r.Status != evals.StatusError || r.Error == nil || r.Error.Status != 500 {
		t.Fatalf("status %s error %+v", r.Status, r.Error)
	}
	if got := roles(r.Transcript); got != "user,assistant,tool" || r.Steps != 2 {
		t.Errorf("transcript %s after %d steps", got, r.Steps)
	}
	// Like a single answer's error: the request that failed, no output.
	if r.Request != failed || r.Output != "" || r.Finish != "" {
		t.Errorf("request %+v, output %q, finish %q; want the failed step's request, no output", r.Request, r.Output, r.Finish)
	}
}

func TestSingleAnswerHasNoTranscript(t *testing.T) {
	p := &evalstest.Provider{Text: "x"}
	r := runOne(t, testSuite(t), &evals.Case{ID: "c", Vars: map[string]any{"q": "x"}}, p)
	if r.Transcript != nil || r.Steps != 0 || r.Outcome != "" {
		t.Fatalf("a single answer recorded a conversation: %+v", r)
	}
	if req := p.Calls()[0].Request; req.Tools != nil || req.ToolChoice != nil || req.Step != 0 {
		t.Errorf("request %+v", req)
	}
}

func TestConversationExecMock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the mock is a shell script")
	}
	dir := t.TempDir()
	script := "#!/bin/sh\nread line\ncase \"$line\" in *'\"A1\"'*) echo '{\"status\":\"shipped\"}';; *) echo \"unknown order\" >&2; exit 3;; esac\n"
	if err := os.WriteFile(filepath.Join(dir, "tool.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s := toolSuite(t)
	s.Tools[0].Mock = &evals.ToolMock{Exec: json.RawMessage(`["./tool.sh"]`)}
	p := &evalstest.Provider{Respond: script2(calls(call("1", `{"order_id": "A1"}`), call("2", `{"order_id": "Q"}`)), say("ok"))}
	sink := &memSink{}
	_, err := Run(context.Background(), Options{
		RunID: "r", Suite: s, Targets: []Target{target("m", p, 1)},
		Criteria: []Criterion{crit("any", scoreFunc(func(*evals.Input) evals.Verdict { return evals.Verdict{Score: 1, Pass: true} }))},
		Open: func() (CaseSource, error) {
			return &cases{list: []*evals.Case{{ID: "c", Vars: map[string]any{"q": "x"}}}}, nil
		},
		Sink: sink, Tools: &mock.Answerer{Dir: dir, Environ: os.Environ()},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := sink.results[0].Transcript
	if tr[2].Content != `{"status":"shipped"}` || tr[2].Error != "" {
		t.Errorf("first call: %+v", tr[2])
	}
	if !strings.Contains(tr[3].Error, `exited with status 3; stderr: "unknown order`) {
		t.Errorf("second call: %+v", tr[3])
	}
}

// script2 is script under another name, for a test whose variable shadows it.
var script2 = script

func TestConversationSimulatedUser(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stopAt   int // the simulator's message that holds the stop marker, from 1; 0 never
		maxTurns int
		outcome  string
		users    int // user messages in the transcript
	}{
		{"stops with the marker", 2, 5, "", 2},
		{"reaches max_turns", 0, 2, evals.OutcomeMaxTurns, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSuite(t)
			s.UserSimulator = &evals.UserSimulator{Messages: []evals.Message{{Role: "system", Content: "You are {{ persona }}."}}, MaxTurns: tc.maxTurns}
			s.UserSimulator.Templates = []*evals.Template{evals.MustParseTemplate(s.UserSimulator.Messages[0].Content)}
			var simSeen [][]evals.Message
			sim := &evalstest.Provider{Respond: func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
				simSeen = append(simSeen, req.Messages)
				if req.Step+1 == tc.stopAt {
					return say("thanks, bye [DONE]"), nil
				}
				return say("user says " + string(rune('a'+req.Step))), nil
			}}
			model := &evalstest.Provider{Respond: func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
				return say("reply to " + req.Messages[len(req.Messages)-1].Content), nil
			}}
			simT := target("sim", sim, 1)
			sink := &memSink{}
			_, err := Run(context.Background(), Options{
				RunID: "r", Suite: s, Targets: []Target{target("m", model, 1)}, Simulator: &simT,
				Criteria: []Criterion{crit("any", scoreFunc(func(*evals.Input) evals.Verdict { return evals.Verdict{Score: 1, Pass: true} }))},
				Open: func() (CaseSource, error) {
					return &cases{list: []*evals.Case{{ID: "c", Vars: map[string]any{"q": "hi", "persona": "an angry customer"}}}}, nil
				},
				Sink: sink,
			})
			if err != nil {
				t.Fatal(err)
			}
			r := sink.results[0]
			users := 0
			for _, m := range r.Transcript {
				if m.Role == evals.RoleUser {
					users++
				}
				if strings.Contains(m.Content, "[DONE]") {
					t.Errorf("the stop marker was sent: %+v", m)
				}
			}
			if users != tc.users || r.Outcome != tc.outcome {
				t.Fatalf("%d user messages, outcome %q; want %d, %q: %s", users, r.Outcome, tc.users, tc.outcome, roles(r.Transcript))
			}
			// The simulator sees its persona, then the conversation with the
			// roles turned round.
			first := simSeen[0]
			if first[0].Content != "You are an angry customer." || first[1].Role != "assistant" || first[1].Content != "Q: hi" || first[2].Role != "user" || first[2].Content != "reply to Q: hi" {
				t.Errorf("the simulator's first prompt: %+v", first)
			}
		})
	}
}

// TestRescoreConversation: rubric score of a run's results gives criteria
// the recorded transcript, and keeps it in the new result.
func TestRescoreConversation(t *testing.T) {
	p := &evalstest.Provider{Respond: script(calls(call("1", `{"order_id": "A1"}`)), say("It has shipped."))}
	first := runOne(t, toolSuite(t), &evals.Case{ID: "c", Vars: map[string]any{"q": "x"}}, p)
	// An Anthropic body holds the conversation in blocks that are not
	// text: rescoring must not need to read it.
	first.Request = &evals.SentRequest{Body: []byte(`{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"1","name":"lookup_order","input":{}}]}]}`)}
	rec, err := RecordedResult(first)
	if err != nil {
		t.Fatal(err)
	}
	var saw []evals.Message
	sink := &memSink{}
	_, err = Score(context.Background(), ScoreOptions{
		RunID: "r2", Suite: toolSuite(t),
		Criteria: []Criterion{crit("calls", scoreFunc(func(in *evals.Input) evals.Verdict {
			saw = in.Transcript
			return evals.Verdict{Score: 1, Pass: true}
		}))},
		Read: func(emit func(*Recorded) error) error { return emit(rec) },
		Sink: sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := sink.results[0]
	if !reflect.DeepEqual(saw, first.Transcript) || !reflect.DeepEqual(r.Transcript, first.Transcript) {
		t.Fatalf("the criterion saw %s, the result holds %s; want %s", roles(saw), roles(r.Transcript), roles(first.Transcript))
	}
	if r.Steps != 2 || r.ToolCalls != 1 || r.Output != "It has shipped." {
		t.Errorf("rescored result: steps %d, tool calls %d, output %q", r.Steps, r.ToolCalls, r.Output)
	}
}

// TestConversationSummary: the target's summary sums its conversations;
// a run without any has none.
func TestConversationSummary(t *testing.T) {
	s := toolSuite(t)
	s.MaxSteps = 2
	p := &evalstest.Provider{Respond: func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
		if req.CaseID == "loops" || req.Step == 0 {
			return calls(call("", `{"order_id": "B2"}`)), nil
		}
		return say("done"), nil
	}}
	list := []*evals.Case{{ID: "loops", Vars: map[string]any{"q": "x"}}, {ID: "ends", Vars: map[string]any{"q": "y"}}}
	answered := scoreFunc(func(in *evals.Input) evals.Verdict {
		if in.Output == "" {
			return evals.Verdict{Reason: "no answer"}
		}
		return evals.Verdict{Score: 1, Pass: true}
	})
	sum, err := Run(context.Background(), Options{
		RunID: "r", Suite: s, Targets: []Target{target("m", p, 2)},
		Criteria: []Criterion{crit("answered", answered)},
		Open:     func() (CaseSource, error) { return &cases{list: list}, nil },
		Sink:     &memSink{},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := sum.Targets[0].Conversations
	want := evals.ConversationSummary{Cases: 2, Steps: 4, StepsMean: 2, ToolCalls: 3, ToolErrors: 2, MaxSteps: 1}
	if got == nil || *got != want {
		t.Fatalf("conversations %+v, want %+v", got, want)
	}
	// The failed conversation is listed with how it ended, for the reports.
	failed := sum.Targets[0].FailedCases
	if len(failed) != 1 || failed[0].CaseID != "loops" || failed[0].Conversation == nil || failed[0].Conversation.Outcome != evals.OutcomeMaxSteps {
		t.Fatalf("failed cases %+v: want loops, with its conversation's tail", failed)
	}
	plain, err := Run(context.Background(), Options{
		RunID: "r", Suite: testSuite(t), Targets: []Target{target("m", &evalstest.Provider{Respond: echo}, 2)},
		Criteria: []Criterion{crit("even", even{})},
		Open:     func() (CaseSource, error) { return &cases{list: makeCases(3)}, nil },
		Sink:     &memSink{},
	})
	if err != nil || plain.Targets[0].Conversations != nil {
		t.Fatalf("single answers: %+v, %v", plain.Targets[0].Conversations, err)
	}
}

// TestTurnOfSingleAnswer: a single answer is a conversation of one turn,
// its tool calls included, for a criterion that picks turns.
func TestTurnOfSingleAnswer(t *testing.T) {
	p := &evalstest.Provider{Respond: func(context.Context, int, *evals.Request) (*evals.Response, error) {
		return &evals.Response{Text: "calling", ToolCalls: []evals.ToolCall{call("1", `{}`)}}, nil
	}}
	var saw []evals.Message
	c := Criterion{Spec: evals.CriterionSpec{Name: "t", Type: "test", Turn: &evals.Turn{Mode: evals.TurnEach}},
		Scorer: scoreFunc(func(in *evals.Input) evals.Verdict {
			saw = in.Transcript
			return evals.Verdict{Score: 1, Pass: true}
		})}
	r := runOne(t, testSuite(t), &evals.Case{ID: "c", Vars: map[string]any{"q": "x"}}, p, c)
	if r.Transcript != nil {
		t.Fatalf("a single answer recorded a transcript")
	}
	if roles(saw) != "user,assistant" || len(saw[1].ToolCalls) != 1 || saw[1].Content != "calling" {
		t.Fatalf("the criterion saw %+v", saw)
	}
}

// TestConversationResponseForCriteria: criteria that read the response
// (tokens, cost, time to first token) see the conversation's: its usage
// summed over the steps, its last answer.
func TestConversationResponseForCriteria(t *testing.T) {
	p := &evalstest.Provider{Respond: script(calls(call("1", `{"order_id": "A1"}`)), say("It has shipped."))}
	var got *evals.Response
	r := runOne(t, toolSuite(t), &evals.Case{ID: "c", Vars: map[string]any{"q": "x"}}, p,
		crit("usage", scoreFunc(func(in *evals.Input) evals.Verdict {
			got = in.Response
			return evals.Verdict{Score: 1, Pass: true}
		})))
	if got == nil || got.Usage.TotalTokens != 24 || got.Text != "It has shipped." || got.Finish != "stop" || got.ToolCalls != nil {
		t.Fatalf("the criterion saw the response %+v; want the last answer with 2 steps' usage (24 tokens)", got)
	}
	if r.Usage.TotalTokens != 24 {
		t.Errorf("result usage %+v", r.Usage)
	}
}
