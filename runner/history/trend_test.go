package history

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// memStore is a Store in memory, for the tests of what reads a history. It
// passes the stores' conformance suite (conformance_test.go).
type memStore struct {
	mu     sync.Mutex
	runs   []Run
	cases  map[string][]Case
	agreed []evals.Agreement
}

func (m *memStore) RecordAgreement(_ context.Context, a *evals.Agreement) error {
	if _, err := agreementRecord(a); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.agreed = slices.DeleteFunc(m.agreed, func(x evals.Agreement) bool {
		return x.RunID == a.RunID && x.Judge == a.Judge && x.Key == a.Key
	})
	m.agreed = append(m.agreed, *a)
	return nil
}

func (m *memStore) Agreements(_ context.Context, f AgreementFilter) ([]evals.Agreement, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []evals.Agreement
	for i := len(m.agreed) - 1; i >= 0; i-- { // the last recorded first among equals
		if a := m.agreed[i]; matchesAgreement(f, &a) {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b evals.Agreement) int { return b.Measured.Compare(a.Measured) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (m *memStore) Record(_ context.Context, r *Run, cases func(add func(Case) error) error) error {
	if r.ID == "" {
		return errors.New("a run without an id")
	}
	var got []Case
	if cases != nil {
		if err := cases(func(c Case) error { c.RunID, c.Result = r.ID, bytes.Clone(c.Result); got = append(got, c); return nil }); err != nil {
			return err
		}
	}
	// In order, a case given twice keeping its first entry.
	slices.SortStableFunc(got, func(a, b Case) int {
		return cmp.Or(strings.Compare(a.Target, b.Target), strings.Compare(a.CaseID, b.CaseID), cmp.Compare(a.Repeat, b.Repeat))
	})
	got = slices.CompactFunc(got, func(a, b Case) bool {
		return a.Target == b.Target && a.CaseID == b.CaseID && a.Repeat == b.Repeat
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs = slices.DeleteFunc(m.runs, func(x Run) bool { return x.ID == r.ID })
	m.runs = append(m.runs, *r)
	if m.cases == nil {
		m.cases = map[string][]Case{}
	}
	m.cases[r.ID] = got
	return nil
}

func (m *memStore) Runs(_ context.Context, f Filter) ([]Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Run
	for _, r := range m.runs {
		if f.Suite != "" && r.Suite != f.Suite {
			continue
		}
		if f.Target != "" && !slices.ContainsFunc(r.Targets, func(t Target) bool { return t.Name == f.Target }) {
			continue
		}
		r.Report = nil
		r.Missing = missing(&r)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Run) int { return cmp.Or(b.Started.Compare(a.Started), strings.Compare(b.ID, a.ID)) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (m *memStore) Get(_ context.Context, id string) (*Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.runs {
		if r.ID == id {
			r.Missing = missing(&r)
			return &r, nil
		}
	}
	return nil, ErrNotFound
}

func (m *memStore) Cases(_ context.Context, id string, fn func(Case) error) error {
	m.mu.Lock()
	cases, ok := m.cases[id]
	m.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	for _, c := range cases {
		c.Result = nil
		if err := fn(c); err != nil {
			if err == ErrStop {
				return nil
			}
			return err
		}
	}
	return nil
}

func (m *memStore) Result(_ context.Context, id, target, caseID string, repeat int) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.cases[id] {
		if c.Target == target && c.CaseID == caseID && c.Repeat == repeat {
			if len(bytes.TrimSpace(c.Result)) == 0 {
				return nil, nil
			}
			return bytes.TrimRight(c.Result, "\r\n"), nil
		}
	}
	return nil, ErrNotFound
}

func (m *memStore) Forget(_ context.Context, ids ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs = slices.DeleteFunc(m.runs, func(r Run) bool { return slices.Contains(ids, r.ID) })
	for _, id := range ids {
		delete(m.cases, id)
	}
	return nil
}

func (m *memStore) Close() error { return nil }

// record adds a run of suite with one target "m" whose cases pass as pass
// says (case i passes when pass[i]); the report holds the pass rate, its
// interval and the mean as a run's would.
func record(t *testing.T, s Store, id, suite string, day int, complete bool, pass []bool, tags ...string) {
	t.Helper()
	n, passed := len(pass), 0
	var cases []Case
	for i, p := range pass {
		score := 0.0
		status := evals.StatusFailed
		if p {
			passed++
			score, status = 1, evals.StatusPassed
		}
		c := Case{RunID: id, Target: "m", CaseID: fmt.Sprintf("c%02d", i), Status: string(status), Score: &score}
		if i < len(tags) {
			c.Slices = []string{tags[i]}
		}
		cases = append(cases, c)
	}
	rate := float64(passed) / float64(n)
	sum := evals.Summary{Suite: suite, Statistics: evals.DefaultStatistics(), Targets: []evals.TargetSummary{{Name: "m", Model: "v" + id,
		Figures: evals.Figures{Cases: n, Passed: passed, PassRate: rate, PassRateCI: &evals.Interval{Lo: rate - 0.1, Hi: rate + 0.1},
			Mean: rate, Scored: n}}}}
	rep, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{ID: id, Kind: "run", Suite: suite, Complete: complete, Started: time.Date(2026, 12, day, 0, 0, 0, 0, time.UTC),
		Targets: []Target{{Name: "m", Model: "v" + id, Cases: n, Passed: passed, PassRate: rate}}, Report: rep, GitCommit: "abc" + id}
	if err := s.Record(context.Background(), r, func(add func(Case) error) error {
		for _, c := range cases {
			if err := add(c); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// passes returns n results of which the first k pass.
func passes(n, k int) []bool {
	out := make([]bool, n)
	for i := range k {
		out[i] = true
	}
	return out
}

func TestTrends(t *testing.T) {
	s := &memStore{}
	record(t, s, "r1", "qa", 1, true, passes(20, 11))
	record(t, s, "r2", "qa", 2, true, passes(20, 12))   // one fix: chance
	record(t, s, "rx", "qa", 3, false, passes(20, 1))   // interrupted: left out
	record(t, s, "r3", "qa", 4, true, passes(20, 20))   // eight fixes, no regression
	record(t, s, "o1", "other", 5, true, passes(20, 0)) // another suite
	trends, err := Trends(context.Background(), s, "qa", "", "pass_rate", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(trends) != 1 || trends[0].Target != "m" {
		t.Fatalf("trends %+v", trends)
	}
	pts := trends[0].Points
	var ids []string
	for _, p := range pts {
		ids = append(ids, p.RunID)
	}
	if strings.Join(ids, ",") != "r1,r2,r3" {
		t.Fatalf("points %v: want the complete runs of qa, oldest first", ids)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if pts[0].Change != nil || !near(*pts[0].Value, 0.55) || !near(*pts[0].Lo, 0.45) || !near(*pts[0].Hi, 0.65) || pts[0].Model != "vr1" || pts[0].GitCommit != "abcr1" {
		t.Errorf("first point %+v", pts[0])
	}
	// r2 against r1: one discordant pair, p = 1. r3 against r2: eight fixes,
	// no regression: McNemar's exact p = 2 × 0.5^8 = 0.0078.
	if c := pts[1].Change; c == nil || c.Significant || !c.Tested || c.P != 1 || c.Matched != 20 {
		t.Errorf("r2's change %+v: one fix is chance", c)
	}
	if c := pts[2].Change; c == nil || !c.Significant || !near(c.P, 2.0/256) || !near(c.Delta, 0.4) {
		t.Errorf("r3's change %+v: eight fixes are not chance", c)
	}

	limited, err := Trends(context.Background(), s, "qa", "m", "pass_rate", 2)
	if err != nil || len(limited[0].Points) != 2 || limited[0].Points[0].RunID != "r2" {
		t.Errorf("limit 2: %+v, %v; want the two newest, r2 and r3", limited, err)
	}
	// A metric some runs lack is missing there, with the reason.
	crit, err := Trends(context.Background(), s, "qa", "", "criteria.x.mean", 0)
	if err != nil || crit[0].Points[0].Value != nil || crit[0].Points[0].Missing != "no criterion x" {
		t.Errorf("criteria.x.mean: %+v, %v", crit, err)
	}
	// Only pass_rate and mean have a test; other changes are not marked.
	lat, err := Trends(context.Background(), s, "qa", "", "error_rate", 0)
	if err != nil || lat[0].Points[2].Change == nil || lat[0].Points[2].Change.Tested {
		t.Errorf("error_rate: %+v, %v", lat, err)
	}
	for _, tc := range []struct{ suite, target, metric, err string }{
		{"nope", "", "pass_rate", `no complete run of suite "nope" in the history`},
		{"qa", "gpt", "pass_rate", `no complete run of suite "qa" in the history with target "gpt"`},
		{"qa", "", "pass_rat", `--metric "pass_rat": unknown metric`},
		{"qa", "", "delta.pass_rate", "not comparisons"},
	} {
		if _, err := Trends(context.Background(), s, tc.suite, tc.target, tc.metric, 0); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s/%s/%s: error %v, want %q", tc.suite, tc.target, tc.metric, err, tc.err)
		}
	}
}

// TestTrendOfASlice: a slice's change is tested on the slice's cases only.
func TestTrendOfASlice(t *testing.T) {
	s := &memStore{}
	tags := make([]string, 20)
	for i := range tags {
		tags[i] = "tag=a"
		if i%2 == 1 {
			tags[i] = "tag=b"
		}
	}
	record(t, s, "r1", "qa", 1, true, passes(20, 4), tags...)
	record(t, s, "r2", "qa", 2, true, passes(20, 20), tags...)
	// The report of these runs has no slices: the value is missing, and
	// no change is computed from the cases alone.
	tr, err := Trends(context.Background(), s, "qa", "", "slice(tag=a).pass_rate", 0)
	if err != nil || tr[0].Points[1].Missing != "no case is in slice tag=a" {
		t.Fatalf("%+v, %v", tr, err)
	}
	out, err := caseOutcomes(context.Background(), s, "r2", evals.MetricRef{SliceKey: "tag", SliceValue: "b", Stat: "pass_rate"})
	if err != nil || len(out["m"]) != 10 {
		t.Errorf("the cases of slice tag=b: %d, %v; want 10", len(out["m"]), err)
	}
}

func TestSparkline(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		in   []*float64
		want string
	}{
		{[]*float64{f(0), f(0.5), f(1)}, "▁▅█"},
		{[]*float64{f(2), nil, f(2)}, "▄ ▄"},
		{nil, ""},
	} {
		if got := Sparkline(tc.in); got != tc.want {
			t.Errorf("Sparkline = %q, want %q", got, tc.want)
		}
	}
}

// matchesAgreement reports whether f selects a, as the stores' SQL does.
func matchesAgreement(f AgreementFilter, a *evals.Agreement) bool {
	return (f.Suite == "" || a.Suite == f.Suite) && (f.Judge == "" || a.Judge == f.Judge) && (f.Key == "" || a.Key == f.Key)
}
