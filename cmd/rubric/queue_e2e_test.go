//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/history/historytest"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// waitFor polls cond every 20ms for up to d, failing the test with what
// when it never holds.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s did not happen within %s", what, d)
}

// kill9 kills cmd with SIGKILL and checks that it died of it.
func kill9(t *testing.T, cmd *exec.Cmd, what string) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%s was not killed mid-run: %v", what, cmd.ProcessState)
	}
}

// TestQueueWorkers runs a suite through a queue in PostgreSQL with three
// worker processes, kills one of them (kill -9) and the coordinator part
// way, starts the coordinator again on the run, and checks that every case
// has exactly one result and that the report is the one a single process
// writes for the same suite.
func TestQueueWorkers(t *testing.T) {
	pg := historytest.PostgresURL(t)
	t.Parallel()
	const cases = 300
	srv := newKillServer(t, 40*time.Millisecond)
	dir := t.TempDir()
	suite := writeOpenAISuite(t, dir, srv.URL, cases, 4, "pass_rate >= 0.5")

	single := rubric(t, dir, []string{"RUBRIC_E2E_KEY=" + e2eKey}, "run", suite, "--no-cache", "--no-history", "--out", "single")
	if single.code != 0 && single.code != 1 {
		t.Fatalf("single process: %s", single)
	}
	singleDir := filepath.Join(dir, "single", runIDs(t, single.stderr)[0])
	time.Sleep(50 * time.Millisecond)
	srv.resumed() // the requests from now on are the queued run's

	coord, _ := startRubric(t, dir, false, "run", suite, "--queue", pg, "--no-cache", "--no-history", "--no-progress", "--out", "runs")
	var runDir string
	waitFor(t, 20*time.Second, "the run folder", func() bool {
		// (Its stderr is not read while it runs: its writer is another
		// goroutine's.)
		dirs, _ := filepath.Glob(filepath.Join(dir, "runs", "*", rundir.ResultsFile))
		if len(dirs) == 1 {
			runDir = filepath.Dir(dirs[0])
		}
		return runDir != ""
	})
	var workers []*exec.Cmd
	var workerErrs []*bytes.Buffer
	for range 3 {
		w, werr := startRubric(t, dir, false, "worker", "--queue", pg, "--no-cache", "--lease", "3s", "--concurrency", "4")
		workers = append(workers, w)
		workerErrs = append(workerErrs, werr)
	}
	queued := func() int {
		n := 0
		for _, q := range srv.requests() {
			if q.phase == 1 {
				n++
			}
		}
		return n
	}
	// The coordinator dies first, with some results journaled ...
	results := filepath.Join(runDir, rundir.ResultsFile)
	waitFor(t, 30*time.Second, "30 results journaled", func() bool { return countLines(results) >= 30 })
	kill9(t, coord, "the coordinator")
	// ... then a worker, with requests in flight.
	waitFor(t, 30*time.Second, "120 requests sent", func() bool { return queued() >= 120 })
	kill9(t, workers[0], "worker 1")
	atKill := queued()

	// The coordinator started again on the run gathers every result.
	id := filepath.Base(runDir)
	coord, coordErr := startRubric(t, dir, false, "run", "--resume", id, "--queue", pg, "--no-history", "--no-progress", "--out", "runs")
	if code := waitExit(t, coord, 3*time.Minute); code != single.code {
		t.Fatalf("the queued run exited %d, the single process %d\nstderr:\n%s", code, single.code, coordErr)
	}
	checkNoRace(t, coordErr.String())
	ids := journalIDs(t, results)
	seen := map[string]int{}
	for _, c := range ids {
		seen[c]++
	}
	for i := 1; i <= cases; i++ {
		if c := caseName(i); seen[c] != 1 {
			t.Errorf("case %s has %d results, want 1", c, seen[c])
		}
	}
	if len(ids) != cases {
		t.Errorf("results.jsonl has %d results, want %d", len(ids), cases)
	}
	// Every case was sent; again only those the killed worker had in flight.
	sent := map[string]int{}
	for _, q := range srv.requests() {
		if q.phase == 1 {
			sent[q.caseID]++
		}
	}
	again := 0
	for i := 1; i <= cases; i++ {
		switch n := sent[caseName(i)]; {
		case n == 0:
			t.Errorf("case %s was never sent by the workers", caseName(i))
		case n > 1:
			again += n - 1
		}
	}
	t.Logf("%d requests when worker 1 was killed; %d cases sent again after", atKill, again)
	if again > 4 {
		t.Errorf("%d cases were sent twice; only the killed worker's jobs in flight (at most 4) should be", again)
	}
	sameReport(t, filepath.Join(singleDir, rundir.ReportFile), filepath.Join(runDir, rundir.ReportFile))

	m, err := rundir.ReadManifest(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Queue != history.RedactURL(pg) {
		t.Errorf("run.json records queue %q, want the queue's URL", m.Queue)
	}
	// The workers stop at SIGTERM, letting their jobs finish.
	for i, w := range workers[1:] {
		_ = w.Process.Signal(syscall.SIGTERM)
		if code := waitExit(t, w, 30*time.Second); code != 0 {
			t.Errorf("worker %d exited %d at SIGTERM:\n%s", i+2, code, workerErrs[i+1])
		}
		checkNoRace(t, workerErrs[i+1].String())
	}
}

func caseName(i int) string { return "c" + strconv.Itoa(i) }

// sameReport compares two report.json files field by field, but for the
// run's id, its times and the latencies, which differ between any two runs.
func sameReport(t *testing.T, want, got string) {
	t.Helper()
	read := func(path string) any {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return dropTimes(v)
	}
	w, g := read(want), read(got)
	if !reflect.DeepEqual(w, g) {
		wb, _ := json.MarshalIndent(w, "", " ")
		gb, _ := json.MarshalIndent(g, "", " ")
		t.Errorf("the queued run's report differs from the single process's:\n--- single\n%s\n--- queued\n%s", wb, gb)
	}
}

// dropTimes removes the fields of a report that differ between two runs
// of the same cases: the run id, the times, the latencies and rates.
func dropTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k := range x {
			if k == "run_id" || k == "started" || k == "finished" || strings.HasSuffix(k, "_ms") || k == "tokens_per_second" || strings.Contains(k, "duration") {
				delete(x, k)
				continue
			}
			x[k] = dropTimes(x[k])
		}
	case []any:
		for i := range x {
			x[i] = dropTimes(x[i])
		}
	}
	return v
}
