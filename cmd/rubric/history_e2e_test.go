package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// historyJSON runs rubric history --json with args and decodes its array.
func historyJSON(t *testing.T, dir string, env []string, args ...string) []historyRun {
	t.Helper()
	r := rubric(t, dir, env, append([]string{"history", "--json"}, args...)...)
	if r.code != exitOK {
		t.Fatalf("history --json %v: want exit 0\n%s", args, r)
	}
	var runs []historyRun
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("history --json: not a JSON array: %v\n%s", err, r.stdout)
	}
	return runs
}

// historyRun is a run as rubric history --json prints it, under its
// documented field names.
type historyRun struct {
	RunID   string `json:"run_id"`
	Kind    string `json:"kind"`
	Suite   string `json:"suite"`
	Version string `json:"suite_version"`
	SHA     string `json:"suite_sha256"`
	Targets []struct {
		Name     string  `json:"name"`
		Provider string  `json:"provider"`
		Cases    int     `json:"cases"`
		PassRate float64 `json:"pass_rate"`
		Lo       float64 `json:"pass_rate_lo"`
		Hi       float64 `json:"pass_rate_hi"`
	} `json:"targets"`
	Commit   string `json:"git_commit"`
	Branch   string `json:"git_branch"`
	Complete bool   `json:"complete"`
	GateHeld *bool  `json:"gate_held"`
	Dir      string `json:"dir"`
	Missing  bool   `json:"missing"`
}

func runIDsOf(runs []historyRun) string {
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.RunID)
	}
	return strings.Join(ids, " ")
}

// historyLine returns the line of rubric history's table that starts with
// run id.
func historyLine(t *testing.T, stdout, id string) []string {
	t.Helper()
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, id+" ") {
			return strings.Fields(l)
		}
	}
	t.Fatalf("rubric history lists no run %s:\n%s", id, stdout)
	return nil
}

// TestHistoryEndToEnd records runs of the triage example, names them
// SUITE@latest and SUITE@~1 for --baseline, compare, report, export and
// score, lists them with each filter, and moves a run's folder away: it is
// listed as missing, refused by name, and pruned.
func TestHistoryEndToEnd(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "runs")
	env := []string{"RUBRIC_HISTORY=" + filepath.Join(tmp, "state", "history.db")}

	r := rubric(t, root, env, "history")
	if r.code != exitOK || r.stdout != "" || !strings.Contains(r.stderr, "rubric: no run recorded yet (the history will be "+filepath.Join(tmp, "state", "history.db")+")") {
		t.Fatalf("history before any run:\n%s", r)
	}
	if runs := historyJSON(t, root, env); len(runs) != 0 {
		t.Fatalf("history --json before any run: %+v", runs)
	}
	r = rubric(t, root, env, "compare", "support-triage@latest", "support-triage@~1", "--out", out)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "support-triage@latest: no run recorded yet") {
		t.Errorf("a reference before any run: want exit 2\n%s", r)
	}

	r = rubric(t, root, env, "run", "examples/triage/suite.json", "--target", "triage-v1", "--out", out)
	if r.code != exitGateFailed {
		t.Fatalf("v1: want exit 1\n%s", r)
	}
	v1 := runIDs(t, r.stderr)[0]
	r = rubric(t, root, env, "run", "examples/triage/suite.json", "--out", out, "--baseline", "support-triage@latest")
	if r.code != exitOK {
		t.Fatalf("v2 with --baseline support-triage@latest: want exit 0\n%s", r)
	}
	v2 := runIDs(t, r.stderr)[0]
	wantLines(t, "stdout", r.stdout, "compare triage-v2 vs triage-v1 (run "+v1+"): 40 cases matched")

	runs := historyJSON(t, root, env)
	if runIDsOf(runs) != v2+" "+v1 {
		t.Fatalf("history --json: runs %s, want %s %s", runIDsOf(runs), v2, v1)
	}
	got := runs[0]
	if got.Kind != "run" || got.Suite != "support-triage" || got.Version != "3" || len(got.SHA) != 64 || !got.Complete ||
		got.GateHeld == nil || !*got.GateHeld || got.Dir != filepath.Join(out, v2) || got.Missing ||
		len(got.Targets) != 1 || got.Targets[0].Name != "triage-v2" || got.Targets[0].Provider != "replay" ||
		got.Targets[0].Cases != 40 || got.Targets[0].PassRate != 0.95 || !(got.Targets[0].Lo < 0.95 && got.Targets[0].Hi > 0.95) {
		t.Errorf("v2 in the history: %+v", got)
	}
	if runs[1].GateHeld == nil || *runs[1].GateHeld {
		t.Errorf("v1's gate failed; the history says %v", runs[1].GateHeld)
	}
	// The example is in this repository: its commit is recorded.
	if head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		if got.Commit != strings.TrimSpace(string(head)) || got.Branch == "" {
			t.Errorf("commit %q branch %q, want %s and a branch", got.Commit, got.Branch, head)
		}
	}

	r = rubric(t, root, env, "history")
	if r.code != exitOK {
		t.Fatalf("history: want exit 0\n%s", r)
	}
	if f, want := historyLine(t, r.stdout, v2), "support-triage (3) run triage-v2 - 95.0% [83.5-98.6] held "+dash(got.Commit[:min(7, len(got.Commit))])+" "+dash(got.Branch); strings.Join(f[3:], " ") != want {
		t.Errorf("the line of v2: %q, want %q after the time", f, want)
	}
	if f := historyLine(t, r.stdout, v1); f[10] != "failed" {
		t.Errorf("the line of v1: %q", f)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--suite", "support-triage"}, v2 + " " + v1},
		{[]string{"--target", "triage-v1"}, v1},
		{[]string{"-t", "triage-v2", "--suite", "support-triage"}, v2},
		{[]string{"--limit", "1"}, v2},
		{[]string{"--suite", "nope"}, ""},
	} {
		if runs := historyJSON(t, root, env, tc.args...); runIDsOf(runs) != tc.want {
			t.Errorf("history %v: %s, want %s", tc.args, runIDsOf(runs), tc.want)
		}
	}

	// compare, report, export and score take the references too.
	r = rubric(t, root, env, "compare", "support-triage@latest", "support-triage@~1", "--out", out)
	if r.code != exitOK {
		t.Fatalf("compare support-triage@latest support-triage@~1: want exit 0\n%s", r)
	}
	wantLines(t, "stdout", r.stdout, "compare triage-v2 vs triage-v1 (run "+v1+"): 40 cases matched")
	elsewhere := t.TempDir() // no runs folder here: the history knows where v1 is
	r = rubric(t, elsewhere, env, "report", v1, "support-triage@latest")
	if r.code != exitGateFailed || !strings.Contains(r.stdout, "triage-v1") || !strings.Contains(r.stdout, "triage-v2") {
		t.Errorf("report by run id and reference, from another folder: want exit 1 (v1's gate) and both summaries\n%s", r)
	}
	r = rubric(t, root, env, "export", "support-triage@~1", "--format", "review-csv", "--failed", "-o", filepath.Join(tmp, "review.csv"))
	if r.code != exitOK || !strings.Contains(r.stderr, "from "+filepath.Join(out, v1)) {
		t.Errorf("export support-triage@~1: want exit 0, from v1's folder\n%s", r)
	}
	r = rubric(t, root, env, "score", "examples/triage/suite.json", "--run", "support-triage@~1", "--out", out)
	if r.code != exitGateFailed || !strings.Contains(r.stderr, "rescoring run "+filepath.Join(out, v1)) {
		t.Fatalf("score --run support-triage@~1: want exit 1 (v1's gate)\n%s", r)
	}
	rescore := runIDs(t, r.stderr)[0]
	if runs := historyJSON(t, root, env); runIDsOf(runs) != rescore+" "+v2+" "+v1 || runs[0].Kind != "score" {
		t.Errorf("after rubric score: %s (kind %s), want the rescore, of kind score, first", runIDsOf(runs), runs[0].Kind)
	}

	// The refusals name what was asked and what exists.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", "nope@latest", v1}, `nope@latest: the history has no run of suite "nope"; it has runs of "support-triage"`},
		{[]string{"compare", v2, "support-triage@~3"}, `support-triage@~3: suite "support-triage" has 3 runs in the history, from support-triage@latest to support-triage@~2 (run ` + v1 + `)`},
		{[]string{"run", "examples/triage/suite.json", "--baseline", "nope@~1"}, `--baseline: nope@~1: the history has no run of suite "nope"`},
		{[]string{"export", "nope@latest", "--format", "chat"}, `export: nope@latest: the history has no run of suite "nope"`},
		{[]string{"score", "examples/triage/suite.json", "--run", "nope@latest"}, `score --run: nope@latest: the history has no run`},
		{[]string{"run", "--resume", "nope@latest"}, `resume: nope@latest: the history has no run`},
		{[]string{"report", "nope@latest"}, `nope@latest: the history has no run`},
	} {
		r := rubric(t, root, env, append(tc.args, "--out", out)...)
		if r.code != exitBadInput || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: want exit 2 and %q\n%s", tc.args, tc.want, r)
		}
	}

	// v1's folder moves: it is missing, named but refused, and pruned.
	if err := os.Rename(filepath.Join(out, v1), filepath.Join(tmp, "moved")); err != nil {
		t.Fatal(err)
	}
	r = rubric(t, root, env, "history")
	if f := historyLine(t, r.stdout, v1); r.code != exitOK || f[len(f)-1] != "missing" {
		t.Errorf("history after v1 moved: want v1 missing\n%s", r)
	}
	if f := historyLine(t, r.stdout, v2); f[len(f)-1] == "missing" {
		t.Errorf("history after v1 moved: v2 is missing too\n%s", r)
	}
	r = rubric(t, root, env, "compare", "support-triage@~1", "support-triage@~2", "--out", out)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "support-triage@~2 is run "+v1+", whose folder "+filepath.Join(out, v1)+" is gone (moved or deleted)") {
		t.Errorf("compare with a moved run: want exit 2 naming the folder\n%s", r)
	}
	r = rubric(t, root, env, "history", "--prune")
	if r.code != exitOK || !strings.Contains(r.stderr, "rubric: history: forgot 1 run whose folder is gone") || strings.Contains(r.stdout, v1) || !strings.Contains(r.stdout, v2) {
		t.Errorf("history --prune: want v1 forgotten, said on stderr, and v2 listed\n%s", r)
	}
	if runs := historyJSON(t, root, env); runIDsOf(runs) != rescore+" "+v2 {
		t.Errorf("after --prune: %s, want %s %s", runIDsOf(runs), rescore, v2)
	}
}

// TestHistoryOffAndBroken: --no-history and RUBRIC_NO_HISTORY=1 record
// nothing; a history that cannot be opened is a warning, and the run exits
// as it would have.
func TestHistoryOffAndBroken(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "runs")
	env := []string{"RUBRIC_HISTORY=" + filepath.Join(tmp, "history.db")}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"--no-history", env, []string{"--no-history"}},
		{"RUBRIC_NO_HISTORY", append(env, "RUBRIC_NO_HISTORY=1"), nil},
	} {
		r := rubric(t, root, tc.env, append([]string{"run", "examples/triage/suite.json", "--out", out}, tc.args...)...)
		if r.code != exitOK {
			t.Fatalf("%s: want exit 0\n%s", tc.name, r)
		}
		if _, err := os.Stat(filepath.Join(tmp, "history.db")); err == nil {
			t.Errorf("%s: the history was written", tc.name)
		}
	}
	r := rubric(t, root, env, "score", "examples/triage/suite.json", "--run", "latest", "--out", out, "--no-history")
	if r.code != exitOK {
		t.Fatalf("score --no-history: want exit 0\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(tmp, "history.db")); err == nil {
		t.Errorf("score --no-history wrote the history")
	}

	// The history's path is a folder: the run warns, and exits as it would.
	broken := []string{"RUBRIC_HISTORY=" + tmp}
	r = rubric(t, root, broken, "run", "examples/triage/suite.json", "--target", "triage-v1", "--out", out)
	if r.code != exitGateFailed || !strings.Contains(r.stderr, "rubric: history: history "+tmp+": is a directory, not a database file") {
		t.Errorf("a history that cannot be opened: want exit 1 (the gate) and a warning\n%s", r)
	}
	r = rubric(t, root, broken, "history")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "is a directory") {
		t.Errorf("history of a folder: want exit 2\n%s", r)
	}
}

// TestHistoryFlags: mistakes on rubric history's command line exit 2.
func TestHistoryFlags(t *testing.T) {
	t.Parallel()
	env := []string{"RUBRIC_HISTORY=" + filepath.Join(t.TempDir(), "history.db")}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"history", "--limit", "-1"}, "history: --limit must be 0 (all) or more, got -1"},
		{[]string{"history", "support-triage"}, `history: expected no arguments, got "support-triage"`},
		{[]string{"history", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"history", "--limit", "x"}, "invalid value"},
	} {
		r := rubric(t, t.TempDir(), env, tc.args...)
		if r.code != exitBadInput || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%v: want exit 2 and %q, nothing on stdout\n%s", tc.args, tc.want, r)
		}
	}
}
