package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/provider"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// judge returns a batching judge endpoint at f's fake, as build makes one:
// its provider a Switch.
func (f *fixture) judge(t *testing.T) *evals.Endpoint {
	t.Helper()
	spec := f.suite.ResolvedTargets[0]
	spec.Name = "grader"
	ep, err := provider.Endpoint(spec, provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	ep.Provider = provider.NewSwitch(ep.Provider)
	return ep
}

// ask sends the judge's request of each of n cases (the prompt names the
// case's input, with " EXP" for c2) and returns the verdicts' texts and errors by case.
func ask(ctx context.Context, f *fixture, judge *evals.Endpoint, n int) (map[string]string, map[string]error) {
	texts, errs := map[string]string{}, map[string]error{}
	zero := 0.0
	for i := range n {
		id := fmt.Sprintf("c%d", i)
		q := fmt.Sprintf("word%d", i)
		if i == 2 {
			q += " EXP" // as the fixtures of the tests give it
		}
		resp, err := judge.Provider.Complete(ctx, &evals.Request{Target: "grader", CaseID: id, Messages: []evals.Message{
			{Role: "system", Content: "grade"}, {Role: "user", Content: "judge " + q}}, Params: &evals.Params{Temperature: &zero}})
		if err != nil {
			errs[id] = err
			continue
		}
		texts[id] = resp.Text
	}
	return texts, errs
}

// TestJudgesBatchThenAnswer: the pass finds the judge's requests and sends
// nothing; they go in one batch of phase judges, with custom ids of their
// own; after it the judge answers from the batch, without a live request.
// A request the batch expired leaves its case pending for every target,
// and a resume with NoSubmit sends only that one live.
func TestJudgesBatchThenAnswer(t *testing.T) {
	f := newFixture(t, 4, func(i int) bool { return i == 2 })
	f.fake.Expire = func(b []byte) bool { return bytes.Contains(b, []byte("judge word2 EXP")) }
	judge := f.judge(t)
	ctx := context.Background()

	res, err := Answers(ctx, f.options())
	if err != nil {
		t.Fatal(err)
	}
	passes := 0
	err = res.Judges(ctx, []*evals.Endpoint{judge}, func(ctx context.Context) error {
		passes++
		_, errs := ask(ctx, f, judge, 4)
		ask(ctx, f, judge, 4) // the same requests again: one batch request each
		for id, err := range errs {
			if !errors.Is(err, errDeferred) {
				t.Errorf("%s in the pass: %v, want it deferred", id, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	live, batches, reqs := f.fake.Counts()
	if passes != 1 || live != 0 || batches != 2 || reqs != 4+4 {
		t.Fatalf("%d passes, %d live requests, %d batches of %d requests; want 1, 0, 2, 8", passes, live, batches, reqs)
	}
	m, err := rundir.ReadManifest(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if b := m.Batches[1]; len(m.Batches) != 2 || b.Phase != PhaseJudges || b.Target != "grader" || b.Answered != 3 || !b.Collected {
		t.Errorf("run.json batches %+v", m.Batches)
	}
	if res.Unanswered != 1 || res.Reasons["expired"] != 1 || !res.Pending("t", "c2", 0) || !res.Pending("other", "c2", 0) || res.Pending("t", "c1", 0) {
		t.Errorf("unanswered %d %v; pending c2 %v, c1 %v", res.Unanswered, res.Reasons, res.Pending("t", "c2", 0), res.Pending("t", "c1", 0))
	}
	texts, errs := ask(ctx, f, judge, 4)
	if live, _, _ := f.fake.Counts(); live != 1 || len(errs) != 0 || texts["c1"] != "judge word1" {
		// c2's request, not pending in this direct call, is the one sent.
		t.Errorf("after the phase: %d live requests, errors %v, c1 %q; want only c2's live", live, errs, texts["c1"])
	}
	res.Close()

	// The resumed run with --no-batch: nothing submitted; the expired one
	// is sent live by the real pass.
	m, _ = rundir.ReadManifest(f.dir)
	f.m = m
	o := f.options()
	o.NoSubmit = true
	before, _, _ := f.fake.Counts()
	res, err = Answers(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if err := res.Judges(ctx, []*evals.Endpoint{judge}, func(ctx context.Context) error { ask(ctx, f, judge, 4); return nil }); err != nil {
		t.Fatal(err)
	}
	if res.Pending("t", "c2", 0) || res.Unanswered != 0 {
		t.Errorf("--no-batch: c2 pending %v, %d unanswered; want it left to the pipeline", res.Pending("t", "c2", 0), res.Unanswered)
	}
	if _, errs := ask(ctx, f, judge, 4); len(errs) != 0 {
		t.Errorf("--no-batch: %v", errs)
	}
	if live, batches, _ := f.fake.Counts(); live-before != 1 || batches != 2 {
		t.Errorf("--no-batch: %d live requests, %d batches; want c2's alone, no new batch", live-before, batches)
	}
}

// TestJudgeIDs: a judge's custom ids fit every API's pattern, differ from
// the answers', between judges and between requests, and are the same on
// resume.
func TestJudgeIDs(t *testing.T) {
	k1, k2 := [32]byte{1}, [32]byte{2}
	a, b := judgeID("run", "grader", k1), judgeID("run", "grader", k2)
	if a == b || a == judgeID("run", "other", k1) || a != judgeID("run", "grader", k1) || !strings.HasPrefix(a, "j-") || len(a) > 64 {
		t.Errorf("ids %s %s", a, b)
	}
	if strings.HasPrefix(customID("run", "grader", "c", 0), "j-") {
		t.Error("the answers' ids share the judges' prefix")
	}
}

// TestKeepAnswersOnce: with a judge phase, what the targets answered in the
// pass that finds the judges' requests is answered again from the run's
// store, whole, and not sent again.
func TestKeepAnswersOnce(t *testing.T) {
	f := newFixture(t, 3, nil)
	live := *f.ep
	live.Batch = nil // a target answering live
	judge := f.judge(t)
	ctx := context.Background()
	res, err := Answers(ctx, f.options())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	var first []*evals.Response
	send := func() []*evals.Response {
		var out []*evals.Response
		p := res.Wrap(&evals.Endpoint{Spec: evals.TargetSpec{Name: "live"}, Provider: live.Provider})
		for i := range 3 {
			r, err := p.Complete(ctx, &evals.Request{Target: "live", CaseID: fmt.Sprint("c", i), Messages: []evals.Message{{Role: "user", Content: fmt.Sprint("hello ", i)}}})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	before, _, _ := f.fake.Counts()
	if err := res.Judges(ctx, []*evals.Endpoint{judge}, func(ctx context.Context) error {
		first = send()
		ask(ctx, f, judge, 3)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	again := send()
	if n, _, _ := f.fake.Counts(); n-before != 3 {
		t.Errorf("%d live requests for 3 answers over two passes, want 3", n-before)
	}
	for i := range again {
		a, b := first[i], again[i]
		if a.Text != b.Text || a.Usage != b.Usage || b.Sent == nil || string(a.Sent.Body) != string(b.Sent.Body) || b.Latency <= 0 || b.Cached {
			t.Errorf("answer %d: first %+v, again %+v", i, a, b)
		}
	}
}
