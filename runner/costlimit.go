package runner

import (
	"fmt"

	"github.com/rubric-eval/rubric/evals"
)

// CostLimitError is the error of a run that Options.MaxCost stopped before
// every case was sent: the calls made had cost Spent, Limit or more. The
// summary returned with it is marked interrupted, so that a resumed run
// sends the cases left.
type CostLimitError struct {
	Limit, Spent float64
	// Done and Total count the results completed and expected (0 when
	// unknown).
	Done, Total int
}

func (e *CostLimitError) Error() string {
	return fmt.Sprintf("cost limit %g reached: %.4f spent, %d of %s results completed", e.Limit, e.Spent, e.Done, totalText(e.Total))
}

// costLimit is the collector's account of what the calls of a run cost,
// against Options.MaxCost.
type costLimit struct {
	max   float64 // 0: no limit
	spent float64
	hit   bool   // spent reached max, and dispatch was stopped
	stop  func() // stops dispatch; work in flight finishes
}

// count adds what r's calls cost.
func (l *costLimit) count(r *evals.Result) { l.spent += CallCost(r) }

// check stops dispatch the first time the spending reaches the limit.
func (l *costLimit) check() {
	if l.max > 0 && !l.hit && l.spent >= l.max {
		l.hit = true
		l.stop()
	}
}

// CallCost is what the calls behind r cost at their targets' price tables:
// the response's, and each LLM judge's call. A call answered from the
// response cache cost nothing. Calls without a price table count nothing.
func CallCost(r *evals.Result) float64 {
	var c float64
	if r.Cost != nil && !r.Cached {
		c += *r.Cost
	}
	for i := range r.Scores {
		j := r.Scores[i].Judge
		if j == nil {
			continue
		}
		for _, v := range j.Votes {
			if v.Cost != nil && !v.Cached {
				c += *v.Cost
			}
		}
	}
	return c
}
