package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"
)

// Kind says how running a command failed.
type Kind int

// The ways a command fails. Its callers word each in their own terms.
const (
	// Canceled: the caller's context ended; Err is its error.
	Canceled Kind = iota + 1
	// TimedOut: the command ran past Cmd.Timeout and was killed, with its
	// process group.
	TimedOut
	// Overflow: it printed more than Cmd.MaxStdout bytes on stdout (with a
	// Pool, on one line).
	Overflow
	// Exited: it exited with a non-zero status, or was killed by a signal,
	// without answering; Err is the *exec.ExitError.
	Exited
	// StartFailed: it could not be started; Err says why.
	StartFailed
	// LeftOpen (Run): it ended, but a process it started kept its stdout
	// or stderr open past a second.
	LeftOpen
	// NoAnswer (Pool): it exited with status 0 without answering the line.
	NoAnswer
	// ReadFailed (Pool): its stdout could not be read; Err says why.
	ReadFailed
	// SlowRead (Pool): it answered before reading the whole line, then did
	// not read the rest within the timeout, and was killed.
	SlowRead
)

// Error is a command that failed: how, the underlying error where there is
// one, and what the process wrote on stderr.
type Error struct {
	Kind   Kind
	Err    error
	Stderr *Stderr
}

func (e *Error) Error() string {
	switch e.Kind {
	case Canceled:
		return "stopped: " + e.Err.Error()
	case TimedOut:
		return "timed out and was killed"
	case Overflow:
		return "printed too much on stdout"
	case Exited:
		var ee *exec.ExitError
		if errors.As(e.Err, &ee) {
			return ExitText(ee)
		}
		return "exited"
	case StartFailed:
		return "cannot run: " + e.Err.Error()
	case LeftOpen:
		return "ended but a process it started kept its output open"
	case NoAnswer:
		return "exited with status 0 without answering"
	case ReadFailed:
		return "reading its answer: " + e.Err.Error()
	case SlowRead:
		return "answered before reading its whole line, and was killed"
	}
	return fmt.Sprintf("failed (%d)", int(e.Kind))
}

func (e *Error) Unwrap() error { return e.Err }

// ExitText words how a process ended: "exited with status 3", or "was
// killed: signal: killed".
func ExitText(ee *exec.ExitError) string {
	if code := ee.ExitCode(); code >= 0 {
		return fmt.Sprintf("exited with status %d", code)
	}
	return "was killed: " + ee.String()
}

// Run runs the command once with env, stdin as its input, and returns what
// it printed on stdout and what it wrote on stderr. It fails with an *Error
// when the command does not exit 0 within c.Timeout (it and every process
// it started are then killed), prints more than c.MaxStdout bytes, or ctx
// ends first.
func (c *Cmd) Run(ctx context.Context, env []string, stdin []byte) ([]byte, *Stderr, error) {
	runCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	stdout := &capped{max: c.MaxStdout}
	stderr := &Stderr{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	killGroup(cmd)
	// A process the command left behind may hold its output open: stop
	// waiting for it soon after the command ends.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	fail := func(kind Kind, err error) ([]byte, *Stderr, error) {
		return nil, stderr, &Error{Kind: kind, Err: err, Stderr: stderr}
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return fail(Canceled, ctx.Err())
	case err != nil && runCtx.Err() != nil:
		return fail(TimedOut, runCtx.Err())
	case stdout.over:
		return fail(Overflow, nil)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fail(Exited, ee)
		}
		if errors.Is(err, exec.ErrWaitDelay) {
			return fail(LeftOpen, err)
		}
		return fail(StartFailed, err)
	}
	return stdout.buf.Bytes(), stderr, nil
}

// capped is an io.Writer that keeps the first max bytes written to it; a
// write past max fails, which stops the command's output.
type capped struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if len(p) > room {
		c.buf.Write(p[:max(room, 0)])
		c.over = true
		return 0, io.ErrShortWrite
	}
	return c.buf.Write(p)
}
