package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/runner/rundir"
)

// killServer is an OpenAI-compatible endpoint for the crash tests. It logs
// every request by case id, with the phase of the connection it came on: a
// connection accepted before the test calls resumed() belongs to the run that
// was killed, one accepted after to the run that resumes it.
type killServer struct {
	*httptest.Server
	delay time.Duration
	phase atomic.Int32

	mu   sync.Mutex
	reqs []killRequest
}

type killRequest struct {
	caseID string
	phase  int32
	status int // 200 once answered; 0 when the client went away first
}

type phaseKey struct{}

func newKillServer(t *testing.T, delay time.Duration) *killServer {
	s := &killServer{delay: delay}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, phaseKey{}, s.phase.Load())
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// resumed marks the connections accepted from now on as the resumed run's.
func (s *killServer) resumed() {
	s.CloseClientConnections()
	s.phase.Store(1)
}

func (s *killServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(raw, &body)
	id := ""
	if n := len(body.Messages); n > 0 {
		if m := userCase.FindStringSubmatch(body.Messages[n-1].Content); m != nil {
			id = m[1]
		}
	}
	phase, _ := r.Context().Value(phaseKey{}).(int32)
	s.mu.Lock()
	i := len(s.reqs)
	s.reqs = append(s.reqs, killRequest{caseID: id, phase: phase})
	s.mu.Unlock()

	select {
	case <-time.After(s.delay):
	case <-r.Context().Done():
		return
	}
	label := labels[id]
	if label == "" {
		label = "billing"
	}
	w.Header().Set("Content-Type", "application/json")
	err := json.NewEncoder(w).Encode(map[string]any{
		"id":      "chatcmpl-" + id,
		"object":  "chat.completion",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": labelJSON(label)}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35},
	})
	if err == nil {
		err = http.NewResponseController(w).Flush()
	}
	if err == nil {
		s.mu.Lock()
		s.reqs[i].status = http.StatusOK
		s.mu.Unlock()
	}
}

func (s *killServer) requests() []killRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// journalIDs returns the case ids of the intact lines of a results.jsonl
// file: lines that end in a newline and parse.
func journalIDs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for len(b) > 0 {
		line, rest, ok := bytes.Cut(b, []byte("\n"))
		if !ok {
			break // a torn last line
		}
		b = rest
		var r struct {
			CaseID string `json:"case_id"`
		}
		if err := json.Unmarshal(line, &r); err != nil || r.CaseID == "" {
			continue
		}
		ids = append(ids, r.CaseID)
	}
	return ids
}

// TestResumeAfterKill kills rubric with SIGKILL in the middle of a run and
// resumes the run: every case ends with exactly one result, and no case
// recorded before the kill is sent again.
func TestResumeAfterKill(t *testing.T) {
	t.Parallel()
	const cases = 400
	for _, tc := range []struct {
		name string
		torn bool // append half a line to results.jsonl, as a write cut short would leave
	}{
		{"kill", false},
		{"kill_torn_write", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newKillServer(t, 20*time.Millisecond)
			dir := t.TempDir()
			suite := writeOpenAISuite(t, dir, srv.URL, cases, 8, "pass_rate >= 1")
			env := []string{"RUBRIC_E2E_KEY=" + e2eKey}

			cmd, _, stderr, waitLines := startRun(t, dir, "run", suite, "--no-cache", "--no-progress", "--out", "runs")
			runDir := waitLines(60)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			checkNoRace(t, stderr.String())
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("rubric was not killed mid-run: %v\nstderr:\n%s", cmd.ProcessState, stderr)
			}
			// A connection the killed run opened but the server had not yet
			// accepted would count as the resumed run's.
			time.Sleep(50 * time.Millisecond)
			srv.resumed()

			id := filepath.Base(runDir)
			resultsPath := filepath.Join(runDir, "results.jsonl")
			atKill := journalIDs(t, resultsPath)
			recorded := map[string]bool{}
			for _, c := range atKill {
				if recorded[c] {
					t.Errorf("results.jsonl has %s twice at the kill", c)
				}
				recorded[c] = true
			}
			if len(atKill) < 60 || len(atKill) >= cases {
				t.Fatalf("results.jsonl has %d intact lines at the kill, want between 60 and %d", len(atKill), cases-1)
			}
			if _, err := os.Stat(filepath.Join(runDir, "report.json")); !os.IsNotExist(err) {
				t.Errorf("report.json after SIGKILL: %v", err)
			}
			// Every result recorded was answered by the server.
			answered, inFlight := map[string]bool{}, 0
			for _, q := range srv.requests() {
				if q.status == http.StatusOK {
					answered[q.caseID] = true
				}
				if !recorded[q.caseID] {
					inFlight++
				}
			}
			t.Logf("killed with %d of %d results recorded and %d requests sent without one", len(atKill), cases, inFlight)
			for _, c := range atKill {
				if !answered[c] {
					t.Errorf("results.jsonl has %s, which the server never answered", c)
				}
			}
			if tc.torn {
				f, err := os.OpenFile(resultsPath, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				_, err = fmt.Fprintf(f, `{"run_id":%q,"case_id":"c%d","target":"local","repeat":0,"status":"pas`, id, cases)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					t.Fatal(err)
				}
			}

			r := rubric(t, dir, env, "run", "--resume", id, "--out", "runs", "--no-cache", "--no-progress")
			if r.code != exitOK {
				t.Fatalf("resume: want exit 0\n%s", r)
			}
			wantErr := fmt.Sprintf("rubric: resuming run %s (%d results recorded): suite labels, %d cases x 1 target (local)\n", id, len(atKill), cases)
			if !strings.HasPrefix(r.stderr, wantErr) {
				t.Errorf("stderr does not start with\n%s%s", wantErr, r)
			}
			wantLines(t, "stdout", r.stdout, "gate held")

			// One parsable line per case, the torn line gone.
			results, rep := runFiles(t, dir, "runs", id)
			if len(results) != cases {
				t.Errorf("results.jsonl has %d lines, want %d", len(results), cases)
			}
			seen := map[string]int{}
			for _, res := range results {
				c, _ := res["case_id"].(string)
				seen[c]++
				if res["status"] != "passed" {
					t.Errorf("result %s: status %v", c, res["status"])
				}
			}
			for i := 1; i <= cases; i++ {
				if c := fmt.Sprintf("c%d", i); seen[c] != 1 {
					t.Errorf("results.jsonl has %d lines for %s, want 1", seen[c], c)
				}
			}
			if len(seen) != cases {
				t.Errorf("results.jsonl has %d distinct case ids, want %d", len(seen), cases)
			}

			// The resumed run sent exactly the cases without a result: the
			// ones recorded were not sent again, and those in flight at the
			// kill were.
			sentAfter := map[string]int{}
			for _, q := range srv.requests() {
				if q.phase == 1 {
					sentAfter[q.caseID]++
				}
			}
			for c, n := range sentAfter {
				switch {
				case recorded[c]:
					t.Errorf("%s was recorded before the kill and sent again %d times after it", c, n)
				case n > 1:
					t.Errorf("%s was sent %d times after the kill", c, n)
				}
			}
			if want := cases - len(atKill); len(sentAfter) != want {
				t.Errorf("the resumed run sent %d cases, want the %d without a result", len(sentAfter), want)
			}

			if !rep.Complete || rep.Interrupted || !rep.Gate.Held {
				t.Errorf("report: complete %v, interrupted %v, gate held %v", rep.Complete, rep.Interrupted, rep.Gate.Held)
			}
			if len(rep.Targets) != 1 || rep.Targets[0].Cases != cases || rep.Targets[0].Passed != cases {
				t.Errorf("report targets %+v, want one with %d cases, all passed", rep.Targets, cases)
			}
		})
	}
}

// TestResumeRefuses checks the --resume mistakes that must exit 2 before
// anything is sent or written.
func TestResumeRefuses(t *testing.T) {
	t.Parallel()
	rubricBin(t) // build first: rubric() counts the build against its minute
	dir := t.TempDir()
	writeFiles(t, dir, withSuite(okSuite))
	r := rubric(t, dir, nil, "run", "suite.json", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("first run: want exit 0\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	runDir := filepath.Join(dir, "runs", id)
	var m struct {
		Suite string `json:"suite"`
	}
	readJSON(t, filepath.Join(runDir, "run.json"), &m)
	if filepath.Base(m.Suite) != "suite.json" || !filepath.IsAbs(m.Suite) {
		t.Fatalf("run.json names the suite %q, want an absolute path to suite.json", m.Suite)
	}
	snapshot := func() map[string]string {
		files := map[string]string{}
		_ = filepath.WalkDir(filepath.Join(dir, "runs"), func(p string, d os.DirEntry, err error) error {
			// run.lock names the last process that held the folder.
			if err == nil && !d.IsDir() && d.Name() != rundir.LockFile {
				b, _ := os.ReadFile(p)
				files[p] = string(b)
			}
			return nil
		})
		return files
	}
	before := snapshot()

	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T)
		args   []string
		stderr string
	}{
		{
			name:   "unknown_run",
			args:   []string{"run", "--resume", "20990101-000000-abcdef", "--out", "runs"},
			stderr: "rubric: resume: runs/20990101-000000-abcdef is not a run folder (no run.json); give a run id printed by rubric run, with the same --out\n",
		},
		{
			name:   "suite_argument",
			args:   []string{"run", "--resume", id, "--out", "runs", "suite.json"},
			stderr: "rubric: run: --resume takes the suite and options from the run it resumes; give no suite files\n",
		},
		{
			name:   "option_changed",
			args:   []string{"run", "--resume", id, "--out", "runs", "--limit", "1"},
			stderr: "rubric: run: --resume keeps the options the run started with; --limit cannot change them\n",
		},
		{
			name: "dataset_changed", // it edits the dataset
			setup: func(t *testing.T) {
				writeFiles(t, dir, map[string]string{"cases.jsonl": okCases + `{"id": "c", "vars": {"q": "three?"}, "expected": "yes"}` + "\n"})
			},
			args: []string{"run", "--resume", id, "--out", "runs"},
			stderr: fmt.Sprintf("rubric: resume %s: dataset %s changed since the run started; its results would mix two versions of the cases: start a new run\n",
				id, filepath.Join(filepath.Dir(m.Suite), "cases.jsonl")),
		},
		{
			name: "suite_changed", // last: it edits the suite
			setup: func(t *testing.T) {
				writeFiles(t, dir, map[string]string{"suite.json": strings.Replace(okSuite, `"pass_rate >= 0.5"`, `"pass_rate >= 0.6"`, 1)})
			},
			args: []string{"run", "--resume", id, "--out", "runs"},
			stderr: fmt.Sprintf("rubric: resume %s: suite %s changed since the run started; its results would mix two versions of the suite: start a new run\n",
				id, m.Suite),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			r := rubric(t, dir, nil, tc.args...)
			if r.code != exitBadInput || r.stdout != "" || r.stderr != tc.stderr {
				t.Errorf("want exit 2, no stdout and stderr\n%s\ngot %s", tc.stderr, r)
			}
			after := snapshot()
			for p, b := range after {
				if before[p] != b {
					t.Errorf("%s changed", p)
				}
			}
			if len(after) != len(before) {
				t.Errorf("the run folder had %d files, now %d", len(before), len(after))
			}
		})
	}
}
