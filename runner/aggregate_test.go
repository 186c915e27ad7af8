package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
	"github.com/rubric-eval/rubric/runner/stats"
)

// byRepeat answers "pass" or "fail" for each case and repeat, from a table
// of a letter per repeat, P for pass.
func byRepeat(table map[string]string) *evalstest.Provider {
	return &evalstest.Provider{Respond: func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
		out := "fail"
		if table[req.CaseID][req.Repeat] == 'P' {
			out = "pass"
		}
		return &evals.Response{Text: out}, nil
	}}
}

type passWord struct{}

func (passWord) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in.Output == "pass" {
		return evals.Verdict{Score: 1, Pass: true}
	}
	return evals.Verdict{Score: 0, Reason: "said fail"}
}

// TestRepeatsAndSlices runs 3 cases x 3 repeats: c000 passes every repeat,
// c001 one of three, c002 none.
func TestRepeatsAndSlices(t *testing.T) {
	list := []*evals.Case{
		{ID: "c000", Vars: map[string]any{"q": "0"}, Tags: []string{"lang=de"}, Metadata: map[string]any{"tier": "gold", "lang": "de"}},
		{ID: "c001", Vars: map[string]any{"q": "1"}, Tags: []string{"lang=de"}, Metadata: map[string]any{"tier": "gold"}},
		{ID: "c002", Vars: map[string]any{"q": "2"}, Tags: []string{"vip"}, Metadata: map[string]any{"tier": 1.0}},
	}
	p := byRepeat(map[string]string{"c000": "PPP", "c001": "FPF", "c002": "FFF"})
	for _, tc := range []struct {
		reduce     string
		passed     int
		mean       float64
		reducedFor string
	}{
		// mean: more than half the repeats pass; mean of the case means.
		{evals.ReduceMean, 1, (1 + 1.0/3 + 0) / 3, "c000"},
		// max: any repeat passes; mean of the case maxima.
		{evals.ReduceMax, 2, (1 + 1 + 0) / 3.0, "c000, c001"},
		// min: every repeat passes.
		{evals.ReduceMin, 1, (1 + 0 + 0) / 3.0, "c000"},
		{evals.ReduceMedian, 1, (1 + 0 + 0) / 3.0, "c000"},
	} {
		t.Run(tc.reduce, func(t *testing.T) {
			s := testSuite(t)
			s.Reduce = tc.reduce
			s.Slices = []string{"tier", "lang"}
			sum, err := Run(context.Background(), Options{
				Suite: s, Targets: []Target{target("m", p, 2)}, Criteria: []Criterion{crit("ok", passWord{})},
				Open: func() (CaseSource, error) { return &cases{list: list}, nil }, Sink: &memSink{}, Repeat: 3,
			})
			if err != nil {
				t.Fatal(err)
			}
			r := sum.Targets[0].Repeats
			if r == nil {
				t.Fatal("no repeats section")
			}
			if r.N != 3 || r.Cases != 3 || r.Passed != tc.passed || r.Reducer != tc.reduce || math.Abs(r.Mean-tc.mean) > 1e-12 {
				t.Errorf("repeats %+v, want passed %d (%s), mean %v", r, tc.passed, tc.reducedFor, tc.mean)
			}
			if !reflect.DeepEqual(r.PassCounts, []int{1, 1, 0, 1}) {
				t.Errorf("pass counts %v, want [1 1 0 1]", r.PassCounts)
			}
			if r.Flaky != 1 || !reflect.DeepEqual(r.FlakyCases, []string{"c001"}) {
				t.Errorf("flaky %d %v, want c001", r.Flaky, r.FlakyCases)
			}
			// Chen et al.: pass@k = 1 - C(n-c,k)/C(n,k) per case, averaged.
			// pass@1 = (1 + 1/3 + 0)/3; pass@2: c001 1 - C(2,2)/C(3,2) = 2/3;
			// pass@3: c001 1. pass^k = C(c,k)/C(n,k): pass^1 = pass@1,
			// pass^2 = pass^3 = (1 + 0 + 0)/3.
			wantAt := []evals.KValue{{K: 1, Value: 4.0 / 9}, {K: 2, Value: (1 + 2.0/3) / 3}, {K: 3, Value: 2.0 / 3}}
			wantHat := []evals.KValue{{K: 1, Value: 4.0 / 9}, {K: 2, Value: 1.0 / 3}, {K: 3, Value: 1.0 / 3}}
			for i := range wantAt {
				if math.Abs(r.PassAtK[i].Value-wantAt[i].Value) > 1e-12 || r.PassAtK[i].K != wantAt[i].K ||
					math.Abs(r.PassHatK[i].Value-wantHat[i].Value) > 1e-12 {
					t.Errorf("k=%d: pass@k %v pass^k %v, want %v %v", i+1, r.PassAtK[i], r.PassHatK[i], wantAt[i], wantHat[i])
				}
			}

			got := map[string]string{}
			for _, sl := range sum.Targets[0].Slices {
				got[sl.Name()] = fmt.Sprintf("%d/%d", sl.Passed, sl.Cases)
			}
			// c000 is in lang=de once, though both a tag and its metadata say so.
			want := map[string]string{"lang=de": "4/6", "tag=vip": "0/3", "tier=gold": "4/6", "tier=1": "0/3"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("slices %v, want %v", got, want)
			}
		})
	}
}

// TestSliceValuesCapped: past MaxSliceValues values of a field, cases go to
// the slice (other).
func TestSliceValuesCapped(t *testing.T) {
	var list []*evals.Case
	for i := range MaxSliceValues + 5 {
		list = append(list, &evals.Case{ID: fmt.Sprintf("c%04d", i), Vars: map[string]any{"q": "x"}, Metadata: map[string]any{"user": fmt.Sprint(i)}})
	}
	s := testSuite(t)
	s.Slices = []string{"user"}
	sum, err := Run(context.Background(), Options{
		Suite: s, Targets: []Target{target("m", &evalstest.Provider{Respond: echo}, 1)}, Criteria: []Criterion{crit("ok", passWord{})},
		Open: func() (CaseSource, error) { return &cases{list: list}, nil }, Sink: &memSink{},
	})
	if err != nil {
		t.Fatal(err)
	}
	sl := sum.Targets[0].Slices
	if len(sl) != MaxSliceValues+1 {
		t.Fatalf("%d slices, want %d", len(sl), MaxSliceValues+1)
	}
	for _, x := range sl {
		if x.Value == "(other)" && x.Cases != 5 {
			t.Errorf("(other) has %d cases, want 5", x.Cases)
		}
	}
}

// BenchmarkAggregateBLEU adds results of a bleu criterion to a target's
// aggregate: the corpus BLEU sums must not make memory grow with the results.
func BenchmarkAggregateBLEU(b *testing.B) {
	crits := benchCriteria(b, `{"name":"bleu","type":"bleu","threshold":0.3}`)
	a := newAggregate(evals.TargetSpec{Name: "t"}, crits, nil, evals.DefaultStatistics(), 1)
	score := 0.48
	r := &evals.Result{CaseID: "c", Status: evals.StatusPassed, Score: &score, Scores: []evals.Score{{
		Name: "bleu", Type: "bleu", Weight: 1, Score: score, Pass: true,
		BLEU: &evals.BLEUCounts{HypLen: 17, RefLen: 18, Matches: [4]int{14, 7, 4, 2}, Totals: [4]int{17, 14, 11, 8}},
	}}}
	b.ReportAllocs()
	for b.Loop() {
		a.add(r)
	}
	if s := a.summary(); s.Criteria[0].CorpusBLEU == nil {
		b.Fatal("no corpus BLEU")
	}
}

// TestJudgeCalls sums the judges' calls, tokens and cost over a target's
// results.
func TestJudgeCalls(t *testing.T) {
	a := newAggregate(evals.TargetSpec{Name: "t"}, []Criterion{crit("j", passWord{}), crit("plain", passWord{})}, nil, evals.DefaultStatistics(), 1)
	if s := a.summary(); s.Judges != nil {
		t.Fatalf("judges %+v before any judge was called", s.Judges)
	}
	cost := 0.002
	vote := func(verdict string, cached bool, tokens int, priced bool) evals.JudgeVote {
		v := evals.JudgeVote{Target: "g", Verdict: verdict, Cached: cached, Usage: &evals.Usage{PromptTokens: tokens, TotalTokens: tokens}}
		if priced {
			v.Cost, v.Currency = &cost, "EUR"
		}
		return v
	}
	for _, votes := range [][]evals.JudgeVote{
		{vote("Y", false, 100, true)},
		{vote("", false, 50, true), vote("N", true, 70, false)}, // two judges, one failed
	} {
		a.add(&evals.Result{CaseID: "c", Status: evals.StatusPassed, Scores: []evals.Score{
			{Name: "j", Score: 1, Pass: true, Judge: &evals.Judgement{Votes: votes}},
			{Name: "plain", Score: 1, Pass: true},
		}})
	}
	got := a.summary().Judges
	want := &evals.JudgeSummary{Calls: 3, Cached: 1, Failed: 1, Usage: evals.Usage{PromptTokens: 220, TotalTokens: 220}, Currency: "EUR"}
	if got == nil || got.Cost == nil || math.Abs(*got.Cost-0.004) > 1e-15 {
		t.Fatalf("judges %+v, want a cost of 0.004", got)
	}
	got.Cost = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("judges %+v, want %+v", got, want)
	}
}

// TestLatencySketch: past MaxExactLatencies the percentiles come from the
// sketch, within its accuracy of the exact ones, and say so.
func TestLatencySketch(t *testing.T) {
	var exact, sketched latencies
	n := MaxExactLatencies + 5_000
	for i := range n {
		r := &evals.Result{Status: evals.StatusPassed, LatencyMS: float64(1 + (i*7919)%n)}
		sketched.add(r)
		if i < MaxExactLatencies {
			exact.add(r)
		}
	}
	if sketched.ms != nil || sketched.sketch == nil || sketched.sketch.N() != n {
		t.Fatalf("the sketch did not take over: %d exact, sketch %v", len(sketched.ms), sketched.sketch)
	}
	s := sketched.summary()
	// The latencies are 1..n, each once: the p-quantile is 1 + p(n-1).
	for _, c := range []struct{ got, p float64 }{{s.P50, 0.5}, {s.P95, 0.95}, {s.P99, 0.99}} {
		want := 1 + math.Floor(c.p*float64(n-1))
		if math.Abs(c.got-want) > stats.SketchAccuracy*want+0.001 {
			t.Errorf("p%v = %v, want %v within %v", c.p*100, c.got, want, stats.SketchAccuracy)
		}
	}
	if !s.Sketch || s.Max != float64(n) || math.Abs(s.Mean-float64(n+1)/2) > 0.001 {
		t.Errorf("summary %+v", s)
	}
	if e := exact.summary(); e.Sketch {
		t.Errorf("exact summary says sketch: %+v", e)
	}
}

// TestSliceOfEveryCaseIsTheTarget: a slice that holds every result has the
// target's figures, every one of them (failed, cached and errors too),
// since one tally counts both; only the criteria's mean intervals and the
// corpus statistics are the target's alone.
func TestSliceOfEveryCaseIsTheTarget(t *testing.T) {
	spec := evals.TargetSpec{Name: "t", Provider: "test", Price: &evals.PriceSpec{Input: 1, Output: 2, Currency: "EUR"}}
	a := newAggregate(spec, []Criterion{crit("ok", passWord{})}, &evals.Suite{}, evals.DefaultStatistics(), 1)
	for i := range 40 {
		score, cost := float64(i%3)/2, 0.001*float64(i)
		r := &evals.Result{
			CaseID: fmt.Sprintf("c%02d", i), Status: evals.StatusPassed, Score: &score, Cost: &cost, Tags: []string{"all"},
			LatencyMS: float64(10 + i), Cached: i%4 == 0, OriginalLatencyMS: 99,
			Usage:  evals.Usage{PromptTokens: i, CompletionTokens: 1, TotalTokens: i + 1},
			Scores: []evals.Score{{Name: "ok", Score: score, Pass: score == 1, Unscored: i%7 == 0}},
		}
		if i%2 == 0 {
			r.Stream = &evals.StreamTiming{FirstTokenMS: float64(i), FirstContentMS: float64(2 * i), TokensPerSecond: float64(i % 3)}
		}
		switch i % 5 {
		case 1:
			r.Status = evals.StatusFailed
		case 2:
			r.Status = evals.StatusUnscored
		case 3:
			r.Status, r.Score, r.Scores, r.Cost = evals.StatusError, nil, nil, nil
			r.Error = &evals.ResultError{Kind: []string{evals.ErrKindHTTP, evals.ErrKindTimeout}[i%2], Message: "x"}
		}
		a.add(r)
	}
	s := a.summary()
	if len(s.Slices) != 1 {
		t.Fatalf("%d slices, want 1", len(s.Slices))
	}
	fields := func(v any) map[string]any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	target, slice := fields(s), fields(s.Slices[0])
	for _, k := range []string{"name", "provider", "slices", "failed_cases", "judges", "repeats", "comparison"} {
		delete(target, k)
	}
	delete(slice, "key")
	delete(slice, "value")
	for _, c := range target["criteria"].([]any) {
		delete(c.(map[string]any), "mean_stderr")
		delete(c.(map[string]any), "mean_ci")
	}
	if !reflect.DeepEqual(slice, target) {
		t.Errorf("slice of every case:\n%v\nthe target:\n%v", slice, target)
	}
	for _, k := range []string{"failed", "cached", "errors", "cost", "latency_ms", "stream"} {
		if _, ok := slice[k]; !ok {
			t.Errorf("the slice has no %s", k)
		}
	}
}

// TestStreamTimings: the streamed responses' timings sum up per target and
// per slice: a cached one with the cached call's timings, one without
// content out of the first content's figures, one without a rate out of the
// mean rate; responses that were not streamed, and errors, count in none.
// Past MaxExactLatencies they go to the sketch, as latencies do.
func TestStreamTimings(t *testing.T) {
	a := newAggregate(evals.TargetSpec{Name: "t"}, nil, &evals.Suite{}, evals.DefaultStatistics(), 1)
	add := func(tag string, st *evals.StreamTiming, cached bool) {
		a.add(&evals.Result{Status: evals.StatusPassed, Tags: []string{tag}, LatencyMS: 500, Cached: cached, OriginalLatencyMS: 900, Stream: st})
	}
	for i := 1; i <= 100; i++ { // first tokens 1..100 ms, content 10 ms later
		add("fast", &evals.StreamTiming{FirstTokenMS: float64(i), FirstContentMS: float64(i + 10), TokensPerSecond: 40}, i%10 == 0)
	}
	add("slow", &evals.StreamTiming{FirstTokenMS: 1000, TokensPerSecond: 0}, false) // reasoning only, no usage
	add("slow", nil, false)                                                         // not streamed
	a.add(&evals.Result{Status: evals.StatusError, Tags: []string{"slow"}, Error: &evals.ResultError{Kind: evals.ErrKindTransport}})
	s := a.summary()
	st := s.Stream
	if st == nil {
		t.Fatal("no stream summary")
	}
	// 101 first tokens: 1..100 and 1000; type 7 percentiles.
	if st.Responses != 101 || st.FirstTokenMS.P50 != 51 || st.FirstTokenMS.P95 != 96 || st.FirstTokenMS.Max != 1000 ||
		math.Abs(st.FirstTokenMS.Mean-(5050+1000)/101.0) > 0.001 {
		t.Errorf("first token: %d responses, %+v", st.Responses, st.FirstTokenMS)
	}
	if st.ContentResponses != 100 || st.FirstContentMS.P50 != 60.5 || st.FirstContentMS.Max != 110 {
		t.Errorf("first content: %d responses, %+v", st.ContentResponses, st.FirstContentMS)
	}
	if st.RatedResponses != 100 || st.TokensPerSecond != 40 {
		t.Errorf("tokens/s: %v over %d", st.TokensPerSecond, st.RatedResponses)
	}
	slices := map[string]*evals.StreamSummary{}
	for _, sl := range s.Slices {
		slices[sl.Name()] = sl.Stream
	}
	if f := slices["tag=fast"]; f == nil || f.Responses != 100 || f.FirstTokenMS.Max != 100 {
		t.Errorf("slice fast: %+v", f)
	}
	if sl := slices["tag=slow"]; sl == nil || sl.Responses != 1 || sl.ContentResponses != 0 || sl.RatedResponses != 0 || sl.FirstTokenMS.P95 != 1000 {
		t.Errorf("slice slow: %+v", sl)
	}

	b := newAggregate(evals.TargetSpec{Name: "whole"}, nil, &evals.Suite{}, evals.DefaultStatistics(), 1)
	b.add(&evals.Result{Status: evals.StatusPassed, LatencyMS: 5})
	if got := b.summary().Stream; got != nil {
		t.Errorf("a target that did not stream has stream figures %+v", got)
	}

	var many streamTimes
	n := MaxExactLatencies + 1_000
	for i := range n {
		many.add(&evals.Result{Stream: &evals.StreamTiming{FirstTokenMS: float64(1 + i), FirstContentMS: float64(1 + i)}})
	}
	if sum := many.summary(); !sum.FirstTokenMS.Sketch || !sum.FirstContentMS.Sketch || many.first.ms != nil ||
		math.Abs(sum.FirstTokenMS.P50-float64(n+1)/2) > stats.SketchAccuracy*float64(n) {
		t.Errorf("past %d responses: %+v, want the sketch's percentiles", MaxExactLatencies, sum)
	}
}

// TestSliceNamesMatchReport: SliceNames puts each result in the slices the
// report counts it in, under the report's names, so that the history's
// case index filters by the slices a report lists.
func TestSliceNamesMatchReport(t *testing.T) {
	list := []*evals.Case{
		{ID: "c000", Vars: map[string]any{"q": "0"}, Tags: []string{"lang=de", "smoke"}, Metadata: map[string]any{"tier": "gold", "lang": "de"}},
		{ID: "c001", Vars: map[string]any{"q": "1"}, Tags: []string{"lang=de"}, Metadata: map[string]any{"tier": "gold", "n": 3.5}},
		{ID: "c002", Vars: map[string]any{"q": "2"}, Tags: []string{"vip"}, Metadata: map[string]any{"tier": true, "obj": map[string]any{}}},
		{ID: "c003", Vars: map[string]any{"q": "3"}},
	}
	s := testSuite(t)
	s.Slices = []string{"tier", "lang", "n", "obj"}
	sink := &memSink{}
	sum, err := Run(context.Background(), Options{
		Suite: s, Targets: []Target{target("m", byRepeat(map[string]string{"c000": "P", "c001": "F", "c002": "P", "c003": "F"}), 2)}, Criteria: []Criterion{crit("ok", passWord{})},
		Open: func() (CaseSource, error) { return &cases{list: list}, nil }, Sink: sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, sl := range sum.Targets[0].Slices {
		want[sl.Name()] = sl.Cases
	}
	got := map[string]int{}
	for _, r := range sink.results {
		for _, n := range SliceNames(r, s.Slices) {
			got[n]++
		}
	}
	if !reflect.DeepEqual(got, want) || len(want) != 6 {
		t.Errorf("SliceNames counted %v; the report %v", got, want)
	}
}

// TestLeakedCases: the results of the cases Options.Leaked names are
// marked, and the target's Leaks gives its pass rate with and without them.
func TestLeakedCases(t *testing.T) {
	list := []*evals.Case{
		{ID: "c000", Vars: map[string]any{"q": "0"}},
		{ID: "c001", Vars: map[string]any{"q": "1"}},
		{ID: "c002", Vars: map[string]any{"q": "2"}},
		{ID: "c003", Vars: map[string]any{"q": "3"}},
	}
	p := byRepeat(map[string]string{"c000": "PP", "c001": "PP", "c002": "FP", "c003": "FF"})
	sink := &memSink{}
	sum, err := Run(context.Background(), Options{
		Suite: testSuite(t), Targets: []Target{target("m", p, 2)}, Criteria: []Criterion{crit("ok", passWord{})},
		Open: func() (CaseSource, error) { return &cases{list: list}, nil }, Sink: sink, Repeat: 2,
		Leaked: map[string]bool{"c000": true, "c001": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	marked := map[string]int{}
	for _, r := range sink.results {
		if r.Leaked {
			marked[r.CaseID]++
		}
	}
	if !reflect.DeepEqual(marked, map[string]int{"c000": 2, "c001": 2}) {
		t.Errorf("leaked results %v, want both repeats of c000 and c001", marked)
	}
	// 8 results, 5 passed; leaked: 4, all passed; clean: 4, 1 passed.
	want := &evals.LeakSummary{Cases: 4, Passed: 4, PassRate: 1, CleanCases: 4, CleanPassed: 1, CleanPassRate: 0.25}
	tg := sum.Targets[0]
	if !reflect.DeepEqual(tg.Leaks, want) || tg.PassRate != 5.0/8 {
		t.Errorf("leaks %+v, pass rate %v; want %+v, 5/8", tg.Leaks, tg.PassRate, want)
	}

	sum, err = Run(context.Background(), Options{
		Suite: testSuite(t), Targets: []Target{target("m", p, 2)}, Criteria: []Criterion{crit("ok", passWord{})},
		Open: func() (CaseSource, error) { return &cases{list: list}, nil }, Sink: &memSink{}, Repeat: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Targets[0].Leaks != nil {
		t.Errorf("no leaks, yet %+v", sum.Targets[0].Leaks)
	}
}
