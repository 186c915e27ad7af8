package criteria

import "github.com/rubric-eval/rubric/runner"

// CloseExec stops the processes of an exec criterion with protocol "lines",
// so that tests can check that none is left behind.
func CloseExec(sc runner.Scorer) {
	if e, ok := sc.(*Exec); ok && e.pool != nil {
		e.pool.close()
	}
}
