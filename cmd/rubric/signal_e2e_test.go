//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// startRubric starts the binary in dir. With ignoreINT it starts with SIGINT
// ignored, as the background job of a script (or of nohup) does: a process
// that only restores SIGINT's default behaviour goes back to ignoring it.
func startRubric(t *testing.T, dir string, ignoreINT bool, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(rubricBin(t), args...)
	if ignoreINT {
		cmd = exec.Command("sh", append([]string{"-c", `trap '' INT; exec "$0" "$@"`, rubricBin(t)}, args...)...)
	}
	cmd.Dir = dir
	cmd.Env = environ("RUBRIC_E2E_KEY=" + e2eKey)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, &errb
}

// fifoDataset makes the dataset of a suite in dir a named pipe that the test
// writes cases to, so that loading the suite takes as long as the test
// wants. The writer writes cases until stop is called, or only the first
// `only` of them and then holds the pipe open without writing, which leaves
// the reader blocked. written counts the cases written.
func fifoDataset(t *testing.T, dir string, only int64) (suite string, written *atomic.Int64, stop func()) {
	t.Helper()
	suite = writeOpenAISuite(t, dir, "http://127.0.0.1:9", 0, 1, "pass_rate >= 1")
	path := filepath.Join(dir, "cases.jsonl")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	written = new(atomic.Int64)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(path, os.O_WRONLY, 0) // waits for the reader
		if err != nil {
			return
		}
		defer f.Close()
		deadline := time.Now().Add(time.Minute)
		for i := int64(1); time.Now().Before(deadline); i++ {
			select {
			case <-quit:
				return
			default:
			}
			if only > 0 && i > only {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if _, err := fmt.Fprintf(f, `{"id": "c%d", "vars": {"ticket": "Problem number %d."}, "expected": "billing"}`+"\n", i, i); err != nil {
				return // the reader went away
			}
			written.Add(1)
		}
	}()
	var once atomic.Bool
	stop = func() {
		if once.CompareAndSwap(false, true) {
			close(quit)
			// A writer still waiting for a reader is let go by opening
			// the pipe for reading ourselves.
			if r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
				defer r.Close()
			}
			<-done
		}
	}
	t.Cleanup(stop)
	return suite, written, stop
}

// waitWritten waits until the loader has read n cases from the pipe.
func waitWritten(t *testing.T, written *atomic.Int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for written.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the loader read %d cases in 20s, want %d", written.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exitWithin waits up to d for cmd to exit and returns its exit code, or
// fails the test.
func exitWithin(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		checkNoRace(t, stderr.String())
		return cmd.ProcessState.ExitCode()
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("rubric did not exit within %v of the signal\nstderr:\n%s", d, stderr)
		return 0
	}
}

// TestSignalWhileLoading signals rubric run while it reads a dataset that
// keeps coming: loading stops at once, nothing is written, and the exit
// code is 130, for SIGINT and SIGTERM, and for SIGINT when rubric started
// with it ignored.
func TestSignalWhileLoading(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		sig       syscall.Signal
		ignoreINT bool
	}{
		{"sigint", syscall.SIGINT, false},
		{"sigterm", syscall.SIGTERM, false},
		{"sigint_started_ignored", syscall.SIGINT, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			suite, written, _ := fifoDataset(t, dir, 0)
			cmd, stderr := startRubric(t, dir, tc.ignoreINT, "run", suite, "--out", "runs", "--no-progress")
			waitWritten(t, written, 2000)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			code := exitWithin(t, cmd, stderr, 5*time.Second)
			want := "rubric: interrupted while loading " + suite + ": nothing was sent\n"
			if code != exitInterrupted || stderr.String() != want {
				t.Errorf("want exit 130 and stderr\n%sgot exit %d, stderr\n%s", want, code, stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "runs")); !os.IsNotExist(err) {
				t.Errorf("a run folder was made for a run that never started: %v", err)
			}
		})
	}
}

// TestSecondSignalWhileBlocked signals rubric twice while its load is
// blocked reading a dataset that stopped coming: the first cannot stop the
// read, the second ends the process at once with 130, even when it started
// with SIGINT ignored.
func TestSecondSignalWhileBlocked(t *testing.T) {
	t.Parallel()
	for _, ignoreINT := range []bool{false, true} {
		t.Run(fmt.Sprintf("started_ignoring_sigint_%v", ignoreINT), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			suite, written, _ := fifoDataset(t, dir, 100)
			cmd, stderr := startRubric(t, dir, ignoreINT, "validate", suite)
			waitWritten(t, written, 100)
			time.Sleep(100 * time.Millisecond) // the loader waits for more
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			code := exitWithin(t, cmd, stderr, 5*time.Second)
			if code != exitInterrupted || !strings.Contains(stderr.String(), "rubric: interrupted again: exiting at once") {
				t.Errorf("want exit 130 and a line saying so, got exit %d\nstderr:\n%s", code, stderr)
			}
		})
	}
}
