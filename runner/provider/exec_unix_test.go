//go:build unix

package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// TestExecTimeout checks that a command that hangs is killed with every
// process it started, and the request fails as a timeout, which retries.
func TestExecTimeout(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("PIDFILE", pidfile)
	spec := modelSpec(t, "hang")
	spec.Timeout = evals.Duration(300 * time.Millisecond)
	p := newExec(t, spec)
	start := time.Now()
	_, err := p.Complete(t.Context(), execRequest("c"))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to give up", d)
	}
	pe := providerError(t, err)
	want := strconv.Quote(filepath.Base(os.Args[0])) + ` timed out after 300ms and was killed; stderr: "thinking forever"`
	if pe.Kind != evals.ErrKindTimeout || pe.Message != want || !pe.Retryable() {
		t.Errorf("got %s: %s (retryable %v)\nwant timeout: %s", pe.Kind, pe.Message, pe.Retryable(), want)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	waitGone(t, pid, "the command's child")
}

// TestExecCloseStopsLines checks that closing the provider stops the
// processes of protocol "lines", as the suite's owner does when the suite
// ends, and that a process busy then stops as it finishes.
func TestExecCloseStopsLines(t *testing.T) {
	spec := modelSpec(t, "lines")
	spec.Protocol = ptr("lines")
	spec.Concurrency = 3
	p := newExec(t, spec)
	var pids []int
	for range 3 {
		resp, err := p.Complete(t.Context(), execRequest("pid"))
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(resp.Text)
		pids = append(pids, pid)
	}
	if got := p.pool.IdlePIDs(); len(got) != 1 || got[0] != pids[0] {
		t.Fatalf("idle processes %v after three requests one after another, want the one that answered them, %d", got, pids[0])
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pids[0], "a model process")
	// After Close, a request still gets an answer, from a process that
	// stops as it finishes.
	resp, err := p.Complete(t.Context(), execRequest("pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(resp.Text)
	waitGone(t, pid, "a process started after Close")
}

// waitGone fails the test unless process pid is gone within 5 seconds.
func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("%s, %d, outlived it", what, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether process pid runs: it exists and, where /proc says,
// is not a zombie waiting for a parent to reap it.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
