package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// The feedback loop end to end, through the binary, on the bundled triage
// example: run both recorded versions, export their failures in every
// format, review and import, rescore with changed criteria, and score a log
// of the same interactions.

// triageSuite writes a copy of the example suite to dir with absolute paths,
// its targets inline (replaying the recordings), changed by change.
func triageSuite(t *testing.T, dir string, change func(s map[string]any)) string {
	t.Helper()
	root := filepath.Join(repoRoot(t), "examples", "triage")
	var s map[string]any
	readJSON(t, filepath.Join(root, "suite.json"), &s)
	delete(s, "$schema")
	s["dataset"] = map[string]any{"path": filepath.Join(root, "tickets.jsonl")}
	for _, c := range s["criteria"].([]any) {
		if c := c.(map[string]any); c["schema_file"] != nil {
			c["schema_file"] = filepath.Join(root, c["schema_file"].(string))
		}
	}
	s["targets"] = []any{
		map[string]any{"name": "triage-v1", "provider": "replay", "path": filepath.Join(root, "recordings", "triage-v1.jsonl")},
		map[string]any{"name": "triage-v2", "provider": "replay", "path": filepath.Join(root, "recordings", "triage-v2.jsonl")},
	}
	if change != nil {
		change(s)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "suite.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// statuses maps "target/case" to the status of each result of a run.
func statuses(t *testing.T, runDir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range readJSONL(t, filepath.Join(runDir, "results.jsonl")) {
		out[fmt.Sprint(r["target"], "/", r["case_id"])] = r["status"].(string)
	}
	return out
}

// lines checks every line of a JSONL export against the format's rules and
// returns them decoded.
func exportLines(t *testing.T, format, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.SplitAfter(text, "\n") {
		if l == "" {
			continue
		}
		if err := datasets.CheckLine(format, []byte(l), nil); err != nil {
			t.Errorf("%s line does not hold to the format: %v\n%s", format, err, l)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestFeedbackLoopE2E(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	work := t.TempDir()
	out := filepath.Join(work, "runs")
	suite := triageSuite(t, work, nil)

	r := rubric(t, root, nil, "run", suite, "--out", out)
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1 (triage-v1 fails the gate)\n%s", r)
	}
	runDir := filepath.Join(out, runIDs(t, r.stderr)[0])
	st := statuses(t, runDir)
	var v1Failed []string
	for k, s := range st {
		if c, ok := strings.CutPrefix(k, "triage-v1/"); ok && s == "failed" {
			v1Failed = append(v1Failed, c)
		}
	}
	slices.Sort(v1Failed)
	if len(v1Failed) != 11 {
		t.Fatalf("triage-v1 failed %d cases, want the 11 the README shows", len(v1Failed))
	}

	t.Run("chat needs a text reference", func(t *testing.T) {
		r := rubric(t, work, nil, "export", runDir, "--format", "chat", "--failed", "--target", "triage-v1")
		if r.code != exitOK || r.stdout != "" {
			t.Fatalf("want exit 0 and no data\n%s", r)
		}
		wantLines(t, "stderr", r.stderr,
			"rubric: export chat from "+runDir+": 11 of 80 results selected; 0 written, 11 skipped",
			`  11 skipped: no reference answer: expected is an object, not text (set the suite's "reference") (first: `+v1Failed[0]+` (target triage-v1, repeat 0))`)
	})

	t.Run("chat with a reference template", func(t *testing.T) {
		dir := t.TempDir()
		withRef := triageSuite(t, dir, func(s map[string]any) { s["reference"] = "{{ expected | json }}" })
		r := rubric(t, work, nil, "export", runDir, "-f", "chat", "--criterion", "category", "--suite", withRef, "-o", filepath.Join(dir, "chat.jsonl"))
		if r.code != exitOK {
			t.Fatal(r)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "chat.jsonl"))
		ex := exportLines(t, "chat", string(b))
		// The category failures of both targets; the 2 of v2 are other cases.
		if len(ex) == 0 || !strings.Contains(r.stderr, fmt.Sprintf("; %d written, 0 skipped", len(ex))) {
			t.Errorf("wrote %d examples\n%s", len(ex), r)
		}
		msgs := ex[0]["messages"].([]any)
		if last := msgs[len(msgs)-1].(map[string]any); !strings.HasPrefix(last["content"].(string), `{"category":`) || last["role"] != "assistant" {
			t.Errorf("the assistant turn is not the reference: %v", last)
		}
		if first := msgs[0].(map[string]any); first["role"] != "system" || !strings.HasPrefix(first["content"].(string), "You triage support tickets") {
			t.Errorf("the first message is not the suite's system message: %v", first)
		}
	})

	t.Run("preference pairs against the other target", func(t *testing.T) {
		for _, format := range []string{"preference-trl", "preference-openai"} {
			r := rubric(t, work, nil, "export", runDir, "--format", format, "--failed", "--target", "triage-v1", "--chosen-target", "triage-v2", "-o", "-")
			if r.code != exitOK {
				t.Fatal(r)
			}
			pairs := exportLines(t, format, r.stdout)
			if len(pairs) != 11 {
				t.Errorf("%s: %d pairs, want one per v1 failure (v2 passes all of them)\n%s", format, len(pairs), r.stderr)
			}
			// To stdout, an export has no manifest unless --manifest names one.
			if !strings.HasSuffix(r.stderr, "11 of 80 results selected; 11 written, 0 skipped\nrubric: no manifest of the exported prompts: the export went to stdout; give --manifest FILE for one (see docs/leakage.md)\n") {
				t.Errorf("stderr:\n%s", r.stderr)
			}
		}
	})

	t.Run("regressions against a baseline run", func(t *testing.T) {
		r := rubric(t, work, nil, "export", runDir, "--format", "review-jsonl", "--target", "triage-v1",
			"--regressed", runDir, "--baseline-target", "triage-v2")
		if r.code != exitOK {
			t.Fatal(r)
		}
		var got []string
		for _, row := range exportLines(t, "review-jsonl", r.stdout) {
			got = append(got, row["case_id"].(string))
		}
		var want []string
		for _, c := range v1Failed {
			if st["triage-v2/"+c] == "passed" {
				want = append(want, c)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("regressions %v, want %v", got, want)
		}
	})

	t.Run("review round trip", func(t *testing.T) {
		dir := t.TempDir()
		sheet := filepath.Join(dir, "review.csv")
		r := rubric(t, work, nil, "export", runDir, "--format", "review-csv", "--failed", "-t", "triage-v1", "--output", sheet)
		if r.code != exitOK || r.stdout != "" || !strings.HasSuffix(r.stderr, "rubric: wrote "+sheet+"\n") {
			t.Fatal(r)
		}
		f, err := os.Open(sheet)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 12 {
			t.Fatalf("the sheet has %d rows, want a header and 11", len(recs))
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for _, c := range []string{"prompt", "response", "expected", "schema.score", "schema.reason", "empathy.reason", "verdict", "corrected"} {
			if _, ok := col[c]; !ok {
				t.Errorf("the sheet has no column %s: %v", c, recs[0])
			}
		}
		// The reviewer rejects the first, corrects the second, accepts the
		// third and leaves the rest.
		recs[1][col["verdict"]] = "reject"
		fixed := `{"category": "feature_request", "priority": "low", "reply": "Thanks for the idea, Tomasz!"}`
		recs[2][col["corrected"]] = fixed
		recs[3][col["verdict"]] = "accept"
		var b bytes.Buffer
		csv.NewWriter(&b).WriteAll(recs)
		reviewed := filepath.Join(dir, "reviewed.csv")
		if err := os.WriteFile(reviewed, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		cases := filepath.Join(dir, "cases.jsonl")
		r = rubric(t, work, nil, "import-review", reviewed, "--out", cases)
		if r.code != exitOK {
			t.Fatal(r)
		}
		wantLines(t, "stderr", r.stderr, "rubric: import-review "+reviewed+": 2 of 11 rows written as cases (1 with a corrected answer); left out: 1 rejected, 8 not reviewed")
		imported := readJSONL(t, cases)
		if len(imported) != 2 || imported[0]["id"] != recs[2][col["case_id"]] || imported[1]["id"] != recs[3][col["case_id"]] {
			t.Fatalf("imported %v", imported)
		}
		if got := imported[0]["expected"].(map[string]any)["reply"]; got != "Thanks for the idea, Tomasz!" {
			t.Errorf("the corrected answer is not the expected value: %v", imported[0])
		}
		// The dataset loads in a suite as it is.
		reSuite := triageSuite(t, dir, func(s map[string]any) { s["dataset"] = map[string]any{"path": "cases.jsonl"} })
		r = rubric(t, dir, nil, "validate", reSuite)
		if r.code != exitOK || r.stdout != "ok  "+reSuite+": 2 cases, 4 criteria, 2 targets\n" {
			t.Fatalf("validate\n%s", r)
		}
		r = rubric(t, dir, nil, "run", reSuite, "--target", "triage-v2", "--out", filepath.Join(dir, "runs"))
		if r.code != exitOK && r.code != exitGateFailed {
			t.Fatal(r)
		}
		if row := tableRow(t, r.stdout, "triage-v2"); row[1] != "2" {
			t.Errorf("the run over the imported cases: %v", row)
		}
	})

	t.Run("rescore with changed criteria", func(t *testing.T) {
		// Without the empathy criterion, the v1 failures that only empathy
		// caused pass.
		onlyEmpathy := 0
		for _, res := range readJSONL(t, filepath.Join(runDir, "results.jsonl")) {
			if res["target"] != "triage-v1" || res["status"] != "failed" {
				continue
			}
			var failing []string
			for _, s := range res["scores"].([]any) {
				if s := s.(map[string]any); s["pass"] != true {
					failing = append(failing, s["name"].(string))
				}
			}
			if slices.Equal(failing, []string{"empathy"}) {
				onlyEmpathy++
			}
		}
		if onlyEmpathy == 0 {
			t.Fatal("no v1 case fails on empathy alone: the example changed")
		}
		dir := t.TempDir()
		noEmpathy := triageSuite(t, dir, func(s map[string]any) {
			cs := s["criteria"].([]any)
			s["criteria"] = slices.DeleteFunc(cs, func(c any) bool { return c.(map[string]any)["name"] == "empathy" })
		})
		r := rubric(t, work, nil, "score", noEmpathy, "--run", runDir, "--out", out)
		if r.code != exitGateFailed {
			t.Fatalf("want exit 1: v1 still fails the gate\n%s", r)
		}
		if !strings.HasPrefix(r.stderr, "rubric: run ") || !strings.Contains(r.stderr, "rescoring run "+runDir) {
			t.Errorf("stderr:\n%s", r.stderr)
		}
		rescored := filepath.Join(out, runIDs(t, r.stderr)[0])
		results, rep := runFiles(t, "", out, filepath.Base(rescored))
		if len(results) != 80 || !rep.Complete {
			t.Fatalf("%d results, complete %v", len(results), rep.Complete)
		}
		if got, want := rep.Targets[0].Passed, 29+onlyEmpathy; rep.Targets[0].Name != "triage-v1" || got != want {
			t.Errorf("v1 passed %d after the rescore, want %d", got, want)
		}
		for _, res := range results {
			if n := len(res["scores"].([]any)); n != 3 {
				t.Errorf("%v has %d scores, want 3", res["case_id"], n)
			}
			if res["request"] == nil || res["output"] == "" {
				t.Errorf("%v lost its request or output", res["case_id"])
			}
		}
		// The same criteria give the same verdicts.
		r = rubric(t, work, nil, "score", suite, "--run", runDir, "--out", out)
		if same := statuses(t, filepath.Join(out, runIDs(t, r.stderr)[0])); !mapsEqual(same, st) {
			t.Errorf("rescoring with the same suite changed verdicts:\n%v\nwant\n%v", same, st)
		}
		// A rescored run is a run like any other: export reads it.
		r = rubric(t, work, nil, "export", rescored, "-f", "review-jsonl", "--failed", "-t", "triage-v1")
		if len(exportLines(t, "review-jsonl", r.stdout)) != 11-onlyEmpathy {
			t.Errorf("export of the rescored run:\n%s", r)
		}
	})

	t.Run("score a log", func(t *testing.T) {
		dir := t.TempDir()
		log := filepath.Join(dir, "prod-traffic.jsonl")
		writeTriageLog(t, log)
		logRuns := filepath.Join(dir, "runs")
		r := rubric(t, dir, nil, "score", suite, log, "--preset", "openai", "--map", "id=trace_id", "--map", "expected=label", "--out", logRuns)
		if r.code != exitGateFailed {
			t.Fatalf("want exit 1: the logged answers are v1's\n%s", r)
		}
		id := runIDs(t, r.stderr)[0]
		got := statuses(t, filepath.Join(logRuns, id))
		for k, s := range st {
			if c, ok := strings.CutPrefix(k, "triage-v1/"); ok && got["prod-traffic/"+c] != s {
				t.Errorf("%s: %s from the log, %s in the run", c, got["prod-traffic/"+c], s)
			}
		}
		if row := tableRow(t, r.stdout, "prod-traffic"); row[1] != "40" || row[2] != "29" {
			t.Errorf("table row %v", row)
		}
		var m rundir.Manifest
		readJSON(t, filepath.Join(logRuns, id, "run.json"), &m)
		if m.Kind != rundir.KindScore || m.Source != log || !strings.Contains(m.Mapping, "expected=label") {
			t.Errorf("run.json %+v", m)
		}
		r = rubric(t, dir, nil, "run", "--resume", id, "--out", logRuns)
		if r.code != exitBadInput || !strings.Contains(r.stderr, "written by rubric score") {
			t.Errorf("resuming a score run\n%s", r)
		}
		// The log's review sheet has the prompt as logged.
		r = rubric(t, dir, nil, "export", id, "--out", logRuns, "-f", "review-jsonl", "--failed")
		rows := exportLines(t, "review-jsonl", r.stdout)
		if len(rows) != 11 || rows[0]["prompt"].([]any)[0].(map[string]any)["role"] != "user" {
			t.Errorf("review of the log run:\n%s", r)
		}

		// A mapped field missing from a line: exit 2, file:line and path,
		// nothing kept; with --skip-invalid the line is counted.
		bad := filepath.Join(dir, "bad.jsonl")
		b, _ := os.ReadFile(log)
		lines := strings.SplitAfter(string(b), "\n")
		lines[2] = `{"trace_id": "T-x", "request": {"messages": [{"role": "user", "content": "hi"}]}, "response": {"choices": []}, "label": "x"}` + "\n"
		os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644)
		badRuns := filepath.Join(dir, "bad-runs")
		r = rubric(t, dir, nil, "score", suite, bad, "--preset", "openai", "--map", "id=trace_id", "--map", "expected=label", "--out", badRuns)
		want := "rubric: " + bad + `:3: output (mapped from response.choices.0.message.content): no element "response.choices.0": "response.choices" is an array of 0 (nothing kept; fix the line, or add --skip-invalid to skip such lines)`
		if r.code != exitBadInput || !hasLine(r.stderr, want) {
			t.Errorf("want exit 2 and\n%s\n%s", want, r)
		}
		if entries, _ := os.ReadDir(badRuns); len(entries) != 0 {
			t.Errorf("a run folder was kept: %v", entries)
		}
		r = rubric(t, dir, nil, "score", suite, bad, "--preset", "openai", "--map", "id=trace_id", "--map", "expected=label", "--out", badRuns, "--skip-invalid")
		if r.code != exitGateFailed || !hasLine(r.stderr, "rubric: skipped 1 line of the log:") {
			t.Errorf("with --skip-invalid\n%s", r)
		}
		if row := tableRow(t, r.stdout, "bad"); row[1] != "39" {
			t.Errorf("table row %v", row)
		}
	})

	t.Run("score a log of variables, rendered by the suite", func(t *testing.T) {
		dir := t.TempDir()
		b := triageLog(t, func(rec, c map[string]any) any {
			return map[string]any{"id": c["id"], "v": c["vars"], "out": rec["output"], "label": c["expected"]}
		})
		log := filepath.Join(dir, "vars.jsonl")
		os.WriteFile(log, b.Bytes(), 0o644)
		args := []string{"score", suite, log, "--preset", "none", "--map", "id=id", "--map", "vars=v", "--map", "output=out", "--map", "expected=label", "--out", filepath.Join(dir, "runs")}
		r := rubric(t, dir, nil, args...)
		if r.code != exitGateFailed {
			t.Fatal(r)
		}
		logRun := filepath.Join(dir, "runs", runIDs(t, r.stderr)[0])
		got := statuses(t, logRun)
		for k, s := range st {
			if c, ok := strings.CutPrefix(k, "triage-v1/"); ok && got["vars/"+c] != s {
				t.Errorf("%s: %s from the log, %s in the run", c, got["vars/"+c], s)
			}
		}
		// The prompt is the suite's, rendered: the same as the run sent.
		sent := map[string]string{}
		for _, res := range readJSONL(t, filepath.Join(logRun, "results.jsonl")) {
			msgs, _ := json.Marshal(res["request"].(map[string]any)["body"].(map[string]any)["messages"])
			sent[res["case_id"].(string)] = string(msgs)
		}
		for _, res := range readJSONL(t, filepath.Join(runDir, "results.jsonl")) {
			if res["target"] != "triage-v1" {
				continue
			}
			msgs, _ := json.Marshal(res["request"].(map[string]any)["body"].(map[string]any)["messages"])
			if sent[res["case_id"].(string)] != string(msgs) {
				t.Errorf("%v: prompt rendered from the log's variables differs from the run's:\n%s\n%s", res["case_id"], sent[res["case_id"].(string)], msgs)
			}
		}
		// A line without a variable the prompt uses.
		lines := strings.SplitAfter(b.String(), "\n")
		lines[4] = `{"id": "T-x", "v": {"ticket": "t", "customer": "c"}, "out": "o", "label": {}}` + "\n"
		os.WriteFile(log, []byte(strings.Join(lines, "")), 0o644)
		r = rubric(t, dir, nil, args...)
		want := "rubric: " + log + `:5: the suite's prompt does not render: messages[1]: variable "plan" is not defined for this case (nothing kept; fix the line, or add --skip-invalid to skip such lines)`
		if r.code != exitBadInput || !hasLine(r.stderr, want) {
			t.Errorf("want exit 2 and\n%s\n%s", want, r)
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// writeTriageLog writes triage-v1's recorded answers as a log of OpenAI
// requests and responses, as a gateway would capture them: a trace id, the
// request, the response, and a label from a later review.
func writeTriageLog(t *testing.T, path string) {
	t.Helper()
	b := triageLog(t, func(rec, c map[string]any) any {
		vars := c["vars"].(map[string]any)
		return map[string]any{
			"trace_id": rec["case_id"],
			"request": map[string]any{"model": "triage-v1", "messages": []any{
				map[string]any{"role": "user", "content": fmt.Sprintf("Customer: %s (plan: %s)\n\n%s", vars["customer"], vars["plan"], vars["ticket"])},
			}},
			"response": map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": rec["output"]}}}, "usage": rec["usage"]},
			"label":    c["expected"],
		}
	})
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// triageLog writes a log line for each of triage-v1's recordings: line
// builds it from the recording and its ticket.
func triageLog(t *testing.T, line func(rec, ticket map[string]any) any) *bytes.Buffer {
	t.Helper()
	root := filepath.Join(repoRoot(t), "examples", "triage")
	tickets := map[string]map[string]any{}
	for _, c := range readJSONL(t, filepath.Join(root, "tickets.jsonl")) {
		tickets[c["id"].(string)] = c
	}
	var b bytes.Buffer
	for _, rec := range readJSONL(t, filepath.Join(root, "recordings", "triage-v1.jsonl")) {
		l, err := json.Marshal(line(rec, tickets[rec["case_id"].(string)]))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(l, '\n'))
	}
	return &b
}
