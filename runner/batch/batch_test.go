package batch

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/provider"
	"github.com/rubric-eval/rubric/runner/provider/batchfake"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// fixture is a suite of n cases, input "word{i}" (with " EXP" for those
// expire picks), and a batching openai target at the fake.
type fixture struct {
	suite *evals.Suite
	ep    *evals.Endpoint
	fake  *batchfake.Server
	dir   string
	m     *rundir.Manifest
}

func newFixture(t *testing.T, n int, expire func(i int) bool) *fixture {
	t.Helper()
	fake := batchfake.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	var cases []string
	for i := range n {
		q := fmt.Sprintf("word%d", i)
		if expire != nil && expire(i) {
			q += " EXP"
		}
		cases = append(cases, fmt.Sprintf(`{"id": "c%d", "vars": {"q": %q}}`, i, q))
	}
	path := filepath.Join(t.TempDir(), "suite.json")
	if err := os.WriteFile(path, []byte(`{
  "name": "s", "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [`+strings.Join(cases, ",")+`]},
  "criteria": [{"name": "any", "type": "regex", "pattern": "."}],
  "targets": [{"name": "t", "provider": "openai", "model": "m", "base_url": "`+srv.URL+`/v1", "batch": true}]
}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, probs, err := evals.Parse(context.Background(), path, evals.LoadOptions{})
	if err != nil || len(probs) > 0 {
		t.Fatalf("suite: %v %v", err, probs)
	}
	ep, err := provider.Endpoint(s.ResolvedTargets[0], provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	dir := t.TempDir()
	m := &rundir.Manifest{RunID: "run-1"}
	if err := rundir.WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	return &fixture{suite: s, ep: ep, fake: fake, dir: dir, m: m}
}

func (f *fixture) options() Options {
	return Options{
		RunID: "run-1", Dir: f.dir, Manifest: f.m, Suite: f.suite, Targets: []*evals.Endpoint{f.ep},
		Open:   func() (datasets.Reader, error) { return datasets.Open(f.suite) },
		Repeat: 1, Poll: time.Millisecond,
	}
}

// answers asks the wrapped endpoint of each case and returns how many were
// answered from the batches (without a live request).
func (f *fixture) answers(t *testing.T, res *Result, n int) int {
	t.Helper()
	p := res.Wrap(f.ep)
	before, _, _ := f.fake.Counts()
	got := 0
	src, err := datasets.Open(f.suite)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for range n {
		c, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		if res.Pending("t", c.ID, 0) {
			continue
		}
		msgs, _ := f.suite.Render(c)
		if _, err := p.Complete(context.Background(), &evals.Request{Target: "t", CaseID: c.ID, Messages: msgs, Vars: c.Vars}); err != nil {
			t.Fatal(err)
		}
		got++
	}
	after, _, _ := f.fake.Counts()
	return got - (after - before)
}

// TestAnswersSplitsWithinLimits: more requests than a batch may hold go in
// several batches, each recorded in run.json.
func TestAnswersSplitsWithinLimits(t *testing.T) {
	saved := provider.OpenAIBatchLimits
	provider.OpenAIBatchLimits = provider.BatchLimits{Requests: 4, Bytes: 1 << 20}
	defer func() { provider.OpenAIBatchLimits = saved }()
	f := newFixture(t, 10, nil)
	res, err := Answers(context.Background(), f.options())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	_, batches, reqs := f.fake.Counts()
	if batches != 3 || reqs != 10 || res.Unanswered != 0 {
		t.Errorf("%d batches of %d requests, %d unanswered; want 3 of 10, 0", batches, reqs, res.Unanswered)
	}
	m, err := rundir.ReadManifest(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Batches) != 3 || m.Batches[0].Requests != 4 || m.Batches[2].Requests != 2 || !m.Batches[2].Collected {
		t.Errorf("run.json batches %+v", m.Batches)
	}
	if n := f.answers(t, res, 10); n != 10 {
		t.Errorf("%d of 10 answered from the batches", n)
	}

	// By bytes too.
	provider.OpenAIBatchLimits = provider.BatchLimits{Requests: 100, Bytes: 300}
	var reqsIn []*request
	for i := range 5 {
		reqsIn = append(reqsIn, &request{id: fmt.Sprintf("r-%d", i), body: bytes.Repeat([]byte("x"), 100)})
	}
	if parts := split(reqsIn, f.ep.Batch.(provider.BatchAPI)); len(parts) != 5 {
		t.Errorf("5 requests of ~170 bytes within 300 bytes: %d batches, want 5", len(parts))
	}
}

// TestAnswersResubmitsOnlyUnanswered: a partial expiry keeps the answers,
// marks the rest pending; the next attempt submits only those, as a new
// batch, and nothing answered is sent again.
func TestAnswersResubmitsOnlyUnanswered(t *testing.T) {
	f := newFixture(t, 6, func(i int) bool { return i%3 == 0 })
	f.fake.Expire = func(b []byte) bool { return bytes.Contains(b, []byte("EXP")) }
	f.fake.Polls = 2
	res, err := Answers(context.Background(), f.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Unanswered != 2 || res.Reasons["expired"] != 2 || !res.Pending("t", "c0", 0) || res.Pending("t", "c1", 0) {
		t.Errorf("unanswered %d %v, pending c0 %v c1 %v", res.Unanswered, res.Reasons, res.Pending("t", "c0", 0), res.Pending("t", "c1", 0))
	}
	if err := res.Problem("rubric run --resume run-1"); err == nil || !strings.Contains(err.Error(), "2 expired") || !strings.Contains(err.Error(), "--no-batch") {
		t.Errorf("problem: %v", err)
	}
	if n := f.answers(t, res, 6); n != 4 {
		t.Errorf("%d answered from the batch, want 4", n)
	}
	res.Close()

	// The resumed run: the expiry is over.
	f.fake.Expire = nil
	m, err := rundir.ReadManifest(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	res, err = Answers(context.Background(), f.options())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	_, batches, reqs := f.fake.Counts()
	if batches != 2 || reqs != 6+2 || res.Unanswered != 0 {
		t.Errorf("%d batches, %d requests in all, %d unanswered; want 2, 8, 0", batches, reqs, res.Unanswered)
	}
	if n := f.answers(t, res, 6); n != 6 {
		t.Errorf("%d of 6 answered from the batches", n)
	}
}

// TestAnswersDetach: --detach submits and returns; the next attempt, with
// the batch still running, checks once; then it collects.
func TestAnswersDetach(t *testing.T) {
	f := newFixture(t, 3, nil)
	f.fake.Polls = 1
	o := f.options()
	o.Detach = true
	res, err := Answers(context.Background(), o)
	if err != nil || !res.Detached || res.InFlight != 3 {
		t.Fatalf("detached %v in flight %d err %v", res.Detached, res.InFlight, err)
	}
	res.Close()
	res, err = Answers(context.Background(), o) // still in progress
	if err != nil || !res.Detached {
		t.Fatalf("second check: detached %v err %v", res.Detached, err)
	}
	res.Close()
	o.Detach = false
	res, err = Answers(context.Background(), o)
	if err != nil || res.Detached || res.Unanswered != 0 {
		t.Fatalf("collect: %+v %v", res, err)
	}
	defer res.Close()
	if _, batches, _ := f.fake.Counts(); batches != 1 {
		t.Errorf("%d batches, want the one submitted", batches)
	}
	if n := f.answers(t, res, 3); n != 3 {
		t.Errorf("%d of 3 answered", n)
	}
}
