package main

import (
	"errors"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/provider"
)

// loaded is a suite checked end to end, with its criteria and targets built.
type loaded struct {
	suite    *evals.Suite
	criteria []runner.Criterion
	targets  []runner.Target
	cases    int
}

// loadSuite validates the suite, builds its criteria and targets through the
// registries, and reads the dataset once to check every case. All problems,
// from every stage, come back together.
func loadSuite(path string, opts evals.LoadOptions) (*loaded, error) {
	l := &loaded{}
	opts.Criterion = l.buildCriterion
	opts.Target = func(spec evals.TargetSpec) error {
		p, err := provider.New(spec)
		if err == nil {
			l.targets = append(l.targets, runner.Target{Spec: spec, Provider: p})
		}
		return err
	}
	var dataErr error
	opts.Dataset = func(s *evals.Suite) []evals.Problem {
		n, err := datasets.Check(s)
		l.cases = n
		var ps evals.Problems
		if errors.As(err, &ps) {
			return ps
		}
		dataErr = err // not the data's fault: reading failed
		return nil
	}
	s, err := evals.Load(path, opts)
	if err != nil {
		return nil, err
	}
	if dataErr != nil {
		return nil, dataErr
	}
	l.suite = s
	return l, nil
}

// buildCriterion builds a criterion through the registry and keeps it.
func (l *loaded) buildCriterion(spec evals.CriterionSpec, dir string) error {
	sc, err := criteria.New(spec, criteria.Env{Dir: dir})
	if err == nil {
		l.criteria = append(l.criteria, runner.Criterion{Spec: spec, Scorer: sc})
	}
	return err
}

// loadAll loads every suite, collecting the problems of all of them.
func loadAll(paths []string, opts evals.LoadOptions) ([]*loaded, error) {
	var all []*loaded
	var probs evals.Problems
	for _, p := range paths {
		l, err := loadSuite(p, opts)
		var ps evals.Problems
		switch {
		case errors.As(err, &ps):
			probs = append(probs, ps...)
		case err != nil:
			return nil, err
		default:
			all = append(all, l)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return all, nil
}
