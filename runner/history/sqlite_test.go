package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/runner/rundir"
	"github.com/rubric-eval/rubric/runner/store"
)

func openTest(t testing.TB) *SQLite {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// runDir makes a run folder with a journal, as a run leaves it.
func runDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, rundir.ResultsFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func testRun(t testing.TB, id, suite string, started time.Time, targets ...string) *Run {
	held := true
	r := &Run{
		ID: id, Kind: "run", Suite: suite, SuiteVersion: "1.2", SuiteSHA256: "aa", DatasetSHA256: "bb",
		GitCommit: "0123456789abcdef", GitBranch: "main",
		Started: started, Finished: started.Add(90 * time.Second), Complete: true, GateHeld: &held,
		Dir: runDir(t), Report: json.RawMessage(`{"run_id":"` + id + `"}`),
	}
	for _, name := range targets {
		r.Targets = append(r.Targets, Target{Name: name, Provider: "openai", Model: name + "-model",
			Cases: 10, Passed: 8, PassRate: 0.8, PassRateLo: 0.49, PassRateHi: 0.94, Mean: 0.85})
	}
	return r
}

func score(v float64) *float64 { return &v }

// testCases are the index of a run, out of order.
func testCases() []Case {
	return []Case{
		{Target: "b", CaseID: "c2", Repeat: 0, Status: "passed", Score: score(1), Slices: []string{"tag=billing"}, Off: 0, Len: 100},
		{Target: "a", CaseID: "c2", Repeat: 1, Status: "failed", Score: score(0.25), Failed: []string{"exact", "judge"}, Slices: []string{"tag=billing", "lang=de"}, Off: 100, Len: 200},
		{Target: "a", CaseID: "c1", Repeat: 0, Status: "error", ErrorKind: "timeout", Off: 300, Len: 50},
		{Target: "a", CaseID: "c2", Repeat: 0, Status: "unscored", Failed: []string{"judge"}, Off: 350, Len: 60},
	}
}

func feed(cs []Case) func(add func(Case) error) error {
	return func(add func(Case) error) error {
		for _, c := range cs {
			if err := add(c); err != nil {
				return err
			}
		}
		return nil
	}
}

func readCases(t *testing.T, s Store, id string) []Case {
	t.Helper()
	var got []Case
	if err := s.Cases(context.Background(), id, func(c Case) error { got = append(got, c); return nil }); err != nil {
		t.Fatalf("Cases(%s): %v", id, err)
	}
	return got
}

func TestRecordAndGet(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	r := testRun(t, "r1", "triage", t0, "candidate", "baseline")
	if err := s.Record(ctx, r, feed(testCases())); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("Get:\n got %+v\nwant %+v", got, r)
	}
	if !got.Started.Equal(t0) {
		t.Errorf("started %v, want %v to the nanosecond", got.Started, t0)
	}

	want := testCases()
	slices.SortFunc(want, func(x, y Case) int {
		return strings.Compare(fmt.Sprintf("%s %s %d", x.Target, x.CaseID, x.Repeat), fmt.Sprintf("%s %s %d", y.Target, y.CaseID, y.Repeat))
	})
	for i := range want {
		want[i].RunID = "r1"
	}
	if cs := readCases(t, s, "r1"); !reflect.DeepEqual(cs, want) {
		t.Errorf("Cases:\n got %+v\nwant %+v", cs, want)
	}

	// ErrStop ends the walk quietly; another error is returned.
	n := 0
	if err := s.Cases(ctx, "r1", func(Case) error { n++; return ErrStop }); err != nil || n != 1 {
		t.Errorf("ErrStop: %d cases, err %v", n, err)
	}
	boom := errors.New("boom")
	if err := s.Cases(ctx, "r1", func(Case) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("a callback's error: %v", err)
	}
	if err := s.Cases(ctx, "nope", func(Case) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Cases of an unknown run: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an unknown run: %v, want ErrNotFound", err)
	}

	// No gate: nil comes back as nil; a run without cases has none.
	r2 := testRun(t, "r2", "triage", t0.Add(time.Hour), "candidate")
	r2.GateHeld, r2.Report = nil, nil
	if err := s.Record(ctx, r2, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "r2"); err != nil || got.GateHeld != nil || got.Report != nil {
		t.Errorf("a run without gate or report: %+v, %v", got, err)
	}
	if cs := readCases(t, s, "r2"); len(cs) != 0 {
		t.Errorf("a run recorded without cases has %d", len(cs))
	}
}

// count returns the rows of table, through the writing connection.
func rows(t *testing.T, s *SQLite, table string) int {
	t.Helper()
	var n int
	if err := s.f.Write.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecordReplaces(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	first := testRun(t, "r1", "triage", t0, "candidate", "baseline")
	first.Complete, first.GateHeld = false, nil
	if err := s.Record(ctx, first, feed(testCases())); err != nil {
		t.Fatal(err)
	}
	other := testRun(t, "other", "triage", t0.Add(time.Minute), "candidate")
	if err := s.Record(ctx, other, feed(testCases()[:1])); err != nil {
		t.Fatal(err)
	}
	// Resumed: complete now, one target, two cases.
	again := testRun(t, "r1", "triage", t0, "candidate")
	again.Dir = first.Dir
	cs := []Case{
		{Target: "candidate", CaseID: "x", Status: "passed", Slices: []string{"tag=new"}},
		{Target: "candidate", CaseID: "y", Status: "failed", Failed: []string{"exact"}},
	}
	if err := s.Record(ctx, again, feed(cs)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, again) {
		t.Errorf("after the second record:\n got %+v\nwant %+v", got, again)
	}
	if cs := readCases(t, s, "r1"); len(cs) != 2 || cs[0].CaseID != "x" || cs[1].Failed[0] != "exact" {
		t.Errorf("cases after the second record: %+v", cs)
	}
	if runs, err := s.Runs(ctx, Filter{}); err != nil || len(runs) != 2 {
		t.Errorf("Runs: %d runs, %v; want 2", len(runs), err)
	}
	// Nothing of the first record is left behind.
	for table, want := range map[string]int{"runs": 2, "run_targets": 2, "cases": 3, "case_failed": 1, "case_slices": 2} {
		if n := rows(t, s, table); n != want {
			t.Errorf("%s has %d rows, want %d", table, n, want)
		}
	}
	if cs := readCases(t, s, "other"); len(cs) != 1 {
		t.Errorf("the other run has %d cases, want 1", len(cs))
	}
}

// TestRecordFailsWhole: a cases function that fails records nothing, and
// the run's earlier record is kept; a case given twice keeps its first
// entry.
func TestRecordFailsWhole(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	r := testRun(t, "r1", "triage", t0, "candidate")
	if err := s.Record(ctx, r, feed(testCases())); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("journal unreadable")
	changed := testRun(t, "r1", "other", t0, "candidate")
	err := s.Record(ctx, changed, func(add func(Case) error) error {
		for i := range 200 { // more than a batch
			if err := add(Case{Target: "t", CaseID: fmt.Sprint(i), Status: "passed"}); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "run r1") {
		t.Fatalf("Record with a failing cases function: %v", err)
	}
	if got, err := s.Get(ctx, "r1"); err != nil || got.Suite != "triage" {
		t.Errorf("the earlier record: %+v, %v", got, err)
	}
	if cs := readCases(t, s, "r1"); len(cs) != len(testCases()) {
		t.Errorf("the earlier record has %d cases, want %d", len(cs), len(testCases()))
	}

	dup := []Case{
		{Target: "t", CaseID: "a", Status: "failed", Failed: []string{"first"}, Slices: []string{"s=1"}},
		{Target: "t", CaseID: "a", Status: "passed", Failed: []string{"second"}, Slices: []string{"s=2"}},
	}
	if err := s.Record(ctx, testRun(t, "dup", "triage", t0, "t"), feed(dup)); err != nil {
		t.Fatal(err)
	}
	if cs := readCases(t, s, "dup"); len(cs) != 1 || cs[0].Status != "failed" || cs[0].Failed[0] != "first" {
		t.Errorf("a case given twice: %+v", cs)
	}
	var n int
	s.f.Read.QueryRow(`SELECT count(*) FROM case_failed f JOIN runs r ON r.n = f.run WHERE r.id = 'dup'`).Scan(&n)
	if n != 1 {
		t.Errorf("a case given twice left %d rows in case_failed, want 1", n)
	}
}

func TestRuns(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for _, r := range []*Run{
		testRun(t, "t1", "triage", t0, "candidate", "baseline"),
		testRun(t, "t3", "triage", t0.Add(2*time.Hour), "candidate"),
		testRun(t, "s1", "support", t0.Add(time.Hour), "baseline"),
		testRun(t, "t2", "triage", t0.Add(time.Hour), "other"),
	} {
		if err := s.Record(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		f    Filter
		want string
	}{
		{Filter{}, "t3 t2 s1 t1"}, // t2 and s1 start together: the one recorded last first
		{Filter{Suite: "triage"}, "t3 t2 t1"},
		{Filter{Suite: "triage", Limit: 2}, "t3 t2"},
		{Filter{Target: "baseline"}, "s1 t1"},
		{Filter{Suite: "triage", Target: "baseline"}, "t1"},
		{Filter{Suite: "nope"}, ""},
		{Filter{Limit: 1}, "t3"},
	} {
		runs, err := s.Runs(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.ID)
			if r.Report != nil {
				t.Errorf("Runs(%+v): run %s has its report", tc.f, r.ID)
			}
		}
		if got := strings.Join(ids, " "); got != tc.want {
			t.Errorf("Runs(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
	runs, _ := s.Runs(ctx, Filter{Suite: "triage"})
	if l := runs[2].Targets; len(l) != 2 || l[0].Name != "candidate" || l[1].Name != "baseline" || l[1].Model != "baseline-model" {
		t.Errorf("the targets of t1, in order: %+v", l)
	}
}

// TestMissingAndPrune: a run whose folder loses its journal is missing,
// in Runs and Get; Prune forgets exactly those; Forget forgets any.
func TestMissingAndPrune(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	kept := testRun(t, "kept", "triage", t0, "candidate")
	moved := testRun(t, "moved", "triage", t0.Add(time.Hour), "candidate")
	deleted := testRun(t, "deleted", "support", t0.Add(2*time.Hour), "candidate")
	for _, r := range []*Run{kept, moved, deleted} {
		if err := s.Record(ctx, r, feed(testCases())); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(moved.Dir, moved.Dir+"-elsewhere"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(deleted.Dir, rundir.ResultsFile)); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, r := range runs {
		if r.Missing {
			missing = append(missing, r.ID)
		}
	}
	if strings.Join(missing, " ") != "deleted moved" {
		t.Errorf("missing: %v, want deleted and moved", missing)
	}
	if r, err := s.Get(ctx, "moved"); err != nil || !r.Missing {
		t.Errorf("Get(moved): missing %v, %v", r != nil && r.Missing, err)
	}
	// Of one suite only, whatever the limit.
	gone, err := Prune(ctx, s, Filter{Suite: "triage", Limit: 1})
	if err != nil || len(gone) != 1 || gone[0].ID != "moved" {
		t.Fatalf("Prune of triage: %+v, %v", gone, err)
	}
	if gone, err = Prune(ctx, s, Filter{}); err != nil || len(gone) != 1 || gone[0].ID != "deleted" {
		t.Fatalf("Prune: %+v, %v", gone, err)
	}
	if runs, _ := s.Runs(ctx, Filter{}); len(runs) != 1 || runs[0].ID != "kept" {
		t.Errorf("after Prune: %+v", runs)
	}
	if gone, err := Prune(ctx, s, Filter{}); err != nil || len(gone) != 0 {
		t.Errorf("Prune again: %d, %v", len(gone), err)
	}
	if err := s.Forget(ctx, "kept", "never-recorded"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"runs", "run_targets", "cases", "case_failed", "case_slices"} {
		if n := rows(t, s, table); n != 0 {
			t.Errorf("after forgetting every run, %s has %d rows", table, n)
		}
	}
}

// TestTwoHandles: a history opened read-only lists and walks runs while
// another handle, as another process would, records large runs, and two
// writing handles record at once; none fails.
func TestTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	w1, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Close()
	w2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	first := testRun(t, "r0", "triage", t0, "candidate")
	if err := w1.Record(ctx, first, feed(bigIndex(2000))); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Record(ctx, first, nil); err == nil {
		t.Error("a read-only history recorded a run")
	}
	if err := ro.Forget(ctx, "r0"); err == nil {
		t.Error("a read-only history forgot a run")
	}

	// The reader holds a read transaction open, in the middle of walking a
	// run's cases, while both writers record.
	walking, resume := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Add(1)
	go func() {
		defer wg.Done()
		n := 0
		err := ro.Cases(ctx, "r0", func(Case) error {
			if n++; n == 10 {
				close(walking)
				<-resume
			}
			return nil
		})
		if err == nil && n != 2000 {
			err = fmt.Errorf("the walk saw %d cases, want 2000", n)
		}
		errs <- err
	}()
	<-walking
	for i, w := range []*SQLite{w1, w2, w1, w2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("w%d", i)
			errs <- w.Record(ctx, testRun(t, id, "triage", t0.Add(time.Duration(i+1)*time.Minute), "candidate"), feed(bigIndex(3000)))
		}()
	}
	for range 20 {
		runs, err := ro.Runs(ctx, Filter{Suite: "triage"})
		if err != nil {
			errs <- fmt.Errorf("Runs while recording: %w", err)
			break
		}
		if len(runs) == 0 {
			errs <- errors.New("Runs while recording saw no run")
		}
	}
	close(resume)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	runs, err := ro.Runs(ctx, Filter{})
	if err != nil || len(runs) != 5 {
		t.Fatalf("after recording: %d runs, %v; want 5", len(runs), err)
	}
	if cs := readCases(t, ro, "w3"); len(cs) != 3000 {
		t.Errorf("w3 has %d cases, want 3000", len(cs))
	}
}

// bigIndex is the index of a run of n cases, a third of them failed.
func bigIndex(n int) []Case {
	cs := make([]Case, n)
	for i := range cs {
		c := Case{Target: "candidate", CaseID: fmt.Sprintf("case-%07d", i), Status: "passed", Score: score(1),
			Slices: []string{"tag=smoke", fmt.Sprintf("domain=d%d", i%7)}, Off: int64(i) * 700, Len: 700}
		if i%3 == 0 {
			c.Status, c.Score, c.Failed = "failed", score(0.4), []string{"exact"}
		}
		cs[i] = c
	}
	return cs
}

// TestOpen: a file that does not exist is created private, an empty one
// (a crash between creating and migrating) is migrated, a damaged one is
// refused naming the file, the trouble and the variable that moves it.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "history.db")
	if _, err := OpenReadOnly(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenReadOnly of no file: %v, want ErrNotExist", err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %s, want %s", s.Path(), path)
	}
	s.Close()
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("the file's mode: %v, %v; want 0600", fi.Mode().Perm(), err)
		}
	}

	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenReadOnly(empty); !errors.Is(err, store.ErrOutdated) {
		t.Errorf("OpenReadOnly of an empty file: %v, want ErrOutdated", err)
	}
	s, err = Open(empty)
	if err != nil {
		t.Fatalf("Open of an empty file: %v", err)
	}
	var v int
	if err := s.f.Read.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion() {
		t.Errorf("schema_version %d, %v; want %d", v, err, SchemaVersion())
	}
	if err := s.Record(context.Background(), testRun(t, "r", "s", t0, "t"), feed(testCases())); err != nil {
		t.Errorf("recording in a migrated file: %v", err)
	}
	s.Close()
	if ro, err := OpenReadOnly(empty); err != nil {
		t.Errorf("OpenReadOnly once migrated: %v", err)
	} else {
		ro.Close()
	}

	damaged := filepath.Join(dir, "damaged.db")
	b, err := os.ReadFile(empty)
	if err != nil {
		t.Fatal(err)
	}
	for i := 100; i < len(b); i++ {
		b[i] = 0xa5
	}
	if err := os.WriteFile(damaged, b, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database\n", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{damaged, garbage} {
		for _, open := range []func(string) (*SQLite, error){Open, OpenReadOnly} {
			_, err := open(p)
			if err == nil {
				t.Fatalf("%s opened", p)
			}
			for _, want := range []string{"history " + p + ": ", "damaged or not a SQLite database", "set RUBRIC_HISTORY to another path"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q does not say %q", filepath.Base(p), err, want)
				}
			}
		}
	}
}

// TestSchemaIndexes checks that the queries the viewer will make of a
// large run read an index, not the whole table.
func TestSchemaIndexes(t *testing.T) {
	s := openTest(t)
	for q, index := range map[string]string{
		`SELECT n FROM cases WHERE run = 1 AND target = 't' AND status = 'failed'`:                "cases_status",
		`SELECT n FROM case_slices WHERE run = 1 AND slice = 'tag=x'`:                             "PRIMARY KEY",
		`SELECT n FROM case_failed WHERE run = 1 AND criterion = 'exact'`:                         "PRIMARY KEY",
		`SELECT target FROM cases WHERE run = 1 ORDER BY target, case_id, repeat`:                 "cases_case",
		`SELECT n FROM runs WHERE suite = 's' ORDER BY started_ns DESC, n DESC`:                   "runs_suite",
		`SELECT run FROM run_targets WHERE name = 't'`:                                            "run_targets_name",
		`SELECT n FROM cases WHERE run = 1 AND target = 't' AND case_id = 'c' AND repeat = 0`:     "cases_case",
		`SELECT n FROM runs ORDER BY started_ns DESC, n DESC LIMIT 20`:                            "runs_started",
		`SELECT count(*) FROM cases WHERE run = 1 AND target = 't' AND status IN ('failed', 'x')`: "cases_status",
	} {
		var plan []string
		rs, err := s.f.Read.Query(`EXPLAIN QUERY PLAN ` + q)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var id, parent, notused int
			var detail string
			if err := rs.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rs.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, index) || strings.Contains(p, "SCAN cases") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s\n  plan: %s\n  want a search of %s", q, p, index)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	env["RUBRIC_DB"] = filepath.Join("/x", "cache", "rubric.db")
	if p, err := DefaultPath(getenv); err != nil || p != filepath.Join("/x", "cache", "history.db") {
		t.Errorf("next to $RUBRIC_DB: %s, %v", p, err)
	}
	env[EnvPath] = "/y/h.db"
	if p, err := DefaultPath(getenv); err != nil || p != "/y/h.db" {
		t.Errorf("$RUBRIC_HISTORY: %s, %v", p, err)
	}
	delete(env, EnvPath)
	delete(env, "RUBRIC_DB")
	if cache, err := os.UserCacheDir(); err == nil {
		if p, err := DefaultPath(getenv); err != nil || p != filepath.Join(cache, "rubric", "history.db") {
			t.Errorf("default: %s, %v", p, err)
		}
	}
	for v, off := range map[string]bool{"": false, "0": false, "1": true, "true": true} {
		env[EnvOff] = v
		if Off(getenv) != off {
			t.Errorf("%s=%q: Off = %v, want %v", EnvOff, v, !off, off)
		}
	}
}

// TestMigrateFromVersion1: a history written before runs had a host and
// cases a stored result opens, keeps its runs and cases, and takes both
// afterwards.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	f, err := store.OpenSQLite(path, store.Schema{Migrations: migrations[:1], Env: EnvPath}, false)
	if err != nil {
		t.Fatal(err)
	}
	old := &SQLite{f: f}
	_, err = f.Write.Exec(`INSERT INTO runs (id, kind, suite, suite_version, suite_sha256, dataset_sha256, git_commit, git_branch, started_ns, finished_ns, complete, dir, report)
		VALUES ('r1', 'run', 's', '', '', '', '', '', 1, 2, 1, '/gone', '{}')`)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatalf("opening a version-1 history: %v", err)
	}
	defer s.Close()
	r, err := s.Get(context.Background(), "r1")
	if err != nil || r.Host != "" || r.Suite != "s" {
		t.Fatalf("the old run after the upgrade: %+v, %v", r, err)
	}
	var v int
	if err := s.f.Read.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion() {
		t.Errorf("schema version %d (%v), want %d", v, err, SchemaVersion())
	}
	nr := testRun(t, "r2", "s", time.Now())
	nr.Host = "ci-7"
	cs := testCases()
	cs[0].Result = []byte(`{"case_id":"x"}` + "\n")
	if err := s.Record(context.Background(), nr, feed(cs)); err != nil {
		t.Fatalf("recording after the upgrade: %v", err)
	}
	got, err := s.Get(context.Background(), "r2")
	if err != nil || got.Host != "ci-7" {
		t.Errorf("host after the upgrade: %+v, %v", got, err)
	}
}
