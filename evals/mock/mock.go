// Package mock answers a model's tool calls in place of the real tools: from
// the mocks a suite and its cases give (fixed results, rules on the
// arguments, a command), after checking the call against the tool's
// definition. What it cannot answer it words as a tool error, which the loop
// sends to the model as real tool runtimes do.
package mock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xeipuuv/gojsonschema"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/proc"
)

// DefaultTimeout bounds an exec mock's run when the mock does not say.
const DefaultTimeout = 30 * time.Second

// maxStdout caps what an exec mock may print: a tool result, not a dump.
const maxStdout = 1 << 20

// Answerer answers tool calls. It keeps each tool's compiled parameters
// schema and each exec mock's program, found once, so a case's calls cost a
// map lookup. It is safe for concurrent use.
type Answerer struct {
	// Dir is the suite's folder: exec mocks run there and their relative
	// programs resolve against it.
	Dir string
	// Environ is the environment exec mocks start from (os.Environ()),
	// SecretEnv the variables never passed on (the target's keys).
	Environ   []string
	SecretEnv []string

	schemas sync.Map // string(parameters) -> *schemaEntry
	cmds    sync.Map // string(exec) -> *cmdEntry
}

type schemaEntry struct {
	once   sync.Once
	schema *gojsonschema.Schema
	err    error
}

type cmdEntry struct {
	once sync.Once
	cmd  proc.Cmd
	env  []string
	err  error
}

// Answer is a tool call's answer: the content sent to the model, and, when
// the call failed, why (Error), which the transcript records.
type Answer struct {
	Content string
	Error   string
}

func failed(format string, args ...any) Answer {
	msg := fmt.Sprintf(format, args...)
	return Answer{Content: "Error: " + msg, Error: msg}
}

// Answer answers call for case c, whose tools (with their mocks, the case's
// first: evals.Suite.CaseTools) are tools. It never fails: a call it cannot
// answer gets an Answer with Error set. ctx bounds an exec mock.
func (a *Answerer) Answer(ctx context.Context, tools []evals.Tool, c *evals.Case, call evals.ToolCall) Answer {
	var tool *evals.Tool
	for i := range tools {
		if tools[i].Function.Name == call.Name {
			tool = &tools[i]
			break
		}
	}
	if tool == nil {
		return failed("no tool named %q: the tools are %s", call.Name, names(tools))
	}
	if call.ArgumentsError != "" {
		return failed("the arguments of %s are not valid JSON: %s", call.Name, call.ArgumentsError)
	}
	var args any
	if err := json.Unmarshal(call.Arguments, &args); err != nil {
		return failed("the arguments of %s are not valid JSON: %v", call.Name, err)
	}
	if len(tool.Function.Parameters) > 0 {
		if msg := a.validate(tool.Function.Parameters, call.Arguments); msg != "" {
			return failed("the arguments of %s do not fit its parameters: %s", call.Name, msg)
		}
	}
	m := tool.Mock
	if m == nil {
		return failed("no mock answers %s in case %q: give the tool a mock, or the case a mocks entry for it", call.Name, c.ID)
	}
	obj, _ := args.(map[string]any)
	for _, r := range m.Rules {
		if Subset(r.When, obj) {
			if r.Error != "" {
				return Answer{Content: "Error: " + r.Error, Error: r.Error}
			}
			return Answer{Content: resultText(r.Result)}
		}
	}
	switch {
	case len(m.Result) > 0:
		return Answer{Content: resultText(m.Result)}
	case m.Error != "":
		return Answer{Content: "Error: " + m.Error, Error: m.Error}
	case len(m.Exec) > 0:
		return a.exec(ctx, m, c, call)
	}
	return failed("no rule of the mock of %s matches the arguments %s", call.Name, evals.Clip(string(call.Arguments), 200))
}

// names lists the tools' names for a message.
func names(tools []evals.Tool) string {
	if len(tools) == 0 {
		return "none"
	}
	ns := make([]string, len(tools))
	for i, t := range tools {
		ns[i] = strconv.Quote(t.Function.Name)
	}
	return strings.Join(ns, ", ")
}

// resultText is a result as sent: a string as it is, any other value as
// its JSON text.
func resultText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// validate checks args against the parameters schema; it returns what is
// wrong, or "".
func (a *Answerer) validate(params, args json.RawMessage) string {
	v, _ := a.schemas.LoadOrStore(string(params), &schemaEntry{})
	e := v.(*schemaEntry)
	e.once.Do(func() { e.schema, e.err = evals.CompileToolSchema(params) })
	if e.err != nil {
		return "the tool's parameters are not a usable schema: " + e.err.Error()
	}
	res, err := e.schema.Validate(gojsonschema.NewBytesLoader(args))
	if err != nil {
		return err.Error()
	}
	if res.Valid() {
		return ""
	}
	msgs := make([]string, 0, len(res.Errors()))
	for _, re := range res.Errors() {
		msgs = append(msgs, re.String())
	}
	return strings.Join(msgs, "; ")
}

// Subset reports whether got holds every key of want with an equal value:
// objects compare the same way, recursively; other values (numbers, arrays)
// exactly, as JSON.
func Subset(want, got map[string]any) bool {
	if got == nil {
		return len(want) == 0
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || !subsetValue(w, g) {
			return false
		}
	}
	return true
}

func subsetValue(want, got any) bool {
	if wm, ok := want.(map[string]any); ok {
		gm, ok := got.(map[string]any)
		return ok && Subset(wm, gm)
	}
	wb, err1 := json.Marshal(want)
	gb, err2 := json.Marshal(got)
	return err1 == nil && err2 == nil && bytes.Equal(wb, gb)
}

// execCall is what an exec mock reads on stdin.
type execCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Case      execCase        `json:"case"`
}

type execCase struct {
	ID       string         `json:"id"`
	Vars     map[string]any `json:"vars,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// exec runs an exec mock for call.
func (a *Answerer) exec(ctx context.Context, m *evals.ToolMock, c *evals.Case, call evals.ToolCall) Answer {
	ce, err := a.command(m)
	if err != nil {
		return failed("the mock of %s cannot run: %v", call.Name, err)
	}
	stdin, err := json.Marshal(execCall{ID: call.ID, Name: call.Name, Arguments: call.Arguments,
		Case: execCase{ID: c.ID, Vars: c.Vars, Metadata: c.Metadata}})
	if err != nil {
		return failed("the call to %s cannot be written as JSON: %v", call.Name, err)
	}
	out, stderr, err := ce.cmd.Run(ctx, ce.env, append(stdin, '\n'))
	if err != nil {
		msg := err.Error()
		var pe *proc.Error
		if errors.As(err, &pe) && pe.Kind == proc.TimedOut {
			msg = fmt.Sprintf("timed out after %s and was killed", ce.cmd.Timeout)
		}
		if tail := stderr.End(300); tail != "" {
			msg += "; stderr: " + strconv.Quote(tail)
		}
		return failed("the mock of %s (%s) %s", call.Name, ce.cmd.Name(), msg)
	}
	return Answer{Content: strings.TrimRight(string(out), "\r\n")}
}

// Check finds an exec mock's program, so that a suite naming one that is
// missing fails when it loads; it is a no-op for other mocks. Its error is
// an *evals.FieldError at exec.
func (a *Answerer) Check(m evals.ToolMock) error {
	if len(m.Exec) == 0 {
		return nil
	}
	_, err := a.command(&m)
	return err
}

// command parses, finds and prepares an exec mock's program, once.
func (a *Answerer) command(m *evals.ToolMock) (*cmdEntry, error) {
	key := string(m.Exec) + "\x00" + time.Duration(m.Timeout).String()
	v, _ := a.cmds.LoadOrStore(key, &cmdEntry{})
	e := v.(*cmdEntry)
	e.once.Do(func() {
		argv, err := proc.ParseCommand(m.Exec, `["python3", "tools.py"]`)
		if err != nil {
			e.err = rename(err)
			return
		}
		at := proc.Place{Dir: a.Dir, Folder: "the suite's folder", Beside: "next to the suite", Example: "./tools.py"}
		path, err := proc.Resolve(argv[0], at)
		if err != nil {
			e.err = rename(err)
			return
		}
		timeout := time.Duration(m.Timeout)
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		e.cmd = proc.Cmd{Path: path, Args: argv[1:], Dir: a.Dir, Timeout: timeout, MaxStdout: maxStdout}
		e.env = withoutSecrets(a.Environ, a.SecretEnv)
	})
	return e, e.err
}

// rename puts proc's errors about "command" at the mock's field, exec.
func rename(err error) error {
	var fe *evals.FieldError
	if errors.As(err, &fe) {
		return &evals.FieldError{Field: "exec" + strings.TrimPrefix(fe.Field, "command"), Err: fe.Err}
	}
	return &evals.FieldError{Field: "exec", Err: err}
}

// withoutSecrets is environ as a command inherits it by default
// (proc.Environ: without the variables named like credentials), less those
// the targets' keys are in.
func withoutSecrets(environ, secret []string) []string {
	env, _ := proc.Environ(nil, nil, environ) // inherit everything safe: no error to give
	return slices.DeleteFunc(env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(secret, name)
	})
}
