package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/provider/batchfake"
)

const batchTestKey = "sk-batch-unit-0123456789abcdef"

// batchAPIOf builds the batch API of a target of provider at base, with
// the key in BATCH_TEST_KEY.
func batchAPIOf(t testing.TB, provider, base string, extra string) BatchAPI {
	t.Helper()
	obj := `{"name": "t", "provider": "` + provider + `", "model": "m", "api_key_env": "BATCH_TEST_KEY", "batch": true` + extra
	if provider == "anthropic" {
		obj += `, "base_url": "` + base + `", "params": {"max_tokens": 16}}`
	} else {
		obj += `, "base_url": "` + base + `/v1"}`
	}
	spec := targetOf(t, obj)
	env := Env{LookupEnv: func(name string) (string, bool) { return batchTestKey, name == "BATCH_TEST_KEY" }}
	ep, err := Default().Endpoint(spec, Options{Env: env})
	if err != nil {
		t.Fatalf("%s: %v", obj, err)
	}
	t.Cleanup(func() { ep.Close() })
	api, ok := ep.Batch.(BatchAPI)
	if !ok {
		t.Fatalf("the endpoint of %s has no batch API", obj)
	}
	return api
}

// TestBatchAPIs runs each API against the fake: a batch that completes
// slowly, with an answer, an errored line, a malformed line and an expired
// request; each answer decodes as the live one does, and no reason holds
// the key.
func TestBatchAPIs(t *testing.T) {
	for _, tc := range []struct {
		provider, ended string
	}{
		{"openai", "expired"},
		{"anthropic", "ended"},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			fake := batchfake.New()
			fake.Key, fake.Polls = batchTestKey, 2
			fake.Error = func(b []byte) bool { return bytes.Contains(b, []byte("ERR")) }
			fake.Malform = func(b []byte) bool { return bytes.Contains(b, []byte("BAD")) }
			fake.Expire = func(b []byte) bool { return bytes.Contains(b, []byte("EXP")) }
			srv := httptest.NewServer(fake)
			defer srv.Close()
			api := batchAPIOf(t, tc.provider, srv.URL, "")
			ctx := context.Background()

			var items []BatchItem
			for _, text := range []string{"fine", "ERR", "BAD", "EXP"} {
				req := &evals.Request{Messages: []evals.Message{{Role: "user", Content: text}}}
				body, recorded, err := api.BatchBody(req)
				if err != nil {
					t.Fatal(err)
				}
				if live, _ := api.RequestBody(req); !bytes.Equal(live, recorded) {
					t.Errorf("batch body recorded %s, live %s", recorded, live)
				}
				items = append(items, BatchItem{CustomID: "id-" + text, Body: body})
			}
			id, err := api.Submit(ctx, items)
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			var st *BatchStatus
			for i := range 3 {
				if st, err = api.Status(ctx, id); err != nil {
					t.Fatalf("Status: %v", err)
				}
				if st.Ended != (i == 2) {
					t.Fatalf("check %d: ended %v (state %s)", i, st.Ended, st.State)
				}
			}
			if st.State != tc.ended {
				t.Errorf("state %q, want %q", st.State, tc.ended)
			}
			got := map[string]BatchAnswer{}
			err = api.Results(ctx, st, func(a BatchAnswer) error {
				got[a.CustomID] = a
				if strings.Contains(a.Reason, batchTestKey) {
					t.Errorf("reason holds the key: %s", a.Reason)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Results: %v", err)
			}
			if a := got["id-fine"]; a.Response == nil || a.Response.Text != "fine" || a.Response.Usage.CompletionTokens != 5 || a.Response.Usage.TotalTokens != 15 {
				t.Errorf("answer = %+v (response %+v)", a, a.Response)
			}
			if a := got["id-ERR"]; a.Response != nil || !strings.HasPrefix(a.Reason, "errored: ") || !strings.Contains(a.Reason, "bad request") {
				t.Errorf("errored line = %+v", a)
			}
			if a := got["id-EXP"]; a.Response != nil || a.Reason != "expired" {
				t.Errorf("expired = %+v", a)
			}
			// A malformed line yields no answer: with its id, or none.
			bad, ok := got["id-BAD"]
			if !ok {
				bad = got[""]
			}
			if bad.Response != nil || !bad.Malformed || !strings.HasPrefix(bad.Reason, "malformed line: ") {
				t.Errorf("malformed line = %+v (answers %v)", bad, got)
			}
			if refused := fake.Refused(); len(refused) > 0 {
				t.Errorf("the fake refused: %q", refused)
			}
		})
	}
}

// TestBatchResultsFiles: output files that are not what they should be.
// Each line that cannot be read is yielded as malformed, the rest are read;
// an id that does not fit in a path is refused; a results_url on another
// host is not followed with the key.
func TestBatchResultsFiles(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/v1/batches/batch_1":
			io.WriteString(w, `{"id": "batch_1", "status": "completed", "output_file_id": "file-out", "request_counts": {"total": 3, "completed": 3, "failed": 0}}`)
		case "/v1/batches/batch_2":
			io.WriteString(w, `{"id": "batch_2", "status": "completed", "output_file_id": "../../x"}`)
		case "/v1/batches/batch_3":
			io.WriteString(w, `{"id": "batch_3", "status": "weird"}`)
		case "/v1/files/file-out/content":
			io.WriteString(w, "not json\n\n{\"custom_id\": \"a\"}\n"+
				`{"custom_id": "b", "response": {"status_code": 200, "body": {"choices": []}}}`+"\n"+
				`{"custom_id": "c", "response": {"status_code": 200, "body": {"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}}}`)
		case "/v1/messages/batches/msgbatch_1":
			io.WriteString(w, `{"id": "msgbatch_1", "processing_status": "ended", "request_counts": {"succeeded": 1}, "results_url": "http://elsewhere.example/r"}`)
		case "/v1/messages/batches/msgbatch_1/results":
			io.WriteString(w, `{"custom_id": "z", "result": {"type": "succeeded", "message": {"type": "message", "content": [{"type": "text", "text": "hi"}], "usage": {"input_tokens": 1, "output_tokens": 1}}}}`+"\n"+`{"custom_id": "y", "result": {"type": "surprise"}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	read := func(api BatchAPI, id string) map[string]BatchAnswer {
		t.Helper()
		st, err := api.Status(ctx, id)
		if err != nil {
			t.Fatalf("Status %s: %v", id, err)
		}
		got := map[string]BatchAnswer{}
		if err := api.Results(ctx, st, func(a BatchAnswer) error { got[a.CustomID] = a; return nil }); err != nil {
			t.Fatalf("Results %s: %v", id, err)
		}
		return got
	}

	oa := batchAPIOf(t, "openai", srv.URL, "")
	got := read(oa, "batch_1")
	if a := got[""]; !a.Malformed || !strings.Contains(a.Reason, "not json") {
		t.Errorf("a line that is not JSON: %+v", a)
	}
	if a := got["a"]; !a.Malformed || !strings.Contains(a.Reason, "neither response nor error") {
		t.Errorf("a line without a response: %+v", a)
	}
	if a := got["b"]; !a.Malformed || a.Response != nil || !strings.Contains(a.Reason, "no choices") {
		t.Errorf("an answer without choices: %+v", a)
	}
	if a := got["c"]; a.Response == nil || a.Response.Text != "ok" {
		t.Errorf("the good line after the bad ones: %+v", a)
	}
	if _, err := oa.Status(ctx, "batch_2"); err == nil || !strings.Contains(err.Error(), "file id") {
		t.Errorf("a file id with a path in it: %v", err)
	}
	if _, err := oa.Status(ctx, "batch_3"); err == nil || !strings.Contains(err.Error(), `"weird"`) {
		t.Errorf("an unknown status: %v", err)
	}

	an := batchAPIOf(t, "anthropic", srv.URL, "")
	got = read(an, "msgbatch_1")
	if a := got["z"]; a.Response == nil || a.Response.Text != "hi" {
		t.Errorf("anthropic answer from its own results address: %+v", a)
	}
	if a := got["y"]; !a.Malformed || !strings.Contains(a.Reason, "surprise") {
		t.Errorf("an unknown result type: %+v", a)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(paths, " "), "/v1/messages/batches/msgbatch_1/results") {
		t.Errorf("the results were not read from the API's own address: %v", paths)
	}
}

// TestBatchAzureURLs: azure's global batch goes to the resource's files and
// batches, with the api-version, each line's url /chat/completions, and the
// deployment named as the model.
func TestBatchAzureURLs(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var input string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" key="+r.Header.Get("Api-Key"))
		switch r.URL.Path {
		case "/openai/files":
			f, _, err := r.FormFile("file")
			if err != nil {
				t.Errorf("upload: %v", err)
				return
			}
			b, _ := io.ReadAll(f)
			input = string(b)
			io.WriteString(w, `{"id": "file-1"}`)
		case "/openai/batches":
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			if body["endpoint"] != "/chat/completions" || body["input_file_id"] != "file-1" || body["completion_window"] != "24h" {
				t.Errorf("create batch body %v", body)
			}
			io.WriteString(w, `{"id": "batch_1"}`)
		}
	}))
	defer srv.Close()
	spec := targetOf(t, `{"name": "t", "provider": "azure", "endpoint": "`+srv.URL+`", "deployment": "gb-4o", "api_version": "2024-10-21", "api_key_env": "K", "batch": true}`)
	ep, err := Default().Endpoint(spec, Options{Env: Env{LookupEnv: func(string) (string, bool) { return "azkey", true }}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	api := ep.Batch.(BatchAPI)
	body, _, err := api.BatchBody(&evals.Request{Messages: []evals.Message{{Role: "user", Content: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Submit(context.Background(), []BatchItem{{CustomID: "r-1", Body: body}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /openai/files?api-version=2024-10-21 key=azkey", "POST /openai/batches?api-version=2024-10-21 key=azkey"}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	var line struct {
		CustomID string         `json:"custom_id"`
		URL      string         `json:"url"`
		Method   string         `json:"method"`
		Body     map[string]any `json:"body"`
	}
	if err := json.Unmarshal([]byte(input), &line); err != nil || line.URL != "/chat/completions" || line.Method != "POST" || line.Body["model"] != "gb-4o" || line.CustomID != "r-1" {
		t.Errorf("input line %s (%v)", input, err)
	}
}

// TestBatchConfigProblems: batch with stream, and batch on a provider
// without a batch API, are problems of the target.
func TestBatchConfigProblems(t *testing.T) {
	for _, tc := range []struct{ obj, want string }{
		{`{"name": "t", "provider": "openai", "model": "m", "base_url": "http://x/v1", "batch": true, "stream": true}`, "batch: cannot be set with stream"},
		{`{"name": "t", "provider": "anthropic", "model": "m", "params": {"max_tokens": 5}, "batch": true, "stream": true}`, "batch: cannot be set with stream"},
		{`{"name": "t", "provider": "azure", "model": "m", "endpoint": "http://x", "batch": true, "stream": true}`, "batch: cannot be set with stream"},
		{`{"name": "t", "provider": "http", "url": "http://x", "batch": true, "response": {"text": "a"}}`, `batch: field does not apply to provider "http"`},
	} {
		_, err := Default().New(targetOf(t, tc.obj), Env{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.obj, err, tc.want)
		}
	}
}
