package view

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
	"github.com/rubric-eval/rubric/runner/session"
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

// TestPushedRunWithoutFolder: a run that rubric push uploaded keeps its
// results in the history, so its case pages and comparisons work on a
// machine without its folder; it cannot be reviewed there, reviews being
// kept in the folder. A run of another machine is read from the history
// even when a folder of the same path is here.
func TestPushedRunWithoutFolder(t *testing.T) {
	dirs := fixtureRuns(t)
	path := filepath.Join(t.TempDir(), "history.db")
	w, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r1", "r2"} {
		fin, err := rundir.ReadRun(dirs[id], "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := session.RecordFinished(context.Background(), w, fin, func(string) string { return "" }); err != nil {
			t.Fatal(err)
		}
	}
	// r2 as CI pushed it: from another machine, whose folder path is here
	// too, holding other results.
	r2, err := w.Get(context.Background(), "r2")
	if err != nil {
		t.Fatal(err)
	}
	r2.Host = "ci-runner-" + history.Hostname()
	err = w.Record(context.Background(), r2, func(add func(history.Case) error) error {
		return w.Cases(context.Background(), "r2", func(c history.Case) error {
			line, err := w.Result(context.Background(), "r2", c.Target, c.CaseID, c.Repeat)
			c.Result = line
			if err != nil {
				return err
			}
			return add(c)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := os.RemoveAll(dirs["r1"]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs["r2"], rundir.ResultsFile), []byte("not the results\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := history.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv, ts := newTestServer(t, Options{History: h}, nil)
	for _, run := range []string{"r1", "r2"} {
		status, body := get(t, ts, query("/runs/"+run+"/case", "target", "small", "id", "c100"))
		if status != http.StatusOK {
			t.Fatalf("%s's case, its results in the history: %d, %s", run, status, body)
		}
		mustContain(t, run+"'s case", body, "question 100?", "polite", "judge-1")
		if strings.Contains(body, `name="verdict"`) {
			t.Errorf("%s's case offers a review, which its folder, not here, would keep", run)
		}
	}
	status, body := get(t, ts, query("/compare/case", "a", "r1", "b", "r2", "target", "small", "id", "c100"))
	if status != http.StatusOK || strings.Count(body, `<pre class="output">`) != 2 || strings.Contains(body, "no such case") {
		t.Errorf("comparing a case of two pushed runs: %d", status)
	}
	for _, run := range []string{"r1", "r2"} {
		form := url.Values{"csrf": {srv.csrf}, "target": {"small"}, "id": {"c100"}, "repeat": {"0"}, "verdict": {"accept"}}
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/runs/"+run+"/review", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "not on this machine") {
			t.Errorf("a review of %s, whose folder is not here: %d, %s", run, resp.StatusCode, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dirs["r2"], rundir.ReviewsFile)); err == nil {
		t.Error("a review of another machine's run was written in a folder of the same path here")
	}
}
