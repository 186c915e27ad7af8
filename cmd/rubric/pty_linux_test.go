package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal and returns its two ends.
func openPTY() (ptm, pts *os.File, err error) {
	ptm, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		ptm.Close()
		return nil, nil, e
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		ptm.Close()
		return nil, nil, e
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		ptm.Close()
		return nil, nil, err
	}
	return ptm, pts, nil
}

// runOnTerminal runs rubric with its stdout, or its stderr, on a terminal and
// returns what it wrote there.
func runOnTerminal(t *testing.T, stderr bool, env []string, args ...string) (code int, tty string) {
	t.Helper()
	ptm, pts, err := openPTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptm.Close()
	cmd := exec.Command(rubricBin(t), args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = environ(env...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = pts, &errb
	if stderr {
		cmd.Stdout, cmd.Stderr = io.Discard, pts
	}
	if err := cmd.Start(); err != nil {
		pts.Close()
		t.Fatal(err)
	}
	pts.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, ptm) // ends with EIO once rubric has exited
		close(copied)
	}()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("rubric did not exit")
	}
	<-copied
	checkNoRace(t, errb.String())
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestColorOnTerminal checks that the summary is coloured on a terminal, and
// plain with NO_COLOR set or TERM=dumb.
func TestColorOnTerminal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		env   []string
		color bool
	}{
		{"term", []string{"TERM=xterm-256color"}, true},
		{"no_color", []string{"TERM=xterm-256color", "NO_COLOR=1"}, false},
		{"dumb", []string{"TERM=dumb"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out := runOnTerminal(t, false, tc.env, "run", "examples/triage/suite.json", "--target", "triage-v1", "--out", t.TempDir())
			if code != exitGateFailed {
				t.Fatalf("exit %d, want 1\n%s", code, out)
			}
			if got := strings.Contains(out, "\x1b["); got != tc.color {
				t.Errorf("escape sequences on the terminal: %v, want %v\n%q", got, tc.color, out)
			}
			if tc.color && !strings.Contains(out, "\x1b[31mgate failed\x1b[0m") {
				t.Errorf("the gate verdict is not red:\n%q", out)
			}
		})
	}
}

// TestProgressOnTerminal checks the progress line on a terminal, and that
// --no-progress turns it off.
func TestProgressOnTerminal(t *testing.T) {
	t.Parallel()
	code, tty := runOnTerminal(t, true, []string{"TERM=xterm-256color"}, "run", "examples/triage/suite.json", "--out", t.TempDir())
	if code != exitOK {
		t.Fatalf("exit %d\n%q", code, tty)
	}
	if !strings.Contains(tty, "\r\x1b[K  40/40 (100%)  38 passed  0 errors") {
		t.Errorf("no final progress line on the terminal:\n%q", tty)
	}
	if !strings.Contains(tty, "\r\x1b[Krubric: results ") {
		t.Errorf("the progress line is not cleared before the next message:\n%q", tty)
	}

	code, tty = runOnTerminal(t, true, []string{"TERM=xterm-256color"}, "run", "examples/triage/suite.json", "--no-progress", "--out", t.TempDir())
	if code != exitOK {
		t.Fatalf("exit %d\n%q", code, tty)
	}
	if strings.Contains(tty, "\x1b") || strings.Contains(tty, "40/40") {
		t.Errorf("progress shown with --no-progress:\n%q", tty)
	}
}
