//go:build unix

package session

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// scorerEnv makes the test binary an exec scorer with protocol "lines": it
// answers each line with its pid as the reason.
const scorerEnv = "RUBRIC_SESSION_SCORER"

func TestMain(m *testing.M) {
	if os.Getenv(scorerEnv) != "" {
		in := bufio.NewReader(os.Stdin)
		for {
			if _, err := in.ReadBytes('\n'); err != nil {
				os.Exit(0) // the end of stdin: rubric is done
			}
			fmt.Printf("{\"score\": 1, \"reason\": \"%d\"}\n", os.Getpid())
		}
	}
	os.Exit(m.Run())
}

// TestSuiteEndStopsItsScorers runs two suites whose exec criteria keep
// scorer processes running (protocol "lines"): the processes of the first
// are gone by the time the second reports, and those of the second when the
// session ends. A scorer of one suite never lives on into the next.
func TestSuiteEndStopsItsScorers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	defer srv.Close()
	checkSuiteEndStops(t, "scorer", func(bin string) map[string]any {
		return map[string]any{
			"criteria": []map[string]any{{"name": "pid", "type": "exec", "protocol": "lines", "command": []string{bin},
				"env": map[string]string{scorerEnv: "1", "GORACE": "atexit_sleep_ms=0"}}},
			"targets": []map[string]any{{"name": "t", "provider": "openai", "base_url": srv.URL + "/v1", "model": "m"}},
		}
	}, func(r *evals.Result) (pids []int) {
		for _, sc := range r.Scores {
			if pid, err := strconv.Atoi(sc.Reason); err == nil {
				pids = append(pids, pid)
			}
		}
		return pids
	})
}

// checkSuiteEndStops runs two suites, a and b, of two cases each, whose
// criteria and targets fields(bin) gives: they keep the test binary, bin,
// running as "what" processes of protocol "lines", each answering with its
// pid, which pidsOf reads from a result. The processes of suite a must be
// gone by the time suite b reports, and those of b when the session ends.
func checkSuiteEndStops(t *testing.T, what string, fields func(bin string) map[string]any, pidsOf func(*evals.Result) []int) {
	t.Helper()
	dir := t.TempDir()
	bin, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, name := range []string{"a", "b"} {
		suite := map[string]any{
			"name":     name,
			"messages": []map[string]string{{"role": "user", "content": "{{ q }}"}},
			"dataset":  map[string]any{"cases": []map[string]any{{"id": "1", "vars": map[string]any{"q": "x"}}, {"id": "2", "vars": map[string]any{"q": "y"}}}},
		}
		maps.Copy(suite, fields(bin))
		b, _ := json.Marshal(suite)
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	suites, err := build.LoadAll(context.Background(), paths, build.Options{Load: evals.LoadOptions{RequireTargets: true}, Targets: true, Dataset: true})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "runs")
	var runs []*evals.Summary
	var firstAliveAtSecond []int
	o := Run(context.Background(), suites, Options{Out: out, Summary: func(sum *evals.Summary) error {
		runs = append(runs, sum)
		if len(runs) == 2 {
			firstAliveAtSecond = livePIDs(t, what, filepath.Join(out, runs[0].RunID), pidsOf)
		}
		return nil
	}})
	if o.Err != nil || o.Code() != ExitOK || len(runs) != 2 {
		t.Fatalf("outcome %v (code %d), %d runs", o.Err, o.Code(), len(runs))
	}
	if len(firstAliveAtSecond) > 0 {
		t.Errorf("%s processes %v of suite a still ran while suite b reported", what, firstAliveAtSecond)
	}
	if pids := livePIDs(t, what, filepath.Join(out, runs[1].RunID), pidsOf); len(pids) > 0 {
		t.Errorf("%s processes %v of suite b outlived the session", what, pids)
	}
}

// livePIDs returns the processes named in a run's results (pidsOf) that
// still run, after giving them a moment to exit.
func livePIDs(t *testing.T, what, dir string, pidsOf func(*evals.Result) []int) []int {
	t.Helper()
	pids := map[int]bool{}
	_, err := rundir.ReadJournal(filepath.Join(dir, rundir.ResultsFile), func(r *evals.Result) error {
		for _, pid := range pidsOf(r) {
			pids[pid] = true
		}
		return nil
	})
	if err != nil || len(pids) == 0 {
		t.Fatalf("no %s pid in the results of %s: %v", what, dir, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		var live []int
		for pid := range pids {
			if alive(pid) {
				live = append(live, pid)
			}
		}
		if len(live) == 0 || time.Now().After(deadline) {
			return live
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether process pid runs: it exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
