package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMaxCostE2E runs 20 cases against a server whose every answer costs
// 0.04 at the target's price table (30 prompt tokens at 1000 and 5
// completion tokens at 2000 per million), with --max-cost 0.2: dispatch
// stops once the fifth result comes, the requests in flight (concurrency
// 2) finish and are kept, and the run exits 3 saying what was spent and how to
// go on. run.json keeps the limit: a resume without --max-cost stops at once,
// sending nothing; one with a higher limit sends exactly the cases left and
// passes.
func TestMaxCostE2E(t *testing.T) {
	t.Parallel()
	right := func(id string) (int, string) {
		if labels[id] == "" {
			return http.StatusOK, labelJSON("billing") // the label of c11 to c20
		}
		return rightAnswers(id)
	}
	srv := newChatServer(t, right, func(s *chatServer) { s.delay = 20 * time.Millisecond })
	dir := t.TempDir()
	env := []string{"RUBRIC_E2E_KEY=" + e2eKey, "RUBRIC_DB=" + filepath.Join(t.TempDir(), "cache.db")}
	path := writeOpenAISuite(t, dir, srv.URL, 20, 2, "pass_rate >= 0.9", `"price": {"input": 1000, "output": 2000, "currency": "EUR"},`)

	r := rubric(t, dir, env, "run", path, "--out", "runs", "--max-cost", "0.2")
	if r.code != exitIncomplete {
		t.Fatalf("want exit 3\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	results := filepath.Join(dir, "runs", id, "results.jsonl")
	kept := countLines(results)
	sent := len(srv.requests())
	// Past the fifth, the requests in flight (2) finish, and so may those
	// that workers started before the collector read the fifth (2 at most,
	// as requests take 20 ms and reading one takes microseconds).
	if kept < 5 || kept > 5+2+2 || kept != sent {
		t.Errorf("%d results kept, %d requests sent: want 5 to 9 of each, the same", kept, sent)
	}
	want := fmt.Sprintf("rubric: run %s stopped at --max-cost 0.2 EUR: the calls made cost %.4f EUR; %d of 20 results completed; to go on, resume with a higher limit: rubric run --resume %s --out runs --max-cost AMOUNT\n",
		id, 0.04*float64(kept), kept, id)
	if !strings.HasSuffix(r.stderr, want) {
		t.Errorf("stderr does not end with\n%s%s", want, r)
	}
	var rep struct {
		Complete    bool `json:"complete"`
		Interrupted bool `json:"interrupted"`
	}
	readJSON(t, filepath.Join(dir, "runs", id, "report.json"), &rep)
	var m struct {
		MaxCost float64 `json:"max_cost"`
	}
	readJSON(t, filepath.Join(dir, "runs", id, "run.json"), &m)
	if rep.Complete || !rep.Interrupted || m.MaxCost != 0.2 {
		t.Errorf("report.json complete %v, interrupted %v; run.json max_cost %v", rep.Complete, rep.Interrupted, m.MaxCost)
	}

	// The limit is kept, and so is what was spent: nothing more is sent.
	r = rubric(t, dir, env, "run", "--resume", id, "--out", "runs")
	if r.code != exitIncomplete || !strings.Contains(r.stderr, "stopped at --max-cost 0.2 EUR") || len(srv.requests()) != sent || countLines(results) != kept {
		t.Errorf("resume within the limit spent: want exit 3 and nothing sent (%d requests, %d results)\n%s", len(srv.requests()), countLines(results), r)
	}

	r = rubric(t, dir, env, "run", "--resume", id, "--out", "runs", "--max-cost", "10")
	if r.code != exitOK {
		t.Fatalf("resume with a higher limit: want exit 0\n%s", r)
	}
	if n, sent := countLines(results), len(srv.requests()); n != 20 || sent != 20 {
		t.Errorf("after the resume: %d results, %d requests: want 20 of each", n, sent)
	}
	seen := map[string]bool{}
	for _, res := range readJSONL(t, results) {
		id := res["case_id"].(string)
		if seen[id] {
			t.Errorf("case %s recorded twice", id)
		}
		seen[id] = true
	}
}

// TestMaxCostRefuses: a cost limit the run cannot keep to exits 2 before
// anything is sent, in a run and a dry run alike: a target without a price
// table, price tables in two currencies, a negative limit. A judge without
// one is a warning.
func TestMaxCostRefuses(t *testing.T) {
	t.Parallel()
	srv := newChatServer(t, rightAnswers)
	dir := t.TempDir()
	env := []string{"RUBRIC_E2E_KEY=" + e2eKey, "RUBRIC_DB=" + filepath.Join(t.TempDir(), "cache.db")}
	target := func(name, price string) string {
		return fmt.Sprintf(`{"name": %q, "provider": "openai", "base_url": %q, "model": "m", %s "timeout": "10s"}`, name, srv.URL+"/v1", price)
	}
	suite := func(targets, judgePrice string) string {
		return `{"name": "s", "messages": [{"role": "user", "content": "Ticket {{ id }}: hi"}],
  "dataset": {"cases": [{"id": "c1"}]},
  "criteria": [{"name": "j", "type": "judge", "judge": ` + target("judge", judgePrice) + `, "rubric": "{{ output }}"}],
  "targets": [` + targets + `]}`
	}
	usd, eur := `"price": {"input": 1, "output": 1},`, `"price": {"input": 1, "output": 1, "currency": "EUR"},`
	writeFiles(t, dir, map[string]string{
		"noprice.json":  suite(target("a", usd)+", "+target("b", ""), usd),
		"mixed.json":    suite(target("a", usd)+", "+target("b", eur), usd),
		"judgeeur.json": suite(target("a", usd), eur),
		"nojudge.json":  suite(target("a", usd), ""),
	})
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"noprice.json"}, exitBadInput, `rubric: --max-cost counts what calls cost at the targets' price tables: target "b" has none; give it "price": {"input": ..., "output": ...} (0 for a free one), or run without --max-cost` + "\n"},
		{[]string{"mixed.json"}, exitBadInput, "rubric: --max-cost adds up costs in one currency: target a is priced in USD, target b in EUR\n"},
		{[]string{"judgeeur.json"}, exitBadInput, "rubric: --max-cost adds up costs in one currency: target a is priced in USD, judge judge in EUR\n"},
		{[]string{"nojudge.json", "--dry-run"}, exitOK, "rubric: warning: --max-cost: judge judge has no price table: its calls are not counted\n"},
	} {
		for _, dry := range []bool{false, true} {
			args := append([]string{"run", "--out", "runs", "--max-cost", "1"}, tc.args...)
			if dry && tc.code != exitOK {
				args = append(args, "--dry-run")
			}
			r := rubric(t, dir, env, args...)
			if r.code != tc.code || r.stderr != tc.stderr {
				t.Errorf("rubric %s: want exit %d and\n%s%s", strings.Join(args, " "), tc.code, tc.stderr, r)
			}
		}
	}
	r := rubric(t, dir, env, "run", "nojudge.json", "--max-cost", "-1")
	if r.code != exitBadInput || r.stderr != "rubric: run: --max-cost must be 0 (no limit) or more, got -1\n" {
		t.Errorf("a negative limit: want exit 2\n%s", r)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "runs")); !os.IsNotExist(err) {
		t.Errorf("a run folder was made (%v)", err)
	}
}
