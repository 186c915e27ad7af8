package report

import (
	"fmt"

	"github.com/rubric-eval/rubric/evals"
)

// Results streams a run's results to fn in the order they were recorded,
// stopping at the first error fn returns.
type Results func(fn func(*evals.Result) error) error

// SuiteWriter is an output that takes runs one suite at a time: Begin with
// the suite's summary, every result of the suite, then End. The JUnit, CSV,
// Markdown and HTML outputs are SuiteWriters, so that one reading of a journal
// feeds them all and none holds the results in memory.
type SuiteWriter interface {
	Begin(s *evals.Summary) error
	Write(r *evals.Result) error
	End() error
}

// WriteSuite reads the results of the suite that s summarises once, and
// passes s and each result to every writer. A result for a target that s
// does not list is an error: the summary and the results disagree.
func WriteSuite(s *evals.Summary, results Results, ws ...SuiteWriter) error {
	if len(ws) == 0 {
		return nil
	}
	targets := make(map[string]bool, len(s.Targets))
	for _, t := range s.Targets {
		targets[t.Name] = true
	}
	for _, w := range ws {
		if err := w.Begin(s); err != nil {
			return err
		}
	}
	err := results(func(r *evals.Result) error {
		if !targets[r.Target] {
			return fmt.Errorf("case %s: result for target %q, which the report of run %s does not list", r.CaseID, r.Target, s.RunID)
		}
		for _, w := range ws {
			if err := w.Write(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, w := range ws {
		if err := w.End(); err != nil {
			return err
		}
	}
	return nil
}

// caseName names one result of a case: its id, and its repeat index when
// that is not the first, as the terminal summary shows it.
func caseName(id string, repeat int) string {
	if repeat > 0 {
		return fmt.Sprintf("%s #%d", id, repeat)
	}
	return id
}
