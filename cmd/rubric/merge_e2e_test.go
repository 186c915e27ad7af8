package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// mergeTargets are the triage example's two recorded versions, so that the
// run compares targets as well as a baseline, offline.
var mergeTargets = []string{"-t", "triage-v1", "-t", "triage-v2"}

// reportFields reads a run folder's report.json as generic JSON, without
// what differs between two runs of the same results: the run's id and its
// times.
func reportFields(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rundir.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"run_id", "started", "finished"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("%s has no %q", dir, k)
		}
		delete(m, k)
	}
	return m
}

// journalSet is a run's results, each line without its run id, sorted.
func journalSet(t *testing.T, dir string) []string {
	t.Helper()
	var lines []string
	_, err := rundir.ReadJournal(filepath.Join(dir, rundir.ResultsFile), func(r *evals.Result) error {
		r.RunID = ""
		b, err := json.Marshal(r)
		lines = append(lines, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return lines
}

// The runs of shards 1..3 merged give the report of the same cases run in
// one process, field for field (aggregates, intervals, slices, the
// comparison of targets and with the baseline, the gate), the same exit
// code, the same journal and the CI outputs.
func TestMergeShardsEqualsOneRun(t *testing.T) {
	root, out := repoRoot(t), t.TempDir()
	run := func(args ...string) cmdResult {
		t.Helper()
		r := rubric(t, root, nil, append([]string{"run", "examples/triage/suite.json", "--no-history", "--out", out}, args...)...)
		if r.code != 0 && r.code != 1 {
			t.Fatalf("rubric run %v: %s", args, r)
		}
		return r
	}
	base := filepath.Join(out, runIDs(t, run("-t", "triage-v1").stderr)[0])
	// The failures of an earlier run exported as training data, so that
	// the runs check their cases for leaks and report with and without.
	seed := filepath.Join(out, runIDs(t, run(mergeTargets...).stderr)[0])
	train := filepath.Join(t.TempDir(), "train.jsonl")
	if r := rubric(t, root, nil, "export", seed, "--format", "chat", "--failed", "-t", "triage-v1", "--chosen-target", "triage-v2", "-o", train); r.code != 0 {
		t.Fatalf("export: %s", r)
	}
	args := append(slices.Clone(mergeTargets), "--baseline", base, "--training-manifest", train+".manifest.jsonl", "--allow-leaks")
	one := run(args...)
	oneDir := filepath.Join(out, runIDs(t, one.stderr)[0])
	var shards []string
	for _, k := range []string{"1/3", "2/3", "3/3"} {
		r := run(append(slices.Clone(args), "--shard", k)...)
		shards = append(shards, filepath.Join(out, runIDs(t, r.stderr)[0]))
	}

	merged := t.TempDir()
	junit := filepath.Join(t.TempDir(), "junit.xml")
	// The shards in any order, by folder.
	m := rubric(t, root, nil, "merge", shards[2], shards[0], shards[1], "--out", merged, "--no-history", "--junit", junit)
	if m.code != one.code {
		t.Fatalf("merge exit %d, the one run's %d: %s", m.code, one.code, m)
	}
	if !strings.Contains(m.stderr, "merging 3 shards (80 results)") {
		t.Errorf("merge does not say what it joins:\n%s", m.stderr)
	}
	mergedDir := filepath.Join(merged, runIDs(t, m.stderr)[0])
	got, want := reportFields(t, mergedDir), reportFields(t, oneDir)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("merged report differs from the one run's:\n--- merged\n%s\n--- one run\n%s", g, w)
	}
	if _, ok := want["comparisons"]; !ok {
		t.Error("the one run's report has no comparisons: the test checks less than it says")
	}
	if lc, ok := want["leak_check"].(map[string]any); !ok || lc["leaked"] != 11.0 {
		t.Errorf("the one run's report has leak_check %v, want 11 cases leaked: the test checks less than it says", want["leak_check"])
	}
	if _, ok := want["baseline"]; !ok {
		t.Error("the one run's report has no baseline: the test checks less than it says")
	}
	if g, w := journalSet(t, mergedDir), journalSet(t, oneDir); !slices.Equal(g, w) {
		t.Errorf("merged journal has %d results, the one run's %d, or they differ", len(g), len(w))
	}
	// The journal's results carry the merged run's id.
	id := filepath.Base(mergedDir)
	_, err := rundir.ReadJournal(filepath.Join(mergedDir, rundir.ResultsFile), func(r *evals.Result) error {
		if r.RunID != id {
			t.Fatalf("a merged result has run id %q, want %q", r.RunID, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The terminal summary is the one run's, but for the run id.
	if g, w := strings.ReplaceAll(m.stdout, id, "RUN"), strings.ReplaceAll(one.stdout, runIDs(t, one.stderr)[0], "RUN"); g != w {
		t.Errorf("merge's summary:\n%s\nthe one run's:\n%s", g, w)
	}
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), `tests="40"`) {
		t.Errorf("merge's JUnit (%v) lacks the 40 cases of a target:\n%.400s", err, b)
	}
	man, err := rundir.ReadManifest(mergedDir)
	if err != nil {
		t.Fatal(err)
	}
	if man.Kind != rundir.KindMerge || man.Shard != nil || len(man.Merged) != 3 || man.Merged[0] != shards[0] {
		t.Errorf("merged run.json: kind %q, shard %v, merged %v; want kind merge, no shard, shards 1..3 in order", man.Kind, man.Shard, man.Merged)
	}
}

// Runs that are not the shards of one run, each once and complete, are
// refused with exit 2 and no run folder.
func TestMergeRefuses(t *testing.T) {
	root, out := repoRoot(t), t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		r := rubric(t, root, nil, append([]string{"run", "examples/triage/suite.json", "--no-history", "--out", out, "-t", "triage-v2"}, args...)...)
		if r.code != 0 && r.code != 1 {
			t.Fatalf("rubric run %v: %s", args, r)
		}
		return filepath.Join(out, runIDs(t, r.stderr)[0])
	}
	s1, s2, s3 := run("--shard", "1/3"), run("--shard", "2/3"), run("--shard", "3/3")
	half := run("--shard", "1/2")
	whole := run()
	limited := run("--shard", "3/3", "--limit", "20")

	// A shard whose journal holds a result twice.
	dup := copyRun(t, s2)
	appendLine(t, filepath.Join(dup, rundir.ResultsFile), firstLine(t, filepath.Join(dup, rundir.ResultsFile)))
	// A shard that never finished.
	torn := copyRun(t, s3)
	if err := os.Remove(filepath.Join(torn, rundir.ReportFile)); err != nil {
		t.Fatal(err)
	}
	// A shard missing a result.
	short := copyRun(t, s3)
	dropFirstLine(t, filepath.Join(short, rundir.ResultsFile))
	// Another version of the suite.
	editedDir := filepath.Join(t.TempDir(), "triage")
	if err := os.CopyFS(editedDir, os.DirFS(filepath.Join(root, "examples/triage"))); err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(editedDir, "suite.json")
	appendLine(t, edited, "\n")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a shard missing", []string{s1, s3}, "shard 2/3 missing"},
		{"a shard twice", []string{s1, s2, s2, s3}, "are both shard 2/3"},
		{"not a shard", []string{whole, s1}, "is not a shard's"},
		{"another N", []string{s1, s2, s3, half}, "the shards of one run share N"},
		{"another limit", []string{s1, s2, limited}, "the shards of one run share them"},
		{"not finished", []string{s1, s2, torn}, "did not finish; resume it with: rubric run --resume"},
		{"a result twice", []string{s1, dup, s3}, "is recorded twice"},
		{"a result missing", []string{s1, s2, short}, "1 results missing from the shards: case"},
		{"another suite", []string{s1, s2, s3, "--suite", edited}, "is not the one the shards ran"},
		{"no runs", nil, "expected the runs of every shard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			merged := t.TempDir()
			r := rubric(t, root, nil, append([]string{"merge", "--out", merged, "--no-history"}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit 2 and %q; %s", tc.want, r)
			}
			if entries, _ := os.ReadDir(merged); len(entries) != 0 {
				t.Errorf("a refused merge left %d run folders", len(entries))
			}
		})
	}
}

// copyRun copies a run folder's files into a new folder.
func copyRun(t *testing.T, dir string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), filepath.Base(dir))
	if err := os.CopyFS(to, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(to, "run.lock"))
	return to
}

func firstLine(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return line + "\n"
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		t.Fatal(err)
	}
}

func dropFirstLine(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "\n")
	if err := os.WriteFile(path, []byte(rest), 0o644); err != nil {
		t.Fatal(err)
	}
}
