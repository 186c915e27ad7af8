package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/runner/rundir"
)

// TestRunFolderLock starts a run, then resumes it while the first process
// still runs: the resume is refused, naming the process, and the first run
// ends with one result per case. Then it kills a run with SIGKILL and
// resumes it: the dead process's lock is gone with it.
func TestRunFolderLock(t *testing.T) {
	t.Parallel()
	const cases = 120
	host, _ := os.Hostname()
	srv := newKillServer(t, 30*time.Millisecond)
	dir := t.TempDir()
	suite := writeOpenAISuite(t, dir, srv.URL, cases, 2, "pass_rate >= 1")
	env := []string{"RUBRIC_E2E_KEY=" + e2eKey}

	cmd, stdout, stderr, waitLines := startRun(t, dir, "run", suite, "--no-cache", "--no-progress", "--out", "runs")
	runDir := waitLines(5)
	id := filepath.Base(runDir)
	holder := fmt.Sprintf("is in use by rubric (pid %d on %s, started ", cmd.Process.Pid, host)
	for _, ref := range []string{"latest", id} {
		r := rubric(t, dir, env, "run", "--resume", ref, "--out", "runs", "--no-cache", "--no-progress")
		want := fmt.Sprintf("rubric: resume: run folder runs/%s %s", id, holder)
		if r.code != exitBadInput || !strings.HasPrefix(r.stderr, want) || r.stdout != "" {
			t.Errorf("--resume %s while the run goes on: want exit 2 and stderr starting with\n%s\ngot %s", ref, want, r)
		}
	}
	if code := waitExit(t, cmd, 30*time.Second); code != exitOK {
		t.Fatalf("the first run: want exit 0\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	checkNoRace(t, stderr.String())
	ids := journalIDs(t, filepath.Join(runDir, "results.jsonl"))
	seen := map[string]int{}
	for _, c := range ids {
		seen[c]++
	}
	for i := 1; i <= cases; i++ {
		if c := fmt.Sprintf("c%d", i); seen[c] != 1 {
			t.Errorf("results.jsonl has %d results for %s, want 1", seen[c], c)
		}
	}
	if len(ids) != cases {
		t.Errorf("results.jsonl has %d results, want %d", len(ids), cases)
	}
	if n := len(srv.requests()); n != cases {
		t.Errorf("the server got %d requests for %d cases", n, cases)
	}
	_, rep := runFiles(t, dir, "runs", id)
	if !rep.Complete || rep.Targets[0].Cases != cases {
		t.Errorf("report: complete %v, %d cases; want true, %d", rep.Complete, rep.Targets[0].Cases, cases)
	}

	// kill -9 leaves no stale lock.
	dir2 := t.TempDir()
	suite2 := writeOpenAISuite(t, dir2, srv.URL, cases, 2, "pass_rate >= 1")
	cmd, _, stderr, waitLines = startRun(t, dir2, "run", suite2, "--no-cache", "--no-progress", "--out", "runs")
	runDir = waitLines(5)
	id = filepath.Base(runDir)
	if h, err := rundir.ReadHolder(filepath.Join(runDir, rundir.LockFile)); err != nil || h.PID != cmd.Process.Pid {
		t.Errorf("run.lock names %+v (%v), want pid %d", h, err, cmd.Process.Pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	checkNoRace(t, stderr.String())
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("rubric was not killed mid-run: %v", cmd.ProcessState)
	}
	if _, err := os.Stat(filepath.Join(runDir, rundir.LockFile)); err != nil {
		t.Errorf("run.lock after the kill: %v", err)
	}
	r := rubric(t, dir2, env, "run", "--resume", id, "--out", "runs", "--no-cache", "--no-progress")
	if r.code != exitOK {
		t.Fatalf("resume after kill -9: want exit 0\n%s", r)
	}
	if ids := journalIDs(t, filepath.Join(runDir, "results.jsonl")); len(ids) != cases {
		t.Errorf("results.jsonl has %d results after the resume, want %d", len(ids), cases)
	}
}
