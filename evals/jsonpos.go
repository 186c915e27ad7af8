package evals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// positions maps JSON pointers of a document to byte offsets, so that a problem
// found by path (by the schema validator, a decoder or a semantic check) can be
// reported at a line and column.
type positions struct {
	data   []byte
	values map[string]int // pointer -> offset of the value's first byte
	keys   map[string]int // pointer -> offset of the member's key
	lines  []int          // offsets of line starts
}

// indexJSON parses data and records where every value starts. A syntax error
// is returned as a *json.SyntaxError with its offset.
func indexJSON(data []byte) (*positions, error) {
	p := &positions{data: data, values: map[string]int{}, keys: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := p.walk(dec, ""); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return p, err // the input ends too soon
		}
		return p, scanError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return p, scanError(data, err)
	}
	return p, nil
}

// scanError returns the syntax error in data as json.Unmarshal reports it.
// The decoder's own syntax errors do not locate the problem in data: their
// offsets count only the bytes of the values decoded so far, and errors found
// between tokens point one byte early.
func scanError(data []byte, err error) error {
	var se *json.SyntaxError
	if e := json.Unmarshal(data, new(json.RawMessage)); errors.As(e, &se) {
		return se
	}
	if err == nil {
		err = errors.New("unexpected data after the top-level value")
	}
	return err
}

// skip returns the offset of the next byte at or after off that is not white
// space, ':' or ','.
func (p *positions) skip(off int) int {
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
		default:
			return off
		}
	}
	return off
}

func (p *positions) walk(dec *json.Decoder, ptr string) error {
	p.values[ptr] = p.skip(int(dec.InputOffset()))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			at := p.skip(int(dec.InputOffset()))
			k, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := k.(string)
			child := ptr + "/" + escapePointer(key)
			p.keys[child] = at
			if err := p.walk(dec, child); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := p.walk(dec, ptr+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	}
	return err
}

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func unescapePointer(s string) string {
	if !strings.Contains(s, "~") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// lineCol turns a byte offset into a 1-based line and a 1-based column counted
// in characters.
func (p *positions) lineCol(off int) (int, int) {
	if p.lines == nil {
		p.lines = []int{0}
		for i, b := range p.data {
			if b == '\n' {
				p.lines = append(p.lines, i+1)
			}
		}
	}
	if off > len(p.data) {
		off = len(p.data)
	}
	lo, hi := 0, len(p.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if p.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1, utf8.RuneCount(p.data[p.lines[lo]:off]) + 1
}

// at locates the value at ptr, or the nearest enclosing value that exists. With
// key set it prefers the member's key, for problems about the member itself
// (an unknown field).
func (p *positions) at(ptr string, key bool) (int, int) {
	for {
		if key {
			if off, ok := p.keys[ptr]; ok {
				return p.lineCol(off)
			}
		}
		if off, ok := p.values[ptr]; ok {
			return p.lineCol(off)
		}
		if ptr == "" {
			return 1, 1
		}
		ptr = ptr[:strings.LastIndex(ptr, "/")]
	}
}

// displayPath turns a JSON pointer into the path shown to people:
// "/criteria/2/pattern" -> "$.criteria[2].pattern".
func displayPath(ptr string) string {
	if ptr == "" {
		return "$"
	}
	var b strings.Builder
	b.WriteString("$")
	for _, seg := range strings.Split(ptr[1:], "/") {
		seg = unescapePointer(seg)
		if _, err := strconv.Atoi(seg); err == nil {
			b.WriteString("[" + seg + "]")
		} else if validName(seg) {
			b.WriteString("." + seg)
		} else {
			b.WriteString("[" + strconv.Quote(seg) + "]")
		}
	}
	return b.String()
}

// problem builds a Problem for the value (or, with key, the member key) at ptr.
func (p *positions) problem(file, ptr string, key bool, format string, args ...any) Problem {
	line, col := p.at(ptr, key)
	return Problem{File: file, Line: line, Col: col, Path: displayPath(ptr), Msg: fmt.Sprintf(format, args...)}
}

// syntaxProblem reports a JSON syntax or read error at its position.
func syntaxProblem(file string, data []byte, err error) Problem {
	p := &positions{data: data}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset) - 1
		if off < 0 {
			off = 0
		}
		line, col := p.lineCol(off)
		return Problem{File: file, Line: line, Col: col, Msg: "invalid JSON: " + se.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		line, col := p.lineCol(len(data))
		return Problem{File: file, Line: line, Col: col, Msg: "invalid JSON: unexpected end of file"}
	}
	return Problem{File: file, Msg: "invalid JSON: " + err.Error()}
}

// ProblemAt reports a problem with the value at ptr, a JSON pointer such as
// "/name", of the JSON file at path: located by line and column when the
// file reads and parses, by its JSON path alone otherwise. It is for checks
// that span several files, made after each has loaded.
func ProblemAt(path, ptr, format string, args ...any) Problem {
	src, _ := readSource(path)
	if src == nil {
		return Problem{File: path, Path: displayPath(ptr), Msg: fmt.Sprintf(format, args...)}
	}
	return src.problem(ptr, false, format, args...)
}
