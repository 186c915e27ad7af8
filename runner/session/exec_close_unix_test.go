//go:build unix

package session

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// TestSuiteEndStopsItsModels runs two suites whose target is an exec
// provider with protocol "lines", the test binary as its model (the scorer
// of TestMain, whose answer line, read as text, holds its pid): the model
// processes of the first suite are gone by the time the second reports, and
// those of the second when the session ends. The suite's endpoints are
// closed with it.
func TestSuiteEndStopsItsModels(t *testing.T) {
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
			"criteria": []map[string]any{{"name": "any", "type": "regex", "pattern": "."}},
			"targets": []map[string]any{{"name": "t", "provider": "exec", "protocol": "lines", "format": "text", "command": []string{bin},
				"env": map[string]string{scorerEnv: "1", "GORACE": "atexit_sleep_ms=0"}}},
		}
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
			firstAliveAtSecond = liveModels(t, filepath.Join(out, runs[0].RunID))
		}
		return nil
	}})
	if o.Err != nil || o.Code() != ExitOK || len(runs) != 2 {
		t.Fatalf("outcome %v (code %d), %d runs", o.Err, o.Code(), len(runs))
	}
	if len(firstAliveAtSecond) > 0 {
		t.Errorf("model processes %v of suite a still ran while suite b reported", firstAliveAtSecond)
	}
	if pids := liveModels(t, filepath.Join(out, runs[1].RunID)); len(pids) > 0 {
		t.Errorf("model processes %v of suite b outlived the session", pids)
	}
}

// liveModels returns the model processes named in a run's outputs that
// still run, after giving them a moment to exit.
func liveModels(t *testing.T, dir string) []int {
	t.Helper()
	pids := map[int]bool{}
	_, err := rundir.ReadJournal(filepath.Join(dir, rundir.ResultsFile), func(r *evals.Result) error {
		var answer struct {
			Reason int `json:"reason,string"`
		}
		if json.Unmarshal([]byte(r.Output), &answer) == nil && answer.Reason > 0 {
			pids[answer.Reason] = true
		}
		return nil
	})
	if err != nil || len(pids) == 0 {
		t.Fatalf("no model pid in the outputs of %s: %v", dir, err)
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
