package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// TestAgreementExample follows a judge from its first run to a gate on its
// agreement, with the built binary: examples/judge's reviewer fails Q-4,
// which the judge passed, and skips Q-2, so that over the 5 results both
// rated kappa = (4/5 − 12/25)/(1 − 12/25) = 8/13 ≈ 0.6154. A gate at 0.6
// holds, one at 0.7 fails, and one on a judge whose rubric was edited
// since fails as stale.
func TestAgreementExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "judge"), dir)
	env := []string{"RUBRIC_HISTORY=" + filepath.Join(t.TempDir(), "history.db")}
	run := func(want int, args ...string) cmdResult {
		t.Helper()
		r := rubric(t, dir, env, args...)
		if r.code != want {
			t.Fatalf("rubric %s: want exit %d\n%s", strings.Join(args, " "), want, r)
		}
		return r
	}

	// Before any agreement: the gate fails, and says how to record one.
	r := run(exitGateFailed, "run", "suite.json", "--gate", "judge.facts.kappa >= 0.6")
	wantLines(t, "stdout", r.stdout, "  FAIL  judge facts: judge.facts.kappa >= 0.6: no data (no agreement recorded for judge facts with this rubric and target; run: rubric agreement RUN --reviews SHEET)")
	first := runIDs(t, r.stderr)[0]

	r = run(exitOK, "agreement", first, "--reviews", "reviewed.csv", "--json")
	var as []evals.Agreement
	if err := json.Unmarshal([]byte(r.stdout), &as); err != nil || len(as) != 1 {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	a := as[0]
	if a.Judge != "facts" || a.RunID != first || a.N != 5 || a.NoReview != 1 || a.NoVerdict != 0 || a.Confusion != [2][2]int{{2, 1}, {0, 2}} {
		t.Errorf("agreement %+v", a)
	}
	if a.Kappa == nil || math.Abs(*a.Kappa-8.0/13) > 1e-12 || *a.Agreement != 0.8 {
		t.Errorf("kappa %v, agreement %v; want 8/13 and 0.8", a.Kappa, a.Agreement)
	}
	if len(a.Disagreements) != 1 || a.Disagreements[0].CaseID != "Q-4" || !a.Disagreements[0].JudgePass || a.Disagreements[0].JudgeScore != 0.75 {
		t.Errorf("disagreements %+v", a.Disagreements)
	}
	if !strings.Contains(r.stderr, "rubric: recorded the agreement of judge facts (n 5)") {
		t.Errorf("stderr:\n%s", r.stderr)
	}

	// The terminal table and Markdown say the same.
	r = run(exitOK, "agreement", first, "--reviews", "reviewed.csv")
	wantLines(t, "stdout", r.stdout,
		"results: 5 rated by both; left out: 1 without a person's verdict, 0 the judge did not score",
		"  kappa                0.615  95% CI -0.007 to 1.000",
		"    judge pass            2            1",
	)
	if !strings.Contains(r.stdout, "Q-4  assistant-v1  repeat 0  judge pass (0.75), people fail  verdict B:") {
		t.Errorf("no disagreement on Q-4:\n%s", r.stdout)
	}
	r = run(exitOK, "agreement", first, "--reviews", "reviewed.csv", "--markdown")
	wantLines(t, "stdout", r.stdout, "### Judge facts", "| kappa | 0.615 | 95% CI -0.007 to 1.000 |", "| pass | 2 | 1 |")

	// The gate holds at 0.6, fails at 0.7, and reads the agreement from
	// the history into the report.
	r = run(exitOK, "run", "suite.json", "--gate", "judge.facts.kappa >= 0.6", "--gate", "judge.facts.n >= 5")
	wantLines(t, "stdout", r.stdout, "  ok    judge facts: judge.facts.kappa >= 0.6: 0.6154 (margin 0.0154)")
	var sum evals.Summary
	b, err := os.ReadFile(filepath.Join(dir, "rubric-runs", runIDs(t, r.stderr)[0], "report.json"))
	if err == nil {
		err = json.Unmarshal(b, &sum)
	}
	if err != nil || len(sum.JudgeAgreement) != 1 || sum.JudgeAgreement[0].Status != evals.AgreementCurrent || sum.JudgeAgreement[0].Agreement.RunID != first {
		t.Errorf("report's judge_agreement %+v, %v", sum.JudgeAgreement, err)
	}
	r = run(exitGateFailed, "run", "suite.json", "--gate", "judge.facts.kappa >= 0.7")
	wantLines(t, "stderr", r.stderr, "  judge facts: judge.facts.kappa >= 0.7: got 0.6154, off by 0.0846")

	// The rubric edited: the agreement is stale.
	suite, err := os.ReadFile(filepath.Join(dir, "suite.json"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(suite), "Compare the facts only, not the wording.", "Compare the facts only.", 1)
	if edited == string(suite) {
		t.Fatal("the example's rubric changed: update the test")
	}
	writeFiles(t, dir, map[string]string{"suite.json": edited})
	r = run(exitGateFailed, "run", "suite.json", "--gate", "judge.facts.kappa >= 0.6")
	wantLines(t, "stdout", r.stdout, "  FAIL  judge facts: judge.facts.kappa >= 0.6: no data (the agreement recorded for judge facts (run "+first+") is stale: its rubric (or choices, threshold, output) changed since; run: rubric agreement RUN --reviews SHEET)")
}

// TestAgreementErrors checks that what rubric agreement cannot read is an
// error naming the file and the line, with exit 2, and records nothing.
func TestAgreementErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "judge"), dir)
	env := []string{"RUBRIC_HISTORY=" + filepath.Join(t.TempDir(), "history.db")}
	r := rubric(t, dir, env, "run", "suite.json")
	if r.code != exitOK {
		t.Fatalf("run: %s", r)
	}
	id := runIDs(t, r.stderr)[0]
	const head = "case_id,target,repeat,status,score,prompt,response,expected,facts.score,facts.reason,vars,tags,metadata,verdict,corrected,comment\n"
	writeFiles(t, dir, map[string]string{
		"bad-verdict.csv":   head + "Q-1,assistant-v1,0,passed,1,p,r,e,1,ok,,,,accept,,\nQ-2,assistant-v1,0,passed,1,p,r,e,1,ok,,,,pass,,\n",
		"other-run.csv":     head + "Q-9,assistant-v1,0,passed,1,p,r,e,1,ok,,,,accept,,\n",
		"conflict.jsonl":    `{"case_id":"Q-1","target":"assistant-v1","verdict":"accept"}` + "\n" + `{"case_id":"Q-1","target":"assistant-v1","verdict":"reject"}` + "\n",
		"not-reviewed.csv":  head + "Q-1,assistant-v1,0,passed,1,p,r,e,1,ok,,,,,,\n",
		"bad-repeat.csv":    head + "Q-1,assistant-v1,x,passed,1,p,r,e,1,ok,,,,accept,,\n",
		"questions.json":    "[]",
		"rubric-runs/x.txt": "",
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a verdict that is not one", []string{"--reviews", "bad-verdict.csv"}, `rubric: agreement: bad-verdict.csv:3: verdict: got "pass", expected accept, reject, skip or nothing`},
		{"a sheet of another run", []string{"--reviews", "other-run.csv"}, "rubric: agreement: other-run.csv:2: case Q-9 of target assistant-v1, repeat 0 is not a result of the run: is the sheet of another run?"},
		{"two verdicts on one result", []string{"--reviews", "conflict.jsonl"}, "rubric: agreement: conflict.jsonl:2: case Q-1 of target assistant-v1, repeat 0 is also on line 1, with another verdict: keep one of the two rows"},
		{"a bad repeat", []string{"--reviews", "bad-repeat.csv"}, `rubric: agreement: bad-repeat.csv:2:18: repeat: expected a whole number from 0, got "x"`},
		{"nothing reviewed", []string{"--reviews", "not-reviewed.csv"}, "rubric: agreement: not-reviewed.csv: no result of run " + id + " has a person's verdict (accept or reject): review it in rubric view, or give --reviews SHEET or --label-field FIELD"},
		{"no reviews.jsonl", nil, "reviews.jsonl: stat "},
		{"a format it cannot tell", []string{"--reviews", "questions.json"}, "rubric: agreement: questions.json: cannot tell the sheet's format from its extension: expected .csv, .jsonl or .ndjson"},
		{"a criterion that is no judge", []string{"--reviews", "bad-verdict.csv", "--criterion", "topic"}, "rubric: agreement: --criterion topic: not a judge criterion of run " + id + " (its judges: facts)"},
		{"a label field that is no label", []string{"--label-field", "x"}, "rubric: agreement: metadata.x: no result of run " + id + " has a person's verdict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rubric(t, dir, env, append([]string{"agreement", id}, tc.args...)...)
			if r.code != exitBadInput || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("want exit 2 and %q\n%s", tc.want, r)
			}
		})
	}
	// Nothing was recorded.
	r = rubric(t, dir, env, "run", "suite.json", "--gate", "judge.facts.n >= 0")
	if r.code != exitGateFailed || !strings.Contains(r.stdout, "no agreement recorded for judge facts") {
		t.Errorf("after the errors, a gate found an agreement:\n%s", r)
	}
}
