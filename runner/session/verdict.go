package session

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/report"
)

// VerdictError is the error the report of a run implies, read from the
// report alone, so that rubric report exits as the run did: exit 3 when the
// run did not complete or broke its error budget, exit 1 when a gate
// failed, nil when the gate held. results is the run's journal, which the
// messages point at.
func VerdictError(sum *evals.Summary, results string) error {
	if !sum.Complete {
		return WithCode(ExitIncomplete, fmt.Errorf("run %s did not complete: its report covers the results completed before it stopped", sum.RunID))
	}
	if err := budgetError(sum, results); err != nil {
		return WithCode(ExitIncomplete, err)
	}
	return GateError(sum.Suite, sum)
}

// GateError is the exit-1 error naming every gate that failed (or the note
// that says why the gate is not held), or nil when the gate held.
func GateError(suite string, sum *evals.Summary) error {
	if sum.Gate.Held {
		return nil
	}
	var msgs []string
	for _, g := range sum.Gate.Results {
		if !g.Held {
			msgs = append(msgs, g.Message)
		}
	}
	if len(msgs) == 0 {
		msgs = append(msgs, sum.Gate.Note)
	}
	return WithCode(ExitGateFailed, fmt.Errorf("suite %s: gate failed:\n  %s", suite, strings.Join(msgs, "\n  ")))
}

// budgetError describes the targets that broke the run's error budget
// (sum.ErrorBudget), with their errors by kind; nil when it held or the
// report has no verdict on it.
func budgetError(sum *evals.Summary, results string) error {
	eb := sum.ErrorBudget
	if eb == nil || eb.Held {
		return nil
	}
	msgs := make([]string, 0, len(eb.Over))
	for _, br := range eb.Over {
		kinds := ""
		for _, t := range sum.Targets {
			if t.Name == br.Target && len(t.Errors) > 0 {
				kinds = " (" + report.ErrorCounts(t.Errors) + ")"
			}
		}
		msgs = append(msgs, fmt.Sprintf("target %s: %s%s; see the errors in %s", br.Target, br.Reason, kinds, results))
	}
	return errors.New(strings.Join(msgs, "\n"))
}
