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
	"strings"
	"sync"
	"testing"
)

// httpSentinel is the service key of the http tests: sent in a header,
// stored and shown nowhere.
const httpSentinel = "svc-sentinel-5f0c1d2e3a4b"

// triageService is an in-house triage service as the http provider's test
// server: it takes {"ticket", "customer", "plan", "messages", "options"} at
// POST /v1/triage?case=ID and answers {"result": {"answer", "stop"},
// "meta": {"tokens_in", "tokens_out"}}, the answer being the triage JSON
// the suite's criteria read. It answers each case of examples/triage right.
type triageService struct {
	*httptest.Server
	expected map[string]map[string]any // case id -> expected

	mu   sync.Mutex
	reqs []serviceRequest
}

type serviceRequest struct {
	method, uri, key, contentType string
	body                          []byte
}

func newTriageService(t *testing.T, tickets string) *triageService {
	s := &triageService{expected: map[string]map[string]any{}}
	f, err := os.Open(tickets)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c struct {
			ID       string         `json:"id"`
			Expected map[string]any `json:"expected"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		s.expected[c.ID] = c.Expected
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *triageService) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, serviceRequest{r.Method, r.RequestURI, r.Header.Get("X-Service-Key"), r.Header.Get("Content-Type"), body})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("X-Service-Key") != httpSentinel {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"detail": "bad key %s"}`, r.Header.Get("X-Service-Key"))
		return
	}
	exp, ok := s.expected[r.URL.Query().Get("case")]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"detail": "no such case"}`)
		return
	}
	answer, _ := json.Marshal(map[string]any{"category": exp["category"], "priority": exp["priority"],
		"reply": "Sorry for the trouble: we are on it and will update you shortly."})
	json.NewEncoder(w).Encode(map[string]any{
		"result": map[string]any{"answer": string(answer), "stop": "complete"},
		"meta":   map[string]any{"tokens_in": 120, "tokens_out": 30, "key_echo": r.Header.Get("X-Service-Key")},
	})
}

func (s *triageService) requests() []serviceRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]serviceRequest(nil), s.reqs...)
}

// httpTriageConfig is a rubric.config.json with an http target "svc" for
// the triage service at url, and a replay target "svc-replayed" of a run's
// results.
const httpTriageConfig = `{
  "targets": {
    "svc": {
      "provider": "http",
      "url": "%s/v1/triage?case={{ id }}",
      "model": "triage-svc-3",
      "params": {"max_tokens": 300},
      "headers": {"X-Service-Key": "${RUBRIC_E2E_HTTP_KEY}"},
      "body": {
        "ticket": "{{ ticket }}",
        "customer": "{{ customer }}",
        "plan": "{{ plan }}",
        "messages": "{{ messages | json }}",
        "options": {"max_tokens": "{{ params.max_tokens | json }}", "explain": false}
      },
      "response": {
        "text": "result.answer",
        "finish": "result.stop",
        "usage": {"prompt_tokens": "meta.tokens_in", "completion_tokens": "meta.tokens_out"}
      },
      "concurrency": 4,
      "timeout": "10s"
    },
    "svc-replayed": {"provider": "replay", "path": "%s", "replay_as": "svc"}
  }
}
`

// journalLine is what the test reads of a results.jsonl line: the request
// as recorded, byte for byte.
type journalLine struct {
	CaseID  string `json:"case_id"`
	Status  string `json:"status"`
	Output  string `json:"output"`
	Finish  string `json:"finish_reason"`
	Cached  bool   `json:"cached"`
	Request struct {
		URL  string          `json:"url"`
		Body json.RawMessage `json:"body"`
	} `json:"request"`
	Usage struct {
		Prompt     int `json:"prompt_tokens"`
		Completion int `json:"completion_tokens"`
		Total      int `json:"total_tokens"`
	} `json:"usage"`
}

func readJournal(t *testing.T, path string) []journalLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []journalLine
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var l journalLine
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, l)
	}
	return out
}

// wantSvcBody is the body the svc target must send for a case of
// examples/triage, built here independently of the provider: the suite's
// messages rendered by hand, every string encoded by encoding/json without
// HTML escaping, the keys of every object sorted.
func wantSvcBody(t *testing.T, system string, vars map[string]string) string {
	t.Helper()
	enc := func(v any) string {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		if err := e.Encode(v); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	user := "Customer: " + vars["customer"] + " (plan: " + vars["plan"] + ")\n\n" + vars["ticket"]
	return `{"customer":` + enc(vars["customer"]) +
		`,"messages":[{"content":` + enc(system) + `,"role":"system"},{"content":` + enc(user) + `,"role":"user"}]` +
		`,"options":{"explain":false,"max_tokens":300},"plan":` + enc(vars["plan"]) + `,"ticket":` + enc(vars["ticket"]) + `}`
}

// TestHTTPProvider runs examples/triage's criteria against an in-house
// service through an http target: the gate holds, each recorded request is
// the body the target's template gives byte for byte, the service key
// reaches the service and nothing else (stdout, stderr, the run folder, the
// response cache), a second run is answered from the cache, and the run's
// results replay as a recording.
func TestHTTPProvider(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "triage"), dir)
	svc := newTriageService(t, filepath.Join(dir, "tickets.jsonl"))
	cacheDir := t.TempDir()
	env := []string{"RUBRIC_E2E_HTTP_KEY=" + httpSentinel, "RUBRIC_DB=" + filepath.Join(cacheDir, "rubric.db")}
	writeConfig := func(recording string) {
		writeFiles(t, dir, map[string]string{"rubric.config.json": fmt.Sprintf(httpTriageConfig, svc.URL, recording)})
	}
	writeConfig("none.jsonl")
	// The replay target is built only when it runs; its file need not exist yet.
	writeFiles(t, dir, map[string]string{"none.jsonl": ""})

	r := rubric(t, dir, env, "run", "suite.json", "--target", "svc", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	runDir := filepath.Join(dir, "runs", id)
	wantLines(t, "stdout", r.stdout, "gate held")

	// What the service got, and what each result records.
	var suite struct {
		Messages []struct{ Content string } `json:"messages"`
	}
	readJSON(t, filepath.Join(dir, "suite.json"), &suite)
	cases := map[string]map[string]string{}
	for _, c := range readJSONL(t, filepath.Join(dir, "tickets.jsonl")) {
		vars := map[string]string{}
		for k, v := range c["vars"].(map[string]any) {
			vars[k] = v.(string)
		}
		cases[c["id"].(string)] = vars
	}
	reqs := svc.requests()
	if len(reqs) != len(cases) || len(cases) != 40 {
		t.Fatalf("the service got %d requests for %d cases, want 40", len(reqs), len(cases))
	}
	sent := map[string]serviceRequest{}
	for _, q := range reqs {
		if q.method != http.MethodPost || q.contentType != "application/json" || q.key != httpSentinel {
			t.Errorf("request %s %s, Content-Type %q, key %q", q.method, q.uri, q.contentType, q.key)
		}
		sent[strings.TrimPrefix(q.uri, "/v1/triage?case=")] = q
	}
	results := readJournal(t, filepath.Join(runDir, "results.jsonl"))
	if len(results) != 40 {
		t.Fatalf("%d results, want 40", len(results))
	}
	for _, res := range results {
		want := wantSvcBody(t, suite.Messages[0].Content, cases[res.CaseID])
		if got := string(sent[res.CaseID].body); got != want {
			t.Errorf("case %s: the service got\n%s\nwant\n%s", res.CaseID, got, want)
		}
		if string(res.Request.Body) != want || res.Request.URL != svc.URL+"/v1/triage?case="+res.CaseID {
			t.Errorf("case %s: recorded %s %s\nwant %s %s", res.CaseID, res.Request.URL, res.Request.Body, svc.URL+"/v1/triage?case="+res.CaseID, want)
		}
		if res.Status != "passed" || res.Finish != "complete" || res.Usage.Prompt != 120 || res.Usage.Completion != 30 || res.Usage.Total != 150 {
			t.Errorf("case %s: status %q finish %q usage %+v", res.CaseID, res.Status, res.Finish, res.Usage)
		}
	}

	// Again: every answer from the cache, recording the same requests.
	r2 := rubric(t, dir, env, "run", "suite.json", "--target", "svc", "--out", "runs")
	if r2.code != exitOK {
		t.Fatalf("second run: want exit 0\n%s", r2)
	}
	if n := len(svc.requests()); n != 40 {
		t.Errorf("the second run sent %d requests, want none", n-40)
	}
	id2 := runIDs(t, r2.stderr)[0]
	for i, res := range readJournal(t, filepath.Join(dir, "runs", id2, "results.jsonl")) {
		want := wantSvcBody(t, suite.Messages[0].Content, cases[res.CaseID])
		if !res.Cached || string(res.Request.Body) != want || res.Request.URL != svc.URL+"/v1/triage?case="+res.CaseID {
			t.Errorf("second run, line %d: cached %v, recorded %s %s", i+1, res.Cached, res.Request.URL, res.Request.Body)
		}
	}

	// The first run's results replay as a recording of svc.
	writeConfig(filepath.Join("runs", id, "results.jsonl"))
	r3 := rubric(t, dir, env, "run", "suite.json", "--target", "svc-replayed", "--out", "runs")
	if r3.code != exitOK {
		t.Fatalf("replay: want exit 0\n%s", r3)
	}
	replayed := readJournal(t, filepath.Join(dir, "runs", runIDs(t, r3.stderr)[0], "results.jsonl"))
	outputs := map[string]string{}
	for _, res := range results {
		outputs[res.CaseID] = res.Output
	}
	if len(replayed) != 40 {
		t.Fatalf("replay: %d results, want 40", len(replayed))
	}
	for _, res := range replayed {
		if res.Status != "passed" || res.Output != outputs[res.CaseID] || res.Usage.Total != 150 {
			t.Errorf("replayed case %s: %q %q, usage %+v; want the recorded answer", res.CaseID, res.Status, res.Output, res.Usage)
		}
	}
	if n := len(svc.requests()); n != 40 {
		t.Errorf("replaying sent %d requests, want none", n-40)
	}

	for _, out := range []cmdResult{r, r2, r3} {
		if strings.Contains(out.stdout+out.stderr, httpSentinel) {
			t.Errorf("the service key appears in the output\n%s", out)
		}
	}
	if found := findSecrets(t, []string{httpSentinel}, filepath.Join(dir, "runs"), cacheDir); len(found) > 0 {
		t.Errorf("the service key is stored:\n%s", strings.Join(found, "\n"))
	}
	if ents, _ := os.ReadDir(cacheDir); len(ents) == 0 {
		t.Error("the run wrote no response cache to check")
	}
}

// TestHTTPProviderErrors runs the triage suite against targets the service
// or the suite gets wrong: a template naming the expected answer is a load
// error located at its field (exit 2); a 401 echoing the key, and a body
// naming a variable the cases lack, are errors recorded per case (exit 3,
// every case failed), with the key in none of them.
func TestHTTPProviderErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "triage"), dir)
	svc := newTriageService(t, filepath.Join(dir, "tickets.jsonl"))
	cacheDir := t.TempDir()
	env := []string{"RUBRIC_E2E_HTTP_KEY=" + httpSentinel, "RUBRIC_E2E_HTTP_WRONG=" + httpSentinel + "-wrong", "RUBRIC_DB=" + filepath.Join(cacheDir, "rubric.db")}
	config := `{
  "targets": {
    "peeking": {
      "provider": "http",
      "url": "` + svc.URL + `/v1/triage?case={{ id }}",
      "body": {"ticket": "{{ ticket }}", "hint": ["{{ plan }}", "{{ expected.category }}"]},
      "response": {"text": "result.answer"}
    },
    "wrong-key": {
      "provider": "http",
      "url": "` + svc.URL + `/v1/triage?case={{ id }}",
      "headers": {"X-Service-Key": "${RUBRIC_E2E_HTTP_WRONG}"},
      "body": {"ticket": "{{ ticket }}"},
      "response": {"text": "result.answer"},
      "retry": {"attempts": 1}
    },
    "typo": {
      "provider": "http",
      "url": "` + svc.URL + `/v1/triage?case={{ id }}",
      "headers": {"X-Service-Key": "${RUBRIC_E2E_HTTP_KEY}"},
      "body": {"ticket": "{{ tikcet }}"},
      "response": {"text": "result.answer"}
    }
  }
}
`
	writeFiles(t, dir, map[string]string{"rubric.config.json": config})

	r := rubric(t, dir, env, "run", "suite.json", "--target", "peeking", "--out", "runs")
	wantErr := "rubric.config.json:6:65: $.targets.peeking.body.hint[1]: {{ expected.category }}: the case's expected answer is not given to the model: a request may name messages, prompt, system, id, model, params, tools, tool_choice and the case's variables"
	if r.code != exitBadInput || !strings.Contains(r.stderr, wantErr) || len(svc.requests()) != 0 {
		t.Errorf("want exit 2 with\n%s\nand nothing sent (%d requests)\n%s", wantErr, len(svc.requests()), r)
	}

	for _, tc := range []struct {
		target, kind, message string
	}{
		{"wrong-key", "http_status", "bad key [REDACTED]"},
		{"typo", "render", "body.ticket: {{ tikcet }}: the case does not define tikcet (it has: customer, plan, ticket)"},
	} {
		r := rubric(t, dir, env, "run", "suite.json", "--target", tc.target, "--out", "runs")
		if r.code != exitIncomplete {
			t.Errorf("%s: want exit 3\n%s", tc.target, r)
			continue
		}
		results := readJSONL(t, filepath.Join(dir, "runs", runIDs(t, r.stderr)[0], "results.jsonl"))
		for _, res := range results {
			e, _ := res["error"].(map[string]any)
			if res["status"] != "error" || e["kind"] != tc.kind || e["message"] != tc.message {
				t.Errorf("%s: case %v: status %v, error %v; want %s %q", tc.target, res["case_id"], res["status"], e, tc.kind, tc.message)
				break
			}
		}
		if strings.Contains(r.stdout+r.stderr, httpSentinel) {
			t.Errorf("%s: the service key appears in the output\n%s", tc.target, r)
		}
	}
	if found := findSecrets(t, []string{httpSentinel}, filepath.Join(dir, "runs"), cacheDir); len(found) > 0 {
		t.Errorf("the service key is stored:\n%s", strings.Join(found, "\n"))
	}
}
