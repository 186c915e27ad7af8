package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/rubric-eval/rubric/evals"
)

// A log is a JSONL file of recorded interactions, such as captured
// production traffic: a prompt, the model's output, maybe an expected answer
// and metadata, in whatever shape the logger wrote. A Mapping says where each
// part is on a line, as a path of dotted keys and array indexes (the syntax of
// templates and of extract.json), so that common log shapes need no
// preprocessing.

// Log fields a mapping may set. "vars.NAME" and "metadata.NAME" set one
// variable or one metadata field.
const (
	LogID        = "id"         // the case id: a string or an integer; the line number when unmapped
	LogMessages  = "messages"   // the prompt as chat messages; a last assistant message is the output when output is unmapped
	LogInput     = "input"      // the prompt as text (one user message, and the variable input), or as chat messages
	LogOutput    = "output"     // the response: text, or any other JSON value written as compact JSON
	LogExpected  = "expected"   // the expected answer, any JSON value
	LogVars      = "vars"       // an object of variables; without messages or input, the suite's templates render the prompt from them
	LogTags      = "tags"       // an array of strings
	LogMetadata  = "metadata"   // an object
	LogTarget    = "target"     // the name the response is aggregated under
	LogUsage     = "usage"      // token counts: prompt_tokens/completion_tokens/total_tokens or input_tokens/output_tokens
	LogLatencyMS = "latency_ms" // a number of milliseconds
)

var logFields = []string{LogID, LogMessages, LogInput, LogOutput, LogExpected, LogVars, LogTags, LogMetadata, LogTarget, LogUsage, LogLatencyMS}

// LogPresets are ready-made mappings for common log shapes. Their fields
// marked optional may be missing from a line.
var LogPresets = map[string]string{
	// {"id", "input", "output", "expected", "tags", "metadata"}
	"plain": "id?=id input=input output=output expected?=expected tags?=tags metadata?=metadata",
	// {"messages": [..., {"role": "assistant", ...}]}, as in chat
	// fine-tuning files and many chat logs.
	"chat": "id?=id messages=messages expected?=expected tags?=tags metadata?=metadata",
	// {"request": {"messages": ...}, "response": {"choices": ..., "usage": ...}}:
	// an OpenAI chat completions request and response logged side by side.
	"openai": "id?=id messages=request.messages output=response.choices.0.message.content usage?=response.usage expected?=expected tags?=tags metadata?=metadata",
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(LogPresets))
	for n := range LogPresets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Mapping says where each field of a recorded interaction is on a log line.
type Mapping struct {
	fields []mapped
}

type mapped struct {
	name     string // a Log* field, or vars.NAME / metadata.NAME
	path     string // as written, for messages
	gpath    string // the path in gjson's syntax
	segs     []string
	optional bool
}

// NewMapping starts from the named preset ("" for none) and applies each
// FIELD=PATH in maps, which replaces the preset's path for FIELD and makes the
// field required.
func NewMapping(preset string, maps []string) (*Mapping, error) {
	m := &Mapping{}
	if preset != "" {
		spec, ok := LogPresets[preset]
		if !ok {
			return nil, fmt.Errorf("unknown preset %q: expected one of %s", preset, strings.Join(PresetNames(), ", "))
		}
		for _, f := range strings.Fields(spec) {
			if err := m.set(f, true); err != nil {
				panic(err) // the presets above are constants
			}
		}
	}
	for _, f := range maps {
		if err := m.set(f, false); err != nil {
			return nil, err
		}
	}
	has := func(name string) bool { return m.field(name) != nil }
	switch {
	case has(LogMessages) && has(LogInput):
		return nil, errors.New("messages and input are both mapped: expected one of them for the prompt")
	case !has(LogMessages) && !has(LogInput) && !has(LogVars) && !m.hasPrefix("vars."):
		return nil, errors.New("nothing gives the prompt: map messages, input, or vars (which the suite's templates render)")
	case !has(LogOutput) && !has(LogMessages):
		return nil, errors.New("nothing gives the output: map output, or map messages ending with the assistant's answer")
	}
	return m, nil
}

// set applies one FIELD=PATH; a preset's FIELD may end in "?" for optional.
func (m *Mapping) set(spec string, preset bool) error {
	name, path, ok := strings.Cut(spec, "=")
	name, path = strings.TrimSpace(name), strings.TrimSpace(path)
	if !ok || name == "" {
		return fmt.Errorf("mapping %q: expected FIELD=PATH, e.g. output=response.choices.0.message.content", spec)
	}
	optional := false
	if preset {
		name, optional = strings.CutSuffix(name, "?")
	}
	if !slices.Contains(logFields, name) {
		prefix, sub, found := strings.Cut(name, ".")
		if !found || (prefix != LogVars && prefix != LogMetadata) || sub == "" || strings.Contains(sub, ".") {
			return fmt.Errorf("mapping %q: unknown field %q: expected one of %s, vars.NAME or metadata.NAME", spec, name, strings.Join(logFields, ", "))
		}
		if prefix == LogVars && sub == "output" {
			return fmt.Errorf("mapping %q: variable \"output\" is reserved for the model's response", spec)
		}
	}
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if s == "" {
			return fmt.Errorf("mapping %q: path %q has an empty key: expected dotted keys and indexes, e.g. response.choices.0.message.content", spec, path)
		}
	}
	esc := make([]string, len(segs))
	for i, s := range segs {
		esc[i] = gjson.Escape(s)
	}
	f := mapped{name: name, path: path, gpath: strings.Join(esc, "."), segs: segs, optional: optional}
	if i := slices.IndexFunc(m.fields, func(x mapped) bool { return x.name == name }); i >= 0 {
		m.fields[i] = f
	} else {
		m.fields = append(m.fields, f)
	}
	return nil
}

func (m *Mapping) field(name string) *mapped {
	for i := range m.fields {
		if m.fields[i].name == name {
			return &m.fields[i]
		}
	}
	return nil
}

// Has reports whether the mapping sets field.
func (m *Mapping) Has(field string) bool { return m.field(field) != nil }

func (m *Mapping) hasPrefix(p string) bool {
	return slices.ContainsFunc(m.fields, func(f mapped) bool { return strings.HasPrefix(f.name, p) })
}

// String lists the mapping as FIELD=PATH pairs, optional ones marked "?".
func (m *Mapping) String() string {
	parts := make([]string, len(m.fields))
	for i, f := range m.fields {
		opt := ""
		if f.optional {
			opt = "?"
		}
		parts[i] = f.name + opt + "=" + f.path
	}
	return strings.Join(parts, " ")
}

// LogRecord is one interaction read from a log.
type LogRecord struct {
	// Case has the id, variables, expected answer, tags and metadata; its
	// Source is "FILE:LINE".
	Case *evals.Case
	// Target is the mapped target name, "" when unmapped.
	Target string
	// Messages is the prompt; nil when only variables were mapped, for the
	// suite's templates to render.
	Messages  []evals.Message
	Output    string
	Usage     evals.Usage
	LatencyMS float64
}

// LineError is a log line that cannot be read: not JSON, or a mapped field
// missing or of the wrong kind.
type LineError struct {
	File  string
	Line  int
	Field string // the mapped field; "" for the line as a whole
	Path  string // the field's path on the line
	Msg   string
	// Reason is Msg in general terms, for counting lines skipped alike.
	Reason string
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s (mapped from %s): %s", e.File, e.Line, e.Field, e.Path, e.Msg)
}

// LogReader reads a log one record at a time. After a *LineError, Next may
// be called again: it goes on with the next line.
type LogReader struct {
	file string
	f    io.Closer
	*lineReader
	m *Mapping
}

// OpenLog opens the log at path.
func OpenLog(path string, m *Mapping) (*LogReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &LogReader{file: path, f: f, lineReader: newLines(f), m: m}, nil
}

// Close closes the file.
func (r *LogReader) Close() error { return r.f.Close() }

// Line is the number of the line read last.
func (r *LogReader) Line() int { return r.line }

// Next returns the next record, io.EOF after the last, or a *LineError for a
// line that cannot be read.
func (r *LogReader) Next() (*LogRecord, error) {
	if b, ok := r.next(); ok {
		return r.m.Record(b, r.file, r.line)
	}
	if err := r.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line longer than %d MiB", r.file, r.line+1, MaxLine>>20)
		}
		return nil, fmt.Errorf("%s: %w", r.file, err)
	}
	return nil, io.EOF
}

// Record reads one log line; file and line locate it in errors.
func (m *Mapping) Record(b []byte, file string, line int) (*LogRecord, error) {
	lineErr := func(f *mapped, reason, format string, args ...any) *LineError {
		e := &LineError{File: file, Line: line, Msg: fmt.Sprintf(format, args...), Reason: reason}
		if f != nil {
			e.Field, e.Path = f.name, f.path
			e.Reason = f.name + ": " + reason
		}
		return e
	}
	if !gjson.ValidBytes(b) {
		return nil, lineErr(nil, "not valid JSON", "invalid JSON: %s", jsonProblem(b))
	}
	if t := bytes.TrimSpace(b); t[0] != '{' {
		return nil, lineErr(nil, "not a JSON object", "expected a JSON object, got %s", gjson.ParseBytes(t).Type)
	}
	rec := &LogRecord{Case: &evals.Case{Source: file + ":" + strconv.Itoa(line)}}
	var msgs gjson.Result
	var inputText *string
	for i := range m.fields {
		f := &m.fields[i]
		v := gjson.GetBytes(b, f.gpath)
		if !v.Exists() || v.Type == gjson.Null {
			if f.optional {
				continue
			}
			return nil, lineErr(f, "missing", "%s", missing(b, f.segs))
		}
		wrong := func(want string) error {
			return lineErr(f, "expected "+want, "expected %s, got %s", want, describe(v))
		}
		switch name := f.name; name {
		case LogID:
			switch {
			case v.Type == gjson.String && v.Str != "":
				rec.Case.ID = v.Str
			case v.Type == gjson.Number && isInteger(v.Raw):
				rec.Case.ID = v.Raw
			default:
				return nil, wrong("a non-empty string or an integer")
			}
		case LogMessages:
			msgs = v
		case LogInput:
			switch {
			case v.Type == gjson.String:
				s := v.Str
				inputText = &s
			case v.IsArray():
				msgs = v
			default:
				return nil, wrong("a string or an array of messages")
			}
		case LogOutput:
			if v.Type == gjson.String {
				rec.Output = v.Str
			} else {
				rec.Output = compact(v.Raw)
			}
		case LogExpected:
			rec.Case.Expected = v.Value()
		case LogVars:
			vars, ok := v.Value().(map[string]any)
			if !ok {
				return nil, wrong("an object")
			}
			if _, bad := vars["output"]; bad {
				return nil, lineErr(f, "reserved variable", `variable "output" is reserved for the model's response`)
			}
			rec.Case.Vars = mergeInto(rec.Case.Vars, vars)
		case LogMetadata:
			md, ok := v.Value().(map[string]any)
			if !ok {
				return nil, wrong("an object")
			}
			rec.Case.Metadata = mergeInto(rec.Case.Metadata, md)
		case LogTags:
			if !v.IsArray() {
				return nil, wrong("an array of strings")
			}
			for _, t := range v.Array() {
				if t.Type != gjson.String {
					return nil, wrong("an array of strings")
				}
				rec.Case.Tags = append(rec.Case.Tags, t.Str)
			}
		case LogTarget:
			if v.Type != gjson.String || v.Str == "" {
				return nil, wrong("a non-empty string")
			}
			rec.Target = v.Str
		case LogUsage:
			if !v.IsObject() {
				return nil, wrong("an object of token counts")
			}
			rec.Usage = usageOf(v)
		case LogLatencyMS:
			if v.Type != gjson.Number || v.Num < 0 {
				return nil, wrong("a number >= 0")
			}
			rec.LatencyMS = v.Num
		default:
			prefix, sub, _ := strings.Cut(name, ".")
			if prefix == LogVars {
				rec.Case.Vars = mergeInto(rec.Case.Vars, map[string]any{sub: v.Value()})
			} else {
				rec.Case.Metadata = mergeInto(rec.Case.Metadata, map[string]any{sub: v.Value()})
			}
		}
	}
	if rec.Case.ID == "" {
		rec.Case.ID = strconv.Itoa(line)
	}
	if inputText != nil {
		rec.Messages = []evals.Message{{Role: "user", Content: *inputText}}
		if _, ok := rec.Case.Vars["input"]; !ok {
			rec.Case.Vars = mergeInto(rec.Case.Vars, map[string]any{"input": *inputText})
		}
	}
	if msgs.Exists() {
		f := m.field(LogMessages)
		if f == nil {
			f = m.field(LogInput)
		}
		list, err := chatMessages(msgs)
		if err != nil {
			return nil, lineErr(f, "not chat messages", "%s", err)
		}
		if m.field(LogOutput) == nil {
			last := len(list) - 1
			if last < 0 || list[last].Role != "assistant" {
				return nil, lineErr(f, "no assistant answer last", "the messages do not end with the assistant's answer: map output, or log the answer as the last message")
			}
			rec.Output = list[last].Content
			list = list[:last]
		}
		if len(list) == 0 {
			return nil, lineErr(f, "empty prompt", "no prompt: expected at least one message before the answer")
		}
		rec.Messages = list
	}
	return rec, nil
}

// chatRoles are the roles a logged message may have.
var chatRoles = []string{"system", "developer", "user", "assistant", "tool"}

// chatMessages reads an array of {"role", "content"} messages; content may
// be a list of parts, whose text parts are joined.
func chatMessages(v gjson.Result) ([]evals.Message, error) {
	if !v.IsArray() {
		return nil, fmt.Errorf("expected an array of messages, got %s", describe(v))
	}
	var out []evals.Message
	for i, m := range v.Array() {
		if !m.IsObject() {
			return nil, fmt.Errorf("message %d: expected an object with role and content, got %s", i, describe(m))
		}
		role := m.Get("role")
		if role.Type != gjson.String || !slices.Contains(chatRoles, role.Str) {
			return nil, fmt.Errorf("message %d: role: expected one of %s, got %s", i, strings.Join(chatRoles, ", "), describe(role))
		}
		c := m.Get("content")
		var text string
		switch {
		case c.Type == gjson.String:
			text = c.Str
		case c.IsArray():
			var b strings.Builder
			for j, p := range c.Array() {
				t := p.Get("text")
				if t.Type != gjson.String {
					return nil, fmt.Errorf("message %d: content part %d: expected a text part, got %s", i, j, describe(p))
				}
				b.WriteString(t.Str)
			}
			text = b.String()
		case !c.Exists() || c.Type == gjson.Null:
			// A tool call has no content; it is kept as an empty message.
		default:
			return nil, fmt.Errorf("message %d: content: expected a string or a list of parts, got %s", i, describe(c))
		}
		out = append(out, evals.Message{Role: role.Str, Content: text})
	}
	return out, nil
}

// usageOf reads OpenAI's or Anthropic's token counts.
func usageOf(v gjson.Result) evals.Usage {
	count := func(names ...string) int {
		for _, n := range names {
			if c := v.Get(n); c.Type == gjson.Number {
				return int(c.Int())
			}
		}
		return 0
	}
	u := evals.Usage{PromptTokens: count("prompt_tokens", "input_tokens"), CompletionTokens: count("completion_tokens", "output_tokens")}
	u.TotalTokens = count("total_tokens")
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	return u
}

func mergeInto(dst, src map[string]any) map[string]any {
	if dst == nil {
		return src
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

func isInteger(raw string) bool {
	_, err := strconv.ParseInt(raw, 10, 64)
	return err == nil
}

// compact returns raw JSON without insignificant space.
func compact(raw string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return raw
	}
	return b.String()
}

// missing says why path does not resolve on line b: which part is missing,
// and what is there instead.
func missing(b []byte, segs []string) string {
	parent := gjson.ParseBytes(b)
	for i, s := range segs {
		v := parent.Get(gjson.Escape(s))
		here := strings.Join(segs[:i+1], ".")
		if !v.Exists() {
			switch {
			case i > 0 && parent.IsArray():
				return fmt.Sprintf("no element %q: %q is an array of %d", here, strings.Join(segs[:i], "."), len(parent.Array()))
			case i > 0 && !parent.IsObject():
				return fmt.Sprintf("no field %q: %q is %s", here, strings.Join(segs[:i], "."), describe(parent))
			}
			return fmt.Sprintf("no field %q", here)
		}
		if v.Type == gjson.Null {
			return fmt.Sprintf("%q is null", here)
		}
		parent = v
	}
	return "no value"
}

// describe names a JSON value's kind for messages, with a short excerpt.
func describe(v gjson.Result) string {
	switch {
	case !v.Exists():
		return "nothing"
	case v.IsObject():
		return "an object"
	case v.IsArray():
		return "an array"
	case v.Type == gjson.String:
		return "the string " + quoteShort(v.Str)
	case v.Type == gjson.Number:
		return "the number " + v.Raw
	case v.Type == gjson.Null:
		return "null"
	}
	return v.Raw // true or false
}

func quoteShort(s string) string {
	if r := []rune(s); len(r) > 30 {
		return strconv.Quote(string(r[:30])) + "…"
	}
	return strconv.Quote(s)
}

// jsonProblem says what is wrong with a line that is not valid JSON.
func jsonProblem(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Sprintf("%v (at character %d)", err, column(b, int(se.Offset)))
		}
		return err.Error()
	}
	return "malformed JSON"
}
