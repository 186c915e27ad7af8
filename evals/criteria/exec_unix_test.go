//go:build unix

package criteria_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// TestExecTimeout checks that a command that hangs is killed with every
// process it started, and the response unscored.
func TestExecTimeout(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("PIDFILE", pidfile)
	sc := build(t, helperSpec(t, "hang", `,"timeout":"300ms"`), criteria.Env{Dir: t.TempDir()})
	start := time.Now()
	v := sc.Score(context.Background(), &evals.Input{})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to give up", d)
	}
	want := unscoredV(fmt.Sprintf(`exec: %q timed out after 300ms and was killed; stderr: "waiting forever"`, filepath.Base(os.Args[0])))
	if v != want {
		t.Errorf("got  %+v\nwant %+v", v, want)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the command's child %d outlived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether process pid runs: it exists and, where /proc says,
// is not a zombie waiting for a parent to reap it.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// linesSpec is an exec criterion with protocol "lines" running linesHelper;
// extra adds fields. The test stops its processes when it ends.
func linesSpec(t testing.TB, extra string) evals.Scorer {
	t.Helper()
	sc := build(t, helperSpec(t, "lines", `,"protocol":"lines"`+extra), criteria.Env{Dir: t.TempDir()})
	t.Cleanup(func() { criteria.CloseExec(sc) })
	return sc
}

// TestExecLines checks that one process answers case after case, and that
// a process that fails a case is killed and replaced for the next.
func TestExecLines(t *testing.T) {
	sc := linesSpec(t, `,"timeout":"300ms"`)
	bin := filepath.Base(os.Args[0])
	steps := []struct {
		output string
		want   evals.Verdict // for an answer, the reason is the pid
		fresh  bool          // the answer comes from a new process
	}{
		{"a", pass(), true},
		{"b", pass(), false},
		{"c", pass(), false},
		{"garbage", unscoredV(fmt.Sprintf(`exec: %q: stdout is not a result object (invalid character 's' looking for beginning of value): expected one JSON object such as {"score": 1, "reason": "..."}, got "score=1"`, bin)), false},
		{"d", pass(), true},
		{"two", unscoredV(fmt.Sprintf(`exec: %q: stdout has more than the result object: "{\"score\": 0}" after it; print diagnostics on stderr`, bin)), false},
		{"e", pass(), true},
		{"bye", pass(), false},
		{"f", pass(), true}, // the last process exited; a new one answers
		{"exit", unscoredV(fmt.Sprintf(`exec: %q exited with status 3 without answering; stderr: "Traceback: something broke"`, bin)), false},
		{"g", pass(), true},
		{"hang", unscoredV(fmt.Sprintf(`exec: %q timed out after 300ms and was killed; stderr: "waiting forever"`, bin)), false},
		{"h", pass(), true},
		{"long", unscoredV(fmt.Sprintf(`exec: %q printed a line of more than 1048576 bytes on stdout`, bin)), false},
		{"i", pass(), true},
		{"j", pass(), false},
		{"chatty", pass(), false},
		{"k", pass(), false},
	}
	pids := map[string]bool{}
	last := ""
	for _, s := range steps {
		got := sc.Score(context.Background(), &evals.Input{Output: s.output})
		if got.Unscored || !s.want.Pass {
			if got != s.want {
				t.Errorf("%s: got  %+v\nwant %+v", s.output, got, s.want)
			}
			continue
		}
		pid := got.Reason
		if got.Reason = ""; got != s.want {
			t.Errorf("%s: got %+v, want a pass", s.output, got)
		}
		switch {
		case s.fresh && pids[pid]:
			t.Errorf("%s: answered by process %s, which answered before; want a new one", s.output, pid)
		case !s.fresh && pid != last:
			t.Errorf("%s: answered by process %s, want %s, which answered the case before", s.output, pid, last)
		}
		pids[pid], last = true, pid
	}
}

// TestExecLinesInput checks that a process reads the same document as with
// protocol "once", on one line.
func TestExecLinesInput(t *testing.T) {
	sc := linesSpec(t, "")
	c := caseOf(t, `{"intent":"refund"}`, `{"ticket":"line one\nline two"}`)
	in := &evals.Input{Case: c, Output: "echo", Messages: []evals.Message{{Role: "user", Content: "Ticket:\nline one\nline two"}}}
	got := sc.Score(context.Background(), in)
	want := `{"case_id":"case-1","input":[{"role":"user","content":"Ticket:\nline one\nline two"}],"output":"echo",` +
		`"expected":{"intent":"refund"},"vars":{"ticket":"line one\nline two"},"metadata":{},"tags":["smoke"]}` + "\n"
	if got.Reason != want {
		t.Errorf("stdin\n got %s\nwant %s", got.Reason, want)
	}
}

// TestExecLinesStderr checks that a reason quotes the end of what a
// long-lived process wrote on stderr, a megabyte of it before.
func TestExecLinesStderr(t *testing.T) {
	sc := linesSpec(t, "")
	if v := sc.Score(context.Background(), &evals.Input{Output: "chatty"}); !v.Pass {
		t.Fatalf("chatty: %+v", v)
	}
	want := unscoredV(fmt.Sprintf(`exec: %q: stdout is not a result object (invalid character 's' looking for beginning of value): expected one JSON object such as {"score": 1, "reason": "..."}, got "score=1"; stderr: %q`,
		filepath.Base(os.Args[0]), "…"+strings.Repeat("x", 300)))
	if v := sc.Score(context.Background(), &evals.Input{Output: "garbage"}); v != want {
		t.Errorf("got  %+v\nwant %+v", v, want)
	}
}

// TestExecLinesCanceled checks that a run stopped mid-case ends the process.
func TestExecLinesCanceled(t *testing.T) {
	sc := linesSpec(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if v := sc.Score(ctx, &evals.Input{Output: "hang"}); v != unscoredV("exec: stopped: context deadline exceeded") {
		t.Errorf("got %+v", v)
	}
	if v := sc.Score(context.Background(), &evals.Input{Output: "a"}); !v.Pass {
		t.Errorf("after a cancelled case: %+v, want a pass", v)
	}
}

// TestExecLinesConcurrency checks that many workers share at most
// concurrency processes, and that none is left when the criterion closes:
// no process, no goroutine.
func TestExecLinesConcurrency(t *testing.T) {
	before := runtime.NumGoroutine()
	sc := build(t, helperSpec(t, "lines", `,"protocol":"lines","concurrency":3`), criteria.Env{Dir: t.TempDir()})
	var (
		mu   sync.Mutex
		pids = map[int]bool{}
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				v := sc.Score(context.Background(), &evals.Input{Output: "a"})
				pid, err := strconv.Atoi(v.Reason)
				if err != nil {
					t.Errorf("helper: %+v", v)
					return
				}
				mu.Lock()
				pids[pid] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(pids) > 3 {
		t.Errorf("%d processes answered, want at most 3", len(pids))
	}
	criteria.CloseExec(sc)
	for pid := range pids {
		if alive(pid) {
			t.Errorf("process %d outlived the criterion's close", pid)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestExecLinesTargets checks that a process serves only the targets whose
// environment it was started with: never one whose key it holds.
func TestExecLinesTargets(t *testing.T) {
	t.Setenv("MODEL_CREDS", "x")
	keyed := []string{"MODEL_CREDS"}
	other := []string{"UNSET_VARIABLE_X"}
	for _, n := range []int{1, 2} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			sc := linesSpec(t, fmt.Sprintf(`,"concurrency":%d`, n))
			var pids []string
			for i, secretEnv := range [][]string{keyed, nil, other, keyed} {
				v := sc.Score(context.Background(), &evals.Input{Output: "env", SecretEnv: secretEnv})
				pid, names, _ := strings.Cut(v.Reason, " ")
				if has, want := slices.Contains(strings.Split(names, ","), "MODEL_CREDS"), i%3 != 0; has != want {
					t.Errorf("target %d (secrets %v): MODEL_CREDS passed on: %v, want %v", i, secretEnv, has, want)
				}
				pids = append(pids, pid)
			}
			// nil and other share an environment, so a process.
			if pids[1] != pids[2] || pids[0] == pids[1] {
				t.Errorf("processes %v: want the second and third the same, the first another", pids)
			}
			// With room for two, the first process waits for the fourth
			// case; with room for one, it made way for the second.
			if (pids[3] == pids[0]) != (n == 2) {
				t.Errorf("concurrency %d: processes %v", n, pids)
			}
		})
	}
}

// TestCloseStopsNestedLines checks that closing a criterion stops the
// "lines" processes of the exec criteria it holds, however deep: a suite's
// owner closes its criteria when the suite ends, and a scorer process must
// not live on into the next suite.
func TestCloseStopsNestedLines(t *testing.T) {
	inner := helperSpec(t, "lines", `,"protocol":"lines"`)
	for _, tc := range []struct{ name, spec string }{
		{"exec", inner},
		{"all", `{"name":"g","type":"all","criteria":[` + inner + `]}`},
		{"not in any", `{"name":"g","type":"any","criteria":[{"name":"n","type":"not","criterion":` + inner + `}]}`},
		{"json-field", `{"name":"f","type":"json-field","path":"a","criterion":` + inner + `}`},
		{"tool-call", `{"name":"f","type":"tool-call","tool":"t","field":"a","criterion":` + inner + `}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := build(t, tc.spec, criteria.Env{Dir: t.TempDir()})
			sc.Score(context.Background(), &evals.Input{Output: `{"a":"a"}`,
				Response: &evals.Response{ToolCalls: []evals.ToolCall{evals.NewToolCall("1", "t", `{"a":"a"}`)}}})
			pids := criteria.LinePIDs(sc)
			if len(pids) != 1 {
				criteria.CloseExec(sc)
				t.Fatalf("%d scorer processes after one case, want 1", len(pids))
			}
			if err := criteria.Close(sc); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for alive(pids[0]) {
				if time.Now().After(deadline) {
					syscall.Kill(pids[0], syscall.SIGKILL)
					t.Fatalf("scorer process %d outlived the criterion's close", pids[0])
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
