package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

var (
	_ evals.Scorer = (*Exec)(nil)
	_ io.Closer    = (*Exec)(nil)
)

// Close stops the scorer's processes (protocol "lines"): those idle at once,
// those busy as they finish. The suite's owner calls it when the suite ends.
func (e *Exec) Close() error {
	if e.pool != nil {
		e.pool.close()
	}
	return nil
}

type execConfig struct {
	commonConfig
	Command     json.RawMessage   `json:"command"`
	Timeout     *string           `json:"timeout"`
	Env         map[string]string `json:"env"`
	InheritEnv  json.RawMessage   `json:"inherit_env"`
	Concurrency *int              `json:"concurrency"`
	Protocol    *string           `json:"protocol"`
}

// Exec scores a response by running a command: a scorer in any language. The
// command gets one JSON document on stdin and prints one JSON object on
// stdout: {"score": 0..1, "pass": optional, "reason": optional}. No shell is
// involved. Anything else (a non-zero exit, a timeout, output that is not one
// such object) leaves the response unscored, with the reason and the start of
// the command's stderr.
//
// With protocol "lines" the command is started once and kept: it reads one
// case per line and answers each with one line (see linePool).
type Exec struct {
	common
	path    string   // the program, resolved when the suite loads
	args    []string // command[1:]
	dir     string   // the working directory: the suite's folder
	timeout time.Duration
	env     []string // the environment, NAME=value
	slots   chan struct{}
	pool    *linePool // the running processes, with protocol "lines"; nil with "once"
}

// Exec defaults and limits.
const (
	defaultExecTimeout = 30 * time.Second
	maxExecStdout      = 1 << 20 // bytes of stdout read; more is an error
	maxExecStderr      = 4 << 10 // bytes of stderr kept for reasons
	execStderrQuote    = 300     // runes of stderr a reason quotes
	maxExecReason      = 1000    // runes of the command's reason kept
)

func newExec(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	var c execConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newCommon(&c.commonConfig)
	if err != nil {
		return nil, err
	}
	e := &Exec{common: cm, dir: env.Dir, timeout: defaultExecTimeout}
	argv, err := parseCommand(c.Command)
	if err != nil {
		return nil, err
	}
	if e.path, err = resolveProgram(argv[0], env.Dir); err != nil {
		return nil, err
	}
	e.args = argv[1:]
	if c.Timeout != nil {
		d, err := time.ParseDuration(*c.Timeout)
		if err != nil || d <= 0 {
			return nil, evals.FieldErrorf("timeout", "got %q, expected a duration above 0 such as 500ms, 30s or 2m", *c.Timeout)
		}
		e.timeout = d
	}
	n := runtime.GOMAXPROCS(0)
	if c.Concurrency != nil {
		if *c.Concurrency < 1 {
			return nil, evals.FieldErrorf("concurrency", "expected an integer >= 1, got %d", *c.Concurrency)
		}
		n = *c.Concurrency
	}
	e.slots = make(chan struct{}, n)
	if e.env, err = execEnv(c.InheritEnv, c.Env, env.environ()); err != nil {
		return nil, err
	}
	if c.Protocol != nil {
		switch *c.Protocol {
		case "once":
		case "lines":
			e.pool = &linePool{max: n}
		default:
			return nil, evals.FieldErrorf("protocol", "got %q, expected \"once\" (a process per response) or \"lines\" (long-lived processes, a line per response)", *c.Protocol)
		}
	}
	return e, nil
}

func parseCommand(raw json.RawMessage) ([]string, error) {
	const example = `["python3", "score.py"]`
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, evals.FieldErrorf("command", "missing: expected the program and its arguments, e.g. %s", example)
	}
	if raw[0] != '[' {
		return nil, evals.FieldErrorf("command", "expected an array of strings, the program and its arguments (no shell), e.g. %s; got %s", example, jsonKind(raw))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, evals.FieldErrorf("command", "%v", err)
	}
	if len(elems) == 0 {
		return nil, evals.FieldErrorf("command", "empty array: expected the program and its arguments, e.g. %s", example)
	}
	argv := make([]string, len(elems))
	for i, el := range elems {
		field := "command." + strconv.Itoa(i)
		if len(el) == 0 || el[0] != '"' {
			return nil, evals.FieldErrorf(field, "expected a string, got %s", jsonKind(el))
		}
		if err := json.Unmarshal(el, &argv[i]); err != nil {
			return nil, evals.FieldErrorf(field, "%v", err)
		}
		if strings.IndexByte(argv[i], 0) >= 0 {
			return nil, evals.FieldErrorf(field, "holds a NUL character, which no program argument can")
		}
	}
	if argv[0] == "" {
		return nil, evals.FieldErrorf("command.0", "empty program name: expected a program in PATH or a path relative to the suite's folder")
	}
	return argv, nil
}

// resolveProgram finds the program: a name with a slash is a path, relative
// to the suite's folder; any other name is looked up in PATH. It must exist
// and be executable when the suite loads.
func resolveProgram(name, dir string) (string, error) {
	if !strings.Contains(name, "/") {
		p, err := exec.LookPath(name)
		if err != nil && !errors.Is(err, exec.ErrDot) {
			return "", evals.FieldErrorf("command.0", "program %q not found in PATH: write a path with a slash (./score.py) for a file next to the suite", name)
		}
		if p, err = filepath.Abs(p); err != nil {
			return "", evals.FieldErrorf("command.0", "%v", err)
		}
		return p, nil
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", evals.FieldErrorf("command.0", "cannot run %q (%s): %v", name, p, err)
	case fi.IsDir():
		return "", evals.FieldErrorf("command.0", "cannot run %q (%s): is a directory", name, p)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0:
		return "", evals.FieldErrorf("command.0", "%q (%s) is not executable: make it so (chmod +x), or name its interpreter first: [\"python3\", %q]", name, p, name)
	}
	return p, nil
}

// secretWords mark environment variables that hold credentials, by name.
var secretWords = []string{"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "COOKIE"}

// secretName reports whether an environment variable's name says it holds
// a credential, so that exec does not pass it on unless told to.
func secretName(name string) bool {
	up := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}

// lookupEnv finds a variable in an environment as os.Environ lists it; the
// last of several settings wins, as it does for a process.
func lookupEnv(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// execEnv builds the command's environment from inherit_env and env: all of
// rubric's environment (environ) but the variables that look like
// credentials (the default, true), none of it (false), or the variables
// named (an array); then env, which adds or overrides.
func execEnv(inherit json.RawMessage, extra map[string]string, environ []string) ([]string, error) {
	var out []string
	inherit = bytes.TrimSpace(inherit)
	switch {
	case len(inherit) == 0 || string(inherit) == "true":
		for _, kv := range environ {
			if name, _, _ := strings.Cut(kv, "="); !secretName(name) {
				out = append(out, kv)
			}
		}
	case string(inherit) == "false":
	case inherit[0] == '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(inherit, &elems); err != nil {
			return nil, evals.FieldErrorf("inherit_env", "%v", err)
		}
		for i, el := range elems {
			field := "inherit_env." + strconv.Itoa(i)
			var name string
			if len(el) == 0 || el[0] != '"' || json.Unmarshal(el, &name) != nil {
				return nil, evals.FieldErrorf(field, "expected the name of an environment variable, got %s", jsonKind(el))
			}
			if !evals.ValidEnvName(name) {
				return nil, evals.FieldErrorf(field, "%q is not an environment variable name: expected letters, digits and '_'", name)
			}
			if v, ok := lookupEnv(environ, name); ok {
				out = append(out, name+"="+v)
			}
		}
	default:
		return nil, evals.FieldErrorf("inherit_env", "expected true, false or an array of variable names, got %s", jsonKind(inherit))
	}
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		if !evals.ValidEnvName(name) {
			return nil, evals.FieldErrorf("env."+name, "%q is not an environment variable name: expected letters, digits and '_'", name)
		}
		if strings.IndexByte(extra[name], 0) >= 0 {
			return nil, evals.FieldErrorf("env."+name, "holds a NUL character, which no environment variable can")
		}
		out = append(out, name+"="+extra[name])
	}
	return out, nil
}

// execInput is the document a command reads on stdin.
type execInput struct {
	CaseID   string          `json:"case_id"`
	Input    []evals.Message `json:"input"`
	Output   string          `json:"output"`
	Expected any             `json:"expected"`
	Vars     map[string]any  `json:"vars"`
	Metadata map[string]any  `json:"metadata"`
	Tags     []string        `json:"tags"`
}

// execResult is the object a command prints on stdout.
type execResult struct {
	Score  *float64 `json:"score"`
	Pass   *bool    `json:"pass"`
	Reason *string  `json:"reason"`
}

// Score implements evals.Scorer.
func (e *Exec) Score(ctx context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	s, why, ok := e.subject(in.Output)
	if !ok {
		return e.verdict(0, why)
	}
	doc := execInput{Input: in.Messages, Output: s, Vars: map[string]any{}, Metadata: map[string]any{}, Tags: []string{}}
	if in.Case != nil {
		doc.CaseID, doc.Expected = in.Case.ID, in.Case.Expected
		if in.Case.Vars != nil {
			doc.Vars = in.Case.Vars
		}
		if in.Case.Metadata != nil {
			doc.Metadata = in.Case.Metadata
		}
		if in.Case.Tags != nil {
			doc.Tags = in.Case.Tags
		}
	}
	if doc.Input == nil {
		doc.Input = []evals.Message{}
	}
	// The encoder escapes every newline inside strings, so the document is
	// one line, ended by the newline Encode adds: lines mode relies on it.
	var stdin bytes.Buffer
	enc := json.NewEncoder(&stdin)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return unscored("exec: cannot write the case as JSON: " + err.Error())
	}
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	case <-ctx.Done():
		return unscored("exec: " + ctx.Err().Error())
	}
	if e.pool != nil {
		return e.serve(ctx, in, stdin.Bytes())
	}
	return e.run(ctx, in, stdin.Bytes())
}

// run runs the command once on stdin and reads its verdict.
func (e *Exec) run(ctx context.Context, in *evals.Input, stdin []byte) evals.Verdict {
	runCtx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, e.path, e.args...)
	cmd.Dir = e.dir
	cmd.Env, _ = e.environ(in)
	cmd.Stdin = bytes.NewReader(stdin)
	stdout := &capped{max: maxExecStdout, fail: true}
	stderr := &capped{max: maxExecStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	killGroup(cmd)
	// A process the command left behind may hold its output open: stop
	// waiting for it soon after the command ends.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	tail := func() string {
		if stderr.buf.Len() == 0 {
			return ""
		}
		s := strings.TrimSpace(stderr.buf.String())
		return "; stderr: " + strconv.Quote(clip(s, execStderrQuote))
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return unscored("exec: stopped: " + ctx.Err().Error())
	case err != nil && runCtx.Err() != nil:
		return unscored(fmt.Sprintf("exec: %s timed out after %s and was killed%s", e.name(), e.timeout, tail()))
	case stdout.over:
		return unscored(fmt.Sprintf("exec: %s printed more than %d bytes on stdout%s", e.name(), maxExecStdout, tail()))
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return unscored(fmt.Sprintf("exec: %s %s%s", e.name(), exitText(ee), tail()))
		}
		if errors.Is(err, exec.ErrWaitDelay) {
			return unscored(fmt.Sprintf("exec: %s ended but a process it started kept its output open%s", e.name(), tail()))
		}
		return unscored(fmt.Sprintf("exec: cannot run %s: %v", e.name(), err))
	}
	return e.result(stdout.buf.Bytes(), tail)
}

// result reads the command's answer, out, into a verdict; tail gives the
// stderr quote for a reason.
func (e *Exec) result(out []byte, tail func() string) evals.Verdict {
	res, why := parseExecResult(out)
	if why != "" {
		return unscored(fmt.Sprintf("exec: %s: %s%s", e.name(), why, tail()))
	}
	v := e.verdict(*res.Score, "")
	if res.Pass != nil {
		v.Pass = *res.Pass
	}
	if res.Reason != nil {
		v.Reason = clip(*res.Reason, maxExecReason)
	}
	if v.Reason == "" && (v.Score < 1 || !v.Pass) {
		v.Reason = fmt.Sprintf("exec: %s gave score %s and no reason", e.name(), formatScore(v.Score))
	}
	return v
}

// name names the command for reasons: the program, and its first argument
// (the script, for an interpreter).
func (e *Exec) name() string {
	n := filepath.Base(e.path)
	if len(e.args) > 0 {
		n += " " + e.args[0]
	}
	return strconv.Quote(clip(n, 60))
}

// environ is the command's environment for in: never the secrets of the
// target under test (its API key, in.SecretEnv), unless env sets them.
// withheld names the variables left out, joined by ",", "" for none: the
// environment depends on nothing else.
func (e *Exec) environ(in *evals.Input) (env []string, withheld string) {
	env = e.env
	var names []string
	for _, name := range in.SecretEnv {
		prefix := name + "="
		i := slices.IndexFunc(env, func(kv string) bool { return strings.HasPrefix(kv, prefix) })
		if i < 0 {
			continue
		}
		if len(names) == 0 {
			env = slices.Clone(env)
		}
		env = slices.Delete(env, i, i+1)
		names = append(names, name)
	}
	return env, strings.Join(names, ",")
}

func exitText(ee *exec.ExitError) string {
	if code := ee.ExitCode(); code >= 0 {
		return fmt.Sprintf("exited with status %d", code)
	}
	return "was killed: " + ee.String()
}

// parseExecResult reads the command's stdout: exactly one JSON object with a
// score from 0 to 1 and optionally pass and reason, and nothing else.
func parseExecResult(out []byte) (execResult, string) {
	var r execResult
	if len(bytes.TrimSpace(out)) == 0 {
		return r, `printed nothing on stdout: expected one JSON object such as {"score": 1, "reason": "..."}`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return r, fmt.Sprintf("%q in its output: expected %s, got %s (stdout %s)", te.Field, describeType(te.Type), article(te.Value), quote(string(out)))
		}
		return r, fmt.Sprintf("stdout is not a result object (%v): expected one JSON object such as {\"score\": 1, \"reason\": \"...\"}, got %s", err, quote(string(out)))
	}
	if rest := bytes.TrimSpace(out[dec.InputOffset():]); len(rest) > 0 {
		return r, fmt.Sprintf("stdout has more than the result object: %s after it; print diagnostics on stderr", quote(string(rest)))
	}
	switch {
	case r.Score == nil:
		return r, fmt.Sprintf(`no "score" in its output %s: expected a number from 0 to 1`, quote(string(out)))
	case !(*r.Score >= 0 && *r.Score <= 1):
		return r, fmt.Sprintf("score %v is out of range: expected a number from 0 to 1", *r.Score)
	}
	return r, ""
}

// capped is an io.Writer that keeps the first max bytes written to it. With
// fail, a write past max fails, which stops the command's output; without,
// the rest is read and dropped.
type capped struct {
	buf  bytes.Buffer
	max  int
	fail bool
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if len(p) > room {
		c.buf.Write(p[:max(room, 0)])
		c.over = true
		if c.fail {
			return 0, io.ErrShortWrite
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}
