package main

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// budgetReport is the part of report.json about the error budget, under its
// documented field names.
type budgetReport struct {
	Complete bool `json:"complete"`
	Gate     struct {
		Held bool   `json:"held"`
		Note string `json:"note"`
	} `json:"gate"`
	ErrorBudget *evals.ErrorBudget `json:"error_budget"`
}

// TestErrorBudgetE2E runs the binary against an endpoint that fails two
// cases of ten. Over a budget of 10%, the run exits 3, and the breach is in
// report.json, the terminal summary, the Markdown and the JUnit; rubric
// report exits 3 too, with the breach on stderr, and writes the same files;
// a resumed run keeps the budget and its verdict. Within a budget of 20%,
// the run exits 0 and nothing says anything is wrong.
func TestErrorBudgetE2E(t *testing.T) {
	t.Parallel()
	srv := newChatServer(t, func(id string) (int, string) {
		if id == "c3" || id == "c7" {
			return http.StatusInternalServerError, ""
		}
		return rightAnswers(id)
	})
	dir := t.TempDir()
	env := []string{"RUBRIC_E2E_KEY=" + e2eKey, "RUBRIC_DB=" + filepath.Join(t.TempDir(), "cache.db")}
	path := writeOpenAISuite(t, dir, srv.URL, 10, 4, "pass_rate >= 0.7", noRetry)
	md, junit := filepath.Join(dir, "summary.md"), filepath.Join(dir, "junit.xml")

	r := rubric(t, dir, env, "run", path, "--out", "runs", "--error-budget", "0.1", "--markdown", md, "--junit", junit)
	if r.code != exitIncomplete {
		t.Fatalf("over the budget: want exit 3\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	breach := "local: 2 of 10 cases ended in an error (20.0%), over the error budget of 10.0%"
	wantErr := "rubric: target " + breach + " (http_status 2); see the errors in runs/" + id + "/results.jsonl\n"
	if !strings.HasSuffix(r.stderr, wantErr) {
		t.Errorf("stderr does not end with\n%s%s", wantErr, r)
	}
	wantLines(t, "stdout", r.stdout, "gate not held: error budget exceeded", "  FAIL  "+breach,
		"  ok    local: pass_rate >= 0.7: 0.8 (margin 0.1)")
	if strings.Contains(r.stdout, "gate held") {
		t.Errorf("stdout says the gate held:\n%s", r.stdout)
	}

	runDir := filepath.Join(dir, "runs", id)
	wantBudget := &evals.ErrorBudget{Budget: ptrTo(0.1), Over: []evals.BudgetBreach{{Target: "local", Cases: 10, Errored: 2, ErrorRate: 0.2,
		Reason: "2 of 10 cases ended in an error (20.0%), over the error budget of 10.0%"}}}
	checkBudgetReport := func(what string) {
		t.Helper()
		var rep budgetReport
		readJSON(t, filepath.Join(runDir, "report.json"), &rep)
		if !rep.Complete || rep.Gate.Held || rep.Gate.Note != "error budget exceeded" || !reflect.DeepEqual(rep.ErrorBudget, wantBudget) {
			t.Errorf("%s: report.json: complete %v, gate held %v, note %q, error_budget %+v\nwant error_budget %+v",
				what, rep.Complete, rep.Gate.Held, rep.Gate.Note, rep.ErrorBudget, wantBudget)
		}
	}
	checkBudgetReport("the run")

	summary := readFile(t, md)
	wantLines(t, "markdown", summary, "### ⚠️ labels: gate not held: error budget exceeded",
		"| local | ⚠️ error budget exceeded | 10 | 8 | 0 | 2 | 0 | 80.0% | 49.0-94.3 | 1.000 | "+tableCell(t, summary, "local", 10)+" | "+tableCell(t, summary, "local", 11)+" | 280 |",
		"**Error budget exceeded, local:** 2 of 10 cases ended in an error (20.0%), over the error budget of 10.0%.")
	if strings.Contains(summary, "✅ gate held") {
		t.Errorf("markdown shows the gate held:\n%s", summary)
	}
	doc := readJUnit(t, junit)
	if len(doc.Suites) != 1 || doc.Tests != 11 || doc.Suites[0].Tests != 11 || doc.Suites[0].Failures != 1 || doc.Suites[0].Errors != 2 {
		t.Fatalf("junit: %d tests, suites %+v", doc.Tests, doc.Suites)
	}
	found := false
	for _, tc := range doc.Suites[0].Cases {
		if tc.Name == "(error budget)" {
			found = true
			if tc.Classname != "labels/local" || tc.Failure == nil || tc.Failure.Type != "error_budget" || tc.Failure.Message != wantBudget.Over[0].Reason {
				t.Errorf("junit's budget test case: %+v", tc)
			}
		}
	}
	if !found {
		t.Errorf("junit has no test case (error budget)")
	}

	// rubric report reads the verdict from report.json: the same exit code,
	// the breach on stderr, the same summary and files.
	rep := rubric(t, dir, env, "report", filepath.Join("runs", id))
	if rep.code != exitIncomplete || rep.stdout != r.stdout || !strings.HasSuffix(rep.stderr, wantErr) {
		t.Errorf("rubric report: want exit 3, the run's summary, and stderr ending with\n%s%s", wantErr, rep)
	}
	md2, junit2 := filepath.Join(dir, "again.md"), filepath.Join(dir, "again.xml")
	rep = rubric(t, dir, env, "report", filepath.Join("runs", id), "--markdown", md2, "--junit", junit2)
	if rep.code != exitIncomplete || !strings.HasSuffix(rep.stderr, wantErr) {
		t.Errorf("rubric report --markdown --junit: want exit 3\n%s", rep)
	}
	if readFile(t, md2) != summary || readFile(t, junit2) != readFile(t, junit) {
		t.Errorf("rubric report's files differ from rubric run's")
	}

	// After a crash, the resumed run keeps --error-budget and its verdict.
	journal := filepath.Join(runDir, "results.jsonl")
	lines := strings.SplitAfter(readFile(t, journal), "\n")
	if err := os.WriteFile(journal, []byte(strings.Join(lines[:5], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(runDir, "report.json"))
	res := rubric(t, dir, env, "run", "--resume", id, "--out", "runs")
	if res.code != exitIncomplete || !strings.HasSuffix(res.stderr, wantErr) {
		t.Errorf("resume: want exit 3 and the breach\n%s", res)
	}
	checkBudgetReport("the resumed run")

	// Within the budget: exit 0, and nothing alarming anywhere.
	r = rubric(t, dir, env, "run", path, "--out", "runs", "--error-budget", "0.2", "--markdown", md, "--junit", junit)
	if r.code != exitOK {
		t.Fatalf("within the budget: want exit 0\n%s", r)
	}
	id = runIDs(t, r.stderr)[0]
	wantLines(t, "stdout", r.stdout, "gate held")
	for _, bad := range []string{"budget", "FAIL", "not held"} {
		if strings.Contains(r.stdout, bad) || strings.Contains(readFile(t, md), bad) {
			t.Errorf("within the budget, the summary or the Markdown says %q:\n%s\n%s", bad, r.stdout, readFile(t, md))
		}
	}
	for _, bad := range []string{"⚠️", "❌"} {
		if strings.Contains(readFile(t, md), bad) {
			t.Errorf("within the budget, the Markdown has %s:\n%s", bad, readFile(t, md))
		}
	}
	if doc := readJUnit(t, junit); doc.Tests != 10 || doc.Failures != 0 {
		t.Errorf("within the budget, junit has %d tests, %d failures", doc.Tests, doc.Failures)
	}
	var held budgetReport
	readJSON(t, filepath.Join(dir, "runs", id, "report.json"), &held)
	if !held.Gate.Held || held.Gate.Note != "" || !reflect.DeepEqual(held.ErrorBudget, &evals.ErrorBudget{Budget: ptrTo(0.2), Held: true}) {
		t.Errorf("within the budget, report.json: gate %+v, error_budget %+v", held.Gate, held.ErrorBudget)
	}
	if rep := rubric(t, dir, env, "report", filepath.Join("runs", id)); rep.code != exitOK || rep.stderr != "" {
		t.Errorf("rubric report within the budget: want exit 0 and nothing on stderr\n%s", rep)
	}
}

func ptrTo[T any](v T) *T { return &v }

// tableCell returns the nth cell (from 0) of the Markdown table row of
// target: the latencies, which the test cannot know.
func tableCell(t *testing.T, md, target string, n int) string {
	t.Helper()
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| "+target+" | ") {
			cells := strings.Split(strings.Trim(l, "|"), "|")
			if n < len(cells) {
				return strings.TrimSpace(cells[n])
			}
		}
	}
	t.Fatalf("markdown has no row for %s:\n%s", target, md)
	return ""
}
