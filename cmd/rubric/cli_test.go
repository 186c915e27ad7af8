package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/runner"
)

// These tests run the command line in-process, under the race detector when
// the tests have it.

// runID returns the run id stderr announces.
func runID(t *testing.T, stderr string) string {
	t.Helper()
	return runIDs(t, stderr)[0]
}

// TestRunInProcess runs the base suite of the malformed-input table, then
// variations of it by flag.
func TestRunInProcess(t *testing.T) {
	wrong := `{"case_id": "a", "output": "yes"}
{"case_id": "b", "output": "maybe"}
`
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		passed int
		cases  int
		stdout []string // lines stdout must have
		stderr string   // the end of stderr
	}{
		{
			name: "gate_held", code: exitOK, passed: 2, cases: 2,
			stdout: []string{"gate held", "  ok    rec: pass_rate >= 0.5: 1 (margin 0.5)"},
		},
		{
			name: "limit", args: []string{"--limit", "1"}, code: exitOK, passed: 1, cases: 1,
			stdout: []string{"gate held"},
		},
		{
			name: "limit_above_cases", args: []string{"--limit", "5"}, code: exitOK, passed: 2, cases: 2,
		},
		{
			// --set points the target at other recordings, with one wrong answer.
			name: "set", args: []string{"--set", "rec.path=wrong.jsonl"}, code: exitOK, passed: 1, cases: 2,
			stdout: []string{"  ok    rec: pass_rate >= 0.5: 0.5 (margin 0)"},
		},
		{
			// --gate replaces the suite's gate on the same metric.
			name: "gate_replaced", args: []string{"--set", "*.path=wrong.jsonl", "--gate", "pass_rate >= 0.75"}, code: exitGateFailed, passed: 1, cases: 2,
			stdout: []string{"gate failed", "  FAIL  rec: pass_rate >= 0.75: got 0.5, off by 0.25"},
			stderr: "rubric: suite t: gate failed:\n  rec: pass_rate >= 0.75: got 0.5, off by 0.25\n",
		},
		{
			// --gate adds a gate on another metric.
			name: "gate_added", args: []string{"--gate", "criteria.exact.mean >= 1", "--set", "rec.path=wrong.jsonl"}, code: exitGateFailed, passed: 1, cases: 2,
			stdout: []string{"  ok    rec: pass_rate >= 0.5: 0.5 (margin 0)", "  FAIL  rec: criteria.exact.mean >= 1: got 0.5, off by 0.5"},
			stderr: "rubric: suite t: gate failed:\n  rec: criteria.exact.mean >= 1: got 0.5, off by 0.5\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, with(map[string]string{"wrong.jsonl": wrong}))
			out := filepath.Join(dir, "out")
			args := append([]string{"run", "--out", out, filepath.Join(dir, "suite.json")}, tc.args...)
			code, stdout, stderr := runInProcess(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			id := runID(t, stderr)
			head := "rubric: run " + id + ": suite t, " + plural(tc.cases, "case") + " x 1 target (rec)\n" +
				"rubric: results " + out + "/" + id + "/results.jsonl\n" +
				"rubric: report " + out + "/" + id + "/report.json\n"
			if stderr != head+tc.stderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, head+tc.stderr)
			}
			wantLines(t, "stdout", stdout, tc.stdout...)
			results, rep := runFiles(t, "", out, id)
			if len(results) != tc.cases || rep.Targets[0].Cases != tc.cases || rep.Targets[0].Passed != tc.passed {
				t.Errorf("%d results; report: %d cases, %d passed; want %d cases, %d passed", len(results), rep.Targets[0].Cases, rep.Targets[0].Passed, tc.cases, tc.passed)
			}
			if !rep.Complete || rep.Gate.Held != (tc.code == exitOK) {
				t.Errorf("report: complete %v, gate held %v", rep.Complete, rep.Gate.Held)
			}
		})
	}
}

// TestRunCannotComplete covers runs that start but cannot finish: exit 3.
func TestRunCannotComplete(t *testing.T) {
	t.Run("out_is_a_file", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, with(map[string]string{"out": "not a folder"}))
		code, stdout, stderr := runInProcess(t, "run", "--out", filepath.Join(dir, "out"), filepath.Join(dir, "suite.json"))
		if code != exitIncomplete || stdout != "" {
			t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		want := "rubric: creating the run folder: mkdir $DIR/out: not a directory\n"
		if got := strings.ReplaceAll(stderr, dir, "$DIR"); got != want {
			t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
		}
	})

	t.Run("no_recordings", func(t *testing.T) {
		// The recordings are for another target: every case errors, which
		// measures nothing about the model.
		dir := t.TempDir()
		writeFiles(t, dir, with(map[string]string{"rec.jsonl": `{"case_id": "a", "target": "other", "output": "yes"}` + "\n"}))
		out := filepath.Join(dir, "out")
		code, stdout, stderr := runInProcess(t, "run", "--out", out, filepath.Join(dir, "suite.json"))
		if code != exitIncomplete {
			t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		id := runID(t, stderr)
		want := "rubric: run " + id + ": suite t, 2 cases x 1 target (rec)\n" +
			"rubric: results " + out + "/" + id + "/results.jsonl\n" +
			"rubric: report " + out + "/" + id + "/report.json\n" +
			"rubric: target rec: all 2 requests failed (replay 2); see the errors in " + out + "/" + id + "/results.jsonl\n"
		if stderr != want {
			t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
		}
		wantLines(t, "stdout", stdout, "errors rec: replay 2")
		results, rep := runFiles(t, "", out, id)
		if len(results) != 2 || countStatus(results, "error") != 2 || rep.Targets[0].Errored != 2 {
			t.Errorf("%d results, %d errors; report %+v", len(results), countStatus(results, "error"), rep.Targets[0])
		}
	})
}

// TestHelp checks the top-level help (and TestVersionFlag the version).
func TestHelp(t *testing.T) {
	code, stdout, stderr := runInProcess(t, "--help")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		"rubric - run your own eval suites against your language models",
		"Exit codes: 0 every gate held; 1 a gate failed; 2 usage or invalid input;",
		"3 the run could not complete; 130 interrupted (completed results are kept).",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, stdout)
		}
	}
	for _, cmd := range []string{"run", "validate", "schema", "init"} {
		if !regexpLine(stdout, `^\s+`+cmd+`\s+\S`) {
			t.Errorf("help does not list the %s command:\n%s", cmd, stdout)
		}
	}
}

// TestHelpFlags checks every command's help: no flag shows "(default: 0)"
// or "(default: 0s)" where zero means "not set" (the help then says what
// applies instead), and every flag or argument that takes a run says it may
// be latest, as every command that reads runs accepts it.
func TestHelpFlags(t *testing.T) {
	var walk func(prefix []string, cmds []*cli.Command)
	n := 0
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Name == "help" {
				continue
			}
			path := append(slices.Clone(prefix), c.Name)
			n++
			code, stdout, stderr := runInProcess(t, append(slices.Clone(path), "--help")...)
			if code != exitOK {
				t.Fatalf("rubric %s --help: exit %d\n%s", strings.Join(path, " "), code, stderr)
			}
			for _, line := range strings.Split(stdout, "\n") {
				if strings.Contains(line, "(default: 0)") || strings.Contains(line, "(default: 0s)") {
					t.Errorf("rubric %s --help shows a zero default:\n%s", strings.Join(path, " "), line)
				}
			}
			for _, f := range c.Flags {
				df, ok := f.(cli.DocGenerationFlag)
				if !ok {
					continue
				}
				usage := df.GetUsage()
				placeholder := "" // the name in backquotes, as urfave/cli shows it
				if _, rest, ok := strings.Cut(usage, "`"); ok {
					placeholder, _, _ = strings.Cut(rest, "`")
				}
				if (placeholder == "RUN" || placeholder == "BASELINE") && !strings.Contains(usage, "latest") {
					t.Errorf("rubric %s --%s %s: the help does not say the run may be latest: %q", strings.Join(path, " "), f.Names()[0], placeholder, usage)
				}
			}
			// RUN as an argument, not as a flag's value (--resume RUN).
			if args := regexp.MustCompile(`--[a-z-]+ RUN`).ReplaceAllString(c.ArgsUsage, ""); strings.Contains(args, "RUN") && !strings.Contains(c.ArgsUsage+c.Description, "latest") {
				t.Errorf("rubric %s takes RUN, and its help does not say it may be latest:\n%s\n%s", strings.Join(path, " "), c.ArgsUsage, c.Description)
			}
			walk(path, c.Subcommands)
		}
	}
	walk(nil, newApp(io.Discard, io.Discard).Commands)
	if n < 10 {
		t.Fatalf("checked %d commands: expected at least 10", n)
	}
}

func regexpLine(text, expr string) bool {
	for _, l := range strings.Split(text, "\n") {
		if ok, _ := regexp.MatchString(expr, l); ok {
			return true
		}
	}
	return false
}

// TestMainInProcess calls Main, as main does.
func TestMainInProcess(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, withSuite(okSuite))
	var stdout, stderr bytes.Buffer
	code := Main([]string{"rubric", "validate", filepath.Join(dir, "suite.json")}, &stdout, &stderr)
	if code != exitOK || stdout.String() != "ok  "+dir+"/suite.json: 2 cases, 1 criterion, 1 target\n" || stderr.Len() != 0 {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}

// TestFlagsFirst checks how flags given after the suite paths are moved in
// front of them.
func TestFlagsFirst(t *testing.T) {
	app := newApp(nil, nil)
	for _, tc := range []struct {
		in, want string
	}{
		{"rubric run s.json", "rubric run s.json"},
		{"rubric --cpuprofile p run s.json --out o", "rubric --cpuprofile p run --out o s.json"},
		{"rubric run s.json --target v1", "rubric run --target v1 s.json"},
		{"rubric run s.json -t v1 t.json --no-progress", "rubric run -t v1 --no-progress s.json t.json"},
		{"rubric run s.json --out=o --limit 3", "rubric run --out=o --limit 3 s.json"},
		{"rubric run --gate x s.json --set a.b=c", "rubric run --gate x --set a.b=c s.json"},
		{"rubric validate s.json --config c.json", "rubric validate --config c.json s.json"},
		{"rubric init d --force", "rubric init --force d"},
		// A subcommand's flags stay after the subcommand.
		{"rubric cache clear --older-than 30d", "rubric cache clear --older-than 30d"},
		{"rubric cache --help", "rubric cache --help"},
		// A flag's value is never taken for a path, even when it looks like a flag.
		{"rubric run s.json --gate -x", "rubric run --gate -x s.json"},
		// Unknown commands and flags are left for the CLI library to report.
		{"rubric frob s.json --x", "rubric frob s.json --x"},
		{"rubric run s.json --bogus", "rubric run --bogus s.json"},
		{"rubric run --out o -- -s.json", "rubric run --out o -- -s.json"},
	} {
		got := strings.Join(flagsFirst(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("flagsFirst(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestFlagsFirstDoubleDash: a path after "--" is a path, even with flags
// before it that flagsFirst moves.
func TestFlagsFirstDoubleDash(t *testing.T) {
	app := newApp(nil, nil)
	in := strings.Fields("rubric run s.json --out o -- -t.json")
	got := flagsFirst(app, in)
	// urfave/cli stops reading flags at the first positional argument, so "--"
	// must come before s.json, or it is taken for a suite path.
	want := strings.Fields("rubric run --out o -- s.json -t.json")
	if !slices.Equal(got, want) {
		t.Errorf("flagsFirst(%q) = %q, want %q", in, got, want)
	}
}

// TestHelpCommand: `rubric help` and `rubric help run` should show help.
func TestHelpCommand(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"help", "run"}} {
		code, stdout, stderr := runInProcess(t, args...)
		if code != exitOK || !strings.Contains(stdout, "USAGE:") {
			t.Errorf("`rubric %s` exits %d with %q, want the help", strings.Join(args, " "), code, stderr)
		}
	}
}

// TestValidateMixed: one broken suite among valid ones fails validation, and
// nothing is printed as ok.
func TestValidateMixed(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, with(map[string]string{"bad.json": strings.Replace(okSuite, `"equals"`, `"equal"`, 1)}))
	code, stdout, stderr := runInProcess(t, "validate", filepath.Join(dir, "suite.json"), filepath.Join(dir, "bad.json"))
	if code != exitBadInput || stdout != "" || !regexpLine(stderr, `^rubric: \d+ problems?$`) || !strings.Contains(stderr, dir+"/bad.json:5:42: $.criteria[0].type: ") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "rubric-runs")); err == nil {
		t.Errorf("validate created a run folder")
	}
}

// TestProgressText checks the progress line's parts.
func TestProgressText(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pr      runner.Progress
		done    int
		elapsed time.Duration
		want    string
	}{
		{"start", runner.Progress{Done: 0, Total: 100}, 0, 0, "  0/100 (0%)  0 passed  0 errors"},
		{"running", runner.Progress{Done: 25, Total: 100, Passed: 20, Errors: 1}, 25, 5 * time.Second,
			"  25/100 (25%)  20 passed  1 errors  5/s  15s left"},
		// A resumed run: 60 were done before, 10 in this process's 2 s.
		{"resumed", runner.Progress{Done: 70, Total: 100, Passed: 65}, 10, 2 * time.Second,
			"  70/100 (70%)  65 passed  0 errors  5/s  6s left"},
		{"done", runner.Progress{Done: 100, Total: 100, Passed: 90}, 100, 10 * time.Second,
			"  100/100 (100%)  90 passed  0 errors  10/s"},
		{"unknown total", runner.Progress{Done: 7, Passed: 7}, 7, time.Second, "  7  7 passed  0 errors  7/s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := progressText(tc.pr, tc.done, tc.elapsed); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestCPUProfileFlag: the hidden global --cpuprofile writes a profile, and
// the command after it still takes its flags wherever they are.
func TestCPUProfileFlag(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"suite.json": `{"name": "s", "messages": [{"role": "user", "content": "hi"}],
  "dataset": {"cases": [{"id": "1"}]}, "criteria": [{"name": "c", "type": "contains", "value": "x"}]}`})
	prof := filepath.Join(dir, "cpu.out")
	code, stdout, stderr := runInProcess(t, "--cpuprofile", prof, "validate", filepath.Join(dir, "suite.json"), "--gate", "pass_rate >= 0.5")
	if code != exitOK || !strings.Contains(stdout, "ok  ") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("no profile written: %v", err)
	}
}
