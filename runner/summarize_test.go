package runner

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// Summarize gives the same report, to the last bit, whatever the order of
// the results: merged shards and a run in one process report alike. Costs,
// latencies and repeated scores are sums of floats, which added one by one
// depend on the order.
func TestSummarizeOrderFree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var results []*evals.Result
	for i := range 600 {
		for rep := range 3 {
			cost, judgeCost := rng.Float64()*1e-3, rng.Float64()*1e-4
			score := rng.Float64()
			r := &evals.Result{
				CaseID: fmt.Sprintf("c%03d", i), Target: "t", Repeat: rep,
				LatencyMS: float64(rng.IntN(1_000_000)) / 1000, Cost: &cost,
				Score: &score, Status: evals.StatusPassed,
				Tags: []string{fmt.Sprintf("group=%d", i%7)},
				Scores: []evals.Score{{Name: "judge", Type: "judge", Weight: 1, Score: score, Pass: true,
					Judge: &evals.Judgement{Verdict: "yes", Votes: []evals.JudgeVote{{Target: "j", Verdict: "yes", Cost: &judgeCost, Currency: "USD"}}}}},
			}
			if score < 0.3 {
				r.Status = evals.StatusFailed
				r.Scores[0].Pass = false
			}
			results = append(results, r)
		}
	}
	opts := SummarizeOptions{
		RunID: "r", Suite: &evals.Suite{Name: "s"}, Repeat: 3,
		Targets: []evals.TargetSpec{{Name: "t", Provider: "openai", Price: &evals.PriceSpec{Input: 1, Output: 2}}},
		Started: time.Unix(0, 0), Finished: time.Unix(1, 0),
	}
	summary := func() string {
		opts.Read = func(add func(*evals.Result)) error {
			for _, r := range results {
				add(r)
			}
			return nil
		}
		sum, err := Summarize(opts)
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Complete || sum.Targets[0].Cases != 1800 {
			t.Fatalf("summary: complete %v, %d cases; want complete, 1800", sum.Complete, sum.Targets[0].Cases)
		}
		b, err := json.Marshal(sum)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	first := summary()
	for range 5 {
		rng.Shuffle(len(results), func(i, j int) { results[i], results[j] = results[j], results[i] })
		if got := summary(); got != first {
			t.Fatalf("the same results in another order give another summary:\n%s\n%s", got, first)
		}
	}

	// A result of a target the run does not have is an error, not dropped.
	results = append(results, &evals.Result{CaseID: "x", Target: "other", Status: evals.StatusPassed})
	opts.Read = func(add func(*evals.Result)) error {
		for _, r := range results {
			add(r)
		}
		return nil
	}
	if _, err := Summarize(opts); err == nil || err.Error() != "a result of target other, which is not one of the run's targets" {
		t.Errorf("a result of an unknown target: err %v", err)
	}
}

// A mean latency that sits on a rounding boundary: added one by one, these
// six give 603.831 in some orders and 603.832 in others.
func TestLatencyMeanOrderFree(t *testing.T) {
	xs := []float64{1357.184, 357.248, 353.567, 1053.27, 475.922, 25.798}
	means := map[float64]bool{}
	for _, perm := range [][]int{{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {2, 0, 4, 1, 5, 3}, {3, 5, 1, 4, 0, 2}, {1, 3, 5, 0, 2, 4}, {4, 2, 0, 5, 3, 1}} {
		var l latencies
		for _, i := range perm {
			l.addMS(xs[i])
		}
		means[l.summary().Mean] = true
	}
	if len(means) != 1 {
		t.Errorf("the mean latency depends on the order of the results: %v", means)
	}
}
