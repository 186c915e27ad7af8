package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The end-to-end test of the exec provider runs the test binary itself as
// the model: with execModelEnv set, it is a model for protocol "lines"
// (execModelMain), before any test starts.
const (
	execModelEnv = "RUBRIC_EXEC_E2E_MODEL"
	// execSentinel is a credential in rubric's environment, under a name
	// that says so: the model must not get it, and it may appear nowhere.
	execSentinelVar = "RUBRIC_SENTINEL_API_KEY"
	execSentinel    = "sk-sentinel-exec-0123456789abcdef"
	// execFailCase is the case on which the model fails, saying its key.
	execFailCase = "T-1040"
)

func init() {
	if os.Getenv(execModelEnv) != "" {
		os.Exit(execModelMain())
	}
}

// execModelMain answers each request line with the recording of
// triage-v2 for its case, read from the file $RECORDINGS, and logs what it
// read, byte for byte, and its environment, in $LOGDIR. On execFailCase it
// says on stderr the key it was given, and exits 5.
func execModelMain() int {
	outputs := map[string]string{}
	f, err := os.Open(os.Getenv("RECORDINGS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			CaseID string `json:"case_id"`
			Output string `json:"output"`
		}
		json.Unmarshal(sc.Bytes(), &rec)
		outputs[rec.CaseID] = rec.Output
	}
	f.Close()
	prefix := filepath.Join(os.Getenv("LOGDIR"), strconv.Itoa(os.Getpid()))
	os.WriteFile(prefix+".env", []byte(strings.Join(os.Environ(), "\n")), 0o644)
	log, err := os.Create(prefix + ".stdin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer log.Close()
	in := bufio.NewReader(os.Stdin)
	for {
		line, err := in.ReadBytes('\n')
		if err != nil {
			return 0 // the end of stdin: rubric is done
		}
		log.Write(line)
		var req struct {
			CaseID string `json:"case_id"`
		}
		json.Unmarshal(line, &req)
		if req.CaseID == execFailCase {
			fmt.Fprintf(os.Stderr, "no model for %s; my key: %q\n", req.CaseID, os.Getenv(execSentinelVar))
			return 5
		}
		answer, _ := json.Marshal(map[string]any{
			"text":   outputs[req.CaseID],
			"usage":  map[string]int{"prompt_tokens": len(line) / 4, "completion_tokens": len(outputs[req.CaseID]) / 4},
			"finish": "stop",
		})
		os.Stdout.Write(append(answer, '\n'))
	}
}

// TestExecProviderE2E runs the triage example's criteria against a model
// that is a local command (the exec provider, protocol "lines"): every
// request reaches the command as the documented stdin document, byte for
// byte, and is recorded so; its answers are scored as the recording it
// serves; the case it fails is an error of kind exec quoting its stderr.
// A second run answers from the cache without running the command, but
// for the error; a replay of the first run's results scores the same. The
// sentinel credential in rubric's environment reaches neither the command
// nor any output, run folder or cache entry.
func TestExecProviderE2E(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	dir, logDir, cacheDir := t.TempDir(), t.TempDir(), t.TempDir()
	model, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tickets.jsonl", "ticket.schema.json"} {
		b, err := os.ReadFile(filepath.Join(root, "examples", "triage", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	recordings := filepath.Join(root, "examples", "triage", "recordings", "triage-v2.jsonl")
	var suite map[string]any
	readJSON(t, filepath.Join(root, "examples", "triage", "suite.json"), &suite)
	delete(suite, "$schema")
	suite["targets"] = []any{map[string]any{
		"name": "script", "provider": "exec", "command": []string{model}, "protocol": "lines",
		"model": "keyword-v1", "params": map[string]any{"temperature": 0, "max_tokens": 300},
		"concurrency": 2,
		"env":         map[string]string{execModelEnv: "1", "GORACE": "atexit_sleep_ms=0", "LOGDIR": logDir, "RECORDINGS": recordings},
	}}
	b, _ := json.MarshalIndent(suite, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "suite.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"RUBRIC_DB=" + filepath.Join(cacheDir, "rubric.db"), execSentinelVar + "=" + execSentinel, "RUBRIC_PLAIN_SETTING=visible"}
	outputs := []string{}

	// The first run: the command answers every case, but one.
	r := rubric(t, dir, env, "run", "suite.json", "--out", "runs")
	outputs = append(outputs, r.stdout, r.stderr)
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1: the failed case is an error, against error_rate <= 0\n%s", r)
	}
	wantLines(t, "stdout", r.stdout, "  FAIL  script: error_rate <= 0: got 0.025, off by 0.025")
	first := runIDs(t, r.stderr)[0]
	results, _ := runFiles(t, dir, "runs", first)
	cases := readJSONL(t, filepath.Join(dir, "tickets.jsonl"))
	if len(results) != len(cases) {
		t.Fatalf("%d results for %d cases", len(results), len(cases))
	}
	recorded := map[string]string{}
	for _, rec := range readJSONL(t, recordings) {
		recorded[rec["case_id"].(string)] = rec["output"].(string)
	}
	bin := strconv.Quote(filepath.Base(model))
	for _, res := range results {
		id := res["case_id"].(string)
		if id == execFailCase {
			want := map[string]any{"kind": "exec", "message": bin + ` exited with status 5 without answering; stderr: "no model for T-1040; my key: \"\""`}
			if e, _ := res["error"].(map[string]any); fmt.Sprint(e) != fmt.Sprint(want) {
				t.Errorf("case %s: error %v, want %v", id, res["error"], want)
			}
			continue
		}
		if res["output"] != recorded[id] || res["finish_reason"] != "stop" {
			t.Errorf("case %s: output %q (finish %v), want the recording", id, res["output"], res["finish_reason"])
		}
	}

	// The documents the command read, and those recorded as sent.
	read := map[string][]string{}
	envs := ""
	logs, _ := filepath.Glob(filepath.Join(logDir, "*.stdin"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.SplitAfter(string(b), "\n") {
			if line != "" {
				var req struct {
					CaseID string `json:"case_id"`
				}
				json.Unmarshal([]byte(line), &req)
				read[req.CaseID] = append(read[req.CaseID], line)
			}
		}
		e, _ := os.ReadFile(strings.TrimSuffix(l, ".stdin") + ".env")
		envs += string(e) + "\n"
	}
	sent := sentBodies(t, filepath.Join(dir, "runs", first, "results.jsonl"))
	// The URL recorded is "exec:" and the command, a JSON array.
	command, _ := json.Marshal([]string{model})
	sentURL, _ := json.Marshal("exec:" + string(command))
	for _, c := range cases {
		id := c["id"].(string)
		want := execStdin(t, suite, c)
		lines := read[id]
		// The failed case was given once more to a fresh process.
		if n := 1 + btoi(id == execFailCase); len(lines) != n {
			t.Errorf("case %s: the command read it %d times, want %d", id, len(lines), n)
		}
		for _, got := range lines {
			if got != want+"\n" {
				t.Errorf("case %s: the command read\n%s\nwant\n%s", id, got, want)
			}
		}
		if sent[id] != `{"url":`+string(sentURL)+`,"body":`+want+`}` {
			t.Errorf("case %s: recorded as sent\n%s\nwant the body\n%s", id, sent[id], want)
		}
	}
	if !strings.Contains(envs, "RUBRIC_PLAIN_SETTING=visible") || strings.Contains(envs, execSentinelVar) || strings.Contains(envs, execSentinel) {
		t.Errorf("the command's environment: want rubric's without %s\n%s", execSentinelVar, envs)
	}

	// Again: every answer from the cache; only the error is asked again.
	r = rubric(t, dir, env, "run", "suite.json", "--out", "runs")
	outputs = append(outputs, r.stdout, r.stderr)
	if r.code != exitGateFailed {
		t.Fatalf("second run: want exit 1\n%s", r)
	}
	again, _ := runFiles(t, dir, "runs", runIDs(t, r.stderr)[0])
	cached := 0
	for _, res := range again {
		if res["cached"] == true {
			cached++
		}
	}
	if cached != len(cases)-1 {
		t.Errorf("second run: %d answers from the cache, want %d", cached, len(cases)-1)
	}
	if logs2, _ := filepath.Glob(filepath.Join(logDir, "*.stdin")); len(logs2) != len(logs)+1 {
		t.Errorf("second run: %d model processes in all, want one more than the %d of the first, for the failed case", len(logs2), len(logs))
	}

	// A replay of the first run's results scores the same.
	suite["targets"] = []any{map[string]any{"name": "replayed", "provider": "replay", "path": filepath.Join("runs", first, "results.jsonl"), "replay_as": "script"}}
	b, _ = json.MarshalIndent(suite, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "replay.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	r = rubric(t, dir, env, "run", "replay.json", "--out", "runs")
	outputs = append(outputs, r.stdout, r.stderr)
	if r.code != exitGateFailed {
		t.Fatalf("replay: want exit 1\n%s", r)
	}
	replayed, _ := runFiles(t, dir, "runs", runIDs(t, r.stderr)[0])
	scores := func(results []map[string]any) map[string]string {
		m := map[string]string{}
		for _, res := range results {
			m[res["case_id"].(string)] = fmt.Sprint(res["output"], res["score"], res["status"], res["scores"])
		}
		return m
	}
	want, got := scores(results), scores(replayed)
	for id := range want {
		if id != execFailCase && got[id] != want[id] {
			t.Errorf("case %s replayed: %s\nwant %s", id, got[id], want[id])
		}
	}

	everything := append(outputs, envs)
	for i, o := range everything {
		if strings.Contains(o, execSentinel) {
			t.Errorf("output %d holds the sentinel credential:\n%s", i, o)
		}
	}
	if found := findSecrets(t, []string{execSentinel}, filepath.Join(dir, "runs"), cacheDir, logDir); len(found) > 0 {
		t.Errorf("the sentinel credential is stored:\n%s", strings.Join(found, "\n"))
	}
	if ents, _ := os.ReadDir(cacheDir); len(ents) == 0 {
		t.Errorf("the runs wrote no response cache to check")
	}
}

// execStdin is the document, as docs/suite.md says, that the exec target
// of suite reads on stdin for case c: its messages rendered, case id,
// repeat, model and params, one line of JSON with <, > and & as they are.
func execStdin(t *testing.T, suite map[string]any, c map[string]any) string {
	t.Helper()
	vars := c["vars"].(map[string]any)
	msgs := suite["messages"].([]any)
	user := msgs[1].(map[string]any)["content"].(string)
	for _, k := range []string{"customer", "plan", "ticket"} {
		user = strings.ReplaceAll(user, "{{ "+k+" }}", vars[k].(string))
	}
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	doc := struct {
		Messages []message `json:"messages"`
		CaseID   string    `json:"case_id"`
		Repeat   int       `json:"repeat"`
		Model    string    `json:"model"`
		Params   any       `json:"params"`
	}{
		Messages: []message{{"system", msgs[0].(map[string]any)["content"].(string)}, {"user", user}},
		CaseID:   c["id"].(string),
		Model:    "keyword-v1",
		Params:   json.RawMessage(`{"temperature":0,"max_tokens":300}`),
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// sentBodies returns the "request" member of each line of a results.jsonl,
// as written, by case.
func sentBodies(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var r struct {
			CaseID  string          `json:"case_id"`
			Request json.RawMessage `json:"request"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		out[r.CaseID] = string(r.Request)
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestKeywordsExampleInDocs keeps the exec model docs/suite.md shows the
// same as examples/triage/keywords.py, which TestKeywordsExample runs.
func TestKeywordsExampleInDocs(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "triage", "keywords.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range readDocBlocks(t, docsSuitePath) {
		if b.marker == markFilePrefix+"keywords.py" {
			if b.text != string(want) {
				t.Errorf("%s: keywords.py differs from examples/triage/keywords.py", b.where())
			}
			return
		}
	}
	t.Errorf("docs/suite.md does not show keywords.py (a block marked <!-- %skeywords.py -->)", markFilePrefix)
}

// TestKeywordsExample runs the triage example against its keywords target:
// examples/triage/keywords.py as a model, through the exec provider with
// protocol "lines". The baseline answers every case in the schema, and the
// gate shows how far it is from a language model, as docs/suite.md says.
func TestKeywordsExample(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skipf("the example's model needs python3: %v", err)
	}
	t.Parallel()
	out := t.TempDir()
	r := rubric(t, repoRoot(t), nil, "run", "examples/triage/suite.json", "--target", "keywords", "--out", out, "--no-cache")
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1: the baseline fails the gate\n%s", r)
	}
	wantLines(t, "stdout", r.stdout,
		"  T-1003     failed   category: got \"abuse\", expected \"account\"",
		"  FAIL  keywords: pass_rate >= 0.9: got 0.825, off by 0.075",
		"  ok    keywords: criteria.category.mean >= 0.95: 0.95 (margin 0)",
		"  ok    keywords: error_rate <= 0: 0 (margin 0)",
	)
	results, _ := runFiles(t, "", out, runIDs(t, r.stderr)[0])
	for _, res := range results {
		var answer map[string]any
		if err := json.Unmarshal([]byte(res["output"].(string)), &answer); err != nil || len(answer) != 3 || res["finish_reason"] != "stop" {
			t.Errorf("case %s: output %q (finish %v), want the triage object", res["case_id"], res["output"], res["finish_reason"])
		}
	}
}

// TestKeywordsProtocols runs the example's model by hand, as docs/suite.md
// describes its input and output: once on a request, and kept running on
// lines, where each answer comes as a line of its own.
func TestKeywordsProtocols(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skipf("the model needs python3: %v", err)
	}
	t.Parallel()
	req := func(id, ticket string) string {
		b, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "system", "content": "Triage."},
			{"role": "user", "content": "Customer: Ann (plan: pro)\n\n" + ticket}}, "case_id": id, "repeat": 0, "model": "", "params": map[string]any{}})
		return string(b)
	}
	const (
		billing = `{"text": "{\"category\": \"billing\", \"priority\": \"medium\", \"reply\": \"Thank you for contacting Acme Cloud support, Ann. Your ticket is with our billing team, who will get back to you within one business day.\"}", "finish": "stop"}` + "\n"
		outage  = `{"text": "{\"category\": \"technical\", \"priority\": \"urgent\", \"reply\": \"Thank you for contacting Acme Cloud support, Ann. Your ticket is with our technical team, who will get back to you within the hour.\"}", "finish": "stop"}` + "\n"
	)
	refund := req("a", "Please refund the duplicate charge.")
	down := req("b", "URGENT: production is down.")
	tests := []struct {
		name, stdin, want string
		args              []string
	}{
		{"once", refund, billing, nil},
		{"lines", refund + "\n" + down + "\n", billing + outage, []string{"--lines"}},
	}
	for _, tt := range tests {
		cmd := exec.Command("python3", append([]string{"keywords.py"}, tt.args...)...)
		cmd.Dir = filepath.Join(repoRoot(t), "examples", "triage")
		cmd.Stdin = strings.NewReader(tt.stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(out) != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, out, tt.want)
		}
	}
}
