package provider

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/store"
)

// modelEnv switches the test binary into a model for the exec provider to
// run: the variable names the behaviour (see execModel).
const modelEnv = "RUBRIC_EXEC_MODEL"

func TestMain(m *testing.M) {
	if mode := os.Getenv(modelEnv); mode != "" {
		os.Exit(execModel(mode))
	}
	os.Exit(m.Run())
}

// execModel is a model that misbehaves on request. With "lines" it answers
// each line of stdin, as the request's case id asks.
func execModel(mode string) int {
	if mode == "lines" {
		return linesModel()
	}
	stdin, _ := io.ReadAll(os.Stdin)
	var req struct {
		CaseID string `json:"case_id"`
	}
	json.Unmarshal(stdin, &req)
	switch mode {
	case "answer": // the case id asks for the answer
		return answerCase(req.CaseID, os.Stdout)
	case "echo": // the stdin document, as the text
		os.Stdout.Write(stdin)
	case "pwd":
		wd, _ := os.Getwd()
		fmt.Print(wd)
	case "env": // the names of the variables it got
		var names []string
		for _, kv := range os.Environ() {
			name, _, _ := strings.Cut(kv, "=")
			names = append(names, name)
		}
		slices.Sort(names)
		fmt.Print(strings.Join(names, ","))
	case "slot": // how many copies run at once, seen through files in DIR
		dir := os.Getenv("DIR")
		mine := filepath.Join(dir, strconv.Itoa(os.Getpid()))
		os.WriteFile(mine, nil, 0o644)
		time.Sleep(30 * time.Millisecond)
		entries, _ := os.ReadDir(dir)
		os.Remove(mine)
		fmt.Printf(`{"text": %q}`, strconv.Itoa(len(entries)))
	case "hang": // starts a child that hangs too, then hangs; both must die
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), modelEnv+"=hang-child")
		if err := child.Start(); err != nil {
			return 1
		}
		os.WriteFile(os.Getenv("PIDFILE"), []byte(strconv.Itoa(child.Process.Pid)), 0o644)
		fmt.Fprint(os.Stderr, "thinking forever")
		time.Sleep(time.Hour)
	case "hang-child":
		time.Sleep(time.Hour)
	case "flood":
		chunk := strings.Repeat("x", 1<<20)
		for range 17 {
			if _, err := os.Stdout.WriteString(chunk); err != nil {
				return 1
			}
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown model mode %q", mode)
		return 2
	}
	return 0
}

// answerCase prints the answer case id asks for, as one line, or exits.
func answerCase(id string, w io.Writer) int {
	line := map[string]string{
		"ok":            `{"text": "billing", "usage": {"prompt_tokens": 12, "completion_tokens": 1}, "finish": "stop"}`,
		"total":         `{"text": "billing", "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 20}}`,
		"bare":          `{"text": ""}`,
		"null-usage":    `{"text": "x", "usage": null, "finish": null}`,
		"garbage":       `category=billing`,
		"unknown-field": `{"txt": "billing"}`,
		"no-text":       `{"usage": {"prompt_tokens": 1}}`,
		"text-number":   `{"text": 7}`,
		"two":           `{"text": "a"}{"text": "b"}`,
		"negative":      `{"text": "a", "usage": {"completion_tokens": -1}}`,
		"silent":        ``,
		"multi-line":    "{\"text\": \"a\\nb\"}\n",
	}
	switch id {
	case "fail": // says its secret on stderr, as a crash might
		fmt.Fprintf(os.Stderr, "Traceback: bad key %s\nValueError: the model broke", os.Getenv("RUBRIC_EXEC_SECRET"))
		return 3
	case "pid":
		fmt.Fprintf(w, "{\"text\": %q}\n", strconv.Itoa(os.Getpid()))
		return 0
	}
	l, ok := line[id]
	if !ok {
		fmt.Fprintf(os.Stderr, "no answer for case %q", id)
		return 4
	}
	fmt.Fprintln(w, l)
	return 0
}

// linesModel answers each line of stdin as answerCase does, with its pid
// for "pid"; "bye" answers and exits, "hang" never answers.
func linesModel() int {
	in := bufio.NewReader(os.Stdin)
	for {
		line, err := in.ReadBytes('\n')
		if err != nil {
			return 0 // the end of stdin: rubric is done
		}
		var req struct {
			CaseID string `json:"case_id"`
		}
		json.Unmarshal(line, &req)
		switch req.CaseID {
		case "bye":
			answerCase("pid", os.Stdout)
			return 0
		case "hang":
			fmt.Fprint(os.Stderr, "thinking forever")
			time.Sleep(time.Hour)
		case "echo":
			fmt.Printf("{\"text\": %q}\n", line)
		default:
			if code := answerCase(req.CaseID, os.Stdout); code != 0 {
				return code
			}
		}
	}
}

// execTarget is an exec target as a test writes it.
type execTarget struct {
	evals.TargetSpec
	ExecConfig
}

func (e execTarget) spec() evals.TargetSpec { return withConfig(e.TargetSpec, e.ExecConfig) }

// modelSpec is an exec target running the test binary in mode; its
// folder is a new one.
func modelSpec(t testing.TB, mode string) execTarget {
	t.Helper()
	bin, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	cmd, _ := json.Marshal([]string{bin})
	// GORACE: a binary built with -race otherwise sleeps a second on exit.
	return execTarget{
		evals.TargetSpec{Name: "t", Provider: "exec", Dir: t.TempDir()},
		ExecConfig{Command: cmd, Env: map[string]string{modelEnv: mode, "GORACE": "atexit_sleep_ms=0"}},
	}
}

// newExec builds the provider of e, closed at the end of the test.
func newExec(t testing.TB, e execTarget) *Exec {
	t.Helper()
	p, err := NewExec(e.ExecConfig, e.TargetSpec, Env{})
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// execRequest is a request for case id.
func execRequest(id string) *evals.Request {
	return &evals.Request{Target: "t", CaseID: id, Messages: []evals.Message{{Role: "user", Content: "Classify."}}}
}

// TestExecAnswers runs each answer and failure through both protocols: the
// response read, or the error of the kind documented, quoting what helps.
func TestExecAnswers(t *testing.T) {
	t.Setenv("RUBRIC_EXEC_SECRET", "sk-exec-0123456789")
	bin := strconv.Quote(filepath.Base(os.Args[0]))
	const want = `expected one JSON object such as {"text": "…", "usage": {"prompt_tokens": 12, "completion_tokens": 3}, "finish": "stop"}, or "format": "text"`
	tests := []struct {
		id   string
		resp *evals.Response // nil for an error
		kind string
		msg  string // the error's message; for lines, " without answering" follows an exit
	}{
		{"ok", &evals.Response{Text: "billing", Finish: "stop", Usage: evals.Usage{PromptTokens: 12, CompletionTokens: 1, TotalTokens: 13}}, "", ""},
		{"total", &evals.Response{Text: "billing", Usage: evals.Usage{PromptTokens: 12, CompletionTokens: 1, TotalTokens: 20}}, "", ""},
		{"bare", &evals.Response{}, "", ""},
		{"null-usage", &evals.Response{Text: "x"}, "", ""},
		{"multi-line", &evals.Response{Text: "a\nb"}, "", ""},
		{"garbage", nil, evals.ErrKindDecode, bin + `: stdout is not an answer object (invalid character 'c' looking for beginning of value): ` + want + `; stdout: "category=billing"`},
		{"unknown-field", nil, evals.ErrKindDecode, bin + `: stdout is not an answer object (json: unknown field "txt"): ` + want + `; stdout: "{\"txt\": \"billing\"}"`},
		{"no-text", nil, evals.ErrKindDecode, bin + `: no "text" in its answer: expected the answer as a string; stdout: "{\"usage\": {\"prompt_tokens\": 1}}"`},
		{"text-number", nil, evals.ErrKindDecode, bin + `: "text" in its answer: expected a string, got number; stdout: "{\"text\": 7}"`},
		{"two", nil, evals.ErrKindDecode, bin + `: stdout has more than the answer object: "{\"text\": \"b\"}" after it; print diagnostics on stderr`},
		{"negative", nil, evals.ErrKindDecode, bin + `: usage.completion_tokens is -1: expected an integer, 0 or more`},
		{"silent", nil, evals.ErrKindDecode, bin + `: printed nothing on stdout: ` + want},
		{"fail", nil, evals.ErrKindExec, bin + ` exited with status 3; stderr: "Traceback: bad key \nValueError: the model broke"`},
		{"unknown", nil, evals.ErrKindExec, bin + ` exited with status 4; stderr: "no answer for case \"unknown\""`},
	}
	for _, protocol := range []string{"once", "lines"} {
		spec := modelSpec(t, "answer")
		if protocol == "lines" {
			spec.Env[modelEnv] = "lines"
		}
		spec.Protocol = ptr(protocol)
		p := newExec(t, spec)
		for _, tt := range tests {
			t.Run(protocol+"/"+tt.id, func(t *testing.T) {
				req := execRequest(tt.id)
				resp, err := p.Complete(t.Context(), req)
				body, _ := p.RequestBody(req)
				if tt.resp != nil {
					if err != nil {
						t.Fatal(err)
					}
					if resp.Sent == nil || resp.Sent.URL != p.SentURL() || string(resp.Sent.Body) != string(body) {
						t.Errorf("Sent = %+v, want the body and URL", resp.Sent)
					}
					resp.Sent = nil
					if !reflect.DeepEqual(*resp, *tt.resp) {
						t.Errorf("got  %+v\nwant %+v", *resp, *tt.resp)
					}
					return
				}
				pe := providerError(t, err)
				msg := tt.msg
				if protocol == "lines" && tt.kind == evals.ErrKindExec {
					msg = strings.Replace(msg, ";", " without answering;", 1)
				}
				if pe.Kind != tt.kind || pe.Message != msg {
					t.Errorf("got  %s: %s\nwant %s: %s", pe.Kind, pe.Message, tt.kind, msg)
				}
				if pe.Retryable() {
					t.Errorf("%s error is retryable", pe.Kind)
				}
				if pe.Sent == nil || string(pe.Sent.Body) != string(body) {
					t.Errorf("error's Sent = %+v, want the request", pe.Sent)
				}
			})
		}
	}
}

// TestExecStdin pins the document a command reads: the request as one line
// of JSON, ended by a newline, which is also what results record as sent
// and what the cache keys on.
func TestExecStdin(t *testing.T) {
	spec := modelSpec(t, "echo")
	spec.Format = ptr("text")
	spec.Model = "tiny-1"
	spec.Params = &evals.Params{Temperature: ptr(0.0), Stop: json.RawMessage(`["<|end|>"]`)}
	p := newExec(t, spec)
	req := &evals.Request{Target: "t", CaseID: "T-1", Repeat: 2, Params: &evals.Params{Temperature: ptr(1.0), Seed: ptr[int64](7)},
		Messages: []evals.Message{{Role: "system", Content: "Classify <b>."}, {Role: "user", Content: "Say \"hi\"\n\tthen \xff"}}}
	resp, err := p.Complete(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"messages":[{"role":"system","content":"Classify <b>."},{"role":"user","content":"Say \"hi\"\n\tthen \ufffd"}],` +
		`"case_id":"T-1","repeat":2,"model":"tiny-1","params":{"temperature":0,"seed":7,"stop":["<|end|>"]}}`
	// format text: stdout is the answer, without the newline that ends it.
	if resp.Text != want {
		t.Errorf("stdin\n got %s\nwant %s", resp.Text, want)
	}
	if body, _ := p.RequestBody(req); string(body) != want || string(resp.Sent.Body) != want {
		t.Errorf("RequestBody %s\nSent %s\nwant %s", body, resp.Sent.Body, want)
	}
	// Without model and params: every key is there.
	bare := newExec(t, func() execTarget { s := modelSpec(t, "echo"); s.Format = ptr("text"); return s }())
	resp, err = bare.Complete(t.Context(), execRequest("c"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"messages":[{"role":"user","content":"Classify."}],"case_id":"c","repeat":0,"model":"","params":{}}`; resp.Text != want {
		t.Errorf("stdin of a bare request\n got %s\nwant %s", resp.Text, want)
	}
}

// TestExecLines checks that one process answers request after request,
// that one whose answer is malformed is replaced, and that a timeout kills
// it.
func TestExecLines(t *testing.T) {
	spec := modelSpec(t, "lines")
	spec.Protocol = ptr("lines")
	spec.Timeout = evals.Duration(300 * time.Millisecond)
	p := newExec(t, spec)
	ask := func(id string) (string, error) {
		resp, err := p.Complete(t.Context(), execRequest(id))
		if err != nil {
			return "", err
		}
		return resp.Text, nil
	}
	first, err := ask("pid")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := ask("pid"); again != first {
		t.Errorf("the second request was answered by process %s, the first by %s: want one process", again, first)
	}
	if _, err := ask("garbage"); err == nil {
		t.Fatal("garbage answered")
	}
	next, _ := ask("pid")
	if next == first {
		t.Errorf("process %s answered again after a malformed answer", first)
	}
	// It exits after answering: the next request gets a new process.
	bye, _ := ask("bye")
	if after, _ := ask("pid"); after == bye || after == "" {
		t.Errorf("after bye: answered by %q, the process that exited was %s", after, bye)
	}
	_, err = ask("hang")
	pe := providerError(t, err)
	bin := strconv.Quote(filepath.Base(os.Args[0]))
	if pe.Kind != evals.ErrKindTimeout || pe.Message != bin+` timed out after 300ms and was killed; stderr: "thinking forever"` || !pe.Retryable() {
		t.Errorf("hang: %s: %s (retryable %v)", pe.Kind, pe.Message, pe.Retryable())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a timeout wraps %v, want context.DeadlineExceeded", pe.Err)
	}
}

// TestExecConcurrency checks that no more copies of the command run at
// once than the target's concurrency, however many ask together.
func TestExecConcurrency(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DIR", dir)
	spec := modelSpec(t, "slot")
	spec.Concurrency = 2
	p := newExec(t, spec)
	var (
		mu   sync.Mutex
		most int
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			resp, err := p.Complete(t.Context(), execRequest("c"))
			if err != nil {
				t.Error(err)
				return
			}
			n, _ := strconv.Atoi(resp.Text)
			mu.Lock()
			most = max(most, n)
			mu.Unlock()
		})
	}
	wg.Wait()
	if most > 2 || most < 1 {
		t.Errorf("%d copies ran at once, want 1 or 2", most)
	}
}

// TestExecEnv checks the command's environment: rubric's without its
// credentials by default, those named passed on, SecretEnv naming them for
// scorers to withhold, and their values never quoted in errors.
func TestExecEnv(t *testing.T) {
	t.Setenv("PLAIN", "plain")
	t.Setenv("RUBRIC_EXEC_SECRET", "sk-exec-0123456789")
	names := func(spec execTarget) []string {
		t.Helper()
		resp, err := newExec(t, spec).Complete(t.Context(), execRequest("c"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(resp.Text, ",")
	}
	spec := modelSpec(t, "env")
	spec.Format = ptr("text")
	if got := names(spec); slices.Contains(got, "RUBRIC_EXEC_SECRET") || !slices.Contains(got, "PLAIN") {
		t.Errorf("by default: %v", got)
	}
	if p := newExec(t, spec); p.SecretEnv() != nil {
		t.Errorf("SecretEnv = %v, want none: it inherits no credential", p.SecretEnv())
	}
	spec.InheritEnv = json.RawMessage(`["RUBRIC_EXEC_SECRET", "PLAIN"]`)
	if got, want := names(spec), []string{"GORACE", "PLAIN", modelEnv, "RUBRIC_EXEC_SECRET"}; !slices.Equal(got, want) {
		t.Errorf("inherit_env list: %v, want %v", got, want)
	}
	if p := newExec(t, spec); !slices.Equal(p.SecretEnv(), []string{"RUBRIC_EXEC_SECRET"}) {
		t.Errorf("SecretEnv = %v, want the credential it inherits", p.SecretEnv())
	}
	// Its value is redacted from what the command says on failing.
	spec = modelSpec(t, "answer")
	spec.InheritEnv = json.RawMessage(`["RUBRIC_EXEC_SECRET"]`)
	_, err := newExec(t, spec).Complete(t.Context(), execRequest("fail"))
	if pe := providerError(t, err); !strings.Contains(pe.Message, "bad key [REDACTED]") || strings.Contains(err.Error(), "sk-exec") {
		t.Errorf("error %q: want the key redacted", pe.Message)
	}
	// Injected: the provider reads its Env, not the process's.
	spec = modelSpec(t, "env")
	spec.Format = ptr("text")
	p, err := NewExec(spec.ExecConfig, spec.TargetSpec, Env{Environ: func() []string { return []string{"GIVEN=1", "API_TOKEN=x"} }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	resp, err := p.Complete(t.Context(), execRequest("c"))
	if err != nil || resp.Text != "GIVEN,GORACE,"+modelEnv {
		t.Errorf("with an injected environment: %v, %v", resp, err)
	}
}

// TestExecDir checks that the command runs in dir, relative to the file
// that defines the target, and that a program with a slash is found there.
func TestExecDir(t *testing.T) {
	spec := modelSpec(t, "pwd")
	spec.Format = ptr("text")
	if err := os.Mkdir(filepath.Join(spec.TargetSpec.Dir, "model"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", "model"} {
		spec.ExecConfig.Dir = dir
		resp, err := newExec(t, spec).Complete(t.Context(), execRequest("c"))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := filepath.EvalSymlinks(filepath.Join(spec.TargetSpec.Dir, dir))
		if got, _ := filepath.EvalSymlinks(resp.Text); got != want {
			t.Errorf("dir %q: ran in %s, want %s", dir, resp.Text, want)
		}
	}
}

// TestNewExecErrors checks that a target's problems are found when the suite
// loads, each at its field, all at once.
func TestNewExecErrors(t *testing.T) {
	dir := writeFile(t, "plain.py", "print(1)\n")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := func(obj string) evals.TargetSpec {
		spec := targetOf(t, obj)
		spec.Dir = dir
		return spec
	}
	tests := []struct {
		name, obj, err string
	}{
		{"no command", `{"name": "t", "provider": "exec"}`,
			`command: missing: expected the program and its arguments, e.g. ["python3", "model.py"]`},
		{"command a string", `{"name": "t", "provider": "exec", "command": "python3 model.py"}`,
			`command: expected an array of strings, the program and its arguments (no shell), e.g. ["python3", "model.py"]; got a string`},
		{"not in PATH", `{"name": "t", "provider": "exec", "command": ["no-such-model-xyz"]}`,
			`command.0: program "no-such-model-xyz" not found in PATH: write a path with a slash (./model.py) for a file in the folder it runs in`},
		{"not executable", `{"name": "t", "provider": "exec", "command": ["./plain.py"]}`,
			`command.0: "./plain.py" (` + filepath.Join(dir, "plain.py") + `) is not executable: make it so (chmod +x), or name its interpreter first: ["python3", "./plain.py"]`},
		{"relative to dir", `{"name": "t", "provider": "exec", "command": ["./plain.py"], "dir": "sub"}`,
			`command.0: cannot run "./plain.py" (` + filepath.Join(dir, "sub", "plain.py") + `): no such file or directory`},
		{"every problem at once", `{"name": "t", "provider": "exec", "command": ["sh"], "dir": "gone", "protocol": "line", "format": "xml", "inherit_env": "all", "env": {"1X": "a"}}`,
			"dir: cannot run commands in \"gone\" (" + filepath.Join(dir, "gone") + "): no such file or directory\n" +
				`protocol: got "line", expected "once" (a process per request) or "lines" (long-lived processes, a line per request)` + "\n" +
				`format: got "xml", expected "json" (an object {"text": ..., "usage": ..., "finish": ...}) or "text" (stdout is the answer)` + "\n" +
				`inherit_env: expected true, false or an array of variable names, got a string`},
		{"dir a file", `{"name": "t", "provider": "exec", "command": ["sh"], "dir": "plain.py"}`,
			`dir: cannot run commands in "plain.py" (` + filepath.Join(dir, "plain.py") + `): not a directory`},
		{"env bad name", `{"name": "t", "provider": "exec", "command": ["sh"], "env": {"1X": "a"}}`,
			`env.1X: "1X" is not an environment variable name: expected letters, digits and '_'`},
		{"another provider's field", `{"name": "t", "provider": "exec", "command": ["sh"], "base_url": "http://x"}`,
			`base_url: field does not apply to provider "exec" (it is a field of providers "anthropic" and "openai")`},
		{"params", `{"name": "t", "provider": "exec", "command": ["sh"], "params": {"stop": "x"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Default().New(bad(tt.obj), Env{})
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				p.(io.Closer).Close()
				return
			}
			if p != nil || err == nil || err.Error() != tt.err {
				t.Errorf("got %v\nwant %s", err, tt.err)
			}
		})
	}
}

// TestExecCache checks that the response cache answers for the command: a
// request asked before is not run again, and changing the command, its env
// or its folder asks the command anew.
func TestExecCache(t *testing.T) {
	db := openCacheDB(t, "")
	spec := modelSpec(t, "answer")
	ask := func(spec execTarget) *evals.Response {
		t.Helper()
		ep, err := Default().Endpoint(spec.spec(), Options{Cache: func() *store.DB { return db }})
		if err != nil {
			t.Fatal(err)
		}
		defer ep.Close()
		resp, err := ep.Provider.Complete(t.Context(), execRequest("pid"))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := ask(spec)
	if again := ask(spec); !again.Cached || again.Text != first.Text || string(again.Sent.Body) != string(first.Sent.Body) || again.Sent.URL != first.Sent.URL {
		t.Errorf("asked again: %+v, want the first answer (%s) from the cache", again, first.Text)
	}
	other := spec
	other.Command = json.RawMessage(strings.Replace(string(spec.Command), `"]`, `","--v2"]`, 1))
	envChanged := spec
	envChanged.Env = map[string]string{modelEnv: "answer", "GORACE": "atexit_sleep_ms=0", "MODEL_SIZE": "large"}
	moved := spec
	moved.TargetSpec.Dir = t.TempDir()
	for name, s := range map[string]execTarget{"command": other, "env": envChanged, "dir": moved} {
		if resp := ask(s); resp.Cached || resp.Text == first.Text {
			t.Errorf("%s changed: %+v, want the command run again", name, resp)
		}
	}
}

// TestExecFlood checks that a command printing more than the most an
// answer may be is stopped, as a decode error.
func TestExecFlood(t *testing.T) {
	_, err := newExec(t, modelSpec(t, "flood")).Complete(t.Context(), execRequest("c"))
	pe := providerError(t, err)
	if want := strconv.Quote(filepath.Base(os.Args[0])) + " printed more than 16 MiB on stdout"; pe.Kind != evals.ErrKindDecode || pe.Message != want {
		t.Errorf("got %s: %s\nwant decode: %s", pe.Kind, pe.Message, want)
	}
}
