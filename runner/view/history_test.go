package view

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// recordFolder records the run of a folder in h, as rubric run does.
func recordFolder(t *testing.T, h history.Store, dir string) {
	t.Helper()
	f, err := rundir.ReadRun(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	sum := f.Summary
	r := &history.Run{ID: sum.RunID, Kind: "run", Suite: sum.Suite, SuiteVersion: sum.SuiteVersion, Started: sum.Started,
		Finished: sum.Finished, Complete: sum.Complete, Dir: dir, GitCommit: "0123456789abcdef", GitBranch: "main"}
	held := sum.Gate.Held
	r.GateHeld = &held
	for _, tg := range sum.Targets {
		r.Targets = append(r.Targets, history.Target{Name: tg.Name, Provider: tg.Provider, Model: tg.Model, Cases: tg.Cases,
			Passed: tg.Passed, PassRate: tg.PassRate, PassRateLo: tg.PassRateCI.Lo, PassRateHi: tg.PassRateCI.Hi, Mean: tg.Mean})
	}
	if r.Report, err = os.ReadFile(f.Report); err != nil {
		t.Fatal(err)
	}
	err = h.Record(context.Background(), r, func(add func(history.Case) error) error {
		_, err := history.ScanJournal(f.Results, []string{"lang"}, add)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHistory: the runs of the history (SQLite, opened read-only as rubric
// view opens it) are shown with the folders it lacks, each once; their
// cases come from its case index; a run whose folder is gone is marked,
// its cases listed, its results refused with why.
func TestHistory(t *testing.T) {
	dirs := fixtureRuns(t)
	path := filepath.Join(t.TempDir(), "history.db")
	w, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r1", "r2"} {
		recordFolder(t, w, dirs[id])
	}
	w.Close()
	h, err := history.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// r2's folder is given too: it is in the history, and shown once.
	_, ts := newTestServer(t, Options{History: h, Runs: []string{dirs["r2"], dirs["r3"]}}, nil)
	_, body := get(t, ts, "/")
	if got := strings.Join(rows(body, "run", "data-run"), ","); got != "r3,r2,r1" {
		t.Errorf("runs %s, want r3,r2,r1", got)
	}
	mustContain(t, "runs", body, "0123456789", "main")
	_, body = get(t, ts, "/runs/r1/cases?status=failed&slice=lang%3Dde")
	mustContain(t, "r1's cases, from the history's index", body, "30 of 120 results")
	// The trend joins the history's runs and the folder's.
	_, body = get(t, ts, "/trend?suite=qa&metric=pass_rate")
	if n := strings.Count(body, "<circle"); n != 3 {
		t.Errorf("trend: %d points, want r1, r2 and r3", n)
	}
	// r1's folder goes.
	if err := os.RemoveAll(dirs["r1"]); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, ts, "/")
	mustContain(t, "runs", body, "folder missing")
	status, body := get(t, ts, "/runs/r1/cases?status=failed")
	if status != http.StatusOK || !strings.Contains(body, "60 of 120 results") {
		t.Errorf("a missing run's cases: %d", status)
	}
	status, body = get(t, ts, query("/runs/r1/case", "target", "small", "id", "c100"))
	if status != http.StatusNotFound || !strings.Contains(body, "is gone (moved or deleted)") {
		t.Errorf("a missing run's case: %d, %s", status, body)
	}
	if status, _ := get(t, ts, "/runs/r1/cases?q=sure"); status != http.StatusNotFound {
		t.Errorf("a search in a missing run's outputs: %d, want 404", status)
	}
}

// TestIndexAtStart: the folders given are indexed as the viewer starts.
func TestIndexAtStart(t *testing.T) {
	dirs := fixtureRuns(t)
	s, _ := newTestServer(t, Options{IndexAtStart: true}, dirs)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.cat.mu.Lock()
		n := 0
		for _, slot := range s.cat.indexes {
			select {
			case <-slot.ready:
				n++
			default:
			}
		}
		s.cat.mu.Unlock()
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 runs indexed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
