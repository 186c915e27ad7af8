package proc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/proc"
)

// helperEnv switches the test binary into a command for proc to run: the
// variable names the behaviour (see helper).
const helperEnv = "RUBRIC_PROC_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

// helper is a command that misbehaves on request: with "lines", it answers
// each line of stdin in turn, as the line asks.
func helper(mode string) int {
	switch mode {
	case "echo":
		b, _ := io.ReadAll(os.Stdin)
		fmt.Fprint(os.Stderr, "read it")
		os.Stdout.Write(b)
	case "fail":
		io.ReadAll(os.Stdin)
		fmt.Fprint(os.Stderr, strings.Repeat("a", 5000)+"Traceback: the end")
		return 3
	case "flood":
		os.Stdout.WriteString(strings.Repeat("x", 100))
	case "lines":
		in := bufio.NewReader(os.Stdin)
		pid := strconv.Itoa(os.Getpid())
		for {
			line, err := in.ReadString('\n')
			if err != nil {
				return 0
			}
			switch req := strings.TrimSpace(line); req {
			case "exit":
				fmt.Fprint(os.Stderr, "dying")
				return 4
			case "quit":
				return 0
			case "bye": // answers, then exits
				fmt.Println(pid)
				return 0
			case "env":
				fmt.Println(pid, os.Getenv("WHO"))
			default:
				fmt.Println(pid, req)
			}
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q", mode)
		return 2
	}
	return 0
}

// helperCmd runs the test binary in mode, with a timeout of 2s and 64
// bytes of stdout; env is its environment, with the mode set.
func helperCmd(t testing.TB, mode string) (*proc.Cmd, []string) {
	t.Helper()
	bin, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	// GORACE: a binary built with -race otherwise sleeps a second on exit.
	env := []string{helperEnv + "=" + mode, "GORACE=atexit_sleep_ms=0"}
	return &proc.Cmd{Path: bin, Dir: t.TempDir(), Timeout: 2 * time.Second, MaxStdout: 64}, env
}

func TestRun(t *testing.T) {
	cmd, env := helperCmd(t, "echo")
	out, stderr, err := cmd.Run(t.Context(), env, []byte("hello\n"))
	if err != nil || string(out) != "hello\n" || stderr.Start(100) != "read it" {
		t.Errorf("got %q, stderr %q, %v; want the input back", out, stderr.Start(100), err)
	}

	cmd, env = helperCmd(t, "fail")
	_, stderr, err = cmd.Run(t.Context(), env, nil)
	var pe *proc.Error
	if !errors.As(err, &pe) || pe.Kind != proc.Exited || pe.Error() != "exited with status 3" {
		t.Fatalf("got %v, want it to exit with status 3", err)
	}
	if got := stderr.End(18); got != "…Traceback: the end" {
		t.Errorf("stderr end %q", got)
	}
	if got := stderr.Start(3); got != "aaa…" {
		t.Errorf("stderr start %q", got)
	}

	cmd, env = helperCmd(t, "flood")
	if _, _, err = cmd.Run(t.Context(), env, nil); !errors.As(err, &pe) || pe.Kind != proc.Overflow {
		t.Errorf("printing 100 bytes of 64: got %v, want an overflow", err)
	}

	cmd, env = helperCmd(t, "echo")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err = cmd.Run(ctx, env, nil); !errors.As(err, &pe) || pe.Kind != proc.Canceled || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %v", err)
	}

	cmd, env = helperCmd(t, "echo")
	cmd.Path = filepath.Join(t.TempDir(), "gone")
	if _, _, err = cmd.Run(t.Context(), env, nil); !errors.As(err, &pe) || pe.Kind != proc.StartFailed {
		t.Errorf("a program that is gone: got %v", err)
	}
}

// ask asks the pool and returns the answer, or the error.
func ask(t *testing.T, p *proc.Pool, key string, env []string, req string) (string, error) {
	t.Helper()
	var got string
	err := p.Ask(t.Context(), key, env, []byte(req+"\n"), func(answer []byte, _ *proc.Stderr) bool {
		got = string(answer)
		return !strings.HasSuffix(got, "reject")
	})
	return got, err
}

// TestPool checks that a process answers request after request, that one
// whose answer is rejected or that fails is replaced, and that one ending
// on a request after answering others is given it again in a new process.
func TestPool(t *testing.T) {
	cmd, env := helperCmd(t, "lines")
	p := proc.NewPool(cmd, 1)
	defer p.Close()
	pid := func(answer string) string { return strings.Fields(answer + " ")[0] }

	a, err := ask(t, p, "", env, "a")
	first := pid(a)
	if err != nil || a != first+" a" {
		t.Fatalf("got %q, %v", a, err)
	}
	if b, _ := ask(t, p, "", env, "b"); b != first+" b" {
		t.Errorf("second request: %q, want the same process %s to answer", b, first)
	}
	if r, err := ask(t, p, "", env, "reject"); err != nil || r != first+" reject" {
		t.Errorf("rejected: %q, %v", r, err)
	}
	second, _ := ask(t, p, "", env, "c")
	if pid(second) == first {
		t.Errorf("the process whose answer was rejected answered again")
	}
	// It has answered: its exit is given to a new process, which exits too.
	_, err = ask(t, p, "", env, "exit")
	var pe *proc.Error
	if !errors.As(err, &pe) || pe.Kind != proc.Exited || pe.Error() != "exited with status 4" || pe.Stderr.End(100) != "dying" {
		t.Errorf("exit: got %v", err)
	}
	if _, err = ask(t, p, "", env, "quit"); !errors.As(err, &pe) || pe.Kind != proc.NoAnswer {
		t.Errorf("quit: got %v, want no answer", err)
	}
	// A process that exits after answering is replaced when next needed.
	bye, _ := ask(t, p, "", env, "bye")
	if next, err := ask(t, p, "", env, "d"); err != nil || pid(next) == pid(bye) {
		t.Errorf("after bye: %q, %v", next, err)
	}
}

// TestPoolKeys checks that processes serve only requests with the
// environment they were started with, and that the pool stays within its
// size, making way for another environment.
func TestPoolKeys(t *testing.T) {
	cmd, env := helperCmd(t, "lines")
	p := proc.NewPool(cmd, 1)
	defer p.Close()
	a, _ := ask(t, p, "a", append(env, "WHO=a"), "env")
	b, _ := ask(t, p, "b", append(env, "WHO=b"), "env")
	a2, _ := ask(t, p, "a", append(env, "WHO=a"), "env")
	if !strings.HasSuffix(a, " a") || !strings.HasSuffix(b, " b") || !strings.HasSuffix(a2, " a") {
		t.Errorf("answers %q, %q, %q: want each from its own environment", a, b, a2)
	}
	if pids := p.IdlePIDs(); len(pids) != 1 {
		t.Errorf("%d processes, want 1", len(pids))
	}
}

// TestPoolTimeout checks that a process that does not answer in time is
// killed, and that a request no process can be started for says why.
func TestPoolTimeout(t *testing.T) {
	cmd, env := helperCmd(t, "lines")
	cmd.Timeout = 200 * time.Millisecond
	p := proc.NewPool(cmd, 2)
	defer p.Close()
	// "echo" mode reads all of stdin before answering: never, here.
	_, err := ask(t, p, "", []string{helperEnv + "=echo", "GORACE=atexit_sleep_ms=0"}, "x")
	var pe *proc.Error
	if !errors.As(err, &pe) || pe.Kind != proc.TimedOut {
		t.Errorf("got %v, want a timeout", err)
	}
	cmd.Path = filepath.Join(t.TempDir(), "gone")
	if _, err = ask(t, proc.NewPool(cmd, 1), "", env, "x"); !errors.As(err, &pe) || pe.Kind != proc.StartFailed {
		t.Errorf("a program that is gone: got %v", err)
	}
}

func TestStderr(t *testing.T) {
	var s proc.Stderr
	if s.Start(10) != "" || s.End(10) != "" {
		t.Errorf("empty: %q, %q", s.Start(10), s.End(10))
	}
	s.Write([]byte("  first words\n"))
	s.Write([]byte(strings.Repeat("é", 3000))) // 6000 bytes: the ring's start cuts a rune
	s.Write([]byte("last words\n"))
	if got := s.Start(11); got != "first words…" {
		t.Errorf("Start = %q", got)
	}
	if got := s.End(12); got != "…éélast words" {
		t.Errorf("End = %q", got)
	}
	if got := s.End(5000); strings.ContainsRune(got, '\uFFFD') || !strings.HasPrefix(got, "é") {
		t.Errorf("End starts %q, want a whole character", got[:4])
	}
}

func TestParseCommand(t *testing.T) {
	const ex = `["python3", "model.py"]`
	argv, err := proc.ParseCommand([]byte(` ["python3", "a b.py", "--x"] `), ex)
	if err != nil || !slices.Equal(argv, []string{"python3", "a b.py", "--x"}) {
		t.Errorf("got %q, %v", argv, err)
	}
	for _, tt := range []struct{ raw, field, msg string }{
		{``, "command", "missing: expected the program and its arguments, e.g. " + ex},
		{`"python3 model.py"`, "command", "expected an array of strings, the program and its arguments (no shell), e.g. " + ex + "; got a string"},
		{`[]`, "command", "empty array: expected the program and its arguments, e.g. " + ex},
		{`["a", null]`, "command.1", "expected a string, got null"},
	} {
		_, err := proc.ParseCommand([]byte(tt.raw), ex)
		var fe *evals.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || fe.Err.Error() != tt.msg {
			t.Errorf("%s: got %v, want %s: %s", tt.raw, err, tt.field, tt.msg)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	at := proc.Place{Dir: dir, Folder: "the target's dir", Beside: "in the target's dir", Example: "./model.py"}
	if err := os.WriteFile(filepath.Join(dir, "model.py"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := proc.Resolve("./model.py", at); err != nil || p != filepath.Join(dir, "model.py") {
		t.Errorf("got %q, %v", p, err)
	}
	// A suite in the current folder has the folder ".": "./model.py" must
	// still be that file, not a program looked up in PATH.
	t.Chdir(dir)
	if p, err := proc.Resolve("./model.py", proc.Place{Dir: "."}); err != nil || p != filepath.Join(dir, "model.py") {
		t.Errorf("from the folder itself: got %q, %v; want the absolute path", p, err)
	}
	for _, tt := range []struct{ name, msg string }{
		{"", "empty program name: expected a program in PATH or a path relative to the target's dir"},
		{"no-such-model-xyz", `program "no-such-model-xyz" not found in PATH: write a path with a slash (./model.py) for a file in the target's dir`},
		{"./gone.py", `cannot run "./gone.py" (` + filepath.Join(dir, "gone.py") + `): no such file or directory`},
	} {
		_, err := proc.Resolve(tt.name, at)
		var fe *evals.FieldError
		if !errors.As(err, &fe) || fe.Field != "command.0" || fe.Err.Error() != tt.msg {
			t.Errorf("%q: got %v, want command.0: %s", tt.name, err, tt.msg)
		}
	}
}

// TestResolveRelativeFolder runs a program named relative to a folder
// that is itself relative to the working directory, as for a suite loaded
// as sub/suite.json, or as suite.json: the path Resolve returns is
// absolute, so it runs from that folder and is never looked up in PATH.
func TestResolveRelativeFolder(t *testing.T) {
	bin, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(root, "sub", "tool")); err != nil {
		t.Skip("no symlinks:", err)
	}
	for _, tt := range []struct{ cwd, dir string }{{root, "sub"}, {filepath.Join(root, "sub"), "."}} {
		t.Run(tt.dir, func(t *testing.T) {
			t.Chdir(tt.cwd)
			p, err := proc.Resolve("./tool", proc.Place{Dir: tt.dir, Folder: "the suite's folder", Beside: "next to the suite", Example: "./tool"})
			if want := filepath.Join(root, "sub", "tool"); err != nil || p != want {
				t.Errorf("got %q, %v; want %s", p, err, want)
			}
			cmd := &proc.Cmd{Path: p, Dir: tt.dir, Timeout: 2 * time.Second, MaxStdout: 64}
			out, _, err := cmd.Run(t.Context(), []string{helperEnv + "=echo", "GORACE=atexit_sleep_ms=0"}, []byte("ran\n"))
			if err != nil || string(out) != "ran\n" {
				t.Errorf("got %q, %v; want the program to run", out, err)
			}
		})
	}
}

func TestEnviron(t *testing.T) {
	environ := []string{"PATH=/bin", "OPENAI_API_KEY=sk", "HOME=/h", "PATH=/usr/bin"}
	for _, tt := range []struct {
		inherit string
		extra   map[string]string
		want    []string
	}{
		{"", nil, []string{"PATH=/bin", "HOME=/h", "PATH=/usr/bin"}},
		{"false", map[string]string{"B": "2", "A": "1"}, []string{"A=1", "B=2"}},
		{`["OPENAI_API_KEY", "PATH", "UNSET"]`, nil, []string{"OPENAI_API_KEY=sk", "PATH=/usr/bin"}},
	} {
		got, err := proc.Environ([]byte(tt.inherit), tt.extra, environ)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("inherit %q: got %q, %v; want %q", tt.inherit, got, err, tt.want)
		}
	}
	names, err := proc.InheritNames([]byte(`["A", "B_2"]`))
	if err != nil || !slices.Equal(names, []string{"A", "B_2"}) {
		t.Errorf("InheritNames: %q, %v", names, err)
	}
	var fe *evals.FieldError
	if _, err := proc.Environ([]byte(`["A=B"]`), nil, nil); !errors.As(err, &fe) || fe.Field != "inherit_env.0" {
		t.Errorf("a bad name: %v", err)
	}
}
