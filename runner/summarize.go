package runner

import (
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// SummarizeOptions are what Summarize needs.
type SummarizeOptions struct {
	RunID    string
	Suite    *evals.Suite
	Criteria []Criterion
	// Targets are the targets the results name, in report order.
	Targets []evals.TargetSpec
	// Repeat is how many times each case was sent to each target.
	Repeat int
	// Statistics sets the confidence intervals; zero means
	// evals.DefaultStatistics.
	Statistics evals.Statistics
	// Started and Finished are the times the summary reports.
	Started, Finished time.Time
	// Read yields the results, calling add with each.
	Read func(add func(*evals.Result)) error
}

// Summarize aggregates results recorded before into the summary a run of
// them reports, sending and scoring nothing: the aggregates are those Run
// makes of the same results, in any order, since each figure is computed
// from its values sorted. A result naming a target not in opts.Targets is
// an error.
func Summarize(opts SummarizeOptions) (*evals.Summary, error) {
	p := newPipeline(opts.RunID, opts.Suite, opts.Started, opts.Statistics, nil, nil, 0)
	for _, t := range opts.Targets {
		p.target(t.Name, newAggregate(t, opts.Criteria, opts.Suite, p.st, max(opts.Repeat, 1)))
	}
	var unknown string
	err := p.prior(func(add func(*evals.Result)) error {
		return opts.Read(func(r *evals.Result) {
			if p.byName[r.Target] == nil && unknown == "" {
				unknown = r.Target
			}
			add(r)
		})
	})
	if err != nil {
		return nil, err
	}
	if unknown != "" {
		return nil, &UnknownTargetError{Target: unknown}
	}
	sum := p.finish(opts.Finished)
	sum.Complete = true
	return sum, nil
}

// UnknownTargetError is a recorded result of a target the summary does not
// have.
type UnknownTargetError struct{ Target string }

func (e *UnknownTargetError) Error() string {
	return "a result of target " + e.Target + ", which is not one of the run's targets"
}
