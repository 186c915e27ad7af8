package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
	"github.com/rubric-eval/rubric/evals/evalstest"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/report"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// The corpus of sacrebleu's README, whose corpus_bleu is 48.530827 (issue 4;
// sacrebleu's test/test_bleu.py).
var (
	bleuHyps = []string{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."}
	bleuRefs = [][]string{
		{"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
		{"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
	}
)

const publishedCorpusBLEU = 48.530827

// bleuCases are the README's segments as cases s0..s2, whose references are
// the i-th element of each stream, plus a case whose references are all
// empty (bleu leaves it unscored) and one the endpoint fails: neither may
// count in corpus BLEU.
func bleuCases() []*evals.Case {
	var cs []*evals.Case
	for i := range bleuHyps {
		cs = append(cs, &evals.Case{ID: fmt.Sprintf("s%d", i), Vars: map[string]any{"src": fmt.Sprint(i)},
			Expected: []any{bleuRefs[0][i], bleuRefs[1][i]}, Tags: []string{"readme"}})
	}
	return append(cs,
		&evals.Case{ID: "no-ref", Vars: map[string]any{"src": "x"}, Expected: []any{"", ""}, Tags: []string{"readme"}},
		&evals.Case{ID: "down", Vars: map[string]any{"src": "y"}, Expected: "The dog bit the man."})
}

type caseSlice struct {
	list []*evals.Case
	i    int
}

func (c *caseSlice) Next() (*evals.Case, error) {
	if c.i == len(c.list) {
		return nil, io.EOF
	}
	c.i++
	return c.list[c.i-1], nil
}

func (c *caseSlice) Close() error { return nil }

// translator answers each README case with its hypothesis, fails "down",
// and answers anything else "whatever".
func translator() *evalstest.Provider {
	answers := map[string]string{}
	for i, h := range bleuHyps {
		answers[fmt.Sprintf("s%d", i)] = h
	}
	return &evalstest.Provider{
		Answers: answers,
		Errors:  map[string]error{"down": &evals.ProviderError{Kind: evals.ErrKindHTTP, Status: 503, Message: "down"}},
		Text:    "whatever",
	}
}

func bleuSuite(t *testing.T) (*evals.Suite, []runner.Criterion) {
	t.Helper()
	s := &evals.Suite{Name: "corpus", Messages: []evals.Message{{Role: "user", Content: "{{ src }}"}}, CasePass: evals.CasePassAll}
	s.Templates = []*evals.Template{evals.MustParseTemplate(s.Messages[0].Content)}
	var crits []runner.Criterion
	for _, raw := range []string{
		`{"name":"bleu","type":"bleu","threshold":0.3}`,
		`{"name":"close","type":"levenshtein","threshold":0.5}`,
	} {
		var spec evals.CriterionSpec
		if err := json.Unmarshal([]byte(raw), &spec); err != nil {
			t.Fatal(err)
		}
		spec.Raw = json.RawMessage(raw)
		sc, err := criteria.New(spec, criteria.Env{})
		if err != nil {
			t.Fatal(err)
		}
		crits = append(crits, runner.Criterion{Spec: spec, Scorer: sc})
	}
	return s, crits
}

func bleuTarget(p evals.Provider) runner.Target {
	return runner.Target{Spec: evals.TargetSpec{Name: "mt", Provider: "test", Concurrency: 3}, Provider: p}
}

// checkCorpusBLEU checks the target's corpus BLEU: sacrebleu's published value
// to 6 decimals on the bleu criterion, over the 3 responses it scored; none
// on the other criterion, nor in slices.
func checkCorpusBLEU(t *testing.T, sum *evals.Summary) {
	t.Helper()
	if len(sum.Targets) != 1 {
		t.Fatalf("%d targets", len(sum.Targets))
	}
	tg := sum.Targets[0]
	if tg.Cases != 5 || tg.Errored != 1 {
		t.Errorf("cases %d, errored %d; want 5 and 1", tg.Cases, tg.Errored)
	}
	b := tg.Criteria[0]
	if b.N != 3 || b.Unscored != 1 {
		t.Errorf("bleu scored %d, unscored %d; want 3 and 1", b.N, b.Unscored)
	}
	if b.CorpusBLEU == nil {
		t.Fatal("bleu has no corpus BLEU")
	}
	if got := math.Round(*b.CorpusBLEU*1e6) / 1e6; got != publishedCorpusBLEU {
		t.Errorf("corpus BLEU = %.8f, want %.6f (sacrebleu corpus_bleu)", *b.CorpusBLEU, publishedCorpusBLEU)
	}
	if c := tg.Criteria[1]; c.CorpusBLEU != nil {
		t.Errorf("levenshtein has corpus BLEU %v", *c.CorpusBLEU)
	}
	for _, sl := range tg.Slices {
		for _, c := range sl.Criteria {
			if c.CorpusBLEU != nil {
				t.Errorf("slice %s: %s has corpus BLEU %v", sl.Name(), c.Name, *c.CorpusBLEU)
			}
		}
	}
}

// runBLEU runs the README corpus and returns the summary and the journal.
func runBLEU(t *testing.T) (*evals.Summary, string) {
	t.Helper()
	s, crits := bleuSuite(t)
	journal := filepath.Join(t.TempDir(), "results.jsonl")
	sink, err := rundir.CreateJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := runner.Run(context.Background(), runner.Options{
		RunID: "r1", Suite: s, Targets: []runner.Target{bleuTarget(translator())}, Criteria: crits,
		Open: func() (runner.CaseSource, error) { return &caseSlice{list: bleuCases()}, nil }, Sink: sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return sum, journal
}

func readJournal(t *testing.T, path string) []*evals.Result {
	t.Helper()
	var rs []*evals.Result
	if _, err := rundir.ReadJournal(path, func(r *evals.Result) error { rs = append(rs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestRunCorpusBLEU runs sacrebleu's README corpus end to end: a bleu
// criterion's report gives corpus_bleu's published value, and each result
// records the counts behind it.
func TestRunCorpusBLEU(t *testing.T) {
	sum, journal := runBLEU(t)
	checkCorpusBLEU(t, sum)
	for _, r := range readJournal(t, journal) {
		if r.Error != nil {
			continue
		}
		b, other := r.Scores[0], r.Scores[1]
		if b.Unscored != (b.BLEU == nil) {
			t.Errorf("%s: bleu unscored %v with counts %+v", r.CaseID, b.Unscored, b.BLEU)
		}
		if other.BLEU != nil {
			t.Errorf("%s: levenshtein has BLEU counts", r.CaseID)
		}
	}
	var out strings.Builder
	if err := report.Text(&out, sum, report.Style{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "bleu         33.3% pass [6.1-79.2], mean 0.480, corpus BLEU 48.53, 1 unscored\n") {
		t.Errorf("the summary does not show corpus BLEU:\n%s", out.String())
	}
}

// TestResumeAndRescoreKeepCorpusBLEU checks that the counts recorded in
// results.jsonl give the same corpus BLEU when --resume feeds them back
// (Options.Prior) and when rubric score --run scores the responses again.
func TestResumeAndRescoreKeepCorpusBLEU(t *testing.T) {
	_, journal := runBLEU(t)
	recorded := readJournal(t, journal)
	s, crits := bleuSuite(t)

	// A resumed run: s0 and the failed case were recorded before the
	// interrupt; the rest is sent again.
	resume := func(t *testing.T, prior []*evals.Result) (*evals.Summary, int) {
		t.Helper()
		done := map[string]bool{}
		for _, r := range prior {
			done[r.CaseID] = true
		}
		p := translator()
		sum, err := runner.Run(context.Background(), runner.Options{
			RunID: "r1", Suite: s, Targets: []runner.Target{bleuTarget(p)}, Criteria: crits,
			Open: func() (runner.CaseSource, error) { return &caseSlice{list: bleuCases()}, nil },
			Sink: &collect{},
			Done: func(_, id string, _ int) bool { return done[id] },
			Prior: func(add func(*evals.Result)) error {
				for _, r := range prior {
					add(r)
				}
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return sum, p.Count()
	}
	var part []*evals.Result
	for _, r := range recorded {
		if r.CaseID == "s0" || r.CaseID == "down" {
			part = append(part, r)
		}
	}
	t.Run("resume", func(t *testing.T) {
		sum, calls := resume(t, part)
		if calls != 3 {
			t.Errorf("%d requests sent, want 3", calls)
		}
		checkCorpusBLEU(t, sum)
	})
	t.Run("resume with everything done", func(t *testing.T) {
		sum, calls := resume(t, recorded)
		if calls != 0 {
			t.Errorf("%d requests sent, want 0", calls)
		}
		checkCorpusBLEU(t, sum)
	})
	t.Run("a result without counts", func(t *testing.T) {
		// Written by a rubric that did not record them: corpus BLEU over
		// the other responses would not be sacrebleu's, so there is none.
		old := *part[0]
		if old.CaseID != "s0" {
			old = *part[1]
		}
		old.Scores = append([]evals.Score(nil), old.Scores...)
		old.Scores[0].BLEU = nil
		sum, _ := resume(t, []*evals.Result{&old})
		if c := sum.Targets[0].Criteria[0]; c.N != 3 || c.CorpusBLEU != nil {
			t.Errorf("n %d, corpus BLEU %v; want 3 and none", c.N, c.CorpusBLEU)
		}
	})
	t.Run("rescore", func(t *testing.T) {
		sum, err := runner.Score(context.Background(), runner.ScoreOptions{
			RunID: "r2", Suite: s, Criteria: crits, Targets: []evals.TargetSpec{{Name: "mt", Provider: "test"}},
			Read: func(emit func(*runner.Recorded) error) error {
				for _, r := range recorded {
					rec, err := runner.RecordedResult(r)
					if err != nil {
						return err
					}
					if err := emit(rec); err != nil {
						return err
					}
				}
				return nil
			},
			Sink: &collect{}, Concurrency: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		checkCorpusBLEU(t, sum)
	})
}
