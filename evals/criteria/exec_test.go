package criteria_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// helperEnv switches the test binary into a scorer for exec to run: the
// variable names the behaviour (see execHelper).
const helperEnv = "RUBRIC_EXEC_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(execHelper(mode))
	}
	os.Exit(m.Run())
}

// execHelper is a scorer that misbehaves on request.
func execHelper(mode string) int {
	if mode == "lines" {
		return linesHelper()
	}
	stdin, _ := io.ReadAll(os.Stdin)
	result := func(v any) {
		b, _ := json.Marshal(v)
		os.Stdout.Write(b)
	}
	switch mode {
	case "echo": // the input document, as the reason
		result(map[string]any{"score": 1, "reason": string(stdin)})
	case "env": // the names of the variables it got, and the values of some
		var names []string
		for _, kv := range os.Environ() {
			name, _, _ := strings.Cut(kv, "=")
			names = append(names, name)
		}
		slices.Sort(names)
		result(map[string]any{"score": 1, "reason": strings.Join(names, ",") + " PLAIN=" + os.Getenv("PLAIN") + " EXTRA=" + os.Getenv("EXTRA")})
	case "cwd":
		wd, _ := os.Getwd()
		result(map[string]any{"score": 1, "reason": wd})
	case "grade": // half marks when the output says "half"
		var doc struct{ Output string }
		json.Unmarshal(stdin, &doc)
		if doc.Output == "half" {
			result(map[string]any{"score": 0.5, "reason": "half marks"})
		} else {
			result(map[string]any{"score": 1})
		}
	case "pass-override":
		fmt.Print(`{"score": 0.2, "pass": true, "reason": "lenient"}`)
	case "no-reason":
		fmt.Print(`{"score": 0.25}`)
	case "exit":
		fmt.Fprint(os.Stderr, "Traceback: something broke\n")
		return 3
	case "garbage":
		fmt.Print("score=1")
	case "trailing":
		fmt.Print(`{"score": 1} and more`)
	case "two":
		fmt.Print(`{"score": 1}{"score": 0}`)
	case "range":
		fmt.Print(`{"score": 1.5}`)
	case "unknown-field":
		fmt.Print(`{"score": 1, "pas": true}`)
	case "string-score":
		fmt.Print(`{"score": "1"}`)
	case "no-score":
		fmt.Print(`{"pass": true}`)
	case "silent":
	case "flood":
		chunk := strings.Repeat("x", 64<<10)
		for range 64 {
			if _, err := os.Stdout.WriteString(chunk); err != nil {
				return 1
			}
		}
	case "hang": // starts a child that hangs too, then hangs; both must die
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), helperEnv+"=hang-child")
		if err := child.Start(); err != nil {
			return 1
		}
		os.WriteFile(os.Getenv("PIDFILE"), []byte(strconv.Itoa(child.Process.Pid)), 0o644)
		fmt.Fprint(os.Stderr, "waiting forever")
		time.Sleep(time.Hour)
	case "hang-child":
		time.Sleep(time.Hour)
	case "slot": // how many copies run at once, seen through files in DIR
		dir := os.Getenv("DIR")
		mine := filepath.Join(dir, strconv.Itoa(os.Getpid()))
		os.WriteFile(mine, nil, 0o644)
		time.Sleep(30 * time.Millisecond)
		entries, _ := os.ReadDir(dir)
		os.Remove(mine)
		result(map[string]any{"score": 1, "reason": strconv.Itoa(len(entries))})
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q", mode)
		return 2
	}
	return 0
}

// linesHelper is a scorer for protocol "lines": it answers each line of
// stdin with its pid as the reason, and misbehaves when the case's output
// asks it to.
func linesHelper() int {
	in := bufio.NewReader(os.Stdin)
	answer := func(reason string) {
		b, _ := json.Marshal(map[string]any{"score": 1, "reason": reason})
		os.Stdout.Write(append(b, '\n'))
	}
	pid := strconv.Itoa(os.Getpid())
	for {
		line, err := in.ReadBytes('\n')
		if err != nil {
			return 0 // the end of stdin: rubric is done
		}
		var doc struct{ Output string }
		json.Unmarshal(line, &doc)
		switch doc.Output {
		case "echo": // the line read, as the reason
			answer(string(line))
		case "env": // the names of the variables it got
			var names []string
			for _, kv := range os.Environ() {
				name, _, _ := strings.Cut(kv, "=")
				names = append(names, name)
			}
			slices.Sort(names)
			answer(pid + " " + strings.Join(names, ","))
		case "bye": // answers, then exits
			answer(pid)
			return 0
		case "exit":
			fmt.Fprint(os.Stderr, "Traceback: something broke\n")
			return 3
		case "garbage":
			fmt.Print("score=1\n")
		case "two":
			fmt.Print(`{"score": 1}{"score": 0}` + "\n")
		case "long": // a line longer than rubric reads
			os.Stdout.WriteString(`{"score": 1, "reason": "` + strings.Repeat("x", 2<<20) + "\"}\n")
		case "chatty": // a megabyte on stderr, then the answer
			os.Stderr.WriteString(strings.Repeat("x", 1<<20) + "\n")
			answer(pid)
		case "hang":
			fmt.Fprint(os.Stderr, "waiting forever")
			time.Sleep(time.Hour)
		default:
			answer(pid)
		}
	}
}

// helperSpec is an exec criterion running the test binary in a mode; extra
// adds fields.
func helperSpec(t testing.TB, mode string, extra string) string {
	t.Helper()
	return helperSpecEnv(t, mode, "", extra)
}

// helperSpecEnv is helperSpec with members added to env.
func helperSpecEnv(t testing.TB, mode, env, extra string) string {
	t.Helper()
	bin, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	// GORACE: a binary built with -race otherwise sleeps a second on exit.
	return fmt.Sprintf(`{"name":"x","type":"exec","command":[%s],"env":{%q:%q,"GORACE":"atexit_sleep_ms=0"%s}%s}`, jsonString(bin), helperEnv, mode, env, extra)
}

func TestExec(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the helper modes use Unix process groups")
	}
	bin := filepath.Base(os.Args[0])
	tests := []struct {
		mode, extra, output string
		want                evals.Verdict
	}{
		{"grade", "", "full", pass()},
		{"grade", "", "half", evals.Verdict{Score: 0.5, Reason: "half marks"}},
		{"grade", `,"threshold":0.5`, "half", evals.Verdict{Score: 0.5, Pass: true, Reason: "half marks"}},
		{"grade", `,"extract":{"json":"answer"}`, `{"answer":"half"}`, evals.Verdict{Score: 0.5, Reason: "half marks"}},
		{"grade", `,"extract":{"json":"answer"}`, `{}`, fail(`extract: no field "answer"`)},
		{"grade", `,"normalize":["lowercase","trim"]`, " HALF\n", evals.Verdict{Score: 0.5, Reason: "half marks"}},
		{"pass-override", "", "", evals.Verdict{Score: 0.2, Pass: true, Reason: "lenient"}},
		{"no-reason", "", "", evals.Verdict{Score: 0.25, Reason: fmt.Sprintf("exec: %q gave score 0.25 and no reason", bin)}},

		{"exit", "", "", unscoredV(fmt.Sprintf(`exec: %q exited with status 3; stderr: "Traceback: something broke"`, bin))},
		{"garbage", "", "", unscoredV(fmt.Sprintf(`exec: %q: stdout is not a result object (invalid character 's' looking for beginning of value): expected one JSON object such as {"score": 1, "reason": "..."}, got "score=1"`, bin))},
		{"trailing", "", "", unscoredV(fmt.Sprintf(`exec: %q: stdout has more than the result object: "and more" after it; print diagnostics on stderr`, bin))},
		{"two", "", "", unscoredV(fmt.Sprintf(`exec: %q: stdout has more than the result object: "{\"score\": 0}" after it; print diagnostics on stderr`, bin))},
		{"range", "", "", unscoredV(fmt.Sprintf(`exec: %q: score 1.5 is out of range: expected a number from 0 to 1`, bin))},
		{"unknown-field", "", "", unscoredV(fmt.Sprintf(`exec: %q: stdout is not a result object (json: unknown field "pas"): expected one JSON object such as {"score": 1, "reason": "..."}, got "{\"score\": 1, \"pas\": true}"`, bin))},
		{"string-score", "", "", unscoredV(fmt.Sprintf(`exec: %q: "score" in its output: expected a number, got a string (stdout "{\"score\": \"1\"}")`, bin))},
		{"no-score", "", "", unscoredV(fmt.Sprintf(`exec: %q: no "score" in its output "{\"pass\": true}": expected a number from 0 to 1`, bin))},
		{"silent", "", "", unscoredV(fmt.Sprintf(`exec: %q: printed nothing on stdout: expected one JSON object such as {"score": 1, "reason": "..."}`, bin))},
		{"flood", "", "", unscoredV(fmt.Sprintf(`exec: %q printed more than 1048576 bytes on stdout`, bin))},
		{"nonsense", "", "", unscoredV(fmt.Sprintf(`exec: %q exited with status 2; stderr: "unknown helper mode \"nonsense\""`, bin))},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			sc := build(t, helperSpec(t, tt.mode, tt.extra), criteria.Env{Dir: t.TempDir()})
			got := sc.Score(context.Background(), &evals.Input{Case: caseOf(t, "", ""), Output: tt.output})
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestExecName checks that reasons name an interpreter's script too.
func TestExecName(t *testing.T) {
	sc := build(t, `{"name":"c","type":"exec","command":["sh","-c","echo oops >&2; exit 4"]}`, criteria.Env{Dir: t.TempDir()})
	want := unscoredV(`exec: "sh -c" exited with status 4; stderr: "oops"`)
	if got := sc.Score(context.Background(), &evals.Input{}); got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// TestExecIgnoresStdin checks that a command may answer without reading its
// input, however long.
func TestExecIgnoresStdin(t *testing.T) {
	sc := build(t, `{"name":"c","type":"exec","command":["sh","-c","echo '{\"score\": 1}'"]}`, criteria.Env{Dir: t.TempDir()})
	if got := sc.Score(context.Background(), &evals.Input{Output: strings.Repeat("x", 4<<20)}); got != pass() {
		t.Errorf("got %+v, want a pass", got)
	}
}

// TestExecInput pins the document a command reads on stdin.
func TestExecInput(t *testing.T) {
	sc := build(t, helperSpec(t, "echo", ""), criteria.Env{Dir: t.TempDir()})
	c := caseOf(t, `{"intent":"refund","amount":12.5}`, `{"ticket":"<b>charged</b> twice"}`)
	c.Metadata = map[string]any{"source": "crm"}
	in := &evals.Input{Case: c, Output: "Refund \xff issued", Messages: []evals.Message{{Role: "user", Content: "Ticket: <b>charged</b> twice"}}}
	got := sc.Score(context.Background(), in)
	want := `{"case_id":"case-1","input":[{"role":"user","content":"Ticket: <b>charged</b> twice"}],"output":"Refund \ufffd issued",` +
		`"expected":{"amount":12.5,"intent":"refund"},"vars":{"ticket":"<b>charged</b> twice"},"metadata":{"source":"crm"},"tags":["smoke"]}` + "\n"
	if got.Reason != want {
		t.Errorf("stdin\n got %s\nwant %s", got.Reason, want)
	}
	// A bare input: every key is there, empty rather than null, but expected.
	got = sc.Score(context.Background(), &evals.Input{Output: ""})
	want = `{"case_id":"","input":[],"output":"","expected":null,"vars":{},"metadata":{},"tags":[]}` + "\n"
	if got.Reason != want {
		t.Errorf("stdin of a bare input\n got %s\nwant %s", got.Reason, want)
	}
	// A conversation adds its transcript.
	in.Transcript = []evals.Message{in.Messages[0],
		{Role: "assistant", ToolCalls: []evals.ToolCall{evals.NewToolCall("c1", "refund", `{"amount":12.5}`)}},
		{Role: "tool", ToolCallID: "c1", Name: "refund", Content: "Error: too late", Error: "too late"},
		{Role: "assistant", Content: "Refund \xff issued"}}
	got = sc.Score(context.Background(), in)
	want = `{"case_id":"case-1","input":[{"role":"user","content":"Ticket: <b>charged</b> twice"}],"output":"Refund \ufffd issued",` +
		`"expected":{"amount":12.5,"intent":"refund"},"vars":{"ticket":"<b>charged</b> twice"},"metadata":{"source":"crm"},"tags":["smoke"],` +
		`"transcript":[{"role":"user","content":"Ticket: <b>charged</b> twice"},{"role":"assistant","content":"","tool_calls":[{"id":"c1","name":"refund","arguments":{"amount":12.5}}]},` +
		`{"role":"tool","content":"Error: too late","tool_call_id":"c1","name":"refund","error":"too late"},{"role":"assistant","content":"Refund \ufffd issued"}]}` + "\n"
	if got.Reason != want {
		t.Errorf("stdin of a conversation\n got %s\nwant %s", got.Reason, want)
	}
}

// TestExecDir checks that the command runs in the suite's folder.
func TestExecDir(t *testing.T) {
	dir := t.TempDir()
	sc := build(t, helperSpec(t, "cwd", ""), criteria.Env{Dir: dir})
	got := sc.Score(context.Background(), &evals.Input{})
	want, _ := filepath.EvalSymlinks(dir)
	if wd, _ := filepath.EvalSymlinks(got.Reason); wd != want {
		t.Errorf("ran in %q, want %q", got.Reason, dir)
	}
}

// TestExecEnv checks which environment variables the command gets: never
// those that look like credentials or hold the target's key, unless named.
func TestExecEnv(t *testing.T) {
	t.Setenv("PLAIN", "plain")
	t.Setenv("OPENAI_API_KEY", "sk-secret")
	t.Setenv("GITHUB_TOKEN", "ghp-secret")
	t.Setenv("DB_PASSWORD", "hunter2")
	t.Setenv("MODEL_CREDS", "not caught by name")
	names := func(t *testing.T, extra string, secretEnv []string) []string {
		t.Helper()
		sc := build(t, helperSpec(t, "env", extra), criteria.Env{Dir: t.TempDir()})
		v := sc.Score(context.Background(), &evals.Input{SecretEnv: secretEnv})
		if !v.Pass {
			t.Fatalf("helper failed: %+v", v)
		}
		list, _, _ := strings.Cut(v.Reason, " ")
		return strings.Split(list, ",")
	}
	has := func(list []string, name string) bool { return slices.Contains(list, name) }

	all := names(t, "", nil)
	for _, secret := range []string{"OPENAI_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD"} {
		if has(all, secret) {
			t.Errorf("%s was passed on by default", secret)
		}
	}
	for _, plain := range []string{"PLAIN", "PATH", "MODEL_CREDS", helperEnv} {
		if !has(all, plain) {
			t.Errorf("%s was not passed on by default (got %v)", plain, all)
		}
	}
	// The target's own key is withheld whatever its name.
	if has(names(t, "", []string{"MODEL_CREDS"}), "MODEL_CREDS") {
		t.Error("the target's api_key_env variable was passed on")
	}
	// Every variable holding one of its secrets.
	if both := names(t, "", []string{"PLAIN", "UNSET_VARIABLE_X", "MODEL_CREDS"}); has(both, "MODEL_CREDS") || has(both, "PLAIN") || !has(both, "PATH") {
		t.Errorf("the target's secret variables PLAIN and MODEL_CREDS: passed on %v", both)
	}
	// Named variables pass, secret-looking or not; nothing else does.
	named := names(t, `,"inherit_env":["OPENAI_API_KEY","PLAIN","UNSET_VARIABLE_X"]`, nil)
	if want := []string{"GORACE", "OPENAI_API_KEY", "PLAIN", helperEnv}; !slices.Equal(named, want) {
		t.Errorf("inherit_env list: got %v, want %v", named, want)
	}
	if none := names(t, `,"inherit_env":false`, nil); !slices.Equal(none, []string{"GORACE", helperEnv}) {
		t.Errorf("inherit_env false: got %v, want only the env entries", none)
	}
	// env adds and overrides.
	sc := build(t, helperSpecEnv(t, "env", `,"EXTRA":"x","PLAIN":"over"`, `,"inherit_env":["PLAIN"]`), criteria.Env{Dir: t.TempDir()})
	if v := sc.Score(context.Background(), &evals.Input{}); !strings.HasSuffix(v.Reason, " PLAIN=over EXTRA=x") {
		t.Errorf("env: got %q, want PLAIN overridden and EXTRA added", v.Reason)
	}
}

// TestExecCanceled checks that a run stopped mid-command ends it at once.
func TestExecCanceled(t *testing.T) {
	t.Setenv("PIDFILE", filepath.Join(t.TempDir(), "pid"))
	sc := build(t, helperSpec(t, "hang", ""), criteria.Env{Dir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if v := sc.Score(ctx, &evals.Input{}); v != unscoredV("exec: stopped: context deadline exceeded") {
		t.Errorf("got %+v", v)
	}
}

// TestExecConcurrency checks that no more copies of the command run at once
// than concurrency allows, however many workers score together.
func TestExecConcurrency(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DIR", dir)
	sc := build(t, helperSpec(t, "slot", `,"concurrency":2`), criteria.Env{Dir: dir})
	var (
		mu   sync.Mutex
		most int
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			v := sc.Score(context.Background(), &evals.Input{})
			n, err := strconv.Atoi(v.Reason)
			if err != nil {
				t.Errorf("helper: %+v", v)
				return
			}
			mu.Lock()
			most = max(most, n)
			mu.Unlock()
		})
	}
	wg.Wait()
	if most > 2 {
		t.Errorf("%d copies ran at once, want at most 2", most)
	}
}

func TestNewErrorsExec(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plain.py"), []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	runNewErrorTests(t, dir, []newErrorTest{
		{"no command", `{"name":"c","type":"exec"}`, "command", `missing: expected the program and its arguments, e.g. ["python3", "score.py"]`},
		{"command a string", `{"name":"c","type":"exec","command":"python3 score.py"}`, "command",
			`expected an array of strings, the program and its arguments (no shell), e.g. ["python3", "score.py"]; got a string`},
		{"command empty", `{"name":"c","type":"exec","command":[]}`, "command", `empty array: expected the program and its arguments, e.g. ["python3", "score.py"]`},
		{"command with a number", `{"name":"c","type":"exec","command":["sh",1]}`, "command.1", `expected a string, got a number`},
		{"command with NUL", `{"name":"c","type":"exec","command":["sh","a\u0000b"]}`, "command.1", `holds a NUL character, which no program argument can`},
		{"empty program", `{"name":"c","type":"exec","command":[""]}`, "command.0", `empty program name: expected a program in PATH or a path relative to the suite's folder`},
		{"not in PATH", `{"name":"c","type":"exec","command":["no-such-scorer-xyz"]}`, "command.0",
			`program "no-such-scorer-xyz" not found in PATH: write a path with a slash (./score.py) for a file next to the suite`},
		{"missing file", `{"name":"c","type":"exec","command":["./score.py"]}`, "command.0",
			`cannot run "./score.py" (` + filepath.Join(dir, "score.py") + `): no such file or directory`},
		{"a folder", `{"name":"c","type":"exec","command":["./scripts"]}`, "command.0",
			`cannot run "./scripts" (` + filepath.Join(dir, "scripts") + `): is a directory`},
		{"not executable", `{"name":"c","type":"exec","command":["./plain.py"]}`, "command.0",
			`"./plain.py" (` + filepath.Join(dir, "plain.py") + `) is not executable: make it so (chmod +x), or name its interpreter first: ["python3", "./plain.py"]`},
		{"bad timeout", `{"name":"c","type":"exec","command":["sh"],"timeout":"30"}`, "timeout", `got "30", expected a duration above 0 such as 500ms, 30s or 2m`},
		{"zero timeout", `{"name":"c","type":"exec","command":["sh"],"timeout":"0s"}`, "timeout", `got "0s", expected a duration above 0 such as 500ms, 30s or 2m`},
		{"timeout a number", `{"name":"c","type":"exec","command":["sh"],"timeout":30}`, "timeout", `expected a string, got a number`},
		{"concurrency 0", `{"name":"c","type":"exec","command":["sh"],"concurrency":0}`, "concurrency", `expected an integer >= 1, got 0`},
		{"protocol unknown", `{"name":"c","type":"exec","command":["sh"],"protocol":"line"}`, "protocol",
			`got "line", expected "once" (a process per response) or "lines" (long-lived processes, a line per response)`},
		{"protocol a number", `{"name":"c","type":"exec","command":["sh"],"protocol":1}`, "protocol", `expected a string, got a number`},
		{"inherit_env a string", `{"name":"c","type":"exec","command":["sh"],"inherit_env":"all"}`, "inherit_env", `expected true, false or an array of variable names, got a string`},
		{"inherit_env bad name", `{"name":"c","type":"exec","command":["sh"],"inherit_env":["PATH","A=B"]}`, "inherit_env.1",
			`"A=B" is not an environment variable name: expected letters, digits and '_'`},
		{"inherit_env a number", `{"name":"c","type":"exec","command":["sh"],"inherit_env":[1]}`, "inherit_env.0", `expected the name of an environment variable, got a number`},
		{"env bad name", `{"name":"c","type":"exec","command":["sh"],"env":{"1X":"a"}}`, "env.1X", `"1X" is not an environment variable name: expected letters, digits and '_'`},
		{"env not strings", `{"name":"c","type":"exec","command":["sh"],"env":{"X":1}}`, "env", `expected a string, got a number`},
	})
}

// TestExecEnvInjected checks that a scorer process inherits from the
// environment the criterion is given (criteria.Env.Environ), not from
// rubric's own: the library reads nothing of the process it runs in.
func TestExecEnvInjected(t *testing.T) {
	t.Setenv("FROM_PROCESS", "1")
	environ := func() []string { return []string{"GIVEN=a", "API_TOKEN=secret", "GIVEN=b"} }
	env := criteria.Env{Dir: t.TempDir(), Environ: environ}
	sc := build(t, helperSpec(t, "env", ""), env)
	v := sc.Score(context.Background(), &evals.Input{})
	list, _, _ := strings.Cut(v.Reason, " ")
	if got, want := strings.Split(list, ","), []string{"GIVEN", "GORACE", helperEnv}; !slices.Equal(got, want) {
		t.Errorf("inherited %v, want %v: the given environment without its secrets, not the process's", got, want)
	}
	sc = build(t, helperSpecEnv(t, "env", "", `,"inherit_env":["GIVEN","FROM_PROCESS"]`), env)
	if v := sc.Score(context.Background(), &evals.Input{}); !strings.HasPrefix(v.Reason, "GIVEN,GORACE,"+helperEnv+" ") {
		t.Errorf("inherit_env list: got %q, want GIVEN from the given environment and nothing from the process", v.Reason)
	}
}
