package criteria

import "github.com/rubric-eval/rubric/evals"

// CloseExec stops the processes of an exec criterion with protocol "lines",
// so that tests can check that none is left behind.
func CloseExec(sc evals.Scorer) { _ = Close(sc) }

// LinePIDs returns the pids of the idle processes of every exec criterion
// with protocol "lines" in sc, nested ones included.
func LinePIDs(sc evals.Scorer) []int {
	var pids []int
	switch s := sc.(type) {
	case *Exec:
		if s.pool != nil {
			pids = s.pool.IdlePIDs()
		}
	case *Group:
		for _, c := range s.children {
			pids = append(pids, LinePIDs(c.scorer)...)
		}
	case *Not:
		pids = LinePIDs(s.inner.scorer)
	case *JSONField:
		pids = LinePIDs(s.inner.scorer)
	case *ToolCalled:
		if s.inner != nil {
			pids = LinePIDs(s.inner.scorer)
		}
	}
	return pids
}
