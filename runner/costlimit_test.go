package runner

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// priced is a target whose every echo answer (3 prompt and 2 completion
// tokens) costs 0.5: 3 x 0.1 + 2 x 0.1.
func priced(p evals.Provider, conc int) Target {
	t := target("a", p, conc)
	t.Spec.Price = &evals.PriceSpec{Input: 100_000, Output: 100_000}
	return t
}

// TestRunMaxCost: once the results recorded have cost MaxCost, dispatch
// stops, the requests in flight finish and are kept, and Run says so with
// what was spent; the summary is marked interrupted, for --resume. Spending
// recorded before (a resumed run's) counts, cache hits do not, and a limit
// reached by the last result expected leaves the run complete.
func TestRunMaxCost(t *testing.T) {
	const conc = 2
	tests := []struct {
		name       string
		cases      int
		maxCost    float64
		prior      []*evals.Result
		cached     bool
		sentMin    int // requests sent at least
		sentMax    int
		incomplete bool
	}{
		// 4 results reach 2.0; conc more were in flight, and at most conc
		// more were started before the collector read the fourth.
		{name: "stops", cases: 100, maxCost: 2, sentMin: 4, sentMax: 4 + 2*conc, incomplete: true},
		{name: "prior spending counts", cases: 100, maxCost: 2, sentMin: 0, sentMax: 0, incomplete: true,
			prior: []*evals.Result{{Target: "a", CaseID: "c000", Cost: ptrTo(1.5)}, {Target: "a", CaseID: "c001", Cost: ptrTo(0.5), Status: evals.StatusPassed}}},
		{name: "cache hits cost nothing", cases: 20, maxCost: 2, cached: true, sentMin: 20, sentMax: 20},
		{name: "reached by the last result", cases: 4, maxCost: 2, sentMin: 4, sentMax: 4},
		{name: "no limit", cases: 20, sentMin: 20, sentMax: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			respond := echo
			if tt.cached {
				respond = func(ctx context.Context, n int, req *evals.Request) (*evals.Response, error) {
					r, err := echo(ctx, n, req)
					r.Cached = true
					return r, err
				}
			}
			p := &evalstest.Provider{Respond: respond, Delay: 5 * time.Millisecond}
			sink := &memSink{}
			opts := Options{
				Suite: testSuite(t), Targets: []Target{priced(p, conc)}, Criteria: []Criterion{crit("even", even{})},
				Open: func() (CaseSource, error) { return &cases{list: makeCases(tt.cases)}, nil }, Sink: sink,
				Total: tt.cases, MaxCost: tt.maxCost,
			}
			if tt.prior != nil {
				opts.Done = func(target, caseID string, _ int) bool { return caseID == "c000" || caseID == "c001" }
				opts.Prior = func(add func(*evals.Result)) error {
					for _, r := range tt.prior {
						add(r)
					}
					return nil
				}
			}
			sum, err := Run(context.Background(), opts)
			sent := p.Count()
			if sent < tt.sentMin || sent > tt.sentMax {
				t.Errorf("%d requests sent, want %d to %d", sent, tt.sentMin, tt.sentMax)
			}
			if len(sink.results) != sent {
				t.Errorf("%d requests sent, %d results kept", sent, len(sink.results))
			}
			var cl *CostLimitError
			if !tt.incomplete {
				if err != nil || !sum.Complete || sum.Interrupted {
					t.Errorf("err %v, complete %v, interrupted %v: want a complete run", err, sum.Complete, sum.Interrupted)
				}
				return
			}
			if !errors.As(err, &cl) {
				t.Fatalf("err %v, want a *CostLimitError", err)
			}
			done, spent := sent+len(tt.prior), 0.5*float64(sent)
			for _, r := range tt.prior {
				spent += *r.Cost
			}
			if math.Abs(cl.Spent-spent) > 1e-9 || cl.Limit != tt.maxCost || cl.Done != done || cl.Total != tt.cases {
				t.Errorf("%+v: want %v spent, %d of %d done", cl, spent, done, tt.cases)
			}
			if !sum.Interrupted || sum.Complete {
				t.Errorf("interrupted %v, complete %v: want an interrupted run", sum.Interrupted, sum.Complete)
			}
		})
	}
}

// TestCallCost: a result's calls cost its response's and its judges' costs,
// those from the cache aside.
func TestCallCost(t *testing.T) {
	r := &evals.Result{Cost: ptrTo(0.25), Scores: []evals.Score{
		{Name: "plain"},
		{Name: "j", Judge: &evals.Judgement{Votes: []evals.JudgeVote{{Cost: ptrTo(0.5)}, {Cost: ptrTo(4.0), Cached: true}, {}}}},
		{Name: "k", Judge: &evals.Judgement{Votes: []evals.JudgeVote{{Cost: ptrTo(0.125)}}}},
	}}
	if got := CallCost(r); got != 0.875 {
		t.Errorf("CallCost = %v, want 0.875", got)
	}
	r.Cached = true
	if got := CallCost(r); got != 0.625 {
		t.Errorf("a cached response: CallCost = %v, want 0.625", got)
	}
	if got := CallCost(&evals.Result{}); got != 0 {
		t.Errorf("no price: CallCost = %v", got)
	}
}

func ptrTo[T any](v T) *T { return &v }
