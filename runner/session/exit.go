package session

import (
	"context"
	"errors"

	"github.com/rubric-eval/rubric/evals"
)

// Exit codes, as the README documents them.
const (
	ExitOK         = 0
	ExitGateFailed = 1
	ExitBadInput   = 2
	ExitIncomplete = 3
	// ExitSubmitted: the run's batches are submitted and their results
	// pending (--detach); rubric run --resume RUN collects them.
	ExitSubmitted   = 4
	ExitInterrupted = 130
)

// ExitError is an error that says which exit code it ends the process with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// WithCode returns err marked with the exit code it ends the process with.
func WithCode(code int, err error) error { return &ExitError{Code: code, Err: err} }

// Code is the exit code err ends the process with: its own, when it is an
// *ExitError; 2 for problems in the input (evals.Problems); 130 for an
// interrupt; 0 for nil; def for anything else.
func Code(err error, def int) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var probs evals.Problems
	if errors.As(err, &probs) {
		return ExitBadInput
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	return def
}
