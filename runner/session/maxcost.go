package session

import (
	"fmt"
	"strings"

	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/build"
)

// maxCost is the run's cost limit, 0 for none.
func (o Options) maxCost() float64 {
	if o.MaxCost == nil {
		return 0
	}
	return *o.MaxCost
}

// checkMaxCost refuses a cost limit that the run could not keep to: every
// target must have a price table, for its results to have a cost, and
// every price table counted (the targets', the judges') must be in one
// currency, for the costs to add up. A judge without one is a warning: its
// calls are not counted. The embeddings requests of an embedding criterion
// never are.
func checkMaxCost(suites []*build.Suite, opts Options) error {
	if opts.maxCost() <= 0 {
		return nil
	}
	var cur, first string // the currency, and the target that set it
	same := func(kind, name, c string) error {
		if cur == "" {
			cur, first = c, kind+" "+name
			return nil
		}
		if c != cur {
			return WithCode(ExitBadInput, fmt.Errorf("--max-cost adds up costs in one currency: %s is priced in %s, %s in %s", first, cur, kind+" "+name, c))
		}
		return nil
	}
	warned := map[string]bool{}
	for _, s := range suites {
		for _, t := range s.Targets {
			if t.Spec.Price == nil {
				return WithCode(ExitBadInput, fmt.Errorf(`--max-cost counts what calls cost at the targets' price tables: target %q has none; give it "price": {"input": ..., "output": ...} (0 for a free one), or run without --max-cost`, t.Spec.Name))
			}
			if err := same("target", t.Spec.Name, currency(t.Spec.Price)); err != nil {
				return err
			}
		}
		for _, j := range s.Judges {
			switch {
			case j.Spec.Price != nil:
				if err := same("judge", j.Spec.Name, currency(j.Spec.Price)); err != nil {
					return err
				}
			case !warned[j.Spec.Name]:
				warned[j.Spec.Name] = true
				fmt.Fprintf(opts.stderr(), "rubric: warning: --max-cost: judge %s has no price table: its calls are not counted\n", j.Spec.Name)
			}
		}
	}
	return nil
}

// costCurrency is the currency of the suite's targets' price tables,
// which checkMaxCost found to be one.
func costCurrency(s *build.Suite) string {
	for _, t := range s.Targets {
		if t.Spec.Price != nil {
			return currency(t.Spec.Price)
		}
	}
	return "USD"
}

// costLimitError says that --max-cost stopped run id, what was spent, and
// how to go on.
func costLimitError(cl *runner.CostLimitError, id, cur string, opts Options) error {
	total := "the"
	if cl.Total > 0 {
		total = fmt.Sprint(cl.Total)
	}
	limit := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", cl.Limit), "0"), ".")
	return fmt.Errorf("run %s stopped at --max-cost %s %s: the calls made cost %.4f %s; %d of %s results completed; to go on, resume with a higher limit: %s --max-cost AMOUNT",
		id, limit, cur, cl.Spent, cur, cl.Done, total, resumeCommand(id, opts))
}
