package runner

import "github.com/rubric-eval/rubric/evals"

// NoteInterrupted is the gate's note on a run that did not complete.
const NoteInterrupted = "the run did not complete: a gate is not held on partial results"

// Judge sets the gate's verdict on a finished run's summary, once, with all
// its data: every gate on every target, the comparisons with a baseline
// included (they must be in sum already), and the judges' agreements the
// judge.NAME gates read (sum.JudgeAgreement, looked up before). A run that did not complete holds
// no gate. A run's error budget, where it has one, is applied after
// (ApplyErrorBudget).
func Judge(sum *evals.Summary, gates []evals.Gate) {
	sum.Gate = checkGates(gates, sum.Targets, sum.JudgeAgreement)
	if sum.Interrupted {
		sum.Gate.Held = false
		sum.Gate.Note = NoteInterrupted
	}
}
