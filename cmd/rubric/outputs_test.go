package main

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// failingSuite is okSuite whose gate fails on the "wrong" recordings: one
// case of two right.
var failingSuite = strings.Replace(okSuite, `"pass_rate >= 0.5"`, `"pass_rate >= 1"`, 1)

const wrongRecordings = `{"case_id": "a", "output": "yes"}
{"case_id": "b", "output": "maybe | <b>\u001b[0m"}
`

// junitDoc is the part of a JUnit document the command tests read.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Type    string `xml:"type,attr"`
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return doc
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCIOutputsInGitHubActions runs a failing suite as GitHub Actions would:
// the files appear, the step summary is appended to (twice for two runs),
// each failed gate is an ::error line on stdout pointing at the suite's gate,
// and rubric report writes the same files again from the run folder.
func TestCIOutputsInGitHubActions(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, withSuite(failingSuite))
	writeFiles(t, dir, map[string]string{"rec.jsonl": wrongRecordings})
	step := filepath.Join(dir, "step.md")
	if err := os.WriteFile(step, []byte("# an earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_STEP_SUMMARY", step)
	t.Setenv("GITHUB_WORKSPACE", dir)

	out := filepath.Join(dir, "out")
	j, md, c := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "summary.md"), filepath.Join(dir, "results.csv")
	code, stdout, stderr := runInProcess(t, "run", "--out", out, filepath.Join(dir, "suite.json"), "--junit", j, "--markdown", md, "--csv", c)
	if code != exitGateFailed {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	id := runID(t, stderr)
	wantLines(t, "stdout", stdout,
		"::error file=suite.json,line=7,title=rubric%3A t%3A gate pass_rate >= 1 failed on rec::rec: pass_rate >= 1: got 0.5, off by 0.5 (value 0.5, margin -0.5)")
	if n := strings.Count(stdout, "::error"); n != 1 {
		t.Errorf("%d annotations, want 1:\n%s", n, stdout)
	}
	for _, l := range []string{"rubric: junit " + j, "rubric: markdown " + md, "rubric: csv " + c} {
		if !strings.Contains(stderr, l+"\n") {
			t.Errorf("stderr does not say %q:\n%s", l, stderr)
		}
	}

	doc := readJUnit(t, j)
	if doc.Tests != 2 || doc.Failures != 1 || len(doc.Suites) != 1 || doc.Suites[0].Name != "t/rec" {
		t.Fatalf("junit: %+v", doc)
	}
	// Results, and so test cases and rows, come in the order requests
	// completed: find case b by name.
	cases := doc.Suites[0].Cases
	if len(cases) != 2 {
		t.Fatalf("junit test cases: %+v", cases)
	}
	b := cases[0]
	if b.Name != "b" {
		b = cases[1]
	}
	if b.Name != "b" || b.Classname != "t/rec" || b.Failure == nil ||
		b.Failure.Type != "exact" || b.SystemOut != "maybe | <b>␛[0m" {
		t.Errorf("junit test cases: %+v", cases)
	}
	rows := readCSV(t, c)
	// The conversation columns (11 to 14) are empty for single answers.
	if len(rows) != 3 || strings.Join(rows[0][11:16], ",") != "steps,tool_calls,tool_errors,outcome,exact.score" {
		t.Fatalf("csv: %q", rows)
	}
	row := rows[1]
	if row[3] != "b" {
		row = rows[2]
	}
	if row[3] != "b" || row[5] != "failed" || strings.Join(row[11:15], "") != "" || row[15] != "0" || row[0] != id {
		t.Errorf("csv: %q", rows)
	}
	summary := readFile(t, md)
	if !strings.HasPrefix(summary, "### ❌ t: gate failed\n") || !strings.Contains(summary, "| ❌ failed | rec | `pass_rate >= 1` | 0.5 | -0.5 |\n") {
		t.Errorf("markdown:\n%s", summary)
	}
	if got := readFile(t, step); got != "# an earlier step\n"+summary {
		t.Errorf("step summary:\n%s\nwant the earlier step, then:\n%s", got, summary)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// A second run appends its own section.
	code, _, stderr = runInProcess(t, "run", "--out", out, filepath.Join(dir, "suite.json"))
	if code != exitGateFailed {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	id2 := runID(t, stderr)
	got := readFile(t, step)
	if !strings.HasPrefix(got, "# an earlier step\n"+summary) || strings.Count(got, "### ❌ t: gate failed") != 2 || !strings.Contains(got, id2) {
		t.Errorf("step summary after two runs:\n%s", got)
	}

	// rubric report writes the same files from the run folder, writes
	// nothing to GitHub, and exits as the run did.
	runDir := filepath.Join(out, id)
	j2, md2, c2 := filepath.Join(dir, "j2.xml"), filepath.Join(dir, "s2.md"), filepath.Join(dir, "r2.csv")
	code, stdout, stderr = runInProcess(t, "report", runDir, "--junit", j2, "--markdown", md2, "--csv", c2)
	if code != exitGateFailed || stdout != "" || !strings.HasSuffix(stderr, "rubric: suite t: gate failed:\n  rec: pass_rate >= 1: got 0.5, off by 0.5\n") {
		t.Fatalf("report: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, p := range [][2]string{{j, j2}, {md, md2}, {c, c2}} {
		if a, b := readFile(t, p[0]), readFile(t, p[1]); a != b {
			t.Errorf("rubric report's %s differs from rubric run's:\n%s\n---\n%s", filepath.Base(p[1]), b, a)
		}
	}
	if after := readFile(t, step); after != got {
		t.Errorf("rubric report appended to the step summary")
	}
	code, stdout, _ = runInProcess(t, "report", id, "--out", out, "--markdown", "-")
	if code != exitGateFailed || stdout != summary {
		t.Errorf("report --markdown -: exit %d\n%s", code, stdout)
	}
}

// TestCIOutputsSeveralSuites writes two suites with different criteria into
// one file of each kind.
func TestCIOutputsSeveralSuites(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, withSuite(okSuite))
	other := strings.NewReplacer(`"name": "t"`, `"name": "u"`, `"name": "exact"`, `"name": "yes"`, `"type": "equals"`, `"type": "regex", "pattern": "^y"`).Replace(okSuite)
	writeFiles(t, dir, map[string]string{"other.json": other})
	out := filepath.Join(dir, "out")
	j, c := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "results.csv")
	code, stdout, stderr := runInProcess(t, "run", "--out", out, filepath.Join(dir, "suite.json"), filepath.Join(dir, "other.json"), "--junit", j, "--csv", c)
	if code != exitOK { // u fails one case of two; its gate asks for half
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	doc := readJUnit(t, j)
	var names []string
	for _, s := range doc.Suites {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"t/rec", "u/rec"}) || doc.Tests != 4 || doc.Failures != 1 {
		t.Errorf("junit suites %v, tests %d, failures %d", names, doc.Tests, doc.Failures)
	}
	rows := readCSV(t, c)
	if len(rows) != 5 || strings.Join(rows[0][15:], ",") != "exact.score,exact.reason,yes.score,yes.reason" {
		t.Fatalf("csv: %q", rows)
	}
	// Within a suite, rows come in the order the results completed.
	for _, row := range rows[1:] {
		key := row[1] + "/" + row[3]
		want := map[string][4]string{
			"t/a": {"1", "", "", ""}, "t/b": {"1", "", "", ""},
			"u/a": {"", "", "1", ""}, "u/b": {"", "", "0", `no match for /^y/ in "no"`},
		}[key]
		if got := [4]string(row[15:19]); got != want {
			t.Errorf("csv row %s: criteria %q, want %q", key, got, want)
		}
	}
	if rows[1][1] != "t" || rows[2][1] != "t" || rows[3][1] != "u" || rows[4][1] != "u" {
		t.Errorf("csv rows not in suite order: %q", rows)
	}
}

// TestCIOutputsSameSuiteName: suites of one command may share a name when
// they run different targets, whose JUnit test suites differ; rubric report
// refuses two runs of one suite and target in one JUnit file, and writes
// them together to the other outputs, which tell them apart by run id.
func TestCIOutputsSameSuiteName(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, withSuite(okSuite))
	writeFiles(t, dir, map[string]string{"other.json": strings.Replace(okSuite, `"name": "rec"`, `"name": "rec2"`, 1)})
	out := filepath.Join(dir, "out")
	j := filepath.Join(dir, "junit.xml")
	code, stdout, stderr := runInProcess(t, "run", "--out", out, filepath.Join(dir, "suite.json"), filepath.Join(dir, "other.json"), "--junit", j)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var names []string
	for _, s := range readJUnit(t, j).Suites {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"t/rec", "t/rec2"}) {
		t.Errorf("junit suites %v", names)
	}

	first := filepath.Join(out, runIDs(t, stderr)[0])
	code, _, stderr = runInProcess(t, "run", "--out", out, filepath.Join(dir, "suite.json"))
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	second := filepath.Join(out, runID(t, stderr))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"two_runs", []string{"report", first, second, "--junit", j},
			`rubric: report: runs $DIR/out/ID1 and $DIR/out/ID2 are both of suite "t" with target rec: their JUnit test suites would both be named "t/rec"; write each run's --junit to its own file` + "\n"},
		{"one_run_twice", []string{"report", first, first + "/report.json", "--junit", j},
			"rubric: report: run $DIR/out/ID1 is given twice\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(j)
			code, stdout, stderr := runInProcess(t, tc.args...)
			got := strings.NewReplacer(dir, "$DIR", filepath.Base(first), "ID1", filepath.Base(second), "ID2").Replace(stderr)
			if code != exitBadInput || stdout != "" || got != tc.want {
				t.Errorf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", code, stdout, got, tc.want)
			}
			if _, err := os.Stat(j); err == nil {
				t.Error("the JUnit file was written")
			}
		})
	}
	c := filepath.Join(dir, "results.csv")
	if code, _, stderr := runInProcess(t, "report", first, second, "--csv", c); code != exitOK {
		t.Errorf("report --csv of two runs of one suite: exit %d\n%s", code, stderr)
	}
	if rows := readCSV(t, c); len(rows) != 5 || rows[1][0] == rows[4][0] {
		t.Errorf("csv of two runs: %q", rows)
	}
}

// TestStepSummaryUnwritable runs and gates all the same, with a warning,
// when the step summary cannot be written.
func TestStepSummaryUnwritable(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, withSuite(okSuite))
	t.Setenv("GITHUB_STEP_SUMMARY", filepath.Join(dir, "no", "such", "file"))
	code, stdout, stderr := runInProcess(t, "run", "--out", filepath.Join(dir, "out"), filepath.Join(dir, "suite.json"))
	if code != exitOK || !strings.Contains(stdout, "gate held") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	want := "rubric: warning: no step summary: GITHUB_STEP_SUMMARY: open " + filepath.Join(dir, "no", "such", "file") + ": no such file or directory\n"
	if !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr:\n%s\nwant it to start with:\n%s", stderr, want)
	}
}

// TestCIOutputsUsage covers the flags' mistakes: exit 2, nothing sent, no
// file written.
func TestCIOutputsUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"run_stdout", []string{"run", "--out", "$DIR/out", "$DIR/suite.json", "--junit", "-"},
			"rubric: run: --junit -: stdout carries the run's summary; give a file, or write it from the run folder afterwards with: rubric report RUN --junit -\n"},
		{"same_file", []string{"run", "--out", "$DIR/out", "$DIR/suite.json", "--junit", "$DIR/x", "--csv", "$DIR/./x"},
			"rubric: run: --junit and --csv both write $DIR/./x\n"},
		{"empty_name", []string{"run", "--out", "$DIR/out", "$DIR/suite.json", "--csv="},
			"rubric: run: --csv needs a file name\n"},
		{"no_folder", []string{"run", "--out", "$DIR/out", "$DIR/suite.json", "--junit", "$DIR/nope/junit.xml"},
			"rubric: --junit $DIR/nope/junit.xml: the folder $DIR/nope does not exist\n"},
		{"a_folder", []string{"run", "--out", "$DIR/out", "$DIR/suite.json", "--csv", "$DIR"},
			"rubric: --csv $DIR: it is a folder: expected a file name\n"},
		{"under_a_file", []string{"run", "--out", "$DIR/out", "$DIR/suite.json", "--markdown", "$DIR/suite.json/x.md"},
			"rubric: --markdown $DIR/suite.json/x.md: $DIR/suite.json is not a folder\n"},
		{"report_two_stdouts", []string{"report", "$DIR/out/x", "--junit", "-", "--csv", "-"},
			"rubric: report: only one output can go to stdout (-)\n"},
		{"report_no_run", []string{"report"},
			"rubric: report: expected one or more run folders or run ids, as in: rubric report rubric-runs/RUN_ID --junit junit.xml\n"},
		{"report_not_a_run", []string{"report", "$DIR", "--csv", "-"},
			"rubric: run $DIR: not a run folder (no report.json); give a folder or id that rubric run printed, with the same --out\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, withSuite(okSuite))
			code, stdout, stderr := runInProcess(t, expand(tc.args, dir)...)
			if code != exitBadInput || stdout != "" {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if got := strings.ReplaceAll(stderr, dir, "$DIR"); got != tc.want {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
				t.Error("a run folder was created")
			}
			for _, p := range []string{"x", "x.tmp"} {
				if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

// TestOutputFileErrors: an output file that cannot be created is bad input,
// exit 2, reported under the name given, not the temporary one; nothing is
// written. export and import-review write through writeOutput, run and
// report through ciOutputs.
func TestOutputFileErrors(t *testing.T) {
	dir, out, id, _ := passedRun(t)
	sheet := filepath.Join(dir, "review.csv")
	if code, _, stderr := runInProcess(t, "export", "--out", out, id, "--format", "review-csv", "-o", sheet); code != exitOK {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"export_no_folder", []string{"export", "--out", out, id, "--format", "chat", "-o", "$DIR/nope/chat.jsonl"},
			"rubric: export: --output $DIR/nope/chat.jsonl: the folder $DIR/nope does not exist\n"},
		{"export_a_folder", []string{"export", "--out", out, id, "--format", "chat", "-o", "$DIR"},
			"rubric: export: --output $DIR: it is a folder: expected a file name\n"},
		{"import_review_no_folder", []string{"import-review", sheet, "-o", "$DIR/nope/cases.jsonl"},
			"rubric: import-review: --output $DIR/nope/cases.jsonl: the folder $DIR/nope does not exist\n"},
		{"report_no_folder", []string{"report", "--out", out, id, "--markdown", "$DIR/nope/summary.md"},
			"rubric: --markdown $DIR/nope/summary.md: the folder $DIR/nope does not exist\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := filepath.Glob(filepath.Join(dir, "*"))
			code, stdout, stderr := runInProcess(t, expand(tc.args, dir)...)
			if code != exitBadInput || stdout != "" {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if got := strings.ReplaceAll(stderr, dir, "$DIR"); got != tc.want {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, tc.want)
			}
			if after, _ := filepath.Glob(filepath.Join(dir, "*")); !slices.Equal(before, after) {
				t.Errorf("files before %q, after %q", before, after)
			}
		})
	}
}

// TestExportRunsFolder: export looks runs up in --out, as report, compare
// and score do, and still in --runs, its old name. An --out that is not a
// folder is what --out meant before, the output file: refused with exit 2
// and the hint to use -o, and nothing is written.
func TestExportRunsFolder(t *testing.T) {
	dir, out, id, _ := passedRun(t)
	for _, args := range [][]string{
		{"export", "--out", out, id, "--format", "review-jsonl"},
		{"export", "--runs", out, id, "--format", "review-jsonl"},
		{"export", "--out", out, "latest", "--format", "review-jsonl", "--output", "-"},
		{"export", filepath.Join(out, id), "--format", "review-jsonl"},
	} {
		code, stdout, stderr := runInProcess(t, args...)
		if code != exitOK || strings.Count(stdout, "\n") != 2 {
			t.Errorf("rubric %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "old.jsonl"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", filepath.Join(out, id), "--format", "chat", "--out", "$DIR/train.jsonl"},
			"rubric: export: --out $DIR/train.jsonl does not exist: --out is the folder of runs, as in rubric report and compare; to write the export to a file, use -o $DIR/train.jsonl (--output)\n"},
		{[]string{"export", filepath.Join(out, id), "--format", "chat", "--out", "$DIR/old.jsonl"},
			"rubric: export: --out $DIR/old.jsonl is not a folder: --out is the folder of runs, as in rubric report and compare; to write the export to a file, use -o $DIR/old.jsonl (--output)\n"},
		{[]string{"export", id, "--format", "chat", "--out", out, "--runs", out},
			"rubric: export: --runs is the old name of --out: give one of them\n"},
	} {
		code, stdout, stderr := runInProcess(t, expand(tc.args, dir)...)
		if got := strings.ReplaceAll(stderr, dir, "$DIR"); code != exitBadInput || stdout != "" || got != tc.want {
			t.Errorf("rubric %s: exit %d, want 2\nstderr:\n%s\nwant:\n%s", strings.Join(tc.args, " "), code, got, tc.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "old.jsonl")); string(b) != "x\n" {
		t.Errorf("old.jsonl was overwritten: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "train.jsonl")); err == nil {
		t.Error("train.jsonl was written")
	}
}

// TestImportReviewNothingReviewed: a sheet no one filled in writes nothing,
// says why on stderr and exits 2, to a file or to stdout; with
// --keep-unreviewed it is imported as it is.
func TestImportReviewNothingReviewed(t *testing.T) {
	dir, out, id, _ := passedRun(t)
	sheet := filepath.Join(dir, "review.csv")
	if code, _, stderr := runInProcess(t, "export", "--out", out, id, "--format", "review-csv", "-o", sheet); code != exitOK {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	want := "rubric: import-review: $DIR/review.csv: none of its 2 rows has a verdict or a corrected answer: nothing to import (fill in verdict with accept, reject or skip, or corrected with the right answer); or keep every row as it is with --keep-unreviewed\n"
	for _, to := range []string{"$DIR/reviewed.jsonl", "-"} {
		code, stdout, stderr := runInProcess(t, expand([]string{"import-review", sheet, "--output", to}, dir)...)
		if got := strings.ReplaceAll(stderr, dir, "$DIR"); code != exitBadInput || stdout != "" || got != want {
			t.Errorf("--output %s: exit %d, want 2\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", to, code, stdout, got, want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*reviewed.jsonl*")); len(left) > 0 {
		t.Errorf("%q was written", left)
	}
	code, stdout, stderr := runInProcess(t, "import-review", sheet, "--keep-unreviewed")
	if code != exitOK || strings.Count(stdout, "\n") != 2 {
		t.Errorf("--keep-unreviewed: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// passedRun runs okSuite in a new folder, and returns the folder, the --out
// folder in it, the run id and stdout.
func passedRun(t *testing.T) (dir, out, id, stdout string) {
	t.Helper()
	dir = t.TempDir()
	writeFiles(t, dir, withSuite(okSuite))
	out = filepath.Join(dir, "out")
	code, stdout, stderr := runInProcess(t, "run", "--out", out, filepath.Join(dir, "suite.json"))
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	return dir, out, runID(t, stderr), stdout
}

// TestReportUnfinishedRun refuses a run folder without a report, and says
// how to finish the run.
func TestReportUnfinishedRun(t *testing.T) {
	_, out, id, _ := passedRun(t)
	if err := os.Remove(filepath.Join(out, id, "report.json")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runInProcess(t, "report", id, "--out", out)
	want := "rubric: run " + id + ": it has no report.json: it did not finish; finish it with rubric run --resume " + id + "\n"
	if code != exitBadInput || stdout != "" || stderr != want {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", code, stdout, stderr, want)
	}
}

// TestReportText prints a finished run's terminal summary again.
func TestReportText(t *testing.T) {
	_, out, id, runOut := passedRun(t)
	code, stdout, stderr := runInProcess(t, "report", filepath.Join(out, id))
	if code != exitOK || stdout != runOut || stderr != "" {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, stdout, runOut, stderr)
	}
}

// TestReportExitCode: rubric report exits with the verdict that each run's
// report.json holds, the worst of several, with the reasons on stderr.
func TestReportExitCode(t *testing.T) {
	_, out, id, _ := passedRun(t)
	path := filepath.Join(out, id, "report.json")
	orig := readFile(t, path)
	results := filepath.Join(out, id, "results.jsonl")
	gateFailed := func(m map[string]any) {
		m["gate"] = map[string]any{"held": false, "results": []any{map[string]any{"expr": "pass_rate >= 1", "target": "rec", "held": false, "message": "rec: pass_rate >= 1: got 0.5, off by 0.5"}}}
	}
	const gateMsg = "rubric: suite t: gate failed:\n  rec: pass_rate >= 1: got 0.5, off by 0.5\n"
	for _, tc := range []struct {
		name  string
		edit  func(m map[string]any)
		other func(m map[string]any) // a second run to report, edited so
		code  int
		want  string
	}{
		{"gate held", func(map[string]any) {}, nil, exitOK, ""},
		{"gate failed", gateFailed, nil, exitGateFailed, gateMsg},
		{"incomplete", func(m map[string]any) {
			m["complete"], m["interrupted"] = false, true
			m["gate"] = map[string]any{"held": false, "note": "the run did not complete: a gate is not held on partial results"}
		}, nil, exitIncomplete, "rubric: run " + id + " did not complete: its report covers the results completed before it stopped\n"},
		{"over the error budget, and a gate failed", func(m map[string]any) {
			m["gate"] = map[string]any{"held": false, "note": "error budget exceeded"}
			m["error_budget"] = map[string]any{"budget": 0, "held": false, "over": []any{map[string]any{"target": "rec", "cases": 2, "errored": 1, "error_rate": 0.5,
				"reason": "1 of 2 cases ended in an error (50.0%), over the error budget of 0.0%"}}}
			m["targets"].([]any)[0].(map[string]any)["errors"] = map[string]any{"replay": 1}
		}, gateFailed, exitIncomplete, "rubric: target rec: 1 of 2 cases ended in an error (50.0%), over the error budget of 0.0% (replay 1); see the errors in " + results + "\n" + strings.TrimPrefix(gateMsg, "rubric: ")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write := func(path string, edit func(map[string]any)) {
				var m map[string]any
				if err := json.Unmarshal([]byte(orig), &m); err != nil {
					t.Fatal(err)
				}
				edit(m)
				b, _ := json.Marshal(m)
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write(path, tc.edit)
			args := []string{"report", filepath.Join(out, id)}
			if tc.other != nil {
				other := t.TempDir()
				write(filepath.Join(other, "report.json"), tc.other)
				args = append(args, other)
			}
			code, _, stderr := runInProcess(t, args...)
			if code != tc.code || stderr != tc.want {
				t.Errorf("exit %d, want %d\nstderr:\n%s\nwant:\n%s", code, tc.code, stderr, tc.want)
			}
		})
	}
}

// TestCIOutputsResume writes the outputs of a resumed run: the results
// recorded before the crash and those sent after.
func TestCIOutputsResume(t *testing.T) {
	dir, out, id, _ := passedRun(t)
	// As after a crash: one result of two journaled, no report.
	journal := filepath.Join(out, id, "results.jsonl")
	first, _, _ := strings.Cut(readFile(t, journal), "\n")
	if err := os.WriteFile(journal, []byte(first+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(out, id, "report.json"))

	c := filepath.Join(dir, "results.csv")
	code, _, stderr := runInProcess(t, "run", "--resume", id, "--out", out, "--csv", c)
	if code != exitOK {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	rows := readCSV(t, c)
	var ids []string
	for _, row := range rows[1:] {
		ids = append(ids, row[3])
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"a", "b"}) {
		t.Errorf("csv after resume has cases %v, want a and b", ids)
	}
}
