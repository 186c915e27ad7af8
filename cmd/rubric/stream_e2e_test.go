package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// The tests in this file run examples/triage's suite, its criteria and its
// 40 tickets, against OpenAI-compatible test servers with and without
// streaming, through the built binary.

// streamSentinelKey is the API key of these tests' targets: it must appear
// in no output, run folder or cache.
const streamSentinelKey = "sk-sentinel-stream-5f0c9a7e31"

// triageTicket is a ticket of examples/triage and its expected answer.
type triageTicket struct {
	ID   string `json:"id"`
	Vars struct {
		Ticket   string `json:"ticket"`
		Customer string `json:"customer"`
		Plan     string `json:"plan"`
	} `json:"vars"`
	Expected struct {
		Category string `json:"category"`
		Priority string `json:"priority"`
	} `json:"expected"`
}

// streamTriageCopy copies examples/triage's suite, schema and tickets to a
// new folder, with cfg as its rubric.config.json, and returns the folder and
// the tickets.
func streamTriageCopy(t *testing.T, cfg string) (string, []triageTicket) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(repoRoot(t), "examples", "triage")
	for _, name := range []string{"suite.json", "ticket.schema.json", "tickets.jsonl"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, dir, map[string]string{"rubric.config.json": cfg})
	var tickets []triageTicket
	for _, m := range readJSONL(t, filepath.Join(dir, "tickets.jsonl")) {
		b, _ := json.Marshal(m)
		var tk triageTicket
		if err := json.Unmarshal(b, &tk); err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	if len(tickets) != 40 {
		t.Fatalf("examples/triage has %d tickets, want 40", len(tickets))
	}
	return dir, tickets
}

// triageSystem is examples/triage's system message, as the suite gives it.
const triageSystem = `You triage support tickets for Acme Cloud, a hosting company. Answer with one JSON object and nothing else: {"category": billing|technical|account|shipping|feature_request|abuse, "priority": low|medium|high|urgent, "reply": a first reply to the customer in English, one to three sentences}.`

// triageMessages are the messages the suite renders for a ticket.
func triageMessages(tk triageTicket) []evals.Message {
	return []evals.Message{
		{Role: "system", Content: triageSystem},
		{Role: "user", Content: "Customer: " + tk.Vars.Customer + " (plan: " + tk.Vars.Plan + ")\n\n" + tk.Vars.Ticket},
	}
}

// jsonText encodes v as JSON without HTML escaping, as request bodies are
// written (and as OpenAI's and Azure's references show them).
func jsonText(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// triageAnswer is the right answer to a ticket, which passes every criterion
// of the suite.
func triageAnswer(tk triageTicket) string {
	return fmt.Sprintf(`{"category": %q, "priority": %q, "reply": "Thanks for reaching out, %s: we are on it and will update you within the hour."}`,
		tk.Expected.Category, tk.Expected.Priority, tk.Vars.Customer)
}

// streamServer answers chat completions for the triage tickets, whole or
// as server-sent events, and records each request. Its mode says how it
// ends a stream.
type streamServer struct {
	*httptest.Server
	tickets map[string]triageTicket // by the user message
	mode    string                  // "done", "close" (no [DONE], connection closed), "no-done" (chunked, no [DONE])
	// cut, when set, says whether to cut the stream of a request short,
	// inside an event, given its ticket and the number of requests for it
	// so far (1 for the first).
	cut func(id string, n int) bool

	mu   sync.Mutex
	reqs []streamRequest
	seen map[string]int
}

type streamRequest struct {
	path, body string
	header     http.Header
}

func newStreamServer(t *testing.T, tickets []triageTicket, mode string) *streamServer {
	s := &streamServer{tickets: map[string]triageTicket{}, mode: mode, seen: map[string]int{}}
	for _, tk := range tickets {
		s.tickets[triageMessages(tk)[1].Content] = tk
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *streamServer) requests() []streamRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func (s *streamServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		Messages []evals.Message `json:"messages"`
		Stream   bool            `json:"stream"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || len(body.Messages) != 2 {
		streamJSON(400, `{"error":{"message":"bad request body","type":"invalid_request_error"}}`)(w, r)
		return
	}
	tk, ok := s.tickets[body.Messages[1].Content]
	s.mu.Lock()
	s.reqs = append(s.reqs, streamRequest{r.URL.Path, string(raw), r.Header.Clone()})
	s.seen[tk.ID]++
	n := s.seen[tk.ID]
	s.mu.Unlock()
	if !ok {
		streamJSON(400, `{"error":{"message":"unknown ticket"}}`)(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+streamSentinelKey {
		// As OpenAI answers, echoing part of the key.
		streamJSON(401, `{"error":{"message":"Incorrect API key provided: `+r.Header.Get("Authorization")+`","type":"invalid_request_error","code":"invalid_api_key"}}`)(w, r)
		return
	}
	text := triageAnswer(tk)
	if !body.Stream {
		streamJSON(200, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"acme-triage-v3","choices":[{"index":0,"message":{"role":"assistant","content":`+jsonQuote(text)+`},"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}}`)(w, r)
		return
	}
	events := openAIChunks(text)
	cut := s.cut != nil && s.cut(tk.ID, n)
	if s.mode == "done" && !cut {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range events {
			io.WriteString(w, ev)
			w.(http.Flusher).Flush()
		}
		return
	}
	// The other endings are written by hand, on the connection.
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	chunked := s.mode == "no-done"
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
	if chunked {
		// The connection closes after the response, and says so.
		head += "Transfer-Encoding: chunked\r\nConnection: close\r\n"
	}
	rw.WriteString(head + "\r\n")
	write := func(p string) {
		if chunked {
			fmt.Fprintf(rw, "%x\r\n%s\r\n", len(p), p)
		} else {
			rw.WriteString(p)
		}
		rw.Flush()
	}
	events = events[:len(events)-1] // no [DONE]
	if cut {
		write(events[0] + events[1][:len(events[1])/2])
		return // the connection closes inside the second event
	}
	for _, ev := range events {
		write(ev)
	}
	if chunked {
		rw.WriteString("0\r\n\r\n")
		rw.Flush()
	}
}

// jsonQuote is s as a JSON string.
func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// openAIChunks streams text as OpenAI documents chat completion chunks: the
// role, the text in three pieces, the finish, the usage (stream_options'
// include_usage), [DONE].
func openAIChunks(text string) []string {
	chunk := func(delta, finish string) string {
		return `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"acme-triage-v3","system_fingerprint":"fp_1","choices":[{"index":0,"delta":` +
			delta + `,"logprobs":null,"finish_reason":` + finish + `}],"usage":null}` + "\n\n"
	}
	third := len(text) / 3
	out := []string{chunk(`{"role":"assistant","content":""}`, "null")}
	for _, piece := range []string{text[:third], text[third : 2*third], text[2*third:]} {
		out = append(out, chunk(`{"content":`+jsonQuote(piece)+`}`, "null"))
	}
	return append(out,
		chunk(`{}`, `"stop"`),
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"acme-triage-v3","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}}`+"\n\n",
		"data: [DONE]\n\n")
}

// streamConfig is a rubric.config.json with the target candidate at url,
// streaming or not, and the target recorded replaying results.jsonl.
func streamConfig(url string, stream bool, extra string) string {
	return fmt.Sprintf(`{
  "targets": {
    "candidate": {
      "provider": "openai",
      "base_url": %q,
      "model": "acme-triage-v3",
      "api_key_env": "RUBRIC_E2E_STREAM_KEY",
      "params": {"temperature": 0, "max_tokens": 300, "seed": 7, "response_format": {"type": "json_object"}},
      "stream": %v,
      %s
      "concurrency": 8,
      "timeout": "10s"
    },
    "recorded": {"provider": "replay", "path": "results.jsonl", "replay_as": "candidate"}
  }
}
`, url+"/v1", stream, extra)
}

// wantTriageBody is the body OpenAI's chat completions reference documents
// for the candidate target and a ticket: model, messages, the params in
// their order, and with stream the stream fields.
func wantTriageBody(t *testing.T, tk triageTicket, model string, stream bool) string {
	msgs := jsonText(t, triageMessages(tk))
	b := `{`
	if model != "" {
		b += `"model":` + jsonQuote(model) + `,`
	}
	b += `"messages":` + msgs + `,"temperature":0,"max_tokens":300,"seed":7,"response_format":{"type":"json_object"}`
	if stream {
		b += `,"stream":true,"stream_options":{"include_usage":true}`
	}
	return b + "}"
}

// streamResult is the part of a line of results.jsonl these tests read.
type streamResult struct {
	CaseID  string `json:"case_id"`
	Target  string `json:"target"`
	Request struct {
		URL  string          `json:"url"`
		Body json.RawMessage `json:"body"`
	} `json:"request"`
	Output   string              `json:"output"`
	Finish   string              `json:"finish_reason"`
	Usage    evals.Usage         `json:"usage"`
	Attempts int                 `json:"attempts"`
	Cached   bool                `json:"cached"`
	Stream   *evals.StreamTiming `json:"stream"`
	Status   string              `json:"status"`
	Error    *evals.ResultError  `json:"error"`
}

func readStreamResults(t *testing.T, path string) map[string]streamResult {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]streamResult{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r streamResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out[r.CaseID] = r
	}
	return out
}

// streamReport is the part of report.json these tests read.
type streamReport struct {
	Complete bool `json:"complete"`
	Targets  []struct {
		Name    string               `json:"name"`
		Cases   int                  `json:"cases"`
		Passed  int                  `json:"passed"`
		Errored int                  `json:"errored"`
		Errors  map[string]int       `json:"errors"`
		Stream  *evals.StreamSummary `json:"stream"`
	} `json:"targets"`
	Gate struct {
		Held bool `json:"held"`
	} `json:"gate"`
}

// TestStreamTriage runs examples/triage's criteria against servers that
// end their streams each way servers do, and without streaming: every case
// passes with the server's answer, each request is the body OpenAI's
// reference documents, byte for byte, a streamed run records its timings
// (and the report, the summary and the gates read them), the cache answers
// the next run with the same timings, a replay of the run keeps them, and
// the API key is nowhere.
func TestStreamTriage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stream bool
		mode   string
	}{
		{"whole", false, "done"},
		{"stream", true, "done"},
		{"stream_closed_after_each", true, "close"},
		{"stream_without_done", true, "no-done"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, tickets := streamTriageCopy(t, "{}")
			srv := newStreamServer(t, tickets, tc.mode)
			writeFiles(t, dir, map[string]string{"rubric.config.json": streamConfig(srv.URL, tc.stream, "")})
			cacheDir := t.TempDir()
			env := []string{"RUBRIC_E2E_STREAM_KEY=" + streamSentinelKey, "RUBRIC_DB=" + filepath.Join(cacheDir, "rubric.db")}
			args := []string{"run", "suite.json", "--target", "candidate", "--out", "runs", "--no-progress"}
			if tc.stream {
				args = append(args, "--gate", "ttft.p95 <= 10000", "--gate", "slice(plan=enterprise).ttfc.max <= 10000")
			}
			r := rubric(t, dir, env, args...)
			if r.code != exitOK {
				t.Fatalf("want exit 0\n%s", r)
			}
			id := runIDs(t, r.stderr)[0]
			runDir := filepath.Join(dir, "runs", id)
			results := readStreamResults(t, filepath.Join(runDir, "results.jsonl"))
			reqs := srv.requests()
			if len(results) != 40 || len(reqs) != 40 {
				t.Fatalf("%d results, %d requests; want 40 of each", len(results), len(reqs))
			}
			sent := map[string]bool{}
			for _, q := range reqs {
				sent[q.body] = true
				if q.path != "/v1/chat/completions" || q.header.Get("Authorization") != "Bearer "+streamSentinelKey {
					t.Errorf("request to %s with Authorization %q", q.path, q.header.Get("Authorization"))
				}
				if accept := q.header.Get("Accept"); (accept == "text/event-stream") != tc.stream {
					t.Errorf("Accept: %q", accept)
				}
			}
			for _, tk := range tickets {
				res := results[tk.ID]
				want := wantTriageBody(t, tk, "acme-triage-v3", tc.stream)
				if !sent[want] {
					t.Errorf("%s: the server got no request with the body\n%s", tk.ID, want)
				}
				if string(res.Request.Body) != want || res.Request.URL != srv.URL+"/v1/chat/completions" {
					t.Errorf("%s: recorded %s %s\nwant %s", tk.ID, res.Request.URL, res.Request.Body, want)
				}
				if res.Status != "passed" || res.Output != triageAnswer(tk) || res.Finish != "stop" || res.Usage.TotalTokens != 150 {
					t.Errorf("%s: %s, %q, finish %q, usage %+v", tk.ID, res.Status, res.Output, res.Finish, res.Usage)
				}
				if st := res.Stream; (st != nil) != tc.stream || st != nil && (st.FirstTokenMS <= 0 || st.FirstContentMS != st.FirstTokenMS) {
					t.Errorf("%s: stream %+v", tk.ID, st)
				}
			}
			var rep streamReport
			readJSON(t, filepath.Join(runDir, "report.json"), &rep)
			tg := rep.Targets[0]
			if !rep.Complete || !rep.Gate.Held || tg.Passed != 40 || (tg.Stream != nil) != tc.stream {
				t.Errorf("report: complete %v, gate %v, %d passed, stream %+v", rep.Complete, rep.Gate.Held, tg.Passed, tg.Stream)
			}
			if tc.stream {
				if st := tg.Stream; st.Responses != 40 || st.ContentResponses != 40 || st.RatedResponses != 40 || st.FirstTokenMS.P95 <= 0 {
					t.Errorf("report stream: %+v", st)
				}
				if !strings.Contains(r.stdout, "stream candidate: 40 streamed; first token p50 ") ||
					!strings.Contains(r.stdout, "ok    candidate: ttft.p95 <= 10000") {
					t.Errorf("the summary does not show the stream's figures and gates:\n%s", r.stdout)
				}
			} else if strings.Contains(r.stdout, "stream candidate") {
				t.Errorf("a run without streaming shows stream figures:\n%s", r.stdout)
			}

			// The next run is answered from the cache, with the first run's
			// timings.
			r2 := rubric(t, dir, env, args...)
			if r2.code != exitOK || len(srv.requests()) != 40 {
				t.Fatalf("cached run: %d requests in all, want 40\n%s", len(srv.requests()), r2)
			}
			cached := readStreamResults(t, filepath.Join(dir, "runs", runIDs(t, r2.stderr)[0], "results.jsonl"))
			for id, c := range cached {
				first := results[id]
				if !c.Cached || string(c.Request.Body) != string(first.Request.Body) ||
					(c.Stream == nil) != (first.Stream == nil) || c.Stream != nil && *c.Stream != *first.Stream {
					t.Errorf("%s from the cache: cached %v, stream %+v; want the first run's %+v", id, c.Cached, c.Stream, first.Stream)
				}
			}

			// A replay of the run's results keeps its answers and timings.
			b, err := os.ReadFile(filepath.Join(runDir, "results.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			writeFiles(t, dir, map[string]string{"results.jsonl": string(b)})
			r3 := rubric(t, dir, env, "run", "suite.json", "--target", "recorded", "--out", "runs", "--no-progress")
			if r3.code != exitOK {
				t.Fatalf("replay: want exit 0\n%s", r3)
			}
			for id, rp := range readStreamResults(t, filepath.Join(dir, "runs", runIDs(t, r3.stderr)[0], "results.jsonl")) {
				first := results[id]
				if rp.Status != "passed" || rp.Output != first.Output || (rp.Stream == nil) != (first.Stream == nil) || rp.Stream != nil && *rp.Stream != *first.Stream {
					t.Errorf("%s replayed: %s, stream %+v; want the run's %+v", id, rp.Status, rp.Stream, first.Stream)
				}
			}

			for _, out := range []cmdResult{r, r2, r3} {
				if strings.Contains(out.stdout+out.stderr, streamSentinelKey) {
					t.Errorf("the API key appears in the output\n%s", out)
				}
			}
			if found := findSecrets(t, []string{streamSentinelKey}, filepath.Join(dir, "runs"), cacheDir); len(found) > 0 {
				t.Errorf("the API key is stored:\n%s", strings.Join(found, "\n"))
			}
			if ents, _ := os.ReadDir(cacheDir); len(ents) == 0 {
				t.Error("the runs wrote no response cache to check")
			}
		})
	}
}

// TestStreamTriageCutOff: a stream the server cuts inside an event is sent
// again, and the complete answer scored; one cut every time is a transport
// error after the retries, never an answer scored as complete; and the
// server's echo of the key in an error is redacted.
func TestStreamTriageCutOff(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"close", "no-done"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir, tickets := streamTriageCopy(t, "{}")
			srv := newStreamServer(t, tickets, mode)
			// T-1001 is cut once, T-1002 every time.
			srv.cut = func(id string, n int) bool { return id == "T-1001" && n == 1 || id == "T-1002" }
			writeFiles(t, dir, map[string]string{"rubric.config.json": streamConfig(srv.URL, true, `"retry": {"attempts": 3, "base_delay": "1ms", "max_delay": "5ms"},`)})
			cacheDir := t.TempDir()
			env := []string{"RUBRIC_E2E_STREAM_KEY=" + streamSentinelKey, "RUBRIC_DB=" + filepath.Join(cacheDir, "rubric.db")}
			r := rubric(t, dir, env, "run", "suite.json", "--target", "candidate", "--out", "runs", "--no-progress")
			if r.code != exitGateFailed {
				t.Fatalf("want exit 1: the gate error_rate <= 0 fails on T-1002\n%s", r)
			}
			id := runIDs(t, r.stderr)[0]
			results := readStreamResults(t, filepath.Join(dir, "runs", id, "results.jsonl"))
			if got := results["T-1001"]; got.Status != "passed" || got.Attempts != 2 || got.Output != triageAnswer(tickets[0]) || got.Stream == nil {
				t.Errorf("T-1001, cut once: %s after %d attempts, %q", got.Status, got.Attempts, got.Output)
			}
			got := results["T-1002"]
			// Cut inside an event: the event reader says so when the body
			// has no framing; the chunked body's reader fails first.
			cutMsg := map[string]string{"close": "the stream was cut off: it ended inside an event",
				"no-done": "reading the stream: truncated: the server closed the connection before the end of the body"}[mode]
			if got.Status != "error" || got.Error == nil || got.Error.Kind != evals.ErrKindTransport || got.Attempts != 3 ||
				got.Output != "" || got.Stream != nil || !strings.Contains(got.Error.Message, cutMsg) {
				t.Errorf("T-1002, cut every time: %s, error %+v, %d attempts, output %q", got.Status, got.Error, got.Attempts, got.Output)
			}
			var rep streamReport
			readJSON(t, filepath.Join(dir, "runs", id, "report.json"), &rep)
			if tg := rep.Targets[0]; tg.Passed != 39 || tg.Errored != 1 || tg.Errors[evals.ErrKindTransport] != 1 || tg.Stream.Responses != 39 {
				t.Errorf("report: %d passed, %d errored %v, stream %+v", tg.Passed, tg.Errored, tg.Errors, tg.Stream)
			}
			// Each case once, T-1001 again, T-1002 twice more.
			srv.mu.Lock()
			seen := maps.Clone(srv.seen)
			srv.mu.Unlock()
			if n := len(srv.requests()); n != 43 || seen["T-1001"] != 2 || seen["T-1002"] != 3 {
				t.Errorf("%d requests, %d for T-1001 and %d for T-1002; want 43, 2 and 3", n, seen["T-1001"], seen["T-1002"])
			}
			// A cut-off answer is never cached: the next run sends T-1002
			// again, and only it.
			srv.cut = nil
			before := len(srv.requests())
			r2 := rubric(t, dir, env, "run", "suite.json", "--target", "candidate", "--out", "runs", "--no-progress")
			if reqs := srv.requests(); r2.code != exitOK || len(reqs) != before+1 || !strings.Contains(reqs[before].body, "Customer: Marcus") {
				t.Errorf("the next run: exit %d, %d requests; want 0 and one, for T-1002\n%s", r2.code, len(reqs)-before, r2)
			}
			if found := findSecrets(t, []string{streamSentinelKey}, filepath.Join(dir, "runs"), cacheDir); len(found) > 0 || strings.Contains(r.stdout+r.stderr, streamSentinelKey) {
				t.Errorf("the API key is stored or shown: %v", found)
			}
		})
	}

	// A wrong key: the server echoes it, rubric does not.
	dir, tickets := streamTriageCopy(t, "{}")
	srv := newStreamServer(t, tickets, "done")
	writeFiles(t, dir, map[string]string{"rubric.config.json": streamConfig(srv.URL, true, noRetry)})
	wrong := "sk-wrong-stream-key-0123456789"
	r := rubric(t, dir, []string{"RUBRIC_E2E_STREAM_KEY=" + wrong, "RUBRIC_DB=" + filepath.Join(t.TempDir(), "rubric.db")},
		"run", "suite.json", "--target", "candidate", "--out", "runs", "--no-progress")
	if r.code != exitIncomplete || !strings.Contains(r.stdout, "http_status") {
		t.Fatalf("want exit 3 with every case an http_status error\n%s", r)
	}
	if found := findSecrets(t, []string{wrong}, filepath.Join(dir, "runs")); len(found) > 0 || strings.Contains(r.stdout+r.stderr, wrong) {
		t.Errorf("the key the server echoed is stored or shown: %v\n%s", found, r)
	}
}

// streamJSON returns a handler writing status and a JSON body.
func streamJSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}
