package session

import (
	"fmt"
	"io"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// ReadOutcomes reads the run's results, by target.
func ReadOutcomes(resultsPath string) (map[string]runner.Outcomes, error) {
	out := map[string]runner.Outcomes{}
	_, err := rundir.ReadJournal(resultsPath, func(r *evals.Result) error {
		o := out[r.Target]
		if o == nil {
			o = runner.Outcomes{}
			out[r.Target] = o
		}
		o.Add(r)
		return nil
	})
	if err != nil {
		return nil, WithCode(ExitBadInput, fmt.Errorf("reading %s: %w", resultsPath, err))
	}
	return out, nil
}

// CompareWithBaseline sets each target's Comparison in sum, whose results
// are curOut, against the baseline run: the baseline target of the same
// name, or the baseline's only target.
func CompareWithBaseline(sum *evals.Summary, curOut map[string]runner.Outcomes, base *rundir.Finished, stderr io.Writer) error {
	if sum.Suite != base.Summary.Suite {
		// Renaming a suite is legitimate; comparing two different suites by
		// case id rarely is.
		fmt.Fprintf(stderr, "rubric: warning: comparing suite %q with a run of suite %q (%s); cases are matched by id\n", sum.Suite, base.Summary.Suite, base.Report)
	}
	baseOut, err := ReadOutcomes(base.Results)
	if err != nil {
		return err
	}
	st := sum.Statistics
	if st == (evals.Statistics{}) {
		st = evals.DefaultStatistics()
	}
	matched := 0
	for i := range sum.Targets {
		t := &sum.Targets[i]
		against, ok := baselineTarget(t.Name, base.Summary)
		if !ok {
			continue
		}
		c := runner.Compare(curOut[t.Name], baseOut[against], t.Name, against, st)
		c.AgainstRun = base.Summary.RunID
		t.Comparison = &c
		matched++
	}
	if matched == 0 {
		var names []string
		for _, t := range base.Summary.Targets {
			names = append(names, t.Name)
		}
		return WithCode(ExitBadInput, fmt.Errorf("baseline %s: no target to compare with: it has %s, and none has the name of a target here", base.Report, strings.Join(names, ", ")))
	}
	sum.Baseline = &evals.BaselineRef{RunID: base.Summary.RunID, Report: base.Report}
	return nil
}

// baselineTarget picks the baseline target a target is compared with.
func baselineTarget(name string, base *evals.Summary) (string, bool) {
	for _, t := range base.Targets {
		if t.Name == name {
			return name, true
		}
	}
	if len(base.Targets) == 1 {
		return base.Targets[0].Name, true
	}
	return "", false
}

// CompareTargets compares, in a run of several targets, each target after
// the first with the first; out are the run's results.
func CompareTargets(sum *evals.Summary, out map[string]runner.Outcomes) {
	if len(sum.Targets) < 2 {
		return
	}
	ref := sum.Targets[0].Name
	for _, t := range sum.Targets[1:] {
		sum.Comparisons = append(sum.Comparisons, runner.Compare(out[t.Name], out[ref], t.Name, ref, sum.Statistics))
	}
}
