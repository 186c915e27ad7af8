package runner

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// benchCriteria builds real criteria through the registry, so that the
// benchmark counts what their verdicts cost the aggregate (labels, BLEU
// counts) whatever part of the code counts it.
func benchCriteria(b *testing.B, raws ...string) []Criterion {
	b.Helper()
	var crits []Criterion
	for _, raw := range raws {
		var spec evals.CriterionSpec
		if err := json.Unmarshal([]byte(raw), &spec); err != nil {
			b.Fatal(err)
		}
		spec.Raw = json.RawMessage(raw)
		sc, err := criteria.New(spec, criteria.Env{})
		if err != nil {
			b.Fatal(err)
		}
		crits = append(crits, Criterion{Spec: spec, Scorer: sc})
	}
	return crits
}

// BenchmarkAggregate adds one result to a target's aggregate, as the
// collector does for every response: a priced target whose suite slices by a
// metadata field, results with tags, three criteria (a plain one, a bleu one
// and one comparing labels), and a mix of passed, failed, errored and cached
// results. It reports the time and allocations per result.
func BenchmarkAggregate(b *testing.B) {
	crits := benchCriteria(b,
		`{"name":"ok","type":"contains","value":"x"}`,
		`{"name":"bleu","type":"bleu","threshold":0.3}`,
		`{"name":"intent","type":"equals","label":true}`,
	)
	suite := &evals.Suite{Slices: []string{"lang"}}
	spec := evals.TargetSpec{Name: "t", Provider: "openai", Price: &evals.PriceSpec{Input: 1, Output: 2}}
	var rs []*evals.Result
	for i := range 64 {
		score, cost := float64(i%4)/3, 0.0001*float64(i)
		r := &evals.Result{
			CaseID: fmt.Sprintf("c%03d", i), Status: evals.StatusPassed, Score: &score, Cost: &cost,
			LatencyMS: float64(100 + i*7%300), Cached: i%8 == 0,
			Usage:    evals.Usage{PromptTokens: 40 + i, CompletionTokens: 10, TotalTokens: 50 + i},
			Tags:     []string{"billing", fmt.Sprintf("tier=%d", i%3)},
			Metadata: map[string]any{"lang": []string{"de", "en", "fr"}[i%3]},
			Scores: []evals.Score{
				{Name: "ok", Type: "contains", Weight: 1, Score: 1, Pass: true},
				{Name: "bleu", Type: "bleu", Weight: 1, Score: score, Pass: score > 0.3,
					BLEU: &evals.BLEUCounts{HypLen: 17, RefLen: 18, Matches: [4]int{14, 7, 4, 2}, Totals: [4]int{17, 14, 11, 8}}},
				{Name: "intent", Type: "equals", Weight: 1, Score: 1, Pass: i%5 != 0,
					Label: &evals.Label{Expected: []string{"refund", "cancel", "other"}[i%3], Predicted: []string{"refund", "cancel", "other", "cancel"}[i%4]}},
			},
		}
		switch i % 16 {
		case 3, 9:
			r.Status = evals.StatusFailed
		case 7:
			r.Status, r.Score, r.Scores = evals.StatusError, nil, nil
			r.Error = &evals.ResultError{Kind: evals.ErrKindHTTP, Message: "503"}
		}
		rs = append(rs, r)
	}
	a := newAggregate(spec, crits, suite, evals.DefaultStatistics(), 1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a.add(rs[i%len(rs)])
		i++
	}
	b.StopTimer()
	s := a.summary()
	if len(s.Slices) != 7 || s.Criteria[1].CorpusBLEU == nil || s.Criteria[2].Classification == nil {
		b.Fatalf("%d slices, corpus BLEU %v, classification %v", len(s.Slices), s.Criteria[1].CorpusBLEU, s.Criteria[2].Classification)
	}
}
