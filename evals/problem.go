package evals

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong with an input file, located as precisely as the
// input allows: file, line and column (1-based; 0 when unknown), and a JSON
// path ("$.criteria[2].pattern") for JSON files.
type Problem struct {
	File string
	Line int
	Col  int
	Path string
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in one or more inputs; it is an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// FieldError is an error about one field of a JSON object, so that the loader
// can point at the field rather than the object. Field is a path relative to
// the object, with dots between keys ("schema_file", "extract.regex").
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrorf returns a FieldError for field with a formatted message.
func FieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// JSONKind names the kind of JSON value raw is, with an article ("a
// string", "an object", "null"), for errors that say what a field got.
func JSONKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// Clip cuts s after n runes, marking the cut with "…": for quoting what a
// program or a response said in a message.
func Clip(s string, n int) string {
	k := 0
	for i := range s {
		if k == n {
			return s[:i] + "…"
		}
		k++
	}
	return s
}

// ClipTail keeps the last n runes of s, marking a cut with "…".
func ClipTail(s string, n int) string {
	i := len(s)
	for k := 0; k < n && i > 0; k++ {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	if i == 0 {
		return s
	}
	return "…" + s[i:]
}
