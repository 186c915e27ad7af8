package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/history/historytest"
	"github.com/rubric-eval/rubric/runner/queue"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// endpoint is an OpenAI-compatible endpoint that answers at once and
// records when each request came.
type endpoint struct {
	*httptest.Server
	mu    sync.Mutex
	times []time.Time
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		e.mu.Lock()
		e.times = append(e.times, time.Now())
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) sent() []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.times)
}

// writeSuite writes a suite of n cases against url whose target has
// rate_limit rateLimit (JSON), and returns the run's source.
func writeSuite(t *testing.T, url string, n int, rateLimit string) queue.Source {
	t.Helper()
	dir := t.TempDir()
	var cases strings.Builder
	for i := range n {
		fmt.Fprintf(&cases, `{"id": "c%d", "vars": {"q": "question %d"}, "expected": "ok"}`+"\n", i, i)
	}
	suite := fmt.Sprintf(`{"name": "rates", "messages": [{"role": "user", "content": "{{ q }}"}],
		"dataset": {"path": "cases.jsonl"}, "criteria": [{"name": "ok", "type": "equals"}],
		"targets": [{"name": "local", "provider": "openai", "base_url": %q, "model": "m", "api_key_env": "QUEUE_TEST_KEY",
			"concurrency": 8, "rate_limit": %s, "retry": {"attempts": 1}}]}`, url+"/v1", rateLimit)
	for name, text := range map[string]string{"suite.json": suite, "cases.jsonl": cases.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := queue.Source{Suite: filepath.Join(dir, "suite.json"), Dataset: filepath.Join(dir, "cases.jsonl")}
	var err error
	ctx := context.Background()
	if src.SuiteSHA256, err = rundir.FileSHA256(ctx, src.Suite); err != nil {
		t.Fatal(err)
	}
	if src.DatasetSHA256, err = rundir.FileSHA256(ctx, src.Dataset); err != nil {
		t.Fatal(err)
	}
	return src
}

// startWorkers starts n workers on the queue at url, each with its own
// connections as a process of its own would have, until the test ends.
func startWorkers(t *testing.T, url string, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for range n {
		q, err := queue.Open(ctx, url, 16, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer q.Close()
			err := queue.Work(ctx, q, queue.WorkerOptions{Concurrency: 8, Lease: time.Minute, Grace: time.Second, Fetch: 50 * time.Millisecond,
				Build: build.Options{Environ: func() []string { return []string{"QUEUE_TEST_KEY=k"} }}})
			if err != nil {
				t.Error(err)
			}
		}()
	}
}

// enqueue starts run id of src with a job per case.
func enqueue(t *testing.T, q *queue.Queue, id string, src queue.Source, n int) {
	t.Helper()
	ctx := context.Background()
	if err := q.Start(ctx, id, src); err != nil {
		t.Fatal(err)
	}
	e := q.Enqueuer()
	for i := range n {
		if err := e.Add(ctx, queue.Job{Run: id, Target: "local", Case: fmt.Sprintf("c%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// results waits until run id has n results in the queue, and returns them
// by case.
func results(t *testing.T, q *queue.Queue, id string, n int) map[string]*evals.Result {
	t.Helper()
	got := map[string]*evals.Result{}
	for deadline := time.Now().Add(time.Minute); len(got) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d results after a minute", len(got), n)
		}
		ns, err := q.Results(context.Background(), id, 1000, func(line []byte) error {
			var r evals.Result
			if err := jsonUnmarshal(line, &r); err != nil {
				return err
			}
			if got[r.CaseID] != nil {
				t.Errorf("case %s has two results", r.CaseID)
			}
			got[r.CaseID] = &r
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Journaled(context.Background(), id, ns); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// TestSharedRateLimit runs a run of 30 cases on three workers against a
// target limited to 600 requests a minute: together they send no more than
// that, one every 100ms, as one process would, where each worker with a
// bucket of its own would send three times as many.
func TestSharedRateLimit(t *testing.T) {
	url := historytest.PostgresURL(t)
	const n, rpm = 30, 600
	ep := newEndpoint(t)
	src := writeSuite(t, ep.URL, n, fmt.Sprintf(`{"requests_per_minute": %d}`, rpm))
	q, err := queue.Open(context.Background(), url, 4, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	startWorkers(t, url, 3)
	enqueue(t, q, "rated", src, n)
	got := results(t, q, "rated", n)
	for id, r := range got {
		if r.Status != evals.StatusPassed {
			t.Errorf("case %s: %s %v", id, r.Status, r.Error)
		}
	}
	times := ep.sent()
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	if len(times) != n {
		t.Fatalf("%d requests, want %d", len(times), n)
	}
	// No window of a second holds more than rpm/60 requests: any rpm/60+1
	// of them in a row span a second at least (less a little for the
	// round trips of the workers' turns).
	per := rpm / 60
	for i := 0; i+per < len(times); i++ {
		if span := times[i+per].Sub(times[i]); span < 950*time.Millisecond {
			t.Fatalf("requests %d to %d went out within %s: more than %d a second across the workers", i, i+per, span, per)
		}
	}
	t.Logf("%d requests in %s", n, times[n-1].Sub(times[0]))
}

// TestOneResultPerCase enqueues a run twice and lets a job's result be
// stored before it runs: each case has one result, and a case already
// stored is not sent again.
func TestOneResultPerCase(t *testing.T) {
	url := historytest.PostgresURL(t)
	const n = 20
	ep := newEndpoint(t)
	src := writeSuite(t, ep.URL, n, `{}`)
	ctx := context.Background()
	q, err := queue.Open(ctx, url, 4, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	// A result an earlier attempt stored, for case c0.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO rubric_queue_results (run, target, case_id, repeat, result) VALUES
		('once', 'local', 'c0', 0, '{"run_id":"once","case_id":"c0","target":"local","repeat":0,"status":"passed"}')`); err != nil {
		t.Fatal(err)
	}
	enqueue(t, q, "once", src, n)
	enqueue(t, q, "once", src, n) // a coordinator re-attaching
	startWorkers(t, url, 2)
	got := results(t, q, "once", n)
	if len(got) != n {
		t.Errorf("%d results, want %d", len(got), n)
	}
	time.Sleep(300 * time.Millisecond) // any job left would run now
	if sent := len(ep.sent()); sent != n-1 {
		t.Errorf("%d requests, want %d: every case once, but c0, already stored", sent, n-1)
	}
	var rows int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM rubric_queue_results WHERE run = 'once'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != n {
		t.Errorf("%d rows in rubric_queue_results, want %d", rows, n)
	}
	// Every job completes (River's batched completions), and once the
	// coordinator has the results, Finish leaves nothing of the run.
	waitJobs := time.Now().Add(10 * time.Second)
	for {
		var left int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE args @> '{"run":"once"}' AND state <> 'completed'`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(waitJobs) {
			t.Fatalf("%d jobs of run once not completed", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := q.Finish(ctx, "once"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"river_job WHERE args @> '{\"run\":\"once\"}'", "rubric_queue_results WHERE run = 'once'", "rubric_queue_runs WHERE run = 'once'"} {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 0 {
			t.Errorf("after Finish, %d rows in %s", rows, table)
		}
	}
}

// TestOpenRedactsPassword opens queues that cannot be reached or parsed:
// the error names the URL without its password.
func TestOpenRedactsPassword(t *testing.T) {
	for _, raw := range []string{
		"postgres://user:s3cr3t-pw@127.0.0.1:1/db?connect_timeout=1",
		"postgres://user:s3cr3t-pw@[bad/db",
		"postgres://user@127.0.0.1:1/db?password=s3cr3t-pw&connect_timeout=1",
	} {
		_, err := queue.Open(context.Background(), raw, 2, io.Discard)
		if err == nil {
			t.Fatalf("%s: opened", raw)
		}
		if msg := err.Error(); strings.Contains(msg, "s3cr3t-pw") || !strings.Contains(msg, evals.Redacted) {
			t.Errorf("%s: the error shows the password, or no [REDACTED] URL: %s", raw, msg)
		}
	}
}

// TestWorkerRefusesOtherFiles: a worker whose suite file differs from the
// run's refuses its jobs, saying so, and sends nothing.
func TestWorkerRefusesOtherFiles(t *testing.T) {
	url := historytest.PostgresURL(t)
	ep := newEndpoint(t)
	src := writeSuite(t, ep.URL, 3, `{}`)
	src.SuiteSHA256 = strings.Repeat("0", 64)
	ctx := context.Background()
	q, err := queue.Open(ctx, url, 4, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	enqueue(t, q, "other", src, 3)
	var stderr syncBuffer
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- queue.Work(wctx, q, queue.WorkerOptions{Concurrency: 2, Lease: time.Minute, Grace: time.Second, Fetch: 50 * time.Millisecond, Stderr: &stderr})
	}()
	want := "here has SHA-256 "
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stderr.String(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := stderr.String(); !strings.Contains(s, want) || !strings.Contains(s, "give this worker the run's files") {
		t.Errorf("the worker does not say its suite is not the run's:\n%s", s)
	}
	if n := len(ep.sent()); n != 0 {
		t.Errorf("%d requests sent with the wrong suite", n)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
