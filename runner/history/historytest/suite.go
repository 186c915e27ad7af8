package historytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// Open opens a fresh, empty Store for one test. It registers with t what
// closes and removes the store when the test ends; the suite closes the
// store itself too, so Close must be safe to call twice.
type Open func(t *testing.T) history.Store

// Run is the conformance suite: every Store runs it, so that each behaves
// as history.Store says and as the others do.
func Run(t *testing.T, open Open) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, history.Store)
	}{
		{"RecordGet", testRecordGet},
		{"GetUnknown", testGetUnknown},
		{"RecordReplaces", testRecordReplaces},
		{"RecordFailsWhole", testRecordFailsWhole},
		{"RunsNewestFirst", testRunsNewestFirst},
		{"RunsFilter", testRunsFilter},
		{"Missing", testMissing},
		{"MissingOnlyHere", testMissingOnlyHere},
		{"Results", testResults},
		{"CasesOrder", testCasesOrder},
		{"CasesStop", testCasesStop},
		{"Forget", testForget},
		{"Concurrent", testConcurrent},
		{"ManyCases", testManyCases},
		{"Agreements", testAgreements},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// day is a start time: a day of December 2026, to the nanosecond, the
// precision every store keeps.
func day(d int) time.Time {
	return time.Date(2026, 12, d, 10, 30, 15, 123456789, time.UTC)
}

// sampleRun returns a run with every field set.
func sampleRun(id, suite string, d int, targets ...string) *history.Run {
	held := true
	r := &history.Run{
		ID: id, Kind: "run", Suite: suite, SuiteVersion: "1.2", SuiteSHA256: "ab12", DatasetSHA256: "cd34",
		GitCommit: "0123abc", GitBranch: "main", Started: day(d), Finished: day(d).Add(90 * time.Second),
		Complete: true, GateHeld: &held, Dir: "", Host: history.Hostname(),
		Report: json.RawMessage(`{"suite":"` + suite + `","targets":[{"name":"x","pass_rate":0.75}],"n":1e-7}`),
	}
	if len(targets) == 0 {
		targets = []string{"m"}
	}
	for i, name := range targets {
		r.Targets = append(r.Targets, history.Target{Name: name, Provider: "openai", Model: "model-" + name,
			Cases: 4 + i, Passed: 3, PassRate: 3 / float64(4+i), PassRateLo: 0.25, PassRateHi: 0.95, Mean: 0.8125})
	}
	return r
}

// record records r with cases, failing the test on an error.
func record(t *testing.T, s history.Store, r *history.Run, cases ...history.Case) {
	t.Helper()
	if err := s.Record(context.Background(), r, addAll(cases)); err != nil {
		t.Fatalf("Record %s: %v", r.ID, err)
	}
}

func addAll(cases []history.Case) func(add func(history.Case) error) error {
	return func(add func(history.Case) error) error {
		for _, c := range cases {
			if err := add(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// casesOf returns the indexed cases of a run.
func casesOf(t *testing.T, s history.Store, id string) []history.Case {
	t.Helper()
	var out []history.Case
	if err := s.Cases(context.Background(), id, func(c history.Case) error {
		out = append(out, c)
		return nil
	}); err != nil {
		t.Fatalf("Cases %s: %v", id, err)
	}
	return out
}

func score(v float64) *float64 { return &v }

// runFolder returns a new folder holding an empty journal: a run's folder
// that is there.
func runFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, rundir.ResultsFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sameRun reports how got differs from want, "" when it does not; the
// report is compared as JSON, times by the instant, Missing not at all.
func sameRun(got, want *history.Run, withReport bool) string {
	var diffs []string
	if !got.Started.Equal(want.Started) {
		diffs = append(diffs, fmt.Sprintf("started %v, want %v", got.Started, want.Started))
	}
	if !got.Finished.Equal(want.Finished) {
		diffs = append(diffs, fmt.Sprintf("finished %v, want %v", got.Finished, want.Finished))
	}
	if (got.GateHeld == nil) != (want.GateHeld == nil) || got.GateHeld != nil && *got.GateHeld != *want.GateHeld {
		diffs = append(diffs, fmt.Sprintf("gate_held %v, want %v", show(got.GateHeld), show(want.GateHeld)))
	}
	if withReport {
		if !sameJSON(got.Report, want.Report) {
			diffs = append(diffs, fmt.Sprintf("report %s, want %s", got.Report, want.Report))
		}
	} else if got.Report != nil {
		diffs = append(diffs, fmt.Sprintf("report %s, want none in a list", got.Report))
	}
	g, w := *got, *want
	// Missing has a test of its own.
	g.Started, g.Finished, g.GateHeld, g.Report, g.Missing = time.Time{}, time.Time{}, nil, nil, false
	w.Started, w.Finished, w.GateHeld, w.Report, w.Missing = time.Time{}, time.Time{}, nil, nil, false
	if len(g.Targets) == 0 {
		g.Targets = nil
	}
	if len(w.Targets) == 0 {
		w.Targets = nil
	}
	gj, _ := json.Marshal(g)
	wj, _ := json.Marshal(w)
	if !bytes.Equal(gj, wj) {
		diffs = append(diffs, fmt.Sprintf("got %s\nwant %s", gj, wj))
	}
	return strings.Join(diffs, "; ")
}

func show(b *bool) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprint(*b)
}

func sameJSON(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xj, _ := json.Marshal(x)
	yj, _ := json.Marshal(y)
	return bytes.Equal(xj, yj)
}

// sameCases compares case indexes, taking an empty list for none.
func sameCases(got, want []history.Case) string {
	norm := func(cs []history.Case) string {
		var b strings.Builder
		for _, c := range cs {
			if len(c.Failed) == 0 {
				c.Failed = nil
			}
			if len(c.Slices) == 0 {
				c.Slices = nil
			}
			j, _ := json.Marshal(c)
			b.Write(j)
			b.WriteByte('\n')
		}
		return b.String()
	}
	if g, w := norm(got), norm(want); g != w {
		return fmt.Sprintf("cases\n%s\nwant\n%s", g, w)
	}
	return ""
}

func testRecordGet(t *testing.T, s history.Store) {
	ctx := context.Background()
	r := sampleRun("r1", "qa", 1, "candidate", "baseline")
	r.Dir = runFolder(t)
	cases := []history.Case{
		{RunID: "r1", Target: "candidate", CaseID: "a", Repeat: 0, Status: "passed", Score: score(1), Slices: []string{"tag=x", "domain=billing"}, Off: 0, Len: 120},
		{RunID: "r1", Target: "candidate", CaseID: "b", Repeat: 0, Status: "failed", Score: score(0.25), Failed: []string{"exact", "judge"}, Off: 121, Len: 99},
		{RunID: "r1", Target: "candidate", CaseID: "c", Repeat: 0, Status: "error", ErrorKind: "timeout", Off: 1 << 33, Len: 7},
		{RunID: "r1", Target: "candidate", CaseID: "d", Repeat: 0, Status: "unscored", Score: score(0), Off: 5, Len: 1},
	}
	record(t, s, r, cases...)
	got, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if d := sameRun(got, r, true); d != "" {
		t.Errorf("Get after Record: %s", d)
	}
	if d := sameCases(casesOf(t, s, "r1"), cases); d != "" {
		t.Errorf("Cases after Record: %s", d)
	}

	// An interrupted run: no end, no gate, no report, no targets.
	bare := &history.Run{ID: "r2", Kind: "score", Suite: "qa", Started: day(2)}
	if err := s.Record(ctx, bare, nil); err != nil {
		t.Fatalf("Record without a cases function: %v", err)
	}
	got, err = s.Get(ctx, "r2")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if d := sameRun(got, bare, true); d != "" {
		t.Errorf("a bare run: %s", d)
	}
	if got.Report != nil || got.GateHeld != nil || !got.Finished.IsZero() {
		t.Errorf("a bare run came back with report %q, gate %v, finished %v", got.Report, show(got.GateHeld), got.Finished)
	}
	if cs := casesOf(t, s, "r2"); len(cs) != 0 {
		t.Errorf("a run recorded without cases has %d", len(cs))
	}
	// A run needs an id.
	if err := s.Record(ctx, &history.Run{Suite: "qa", Started: day(4)}, nil); err == nil {
		t.Error("a run without an id was recorded")
	}
	// A gate that failed is false, not absent.
	held := false
	r3 := sampleRun("r3", "qa", 3)
	r3.GateHeld = &held
	record(t, s, r3)
	if got, err := s.Get(ctx, "r3"); err != nil || got.GateHeld == nil || *got.GateHeld {
		t.Errorf("a failed gate: %+v, %v", got, err)
	}
}

func testGetUnknown(t *testing.T, s history.Store) {
	record(t, s, sampleRun("r1", "qa", 1))
	if r, err := s.Get(context.Background(), "nope"); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("Get of an unknown id: %+v, %v; want ErrNotFound", r, err)
	}
	if err := s.Cases(context.Background(), "nope", func(history.Case) error { return nil }); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("Cases of an unknown id: %v; want ErrNotFound", err)
	}
}

func testRecordReplaces(t *testing.T, s history.Store) {
	ctx := context.Background()
	r := sampleRun("r1", "qa", 1, "a", "b")
	r.Complete = false
	record(t, s, r,
		history.Case{RunID: "r1", Target: "a", CaseID: "1", Status: "passed"},
		history.Case{RunID: "r1", Target: "a", CaseID: "2", Status: "failed"},
		history.Case{RunID: "r1", Target: "b", CaseID: "1", Status: "passed"})
	// The run resumed and ended: recorded again, with one target.
	again := sampleRun("r1", "qa", 1, "a")
	again.Finished = day(2)
	again.Report = json.RawMessage(`{"suite":"qa","done":true}`)
	want := []history.Case{
		{RunID: "r1", Target: "a", CaseID: "1", Status: "passed", Off: 10, Len: 3},
		{RunID: "r1", Target: "a", CaseID: "2", Status: "passed", Off: 14, Len: 3},
	}
	record(t, s, again, want...)
	got, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if d := sameRun(got, again, true); d != "" {
		t.Errorf("after a second Record: %s", d)
	}
	if d := sameCases(casesOf(t, s, "r1"), want); d != "" {
		t.Errorf("after a second Record: %s", d)
	}
	if runs, err := s.Runs(ctx, history.Filter{}); err != nil || len(runs) != 1 {
		t.Errorf("Runs after a second Record: %d runs, %v; want 1", len(runs), err)
	}
	if runs, err := s.Runs(ctx, history.Filter{Target: "b"}); err != nil || len(runs) != 0 {
		t.Errorf("Runs of target b, which the new record lacks: %d runs, %v", len(runs), err)
	}
}

func testRecordFailsWhole(t *testing.T, s history.Store) {
	ctx := context.Background()
	r := sampleRun("r1", "qa", 1)
	first := []history.Case{{RunID: "r1", Target: "m", CaseID: "1", Status: "passed"}}
	record(t, s, r, first...)
	// A second Record whose cases fail halfway leaves the first whole.
	boom := errors.New("journal unreadable")
	again := sampleRun("r1", "qa", 1)
	again.Suite = "changed"
	err := s.Record(ctx, again, func(add func(history.Case) error) error {
		for i := range 5 {
			if err := add(history.Case{RunID: "r1", Target: "m", CaseID: fmt.Sprint("n", i), Status: "failed"}); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Record whose cases fail: %v; want the cases' error", err)
	}
	got, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatalf("Get after a failed Record: %v", err)
	}
	if d := sameRun(got, r, true); d != "" {
		t.Errorf("a failed Record changed the run: %s", d)
	}
	if d := sameCases(casesOf(t, s, "r1"), first); d != "" {
		t.Errorf("a failed Record changed the cases: %s", d)
	}
	// A case given twice keeps its first entry.
	dup := []history.Case{
		{RunID: "dup", Target: "t", CaseID: "a", Status: "failed", Failed: []string{"first"}, Slices: []string{"s=1"}},
		{RunID: "dup", Target: "t", CaseID: "b", Status: "passed"},
		{RunID: "dup", Target: "t", CaseID: "a", Status: "passed", Failed: []string{"second"}, Slices: []string{"s=2"}},
	}
	record(t, s, sampleRun("dup", "qa", 3, "t"), dup...)
	if d := sameCases(casesOf(t, s, "dup"), dup[:2]); d != "" {
		t.Errorf("a case given twice: %s", d)
	}
	// And a new run whose cases fail is not recorded at all.
	if err := s.Record(ctx, sampleRun("r2", "qa", 2), func(func(history.Case) error) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Record: %v; want the cases' error", err)
	}
	if _, err := s.Get(ctx, "r2"); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("a run whose Record failed is there: %v", err)
	}
}

func ids(runs []history.Run) string {
	var out []string
	for _, r := range runs {
		out = append(out, r.ID)
	}
	return strings.Join(out, ",")
}

func testRunsNewestFirst(t *testing.T, s history.Store) {
	ctx := context.Background()
	want := map[string]*history.Run{}
	for _, r := range []*history.Run{sampleRun("b", "qa", 2), sampleRun("d", "qa", 4), sampleRun("a", "qa", 1), sampleRun("c", "qa", 3)} {
		record(t, s, r)
		want[r.ID] = r
	}
	runs, err := s.Runs(ctx, history.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(runs); got != "d,c,b,a" {
		t.Fatalf("Runs: %s; want d,c,b,a (newest first)", got)
	}
	for _, r := range runs {
		if d := sameRun(&r, want[r.ID], false); d != "" {
			t.Errorf("Runs' %s: %s", r.ID, d)
		}
	}
	if runs, err := s.Runs(ctx, history.Filter{Limit: 2}); err != nil || ids(runs) != "d,c" {
		t.Errorf("Runs limit 2: %s, %v; want d,c", ids(runs), err)
	}
	if runs, err := s.Runs(ctx, history.Filter{Limit: 10}); err != nil || ids(runs) != "d,c,b,a" {
		t.Errorf("Runs limit 10: %s, %v", ids(runs), err)
	}
}

func testRunsFilter(t *testing.T, s history.Store) {
	ctx := context.Background()
	record(t, s, sampleRun("qa1", "qa", 1, "gpt", "local"))
	record(t, s, sampleRun("qa2", "qa", 2, "local"))
	record(t, s, sampleRun("qa3", "qa", 3, "gpt"))
	record(t, s, sampleRun("sql1", "sql", 4, "gpt"))
	record(t, s, sampleRun("QA1", "QA", 5, "gpt")) // names are exact, case included
	for _, tc := range []struct {
		f    history.Filter
		want string
	}{
		{history.Filter{Suite: "qa"}, "qa3,qa2,qa1"},
		{history.Filter{Target: "gpt"}, "QA1,sql1,qa3,qa1"},
		{history.Filter{Suite: "qa", Target: "gpt"}, "qa3,qa1"},
		{history.Filter{Suite: "qa", Target: "local", Limit: 1}, "qa2"},
		{history.Filter{Suite: "nope"}, ""},
		{history.Filter{Target: "GPT"}, ""},
	} {
		runs, err := s.Runs(ctx, tc.f)
		if err != nil {
			t.Fatalf("Runs %+v: %v", tc.f, err)
		}
		if got := ids(runs); got != tc.want {
			t.Errorf("Runs %+v: %s; want %s", tc.f, got, tc.want)
		}
	}
	// A run listed by one of its targets keeps all of them.
	runs, err := s.Runs(ctx, history.Filter{Suite: "qa", Target: "local", Limit: 5})
	if err != nil || len(runs) != 2 || len(runs[1].Targets) != 2 || runs[1].Targets[0].Name != "gpt" || runs[1].Targets[1].Name != "local" {
		t.Errorf("Runs of target local: %+v, %v; want qa2 and qa1 with its two targets in order", runs, err)
	}
}

func testMissing(t *testing.T, s history.Store) {
	ctx := context.Background()
	// A run folder is there while it holds its journal.
	root := t.TempDir()
	kept, moved, emptied := filepath.Join(root, "kept"), filepath.Join(root, "moved"), filepath.Join(root, "emptied")
	for _, d := range []string{kept, moved, emptied} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, rundir.ResultsFile), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, dir := range []string{kept, moved, emptied} {
		r := sampleRun(fmt.Sprint("r", i), "qa", i+1)
		r.Dir = dir
		record(t, s, r)
	}
	if err := os.Rename(moved, moved+".elsewhere"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(emptied, rundir.ResultsFile)); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(ctx, history.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	missing := map[string]bool{}
	for _, r := range runs {
		missing[r.ID] = r.Missing
	}
	want := map[string]bool{"r0": false, "r1": true, "r2": true}
	for id, m := range want {
		if missing[id] != m {
			t.Errorf("Runs: %s missing %v, want %v (r0's folder is there, r1's moved, r2's journal deleted)", id, missing[id], m)
		}
	}
	for id, m := range want {
		r, err := s.Get(ctx, id)
		if err != nil || r.Missing != m {
			t.Errorf("Get %s: %+v, %v; want missing %v", id, r, err, m)
		}
	}
}

func testCasesOrder(t *testing.T, s history.Store) {
	// Recorded in no order; listed by target, case id (by their bytes, as
	// Go compares strings) and repeat (as numbers).
	want := []history.Case{
		{RunID: "r1", Target: "B", CaseID: "z", Status: "passed"},
		{RunID: "r1", Target: "a", CaseID: "Zeta", Status: "passed"},
		{RunID: "r1", Target: "a", CaseID: "a-b", Status: "passed"},
		{RunID: "r1", Target: "a", CaseID: "ab", Repeat: 0, Status: "passed"},
		{RunID: "r1", Target: "a", CaseID: "ab", Repeat: 2, Status: "failed"},
		{RunID: "r1", Target: "a", CaseID: "ab", Repeat: 10, Status: "passed"},
		{RunID: "r1", Target: "a", CaseID: "c10", Status: "passed"},
		{RunID: "r1", Target: "a", CaseID: "c2", Status: "passed", Slices: []string{"tag=é", `q="x"`}},
		{RunID: "r1", Target: "a", CaseID: "é", Status: "passed"},
		{RunID: "r1", Target: "a", CaseID: "日本", Status: "passed"},
	}
	if !slices.IsSortedFunc(want, func(a, b history.Case) int {
		return cmpCase(a, b)
	}) {
		t.Fatal("the test's cases are not in order")
	}
	shuffled := slices.Clone(want)
	for i, j := 0, len(shuffled)-1; i < j; i, j = i+2, j-1 {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	r := sampleRun("r1", "qa", 1, "a", "B")
	record(t, s, r, shuffled...)
	record(t, s, sampleRun("r2", "qa", 2), history.Case{RunID: "r2", Target: "a", CaseID: "other", Status: "passed"})
	if d := sameCases(casesOf(t, s, "r1"), want); d != "" {
		t.Error(d)
	}
}

func cmpCase(a, b history.Case) int {
	if c := strings.Compare(a.Target, b.Target); c != 0 {
		return c
	}
	if c := strings.Compare(a.CaseID, b.CaseID); c != 0 {
		return c
	}
	return a.Repeat - b.Repeat
}

func testCasesStop(t *testing.T, s history.Store) {
	ctx := context.Background()
	var cases []history.Case
	for i := range 10 {
		cases = append(cases, history.Case{RunID: "r1", Target: "m", CaseID: fmt.Sprintf("c%02d", i), Status: "passed"})
	}
	record(t, s, sampleRun("r1", "qa", 1), cases...)
	n := 0
	err := s.Cases(ctx, "r1", func(history.Case) error {
		if n++; n == 3 {
			return history.ErrStop
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Errorf("Cases stopped at the third: %d calls, %v; want 3, nil", n, err)
	}
	boom := errors.New("reader gone")
	n = 0
	err = s.Cases(ctx, "r1", func(history.Case) error {
		if n++; n == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 2 {
		t.Errorf("Cases failing at the second: %d calls, %v; want 2, the callback's error", n, err)
	}
	// The store is usable after a walk that stopped early.
	if got := casesOf(t, s, "r1"); len(got) != 10 {
		t.Errorf("Cases after an early stop: %d, want 10", len(got))
	}
}

func testForget(t *testing.T, s history.Store) {
	ctx := context.Background()
	for i := range 3 {
		id := fmt.Sprint("r", i)
		record(t, s, sampleRun(id, "qa", i+1), history.Case{RunID: id, Target: "m", CaseID: "1", Status: "passed"})
	}
	if err := s.Forget(ctx, "r0", "r2", "unknown"); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	if runs, err := s.Runs(ctx, history.Filter{}); err != nil || ids(runs) != "r1" {
		t.Errorf("Runs after Forget: %s, %v; want r1", ids(runs), err)
	}
	if _, err := s.Get(ctx, "r0"); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("Get of a forgotten run: %v; want ErrNotFound", err)
	}
	if err := s.Cases(ctx, "r0", func(history.Case) error { return errors.New("a forgotten run's case") }); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("Cases of a forgotten run: %v; want ErrNotFound", err)
	}
	if cs := casesOf(t, s, "r1"); len(cs) != 1 {
		t.Errorf("Forget took another run's cases: %v", cs)
	}
	if err := s.Forget(ctx); err != nil {
		t.Errorf("Forget of nothing: %v", err)
	}
	// A forgotten run may be recorded again.
	record(t, s, sampleRun("r0", "qa", 1), history.Case{RunID: "r0", Target: "m", CaseID: "2", Status: "failed"})
	if cs := casesOf(t, s, "r0"); len(cs) != 1 || cs[0].CaseID != "2" {
		t.Errorf("a run recorded after Forget: %v", cs)
	}
}

// testConcurrent records and reads from several goroutines at once: a
// store is safe for concurrent use (run with -race).
func testConcurrent(t *testing.T, s history.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Go(func() {
			for i := range 5 {
				id := fmt.Sprintf("g%d-%d", g, i)
				var cases []history.Case
				for c := range 20 {
					cases = append(cases, history.Case{RunID: id, Target: "m", CaseID: fmt.Sprint(c), Status: "passed"})
				}
				if err := s.Record(ctx, sampleRun(id, "qa", 1+i), addAll(cases)); err != nil {
					errs <- err
					return
				}
				if _, err := s.Runs(ctx, history.Filter{Suite: "qa", Limit: 3}); err != nil {
					errs <- err
					return
				}
				if err := s.Cases(ctx, id, func(history.Case) error { return nil }); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// And the same run recorded by several at once (two pushes of it):
	// one record wins whole.
	for g := range 4 {
		wg.Go(func() {
			var cases []history.Case
			for c := range 50 {
				cases = append(cases, history.Case{RunID: "same", Target: "m", CaseID: fmt.Sprint(c), Repeat: g, Status: "passed"})
			}
			if err := s.Record(ctx, sampleRun("same", "other", 1), addAll(cases)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if runs, err := s.Runs(ctx, history.Filter{Suite: "qa"}); err != nil || len(runs) != 20 {
		t.Errorf("after 4×5 concurrent Records: %d runs, %v", len(runs), err)
	}
	same := casesOf(t, s, "same")
	if len(same) != 50 || slices.ContainsFunc(same, func(c history.Case) bool { return c.Repeat != same[0].Repeat }) {
		t.Errorf("one run recorded 4 times at once: %d cases, of more than one record; want the 50 of one", len(same))
	}
}

// testManyCases records a big run: the index comes back whole and in
// order.
func testManyCases(t *testing.T, s history.Store) {
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	var off int64
	err := s.Record(context.Background(), sampleRun("big", "qa", 1), func(add func(history.Case) error) error {
		for i := n - 1; i >= 0; i-- {
			c := history.Case{RunID: "big", Target: "m", CaseID: fmt.Sprintf("case-%06d", i), Status: "passed",
				Score: score(float64(i%7) / 7), Slices: []string{"tag=t" + fmt.Sprint(i%3)}, Off: off, Len: 200}
			off += 201
			if err := add(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	if err := s.Cases(context.Background(), "big", func(c history.Case) error {
		if want := fmt.Sprintf("case-%06d", i); c.CaseID != want || c.Off != int64(n-1-i)*201 {
			return fmt.Errorf("case %d: %s at %d; want %s", i, c.CaseID, c.Off, want)
		}
		i++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Errorf("%d cases back, want %d", i, n)
	}
}

// testMissingOnlyHere: a run recorded on another machine is elsewhere,
// never missing, and Prune keeps it; a run of this machine (or of none
// named, recorded before hosts were) is missing when its folder is gone.
func testMissingOnlyHere(t *testing.T, s history.Store) {
	ctx := context.Background()
	gone := filepath.Join(t.TempDir(), "gone")
	for _, r := range []struct{ id, host string }{
		{"here", history.Hostname()},
		{"unnamed", ""},
		{"ci", "ci-runner-" + history.Hostname()},
	} {
		run := sampleRun(r.id, "qa", 1)
		run.Dir, run.Host = gone, r.host
		record(t, s, run)
	}
	kept := sampleRun("ci-kept", "qa", 2)
	kept.Dir, kept.Host = runFolder(t), "ci-runner-2"
	record(t, s, kept)
	want := map[string]bool{"here": true, "unnamed": true, "ci": false, "ci-kept": false}
	runs, err := s.Runs(ctx, history.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Missing != want[r.ID] {
			t.Errorf("Runs: %s (host %q) missing %v, want %v", r.ID, r.Host, r.Missing, want[r.ID])
		}
		if r.Elsewhere() != (r.ID == "ci" || r.ID == "ci-kept") {
			t.Errorf("Runs: %s (host %q) elsewhere %v", r.ID, r.Host, r.Elsewhere())
		}
	}
	for id, m := range want {
		if r, err := s.Get(ctx, id); err != nil || r.Missing != m {
			t.Errorf("Get %s: %+v, %v; want missing %v", id, r, err, m)
		}
	}
	if r, err := s.Get(ctx, "ci"); err != nil || r.Host != "ci-runner-"+history.Hostname() {
		t.Errorf("Get ci: host %q, %v", r.Host, err)
	}
	pruned, err := history.Prune(ctx, s, history.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pruned); got != "unnamed,here" && got != "here,unnamed" {
		t.Errorf("Prune forgot %q; want here and unnamed, this machine's runs whose folder is gone", got)
	}
	if runs, err := s.Runs(ctx, history.Filter{}); err != nil || ids(runs) != "ci-kept,ci" {
		t.Errorf("after Prune: %s, %v; want ci-kept,ci (another machine's runs are kept)", ids(runs), err)
	}
}

// testResults: a case's result given to Record comes back from Result,
// byte for byte without its newline; Cases leaves it out.
func testResults(t *testing.T, s history.Store) {
	ctx := context.Background()
	big := `{"case_id":"b","output":"` + strings.Repeat("all work and no play ", 5000) + `é日本\u003c"}`
	cases := []history.Case{
		{RunID: "r1", Target: "m", CaseID: "a", Status: "passed", Off: 0, Len: 20, Result: []byte(`{"case_id":"a","repeat":0}` + "\n")},
		{RunID: "r1", Target: "m", CaseID: "a", Repeat: 1, Status: "failed", Off: 21, Len: 20, Result: []byte(`{"case_id":"a","repeat":1}`)},
		{RunID: "r1", Target: "m", CaseID: "b", Status: "passed", Off: 42, Len: len(big), Result: []byte(big)},
		{RunID: "r1", Target: "m", CaseID: "c", Status: "passed", Off: 9000, Len: 3},
	}
	// The caller may reuse a case's buffer once add returns.
	buf := make([]byte, 0, 64)
	err := s.Record(ctx, sampleRun("r1", "qa", 1), func(add func(history.Case) error) error {
		for _, c := range cases {
			buf = append(buf[:0], c.Result...)
			if c.Result != nil {
				c.Result = buf
			}
			if err := add(c); err != nil {
				return err
			}
			clear(buf[:cap(buf)])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target, id string
		repeat     int
		want       string
	}{
		{"m", "a", 0, `{"case_id":"a","repeat":0}`},
		{"m", "a", 1, `{"case_id":"a","repeat":1}`},
		{"m", "b", 0, big},
		{"m", "c", 0, ""}, // indexed without its result
	} {
		got, err := s.Result(ctx, "r1", tc.target, tc.id, tc.repeat)
		if err != nil || string(got) != tc.want || (tc.want == "") != (got == nil) {
			t.Errorf("Result %s/%s/%d: %.80q, %v; want %.80q", tc.target, tc.id, tc.repeat, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		run, target, id string
		repeat          int
	}{
		{"r1", "m", "a", 2}, {"r1", "x", "a", 0}, {"r1", "m", "z", 0}, {"nope", "m", "a", 0},
	} {
		if got, err := s.Result(ctx, tc.run, tc.target, tc.id, tc.repeat); !errors.Is(err, history.ErrNotFound) {
			t.Errorf("Result %+v: %.40q, %v; want ErrNotFound", tc, got, err)
		}
	}
	for _, c := range casesOf(t, s, "r1") {
		if c.Result != nil {
			t.Errorf("Cases gave case %s/%d with its result %.40q; Result reads it", c.CaseID, c.Repeat, c.Result)
		}
	}
	if d := sameCases(casesOf(t, s, "r1"), cases); d != "" {
		t.Error(d)
	}
	// Recorded again without results (as a run is where it ran), the run
	// has none.
	record(t, s, sampleRun("r1", "qa", 1), history.Case{RunID: "r1", Target: "m", CaseID: "a", Status: "passed"})
	if got, err := s.Result(ctx, "r1", "m", "a", 0); err != nil || got != nil {
		t.Errorf("Result after a Record without results: %q, %v; want nil", got, err)
	}
}

// agreement returns an agreement with every field set.
func agreement(suite, judge, key, run string, d int, kappa float64) *history.Agreement {
	var a history.Agreement
	err := json.Unmarshal([]byte(fmt.Sprintf(`{"judge": %q, "suite": %q, "run_id": %q, "key": %q,
		"targets_sha256": "t-%s", "rubric_sha256": "r-%s",
		"targets": [{"provider": "openai", "model": "grader", "params": {"seed": 0}}],
		"reviewers": ["reviewed.csv"], "n": 5, "no_review": 1, "split": 1, "no_verdict": 2,
		"agreement": 0.8, "kappa": %v, "kappa_se": 0.3175, "kappa_ci": {"lo": -0.007, "hi": 1, "method": "fleiss-cohen-everitt"},
		"alpha": 0.5, "reviewers_alpha": 0.75,
		"confusion": [[2, 1], [0, 2]], "tpr": 0.75, "fpr": 0.3333333333333333,
		"disagreements": [{"case_id": "Q-4", "target": "v1", "repeat": 0, "judge_pass": true, "judge_score": 0.75,
			"human_pass": false, "humans": ["fail"], "reason": "verdict B"}]}`,
		judge, suite, run, key, key, key, kappa)), &a)
	if err != nil {
		panic(err) // the literal above
	}
	a.Measured = day(d)
	return &a
}

func testAgreements(t *testing.T, s history.Store) {
	ctx := context.Background()
	list := func(f history.AgreementFilter) []history.Agreement {
		t.Helper()
		got, err := s.Agreements(ctx, f)
		if err != nil {
			t.Fatalf("Agreements(%+v): %v", f, err)
		}
		return got
	}
	if got := list(history.AgreementFilter{}); len(got) != 0 {
		t.Fatalf("a new store has %d agreements", len(got))
	}
	a := agreement("qa", "facts", "k1", "r1", 1, 0.6153846153846154)
	for _, x := range []*history.Agreement{
		a,
		agreement("qa", "facts", "k2", "r2", 3, 0.9),  // the rubric changed
		agreement("qa", "tone", "k3", "r2", 2, -0.25), // another judge
		agreement("other", "facts", "k1", "r9", 4, 0.5),
	} {
		if err := s.RecordAgreement(ctx, x); err != nil {
			t.Fatalf("RecordAgreement %s/%s: %v", x.Judge, x.Key, err)
		}
	}
	got := list(history.AgreementFilter{Suite: "qa", Judge: "facts", Key: "k1"})
	if len(got) != 1 {
		t.Fatalf("by suite, judge and key: %d agreements, want 1", len(got))
	}
	gj, _ := json.Marshal(got[0])
	wj, _ := json.Marshal(a)
	if !bytes.Equal(gj, wj) {
		t.Errorf("agreement\n got %s\nwant %s", gj, wj)
	}
	ids := func(as []history.Agreement) string {
		var out []string
		for _, a := range as {
			out = append(out, a.Suite+"/"+a.Judge+"/"+a.Key)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		f    history.AgreementFilter
		want string
	}{
		{history.AgreementFilter{}, "other/facts/k1 qa/facts/k2 qa/tone/k3 qa/facts/k1"},
		{history.AgreementFilter{Suite: "qa", Judge: "facts"}, "qa/facts/k2 qa/facts/k1"},
		{history.AgreementFilter{Judge: "facts", Key: "k1"}, "other/facts/k1 qa/facts/k1"},
		{history.AgreementFilter{Judge: "facts", Limit: 1}, "other/facts/k1"},
		{history.AgreementFilter{Judge: "nope"}, ""},
	} {
		if g := ids(list(tc.f)); g != tc.want {
			t.Errorf("Agreements(%+v) = %q, want %q", tc.f, g, tc.want)
		}
	}
	// Measured again on the same run: replaced, not added.
	again := agreement("qa", "facts", "k1", "r1", 5, 0.7)
	again.Kappa, again.KappaCI, again.KappaSE, again.KappaUndefined = nil, nil, nil, "every result passed"
	if err := s.RecordAgreement(ctx, again); err != nil {
		t.Fatal(err)
	}
	got = list(history.AgreementFilter{Suite: "qa", Judge: "facts", Key: "k1"})
	if len(got) != 1 || got[0].Kappa != nil || got[0].KappaUndefined != "every result passed" || !got[0].Measured.Equal(day(5)) {
		t.Errorf("after measuring again: %+v", got)
	}
	// Forgetting the run keeps the agreements measured on it.
	record(t, s, sampleRun("r1", "qa", 1))
	if err := s.Forget(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if got := list(history.AgreementFilter{Key: "k1", Suite: "qa"}); len(got) != 1 {
		t.Errorf("after forgetting run r1: %d agreements, want 1", len(got))
	}
	// An agreement needs a judge, a key and a run.
	if err := s.RecordAgreement(ctx, &history.Agreement{Judge: "facts", RunID: "r1"}); err == nil {
		t.Error("an agreement without a key was recorded")
	}
}
