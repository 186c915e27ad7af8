package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/proc"
)

// Exec asks a local command for each answer: the model is a program. rubric
// writes the request on its stdin as one line of JSON (RequestBody) and reads
// the answer from its stdout: a JSON object {"text", "usage", "finish",
// "tool_calls"}, or with format "text" the whole of stdout. No shell is
// involved. With protocol "once" each request runs the command anew; with
// "lines" up to concurrency processes are kept running, each reading a
// request per line and answering each with a line (proc.Pool), until Close.
//
// A command that exits non-zero, cannot start, or breaks protocol "lines"
// fails the request with an error of kind exec quoting the end of its
// stderr, which is not retried; one that runs past the target's timeout is
// killed with every process it started, a timeout; an answer that is not
// what the format says is a decode error quoting it. It is safe for
// concurrent use.
type Exec struct {
	cmd      proc.Cmd
	argv     []string // the command as the target gives it
	env      []string // the command's environment, NAME=value
	lines    bool     // protocol "lines"
	text     bool     // format "text"
	model    string   // the target's model, "" when it sets none
	params   *evals.Params
	sentURL  string // exec:["python3","model.py"], as recorded
	scope    string // what besides the body the cache keys on
	slots    chan struct{}
	pool     *proc.Pool // protocol "lines"; nil with "once"
	secrets  []string   // the names of the credentials it inherits
	redactor *strings.Replacer
}

var (
	_ evals.Provider = (*Exec)(nil)
	_ Cacheable      = (*Exec)(nil)
	_ SecretHolder   = (*Exec)(nil)
	_ io.Closer      = (*Exec)(nil)
)

// ExecConfig is an exec target's own fields; model, params, concurrency and
// timeout are every target's (evals.TargetSpec).
type ExecConfig struct {
	// Command is the program and its arguments, run without a shell: a
	// JSON array of strings, checked by proc.ParseCommand.
	Command json.RawMessage `json:"command,omitempty"`
	// Protocol is "once" (a process per request, the default) or "lines"
	// (long-lived processes, a line per request).
	Protocol *string `json:"protocol,omitempty"`
	// Format is how stdout is read: "json" (the default), an object
	// {"text", "usage", "finish", "tool_calls"}, or "text", stdout itself.
	Format *string `json:"format,omitempty"`
	// Dir is the folder the command runs in, relative to the file that
	// defines the target; that file's folder by default.
	Dir string `json:"dir,omitempty"`
	// Env adds variables to the command's environment, or overrides them.
	Env map[string]string `json:"env,omitempty"`
	// InheritEnv says which of rubric's variables the command gets: true
	// (all but credentials), false, or an array of names.
	InheritEnv json.RawMessage `json:"inherit_env,omitempty"`
}

// maxExecAnswer bounds what a command may print for one answer, as
// maxResponseBody bounds an HTTP answer.
const maxExecAnswer = maxResponseBody

// execStderrQuote is how many runes of its stderr's end an error quotes.
const execStderrQuote = 300

// NewExec builds an exec provider. The program must be found, and dir
// exist, when the suite loads; the environment is read now, through env.
func NewExec(cfg ExecConfig, spec evals.TargetSpec, env Env) (*Exec, error) {
	var errs []error
	p := &Exec{model: spec.Model, params: spec.Params}
	p.cmd = proc.Cmd{Dir: spec.Dir, Timeout: spec.TimeoutOr(), MaxStdout: maxExecAnswer}
	dirOK := true
	if cfg.Dir != "" {
		p.cmd.Dir = cfg.Dir
		if !filepath.IsAbs(cfg.Dir) {
			p.cmd.Dir = filepath.Join(spec.Dir, cfg.Dir)
		}
		if fi, err := os.Stat(p.cmd.Dir); err != nil || !fi.IsDir() {
			dirOK = false
			why := "not a directory"
			var pe *os.PathError
			if errors.As(err, &pe) {
				why = pe.Err.Error()
			}
			errs = append(errs, evals.FieldErrorf("dir", "cannot run commands in %q (%s): %s", cfg.Dir, p.cmd.Dir, why))
		}
	}
	argv, err := proc.ParseCommand(cfg.Command, `["python3", "model.py"]`)
	if err != nil {
		errs = append(errs, err)
	} else if dirOK {
		at := proc.Place{Dir: p.cmd.Dir, Folder: "the folder it runs in (dir)", Beside: "in the folder it runs in", Example: "./model.py"}
		if p.cmd.Path, err = proc.Resolve(argv[0], at); err != nil {
			errs = append(errs, err)
		}
		p.cmd.Args, p.argv = argv[1:], argv
	}
	if cfg.Protocol != nil {
		switch *cfg.Protocol {
		case "once":
		case "lines":
			p.lines = true
		default:
			errs = append(errs, evals.FieldErrorf("protocol", "got %q, expected \"once\" (a process per request) or \"lines\" (long-lived processes, a line per request)", *cfg.Protocol))
		}
	}
	if cfg.Format != nil {
		switch *cfg.Format {
		case "json":
		case "text":
			p.text = true
		default:
			errs = append(errs, evals.FieldErrorf("format", "got %q, expected \"json\" (an object {\"text\": ..., \"usage\": ..., \"finish\": ...}) or \"text\" (stdout is the answer)", *cfg.Format))
		}
	}
	environ := env.environ()
	if p.env, err = proc.Environ(cfg.InheritEnv, cfg.Env, environ); err != nil {
		errs = append(errs, err)
	}
	// The params are checked as the openai provider sends them.
	if _, perrs := bodySuffix(spec.Params, nil); len(perrs) > 0 {
		errs = append(errs, perrs...)
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}

	// Credentials the command inherits, by the names inherit_env lists:
	// scorers do not get them, and errors do not quote them. So with
	// values env sets under such a name.
	names, _ := proc.InheritNames(cfg.InheritEnv)
	var values []string
	for _, name := range names {
		if v, ok := proc.LookupEnv(environ, name); ok && proc.SecretName(name) {
			p.secrets = append(p.secrets, name)
			values = append(values, v)
		}
	}
	for name, v := range cfg.Env {
		if proc.SecretName(name) {
			values = append(values, v)
		}
	}
	p.redactor = newRedactor(values)

	cmdJSON, _ := marshalValue(p.argv)
	p.sentURL = "exec:" + string(cmdJSON)
	scope, _ := marshalValue(struct {
		Command []string          `json:"command"`
		Dir     string            `json:"dir"`
		Env     map[string]string `json:"env,omitempty"`
		Text    bool              `json:"text,omitempty"`
	}{p.argv, p.cmd.Dir, cfg.Env, p.text})
	p.scope = "exec:" + string(scope)
	n := spec.ConcurrencyOr()
	p.slots = make(chan struct{}, n)
	if p.lines {
		p.pool = proc.NewPool(&p.cmd, n)
	}
	return p, nil
}

// BaseURL returns what the response cache keys on besides the stdin
// document: the command as given, the folder it runs in, env and the
// format, so that changing any of them asks the command again.
func (p *Exec) BaseURL() string { return p.scope }

// SentURL returns "exec:" and the command as the target gives it, a JSON
// array, as results record it.
func (p *Exec) SentURL() string { return p.sentURL }

// SecretEnv names the variables inherit_env passes on whose names say they
// hold credentials: the command's secrets, which scorers do not get.
func (p *Exec) SecretEnv() []string { return slices.Clone(p.secrets) }

// Close stops the processes of protocol "lines": those idle at once, those
// busy as they finish. The endpoint's owner calls it when the suite ends.
func (p *Exec) Close() error {
	if p.pool != nil {
		return p.pool.Close()
	}
	return nil
}

// RequestBody returns the document the command reads on stdin for req, as
// results record it, without the newline that ends it on stdin:
//
//	{"messages":[{"role":"user","content":"…"}],"case_id":"c1","repeat":0,"model":"","params":{}}
//
// messages are the conversation so far, OpenAI's chat messages (with
// tool_calls and tool_call_id where a conversation has them,
// appendMessages); model is the target's model, "" when it sets none;
// params the target's params, with those the request adds (a judge's
// temperature 0) where the target leaves them unset, {} when none. A
// request that offers tools adds "tools" (OpenAI's, without mocks),
// "tool_choice" ("auto" unless the suite says) and "step" (the request's
// index in its case's conversation, from 0). Newlines in strings are
// escaped, so the document is one line.
func (p *Exec) RequestBody(req *evals.Request) ([]byte, error) {
	body, perr := p.body(req)
	if perr != nil {
		return nil, perr
	}
	return body, nil
}

func (p *Exec) body(req *evals.Request) ([]byte, *evals.ProviderError) {
	params := p.params
	if req.Params != nil {
		params = mergeParams(p.params, req.Params)
	}
	suffix, errs := bodySuffix(params, nil)
	if len(errs) > 0 {
		return nil, &evals.ProviderError{Kind: evals.ErrKindRender, Err: errors.Join(errs...),
			Message: "the request's params: " + errors.Join(errs...).Error()}
	}
	var tools, choice []byte
	if len(req.Tools) > 0 {
		var err error
		if tools, err = toolDefs(req.Tools); err == nil {
			choice, err = toolChoice(req)
		}
		if err != nil {
			return nil, &evals.ProviderError{Kind: evals.ErrKindRender, Err: err, Message: "the request's tools: " + err.Error()}
		}
	}
	b := make([]byte, 0, 120+len(req.CaseID)+len(p.model)+messagesSize(req.Messages)+len(suffix)+len(tools)+len(choice))
	b = append(b, `{"messages":`...)
	b = appendMessages(b, req.Messages)
	b = append(b, `,"case_id":`...)
	b = appendString(b, req.CaseID)
	b = append(b, `,"repeat":`...)
	b = strconv.AppendInt(b, int64(req.Repeat), 10)
	b = append(b, `,"model":`...)
	b = appendString(b, p.model)
	b = append(b, `,"params":{`...)
	// bodySuffix writes the params as members following others:
	// ,"temperature":0,"seed":7}
	b = append(b, bytes.TrimPrefix(suffix, []byte{','})...)
	if tools != nil {
		b = append(b, `,"tools":`...)
		b = append(b, tools...)
		b = append(b, `,"tool_choice":`...)
		b = append(b, choice...)
		b = append(b, `,"step":`...)
		b = strconv.AppendInt(b, int64(req.Step), 10)
	}
	return append(b, '}'), nil
}

// Complete runs the command for req and reads its answer.
func (p *Exec) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	if ctx.Err() != nil {
		return nil, canceledError(ctx, nil, "canceled before the command was run")
	}
	body, perr := p.body(req)
	if perr != nil {
		return nil, perr
	}
	sent := &evals.SentRequest{URL: p.sentURL, Body: body}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-ctx.Done():
		return nil, canceledError(ctx, sent, "canceled while waiting for the command to be free")
	}
	stdin := append(body[:len(body):len(body)], '\n')
	var resp *evals.Response
	if p.pool == nil {
		out, stderr, err := p.cmd.Run(ctx, p.env, stdin)
		if err != nil {
			return nil, p.failed(ctx, err, sent)
		}
		if p.text {
			resp = &evals.Response{Text: string(trimNewline(out))}
		} else if resp, perr = p.decode(out, stderr, req.Step); perr != nil {
			perr.Sent = sent
			return nil, perr
		}
	} else {
		err := p.pool.Ask(ctx, "", p.env, stdin, func(answer []byte, stderr *proc.Stderr) bool {
			if p.text {
				resp = &evals.Response{Text: string(bytes.TrimSuffix(answer, []byte{'\r'}))}
				return true
			}
			var derr *evals.ProviderError
			resp, derr = p.decode(answer, stderr, req.Step)
			perr = derr
			return derr == nil
		})
		switch {
		case err != nil:
			return nil, p.failed(ctx, err, sent)
		case perr != nil:
			perr.Sent = sent
			return nil, perr
		}
	}
	resp.Sent = sent
	return resp, nil
}

// trimNewline drops one newline ending out, "\n" or "\r\n", as print adds.
func trimNewline(out []byte) []byte {
	out = bytes.TrimSuffix(out, []byte{'\n'})
	return bytes.TrimSuffix(out, []byte{'\r'})
}

// execAnswer is the object a command prints with format "json".
type execAnswer struct {
	Text      *string         `json:"text"`
	Usage     *usageJSON      `json:"usage"`
	Finish    *string         `json:"finish"`
	ToolCalls json.RawMessage `json:"tool_calls"`
}

// decode reads an answer with format "json", to the request of step step:
// exactly one object with a string "text", and optionally "usage",
// "finish" and "tool_calls" (parseToolCalls), and nothing else. An answer
// that calls tools may leave out "text".
func (p *Exec) decode(out []byte, stderr *proc.Stderr, step int) (*evals.Response, *evals.ProviderError) {
	fail := func(format string, args ...any) (*evals.Response, *evals.ProviderError) {
		msg := fmt.Sprintf("%s: ", p.cmd.Name()) + fmt.Sprintf(format, args...)
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode, Message: p.redact(msg) + p.tail(stderr)}
	}
	const want = `expected one JSON object such as {"text": "…", "usage": {"prompt_tokens": 12, "completion_tokens": 3}, "finish": "stop"}, or "format": "text"`
	if len(bytes.TrimSpace(out)) == 0 {
		return fail("printed nothing on stdout: %s", want)
	}
	a := execAnswer{Usage: &usageJSON{TotalTokens: noTotal}}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fail("%q in its answer: expected %s, got %s; stdout: %s", te.Field, jsonKind(te.Type), te.Value, p.snip(out))
		}
		return fail("stdout is not an answer object (%v): %s; stdout: %s", err, want, p.snip(out))
	}
	if rest := bytes.TrimSpace(out[dec.InputOffset():]); len(rest) > 0 {
		return fail("stdout has more than the answer object: %s after it; print diagnostics on stderr", p.snip(rest))
	}
	var calls []evals.ToolCall
	if len(a.ToolCalls) > 0 && string(a.ToolCalls) != "null" {
		var err error
		if calls, err = parseToolCalls(a.ToolCalls, step); err != nil {
			return fail("\"tool_calls\" in its answer: %v; stdout: %s", err, p.snip(out))
		}
	}
	if a.Text == nil && len(calls) == 0 {
		return fail(`no "text" in its answer: expected the answer as a string, or "tool_calls"; stdout: %s`, p.snip(out))
	}
	u := newUsage()
	if a.Usage != nil {
		u = *a.Usage
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"prompt_tokens", u.PromptTokens}, {"completion_tokens", u.CompletionTokens}, {"total_tokens", u.TotalTokens}} {
		if c.n < 0 && !(c.name == "total_tokens" && c.n == noTotal) {
			return fail("usage.%s is %d: expected an integer, 0 or more", c.name, c.n)
		}
	}
	r := &evals.Response{Usage: u.usage(), ToolCalls: calls}
	if a.Text != nil {
		r.Text = *a.Text
	}
	if a.Finish != nil {
		r.Finish = *a.Finish
	}
	return r, nil
}

// failed words a failure of the command, err from proc, as a provider
// error: kind exec when it failed to run or answer as it should, timeout,
// decode when it printed too much, canceled when ctx ended.
func (p *Exec) failed(ctx context.Context, err error, sent *evals.SentRequest) *evals.ProviderError {
	var pe *proc.Error
	if !errors.As(err, &pe) {
		return &evals.ProviderError{Kind: evals.ErrKindExec, Message: p.redact(err.Error()), Sent: sent, Err: err}
	}
	if pe.Kind == proc.Canceled {
		return canceledError(ctx, sent, "canceled while the command ran")
	}
	name, tail := p.cmd.Name(), p.tail(pe.Stderr)
	out := &evals.ProviderError{Kind: evals.ErrKindExec, Sent: sent, Err: err}
	var msg string
	switch pe.Kind {
	case proc.TimedOut:
		out.Kind, out.Err = evals.ErrKindTimeout, context.DeadlineExceeded
		msg = fmt.Sprintf("%s timed out after %v and was killed", name, p.cmd.Timeout)
	case proc.Overflow:
		out.Kind = evals.ErrKindDecode
		if p.pool != nil {
			msg = fmt.Sprintf("%s printed a line of more than %d MiB on stdout", name, maxExecAnswer>>20)
		} else {
			msg = fmt.Sprintf("%s printed more than %d MiB on stdout", name, maxExecAnswer>>20)
		}
	case proc.Exited:
		msg = fmt.Sprintf("%s %s", name, pe.Error())
		if p.pool != nil {
			msg += " without answering"
		}
	case proc.NoAnswer:
		msg = fmt.Sprintf("%s exited with status 0 without answering: with protocol \"lines\" it must answer each line of stdin with a line on stdout", name)
	case proc.SlowRead:
		msg = fmt.Sprintf("%s answered before reading its whole line, then did not read the rest within %v, and was killed", name, p.cmd.Timeout)
	case proc.ReadFailed:
		msg = fmt.Sprintf("reading the answer of %s: %v", name, pe.Err)
	case proc.LeftOpen:
		msg = fmt.Sprintf("%s ended but a process it started kept its output open", name)
	default: // proc.StartFailed
		msg = fmt.Sprintf("cannot run %s: %v", name, pe.Err)
	}
	out.Message = p.redact(msg) + tail
	return out
}

// tail quotes the end of the command's stderr for a message, its
// credentials redacted; "" when it wrote nothing.
func (p *Exec) tail(stderr *proc.Stderr) string {
	if stderr == nil {
		return ""
	}
	// Redacted before it is cut, so that no part of a secret survives.
	s := evals.ClipTail(p.redact(stderr.End(4<<10)), execStderrQuote)
	if s == "" {
		return ""
	}
	return "; stderr: " + strconv.Quote(s)
}

// snip quotes the start of what the command printed, its credentials
// redacted.
func (p *Exec) snip(b []byte) string { return strconv.Quote(snippet(p.redact(string(b)))) }

func (p *Exec) redact(s string) string {
	if p.redactor == nil {
		return s
	}
	return p.redactor.Replace(s)
}
