package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// The end-to-end tests run the rubric binary, built once per test run into a
// temporary folder, as a user would: in a working directory, with an
// environment, reading its exit code, stdout and stderr.

var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error

	// raceEnabled is set by race_test.go: the binary is then built with the
	// race detector too, and a race in it fails the test that ran it.
	raceEnabled bool

	// launch, where the platform has it, makes the test binary run a
	// command and write what it measured of it to the file named by
	// launchEnv (see runMeasured).
	launch func(out string, argv []string) int
)

const launchEnv = "RUBRIC_E2E_LAUNCH"

func TestMain(m *testing.M) {
	if out := os.Getenv(launchEnv); out != "" && launch != nil {
		os.Exit(launch(out, os.Args[1:]))
	}
	flag.Parse()
	d, err := os.MkdirTemp("", "rubric-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = d
	// Keep the response cache and any other state of the runs, in-process
	// and in the binary, out of the user's cache folder. (Not by moving
	// XDG_CACHE_HOME: go build keeps its cache there.)
	os.Setenv("RUBRIC_DB", filepath.Join(d, "rubric.db"))
	// The run history too: every run the tests make is recorded there, never
	// in the user's. A test that reads the history gives its own file.
	os.Setenv("RUBRIC_HISTORY", filepath.Join(d, "history.db"))
	os.Unsetenv("RUBRIC_NO_HISTORY")
	// When the tests themselves run in GitHub Actions, rubric must not
	// annotate or append to the step summary of the job running them.
	for _, v := range []string{"GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE"} {
		os.Unsetenv(v)
	}
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// rubricBin returns the path of the rubric binary, building it on first use.
func rubricBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin := goTool()
		binPath = filepath.Join(binDir, "rubric")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command(goBin, append(args, ".")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// repoRoot is the module's root, where the README's commands run.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// environ is the test's environment without the variables that change
// rubric's output, plus extra ("NAME=VALUE").
func environ(extra ...string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "NO_COLOR" || name == "TERM" || strings.HasPrefix(name, "RUBRIC_E2E_") || strings.HasPrefix(name, "GITHUB_")
	})
	return append(env, extra...)
}

type cmdResult struct {
	code           int
	stdout, stderr string
}

// rubric runs the binary in dir with env added to the environment, and fails
// the test if it does not exit within a minute.
func rubric(t *testing.T, dir string, env []string, args ...string) cmdResult {
	t.Helper()
	bin := rubricBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = environ(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("rubric %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("rubric %s: did not exit within a minute\nstderr:\n%s", strings.Join(args, " "), errb.String())
	}
	r := cmdResult{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
	checkNoRace(t, r.stderr)
	return r
}

func checkNoRace(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "WARNING: DATA RACE") {
		t.Errorf("the race detector found a race in the binary:\n%s", stderr)
	}
}

func (r cmdResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s\n--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

var runLine = regexp.MustCompile(`(?m)^rubric: run (\d{8}-\d{6}-[0-9a-f]{6}): `)

// runIDs returns the run ids stderr announces, in order.
func runIDs(t *testing.T, stderr string) []string {
	t.Helper()
	var ids []string
	for _, m := range runLine.FindAllStringSubmatch(stderr, -1) {
		ids = append(ids, m[1])
	}
	if len(ids) == 0 {
		t.Fatalf("stderr names no run id:\n%s", stderr)
	}
	return ids
}

// hasLine reports whether text has line as one whole line.
func hasLine(text, line string) bool {
	return slices.Contains(strings.Split(text, "\n"), line)
}

func wantLines(t *testing.T, what, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !hasLine(text, l) {
			t.Errorf("%s has no line %q:\n%s", what, l, text)
		}
	}
}

// tableRow returns the fields of the summary table's row for target.
func tableRow(t *testing.T, stdout, target string) []string {
	t.Helper()
	for _, l := range strings.Split(stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == target {
			return f
		}
	}
	t.Fatalf("stdout has no table row for %s:\n%s", target, stdout)
	return nil
}

// runReport is the part of report.json the tests read, under its documented
// field names.
type runReport struct {
	ReportVersion int    `json:"report_version"`
	RunID         string `json:"run_id"`
	Suite         string `json:"suite"`
	Complete      bool   `json:"complete"`
	Interrupted   bool   `json:"interrupted"`
	ResultsFile   string `json:"results_file"`
	Targets       []struct {
		Name     string         `json:"name"`
		Provider string         `json:"provider"`
		Model    string         `json:"model"`
		Cases    int            `json:"cases"`
		Passed   int            `json:"passed"`
		Failed   int            `json:"failed"`
		Errored  int            `json:"errored"`
		Errors   map[string]int `json:"errors"`
		// Comparison is the comparison with --baseline.
		Comparison *evals.Comparison `json:"comparison"`
	} `json:"targets"`
	Gate struct {
		Held bool `json:"held"`
	} `json:"gate"`
}

// runFiles checks the run folder out/id, where out is --out as given to a
// rubric started in dir, and returns its results and report.
func runFiles(t *testing.T, dir, out, id string) ([]map[string]any, runReport) {
	t.Helper()
	var rep runReport
	runDir := filepath.Join(out, id)
	if !filepath.IsAbs(runDir) {
		runDir = filepath.Join(dir, runDir)
	}
	readJSON(t, filepath.Join(runDir, "report.json"), &rep)
	results := readJSONL(t, filepath.Join(runDir, "results.jsonl"))
	if b, _ := os.ReadFile(filepath.Join(runDir, "results.jsonl")); len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("results.jsonl ends in a torn line: %q", b[max(0, len(b)-80):])
	}
	if rep.ReportVersion != 1 {
		t.Errorf("report_version %d, want 1", rep.ReportVersion)
	}
	if rep.RunID != id {
		t.Errorf("report run_id %q, want %q", rep.RunID, id)
	}
	if want := "results.jsonl"; rep.ResultsFile != want {
		t.Errorf("report results_file %q, want %q", rep.ResultsFile, want)
	}
	for i, r := range results {
		for _, k := range []string{"case_id", "target", "status"} {
			if s, _ := r[k].(string); s == "" {
				t.Errorf("results.jsonl line %d: %s is %v, want a non-empty string", i+1, k, r[k])
			}
		}
		if r["run_id"] != id {
			t.Errorf("results.jsonl line %d: run_id %v, want %s", i+1, r["run_id"], id)
		}
	}
	return results, rep
}

func countStatus(results []map[string]any, status string) int {
	n := 0
	for _, r := range results {
		if r["status"] == status {
			n++
		}
	}
	return n
}

// TestQuickstart runs the README's quickstart on the bundled example.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	r := rubric(t, repoRoot(t), nil, "run", "examples/triage/suite.json", "--out", out)
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	wantErr := fmt.Sprintf(`rubric: run %[1]s: suite support-triage, 40 cases x 1 target (triage-v2)
rubric: results %[2]s/%[1]s/results.jsonl
rubric: report %[2]s/%[1]s/report.json
`, id, out)
	if r.stderr != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, wantErr)
	}
	if first, _, _ := strings.Cut(r.stdout, "\n"); first != "support-triage (version 3)  run "+id {
		t.Errorf("stdout's first line is %q", first)
	}
	row := tableRow(t, r.stdout, "triage-v2")
	if want := []string{"triage-v2", "40", "38", "2", "0", "0", "95.0%", "83.5-98.6", "0.983"}; !slices.Equal(row[:len(want)], want) {
		t.Errorf("table row %q, want it to start with %q", row, want)
	}
	wantLines(t, "stdout", r.stdout,
		"gate held",
		"  ok    triage-v2: pass_rate >= 0.9: 0.95 (margin 0.05)",
		"  ok    triage-v2: criteria.category.mean >= 0.95: 0.975 (margin 0.025)",
		"  ok    triage-v2: error_rate <= 0: 0 (margin 0)",
	)

	checkReadmeQuickstart(t, r.stdout, id)

	results, rep := runFiles(t, "", out, id)
	if len(results) != 40 {
		t.Errorf("results.jsonl has %d lines, want 40", len(results))
	}
	ids := map[any]bool{}
	for _, res := range results {
		ids[res["case_id"]] = true
		if res["target"] != "triage-v2" {
			t.Errorf("result for target %v", res["target"])
		}
	}
	if len(ids) != 40 {
		t.Errorf("results.jsonl has %d distinct case ids, want 40", len(ids))
	}
	if n := countStatus(results, "passed"); n != 38 {
		t.Errorf("%d results passed, want 38", n)
	}
	if !rep.Complete || rep.Interrupted || !rep.Gate.Held || rep.Suite != "support-triage" {
		t.Errorf("report: complete %v, interrupted %v, gate held %v, suite %q", rep.Complete, rep.Interrupted, rep.Gate.Held, rep.Suite)
	}
	if len(rep.Targets) != 1 || rep.Targets[0].Name != "triage-v2" || rep.Targets[0].Cases != 40 || rep.Targets[0].Passed != 38 || rep.Targets[0].Provider != "replay" {
		t.Errorf("report targets: %+v", rep.Targets)
	}
}

// checkReadmeQuickstart compares the quickstart's summary with the one the
// README shows, line by line, ignoring the run id and trailing blanks.
func checkReadmeQuickstart(t *testing.T, stdout, id string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if errors.Is(err, os.ErrNotExist) {
		t.Log("no README.md")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "\nsupport-triage (version 3)  run ")
	if start < 0 {
		t.Fatal("README.md does not show the quickstart's summary")
	}
	block, _, ok := strings.Cut(readme[start+1:], "```")
	if !ok {
		t.Fatal("README.md: the quickstart's summary has no end")
	}
	norm := func(s string) []string {
		s = regexp.MustCompile(`run \d{8}-\d{6}-[0-9a-f]{6}`).ReplaceAllString(s, "run RUN_ID")
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " ")
		}
		return lines
	}
	if got, want := norm(stdout), norm(block); !slices.Equal(got, want) {
		t.Errorf("the quickstart's output differs from README.md's\n--- got:\n%s\n--- README:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// triageV1Failure is the end of stderr when triage-v1 fails the gate.
const triageV1Failure = `rubric: suite support-triage: gate failed:
  triage-v1: pass_rate >= 0.9: got 0.725, off by 0.175
  triage-v1: criteria.category.mean >= 0.95: got 0.825, off by 0.125
`

// TestGateFails runs the weaker recorded model, whose results fail two gates,
// with the flags before and after the suite's path.
func TestGateFails(t *testing.T) {
	t.Parallel()
	suite := "examples/triage/suite.json"
	for name, args := range map[string][]string{
		"flags_first":       {"run", "--target", "triage-v1", "--out", "OUT", suite},
		"flags_after":       {"run", suite, "--target", "triage-v1", "--out", "OUT"},
		"short_flag_after":  {"run", suite, "-t", "triage-v1", "--no-progress", "--out=OUT"},
		"equals_flag_after": {"run", "--out", "OUT", suite, "--target=triage-v1"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			for i, a := range args {
				args[i] = strings.ReplaceAll(a, "OUT", out)
			}
			r := rubric(t, repoRoot(t), nil, args...)
			if r.code != exitGateFailed {
				t.Fatalf("want exit 1\n%s", r)
			}
			id := runIDs(t, r.stderr)[0]
			wantErr := fmt.Sprintf(`rubric: run %[1]s: suite support-triage, 40 cases x 1 target (triage-v1)
rubric: results %[2]s/%[1]s/results.jsonl
rubric: report %[2]s/%[1]s/report.json
`, id, out) + triageV1Failure
			if r.stderr != wantErr {
				t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, wantErr)
			}
			wantLines(t, "stdout", r.stdout,
				"gate failed",
				"  FAIL  triage-v1: pass_rate >= 0.9: got 0.725, off by 0.175",
				"  FAIL  triage-v1: criteria.category.mean >= 0.95: got 0.825, off by 0.125",
				"  ok    triage-v1: error_rate <= 0: 0 (margin 0)",
			)
			if strings.Contains(r.stdout, "gate held") {
				t.Errorf("stdout says the gate held:\n%s", r.stdout)
			}
			results, rep := runFiles(t, "", out, id)
			if len(results) != 40 || countStatus(results, "passed") != 29 {
				t.Errorf("results.jsonl: %d lines, %d passed; want 40, 29", len(results), countStatus(results, "passed"))
			}
			if !rep.Complete || rep.Gate.Held || rep.Targets[0].Passed != 29 {
				t.Errorf("report: complete %v, gate held %v, passed %d", rep.Complete, rep.Gate.Held, rep.Targets[0].Passed)
			}
		})
	}
}

// TestValidateExample checks the example without running it.
func TestValidateExample(t *testing.T) {
	t.Parallel()
	r := rubric(t, repoRoot(t), nil, "validate", "examples/triage/suite.json")
	if r.code != exitOK || r.stdout != "ok  examples/triage/suite.json: 40 cases, 4 criteria, 1 target\n" || r.stderr != "" {
		t.Fatalf("want exit 0 and one ok line\n%s", r)
	}
	// --target replaces the suite's targets in what is checked.
	r = rubric(t, repoRoot(t), nil, "validate", "examples/triage/suite.json", "--target", "triage-v1", "--target", "triage-v2")
	if r.code != exitOK || r.stdout != "ok  examples/triage/suite.json: 40 cases, 4 criteria, 2 targets\n" || r.stderr != "" {
		t.Fatalf("want exit 0 and one ok line\n%s", r)
	}
}

// TestSchema prints the suite and config schemas.
func TestSchema(t *testing.T) {
	t.Parallel()
	r := rubric(t, t.TempDir(), nil, "schema")
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("want exit 0\n%s", r)
	}
	if !json.Valid([]byte(r.stdout)) {
		t.Fatalf("schema is not valid JSON:\n%s", r.stdout)
	}
	if r.stdout != string(evals.SchemaJSON) {
		t.Errorf("rubric schema differs from evals.SchemaJSON")
	}

	r = rubric(t, t.TempDir(), nil, "schema", "--config")
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("want exit 0\n%s", r)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("config schema is not JSON: %v\n%s", err, r.stdout)
	}
	if doc["$ref"] != "#/definitions/config" {
		t.Errorf(`config schema's "$ref" is %v, want "#/definitions/config"`, doc["$ref"])
	}
	if defs, _ := doc["definitions"].(map[string]any); defs["target"] == nil {
		t.Errorf("config schema has no definitions.target")
	}
}

// TestInit writes the starter project, runs it offline, validates it, and
// refuses to overwrite it without --force.
func TestInit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := rubric(t, dir, nil, "init", "proj")
	wantErr := `wrote proj/cases.jsonl
wrote proj/config.schema.json
wrote proj/recordings.jsonl
wrote proj/rubric.config.json
wrote proj/suite.json
wrote proj/suite.schema.json

next: rubric run proj/suite.json
`
	if r.code != exitOK || r.stdout != "" || r.stderr != wantErr {
		t.Fatalf("init: want exit 0 and\n%s\ngot %s", wantErr, r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "proj", "suite.schema.json")); !bytes.Equal(b, evals.SchemaJSON) {
		t.Errorf("proj/suite.schema.json is not the suite schema")
	}

	r = rubric(t, dir, nil, "validate", "proj/suite.json")
	if r.code != exitOK || r.stdout != "ok  proj/suite.json: 5 cases, 2 criteria, 1 target\n" || r.stderr != "" {
		t.Errorf("validate: %s", r)
	}

	r = rubric(t, dir, nil, "run", "proj/suite.json", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("run: want exit 0\n%s", r)
	}
	wantLines(t, "stdout", r.stdout, "gate held")
	results, rep := runFiles(t, dir, "runs", runIDs(t, r.stderr)[0])
	if len(results) != 5 || !rep.Complete || rep.Targets[0].Name != "recorded" {
		t.Errorf("run: %d results, complete %v, targets %+v", len(results), rep.Complete, rep.Targets)
	}

	r = rubric(t, dir, nil, "init", "proj")
	wantErr = "rubric: init: would overwrite proj/cases.jsonl, proj/config.schema.json, proj/recordings.jsonl, " +
		"proj/rubric.config.json, proj/suite.json, proj/suite.schema.json; pass --force to replace them\n"
	if r.code != exitBadInput || r.stdout != "" || r.stderr != wantErr {
		t.Errorf("init again: want exit 2 and\n%s\ngot %s", wantErr, r)
	}

	// --force overwrites, and puts back a file that was changed.
	if err := os.WriteFile(filepath.Join(dir, "proj", "suite.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = rubric(t, dir, nil, "init", "--force", "proj")
	if r.code != exitOK {
		t.Errorf("init --force: %s", r)
	}
	r = rubric(t, dir, nil, "validate", "proj/suite.json")
	if r.code != exitOK {
		t.Errorf("validate after init --force: %s", r)
	}
}

// TestNoColorWhenNotTerminal checks that output to a pipe is plain text, even
// when TERM names a colour terminal.
func TestNoColorWhenNotTerminal(t *testing.T) {
	t.Parallel()
	for name, env := range map[string][]string{
		"term":     {"TERM=xterm-256color"},
		"no_color": {"TERM=xterm-256color", "NO_COLOR=1"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := rubric(t, repoRoot(t), env, "run", "examples/triage/suite.json", "--target", "triage-v1", "--out", t.TempDir())
			if r.code != exitGateFailed {
				t.Fatalf("want exit 1\n%s", r)
			}
			if strings.Contains(r.stdout, "\x1b") || strings.Contains(r.stderr, "\x1b") {
				t.Errorf("output to a pipe has escape sequences:\n%q\n%q", r.stdout, r.stderr)
			}
		})
	}
}

// TestMultipleSuites runs a failing and a passing suite in one run: both
// run, each has its own run folder, and the exit code is the failure's.
func TestMultipleSuites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The failing suite's recordings get one case of two wrong, and its gate
	// asks for all of them.
	failing := strings.NewReplacer(`"name": "t"`, `"name": "failing"`, `"path": "rec.jsonl"`, `"path": "wrong.jsonl"`,
		`"pass_rate >= 0.5"`, `"pass_rate >= 1"`).Replace(okSuite)
	writeFiles(t, dir, with(map[string]string{
		"pass.json": strings.Replace(okSuite, `"name": "t"`, `"name": "passing"`, 1),
		"fail.json": failing,
		"wrong.jsonl": `{"case_id": "a", "output": "yes"}
{"case_id": "b", "output": "yes"}
`,
	}))

	r := rubric(t, dir, nil, "run", "fail.json", "pass.json", "--out", "runs")
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1\n%s", r)
	}
	ids := runIDs(t, r.stderr)
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("want two run ids, got %q\n%s", ids, r)
	}
	wantErr := fmt.Sprintf(`rubric: run %[1]s: suite failing, 2 cases x 1 target (rec)
rubric: results runs/%[1]s/results.jsonl
rubric: report runs/%[1]s/report.json
rubric: run %[2]s: suite passing, 2 cases x 1 target (rec)
rubric: results runs/%[2]s/results.jsonl
rubric: report runs/%[2]s/report.json
rubric: suite failing: gate failed:
  rec: pass_rate >= 1: got 0.5, off by 0.5
`, ids[0], ids[1])
	if r.stderr != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, wantErr)
	}
	failing, passing, ok := strings.Cut(r.stdout, "\n\npassing  run "+ids[1]+"\n")
	if !ok || !strings.HasPrefix(failing, "failing  run "+ids[0]+"\n") {
		t.Fatalf("stdout is not the failing suite's summary, a blank line, then the passing one's:\n%s", r.stdout)
	}
	wantLines(t, "failing suite's summary", failing, "gate failed", "  FAIL  rec: pass_rate >= 1: got 0.5, off by 0.5")
	wantLines(t, "passing suite's summary", passing, "gate held", "  ok    rec: pass_rate >= 0.5: 1 (margin 0.5)")

	_, rep := runFiles(t, dir, "runs", ids[0])
	if rep.Suite != "failing" || rep.Gate.Held || rep.Targets[0].Passed != 1 {
		t.Errorf("failing suite's report: %+v", rep)
	}
	_, rep = runFiles(t, dir, "runs", ids[1])
	if rep.Suite != "passing" || !rep.Gate.Held || rep.Targets[0].Passed != 2 {
		t.Errorf("passing suite's report: %+v", rep)
	}
}

// chatServer is an OpenAI-compatible chat completions endpoint that records
// the requests it receives.
type chatServer struct {
	*httptest.Server
	// answer returns the status and content for a case, by its id.
	answer func(caseID string) (status int, content string)
	// delay is how long each answer takes.
	delay time.Duration
	// hang, when set, says whether to leave the nth request (from 1)
	// unanswered until the client gives up.
	hang func(n int) bool

	mu   sync.Mutex
	reqs []chatRequest
}

type chatRequest struct {
	method, path, auth, contentType string
	body                            map[string]any
	header                          http.Header
}

// userCase finds the case id in the prompt "Ticket ID: ...".
var userCase = regexp.MustCompile(`^Ticket (\S+):`)

func newChatServer(t *testing.T, answer func(caseID string) (int, string), opts ...func(*chatServer)) *chatServer {
	s := &chatServer{answer: answer}
	for _, o := range opts {
		o(s)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *chatServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	s.mu.Lock()
	s.reqs = append(s.reqs, chatRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body, r.Header.Clone()})
	n := len(s.reqs)
	s.mu.Unlock()
	if s.hang != nil && s.hang(n) {
		<-r.Context().Done()
		return
	}
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-r.Context().Done():
			return
		}
	}
	id := ""
	if msgs, _ := body["messages"].([]any); len(msgs) > 0 {
		last, _ := msgs[len(msgs)-1].(map[string]any)
		content, _ := last["content"].(string)
		if m := userCase.FindStringSubmatch(content); m != nil {
			id = m[1]
		}
	}
	status, content := s.answer(id)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status != http.StatusOK {
		// Servers echo what they were sent: the key must still not be recorded.
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": "model overloaded (request had " + r.Header.Get("Authorization") + ")",
		}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id":      "chatcmpl-1",
		"object":  "chat.completion",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35},
	})
}

func (s *chatServer) requests() []chatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// labels are the cases of the OpenAI suites, by id, with their right answers.
var labels = map[string]string{
	"c1": "billing", "c2": "technical", "c3": "account", "c4": "billing", "c5": "abuse",
	"c6": "technical", "c7": "account", "c8": "shipping", "c9": "billing", "c10": "technical",
}

func labelJSON(label string) string { return `{"label": "` + label + `"}` }

// rightAnswers answers every case correctly.
func rightAnswers(id string) (int, string) { return http.StatusOK, labelJSON(labels[id]) }

const e2eKey = "sk-e2e-0123456789abcdef"

// noRetry makes a failed request fail its case at once, whatever the default
// retry policy.
const noRetry = `"retry": {"attempts": 1},`

// writeOpenAISuite writes a suite with n cases and an inline openai target
// pointing at url, with the extra target fields (ending in a comma), and
// returns its path.
func writeOpenAISuite(t *testing.T, dir, url string, n, concurrency int, gate string, extra ...string) string {
	t.Helper()
	var cases strings.Builder
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("c%d", i)
		label := labels[id]
		if label == "" {
			label = "billing"
		}
		fmt.Fprintf(&cases, `{"id": %q, "vars": {"ticket": "Problem number %d."}, "expected": %q}`+"\n", id, i, label)
	}
	suite := fmt.Sprintf(`{
  "name": "labels",
  "messages": [
    {"role": "system", "content": "Label the support ticket. Answer with JSON."},
    {"role": "user", "content": "Ticket {{ id }}: {{ ticket }}"}
  ],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "label", "type": "equals", "extract": {"json": "label"}}],
  "targets": [{
    "name": "local",
    "provider": "openai",
    "base_url": %q,
    "model": "tiny-1",
    "api_key_env": "RUBRIC_E2E_KEY",
    "params": {"temperature": 0, "max_tokens": 20, "seed": 7},
    "extra_body": {"top_k": 5, "chat_template_kwargs": {"enable_thinking": false}},
    %s
    "concurrency": %d,
    "timeout": "10s"
  }],
  "gate": [%q]
}
`, url+"/v1", strings.Join(extra, " "), concurrency, gate)
	writeFiles(t, dir, map[string]string{"suite.json": suite, "cases.jsonl": cases.String()})
	return filepath.Join(dir, "suite.json")
}

// checkNoKey fails if the API key appears in the run's outputs or files.
func checkNoKey(t *testing.T, r cmdResult, runDir string) {
	t.Helper()
	if strings.Contains(r.stdout, e2eKey) || strings.Contains(r.stderr, e2eKey) {
		t.Errorf("the API key appears in the output:\n%s", r)
	}
	for _, name := range []string{"results.jsonl", "report.json"} {
		b, err := os.ReadFile(filepath.Join(runDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(e2eKey)) {
			t.Errorf("the API key appears in %s", name)
		}
	}
}

// TestOpenAI runs a suite against a local OpenAI-compatible endpoint.
func TestOpenAI(t *testing.T) {
	t.Parallel()
	t.Run("gate_held", func(t *testing.T) {
		t.Parallel()
		srv := newChatServer(t, rightAnswers)
		dir := t.TempDir()
		path := writeOpenAISuite(t, dir, srv.URL, 6, 2, "pass_rate >= 0.8")
		r := rubric(t, dir, []string{"RUBRIC_E2E_KEY=" + e2eKey}, "run", path, "--out", "runs")
		if r.code != exitOK {
			t.Fatalf("want exit 0\n%s", r)
		}
		id := runIDs(t, r.stderr)[0]
		if row := tableRow(t, r.stdout, "local"); !slices.Equal(row[:9], []string{"local", "6", "6", "0", "0", "0", "100.0%", "61.0-100.0", "1.000"}) {
			t.Errorf("table row %q", row)
		}
		wantLines(t, "stdout", r.stdout, "gate held", "  ok    local: pass_rate >= 0.8: 1 (margin 0.2)")

		reqs := srv.requests()
		if len(reqs) != 6 {
			t.Fatalf("the server got %d requests, want 6", len(reqs))
		}
		seen := map[string]bool{}
		for _, q := range reqs {
			if q.method != http.MethodPost || q.path != "/v1/chat/completions" || q.contentType != "application/json" {
				t.Errorf("request %s %s, Content-Type %q", q.method, q.path, q.contentType)
			}
			if q.auth != "Bearer "+e2eKey {
				t.Errorf("Authorization %q, want the key from RUBRIC_E2E_KEY", q.auth)
			}
			msgs, _ := q.body["messages"].([]any)
			user, _ := msgs[len(msgs)-1].(map[string]any)
			m := userCase.FindStringSubmatch(fmt.Sprint(user["content"]))
			if m == nil {
				t.Fatalf("user message %v", user)
			}
			caseID := m[1]
			seen[caseID] = true
			n := strings.TrimPrefix(caseID, "c")
			want := map[string]any{
				"model": "tiny-1",
				"messages": []any{
					map[string]any{"role": "system", "content": "Label the support ticket. Answer with JSON."},
					map[string]any{"role": "user", "content": "Ticket " + caseID + ": Problem number " + n + "."},
				},
				"temperature":          0.0,
				"max_tokens":           20.0,
				"seed":                 7.0,
				"top_k":                5.0,
				"chat_template_kwargs": map[string]any{"enable_thinking": false},
			}
			if !reflect.DeepEqual(q.body, want) {
				t.Errorf("request body for %s:\n%v\nwant:\n%v", caseID, q.body, want)
			}
		}
		if len(seen) != 6 {
			t.Errorf("requests for %d distinct cases, want 6", len(seen))
		}

		runDir := filepath.Join(dir, "runs", id)
		results, rep := runFiles(t, dir, "runs", id)
		if len(results) != 6 || countStatus(results, "passed") != 6 {
			t.Errorf("results: %d lines, %d passed", len(results), countStatus(results, "passed"))
		}
		for _, res := range results {
			req, _ := res["request"].(map[string]any)
			if req["url"] != srv.URL+"/v1/chat/completions" {
				t.Errorf("recorded request url %v", req["url"])
			}
			if body, _ := req["body"].(map[string]any); body["model"] != "tiny-1" {
				t.Errorf("recorded request body %v", req["body"])
			}
			if res["output"] != labelJSON(labels[res["case_id"].(string)]) || res["finish_reason"] != "stop" {
				t.Errorf("recorded output %v, finish_reason %v", res["output"], res["finish_reason"])
			}
			if u, _ := res["usage"].(map[string]any); u["total_tokens"] != 35.0 {
				t.Errorf("recorded usage %v", res["usage"])
			}
		}
		if rep.Targets[0].Model != "tiny-1" || rep.Targets[0].Provider != "openai" || rep.Targets[0].Passed != 6 {
			t.Errorf("report target %+v", rep.Targets[0])
		}
		checkNoKey(t, r, runDir)
	})

	t.Run("gate_failed", func(t *testing.T) {
		t.Parallel()
		// Wrong labels for c2, c4 and c6: a pass rate of 0.5.
		srv := newChatServer(t, func(id string) (int, string) {
			if id == "c2" || id == "c4" || id == "c6" {
				return http.StatusOK, labelJSON("feature_request")
			}
			return rightAnswers(id)
		})
		dir := t.TempDir()
		path := writeOpenAISuite(t, dir, srv.URL, 6, 3, "pass_rate >= 0.8")
		r := rubric(t, dir, []string{"RUBRIC_E2E_KEY=" + e2eKey}, "run", path, "--out", "runs")
		if r.code != exitGateFailed {
			t.Fatalf("want exit 1\n%s", r)
		}
		id := runIDs(t, r.stderr)[0]
		if !strings.HasSuffix(r.stderr, "rubric: suite labels: gate failed:\n  local: pass_rate >= 0.8: got 0.5, off by 0.3\n") {
			t.Errorf("stderr does not end with the gate failure:\n%s", r.stderr)
		}
		wantLines(t, "stdout", r.stdout, "gate failed", "  FAIL  local: pass_rate >= 0.8: got 0.5, off by 0.3",
			`  c2         failed   label: got "feature_request", expected "technical"`)
		results, rep := runFiles(t, dir, "runs", id)
		if len(results) != 6 || countStatus(results, "failed") != 3 || rep.Targets[0].Failed != 3 || rep.Gate.Held {
			t.Errorf("results: %d lines, %d failed; report %+v", len(results), countStatus(results, "failed"), rep)
		}
		checkNoKey(t, r, filepath.Join(dir, "runs", id))
	})

	t.Run("every_request_fails", func(t *testing.T) {
		t.Parallel()
		srv := newChatServer(t, func(string) (int, string) { return http.StatusInternalServerError, "" })
		dir := t.TempDir()
		path := writeOpenAISuite(t, dir, srv.URL, 5, 2, "pass_rate >= 0.8", noRetry)
		r := rubric(t, dir, []string{"RUBRIC_E2E_KEY=" + e2eKey}, "run", path, "--out", "runs")
		if r.code != exitIncomplete {
			t.Fatalf("want exit 3\n%s", r)
		}
		id := runIDs(t, r.stderr)[0]
		want := fmt.Sprintf("rubric: target local: all 5 requests failed (http_status 5); see the errors in runs/%s/results.jsonl\n", id)
		if !strings.HasSuffix(r.stderr, want) {
			t.Errorf("stderr does not end with\n%s\n%s", want, r)
		}
		// Without a budget too, the summary and report.json say why.
		wantLines(t, "stdout", r.stdout, "errors local: http_status 5", "gate not held: error budget exceeded", "  FAIL  local: all 5 requests failed")
		var budget budgetReport
		readJSON(t, filepath.Join(dir, "runs", id, "report.json"), &budget)
		if want := (&evals.ErrorBudget{Over: []evals.BudgetBreach{{Target: "local", Cases: 5, Errored: 5, ErrorRate: 1, Reason: "all 5 requests failed"}}}); budget.Gate.Held ||
			!reflect.DeepEqual(budget.ErrorBudget, want) {
			t.Errorf("report.json: gate %+v, error_budget %+v, want %+v", budget.Gate, budget.ErrorBudget, want)
		}
		if rep := rubric(t, dir, nil, "report", filepath.Join("runs", id)); rep.code != exitIncomplete || !strings.HasSuffix(rep.stderr, want) {
			t.Errorf("rubric report: want exit 3 and stderr ending with\n%s%s", want, rep)
		}
		results, rep := runFiles(t, dir, "runs", id)
		if len(results) != 5 {
			t.Errorf("results.jsonl has %d lines, want one per case (5)", len(results))
		}
		for _, res := range results {
			e, _ := res["error"].(map[string]any)
			if res["status"] != "error" || e["kind"] != "http_status" || e["status"] != 500.0 {
				t.Errorf("result %v: status %v, error %v", res["case_id"], res["status"], e)
			}
			if msg, _ := e["message"].(string); !strings.HasPrefix(msg, "model overloaded (request had Bearer ") {
				t.Errorf("error message %q does not carry the server's", msg)
			}
		}
		if rep.Targets[0].Errored != 5 || !reflect.DeepEqual(rep.Targets[0].Errors, map[string]int{"http_status": 5}) {
			t.Errorf("report target %+v", rep.Targets[0])
		}
		checkNoKey(t, r, filepath.Join(dir, "runs", id))
	})

	// Two of ten requests fail: the run completes, the errors are counted, and
	// the gate decides the exit code.
	failSome := func(id string) (int, string) {
		if id == "c3" || id == "c7" {
			return http.StatusInternalServerError, ""
		}
		return rightAnswers(id)
	}
	for _, tc := range []struct {
		name string
		gate []string
		code int
	}{
		{"some_requests_fail_gate_held", nil, exitOK},
		{"some_requests_fail_gate_failed", []string{"--gate", "error_rate <= 0.1"}, exitGateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newChatServer(t, failSome)
			dir := t.TempDir()
			path := writeOpenAISuite(t, dir, srv.URL, 10, 4, "pass_rate >= 0.7", noRetry)
			r := rubric(t, dir, []string{"RUBRIC_E2E_KEY=" + e2eKey}, append([]string{"run", path, "--out", "runs"}, tc.gate...)...)
			if r.code != tc.code {
				t.Fatalf("want exit %d\n%s", tc.code, r)
			}
			id := runIDs(t, r.stderr)[0]
			results, rep := runFiles(t, dir, "runs", id)
			if len(results) != 10 || countStatus(results, "error") != 2 || countStatus(results, "passed") != 8 {
				t.Errorf("results: %d lines, %d errors, %d passed", len(results), countStatus(results, "error"), countStatus(results, "passed"))
			}
			tg := rep.Targets[0]
			if tg.Cases != 10 || tg.Passed != 8 || tg.Errored != 2 || !reflect.DeepEqual(tg.Errors, map[string]int{"http_status": 2}) {
				t.Errorf("report target %+v", tg)
			}
			if !rep.Complete {
				t.Errorf("report is not complete")
			}
			wantLines(t, "stdout", r.stdout, "errors local: http_status 2")
			if tc.code == exitGateFailed {
				wantLines(t, "stdout", r.stdout, "  FAIL  local: error_rate <= 0.1: got 0.2, off by 0.1")
			} else {
				wantLines(t, "stdout", r.stdout, "gate held")
			}
			// The server echoed the Authorization header into its error: the
			// recorded message has it redacted.
			b, _ := os.ReadFile(filepath.Join(dir, "runs", id, "results.jsonl"))
			if !bytes.Contains(b, []byte("model overloaded (request had Bearer [REDACTED])")) {
				t.Errorf("results.jsonl lacks the redacted server message:\n%s", b)
			}
			checkNoKey(t, r, filepath.Join(dir, "runs", id))
		})
	}
}

// countLines counts the complete lines of a file that is being written.
func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// startRun starts rubric run on a suite and returns the command, its output
// buffers, and a function that waits for the results file to have n lines.
func startRun(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, func(n int) string) {
	t.Helper()
	cmd := exec.Command(rubricBin(t), args...)
	cmd.Dir = dir
	cmd.Env = environ("RUBRIC_E2E_KEY=" + e2eKey)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	waitLines := func(n int) string {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			files, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "results.jsonl"))
			if len(files) == 1 && countLines(files[0]) >= n {
				return filepath.Dir(files[0])
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("results.jsonl did not reach %d lines", n)
		return ""
	}
	return cmd, &out, &errb, waitLines
}

// waitExit waits for cmd to exit, at most d, and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("rubric did not exit within %v of the interrupt", d)
		return 0
	}
}

// TestInterrupt sends SIGINT in the middle of a run: the requests in flight
// finish, the results completed are kept, the report says the run was
// interrupted, and the exit code is 130.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	srv := newChatServer(t, rightAnswers, func(s *chatServer) { s.delay = 300 * time.Millisecond })
	dir := t.TempDir()
	path := writeOpenAISuite(t, dir, srv.URL, 200, 2, "pass_rate >= 0.8")
	cmd, stdout, stderr, waitLines := startRun(t, dir, "run", path, "--out", "runs")
	runDir := waitLines(3)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code := waitExit(t, cmd, 10*time.Second)
	r := cmdResult{code, stdout.String(), stderr.String()}
	checkNoRace(t, r.stderr)
	if code != exitInterrupted {
		t.Fatalf("want exit 130\n%s", r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to exit after the interrupt", d)
	}
	id := filepath.Base(runDir)
	results, rep := runFiles(t, dir, "runs", id)
	if !rep.Interrupted || rep.Complete {
		t.Errorf("report: interrupted %v, complete %v; want true, false", rep.Interrupted, rep.Complete)
	}
	// A gate is never held on partial results, even when they would pass it.
	if rep.Gate.Held || strings.Contains(r.stdout, "gate held") || !strings.Contains(r.stdout, "gate not held: the run did not complete") {
		t.Errorf("an interrupted run reports the gate held (report %v):\n%s", rep.Gate.Held, r.stdout)
	}
	if len(results) < 3 || len(results) >= 200 || rep.Targets[0].Cases != len(results) {
		t.Errorf("results.jsonl has %d lines, the report counts %d cases", len(results), rep.Targets[0].Cases)
	}
	// Requests in flight at the interrupt finished within the grace period
	// and were recorded: every request sent has its result.
	if n := len(srv.requests()); n != len(results) {
		t.Errorf("the server got %d requests, results.jsonl has %d lines", n, len(results))
	}
	if countStatus(results, "passed") != len(results) {
		t.Errorf("%d of %d results passed: a request cut short was recorded", countStatus(results, "passed"), len(results))
	}
	// The last line says how much completed (and may go on with a hint).
	wantErr := fmt.Sprintf("rubric: results runs/%[1]s/results.jsonl\nrubric: report runs/%[1]s/report.json\nrubric: run interrupted: %[2]d of 200 results completed", id, len(results))
	if !strings.Contains(r.stderr, wantErr) || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr does not end with\n%s\n%s", wantErr, r)
	}
	wantLines(t, "stdout", r.stdout, "interrupted: the figures cover the results completed before the run stopped")
	if row := tableRow(t, r.stdout, "local"); row[1] != fmt.Sprint(len(results)) {
		t.Errorf("table row %q, want %d cases", row, len(results))
	}
}

// TestInterruptGrace interrupts a run whose requests hang: after --grace the
// requests in flight are abandoned and not recorded.
func TestInterruptGrace(t *testing.T) {
	t.Parallel()
	// The first four requests are answered; the rest hang until the client
	// gives up.
	srv := newChatServer(t, rightAnswers, func(s *chatServer) { s.hang = func(n int) bool { return n > 4 } })
	dir := t.TempDir()
	path := writeOpenAISuite(t, dir, srv.URL, 50, 2, "pass_rate >= 0.8")
	cmd, stdout, stderr, waitLines := startRun(t, dir, "run", path, "--out", "runs", "--grace", "200ms")
	runDir := waitLines(4)
	// Both workers are now stuck in a request.
	time.Sleep(100 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code := waitExit(t, cmd, 10*time.Second)
	r := cmdResult{code, stdout.String(), stderr.String()}
	checkNoRace(t, r.stderr)
	if code != exitInterrupted {
		t.Fatalf("want exit 130\n%s", r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to exit after the interrupt with --grace 200ms", d)
	}
	results, rep := runFiles(t, dir, "runs", filepath.Base(runDir))
	if len(results) != 4 || rep.Targets[0].Cases != 4 || countStatus(results, "passed") != 4 {
		t.Errorf("want the 4 answered cases only: %d results (%d passed), report counts %d", len(results), countStatus(results, "passed"), rep.Targets[0].Cases)
	}
	if !rep.Interrupted || rep.Complete {
		t.Errorf("report: interrupted %v, complete %v", rep.Interrupted, rep.Complete)
	}
}

// TestSecondInterrupt checks that a second Ctrl-C ends rubric at once, with
// 130, without waiting for the grace period.
func TestSecondInterrupt(t *testing.T) {
	t.Parallel()
	srv := newChatServer(t, rightAnswers, func(s *chatServer) { s.hang = func(n int) bool { return n > 2 } })
	dir := t.TempDir()
	path := writeOpenAISuite(t, dir, srv.URL, 20, 2, "pass_rate >= 0.8")
	cmd, _, stderr, waitLines := startRun(t, dir, "run", path, "--out", "runs", "--grace", "1m")
	waitLines(2)
	time.Sleep(100 * time.Millisecond) // both workers are in a request that hangs
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		t.Fatalf("rubric exited on the first interrupt, before the grace period ended\nstderr:\n%s", stderr)
	case <-time.After(300 * time.Millisecond):
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("rubric did not exit within 5s of the second interrupt")
	}
	checkNoRace(t, stderr.String())
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %v to exit after the second interrupt", d)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || !strings.Contains(stderr.String(), "rubric: interrupted again: exiting at once") {
		t.Errorf("want exit 130 and a line saying so, got %v\nstderr:\n%s", cmd.ProcessState, stderr)
	}
}

// TestBaselineAndCompare compares v2 with v1 of the example, in a run with
// --baseline and afterwards with rubric compare, and checks the exit codes
// of a regression gate, a passing gate and a gate that does not parse.
func TestBaselineAndCompare(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	out := t.TempDir()
	r := rubric(t, root, nil, "run", "examples/triage/suite.json", "--target", "triage-v1", "--out", out)
	if r.code != exitGateFailed {
		t.Fatalf("v1: want exit 1\n%s", r)
	}
	v1 := runIDs(t, r.stderr)[0]

	r = rubric(t, root, nil, "run", "examples/triage/suite.json", "--out", out, "--baseline", v1, "--gate", "regressions <= 0")
	if r.code != exitGateFailed {
		t.Fatalf("v2 with a regression gate: want exit 1\n%s", r)
	}
	v2 := runIDs(t, r.stderr)[0]
	wantLines(t, "stdout", r.stdout,
		"compare triage-v2 vs triage-v1 (run "+v1+"): 40 cases matched",
		"  pass rate 95.0% vs 72.5%, +22.5 pts [+5.0, +40.0]; mean +0.128 [+0.042, +0.233]; wins 11, ties 27, losses 2; McNemar p = 0.0225",
		"  2 regressions: T-1030, T-1033",
		"  FAIL  triage-v2: regressions <= 0: got 2, off by 2",
	)
	_, rep := runFiles(t, "", out, v2)
	cmp := rep.Targets[0].Comparison
	if cmp == nil || cmp.Regressions != 2 || cmp.Fixes != 11 || cmp.Matched != 40 || cmp.AgainstRun != v1 {
		t.Fatalf("report comparison %+v", cmp)
	}
	// McNemar exact on 11 fixes against 2 regressions: 2 * P(X <= 2),
	// X ~ Bin(13, 1/2) = 2 * (1 + 13 + 78) / 8192 = 0.0224609375.
	if math.Abs(cmp.McNemarP-0.0224609375) > 1e-12 {
		t.Errorf("mcnemar_p = %v", cmp.McNemarP)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a gate that holds", []string{"--gate", "delta.pass_rate >= 0", "--gate", "fixes >= 10"}, exitOK, "  ok    triage-v2: fixes >= 10: 11 (margin 1)"},
		{"a regression gate", []string{"--gate", "regressions <= 0"}, exitGateFailed, "  FAIL  triage-v2: regressions <= 0: got 2, off by 2"},
		{"a gate with a typo", []string{"--gate", "regresions <= 0"}, exitBadInput, `unknown metric "regresions": did you mean "regressions"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"compare", v2, v1, "--out", out}, tc.args...)
			r := rubric(t, root, nil, args...)
			if r.code != tc.code {
				t.Fatalf("want exit %d\n%s", tc.code, r)
			}
			if !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("output lacks %q\n%s", tc.want, r)
			}
		})
	}
	r = rubric(t, root, nil, "compare", v2, "no-such-run", "--out", out)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "run no-such-run: not a run folder (no report.json)") {
		t.Errorf("a missing baseline: want exit 2 and a message\n%s", r)
	}
	r = rubric(t, root, nil, "run", "examples/triage/suite.json", "--out", out, "--baseline", "no-such-run")
	if r.code != exitBadInput {
		t.Errorf("run with a missing baseline: want exit 2\n%s", r)
	}
}

// TestResumeKeepsBaseline: a run with --baseline, cut short, resumes with
// the same comparison and gate.
func TestResumeKeepsBaseline(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	out := t.TempDir()
	r := rubric(t, root, nil, "run", "examples/triage/suite.json", "--target", "triage-v1", "--out", out)
	v1 := runIDs(t, r.stderr)[0]
	r = rubric(t, root, nil, "run", "examples/triage/suite.json", "--out", out, "--baseline", v1, "--gate", "regressions <= 0", "--error-budget", "0.5")
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1\n%s", r)
	}
	v2 := runIDs(t, r.stderr)[0]
	// Cut the journal to 5 results and drop the report, as a crash would.
	journal := filepath.Join(out, v2, "results.jsonl")
	b, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if err := os.WriteFile(journal, []byte(strings.Join(lines[:5], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(out, v2, "report.json")); err != nil {
		t.Fatal(err)
	}
	r = rubric(t, root, nil, "run", "--resume", "latest", "--out", out)
	if r.code != exitGateFailed {
		t.Fatalf("resume: want exit 1 (the regression gate)\n%s", r)
	}
	wantLines(t, "stdout", r.stdout,
		"compare triage-v2 vs triage-v1 (run "+v1+"): 40 cases matched",
		"  FAIL  triage-v2: regressions <= 0: got 2, off by 2",
	)
	r = rubric(t, root, nil, "run", "--resume", v2, "--out", out, "--baseline", v1)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "--baseline cannot change them") {
		t.Errorf("resume with --baseline: want exit 2\n%s", r)
	}
}

// TestCompareDifferentSuites warns when the runs compared are of different
// suites, and reports that no case matched.
func TestCompareDifferentSuites(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	out := t.TempDir()
	r := rubric(t, root, nil, "run", "examples/judge/suite.json", "--out", out)
	a := runIDs(t, r.stderr)[0]
	r = rubric(t, root, nil, "run", "examples/triage/suite.json", "--out", out)
	b := runIDs(t, r.stderr)[0]
	r = rubric(t, root, nil, "compare", a, b, "--out", out)
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	if !strings.Contains(r.stderr, `rubric: warning: comparing suite "support-answers" with a run of suite "support-triage"`) {
		t.Errorf("no warning\n%s", r)
	}
	wantLines(t, "stdout", r.stdout, "compare assistant-v1 vs triage-v2 (run "+b+"): 0 cases matched (6 only in assistant-v1, 40 only in triage-v2)")
}
