package evals

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Template is a prompt or value template: literal text with {{ name }}
// placeholders, in the style of Mustache and Jinja. A placeholder is a dotted
// path ({{ ticket }}, {{ expected.category }}, {{ examples.0 }}) and may end in a
// filter ({{ ticket | json }} writes the value as a JSON literal). Strings are
// written as they are, never escaped; objects and arrays are written as JSON. A
// path that does not resolve is an error, never an empty string. "\{{" writes a
// literal "{{".
//
// The template language is deliberately small: substitution only, no logic, so
// a prompt reads the same to everyone and every variable it needs is known
// before a request is sent.
type Template struct {
	src   string
	parts []part
}

type part struct {
	lit    string
	path   []string // nil for a literal
	filter string
}

// TemplateError is a template that does not parse.
type TemplateError struct {
	Offset int // byte offset in the template text
	Msg    string

	src string // the template text, to count the offset in characters
}

func (e *TemplateError) Error() string {
	at := e.Offset
	if at >= 0 && at <= len(e.src) {
		at = utf8.RuneCountInString(e.src[:at])
	}
	return fmt.Sprintf("template: %s at character %d", e.Msg, at+1)
}

// Filters a placeholder may end with.
var filters = map[string]bool{"json": true}

// ParseTemplate parses src.
func ParseTemplate(src string) (*Template, error) {
	t := &Template{src: src}
	var lit strings.Builder
	i := 0
	for i < len(src) {
		if strings.HasPrefix(src[i:], `\{{`) {
			lit.WriteString("{{")
			i += 3
			continue
		}
		if !strings.HasPrefix(src[i:], "{{") {
			lit.WriteByte(src[i])
			i++
			continue
		}
		end := strings.Index(src[i+2:], "}}")
		if end < 0 {
			return nil, &TemplateError{Offset: i, Msg: `"{{" is never closed by "}}"`, src: src}
		}
		inner := src[i+2 : i+2+end]
		p, err := parsePlaceholder(inner, i)
		if err != nil {
			err.src = src
			return nil, err
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, p)
		i += 2 + end + 2
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{lit: lit.String()})
	}
	return t, nil
}

func parsePlaceholder(inner string, at int) (part, *TemplateError) {
	expr, filter, hasFilter := strings.Cut(inner, "|")
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return part{}, &TemplateError{Offset: at, Msg: "empty placeholder {{ }}: expected a variable name"}
	}
	p := part{path: strings.Split(expr, ".")}
	for _, seg := range p.path {
		if !validName(seg) {
			return part{}, &TemplateError{Offset: at, Msg: fmt.Sprintf("invalid variable name %q in {{%s}}: expected letters, digits, '_' or '-' separated by dots", expr, inner)}
		}
	}
	if hasFilter {
		p.filter = strings.TrimSpace(filter)
		if !filters[p.filter] {
			return part{}, &TemplateError{Offset: at, Msg: fmt.Sprintf("unknown filter %q in {{%s}}: expected json", p.filter, inner)}
		}
	}
	return p, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// MustParseTemplate parses src and panics on error; for constants in code.
func MustParseTemplate(src string) *Template {
	t, err := ParseTemplate(src)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template's source.
func (t *Template) String() string { return t.src }

// Static reports whether the template has no placeholders.
func (t *Template) Static() bool {
	for _, p := range t.parts {
		if p.path != nil {
			return false
		}
	}
	return true
}

// Vars returns the top-level names the template refers to, in order of first use.
func (t *Template) Vars() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range t.parts {
		if p.path != nil && !seen[p.path[0]] {
			seen[p.path[0]] = true
			out = append(out, p.path[0])
		}
	}
	return out
}

// Paths returns the dotted path of each placeholder ("ticket",
// "params.max_tokens"), in order, repeats included, so that a template's
// user can check at load time the names it will be given.
func (t *Template) Paths() []string {
	var out []string
	for _, p := range t.parts {
		if p.path != nil {
			out = append(out, strings.Join(p.path, "."))
		}
	}
	return out
}

// Single reports whether the template is one placeholder and nothing else,
// no text around it, and returns its filter ("" or "json"): "{{ x | json }}"
// is the JSON value of x.
func (t *Template) Single() (filter string, ok bool) {
	if len(t.parts) != 1 || t.parts[0].path == nil {
		return "", false
	}
	return t.parts[0].filter, true
}

// Scope resolves a template's top-level names.
type Scope interface {
	Lookup(name string) (any, bool)
}

// Render writes the template with names resolved in scope.
func (t *Template) Render(scope Scope) (string, error) {
	return t.render(scope, nil)
}

// RenderQuoted renders the template as Render does, but hands each value's
// text, as Render would write it, to quote, which writes it to b as it sees
// fit; path is the placeholder's ("output", "expected.category"). An LLM
// judge's prompt quotes the data it substitutes this way, so that the data
// cannot pass for instructions.
func (t *Template) RenderQuoted(scope Scope, quote func(b *strings.Builder, path, text string)) (string, error) {
	return t.render(scope, quote)
}

func (t *Template) render(scope Scope, quote func(b *strings.Builder, path, text string)) (string, error) {
	if len(t.parts) == 1 && t.parts[0].path == nil {
		return t.parts[0].lit, nil
	}
	var b, val strings.Builder
	b.Grow(len(t.src) + 64)
	for _, p := range t.parts {
		if p.path == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := resolve(scope, p.path)
		if err != nil {
			return "", err
		}
		w := &b
		if quote != nil {
			if text, ok := v.(string); ok && p.filter == "" {
				quote(&b, strings.Join(p.path, "."), text) // as writeValue would write it
				continue
			}
			val.Reset()
			w = &val
		}
		if err := writeValue(w, v, p.filter); err != nil {
			return "", fmt.Errorf("{{%s}}: %w", strings.Join(p.path, "."), err)
		}
		if quote != nil {
			quote(&b, strings.Join(p.path, "."), val.String())
		}
	}
	return b.String(), nil
}

// Value resolves a template that is a single placeholder to the value it names,
// keeping its type; any other template renders to a string.
func (t *Template) Value(scope Scope) (any, error) {
	if len(t.parts) == 1 && t.parts[0].path != nil && t.parts[0].filter == "" {
		return resolve(scope, t.parts[0].path)
	}
	return t.Render(scope)
}

// MissingVarError is a placeholder whose variable the scope does not have.
type MissingVarError struct {
	Path string
}

func (e *MissingVarError) Error() string {
	return fmt.Sprintf("variable %q is not defined for this case", e.Path)
}

func resolve(scope Scope, path []string) (any, error) {
	v, ok := scope.Lookup(path[0])
	if !ok {
		return nil, &MissingVarError{Path: path[0]}
	}
	for i, seg := range path[1:] {
		switch x := v.(type) {
		case map[string]any:
			v, ok = x[seg]
		case []any:
			n, err := strconv.Atoi(seg)
			ok = err == nil && n >= 0 && n < len(x)
			if ok {
				v = x[n]
			}
		default:
			ok = false
		}
		if !ok {
			return nil, &MissingVarError{Path: strings.Join(path[:i+2], ".")}
		}
	}
	return v, nil
}

func writeValue(b *strings.Builder, v any, filter string) error {
	if filter == "json" {
		return writeJSON(b, v)
	}
	switch x := v.(type) {
	case string:
		b.WriteString(x)
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	case json.Number:
		b.WriteString(x.String())
	case int:
		b.WriteString(strconv.Itoa(x))
	default:
		return writeJSON(b, x)
	}
	return nil
}

// writeJSON writes v as compact JSON without escaping <, > and &: a prompt or
// an expected value is not HTML, and "\u003c" would not compare equal to "<".
func writeJSON(b *strings.Builder, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return nil
}

// CaseScope resolves names for a case: its variables, plus "id", "expected",
// "tags" and "metadata", and "output" when Output is set.
type CaseScope struct {
	Case      *Case
	Output    string
	HasOutput bool
	// Transcript, when set, is {{ transcript }}: the conversation as JSON.
	Transcript []Message
}

// Reserved names every case scope defines; a case variable may not use them.
var Reserved = []string{"id", "expected", "tags", "metadata", "output"}

// Lookup implements Scope.
func (s CaseScope) Lookup(name string) (any, bool) {
	switch name {
	case "id":
		return s.Case.ID, true
	case "expected":
		return s.Case.Expected, s.Case.Expected != nil
	case "tags":
		tags := make([]any, len(s.Case.Tags))
		for i, t := range s.Case.Tags {
			tags[i] = t
		}
		return tags, true
	case "metadata":
		return s.Case.Metadata, s.Case.Metadata != nil
	case "output":
		return s.Output, s.HasOutput
	case "transcript":
		if s.Transcript != nil {
			return s.Transcript, true
		}
	}
	v, ok := s.Case.Vars[name]
	return v, ok
}
