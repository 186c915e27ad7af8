package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/runner/history"
)

// TestTrendE2E records three runs of the triage example's target in a
// history of its own, the third replaying the better version, and follows
// the pass rate and the mean across them: the third change is marked, the
// second (no change) is not.
func TestTrendE2E(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "triage"), dir)
	env := []string{"RUBRIC_HISTORY=" + filepath.Join(dir, "history.db")}
	runs := [][]string{
		{"run", "suite.json", "-t", "triage-v1", "--out", "runs", "--no-progress"},
		{"run", "suite.json", "-t", "triage-v1", "--out", "runs", "--no-progress"},
		{"run", "suite.json", "-t", "triage-v1", "--out", "runs", "--no-progress",
			"--set", "triage-v1.path=recordings/triage-v2.jsonl", "--set", "triage-v1.replay_as=triage-v2"},
	}
	for _, args := range runs {
		if r := rubric(t, dir, env, args...); r.code != 1 && r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r)
		}
	}
	r := rubric(t, dir, env, "trend", "support-triage")
	if r.code != 0 {
		t.Fatalf("trend: exit %d\n%s", r.code, r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "support-triage triage-v1  pass_rate  ▁▁█  0.725 -> 0.95  (3 runs)") {
		t.Fatalf("trend:\n%s", r.stdout)
	}
	if strings.Contains(lines[3], "▲") || !strings.HasSuffix(lines[3], "+0") {
		t.Errorf("the second run changed nothing: %q", lines[3])
	}
	if !strings.Contains(lines[4], "+0.225 ▲ p=0.0225") {
		t.Errorf("the third run's change (6 fixes, no regression): %q", lines[4])
	}

	r = rubric(t, dir, env, "trend", "support-triage", "--metric", "mean", "--json")
	var trends []history.Trend
	if err := json.Unmarshal([]byte(r.stdout), &trends); err != nil || r.code != 0 {
		t.Fatalf("trend --json: exit %d, %v\n%s", r.code, err, r)
	}
	pts := trends[0].Points
	if len(pts) != 3 || pts[2].Change == nil || !pts[2].Change.Significant || pts[1].Change.Significant {
		t.Errorf("mean trend: %+v", trends)
	}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"trend", "nope"}, `no complete run of suite "nope" in the history`},
		{[]string{"trend", "support-triage", "-m", "pass"}, `--metric "pass": unknown metric`},
		{[]string{"trend"}, "expected one suite name"},
		{[]string{"trend", "support-triage", "-t", "gpt"}, `with target "gpt"`},
	} {
		r := rubric(t, dir, env, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.msg)
		}
	}
	// Without a history: exit 2, saying so.
	r = rubric(t, dir, []string{"RUBRIC_HISTORY=" + filepath.Join(dir, "none.db")}, "trend", "support-triage")
	if r.code != 2 || !strings.Contains(r.stderr, "the run history is empty") {
		t.Errorf("no history: exit %d, %q", r.code, r.stderr)
	}
}
