package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// azureSentinelKey is the API key of the azure targets below: it must
// appear in no output, run folder or cache.
const azureSentinelKey = "az-sentinel-7d41c0e9b2f85a63"

// azureTriageServer answers examples/triage's tickets as Azure OpenAI does,
// at a deployment's path (with ?api-version=) and at the v1 API's (the
// deployment's name as the model), with the key in api-key, and its errors:
// 401 for a wrong key, 404 for a deployment it does not have.
type azureTriageServer struct {
	*httptest.Server
	tickets map[string]triageTicket

	mu   sync.Mutex
	reqs []azureTriageRequest
}

type azureTriageRequest struct {
	path, query, body string
	header            http.Header
}

const (
	azureDeployment = "triage-v3"
	azureVersion    = "2024-10-21"
)

func newAzureTriageServer(t *testing.T, tickets []triageTicket) *azureTriageServer {
	s := &azureTriageServer{tickets: map[string]triageTicket{}}
	for _, tk := range tickets {
		s.tickets[triageMessages(tk)[1].Content] = tk
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *azureTriageServer) requests() []azureTriageRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func (s *azureTriageServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, azureTriageRequest{r.URL.Path, r.URL.RawQuery, string(raw), r.Header.Clone()})
	s.mu.Unlock()
	if r.Header.Get("Api-Key") != azureSentinelKey {
		streamJSON(401, `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`)(w, r)
		return
	}
	var body struct {
		Model    *string         `json:"model"`
		Messages []evals.Message `json:"messages"`
		Stream   bool            `json:"stream"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || len(body.Messages) != 2 {
		streamJSON(400, `{"error":{"code":"BadRequest","message":"Invalid request body."}}`)(w, r)
		return
	}
	deployment := r.URL.Path == "/openai/deployments/"+azureDeployment+"/chat/completions" && r.URL.Query().Get("api-version") == azureVersion && body.Model == nil
	v1 := r.URL.Path == "/openai/v1/chat/completions" && body.Model != nil && *body.Model == azureDeployment
	if !deployment && !v1 {
		streamJSON(404, `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}`)(w, r)
		return
	}
	tk, ok := s.tickets[body.Messages[1].Content]
	if !ok {
		streamJSON(400, `{"error":{"code":"BadRequest","message":"unknown ticket"}}`)(w, r)
		return
	}
	text := triageAnswer(tk)
	if !body.Stream {
		streamJSON(200, `{"choices":[{"content_filter_results":{},"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":`+jsonQuote(text)+`,"refusal":null,"role":"assistant"}}],"created":1700000000,"id":"chatcmpl-1","model":"gpt-4o-mini-2024-07-18","object":"chat.completion","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}],"usage":{"completion_tokens":30,"prompt_tokens":120,"total_tokens":150}}`)(w, r)
		return
	}
	// Azure's stream starts with a chunk of prompt filter results and no
	// choices.
	w.Header().Set("Content-Type", "text/event-stream")
	io.WriteString(w, `data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}`+"\n\n")
	for _, ev := range openAIChunks(text) {
		io.WriteString(w, ev)
		w.(http.Flusher).Flush()
	}
}

// azureTriageConfig has the targets deployment (the deployment's path) and
// v1 (the v1 API, streaming) at the server url.
func azureTriageConfig(url string) string {
	return fmt.Sprintf(`{
  "targets": {
    "deployment": {
      "provider": "azure",
      "endpoint": %[1]q,
      "deployment": %[2]q,
      "api_version": %[3]q,
      "model": "gpt-4o-mini",
      "api_key_env": "RUBRIC_E2E_AZURE_KEY",
      "params": {"temperature": 0, "max_tokens": 300, "seed": 7, "response_format": {"type": "json_object"}},
      "retry": {"attempts": 1},
      "concurrency": 8
    },
    "v1": {
      "provider": "azure",
      "endpoint": %[1]q,
      "model": %[2]q,
      "api_key_env": "RUBRIC_E2E_AZURE_KEY",
      "params": {"temperature": 0, "max_tokens": 300, "seed": 7, "response_format": {"type": "json_object"}},
      "stream": true,
      "retry": {"attempts": 1},
      "concurrency": 8
    }
  }
}
`, url, azureDeployment, azureVersion)
}

// TestAzureTriage runs examples/triage's criteria against an Azure OpenAI
// test server, at a deployment's path and at the v1 API with streaming:
// every case passes, each request goes to the address Azure documents with
// the body it documents, byte for byte, and the key in api-key, which
// appears in no output, run folder or cache.
func TestAzureTriage(t *testing.T) {
	t.Parallel()
	dir, tickets := streamTriageCopy(t, "{}")
	srv := newAzureTriageServer(t, tickets)
	writeFiles(t, dir, map[string]string{"rubric.config.json": azureTriageConfig(srv.URL)})
	cacheDir := t.TempDir()
	env := []string{"RUBRIC_E2E_AZURE_KEY=" + azureSentinelKey, "RUBRIC_DB=" + filepath.Join(cacheDir, "rubric.db")}
	r := rubric(t, dir, env, "run", "suite.json", "--target", "deployment", "--target", "v1", "--out", "runs", "--no-progress",
		"--gate", "ttft.p95 <= 10000")
	// The deployment does not stream: its ttft gate has no data, and fails.
	if r.code != exitGateFailed || !strings.Contains(r.stdout, `FAIL  deployment: ttft.p95 <= 10000: no data (no response was streamed: a target streams with "stream": true)`) ||
		!strings.Contains(r.stdout, "ok    v1: ttft.p95 <= 10000") {
		t.Fatalf("want exit 1, the ttft gate failing for lack of data on deployment only\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	runDir := filepath.Join(dir, "runs", id)
	var rep streamReport
	readJSON(t, filepath.Join(runDir, "report.json"), &rep)
	for i, tg := range rep.Targets {
		if tg.Cases != 40 || tg.Passed != 40 || (tg.Stream != nil) != (i == 1) {
			t.Errorf("report: target %s: %d of %d passed, stream %+v", tg.Name, tg.Passed, tg.Cases, tg.Stream)
		}
	}

	reqs := srv.requests()
	if len(reqs) != 80 {
		t.Fatalf("the server got %d requests, want 80", len(reqs))
	}
	got := map[string]bool{}
	for _, q := range reqs {
		at := q.path
		if q.query != "" {
			at += "?" + q.query
		}
		got[at+" "+q.body] = true
		if q.header.Get("Api-Key") != azureSentinelKey || q.header.Get("Authorization") != "" {
			t.Errorf("request with api-key %q, Authorization %q", q.header.Get("Api-Key"), q.header.Get("Authorization"))
		}
	}
	deployURL := "/openai/deployments/" + azureDeployment + "/chat/completions?api-version=" + azureVersion
	v1URL := "/openai/v1/chat/completions"
	// The lines as written, bodies byte for byte.
	results := map[string]map[string]streamResult{}
	f, err := os.Open(filepath.Join(runDir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var res streamResult
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		if results[res.Target] == nil {
			results[res.Target] = map[string]streamResult{}
		}
		results[res.Target][res.CaseID] = res
	}
	for _, tk := range tickets {
		// A deployment's body names no model; the v1 API's names the
		// deployment.
		for _, c := range []struct {
			target, url, body string
		}{
			{"deployment", deployURL, wantTriageBody(t, tk, "", false)},
			{"v1", v1URL, wantTriageBody(t, tk, azureDeployment, true)},
		} {
			if !got[c.url+" "+c.body] {
				t.Errorf("%s, %s: the server got no request to %s with the body\n%s", c.target, tk.ID, c.url, c.body)
			}
			res := results[c.target][tk.ID]
			if res.Request.URL != srv.URL+c.url || string(res.Request.Body) != c.body {
				t.Errorf("%s, %s: recorded %s %s\nwant %s %s", c.target, tk.ID, res.Request.URL, res.Request.Body, srv.URL+c.url, c.body)
			}
			if res.Status != "passed" || res.Output != triageAnswer(tk) || res.Usage.TotalTokens != 150 || (res.Stream != nil) != (c.target == "v1") {
				t.Errorf("%s, %s: %s, %q, usage %+v, stream %+v", c.target, tk.ID, res.Status, res.Output, res.Usage, res.Stream)
			}
		}
	}
	if strings.Contains(r.stdout+r.stderr, azureSentinelKey) {
		t.Errorf("the API key appears in the output\n%s", r)
	}
	if found := findSecrets(t, []string{azureSentinelKey}, filepath.Join(dir, "runs"), cacheDir); len(found) > 0 {
		t.Errorf("the API key is stored:\n%s", strings.Join(found, "\n"))
	}

	// The run's results replay as a recording of v1: every answer scored
	// as before, with its stream timings, without a request.
	cfg := strings.Replace(azureTriageConfig(srv.URL), `"targets": {`,
		`"targets": {"v1-replayed": {"provider": "replay", "path": `+jsonQuote(filepath.Join(runDir, "results.jsonl"))+`, "replay_as": "v1"},`, 1)
	writeFiles(t, dir, map[string]string{"rubric.config.json": cfg})
	r = rubric(t, dir, env, "run", "suite.json", "--target", "v1-replayed", "--out", "runs", "--no-progress", "--gate", "ttft.p95 <= 10000")
	if r.code != exitOK {
		t.Fatalf("replaying the run: want exit 0\n%s", r)
	}
	if n := len(srv.requests()); n != 80 {
		t.Errorf("the replay sent %d requests to the server", n-80)
	}
	var replayed streamReport
	readJSON(t, filepath.Join(dir, "runs", runIDs(t, r.stderr)[0], "report.json"), &replayed)
	if tg := replayed.Targets[0]; tg.Passed != 40 || tg.Stream == nil || !reflect.DeepEqual(tg.Stream, rep.Targets[1].Stream) {
		t.Errorf("replayed: %d of 40 passed, stream %+v; want the run's %+v", tg.Passed, tg.Stream, rep.Targets[1].Stream)
	}

	// A wrong key is Azure's 401, with its message.
	r = rubric(t, dir, []string{"RUBRIC_E2E_AZURE_KEY=not-the-key", "RUBRIC_DB=" + filepath.Join(t.TempDir(), "rubric.db")},
		"run", "suite.json", "--target", "v1", "--out", "runs", "--no-progress")
	if r.code != exitIncomplete || !strings.Contains(r.stdout, "errors v1: http_status 40") {
		t.Errorf("a wrong key: want exit 3 with every case an http_status error\n%s", r)
	}
}
