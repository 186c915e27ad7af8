package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// recordedFrom reads results back as recordings, as rescoring a run does.
func recordedFrom(t *testing.T, results []*evals.Result) func(emit func(*Recorded) error) error {
	return func(emit func(*Recorded) error) error {
		for _, r := range results {
			rec, err := RecordedResult(r)
			if err != nil {
				t.Error(err)
				return err
			}
			if err := emit(rec); err != nil {
				return err
			}
		}
		return nil
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stripTimes clears what differs between two runs over the same responses.
func stripTimes(s *evals.Summary) {
	s.RunID, s.Started, s.Finished = "", time.Time{}, time.Time{}
}

// TestScoreOfARunsResultsMatchesTheRun rescores a run's results with the
// same criteria: every result and the whole summary must come out the same.
func TestScoreOfARunsResultsMatchesTheRun(t *testing.T) {
	list := makeCases(60)
	// Every third answer streamed, with its timings.
	streamed := func(ctx context.Context, n int, req *evals.Request) (*evals.Response, error) {
		resp, err := echo(ctx, n, req)
		if i, _ := strconv.Atoi(strings.TrimPrefix(req.CaseID, "c")); err == nil && i%3 == 0 {
			resp.Stream = &evals.StreamTiming{FirstTokenMS: float64(i) + 0.5, FirstContentMS: float64(i) + 1.25, TokensPerSecond: 30}
		}
		return resp, err
	}
	p := &evalstest.Provider{Respond: streamed, Errors: map[string]error{
		"c013": &evals.ProviderError{Kind: evals.ErrKindHTTP, Status: 503, Message: "down", Sent: &evals.SentRequest{URL: "echo://"}},
	}}
	s := testSuite(t, "pass_rate >= 0.5")
	crits := []Criterion{crit("even", even{})}
	ran := &memSink{}
	runSum, err := Run(context.Background(), Options{
		RunID: "r1", Suite: s, Targets: []Target{target("a", p, 4)}, Criteria: crits,
		Open: func() (CaseSource, error) { return &cases{list: list}, nil }, Sink: ran,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := runSum.Targets[0].Stream; st == nil || st.Responses != 20 || st.FirstTokenMS.Max != 57.5 {
		t.Fatalf("the run's stream figures: %+v, want the 20 streamed responses'", st)
	}
	// echo's Sent body has no messages; give each result the prompt it had.
	for _, r := range ran.results {
		if r.Error == nil {
			r.Request = &evals.SentRequest{URL: "echo://", Body: []byte(fmt.Sprintf(`{"messages":[{"role":"user","content":"Q: %s"}]}`, r.Vars["q"]))}
		}
	}
	rescored := &memSink{}
	sum, err := Score(context.Background(), ScoreOptions{
		RunID: "r2", Suite: s, Criteria: crits, Targets: []evals.TargetSpec{{Name: "a", Provider: "test"}},
		Read: recordedFrom(t, ran.results), Sink: rescored, Concurrency: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	stripTimes(runSum)
	stripTimes(sum)
	if got, want := asJSON(t, sum), asJSON(t, runSum); got != want {
		t.Errorf("summary of the rescore:\n%s\nof the run:\n%s", got, want)
	}
	key := func(r *evals.Result) string { return r.CaseID }
	byKey := map[string]*evals.Result{}
	for _, r := range ran.results {
		byKey[key(r)] = r
	}
	if len(rescored.results) != len(ran.results) {
		t.Fatalf("%d results rescored, want %d", len(rescored.results), len(ran.results))
	}
	for _, r := range rescored.results {
		old := byKey[key(r)]
		if r.RunID != "r2" {
			t.Errorf("%s: run id %q", r.CaseID, r.RunID)
		}
		r.RunID = old.RunID
		if got, want := asJSON(t, r), asJSON(t, old); got != want {
			t.Errorf("%s rescored:\n%s\nwant:\n%s", r.CaseID, got, want)
		}
	}
}

// prompted is a scorer that passes when the prompt it was given ends with
// the case's id: it checks that Score hands criteria the recorded messages.
type prompted struct{}

func (prompted) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if len(in.Messages) > 0 && strings.HasSuffix(in.Messages[len(in.Messages)-1].Content, in.Case.ID) {
		return evals.Verdict{Score: 1, Pass: true}
	}
	return evals.Verdict{Reason: fmt.Sprintf("messages %v", in.Messages)}
}

func TestScoreWithNewCriteriaAndUnlistedTargets(t *testing.T) {
	rec := func(id, target, out string) *Recorded {
		return &Recorded{
			Case: &evals.Case{ID: id, Expected: "x"}, Target: target,
			Messages: []evals.Message{{Role: "user", Content: "about " + id}},
			Response: &evals.Response{Text: out, Latency: 1500 * time.Microsecond},
		}
	}
	recs := []*Recorded{
		rec("1", "zeta", "answer-2"), rec("2", "alpha", "answer-3"), rec("3", "main", "answer-4"),
		{Case: &evals.Case{ID: "4"}, Target: "main", Error: &evals.ResultError{Kind: evals.ErrKindTimeout, Message: "slow"}},
	}
	sink := &memSink{}
	sum, err := Score(context.Background(), ScoreOptions{
		RunID: "r", Suite: testSuite(t), Provider: "log",
		Criteria: []Criterion{crit("even", even{}), crit("prompt", prompted{})},
		Targets:  []evals.TargetSpec{{Name: "main", Provider: "test"}},
		Read: func(emit func(*Recorded) error) error {
			for _, r := range recs {
				if err := emit(r); err != nil {
					return err
				}
			}
			return nil
		},
		Sink: sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ts := range sum.Targets {
		names = append(names, ts.Name+"/"+ts.Provider)
	}
	if want := []string{"main/test", "alpha/log", "zeta/log"}; !slices.Equal(names, want) {
		t.Errorf("targets %v, want %v", names, want)
	}
	status := map[string]evals.Status{}
	for _, r := range sink.results {
		status[r.CaseID] = r.Status
		if r.CaseID == "1" && (r.LatencyMS != 1.5 || r.Expected != "x" || len(r.Scores) != 2 || !r.Scores[1].Pass) {
			t.Errorf("result 1: %+v", r)
		}
		if r.CaseID == "4" && (r.Error == nil || r.Error.Kind != evals.ErrKindTimeout || r.Scores != nil) {
			t.Errorf("result 4 should keep its error and have no scores: %+v", r)
		}
	}
	want := map[string]evals.Status{"1": evals.StatusPassed, "2": evals.StatusFailed, "3": evals.StatusPassed, "4": evals.StatusError}
	if fmt.Sprint(status) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", status, want)
	}
	if m := sum.Targets[0]; m.Cases != 2 || m.Errored != 1 || m.Passed != 1 {
		t.Errorf("main: %+v", m)
	}
}

func TestScoreReadErrorStops(t *testing.T) {
	bad := errors.New("log.jsonl:7: no field \"output\"")
	sink := &memSink{}
	_, err := Score(context.Background(), ScoreOptions{
		RunID: "r", Suite: testSuite(t), Criteria: []Criterion{crit("even", even{})},
		Read: func(emit func(*Recorded) error) error {
			for i := range 5 {
				if err := emit(&Recorded{Case: &evals.Case{ID: fmt.Sprint(i)}, Target: "t", Response: &evals.Response{Text: "answer-2"}}); err != nil {
					return err
				}
			}
			return bad
		},
		Sink: sink,
	})
	if !errors.Is(err, bad) {
		t.Fatalf("err = %v, want %v", err, bad)
	}
	if len(sink.results) != 5 {
		t.Errorf("%d results written before the error, want 5", len(sink.results))
	}
}

func TestScoreSinkFailureStopsReading(t *testing.T) {
	read := 0
	_, err := Score(context.Background(), ScoreOptions{
		RunID: "r", Suite: testSuite(t), Criteria: []Criterion{crit("even", even{})},
		Read: func(emit func(*Recorded) error) error {
			for i := range 100000 {
				read++
				if err := emit(&Recorded{Case: &evals.Case{ID: fmt.Sprint(i)}, Target: "t", Response: &evals.Response{Text: "answer-2"}}); err != nil {
					return err
				}
			}
			return nil
		},
		Sink: &memSink{failAt: 3}, Concurrency: 1,
	})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the sink's", err)
	}
	if read > 1000 {
		t.Errorf("read %d recordings after the sink failed", read)
	}
}

func TestScoreInterruptKeepsWhatWasScored(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &memSink{}
	sum, err := Score(ctx, ScoreOptions{
		RunID: "r", Suite: testSuite(t, "pass_rate >= 0"), Criteria: []Criterion{crit("even", even{})},
		Read: func(emit func(*Recorded) error) error {
			for i := 0; ; i++ {
				if i == 50 {
					cancel()
				}
				if err := emit(&Recorded{Case: &evals.Case{ID: fmt.Sprint(i)}, Target: "t", Response: &evals.Response{Text: "answer-2"}}); err != nil {
					return err
				}
			}
		},
		Sink: sink, Concurrency: 2,
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if n := len(sink.results); n < 50 || n > 60 {
		t.Errorf("%d results kept, want the 50 read before the interrupt and at most a few more", n)
	}
	if !sum.Interrupted || sum.Complete || sum.Gate.Held || sum.Targets[0].Cases != len(sink.results) {
		t.Errorf("summary: interrupted %v complete %v held %v cases %d", sum.Interrupted, sum.Complete, sum.Gate.Held, sum.Targets[0].Cases)
	}
}

func TestRecordedResult(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		want    []evals.Message
		wantErr string
	}{
		{"openai", `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"temperature":0}`,
			[]evals.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}}, ""},
		{"anthropic system", `{"system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"h"},{"type":"text","text":"i"}]}]}`,
			[]evals.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}}, ""},
		{"no messages", `{"prompt":"hi"}`, nil, ""},
		{"image part", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, nil,
			`messages[0].content: part 0 is "image_url", not text`},
		{"not JSON", `{"messages":`, nil, "request body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &evals.Result{CaseID: "c", Target: "t", Output: "o", Status: evals.StatusPassed, Request: &evals.SentRequest{Body: []byte(tc.body)}}
			rec, err := RecordedResult(r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rec.Messages, tc.want) {
				t.Errorf("messages %v, want %v", rec.Messages, tc.want)
			}
			if rec.Response.Text != "o" || rec.Error != nil {
				t.Errorf("recording %+v", rec)
			}
		})
	}
}

// countingSink counts results written, for the streaming test.
type countingSink struct{ n atomic.Int64 }

func (c *countingSink) Write(*evals.Result) error { c.n.Add(1); return nil }

// TestScoreStreams checks that Score holds a bounded number of recordings at
// once, whatever the number read: the reader is never more than the queues'
// capacity ahead of the sink.
func TestScoreStreams(t *testing.T) {
	const n, workers = 20000, 4
	sink := &countingSink{}
	var ahead int64
	_, err := Score(context.Background(), ScoreOptions{
		RunID: "r", Suite: testSuite(t), Criteria: []Criterion{crit("even", even{})}, Concurrency: workers,
		Read: func(emit func(*Recorded) error) error {
			for i := range n {
				if a := int64(i) - sink.n.Load(); a > ahead {
					ahead = a
				}
				if err := emit(&Recorded{Case: &evals.Case{ID: fmt.Sprint(i)}, Target: "t", Response: &evals.Response{Text: "answer-2"}}); err != nil {
					return err
				}
			}
			return nil
		},
		Sink: sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The recordings queue (workers), one in each worker, the results queue
	// (256), one at the collector.
	if limit := int64(workers + workers + 256 + 1); ahead > limit {
		t.Errorf("the reader got %d recordings ahead of the sink, more than the %d the queues hold", ahead, limit)
	}
	if sink.n.Load() != n {
		t.Errorf("%d results, want %d", sink.n.Load(), n)
	}
}

// TestRescoreKeepsRepeats rescores a run with repeats: the repeats section
// (reduced verdicts, pass@k, flaky cases) comes out as the run's.
func TestRescoreKeepsRepeats(t *testing.T) {
	list := []*evals.Case{
		{ID: "c000", Vars: map[string]any{"q": "0"}},
		{ID: "c001", Vars: map[string]any{"q": "1"}},
	}
	s := testSuite(t)
	crits := []Criterion{crit("ok", passWord{})}
	ran := &memSink{}
	runSum, err := Run(context.Background(), Options{
		Suite: s, Targets: []Target{target("m", byRepeat(map[string]string{"c000": "PPF", "c001": "FFF"}), 2)}, Criteria: crits,
		Open: func() (CaseSource, error) { return &cases{list: list}, nil }, Sink: ran, Repeat: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ran.results {
		r.Request = &evals.SentRequest{URL: "test://", Body: []byte(fmt.Sprintf(`{"messages":[{"role":"user","content":"Q: %s"}]}`, r.Vars["q"]))}
	}
	sum, err := Score(context.Background(), ScoreOptions{
		Suite: s, Criteria: crits, Targets: []evals.TargetSpec{{Name: "m", Provider: "test"}},
		Read: recordedFrom(t, ran.results), Sink: &memSink{}, Repeat: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	want, got := runSum.Targets[0].Repeats, sum.Targets[0].Repeats
	if want == nil || want.Flaky != 1 || !reflect.DeepEqual(got, want) {
		t.Errorf("rescore repeats %+v, run's %+v", got, want)
	}
}
