package criteria

import "github.com/rubric-eval/rubric/evals"

// CloseExec stops the processes of an exec criterion with protocol "lines",
// so that tests can check that none is left behind.
func CloseExec(sc evals.Scorer) {
	if e, ok := sc.(*Exec); ok && e.pool != nil {
		e.pool.close()
	}
}
