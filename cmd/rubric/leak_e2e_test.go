package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// leakLine matches a case rubric reports found in training data, and the
// first manifest line it names.
var leakLine = regexp.MustCompile(`(?m)^rubric: leak: suite support-triage: case (\S+) \((?:\S*/)?tickets\.jsonl:\d+\): ([^:]+): (\S+):(\d+) \(case (\S+) of run (\S+)\)$`)

// leaked returns, from stderr, each case reported leaked with the manifest
// line that lists it ("train.jsonl.manifest.jsonl:3").
func leaked(t *testing.T, stderr string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range leakLine.FindAllStringSubmatch(stderr, -1) {
		if m[1] != m[5] {
			t.Errorf("case %s reported from manifest line of case %s", m[1], m[5])
		}
		got[m[1]] = filepath.Base(m[3]) + ":" + m[4]
	}
	return got
}

// TestLeakGuard exports examples/triage's failures with the built binary,
// then checks the suite against the export's manifest: validate and run
// report exactly the exported cases, each with its manifest line, and exit
// 2 before anything runs; with --allow-leaks the run marks their results
// and reports the pass rate with and without them.
func TestLeakGuard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "triage"), dir)
	out := filepath.Join(dir, "runs")
	if r := rubric(t, dir, nil, "run", "suite.json", "-t", "triage-v1", "-t", "triage-v2", "--out", out, "--no-history"); r.code != exitGateFailed {
		t.Fatalf("run: %s", r)
	}
	r := rubric(t, dir, nil, "export", "latest", "--out", out, "--format", "chat", "--failed", "-t", "triage-v1", "--chosen-target", "triage-v2", "-o", "train.jsonl")
	if r.code != exitOK {
		t.Fatalf("export: %s", r)
	}
	if !strings.Contains(r.stderr, "rubric: wrote train.jsonl.manifest.jsonl (11 prompts) and train.jsonl.ngrams\n") {
		t.Errorf("export does not say it wrote the manifest:\n%s", r.stderr)
	}

	// To stdout, --manifest names the manifest; its n-grams go beside it.
	r = rubric(t, dir, nil, "export", "latest", "--out", out, "--format", "chat", "--failed", "-t", "triage-v1", "--chosen-target", "triage-v2", "--manifest", "stdout.manifest.jsonl")
	if r.code != exitOK || !strings.Contains(r.stderr, "rubric: wrote stdout.manifest.jsonl (11 prompts) and stdout.ngrams\n") {
		t.Errorf("export to stdout with --manifest:\n%s", r.stderr)
	}
	if m, err := os.ReadFile(filepath.Join(dir, "stdout.manifest.jsonl")); err != nil || strings.Count(string(m), "\n") != 12 {
		t.Errorf("stdout.manifest.jsonl: %v, %d lines; want a header and 11 prompts", err, strings.Count(string(m), "\n"))
	}

	// The manifest: a header, then a line per exported example, whose
	// cases are v1's failures that v2 passed (the examples written).
	runs, _ := os.ReadDir(out)
	runID := runs[0].Name()
	results := readJSONL(t, filepath.Join(out, runID, "results.jsonl"))
	v2passed := map[string]bool{}
	for _, res := range results {
		if res["target"] == "triage-v2" && res["status"] == "passed" {
			v2passed[res["case_id"].(string)] = true
		}
	}
	want := map[string]string{}
	lines := readJSONL(t, filepath.Join(dir, "train.jsonl.manifest.jsonl"))
	if h := lines[0]; h["rubric_manifest"] != 1.0 || h["normalization"] != "rubric-prompt/1" || h["run"] != runID || h["suite"] != "support-triage" || h["format"] != "chat" || h["ngrams"] != "train.jsonl.ngrams" {
		t.Errorf("manifest header %v", h)
	}
	for i, e := range lines[1:] {
		want[e["case"].(string)] = fmt.Sprintf("train.jsonl.manifest.jsonl:%d", i+2)
	}
	var failed []string
	for _, res := range results {
		if id := res["case_id"].(string); res["target"] == "triage-v1" && res["status"] == "failed" && v2passed[id] {
			failed = append(failed, id)
		}
	}
	if got := slices.Sorted(mapKeys(want)); len(got) != 11 || !slices.Equal(got, slices.Sorted(slices.Values(failed))) {
		t.Fatalf("the manifest lists %v; want v1's failures that v2 passed, %v", got, failed)
	}
	if n := len(readJSONL(t, filepath.Join(dir, "train.jsonl"))); n != len(want) {
		t.Errorf("train.jsonl has %d examples, the manifest %d", n, len(want))
	}

	check := func(name string, code int, args ...string) cmdResult {
		t.Helper()
		r := rubric(t, dir, nil, args...)
		if r.code != code {
			t.Fatalf("%s: want exit %d\n%s", name, code, r)
		}
		if got := leaked(t, r.stderr); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s reports %v\nwant exactly %v\n%s", name, got, want, r.stderr)
		}
		return r
	}
	r = check("validate", exitBadInput, "validate", "suite.json", "--training-manifest", "train.jsonl.manifest.jsonl")
	wantLines(t, "validate's stderr", r.stderr,
		"rubric: leak check: suite support-triage: 11 of 40 cases found in training data (11 prompts of 1 manifest)",
		"rubric: 11 cases of suite support-triage found in training data (listed above): take them out of the suite or out of the training data, or run anyway with --allow-leaks, which marks their results and reports pass rates with and without them")
	if r.stdout != "" {
		t.Errorf("validate printed %q on stdout", r.stdout)
	}
	check("run", exitBadInput, "run", "suite.json", "-t", "triage-v2", "--out", out, "--no-history", "--training-manifest", "train.jsonl.manifest.jsonl")
	if runs, _ := os.ReadDir(out); len(runs) != 1 {
		t.Errorf("a run refused for leaks wrote a run folder: %d folders", len(runs))
	}
	r = check("validate --allow-leaks --leak-ngrams", exitOK, "validate", "suite.json", "--training-manifest", "train.jsonl.manifest.jsonl", "--allow-leaks", "--leak-ngrams")
	if !strings.Contains(r.stdout, ", 11 cases found in training data (allowed)\n") {
		t.Errorf("validate's ok line: %q", r.stdout)
	}

	// --allow-leaks: the run goes on, marks the leaked cases' results and
	// gives the pass rate with and without them.
	r = check("run --allow-leaks", exitGateFailed, "run", "suite.json", "-t", "triage-v1", "--out", out, "--no-history",
		"--training-manifest", "train.jsonl.manifest.jsonl", "--allow-leaks", "--markdown", "summary.md")
	ids := runIDs(t, r.stderr)
	results, _ = runFiles(t, dir, out, ids[0])
	var marked []string
	for _, res := range results {
		if res["leaked"] == true {
			marked = append(marked, res["case_id"].(string))
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(marked)), slices.Sorted(mapKeys(want))) {
		t.Errorf("results marked leaked: %v, want %v", marked, slices.Sorted(mapKeys(want)))
	}
	var rep struct {
		LeakCheck struct {
			Manifests []string `json:"manifests"`
			Leaked    int      `json:"leaked"`
		} `json:"leak_check"`
		Targets []struct {
			PassRate float64         `json:"pass_rate"`
			Leaks    json.RawMessage `json:"leaks"`
		} `json:"targets"`
	}
	readJSON(t, filepath.Join(out, ids[0], "report.json"), &rep)
	var compact bytes.Buffer
	json.Compact(&compact, rep.Targets[0].Leaks)
	if rep.LeakCheck.Leaked != 11 || len(rep.LeakCheck.Manifests) != 1 || rep.Targets[0].PassRate != 29.0/40 ||
		compact.String() != `{"cases":11,"passed":0,"clean_cases":29,"clean_passed":29,"pass_rate":0,"clean_pass_rate":1}` {
		t.Errorf("report.json: leak_check %+v, pass rate %v, leaks %s", rep.LeakCheck, rep.Targets[0].PassRate, rep.Targets[0].Leaks)
	}
	wantLines(t, "the summary", r.stdout,
		"leak check: 11 cases found in training data (1 manifest); their results are marked leaked",
		"  triage-v1: pass rate 72.5% with them, 100.0% without them (29 of 29), 0.0% on them (0 of 11)")
	if md, _ := os.ReadFile(filepath.Join(dir, "summary.md")); !strings.Contains(string(md), "- triage-v1: pass rate 72.5% with them, 100.0% without them (29 of 29), 0.0% on them (0 of 11)\n") {
		t.Errorf("the Markdown summary lacks the pass rates:\n%s", md)
	}

	// A resumed run checks again with the options run.json keeps, and
	// marks the results it sends.
	runDir := filepath.Join(out, ids[0])
	b, err := os.ReadFile(filepath.Join(runDir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	kept := strings.SplitAfterN(string(b), "\n", 6)[:5]
	if err := os.WriteFile(filepath.Join(runDir, "results.jsonl"), []byte(strings.Join(kept, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(runDir, "report.json"))
	check("run --resume", exitGateFailed, "run", "--resume", ids[0], "--out", out, "--no-history")
	results, _ = runFiles(t, dir, out, ids[0])
	marked = marked[:0]
	for _, res := range results {
		if res["leaked"] == true {
			marked = append(marked, res["case_id"].(string))
		}
	}
	if len(results) != 40 || !slices.Equal(slices.Sorted(slices.Values(marked)), slices.Sorted(mapKeys(want))) {
		t.Errorf("resumed: %d results, marked leaked: %v, want 40 and %v", len(results), marked, slices.Sorted(mapKeys(want)))
	}

	// The project config's training_manifests, relative to its folder.
	cfg, err := os.ReadFile(filepath.Join(dir, "rubric.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfgWith := strings.Replace(string(cfg), `"targets": {`, `"training_manifests": ["train.jsonl.manifest.jsonl"], "targets": {`, 1)
	if err := os.WriteFile(filepath.Join(dir, "rubric.config.json"), []byte(cfgWith), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "elsewhere")
	os.Mkdir(sub, 0o755)
	r = rubric(t, sub, nil, "validate", "../suite.json")
	if got := leaked(t, r.stderr); r.code != exitBadInput || len(got) != 11 {
		t.Errorf("validate with the config's training_manifests: exit %d, %d cases\n%s", r.code, len(got), r.stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, "rubric.config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLeakManifestErrors: a manifest that is not one, or has a bad line,
// is exit 2 naming the file and line and what was expected.
func TestLeakManifestErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "triage"), dir)
	head := `{"rubric_manifest":1,"normalization":"rubric-prompt/1","run":"r","suite":"s","format":"chat","created":"2026-01-01T00:00:00Z"}`
	writeFiles(t, dir, map[string]string{
		"bad-line.jsonl":  head + "\n" + `{"hash":"` + strings.Repeat("0", 64) + `","case":"a","run":"r"}` + "\n" + `{"hash":"abc","case":"b","run":"r"}` + "\n",
		"not-one.jsonl":   `{"messages":[{"role":"user","content":"hi"}]}` + "\n",
		"no-ngrams.jsonl": head + "\n",
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--training-manifest", "bad-line.jsonl"}, `rubric: training manifest bad-line.jsonl:3: "hash": expected 64 lower-case hex digits (a SHA-256), got 3 characters`},
		{[]string{"--training-manifest", "not-one.jsonl"}, `rubric: training manifest not-one.jsonl:1: expected a header line {"rubric_manifest": 1, "normalization": "rubric-prompt/1", ...}: there is no "rubric_manifest" key (is this the export itself rather than its .manifest.jsonl?)`},
		{[]string{"--training-manifest", "missing.jsonl"}, `rubric: training manifest: open missing.jsonl: no such file or directory`},
		{[]string{"--training-manifest", "no-ngrams.jsonl", "--leak-ngrams"}, `rubric: training manifest: no-ngrams.jsonl:1: the header names no n-gram file ("ngrams"): --leak-ngrams needs the .ngrams file rubric export writes beside its manifest`},
		{[]string{"--training-manifest", "no-ngrams.jsonl", "--leak-ngram-threshold", "0.3"}, `rubric: validate: --leak-ngram-threshold applies to the n-gram check: add --leak-ngrams`},
		{[]string{"--training-manifest", "no-ngrams.jsonl", "--leak-ngrams", "--leak-ngram-threshold", "1.5"}, `rubric: validate: --leak-ngram-threshold must be above 0 and at most 1, got 1.5`},
	} {
		r := rubric(t, dir, nil, append([]string{"validate", "suite.json"}, tc.args...)...)
		if r.code != exitBadInput || !hasLine(r.stderr, tc.want) {
			t.Errorf("validate %v: exit %d, want 2 and the line\n%s\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
	// --allow-leaks with no manifest anywhere checks nothing, and says so.
	r := rubric(t, dir, nil, "validate", "suite.json", "--allow-leaks")
	if want := "rubric: warning: --allow-leaks and --leak-ngrams apply to the leak check, and no training manifest was given (--training-manifest) or listed in the config (training_manifests): nothing was checked"; r.code != exitOK || !hasLine(r.stderr, want) {
		t.Errorf("validate --allow-leaks without a manifest: exit %d, want 0 and\n%s\n%s", r.code, want, r.stderr)
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
