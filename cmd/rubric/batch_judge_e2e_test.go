package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/runner/provider/batchfake"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// judgeMark is in every judge's prompt of batchJudgeSuite, and in no
// answer's request.
const judgeMark = "Grade this answer"

// batchJudgeSuite is a suite of ten cases whose answer echoes the input,
// sent to the target cand (batching when targetBatch), scored by the judge
// grader of the project config (batching when judgeBatch), all at base.
// Cases 3 and 7 carry the word LATE.
func batchJudgeSuite(t *testing.T, dir, base string, targetBatch, judgeBatch bool) {
	t.Helper()
	var cases []string
	for i := range 10 {
		word := fmt.Sprintf("word%d", i)
		if i == 3 || i == 7 {
			word += " LATE"
		}
		cases = append(cases, fmt.Sprintf(`{"id": "case %d/ü", "vars": {"q": %q}, "expected": "word%d"}`, i, word, i))
	}
	writeFiles(t, dir, map[string]string{
		"rubric.config.json": fmt.Sprintf(`{"targets": {"grader": {"provider": "openai", "model": "judge-1", "base_url": %q, "api_key_env": "BATCH_KEY", "batch": %v}}}`, base, judgeBatch),
		"suite.json": fmt.Sprintf(`{
  "name": "judged",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [%s]},
  "criteria": [
    {"name": "has", "type": "contains"},
    {"name": "graded", "type": "judge", "judge": "grader", "rubric": %q}
  ],
  "targets": [{"name": "cand", "provider": "openai", "model": "m-1", "base_url": %q, "api_key_env": "BATCH_KEY", "batch": %v}],
  "gate": ["pass_rate >= 0.5"]
}`, strings.Join(cases, ",\n"), judgeMark+": {{ output }}", base, targetBatch)})
}

// judgeFake is the fake of batchJudgeSuite: the judge says Y but for the
// answer of case 5, and its requests about the LATE cases expire.
func judgeFake() *batchfake.Server {
	fake := batchfake.New()
	fake.Key = batchKey
	fake.Polls = 1
	fake.Answer = func(body []byte) string {
		if !bytes.Contains(body, []byte(judgeMark)) {
			return batchfake.LastUser(body)
		}
		if bytes.Contains(body, []byte("word5")) {
			return "It is wrong.\nVERDICT: N"
		}
		return "Fine.\nVERDICT: Y"
	}
	fake.Expire = func(b []byte) bool {
		return bytes.Contains(b, []byte(judgeMark)) && bytes.Contains(b, []byte("LATE"))
	}
	return fake
}

// TestBatchJudgesE2E: target and judge both batch: the answers go in a
// batch, then the judge's requests in a second one, which expires two: the
// run exits 3 with the eight cases it could score; --resume --no-batch
// sends only those two judge requests live, and the report is then the
// report of a run with live judges, field for field. --detach exits 4 in
// the judges' phase as in the answers'; and live answers with batched
// judges are each sent once.
func TestBatchJudgesE2E(t *testing.T) {
	fake := judgeFake()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	base := srv.URL + "/v1"
	env := []string{"BATCH_KEY=" + batchKey, "RUBRIC_DB=" + filepath.Join(t.TempDir(), "rubric.db"), "RUBRIC_NO_HISTORY=1"}

	// The same suite, all live, first: what the batched run must equal.
	liveDir := t.TempDir()
	batchJudgeSuite(t, liveDir, base, false, false)
	r := rubric(t, liveDir, env, "run", "--no-cache", "--out", "runs", "suite.json")
	if r.code != 0 {
		t.Fatalf("live run: exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
	}
	want := judgedRun(t, onlyRun(t, filepath.Join(liveDir, "runs")))
	liveAll, batchesAll, _ := fake.Counts()
	if liveAll != 20 || batchesAll != 0 {
		t.Fatalf("the live run sent %d live requests and %d batches; want 20, 0", liveAll, batchesAll)
	}

	dir := t.TempDir()
	batchJudgeSuite(t, dir, base, true, true)
	r = rubric(t, dir, env, "run", "--no-cache", "--batch-poll", "10ms", "--out", "runs", "suite.json")
	if r.code != 3 {
		t.Fatalf("batch run: exit %d, want 3\nstderr:\n%s", r.code, r.stderr)
	}
	for _, w := range []string{"2 requests got no answer from their batch (2 expired)", "--resume", "--no-batch", "judge grader: submitted batch"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	live, batches, reqs := fake.Counts()
	if live-liveAll != 0 || batches != 2 || reqs != 20 {
		t.Fatalf("after the batch run: %d live requests, %d batches of %d requests; want 0, 2 (answers, judges), 20", live-liveAll, batches, reqs)
	}
	runDir := onlyRun(t, filepath.Join(dir, "runs"))
	if n := len(readJSONL(t, filepath.Join(runDir, rundir.ResultsFile))); n != 8 {
		t.Fatalf("journal has %d results, want the 8 whose judge answered", n)
	}
	m, err := rundir.ReadManifest(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Batches) != 2 || m.Batches[0].Phase != "answers" || m.Batches[0].Target != "cand" ||
		m.Batches[1].Phase != "judges" || m.Batches[1].Target != "grader" || m.Batches[1].Answered != 8 || !m.Batches[1].Collected {
		t.Errorf("run.json batches = %+v", m.Batches)
	}
	checkBatchKeyAbsent(t, runDir)

	r = rubric(t, dir, env, "run", "--no-cache", "--out", "runs", "--resume", filepath.Base(runDir), "--no-batch")
	if r.code != 0 {
		t.Fatalf("--resume --no-batch: exit %d, want the live run's 0\nstderr:\n%s", r.code, r.stderr)
	}
	live, batches, _ = fake.Counts()
	if live-liveAll != 2 || batches != 2 {
		t.Fatalf("--resume --no-batch sent %d live requests and made %d batches in all; want the 2 unanswered judge requests live, no new batch", live-liveAll, batches)
	}
	if got := judgedRun(t, runDir); !reflect.DeepEqual(got, want) {
		t.Errorf("the report with batched judges differs from the live run's:\nbatch: %v\nlive:  %v", got, want)
	}

	// --detach in either phase exits 4; --resume then goes on.
	fake.Expire, fake.Polls = nil, 0
	detDir := t.TempDir()
	batchJudgeSuite(t, detDir, base, true, true)
	liveBefore, batchesBefore, _ := fake.Counts()
	r = rubric(t, detDir, env, "run", "--no-cache", "--detach", "--out", "runs", "suite.json")
	if r.code != 4 || !strings.Contains(r.stderr, "10 requests in batches, results pending") {
		t.Fatalf("--detach: exit %d, want 4\nstderr:\n%s", r.code, r.stderr)
	}
	detRun := onlyRun(t, filepath.Join(detDir, "runs"))
	r = rubric(t, detDir, env, "run", "--detach", "--out", "runs", "--resume", filepath.Base(detRun))
	if r.code != 4 || !strings.Contains(r.stderr, "judge grader: submitted batch") {
		t.Fatalf("--resume --detach, the answers in: exit %d, want 4 with the judges' batch submitted\nstderr:\n%s", r.code, r.stderr)
	}
	if n := len(readJSONL(t, filepath.Join(detRun, rundir.ResultsFile))); n != 0 {
		t.Errorf("the judges' batch pending, %d results recorded; want none", n)
	}
	r = rubric(t, detDir, env, "run", "--batch-poll", "10ms", "--out", "runs", "--resume", filepath.Base(detRun))
	if r.code != 0 {
		t.Fatalf("--resume: exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
	}
	if live, batches, _ := fake.Counts(); live != liveBefore || batches != batchesBefore+2 {
		t.Errorf("detached run: %d live requests, %d batches; want none live, 2 batches", live-liveBefore, batches-batchesBefore)
	}
	if got := judgedRun(t, detRun); !reflect.DeepEqual(got, want) {
		t.Errorf("the detached run's report differs from the live run's:\nbatch: %v\nlive:  %v", got, want)
	}

	// Answers live, judges batched: each answer is sent once.
	mixDir := t.TempDir()
	batchJudgeSuite(t, mixDir, base, false, true)
	liveBefore, batchesBefore, reqsBefore := fake.Counts()
	r = rubric(t, mixDir, env, "run", "--no-cache", "--batch-poll", "10ms", "--out", "runs", "suite.json")
	if r.code != 0 {
		t.Fatalf("live answers, batched judges: exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
	}
	if live, batches, reqs := fake.Counts(); live-liveBefore != 10 || batches-batchesBefore != 1 || reqs-reqsBefore != 10 {
		t.Errorf("live answers, batched judges: %d live requests, %d batches of %d requests; want the 10 answers live once, 1 batch of 10 judge requests", live-liveBefore, batches-batchesBefore, reqs-reqsBefore)
	}
	if got := judgedRun(t, onlyRun(t, filepath.Join(mixDir, "runs"))); !reflect.DeepEqual(got, want) {
		t.Errorf("the report of live answers with batched judges differs from the live run's:\nbatch: %v\nlive:  %v", got, want)
	}
	if refused := fake.Refused(); len(refused) > 0 {
		t.Errorf("the fake refused: %q", refused)
	}
}

// judgedRun is a run's report.json, every field, without those that
// differ between any two runs (its id, times, latencies, the run folder),
// and its results without ids and times.
func judgedRun(t *testing.T, runDir string) map[string]any {
	t.Helper()
	var rep map[string]any
	readJSON(t, filepath.Join(runDir, rundir.ReportFile), &rep)
	strip(rep)
	results := map[string]any{}
	for _, r := range readJSONL(t, filepath.Join(runDir, rundir.ResultsFile)) {
		strip(r)
		results[fmt.Sprint(r["case_id"], "#", r["repeat"])] = r
	}
	return map[string]any{"report": rep, "results": results}
}

// strip deletes, at every depth, the fields that differ between runs, and
// batch, which marks the answers that came from a batch.
func strip(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "run_id" || k == "batch" || k == "started" || k == "finished" || k == "duration_ms" || k == "suite_path" || strings.Contains(k, "latency") || strings.Contains(k, "time") {
				delete(v, k)
				continue
			}
			strip(x)
		}
	case []any:
		for _, x := range v {
			strip(x)
		}
	}
}
