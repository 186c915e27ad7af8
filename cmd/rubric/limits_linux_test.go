//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bigSuiteHead is the start of a generated suite, before its dataset.
const bigSuiteHead = `{"name": "big", "messages": [{"role": "user", "content": "{{ q }}"}],
"criteria": [{"name": "a", "type": "equals"}],
"targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}],
`

// bigSuites are generated suites of about size bytes that a hostile or
// careless input could be: nested arrays, a wide array, a flood of cases;
// and a big suite within the limits.
var bigSuites = []struct {
	name string
	gen  func(size int) []byte
	code int
	want string // a line of stderr, or of stdout with code 0
	// small suites are only 10 MB in the test, so that it stays fast (the
	// benchmark loads 50 MB): loading takes time in proportion.
	small bool
}{
	{
		name: "nested arrays",
		gen: func(size int) []byte {
			return append(bytes.Repeat([]byte("["), size/2), bytes.Repeat([]byte("]"), size/2)...)
		},
		code: 2,
		want: "suite.json:1:129: arrays and objects nest more than 128 levels deep, the limit for a suite or config file",
	},
	{
		name: "wide array",
		gen: func(size int) []byte {
			return append(append([]byte(`{"name": "x", "x": [`), bytes.Repeat([]byte("0,"), size/2)...), "0]}"...)
		},
		code: 2,
		want: "suite.json:1:100015: more than 50000 JSON values, the limit for a suite outside its inline cases (dataset.cases): keep bulk data in a dataset file",
	},
	{
		name: "a flood of inline cases",
		gen: func(size int) []byte {
			b := []byte(bigSuiteHead + `"dataset": {"cases": [`)
			b = append(b, bytes.Repeat([]byte("{},\n"), size/4)...)
			return append(b, "{}]}}"...)
		},
		code: 2,
		want: "suite.json:100004:1: $.dataset.cases[100000]: more than 100000 inline cases, the limit for a suite: keep the cases in a dataset file (dataset.path)",
	},
	{
		name:  "big cases within the limits",
		gen:   legalSuite,
		code:  0,
		small: true,
	},
}

// legalSuite returns a suite of about size bytes of inline cases of 1 KB.
func legalSuite(size int) []byte {
	var b bytes.Buffer
	b.WriteString(bigSuiteHead + `"dataset": {"cases": [` + "\n")
	passage := strings.Repeat("The town clock strikes noon while the fox crosses the river. ", 15)
	n := 0
	for b.Len() < size {
		if n > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"id": "c%d", "q": "%s Case %d: what strikes noon?", "expected": "the clock", "tags": ["reading"], "metadata": {"n": %d}}`, n, passage, n, n)
		n++
	}
	b.WriteString("\n]}}\n")
	return b.Bytes()
}

func init() { launch = launchMeasured }

// launchMeasured runs argv and writes its peak resident memory, in KiB, to
// the file out; it returns argv's exit code.
func launchMeasured(out string, argv []string) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
	rss := int64(-1)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	if err := os.WriteFile(out, []byte(strconv.FormatInt(rss, 10)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
	return cmd.ProcessState.ExitCode()
}

// runMeasured runs the rubric binary in dir and returns its result, its peak
// resident memory in bytes and how long it took; the command is killed after
// timeout.
//
// The binary is started by a fresh copy of the test binary (launchMeasured):
// os/exec starts a child with vfork, and Linux counts in the child's peak
// RSS the peak of the process that started it, here a test process that may
// have used any amount of memory before.
func runMeasured(t testing.TB, dir string, timeout time.Duration, args ...string) (cmdResult, int64, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rssFile := filepath.Join(t.TempDir(), "rss")
	cmd := exec.CommandContext(ctx, self, append([]string{rubricBin(t)}, args...)...)
	cmd.Dir = dir
	cmd.Env = environ(launchEnv + "=" + rssFile)
	// On timeout, kill rubric too, not only the launcher.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("rubric %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("rubric %s: did not exit within %v", strings.Join(args, " "), timeout)
	}
	b, err := os.ReadFile(rssFile)
	if err != nil {
		t.Fatalf("rubric %s: no peak RSS: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	kib, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || kib < 0 {
		t.Fatalf("peak RSS %q: %v", b, err)
	}
	return cmdResult{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}, kib << 10, took
}

// TestValidateBigSuites checks that rubric validate stops a 50 MB suite of
// nested arrays, of a wide array or of a flood of cases at the limit it
// crosses, and loads a big suite within the limits, each within seconds and
// under 200 MB (issue 10, item 1: the nested arrays took 2.5 GB at 100 KB,
// and more than 23 GB at 50 MB).
func TestValidateBigSuites(t *testing.T) {
	size, small := 50<<20, 10<<20
	maxRSS, timeout := int64(200<<20), 5*time.Second
	if raceEnabled {
		// The race detector's shadow memory and slowness; the loader
		// before the limits needed gigabytes.
		small, maxRSS, timeout = 2<<20, 400<<20, time.Minute
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rec.jsonl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range bigSuites {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "suite.json")
			n := size
			if tc.small {
				n = small
			}
			if err := os.WriteFile(path, tc.gen(n), 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(path)
			r, rss, took := runMeasured(t, dir, timeout, "validate", "suite.json")
			t.Logf("%s: exit %d in %v, peak RSS %d MB", tc.name, r.code, took.Round(time.Millisecond), rss>>20)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			if tc.code == 0 {
				if !strings.HasPrefix(r.stdout, "ok  suite.json: ") {
					t.Errorf("stdout does not say ok:\n%s", r)
				}
			} else {
				wantLines(t, "stderr", r.stderr, tc.want, "rubric: 1 problem")
			}
			if rss > maxRSS {
				t.Errorf("peak RSS %d MB, want at most %d MB", rss>>20, maxRSS>>20)
			}
		})
	}
}

// BenchmarkValidateBigSuite runs rubric validate on the 50 MB suites of
// TestValidateBigSuites and reports the process's peak RSS.
//
//	go test ./cmd/rubric -run '^$' -bench ValidateBigSuite -benchtime 3x
func BenchmarkValidateBigSuite(b *testing.B) {
	rubricBin(b) // built before the timing starts
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rec.jsonl"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, tc := range bigSuites {
		path := filepath.Join(dir, "suite.json")
		data := tc.gen(50 << 20)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(strings.ReplaceAll(tc.name, " ", "-"), func(b *testing.B) {
			var rss int64
			for b.Loop() {
				r, n, _ := runMeasured(b, dir, time.Minute, "validate", "suite.json")
				if r.code != tc.code {
					b.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
				}
				rss = max(rss, n)
			}
			b.ReportMetric(float64(len(data))/1e6, "file-MB")
			b.ReportMetric(float64(rss)/1e6, "peak-RSS-MB")
		})
		os.Remove(path)
	}
}
