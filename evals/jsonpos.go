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

// positions locates the values of a JSON document by JSON pointer, so that a
// problem found by path (by the schema validator, a decoder or a semantic
// check) can be reported at a line and column.
//
// Nothing is indexed up front: a pointer is found by walking down from the
// root, and each object or array walked into keeps the offsets of its members.
// Memory grows with the containers that problems point into, not with the
// document, and each container is scanned once however many problems it has.
type positions struct {
	data  []byte
	kids  map[int]*members // container offset -> its members, once walked into
	marks []lineMark       // line and column at every blockSize-th byte, built on first use
}

// members are the members of an object, or the elements of an array.
type members struct {
	keys  []int          // objects only: the offset of each member's key (its quote)
	vals  []int          // the offset of each value's first byte
	byKey map[string]int // large objects: key -> index of its last member
}

// byKeyMin is the size from which an object's members are found by a map
// rather than by comparing every key.
const byKeyMin = 16

// parseJSON checks that data is one JSON document within the limits of a
// suite or config file (see MaxDepth), and returns its positions and, for a
// suite, the extent of its inline cases (as checkLimits). The error is a
// *offsetError, or a syntax error: a *json.SyntaxError with its offset, or
// io.ErrUnexpectedEOF when the document ends too soon.
func parseJSON(data []byte, suite bool) (*positions, [][2]int, error) {
	cases, err := checkLimits(data, suite)
	if err != nil {
		return nil, nil, err
	}
	if err := syntaxError(data); err != nil {
		return nil, nil, err
	}
	return &positions{data: data}, cases, nil
}

// syntaxError returns the first syntax error in data, nil if it is valid.
func syntaxError(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var se *json.SyntaxError
	if err := json.Unmarshal(data, new(json.RawMessage)); errors.As(err, &se) {
		if truncated(data, se) {
			return io.ErrUnexpectedEOF
		}
		return se
	} else if err != nil {
		return err
	}
	return errors.New("invalid JSON") // json.Valid and json.Unmarshal disagree: not expected
}

// truncated reports whether se, from json.Unmarshal, says that data ends too
// soon. At the end of its input the scanner reads one more space: a
// literal or number cut short is then an "invalid character ' '" at the
// offset just past the end, which only a real space there would also be.
func truncated(data []byte, se *json.SyntaxError) bool {
	if se.Offset != int64(len(data)) {
		return false
	}
	msg := se.Error()
	return msg == "unexpected end of JSON input" ||
		strings.HasPrefix(msg, "invalid character ' '") && (len(data) == 0 || data[len(data)-1] != ' ')
}

// root returns the offset of the document's value.
func (p *positions) root() int { return p.skipSpace(0) }

// find returns where the value at ptr is, or the nearest enclosing value that
// exists: the offset of its first byte, the offset of its member's key (-1
// for an element of an array, or the root), and whether it is ptr's own.
func (p *positions) find(ptr string) (off, keyOff int, ok bool) {
	off, keyOff = p.root(), -1
	if ptr == "" {
		return off, keyOff, true
	}
	rest := ptr[1:]
	for {
		seg, next, more := strings.Cut(rest, "/")
		m := p.members(off)
		i := -1
		if m != nil {
			i = m.index(p, unescapePointer(seg))
		}
		if i < 0 {
			return off, keyOff, false
		}
		off, keyOff = m.vals[i], -1
		if m.keys != nil {
			keyOff = m.keys[i]
		}
		if !more {
			return off, keyOff, true
		}
		rest = next
	}
}

// value returns the offset of the value at ptr, if there is one.
func (p *positions) value(ptr string) (int, bool) {
	off, _, ok := p.find(ptr)
	return off, ok
}

// members returns the members of the object or array at off, nil for any
// other value.
func (p *positions) members(off int) *members {
	if off >= len(p.data) || (p.data[off] != '{' && p.data[off] != '[') {
		return nil
	}
	if m, ok := p.kids[off]; ok {
		return m
	}
	m := &members{}
	obj := p.data[off] == '{'
	i := p.skipSpace(off + 1)
	for i < len(p.data) && p.data[i] != '}' && p.data[i] != ']' {
		if obj {
			m.keys = append(m.keys, i)
			i = p.skipSpace(p.skipString(i))
			i = p.skipSpace(i + 1) // the colon
		}
		m.vals = append(m.vals, i)
		i = p.skipSpace(p.skipValue(i))
		if i >= len(p.data) || p.data[i] != ',' {
			break
		}
		i = p.skipSpace(i + 1)
	}
	if obj && len(m.keys) >= byKeyMin {
		m.byKey = make(map[string]int, len(m.keys))
		for j, k := range m.keys {
			m.byKey[p.key(k)] = j // a repeated key: the last one counts, as when decoding
		}
	}
	if p.kids == nil {
		p.kids = map[int]*members{}
	}
	p.kids[off] = m
	return m
}

// index returns the index of the member named seg (an unescaped pointer
// segment), or -1.
func (m *members) index(p *positions, seg string) int {
	if m.keys == nil {
		n, err := strconv.Atoi(seg)
		if err != nil || n < 0 || n >= len(m.vals) || strconv.Itoa(n) != seg {
			return -1
		}
		return n
	}
	if m.byKey != nil {
		if i, ok := m.byKey[seg]; ok {
			return i
		}
		return -1
	}
	found := -1
	for i, k := range m.keys {
		if p.keyIs(k, seg) {
			found = i // a repeated key: the last one counts, as when decoding
		}
	}
	return found
}

// key returns the text of the string at off.
func (p *positions) key(off int) string {
	end := p.skipString(off)
	raw := p.data[off:end]
	if len(raw) < 2 {
		return ""
	}
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// keyIs reports whether the string at off is s.
func (p *positions) keyIs(off int, s string) bool {
	end := p.skipString(off)
	raw := p.data[off:end]
	if len(raw) < 2 {
		return false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		return p.key(off) == s // decoded as the decoder would
	}
	return string(inner) == s
}

// skipSpace returns the offset of the first byte at or after off that is not
// white space.
func (p *positions) skipSpace(off int) int {
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n':
			off++
		default:
			return off
		}
	}
	return off
}

// skipString returns the offset just after the string that starts at off.
func (p *positions) skipString(off int) int {
	for i := off + 1; i < len(p.data); i++ {
		switch p.data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(p.data)
}

// skipValue returns the offset just after the value that starts at off.
func (p *positions) skipValue(off int) int {
	if off >= len(p.data) {
		return off
	}
	switch p.data[off] {
	case '"':
		return p.skipString(off)
	case '{', '[':
		depth := 0
		for i := off; i < len(p.data); i++ {
			switch p.data[i] {
			case '"':
				i = p.skipString(i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(p.data)
	}
	i := off
	for i < len(p.data) && !strings.ContainsRune(",]} \t\r\n", rune(p.data[i])) {
		i++
	}
	return i
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

// blockSize is how many bytes apart the line marks are.
const blockSize = 4096

// lineMark is where a block of the document starts: its 1-based line, and how
// many characters of that line come before it.
type lineMark struct{ line, col int }

// lineCol turns a byte offset into a 1-based line and a 1-based column counted
// in characters. The marks take one pass over the document, on first use;
// then each call reads at most one block.
func (p *positions) lineCol(off int) (int, int) {
	if p.marks == nil {
		p.marks = make([]lineMark, 0, len(p.data)/blockSize+1)
		line, col := 1, 0
		for i, b := range p.data {
			if i%blockSize == 0 {
				p.marks = append(p.marks, lineMark{line, col})
			}
			line, col = advance(line, col, b)
		}
		if len(p.data)%blockSize == 0 {
			p.marks = append(p.marks, lineMark{line, col})
		}
	}
	off = min(max(off, 0), len(p.data))
	start := off / blockSize * blockSize
	m := p.marks[off/blockSize]
	line, col := m.line, m.col
	for _, b := range p.data[start:off] {
		line, col = advance(line, col, b)
	}
	return line, col + 1
}

// advance counts byte b into a line and column: a newline starts a line, and
// every byte that starts a UTF-8 sequence is a character.
func advance(line, col int, b byte) (int, int) {
	switch {
	case b == '\n':
		return line + 1, 0
	case b&0xC0 != 0x80:
		return line, col + 1
	}
	return line, col
}

// at locates the value at ptr, or the nearest enclosing value that exists. With
// key set it prefers the member's key, for problems about the member itself
// (an unknown field).
func (p *positions) at(ptr string, key bool) (int, int) {
	off, keyOff, _ := p.find(ptr)
	if key && keyOff >= 0 {
		return p.lineCol(keyOff)
	}
	return p.lineCol(off)
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

// syntaxProblem reports a JSON syntax error, or a limit crossed, at its
// position.
func syntaxProblem(file string, data []byte, err error) Problem {
	p := &positions{data: data}
	var oe *offsetError
	if errors.As(err, &oe) {
		line, col := p.lineCol(oe.off)
		return Problem{File: file, Line: line, Col: col, Path: oe.path, Msg: oe.msg}
	}
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
	src, _ := readSource(path, true)
	if src == nil {
		return Problem{File: path, Path: displayPath(ptr), Msg: fmt.Sprintf(format, args...)}
	}
	return src.problem(ptr, false, format, args...)
}
