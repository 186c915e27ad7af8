package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// anthropicKey is the sentinel API key of the anthropic tests: sent in every
// request, it must appear in no output, run folder, cache entry or error.
const anthropicKey = "sk-ant-api03-e2e-sentinel-0123456789abcdef"

// anthropicServer answers as Anthropic's Messages API documents
// (platform.claude.com/docs: Messages, Errors, Streaming messages), with the
// right triage for each ticket of examples/triage: a Message, or with
// "stream": true a stream of server-sent events with a thinking block and
// pings. The first request for overloaded, whole or streamed, is a 529
// overloaded_error; the first streamed one for cut ends before
// message_stop. It records every request as it came.
type anthropicServer struct {
	*httptest.Server
	answers    map[string]string // the user message -> the answer
	overloaded string            // the user message answered 529 once
	cut        string            // the user message whose first stream is cut

	mu   sync.Mutex
	reqs []anthropicRequest
	seen map[string]int // by stream and user message
}

type anthropicRequest struct {
	method, path string
	header       http.Header
	body         []byte
	user         string
}

func newAnthropicServer(t *testing.T, answers map[string]string, overloaded, cut string) *anthropicServer {
	s := &anthropicServer{answers: answers, overloaded: overloaded, cut: cut, seen: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *anthropicServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		Stream   bool `json:"stream"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(raw, &body)
	user := ""
	if n := len(body.Messages); n > 0 {
		user = body.Messages[n-1].Content
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, anthropicRequest{r.Method, r.URL.Path, r.Header.Clone(), raw, user})
	seen := fmt.Sprint(body.Stream, user)
	s.seen[seen]++
	first := s.seen[seen] == 1
	s.mu.Unlock()

	writeError := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"type":"error","error":{"type":%q,"message":%q},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`, typ, msg)
	}
	answer, ok := s.answers[user]
	switch {
	case r.Header.Get("X-Api-Key") != anthropicKey:
		// Echoed, as a careless gateway might: it must still not be recorded.
		writeError(http.StatusUnauthorized, "authentication_error", "invalid x-api-key "+r.Header.Get("X-Api-Key"))
		return
	case !ok:
		writeError(http.StatusBadRequest, "invalid_request_error", "no such ticket")
		return
	case user == s.overloaded && first:
		writeError(529, "overloaded_error", "Overloaded")
		return
	}
	text, _ := json.Marshal(answer)
	usage := `"usage":{"input_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":10,"output_tokens":20}`
	if !body.Stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-test-1","content":[{"type":"text","text":%s}],"stop_reason":"end_turn","stop_sequence":null,%s}`, text, usage)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	event := func(name, data string) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
		w.(http.Flusher).Flush()
	}
	event("message_start", `{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-test-1","stop_reason":null,"stop_sequence":null,`+
		`"usage":{"input_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":10,"output_tokens":1}}}`)
	event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`)
	event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Which queue is this?"}}`)
	event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}`)
	event("content_block_stop", `{"type":"content_block_stop","index":0}`)
	event("ping", `{"type": "ping"}`)
	event("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`)
	for i, part := range splitThree(answer) {
		p, _ := json.Marshal(part)
		event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":`+string(p)+`}}`)
		if i == 0 && user == s.cut && first {
			return // the connection ends before message_stop
		}
	}
	event("content_block_stop", `{"type":"content_block_stop","index":1}`)
	event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":20}}`)
	event("message_stop", `{"type":"message_stop"}`)
}

// splitThree cuts s into three parts, as a stream's deltas.
func splitThree(s string) []string {
	n := len(s) / 3
	return []string{s[:n], s[n : 2*n], s[2*n:]}
}

func (s *anthropicServer) requests() []anthropicRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]anthropicRequest(nil), s.reqs...)
}

// triageCase is a ticket of examples/triage with what the suite sends for it
// and the server's answer.
type triageCase struct {
	id, user, answer string
}

// triageSetup copies examples/triage's suite, dataset and schema into a new
// folder and returns it, with the suite's system message and the cases.
func triageSetup(t *testing.T) (dir, system string, cases []triageCase) {
	t.Helper()
	dir = t.TempDir()
	src := filepath.Join(repoRoot(t), "examples", "triage")
	for _, name := range []string{"suite.json", "tickets.jsonl", "ticket.schema.json"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var suite struct {
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	readJSON(t, filepath.Join(dir, "suite.json"), &suite)
	if len(suite.Messages) != 2 || suite.Messages[0].Role != "system" || suite.Messages[1].Content != "Customer: {{ customer }} (plan: {{ plan }})\n\n{{ ticket }}" {
		t.Fatalf("examples/triage/suite.json's messages changed: %+v; update this test", suite.Messages)
	}
	f, err := os.Open(filepath.Join(dir, "tickets.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c struct {
			ID   string `json:"id"`
			Vars struct {
				Ticket, Customer, Plan string
			} `json:"vars"`
			Expected struct {
				Category, Priority string
			} `json:"expected"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		answer, _ := json.Marshal(map[string]string{"category": c.Expected.Category, "priority": c.Expected.Priority,
			"reply": "Thanks for telling us; we are on it and will write back within the hour."})
		cases = append(cases, triageCase{c.ID, "Customer: " + c.Vars.Customer + " (plan: " + c.Vars.Plan + ")\n\n" + c.Vars.Ticket, string(answer)})
	}
	if len(cases) < 10 {
		t.Fatalf("examples/triage has %d tickets", len(cases))
	}
	return dir, suite.Messages[0].Content, cases
}

// TestAnthropic runs examples/triage's criteria against a server that
// answers as Anthropic's Messages API, whole and streamed; checks every
// request byte for byte against the documented shape; replays the recorded
// run; and checks that the API key appears in no output, run folder, cache
// entry or error.
func TestAnthropic(t *testing.T) {
	t.Parallel()
	dir, system, cases := triageSetup(t)
	answers := map[string]string{}
	for _, c := range cases {
		answers[c.user] = c.answer
	}
	srv := newAnthropicServer(t, answers, cases[1].user, cases[2].user)
	target := func(stream bool) string {
		return fmt.Sprintf(`{
      "provider": "anthropic",
      "base_url": %q,
      "model": "claude-test-1",
      "api_key_env": "RUBRIC_E2E_ANTHROPIC_KEY",
      "params": {"max_tokens": 300, "temperature": 0, "stop": ["\n\nTicket:"]},
      "extra_body": {"top_k": 5, "metadata": {"user_id": "ci"}},
      "stream": %v,
      "retry": {"base_delay": "1ms", "max_delay": "5ms"},
      "concurrency": 4,
      "timeout": "10s"
    }`, srv.URL, stream)
	}
	writeFiles(t, dir, map[string]string{"rubric.config.json": `{
  "targets": {
    "claude": ` + target(false) + `,
    "claude-stream": ` + target(true) + `,
    "claude-wrong-key": {"provider": "anthropic", "base_url": "` + srv.URL + `", "model": "claude-test-1", "api_key_env": "RUBRIC_E2E_WRONG_KEY", "params": {"max_tokens": 300}, "retry": {"attempts": 1}},
    "claude-replayed": {"provider": "replay", "path": "recorded.jsonl", "replay_as": "claude"},
    "claude-nomax": {"provider": "anthropic", "model": "claude-test-1", "params": {"temperature": 0, "seed": 7}}
  }
}
`})
	cacheDir := t.TempDir()
	env := []string{"RUBRIC_E2E_ANTHROPIC_KEY=" + anthropicKey, "RUBRIC_DB=" + filepath.Join(cacheDir, "rubric.db"),
		"RUBRIC_E2E_WRONG_KEY=wrong-" + anthropicKey}
	var outputs []cmdResult
	run := func(args ...string) cmdResult {
		t.Helper()
		r := rubric(t, dir, env, args...)
		outputs = append(outputs, r)
		return r
	}
	// The body documented for a ticket: model, max_tokens, system,
	// messages, the params that are set, stream, then extra_body's keys
	// sorted.
	wantBody := func(c triageCase, stream bool) string {
		s := ""
		if stream {
			s = `,"stream":true`
		}
		return `{"model":"claude-test-1","max_tokens":300,"system":` + jsonText(t, system) +
			`,"messages":[{"role":"user","content":` + jsonText(t, c.user) + `}]` +
			`,"temperature":0,"stop_sequences":["\n\nTicket:"]` + s + `,"metadata":{"user_id":"ci"},"top_k":5}`
	}

	runIDsByTarget := map[string]string{}
	for _, tc := range []struct {
		target  string
		stream  bool
		retried []string // the user messages sent twice
	}{
		{"claude", false, []string{cases[1].user}},
		{"claude-stream", true, []string{cases[1].user, cases[2].user}},
	} {
		before := len(srv.requests())
		r := run("run", "suite.json", "--target", tc.target, "--out", "runs")
		if r.code != exitOK {
			t.Fatalf("%s: want exit 0\n%s", tc.target, r)
		}
		id := runIDs(t, r.stderr)[0]
		runIDsByTarget[tc.target] = id
		wantLines(t, tc.target+" stdout", r.stdout, "gate held")

		reqs := srv.requests()[before:]
		if want := len(cases) + len(tc.retried); len(reqs) != want {
			t.Errorf("%s: the server got %d requests, want %d (%d retried)", tc.target, len(reqs), want, len(tc.retried))
		}
		byUser := map[string][]anthropicRequest{}
		for _, q := range reqs {
			byUser[q.user] = append(byUser[q.user], q)
		}
		accept := "application/json"
		if tc.stream {
			accept = "text/event-stream"
		}
		for _, c := range cases {
			qs := byUser[c.user]
			if want := map[bool]int{true: 2, false: 1}[slices.Contains(tc.retried, c.user)]; len(qs) != want {
				t.Errorf("%s: %s was sent %d times, want %d", tc.target, c.id, len(qs), want)
			}
			for _, q := range qs {
				if q.method != http.MethodPost || q.path != "/v1/messages" {
					t.Errorf("%s: request %s %s, want POST /v1/messages", tc.target, q.method, q.path)
				}
				for name, want := range map[string]string{"X-Api-Key": anthropicKey, "Anthropic-Version": "2023-06-01",
					"Content-Type": "application/json", "Accept": accept, "Authorization": ""} {
					if got := q.header.Get(name); got != want {
						t.Errorf("%s: header %s %q, want %q", tc.target, name, got, want)
					}
				}
				if want := wantBody(c, tc.stream); string(q.body) != want {
					t.Errorf("%s: body for %s\n got %s\nwant %s", tc.target, c.id, q.body, want)
				}
			}
		}

		results, rep := runFiles(t, dir, "runs", id)
		if len(results) != len(cases) || countStatus(results, "passed") != len(cases) {
			t.Errorf("%s: %d results, %d passed; want %d passed", tc.target, len(results), countStatus(results, "passed"), len(cases))
		}
		if rep.Targets[0].Provider != "anthropic" || rep.Targets[0].Model != "claude-test-1" || !rep.Gate.Held {
			t.Errorf("%s: report %+v", tc.target, rep)
		}
		// results.jsonl records the body as sent, byte for byte.
		raw, _ := os.ReadFile(filepath.Join(dir, "runs", id, "results.jsonl"))
		for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
			var res struct {
				CaseID  string `json:"case_id"`
				Request struct {
					URL  string          `json:"url"`
					Body json.RawMessage `json:"body"`
				} `json:"request"`
				Output   string         `json:"output"`
				Finish   string         `json:"finish_reason"`
				Usage    map[string]int `json:"usage"`
				Attempts int            `json:"attempts"`
			}
			if err := json.Unmarshal(line, &res); err != nil {
				t.Fatal(err)
			}
			var c triageCase
			for _, cc := range cases {
				if cc.id == res.CaseID {
					c = cc
				}
			}
			if string(res.Request.Body) != wantBody(c, tc.stream) || res.Request.URL != srv.URL+"/v1/messages" {
				t.Errorf("%s: %s recorded %s %s\nwant %s", tc.target, res.CaseID, res.Request.URL, res.Request.Body, wantBody(c, tc.stream))
			}
			if res.Output != c.answer || res.Finish != "end_turn" ||
				res.Usage["prompt_tokens"] != 50 || res.Usage["completion_tokens"] != 20 || res.Usage["total_tokens"] != 70 {
				t.Errorf("%s: %s recorded output %q, finish %q, usage %v", tc.target, res.CaseID, res.Output, res.Finish, res.Usage)
			}
			if want := map[bool]int{true: 2, false: 1}[slices.Contains(tc.retried, c.user)]; res.Attempts != want {
				t.Errorf("%s: %s recorded attempts %d, want %d", tc.target, res.CaseID, res.Attempts, want)
			}
		}
	}

	// The same run again is answered from the cache: nothing is sent.
	before := len(srv.requests())
	if r := run("run", "suite.json", "--target", "claude", "--out", "runs"); r.code != exitOK {
		t.Fatalf("cached run: want exit 0\n%s", r)
	}
	if n := len(srv.requests()) - before; n != 0 {
		t.Errorf("the cached run sent %d requests, want none", n)
	}
	if ents, _ := os.ReadDir(cacheDir); len(ents) == 0 {
		t.Errorf("the runs wrote no response cache to check")
	}

	// The recorded run replays: the same answers, nothing sent.
	recorded, err := os.ReadFile(filepath.Join(dir, "runs", runIDsByTarget["claude"], "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"recorded.jsonl": string(recorded)})
	r := run("run", "suite.json", "--target", "claude-replayed", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("replay: want exit 0\n%s", r)
	}
	replayed, _ := runFiles(t, dir, "runs", runIDs(t, r.stderr)[0])
	if len(replayed) != len(cases) || countStatus(replayed, "passed") != len(cases) {
		t.Errorf("replay: %d results, %d passed", len(replayed), countStatus(replayed, "passed"))
	}
	for _, res := range replayed {
		if res["output"] != answers[userOf(cases, res["case_id"])] || res["finish_reason"] != "end_turn" {
			t.Errorf("replay: %v answered %v, %v", res["case_id"], res["output"], res["finish_reason"])
		}
	}
	if n := len(srv.requests()) - before; n != 0 {
		t.Errorf("the replay sent %d requests, want none", n)
	}

	// A key the server refuses: every case errors with the API's message,
	// the key it echoes redacted, and the run exits 3.
	r = run("run", "suite.json", "--target", "claude-wrong-key", "--out", "runs", "--limit", "3")
	if r.code != exitIncomplete {
		t.Fatalf("wrong key: want exit 3\n%s", r)
	}
	denied, _ := runFiles(t, dir, "runs", runIDs(t, r.stderr)[0])
	for _, res := range denied {
		e, _ := res["error"].(map[string]any)
		if want := "authentication_error: invalid x-api-key [REDACTED] (request_id req_011CSHoEeqs5C35K2UUqR7Fy)"; e["kind"] != "http_status" || e["status"] != 401.0 || e["message"] != want {
			t.Errorf("wrong key: error %v, want http_status 401 %q", e, want)
		}
	}

	// A target without max_tokens, with a seed, fails to load.
	r = run("validate", "suite.json", "--target", "claude-nomax")
	wantErr := regexp.MustCompile(`^rubric.config.json:29:\d+: \$.targets.claude-nomax.params.max_tokens: required by provider "anthropic": the Messages API needs the most tokens an answer may have \(for example 1024\)\n` +
		`rubric.config.json:29:\d+: \$.targets.claude-nomax.params.seed: not supported by provider "anthropic": the Messages API has no seed; remove it\n` +
		`rubric: 2 problems\n$`)
	if r.code != exitBadInput || !wantErr.MatchString(r.stderr) || r.stdout != "" {
		t.Errorf("no max_tokens: want exit 2 and stderr matching\n%s\ngot %s", wantErr, r)
	}

	// A JSON judge, and an embedding criterion, naming an anthropic target.
	writeFiles(t, dir, map[string]string{"judged.json": `{
  "name": "judged",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"id": "c1", "q": "?"}]},
  "criteria": [
    {"name": "graded", "type": "judge", "output": "json", "rubric": "Y if {{ output }} helps, N if not.", "judge": "claude"},
    {"name": "close", "type": "embedding", "threshold": 0.8, "value": "x", "target": "claude"}
  ],
  "targets": ["claude-replayed"]
}
`})
	r = run("validate", "judged.json")
	for _, want := range []string{
		`$.criteria[0].output: "json" asks for OpenAI structured outputs: expected judges of provider "openai", but "claude" is "anthropic"`,
		`$.criteria[1].target: target "claude" (provider "anthropic") has no embeddings endpoint: expected an openai target with an embeddings model`,
	} {
		if r.code != exitBadInput || !strings.Contains(r.stderr, want) {
			t.Errorf("judge and embedding on anthropic: want exit 2 and %q\ngot %s", want, r)
		}
	}

	// The key is sent, and shown or stored nowhere.
	for _, r := range outputs {
		if strings.Contains(r.stdout+r.stderr, anthropicKey) {
			t.Errorf("the API key appears in an output:\n%s", r)
		}
	}
	if found := findSecrets(t, []string{anthropicKey}, filepath.Join(dir, "runs"), cacheDir); len(found) > 0 {
		t.Errorf("the API key is stored:\n%s", strings.Join(found, "\n"))
	}
}

// userOf returns the user message of the case id.
func userOf(cases []triageCase, id any) string {
	for _, c := range cases {
		if c.id == id {
			return c.user
		}
	}
	return ""
}
