package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// echoServer is an OpenAI-compatible endpoint that answers each request
// with its last message. block, when set, is called with the text before
// answering, and may hold the request.
func echoServer(t *testing.T, block func(r *http.Request, text string)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Messages) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		text := body.Messages[len(body.Messages)-1].Content
		if block != nil {
			block(r, text)
		}
		w.Header().Set("Content-Type", "application/json")
		out, _ := json.Marshal(text)
		fmt.Fprintf(w, `{"choices":[{"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// historySuite writes a suite of four cases, one target at url, with a
// gate, slices by the metadata field domain, and returns its path. The
// target echoes: cases whose q equals their expected answer pass.
func historySuite(t *testing.T, dir, url string) string {
	t.Helper()
	suite := `{
  "name": "hist",
  "version": "3",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "slices": ["domain"],
  "criteria": [{"name": "same", "type": "equals", "value": "{{ expected }}"}],
  "targets": [{"name": "echo", "provider": "openai", "base_url": "` + url + `/v1", "model": "echo-1", "concurrency": 1}],
  "gate": ["pass_rate >= 0.5"]
}`
	cases := `{"id": "c1", "vars": {"q": "a"}, "expected": "a", "tags": ["smoke"], "metadata": {"domain": "billing"}}
{"id": "c2", "vars": {"q": "b"}, "expected": "x", "metadata": {"domain": "billing"}}
{"id": "c3", "vars": {"q": "c"}, "expected": "c", "tags": ["lang=de"]}
{"id": "c4", "vars": {"q": "d"}, "expected": "d"}
`
	for name, content := range map[string]string{"suite.json": suite, "cases.jsonl": cases} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "suite.json")
}

func loadSuite(t *testing.T, path string) *build.Suite {
	t.Helper()
	s, err := build.Load(context.Background(), path, build.Options{Load: evals.LoadOptions{RequireTargets: true}, Targets: true, Dataset: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// historyOptions are the options of a session that records in the history
// h, with the CI's commit in the environment; stderr collects warnings.
func historyOptions(out string, h history.Store, stderr io.Writer) Options {
	env := map[string]string{"GITHUB_SHA": "c0ffee", "GITHUB_REF_NAME": "main"}
	return Options{
		Out: out, Grace: 50 * time.Millisecond, Stderr: stderr,
		History: func() (history.Store, error) { return h, nil },
		Getenv:  func(k string) string { return env[k] },
		Build:   build.Options{Load: evals.LoadOptions{RequireTargets: true}, Targets: true, Dataset: true},
	}
}

func openHistory(t *testing.T) *history.SQLite {
	t.Helper()
	h, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestRecordRun: a run is recorded with what run.json and report.json say,
// the commit, and an index whose every entry points at its journal line.
func TestRecordRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := echoServer(t, nil)
	path := historySuite(t, dir, srv.URL)
	h := openHistory(t)
	var stderr bytes.Buffer
	o := Run(ctx, []*build.Suite{loadSuite(t, path)}, historyOptions(filepath.Join(dir, "runs"), h, &stderr))
	if o.Err != nil || len(o.Runs) != 1 {
		t.Fatalf("run: %v\n%s", o.Err, stderr.String())
	}
	id := o.Runs[0].RunID
	runDir := filepath.Join(dir, "runs", id)
	r, err := h.Get(ctx, id)
	if err != nil {
		t.Fatalf("the run is not in the history: %v\n%s", err, stderr.String())
	}
	m, err := rundir.ReadManifest(runDir)
	if err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(filepath.Join(runDir, rundir.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	sum := o.Runs[0]
	held := true
	ci := sum.Targets[0].PassRateCI
	want := &history.Run{
		ID: id, Kind: "run", Suite: "hist", SuiteVersion: "3", SuiteSHA256: m.SuiteSHA256, DatasetSHA256: m.DatasetSHA256,
		Targets: []history.Target{{Name: "echo", Provider: "openai", Model: "echo-1", Cases: 4, Passed: 3, PassRate: 0.75,
			PassRateLo: ci.Lo, PassRateHi: ci.Hi, Mean: 0.75}},
		GitCommit: "c0ffee", GitBranch: "main", Started: sum.Started, Finished: sum.Finished,
		Complete: true, GateHeld: &held, Dir: runDir, Host: history.Hostname(), Report: report,
	}
	if m.SuiteSHA256 == "" || m.DatasetSHA256 == "" || !filepath.IsAbs(runDir) {
		t.Fatalf("the manifest has no hashes, or the folder is relative: %+v %s", m, runDir)
	}
	r.Started, r.Finished = r.Started.Local(), r.Finished.Local()
	want.Started, want.Finished = want.Started.Local(), want.Finished.Local()
	if !reflect.DeepEqual(r, want) {
		t.Errorf("recorded:\n %+v\nwant\n %+v", r, want)
	}

	f, err := os.Open(filepath.Join(runDir, rundir.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	err = h.Cases(ctx, id, func(c history.Case) error {
		res, _, err := rundir.ReadResultAt(f, rundir.Span{Off: c.Off, Len: c.Len}, nil)
		if err != nil || res.CaseID != c.CaseID || string(res.Status) != c.Status {
			return fmt.Errorf("case %s: the line at %d+%d is %+v, %v", c.CaseID, c.Off, c.Len, res, err)
		}
		got = append(got, fmt.Sprintf("%s %s %s failed=%v slices=%v", c.Target, c.CaseID, c.Status, c.Failed, c.Slices))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCases := []string{
		"echo c1 passed failed=[] slices=[tag=smoke domain=billing]",
		"echo c2 failed failed=[same] slices=[domain=billing]",
		"echo c3 passed failed=[] slices=[lang=de]",
		"echo c4 passed failed=[] slices=[]",
	}
	if !reflect.DeepEqual(got, wantCases) {
		t.Errorf("the index:\n %s\nwant\n %s", strings.Join(got, "\n "), strings.Join(wantCases, "\n "))
	}
	if stderr.Len() > 0 && strings.Contains(stderr.String(), "history") {
		t.Errorf("stderr speaks of the history:\n%s", stderr.String())
	}
}

// TestRecordInterruptedThenResumed: a run interrupted is recorded as it
// stopped (incomplete, the gate not held, the cases done); resumed, its
// record is replaced by the whole run's.
func TestRecordInterruptedThenResumed(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	srv := echoServer(t, func(r *http.Request, text string) {
		if text == "c" && ctx.Err() == nil {
			once.Do(cancel)
			<-r.Context().Done() // held until the grace ends
		}
	})
	path := historySuite(t, dir, srv.URL)
	h := openHistory(t)
	var stderr bytes.Buffer
	opts := historyOptions(filepath.Join(dir, "runs"), h, &stderr)
	o := Run(ctx, []*build.Suite{loadSuite(t, path)}, opts)
	if o.Code() != ExitInterrupted || len(o.Runs) != 1 {
		t.Fatalf("the first run: code %d, %v\n%s", o.Code(), o.Err, stderr.String())
	}
	id := o.Runs[0].RunID
	r, err := h.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("the interrupted run is not in the history: %v\n%s", err, stderr.String())
	}
	if r.Complete || r.GateHeld == nil || *r.GateHeld || r.Targets[0].Cases != 2 {
		t.Errorf("the interrupted run: complete %v, gate %v, %d cases; want incomplete, failed, 2", r.Complete, r.GateHeld, r.Targets[0].Cases)
	}
	var ids []string
	h.Cases(context.Background(), id, func(c history.Case) error { ids = append(ids, c.CaseID); return nil })
	if strings.Join(ids, " ") != "c1 c2" {
		t.Errorf("the interrupted run's index: %v, want c1 c2", ids)
	}

	o = Resume(context.Background(), id, opts)
	if o.Err != nil {
		t.Fatalf("resume: %v\n%s", o.Err, stderr.String())
	}
	r, err = h.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Complete || r.GateHeld == nil || !*r.GateHeld || r.Targets[0].Cases != 4 || !r.Started.Equal(o.Runs[0].Started) {
		t.Errorf("the resumed run: complete %v, gate %v, %d cases, started %v; want complete, held, 4, %v",
			r.Complete, r.GateHeld, r.Targets[0].Cases, r.Started, o.Runs[0].Started)
	}
	ids = nil
	h.Cases(context.Background(), id, func(c history.Case) error { ids = append(ids, c.CaseID); return nil })
	if strings.Join(ids, " ") != "c1 c2 c3 c4" {
		t.Errorf("the resumed run's index: %v, want c1 to c4", ids)
	}
	if runs, err := h.Runs(context.Background(), history.Filter{}); err != nil || len(runs) != 1 {
		t.Errorf("the history has %d runs, %v; want the one", len(runs), err)
	}
}

// TestRecordRescore: rubric score --run records a run of kind score, with
// its own id and index.
func TestRecordRescore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := echoServer(t, nil)
	path := historySuite(t, dir, srv.URL)
	h := openHistory(t)
	var stderr bytes.Buffer
	opts := historyOptions(filepath.Join(dir, "runs"), h, &stderr)
	o := Run(ctx, []*build.Suite{loadSuite(t, path)}, opts)
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	first := o.Runs[0].RunID
	// Rescored with a criterion that passes c2 too.
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte(`"type": "equals", "value": "{{ expected }}"`), []byte(`"type": "length", "min_chars": 1`), 1), 0o644)
	s, err := build.Load(ctx, path, build.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o = Score(ctx, s, Recordings{Run: filepath.Join(dir, "runs", first)}, opts)
	if o.Err != nil {
		t.Fatalf("score: %v\n%s", o.Err, stderr.String())
	}
	r, err := h.Get(ctx, o.Runs[0].RunID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == first || r.Kind != "score" || r.Suite != "hist" || r.Targets[0].Passed != 4 || r.Dir != filepath.Join(dir, "runs", r.ID) {
		t.Errorf("the rescore: %+v", r)
	}
	n := 0
	h.Cases(ctx, r.ID, func(c history.Case) error { n++; return nil })
	if n != 4 {
		t.Errorf("the rescore's index has %d cases, want 4", n)
	}
	if runs, _ := h.Runs(ctx, history.Filter{Suite: "hist"}); len(runs) != 2 || runs[0].ID != r.ID {
		t.Errorf("the suite's runs: %+v", runs)
	}
}

// TestRecordFailureIsAWarning: a history that cannot be opened, or cannot
// record, costs a warning and nothing else.
func TestRecordFailureIsAWarning(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := echoServer(t, nil)
	path := historySuite(t, dir, srv.URL)
	closed := openHistory(t)
	closed.Close()
	for name, open := range map[string]func() (history.Store, error){
		"cannot open":   func() (history.Store, error) { return nil, errors.New("history /x/history.db: is a directory") },
		"cannot record": func() (history.Store, error) { return closed, nil },
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			opts := historyOptions(filepath.Join(dir, name), nil, &stderr)
			opts.History = open
			o := Run(ctx, []*build.Suite{loadSuite(t, path)}, opts)
			if o.Err != nil || o.Code() != ExitOK {
				t.Fatalf("the run failed: %v", o.Err)
			}
			if lines := strings.Count(stderr.String(), "rubric: history: "); lines != 1 {
				t.Errorf("%d warnings from the history, want 1:\n%s", lines, stderr.String())
			}
		})
	}
}
