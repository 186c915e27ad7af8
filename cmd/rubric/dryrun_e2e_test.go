package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/runner/session"
)

// TestDryRunE2E runs rubric run --dry-run on examples/triage with an openai
// target pointed at a server that counts requests, and a replay target:
// nothing is sent, no run folder is made and the response cache is not
// opened; the counts are cases x repeats for each target, and the cost is
// the hand computation at the price table given with --set. The table and
// --json say the same.
func TestDryRunE2E(t *testing.T) {
	t.Parallel()
	srv := newChatServer(t, rightAnswers)
	dir := t.TempDir()
	db := filepath.Join(t.TempDir(), "cache.db")
	suite := filepath.Join(repoRoot(t), "examples", "triage", "suite.json")
	args := []string{"run", "--dry-run", suite, "-t", "candidate", "-t", "triage-v2",
		"--set", "candidate.base_url=" + srv.URL + "/v1", "--set", `candidate.price={"input": 0.5, "output": 1.5}`,
		"--repeat", "2", "--limit", "30"}

	r := rubric(t, dir, []string{"RUBRIC_DB=" + db}, append(args, "--json")...)
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("want exit 0 and nothing on stderr\n%s", r)
	}
	var plan session.Plan
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if len(plan.Suites) != 1 || len(plan.Suites[0].Targets) != 2 {
		t.Fatalf("plan %+v", plan)
	}
	sp := plan.Suites[0]
	if sp.Suite != "support-triage" || sp.Cases != 30 || sp.Repeat != 2 || sp.RenderErrors != 0 || len(sp.Judges) != 0 {
		t.Errorf("suite %+v", sp)
	}
	// The prompt tokens of the first 30 tickets, as o200k_base counts them
	// with the message framing: 142 a case on average.
	const promptTokens = 8524
	requests := 0
	for _, e := range sp.Targets {
		requests += e.Requests
		if e.Requests != 30*2 || e.PromptTokens != promptTokens*1 || e.Tokenizer != "o200k_base" {
			t.Errorf("%s: %d requests, %d prompt tokens, tokenizer %s: want 60, %d, o200k_base", e.Name, e.Requests, e.PromptTokens, e.Tokenizer, promptTokens)
		}
	}
	if requests != 30*2*2 {
		t.Errorf("%d requests in all, want cases x repeats x targets = 120", requests)
	}
	c := sp.Targets[0]
	// candidate's max_tokens is 300: 60 answers of at most 300 tokens.
	wantCost := (promptTokens*0.5 + 60*300*1.5) / 1e6 // 0.031262
	if c.Name != "candidate" || c.MaxCompletionTokens == nil || *c.MaxCompletionTokens != 60*300 ||
		c.Cost == nil || math.Abs(c.Cost.Amount-wantCost) > 1e-12 || c.Cost.Currency != "USD" || c.Cost.AtLeast {
		t.Errorf("candidate: %+v, cost %+v: want %v USD", c, c.Cost, wantCost)
	}
	if tv := sp.Targets[1]; tv.Cost != nil || tv.MaxCompletionTokens != nil {
		t.Errorf("triage-v2 has no price and no max_tokens: %+v", tv)
	}
	if len(plan.Costs) != 1 || math.Abs(plan.Costs[0].Amount-wantCost) > 1e-12 {
		t.Errorf("total cost %+v, want %v USD", plan.Costs, wantCost)
	}

	r = rubric(t, dir, []string{"RUBRIC_DB=" + db}, args...)
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("want exit 0 and nothing on stderr\n%s", r)
	}
	wantLines(t, "stdout", r.stdout,
		"support-triage ("+suite+"): 30 cases x 2 repeats, nothing sent",
		"  candidate    openai  acme-triage-v3        60           8524                  18000  0.03 USD",
		"  triage-v2    replay                        60           8524                      -         -",
		"estimated cost: 0.03 USD")

	if n := len(srv.requests()); n != 0 {
		t.Errorf("the server got %d requests", n)
	}
	checkNothingWritten(t, dir, db)
}

// checkNothingWritten fails when dir, a command's working folder, holds
// anything (a run folder), or the response cache at db exists.
func checkNothingWritten(t *testing.T, dir, db string) {
	t.Helper()
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("the working folder holds %v (%v): want nothing written", ents, err)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the response cache %s was opened (%v)", db, err)
	}
}

// TestDryRunRefuses: a dry run checks the suite as a run does, and a broken
// one exits 2 with every problem, located, and nothing written; the flags a
// dry run has no use for, and --json without it, are usage mistakes.
func TestDryRunRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(repoRoot(t), "examples", "triage")
	suite := strings.Replace(readFile(t, filepath.Join(src, "suite.json")), `"type": "equals"`, `"type": "equal"`, 1)
	suite = strings.Replace(suite, `"path": "tickets.jsonl"`, `"path": "`+filepath.Join(src, "tickets.jsonl")+`"`, 1)
	suite = strings.Replace(suite, `"schema_file": "ticket.schema.json"`, `"schema_file": "`+filepath.Join(src, "ticket.schema.json")+`"`, 1)
	broken := filepath.Join(t.TempDir(), "suite.json")
	if err := os.WriteFile(broken, []byte(strings.Replace(suite, `"targets": ["triage-v2"]`, `"targets": [{"name": "local", "provider": "replay", "path": "`+filepath.Join(src, "recordings", "triage-v2.jsonl")+`"}]`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "cache.db")
	r := rubric(t, dir, []string{"RUBRIC_DB=" + db}, "run", "--dry-run", broken)
	if r.code != exitBadInput || r.stdout != "" || r.stderr != broken+":26:15: $.criteria[1].type: got \"equal\"; did you mean \"equals\"?\nrubric: 1 problem\n" {
		t.Errorf("a broken suite: want exit 2 and the problem located\n%s", r)
	}
	checkNothingWritten(t, dir, db)

	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"run", "--json", broken}, "rubric: run: --json prints a dry run's estimates: give it with --dry-run\n"},
		{[]string{"run", "--dry-run", "--resume", "latest"}, "rubric: run: --dry-run sends nothing and writes no results: --resume has nothing to work on\n"},
		{[]string{"run", "--dry-run", broken, "--junit", "j.xml"}, "rubric: run: --dry-run sends nothing and writes no results: --junit has nothing to work on\n"},
	} {
		r := rubric(t, dir, []string{"RUBRIC_DB=" + db}, tc.args...)
		if r.code != exitBadInput || r.stderr != tc.stderr {
			t.Errorf("rubric %s: want exit 2 and\n%s%s", strings.Join(tc.args, " "), tc.stderr, r)
		}
	}
	checkNothingWritten(t, dir, db)
}

// TestDocsDryRunExample runs the dry run that docs/suite.md shows, from the
// module's root, and checks that it prints what the page says.
func TestDocsDryRunExample(t *testing.T) {
	t.Parallel()
	const command = "$ rubric run --dry-run examples/triage/suite.json -t candidate -t triage-v2 \\\n" +
		"    --set 'candidate.price={\"input\": 0.5, \"output\": 1.5}'\n"
	var shown string
	for _, b := range readDocBlocks(t, docsSuitePath) {
		if out, ok := strings.CutPrefix(b.text, command); ok {
			shown = out
		}
	}
	if shown == "" {
		t.Fatalf("docs/suite.md has no block starting with\n%s", command)
	}
	db := filepath.Join(t.TempDir(), "cache.db")
	r := rubric(t, repoRoot(t), []string{"RUBRIC_DB=" + db}, "run", "--dry-run", "examples/triage/suite.json", "-t", "candidate", "-t", "triage-v2",
		"--set", `candidate.price={"input": 0.5, "output": 1.5}`)
	if r.code != exitOK || !strings.HasPrefix(r.stdout, shown) {
		t.Errorf("docs/suite.md shows\n%s\nthe command prints\n%s", shown, r)
	}
}
