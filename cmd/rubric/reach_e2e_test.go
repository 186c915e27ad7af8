package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUnreachableEndpoint runs a suite whose target points at a local port
// nothing listens on: rubric stops after the first refused connections, not
// after retrying every case, exits 3 naming the target and its address, and
// keeps the run resumable; once a server listens there, --resume sends every
// case, once.
func TestUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	const cases = 40
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	// The default retries: 4 attempts a case, with backoff. Sending every case
	// would take about 30s at concurrency 2.
	path := writeOpenAISuite(t, dir, "http://"+addr, cases, 2, "pass_rate >= 0.8")
	env := []string{"RUBRIC_E2E_KEY=" + e2eKey}

	start := time.Now()
	r := rubric(t, dir, env, "run", path, "--out", "runs")
	elapsed := time.Since(start)
	if r.code != exitIncomplete {
		t.Fatalf("want exit 3\n%s", r)
	}
	if elapsed > 10*time.Second {
		t.Errorf("rubric took %v to find the endpoint unreachable", elapsed)
	}
	id := runIDs(t, r.stderr)[0]
	want := fmt.Sprintf("rubric: target local: endpoint http://%s/v1 is not reachable (connection refused): is the server running?\n"+
		"the run stopped with 0 of %d results completed; once the endpoint is up, resume with: rubric run --resume %s --out runs\n", addr, cases, id)
	if !strings.HasSuffix(r.stderr, want) {
		t.Errorf("stderr does not end with\n%s\n%s", want, r)
	}
	wantLines(t, "stdout", r.stdout, "interrupted: the figures cover the results completed before the run stopped")
	results, rep := runFiles(t, dir, "runs", id)
	if len(results) != 0 {
		t.Errorf("results.jsonl has %d lines, want none: no case was answered", len(results))
	}
	if rep.Complete || !rep.Interrupted || rep.Gate.Held {
		t.Errorf("report: complete %v, interrupted %v, gate held %v; want an interrupted run", rep.Complete, rep.Interrupted, rep.Gate.Held)
	}
	checkNoKey(t, r, filepath.Join(dir, "runs", id))

	// The server comes up at the address.
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening at %s again: %v", addr, err)
	}
	srv := &chatServer{answer: func(id string) (int, string) {
		if labels[id] == "" {
			return http.StatusOK, labelJSON("billing") // as writeOpenAISuite expects
		}
		return rightAnswers(id)
	}}
	srv.Server = httptest.NewUnstartedServer(http.HandlerFunc(srv.serve))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	r = rubric(t, dir, env, "run", "--resume", id, "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("resume: want exit 0\n%s", r)
	}
	results, rep = runFiles(t, dir, "runs", id)
	if len(results) != cases || countStatus(results, "passed") != cases || !rep.Complete || rep.Interrupted {
		t.Errorf("after resuming: %d results, %d passed, complete %v, interrupted %v; want %d passed, complete",
			len(results), countStatus(results, "passed"), rep.Complete, rep.Interrupted, cases)
	}
	sent := map[string]int{}
	for _, q := range srv.requests() {
		msgs, _ := q.body["messages"].([]any)
		user, _ := msgs[len(msgs)-1].(map[string]any)
		if m := userCase.FindStringSubmatch(fmt.Sprint(user["content"])); m != nil {
			sent[m[1]]++
		}
	}
	if len(sent) != cases {
		t.Errorf("the server got requests for %d cases, want %d", len(sent), cases)
	}
	for id, n := range sent {
		if n != 1 {
			t.Errorf("case %s sent %d times, want once", id, n)
		}
	}
}
