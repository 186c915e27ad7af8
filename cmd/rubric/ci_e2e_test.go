package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCIOutputsE2E runs the binary on the example as a GitHub Actions job
// would, with the weaker model that fails the gate: exit 1, an annotation
// per failed gate on the suite's gate line, the step summary, and JUnit, CSV
// and Markdown files that rubric report then writes again, identically, from
// the run folder.
func TestCIOutputsE2E(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	tmp := t.TempDir()
	step := filepath.Join(tmp, "step-summary.md")
	out := filepath.Join(tmp, "runs")
	j, md, c := filepath.Join(tmp, "junit.xml"), filepath.Join(tmp, "summary.md"), filepath.Join(tmp, "results.csv")
	env := []string{"GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY=" + step, "GITHUB_WORKSPACE=" + root}
	r := rubric(t, root, env, "run", "examples/triage/suite.json", "--target", "triage-v1", "--out", out,
		"--junit", j, "--markdown", md, "--csv", c)
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]

	var annotations []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "::") {
			annotations = append(annotations, l)
		}
	}
	want := []string{
		"::error file=examples/triage/suite.json,line=49,title=rubric%3A support-triage%3A gate pass_rate >= 0.9 failed on triage-v1::" +
			"triage-v1: pass_rate >= 0.9: got 0.725, off by 0.175 (value 0.725, margin -0.175)",
		"::error file=examples/triage/suite.json,line=49,title=rubric%3A support-triage%3A gate criteria.category.mean >= 0.95 failed on triage-v1::" +
			"triage-v1: criteria.category.mean >= 0.95: got 0.825, off by 0.125 (value 0.825, margin -0.125)",
	}
	if !slices.Equal(annotations, want) {
		t.Errorf("annotations:\n%s\nwant:\n%s", strings.Join(annotations, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasSuffix(r.stderr, triageV1Failure) {
		t.Errorf("stderr does not end with the gate failure:\n%s", r.stderr)
	}

	doc := readJUnit(t, j)
	if doc.Tests != 40 || doc.Failures != 11 || len(doc.Suites) != 1 {
		t.Fatalf("junit: %d tests, %d failures, %d suites", doc.Tests, doc.Failures, len(doc.Suites))
	}
	ts := doc.Suites[0]
	if ts.Name != "support-triage/triage-v1" || ts.Tests != 40 || ts.Failures != 11 || ts.Errors != 0 || len(ts.Cases) != 40 {
		t.Errorf("test suite %s: %d tests, %d failures, %d errors, %d cases", ts.Name, ts.Tests, ts.Failures, ts.Errors, len(ts.Cases))
	}
	names := map[string]bool{}
	for _, tc := range ts.Cases {
		names[tc.Name] = true
		if tc.Name == "T-1001" {
			if tc.Failure == nil || tc.Failure.Type != "schema, priority" || !strings.Contains(tc.Failure.Message, `priority: got "critical", expected "urgent"`) ||
				!strings.Contains(tc.SystemOut, `"priority": "critical"`) {
				t.Errorf("T-1001: %+v", tc)
			}
		}
	}
	if len(names) != 40 {
		t.Errorf("%d distinct test case names, want 40", len(names))
	}

	rows := readCSV(t, c)
	head := strings.Join(rows[0], ",")
	if len(rows) != 41 || head != "run_id,suite,target,case_id,repeat,status,score,latency_ms,tokens,error_kind,error_message,steps,tool_calls,tool_errors,outcome,"+
		"schema.score,schema.reason,category.score,category.reason,priority.score,priority.reason,empathy.score,empathy.reason" {
		t.Errorf("csv: %d rows, header %s", len(rows), head)
	}
	failed := 0
	for _, row := range rows[1:] {
		if row[0] != id || row[1] != "support-triage" || row[2] != "triage-v1" {
			t.Errorf("csv row %q", row)
		}
		if row[5] == "failed" {
			failed++
		}
	}
	if failed != 11 {
		t.Errorf("csv: %d failed rows, want 11", failed)
	}

	summary := readFile(t, md)
	for _, l := range []string{
		"### ❌ support-triage (version 3): gate failed",
		"| triage-v1 | ❌ 2 of 3 gates failed | 40 | 29 | 11 | 0 | 0 | 72.5% | 57.2-83.9 | 0.856 | 1246 ms | 1638 ms | 10622 |",
		"| ❌ failed | triage-v1 | `pass_rate >= 0.9` | 0.725 | -0.175 |",
		"| ✅ held | triage-v1 | `error_rate <= 0` | 0 | 0 |",
		"**Failures, triage-v1:** 11 of 40 cases did not pass (10 shown; all are in `results.jsonl`).",
	} {
		if !hasLine(summary, l) {
			t.Errorf("markdown has no line %q:\n%s", l, summary)
		}
	}
	if got := readFile(t, step); got != summary {
		t.Errorf("the step summary is not the Markdown summary:\n%s", got)
	}

	// The same outputs from the run folder, without running anything, and
	// the run's exit code and gate failure.
	rep := filepath.Join(tmp, "again")
	r = rubric(t, tmp, nil, "report", filepath.Join(out, id), "--junit", rep+".xml", "--markdown", rep+".md", "--csv", rep+".csv")
	if r.code != exitGateFailed || r.stdout != "" || !strings.HasSuffix(r.stderr, triageV1Failure) {
		t.Fatalf("report: want exit 1, nothing on stdout and the gate failure on stderr\n%s", r)
	}
	for _, p := range [][2]string{{j, rep + ".xml"}, {md, rep + ".md"}, {c, rep + ".csv"}} {
		a, _ := os.ReadFile(p[0])
		b, _ := os.ReadFile(p[1])
		if !bytes.Equal(a, b) {
			t.Errorf("rubric report's %s differs from rubric run's %s", filepath.Base(p[1]), filepath.Base(p[0]))
		}
	}
}

// TestReadmeWorkflow runs the rubric command of the README's GitHub Actions
// workflow, in a copy of the example, and checks that it passes and writes
// every file the workflow uploads.
func TestReadmeWorkflow(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Using rubric in CI\n")
	_, block, ok2 := strings.Cut(section, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no yaml block under ## Using rubric in CI")
	}
	lines := strings.Split(block, "\n")
	var command string
	var uploads []string
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "go run ./cmd/rubric ") {
			for strings.HasSuffix(l, `\`) && i+1 < len(lines) {
				i++
				l = strings.TrimSuffix(l, `\`) + " " + strings.TrimSpace(lines[i])
			}
			command = l
		}
		if l == "path: |" {
			indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
			for i+1 < len(lines) && len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) > indent {
				i++
				uploads = append(uploads, strings.TrimSpace(lines[i]))
			}
		}
	}
	args := strings.Fields(strings.TrimPrefix(command, "go run ./cmd/rubric "))
	if len(args) == 0 || len(uploads) == 0 {
		t.Fatalf("the workflow has no rubric command (%q) or no uploads (%q)", command, uploads)
	}
	if !slices.Contains(args, "--junit") {
		t.Errorf("the workflow does not write JUnit: %q", command)
	}

	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS(filepath.Join(repoRoot(t), "examples"))); err != nil {
		t.Fatal(err)
	}
	r := rubric(t, dir, nil, args...)
	if r.code != exitOK {
		t.Fatalf("the workflow's command: want exit 0\n%s", r)
	}
	for _, p := range uploads {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("the workflow uploads %s, which the command did not write: %v", p, err)
		}
	}
}
