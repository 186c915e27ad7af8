package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/runner/provider/batchfake"
	"github.com/rubric-eval/rubric/runner/rundir"
)

const batchKey = "sk-batch-e2e-secret-0123456789"

// batchSuite is a suite of ten cases whose answer echoes the input, sent to
// one target of provider (openai or anthropic) at base; batch says whether
// it batches. Cases 3 and 7 carry the word EXPIRE.
func batchSuite(t *testing.T, dir, provider, base string, batch bool) {
	t.Helper()
	var cases []string
	for i := range 10 {
		word := fmt.Sprintf("word%d", i)
		if i == 3 || i == 7 {
			word += " EXPIRE"
		}
		cases = append(cases, fmt.Sprintf(`{"id": "case %d/ü", "vars": {"q": %q}, "expected": "word%d"}`, i, word, i))
	}
	extra := ""
	if provider == "anthropic" {
		extra = `"params": {"max_tokens": 64},`
	}
	writeFiles(t, dir, map[string]string{"suite.json": fmt.Sprintf(`{
  "name": "batched",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [%s]},
  "criteria": [{"name": "has", "type": "contains"}],
  "targets": [{"name": "cand", "provider": %q, "model": "m-1", "base_url": %q, "api_key_env": "BATCH_KEY", %s "batch": %v}],
  "gate": ["pass_rate >= 0.5"]
}`, strings.Join(cases, ",\n"), provider, base, extra, batch)})
}

// TestBatchPartialExpiryE2E: a batch that expires with two requests
// unanswered keeps the eight it answered, exits 3 naming the two and the
// way to send them; --resume --no-batch sends only those two live, and the
// report then has what a live run's has. --detach exits 4, and --resume
// collects. Both APIs, and the key never lands in the run folder.
func TestBatchPartialExpiryE2E(t *testing.T) {
	for _, tc := range []struct{ provider, base string }{
		{"openai", "/v1"},
		{"anthropic", ""},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			fake := batchfake.New()
			fake.Key = batchKey
			fake.Polls = 2
			fake.Expire = func(b []byte) bool { return bytes.Contains(b, []byte("EXPIRE")) }
			srv := httptest.NewServer(fake)
			defer srv.Close()
			dir := t.TempDir()
			batchSuite(t, dir, tc.provider, srv.URL+tc.base, true)
			env := []string{"BATCH_KEY=" + batchKey, "RUBRIC_DB=" + filepath.Join(t.TempDir(), "rubric.db"), "RUBRIC_NO_HISTORY=1"}

			r := rubric(t, dir, env, "run", "--batch-poll", "10ms", "--out", "runs", "suite.json")
			if r.code != 3 {
				t.Fatalf("batch run: exit %d, want 3\nstderr:\n%s", r.code, r.stderr)
			}
			for _, want := range []string{"2 requests got no answer from their batch (2 expired)", "--resume", "--no-batch"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			live, batches, reqs := fake.Counts()
			if live != 0 || batches != 1 || reqs != 10 {
				t.Fatalf("after the batch run: %d live requests, %d batches of %d requests; want 0, 1, 10", live, batches, reqs)
			}
			runDir := onlyRun(t, filepath.Join(dir, "runs"))
			results := readJSONL(t, filepath.Join(runDir, rundir.ResultsFile))
			if len(results) != 8 {
				t.Fatalf("journal has %d results after the partial expiry, want the 8 answered", len(results))
			}
			for _, res := range results {
				if res["batch"] != true {
					t.Errorf("result %v of a batch answer is not marked batch: true", res["case_id"])
				}
			}
			m, err := rundir.ReadManifest(runDir)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Batches) != 1 || !m.Batches[0].Collected || m.Batches[0].Answered != 8 || m.Batches[0].State != map[string]string{"openai": "expired", "anthropic": "ended"}[tc.provider] {
				t.Errorf("run.json batches = %+v", m.Batches)
			}
			checkBatchKeyAbsent(t, runDir)

			r = rubric(t, dir, env, "run", "--out", "runs", "--resume", filepath.Base(runDir), "--no-batch")
			if r.code != 0 {
				t.Fatalf("--resume --no-batch: exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
			}
			live, batches, _ = fake.Counts()
			if live != 2 || batches != 1 {
				t.Fatalf("--resume --no-batch sent %d live requests and made %d batches; want the 2 unanswered live, no new batch", live, batches)
			}
			batched := reportOf(t, runDir)
			nBatch := 0
			for _, res := range readJSONL(t, filepath.Join(runDir, rundir.ResultsFile)) {
				if res["batch"] == true {
					nBatch++
				}
			}
			if nBatch != 8 {
				t.Errorf("%d results marked batch after --no-batch, want the 8 from the batch (the 2 sent live are not)", nBatch)
			}

			// The same suite, live.
			liveDir := t.TempDir()
			batchSuite(t, liveDir, tc.provider, srv.URL+tc.base, false)
			r = rubric(t, liveDir, env, "run", "--no-cache", "--out", "runs", "suite.json")
			if r.code != 0 {
				t.Fatalf("live run: exit %d\nstderr:\n%s", r.code, r.stderr)
			}
			if want := reportOf(t, onlyRun(t, filepath.Join(liveDir, "runs"))); !reflect.DeepEqual(batched, want) {
				t.Errorf("the batch run's report differs from the live run's:\nbatch: %v\nlive:  %v", batched, want)
			}

			// --detach: submitted, exit 4; --resume collects.
			fake.Expire = nil
			detDir := t.TempDir()
			batchSuite(t, detDir, tc.provider, srv.URL+tc.base, true)
			r = rubric(t, detDir, env, "run", "--no-cache", "--detach", "--out", "runs", "suite.json")
			if r.code != 4 || !strings.Contains(r.stderr, "results pending") {
				t.Fatalf("--detach: exit %d, want 4\nstderr:\n%s", r.code, r.stderr)
			}
			detRun := onlyRun(t, filepath.Join(detDir, "runs"))
			if n := len(readJSONL(t, filepath.Join(detRun, rundir.ResultsFile))); n != 0 {
				t.Errorf("--detach recorded %d results, want none yet", n)
			}
			liveBefore, _, _ := fake.Counts()
			r = rubric(t, detDir, env, "run", "--batch-poll", "10ms", "--out", "runs", "--resume", filepath.Base(detRun))
			if r.code != 0 {
				t.Fatalf("--resume after --detach: exit %d\nstderr:\n%s", r.code, r.stderr)
			}
			if n := len(readJSONL(t, filepath.Join(detRun, rundir.ResultsFile))); n != 10 {
				t.Errorf("--resume collected %d results, want 10", n)
			}
			if liveAfter, batches, _ := fake.Counts(); liveAfter != liveBefore || batches != 2 {
				t.Errorf("--resume after --detach: %d live requests, %d batches in all; want none live, 2 batches", liveAfter-liveBefore, batches)
			}
			checkBatchKeyAbsent(t, detRun)
			if refused := fake.Refused(); len(refused) > 0 {
				t.Errorf("the fake refused: %q", refused)
			}
		})
	}
}

// onlyRun returns the one run folder under out.
func onlyRun(t *testing.T, out string) string {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(out, e.Name()))
		}
	}
	if len(dirs) != 1 {
		t.Fatalf("%s holds %d runs, want 1", out, len(dirs))
	}
	return dirs[0]
}

// reportOf is what a run's report says of its results, without what
// differs between any two runs (ids, times, latencies).
func reportOf(t *testing.T, runDir string) map[string]any {
	t.Helper()
	var rep struct {
		Complete bool `json:"complete"`
		Gate     any  `json:"gate"`
		Targets  []struct {
			Name       string `json:"name"`
			Cases      int    `json:"cases"`
			Passed     int    `json:"passed"`
			Failed     int    `json:"failed"`
			Errored    int    `json:"errored"`
			PassRate   any    `json:"pass_rate"`
			PassRateCI any    `json:"pass_rate_ci"`
			Mean       any    `json:"mean"`
			Cached     int    `json:"cached"`
			Usage      any    `json:"usage"`
			Cost       any    `json:"cost"`
			Criteria   any    `json:"criteria"`
		} `json:"targets"`
	}
	readJSON(t, filepath.Join(runDir, rundir.ReportFile), &rep)
	outs := map[string]string{}
	for _, r := range readJSONL(t, filepath.Join(runDir, rundir.ResultsFile)) {
		outs[fmt.Sprint(r["case_id"], "#", r["repeat"])] = fmt.Sprint(r["output"], "|", r["status"], "|", r["usage"])
	}
	return map[string]any{"complete": rep.Complete, "gate": rep.Gate, "targets": fmt.Sprintf("%+v", rep.Targets), "results": outs}
}

// checkBatchKeyAbsent fails when a file of the run folder holds the API key.
func checkBatchKeyAbsent(t *testing.T, runDir string) {
	t.Helper()
	filepath.WalkDir(runDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte(batchKey)) {
			t.Errorf("%s holds the API key", path)
		}
		return nil
	})
}

// TestBatchLoadProblemsE2E: batch on a provider without a batch API, or
// with stream, is invalid input: exit 2, located in the file.
func TestBatchLoadProblemsE2E(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{`{"name": "h", "provider": "http", "url": "http://127.0.0.1:9/x", "response": {"text": "a"}, "batch": true}`, `$.targets[0].batch: field does not apply to provider "http"`},
		{`{"name": "o", "provider": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1", "stream": true, "batch": true}`, `$.targets[0].batch: cannot be set with stream`},
	} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"suite.json": `{
  "name": "s",
  "messages": [{"role": "user", "content": "hi"}],
  "dataset": {"cases": [{"id": "a"}]},
  "criteria": [{"name": "any", "type": "regex", "pattern": "."}],
  "targets": [` + tc.target + `]
}`})
		r := rubric(t, dir, nil, "run", "--no-history", "--out", "runs", "suite.json")
		if r.code != 2 || !strings.Contains(r.stderr, "suite.json:6:") || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, want 2 with %q at suite.json:6\nstderr:\n%s", tc.target, r.code, tc.want, r.stderr)
		}
	}
}
