package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/proc"
)

var (
	_ evals.Scorer = (*Exec)(nil)
	_ io.Closer    = (*Exec)(nil)
)

// Close stops the scorer's processes (protocol "lines"): those idle at once,
// those busy as they finish. The suite's owner calls it when the suite ends.
func (e *Exec) Close() error {
	if e.pool != nil {
		return e.pool.Close()
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
// case per line and answers each with one line (see proc.Pool).
type Exec struct {
	common
	cmd   proc.Cmd // the program, resolved when the suite loads, in the suite's folder
	env   []string // the environment, NAME=value
	slots chan struct{}
	pool  *proc.Pool // the running processes, with protocol "lines"; nil with "once"
}

// Exec defaults and limits.
const (
	defaultExecTimeout = 30 * time.Second
	maxExecStdout      = 1 << 20 // bytes of stdout read; more is an error
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
	e := &Exec{common: cm, cmd: proc.Cmd{Dir: env.Dir, Timeout: defaultExecTimeout, MaxStdout: maxExecStdout}}
	argv, err := proc.ParseCommand(c.Command, `["python3", "score.py"]`)
	if err != nil {
		return nil, err
	}
	at := proc.Place{Dir: env.Dir, Folder: "the suite's folder", Beside: "next to the suite", Example: "./score.py"}
	if e.cmd.Path, err = proc.Resolve(argv[0], at); err != nil {
		return nil, err
	}
	e.cmd.Args = argv[1:]
	if c.Timeout != nil {
		d, err := time.ParseDuration(*c.Timeout)
		if err != nil || d <= 0 {
			return nil, evals.FieldErrorf("timeout", "got %q, expected a duration above 0 such as 500ms, 30s or 2m", *c.Timeout)
		}
		e.cmd.Timeout = d
	}
	n := runtime.GOMAXPROCS(0)
	if c.Concurrency != nil {
		if *c.Concurrency < 1 {
			return nil, evals.FieldErrorf("concurrency", "expected an integer >= 1, got %d", *c.Concurrency)
		}
		n = *c.Concurrency
	}
	e.slots = make(chan struct{}, n)
	if e.env, err = proc.Environ(c.InheritEnv, c.Env, env.environ()); err != nil {
		return nil, err
	}
	if c.Protocol != nil {
		switch *c.Protocol {
		case "once":
		case "lines":
			e.pool = proc.NewPool(&e.cmd, n)
		default:
			return nil, evals.FieldErrorf("protocol", "got %q, expected \"once\" (a process per response) or \"lines\" (long-lived processes, a line per response)", *c.Protocol)
		}
	}
	return e, nil
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
	// Transcript is a conversation's every message; omitted for a single
	// answer.
	Transcript []evals.Message `json:"transcript,omitempty"`
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
	doc := execInput{Input: in.Messages, Output: s, Vars: map[string]any{}, Metadata: map[string]any{}, Tags: []string{}, Transcript: in.Transcript}
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
	env, _ := e.environ(in)
	out, stderr, err := e.cmd.Run(ctx, env, stdin)
	tail := func() string {
		s := stderr.Start(execStderrQuote)
		if s == "" {
			return ""
		}
		return "; stderr: " + strconv.Quote(s)
	}
	var pe *proc.Error
	if !errors.As(err, &pe) {
		return e.result(out, tail)
	}
	switch pe.Kind {
	case proc.Canceled:
		return unscored("exec: stopped: " + ctx.Err().Error())
	case proc.TimedOut:
		return unscored(fmt.Sprintf("exec: %s timed out after %s and was killed%s", e.cmd.Name(), e.cmd.Timeout, tail()))
	case proc.Overflow:
		return unscored(fmt.Sprintf("exec: %s printed more than %d bytes on stdout%s", e.cmd.Name(), maxExecStdout, tail()))
	case proc.Exited:
		return unscored(fmt.Sprintf("exec: %s %s%s", e.cmd.Name(), pe.Error(), tail()))
	case proc.LeftOpen:
		return unscored(fmt.Sprintf("exec: %s ended but a process it started kept its output open%s", e.cmd.Name(), tail()))
	}
	return unscored(fmt.Sprintf("exec: cannot run %s: %v", e.cmd.Name(), pe.Err))
}

// serve scores one response with a process of the pool: stdin is the case,
// one line.
func (e *Exec) serve(ctx context.Context, in *evals.Input, stdin []byte) evals.Verdict {
	env, key := e.environ(in)
	var v evals.Verdict
	err := e.pool.Ask(ctx, key, env, stdin, func(answer []byte, stderr *proc.Stderr) bool {
		v = e.result(answer, func() string { return linesTail(stderr) })
		return !v.Unscored
	})
	var pe *proc.Error
	if !errors.As(err, &pe) {
		return v
	}
	name, tail := e.cmd.Name(), linesTail(pe.Stderr)
	switch pe.Kind {
	case proc.Canceled:
		return unscored("exec: stopped: " + ctx.Err().Error())
	case proc.TimedOut:
		return unscored(fmt.Sprintf("exec: %s timed out after %s and was killed%s", name, e.cmd.Timeout, tail))
	case proc.SlowRead:
		return unscored(fmt.Sprintf("exec: %s answered before reading its whole line, then did not read the rest within %s, and was killed%s", name, e.cmd.Timeout, tail))
	case proc.Overflow:
		return unscored(fmt.Sprintf("exec: %s printed a line of more than %d bytes on stdout%s", name, maxExecStdout, tail))
	case proc.ReadFailed:
		return unscored(fmt.Sprintf("exec: reading the answer of %s: %v%s", name, pe.Err, tail))
	case proc.Exited:
		return unscored(fmt.Sprintf("exec: %s %s without answering%s", name, pe.Error(), tail))
	case proc.NoAnswer:
		return unscored(fmt.Sprintf("exec: %s exited with status 0 without answering: with protocol \"lines\" it must answer each line of stdin with a line on stdout%s", name, tail))
	}
	return unscored(fmt.Sprintf("exec: cannot run %s: %v", name, pe.Err))
}

// linesTail quotes the end of a long-lived process's stderr for a reason:
// the end, since a process that has run a while may have written much
// before what matters.
func linesTail(stderr *proc.Stderr) string {
	s := stderr.End(execStderrQuote)
	if s == "" {
		return ""
	}
	return "; stderr: " + strconv.Quote(s)
}

// result reads the command's answer, out, into a verdict; tail gives the
// stderr quote for a reason.
func (e *Exec) result(out []byte, tail func() string) evals.Verdict {
	res, why := parseExecResult(out)
	if why != "" {
		return unscored(fmt.Sprintf("exec: %s: %s%s", e.cmd.Name(), why, tail()))
	}
	v := e.verdict(*res.Score, "")
	if res.Pass != nil {
		v.Pass = *res.Pass
	}
	if res.Reason != nil {
		v.Reason = evals.Clip(*res.Reason, maxExecReason)
	}
	if v.Reason == "" && (v.Score < 1 || !v.Pass) {
		v.Reason = fmt.Sprintf("exec: %s gave score %s and no reason", e.cmd.Name(), formatScore(v.Score))
	}
	return v
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
