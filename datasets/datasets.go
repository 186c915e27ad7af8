// Package datasets reads a suite's cases from JSONL, CSV and JSON files, or
// from the suite itself, one case at a time: a dataset is streamed, never
// loaded whole, so memory does not grow with its size.
package datasets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// Reader yields cases one at a time. Next returns io.EOF after the last case;
// any other error is an evals.Problems naming the file and the place in it.
// After such an error, Next goes on with the next case where the format
// allows it (the next line of JSONL or CSV, the next element of a JSON array
// or of the inline cases) and returns io.EOF where it does not (a JSON array
// that is not valid JSON, a file that cannot be read), so that a caller can
// collect every problem of a dataset.
type Reader interface {
	Next() (*evals.Case, error)
	Close() error
}

// Open returns a reader over the suite's dataset.
func Open(s *evals.Suite) (Reader, error) {
	d := s.Dataset
	if d.Path == "" {
		return &inline{file: s.Path, cases: d.Cases}, nil
	}
	path := s.Resolve(d.Path)
	format := d.Format
	if format == "" {
		var ok bool
		if format, ok = evals.FormatOf(path); !ok {
			return nil, evals.Problems{{File: path, Msg: "cannot tell the dataset format from the extension: expected .jsonl, .ndjson, .csv or .json"}}
		}
	}
	return OpenFile(path, format)
}

// OpenFile returns a reader over a dataset file of the given format.
func OpenFile(path, format string) (Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, evals.Problems{{File: path, Msg: err.Error()}}
	}
	switch format {
	case evals.FormatJSONL:
		return newJSONL(path, f), nil
	case evals.FormatCSV:
		r, err := newCSV(path, f)
		if err != nil {
			f.Close()
			return nil, err
		}
		return r, nil
	case evals.FormatJSON:
		r, err := newJSONArray(path, f)
		if err != nil {
			f.Close()
			return nil, err
		}
		return r, nil
	}
	f.Close()
	return nil, evals.Problems{{File: path, Msg: fmt.Sprintf("unknown dataset format %q: expected jsonl, csv or json", format)}}
}

func problem(file string, line, col int, path, format string, args ...any) error {
	return evals.Problems{{File: file, Line: line, Col: col, Path: path, Msg: fmt.Sprintf(format, args...)}}
}

// invalidUTF8 returns the offset of the first byte of b that is not part of a
// UTF-8 character, or -1. The JSON decoder would turn such a byte into
// U+FFFD, the replacement character, without a word; a case is sent as
// written or not at all.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// utf8Problem is the message for byte b, not UTF-8.
func utf8Problem(b byte) string {
	return fmt.Sprintf("invalid UTF-8 (byte 0x%02X): the file must be encoded as UTF-8", b)
}

// reserved are the case fields that are not variables.
var reserved = map[string]bool{"id": true, "vars": true, "expected": true, "tags": true, "metadata": true,
	"turns": true, "tools": true, "mocks": true}

// caseFields is a case object as written in JSON.
type caseFields struct {
	ID       json.RawMessage `json:"id"`
	Vars     map[string]any  `json:"vars"`
	Expected any             `json:"expected"`
	Tags     []string        `json:"tags"`
	Metadata map[string]any  `json:"metadata"`
	// The conversation's fields are decoded by conversationFields.
	Turns json.RawMessage `json:"turns"`
	Tools json.RawMessage `json:"tools"`
	Mocks json.RawMessage `json:"mocks"`
}

// DecodeCase decodes one case object. n is the case's 1-based position, its id
// when the object has none. The error is a plain message; callers add the place.
func DecodeCase(raw []byte, n int) (*evals.Case, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("expected a JSON object for the case")
	}
	if c, ok := decodeCaseFast(raw, n); ok {
		return c, nil
	}
	return decodeCaseSlow(raw, n)
}

// decodeCaseFast decodes a well-formed case in one pass. It declines (ok
// false) anything unusual, which decodeCaseSlow then decodes again to report
// exactly what is wrong.
func decodeCaseFast(raw []byte, n int) (*evals.Case, bool) {
	var all map[string]any
	if json.Unmarshal(raw, &all) != nil {
		return nil, false
	}
	if all["turns"] != nil || all["tools"] != nil || all["mocks"] != nil {
		return nil, false // a conversation: decoded field by field
	}
	c := &evals.Case{Expected: all["expected"]}
	switch id := all["id"].(type) {
	case nil:
		c.ID = strconv.Itoa(n)
	case string:
		if id == "" {
			return nil, false
		}
		c.ID = id
	default:
		// A number: the slow path keeps its exact text (1e3 is not an id,
		// and integers past 2^53 lose digits as float64).
		return nil, false
	}
	if t, ok := all["tags"]; ok && t != nil {
		list, ok := t.([]any)
		if !ok {
			return nil, false
		}
		c.Tags = make([]string, len(list))
		for i, x := range list {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			c.Tags[i] = s
		}
	}
	if m, ok := all["metadata"]; ok && m != nil {
		if c.Metadata, ok = m.(map[string]any); !ok {
			return nil, false
		}
	}
	if v, ok := all["vars"]; ok && v != nil {
		if c.Vars, ok = v.(map[string]any); !ok {
			return nil, false
		}
		for k := range all {
			if !reserved[k] {
				return nil, false // stray field beside vars
			}
		}
		for _, name := range evals.Reserved {
			if _, bad := c.Vars[name]; bad {
				return nil, false
			}
		}
		return c, true
	}
	for k, v := range all {
		if reserved[k] {
			continue
		}
		if k == "output" {
			return nil, false
		}
		if c.Vars == nil {
			c.Vars = make(map[string]any, len(all))
		}
		c.Vars[k] = v
	}
	return c, true
}

// decodeCaseSlow decodes a case field by field, naming the first problem.
func decodeCaseSlow(raw []byte, n int) (*evals.Case, error) {
	var f caseFields
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, caseJSONError(err)
	}
	c := &evals.Case{Vars: f.Vars, Expected: f.Expected, Tags: f.Tags, Metadata: f.Metadata}
	switch {
	case len(f.ID) == 0 || string(f.ID) == "null":
		c.ID = strconv.Itoa(n)
	case f.ID[0] == '"':
		if err := json.Unmarshal(f.ID, &c.ID); err != nil || c.ID == "" {
			return nil, errors.New(`field "id": expected a non-empty string or an integer`)
		}
	default:
		if _, err := strconv.ParseInt(string(f.ID), 10, 64); err != nil {
			return nil, fmt.Errorf(`field "id": expected a string or an integer, got %s`, f.ID)
		}
		c.ID = string(f.ID)
	}
	if f.Vars == nil {
		var all map[string]any
		if err := json.Unmarshal(raw, &all); err != nil {
			return nil, caseJSONError(err)
		}
		for k, v := range all {
			if reserved[k] {
				continue
			}
			if c.Vars == nil {
				c.Vars = make(map[string]any, len(all))
			}
			c.Vars[k] = v
		}
	} else {
		var all map[string]json.RawMessage
		_ = json.Unmarshal(raw, &all)
		var stray []string
		for k := range all {
			if !reserved[k] {
				stray = append(stray, k)
			}
		}
		if len(stray) > 0 {
			sortStrings(stray) // the same message every time
			return nil, fmt.Errorf("unknown field %q: with vars present, every variable goes in vars (case fields are id, vars, expected, tags, metadata, turns, tools, mocks)", stray[0])
		}
	}
	if err := conversationFields(c, f); err != nil {
		return nil, err
	}
	if _, ok := c.Vars["output"]; ok {
		return nil, errors.New(`variable "output" is reserved for the model's response: rename it`)
	}
	for _, name := range evals.Reserved {
		if _, ok := c.Vars[name]; ok && f.Vars != nil {
			return nil, fmt.Errorf("variable %q in vars is reserved: {{ %s }} means the case's own %s field; rename the variable", name, name, name)
		}
	}
	return c, nil
}

// conversationFields decodes a case's turns, tools and mocks, strictly: a
// misspelt field of a tool or a mock is an error, not a tool without it.
func conversationFields(c *evals.Case, f caseFields) error {
	if isSet(f.Turns) {
		if err := json.Unmarshal(f.Turns, &c.Turns); err != nil {
			return errors.New(`field "turns": expected an array of strings, the user's messages`)
		}
	}
	if isSet(f.Tools) {
		if err := strictJSON(f.Tools, &c.Tools); err != nil {
			return fmt.Errorf(`field "tools": %v (expected an array of {"type": "function", "function": {"name", "description", "parameters"}, "mock"})`, err)
		}
		for i, t := range c.Tools {
			if err := evals.CheckTool(t); err != nil {
				return fmt.Errorf(`field "tools[%d]": %v`, i, err)
			}
		}
	}
	if isSet(f.Mocks) {
		if err := strictJSON(f.Mocks, &c.Mocks); err != nil {
			return fmt.Errorf(`field "mocks": %v (expected an object of tool name to {"result"}, {"error"}, {"rules"} or {"exec"})`, err)
		}
		for name, m := range c.Mocks {
			if err := evals.CheckMock(m); err != nil {
				return fmt.Errorf(`field "mocks.%s": %v`, name, err)
			}
		}
	}
	return nil
}

func isSet(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// strictJSON decodes raw into v, refusing fields v does not have.
func strictJSON(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func caseJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := map[string]string{"vars": "an object", "tags": "an array of strings", "metadata": "an object"}
		field := strings.Split(te.Field, ".")[0]
		if w, ok := want[field]; ok {
			return fmt.Errorf("field %q: expected %s, got %s", te.Field, w, te.Value)
		}
		return fmt.Errorf("field %q: got %s", te.Field, te.Value)
	}
	return err
}

// inline reads the cases written in the suite itself.
type inline struct {
	file  string
	cases []json.RawMessage
	i     int
}

func (r *inline) Next() (*evals.Case, error) {
	if r.i >= len(r.cases) {
		return nil, io.EOF
	}
	r.i++
	c, err := DecodeCase(r.cases[r.i-1], r.i)
	if err != nil {
		return nil, problem(r.file, 0, 0, fmt.Sprintf("$.dataset.cases[%d]", r.i-1), "%s", err)
	}
	c.Source = fmt.Sprintf("%s: $.dataset.cases[%d]", r.file, r.i-1)
	return c, nil
}

func (r *inline) Close() error { return nil }

// MaxLine is the longest JSONL line read.
const MaxLine = 64 << 20

// lineReader reads a JSONL file line by line: a byte order mark at the start is
// dropped and blank lines are skipped.
type lineReader struct {
	sc   *bufio.Scanner
	line int // the number of the line read last
}

func newLines(r io.Reader) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	return &lineReader{sc: sc}
}

// next returns the next line that is not blank, valid until the next call;
// false at the end of the file or on an error, which Err then returns.
func (l *lineReader) next() ([]byte, bool) {
	for l.sc.Scan() {
		l.line++
		b := l.sc.Bytes()
		if l.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(b)) > 0 {
			return b, true
		}
	}
	return nil, false
}

// Err is the error that stopped reading; nil at the end of the file.
func (l *lineReader) Err() error { return l.sc.Err() }

// jsonl reads one case per line; blank lines are skipped.
type jsonl struct {
	file string
	f    io.ReadCloser
	*lineReader
	n    int
	done bool // reading failed: the scanner cannot go on
}

func newJSONL(path string, f io.ReadCloser) *jsonl {
	return &jsonl{file: path, f: f, lineReader: newLines(f)}
}

func (r *jsonl) Next() (*evals.Case, error) {
	if r.done {
		return nil, io.EOF
	}
	if b, ok := r.next(); ok {
		r.n++
		if i := invalidUTF8(b); i >= 0 {
			return nil, problem(r.file, r.line, utf8.RuneCount(b[:i])+1, "", "%s", utf8Problem(b[i]))
		}
		c, err := DecodeCase(b, r.n)
		if err != nil {
			col := 1
			var se *json.SyntaxError
			if errors.As(err, &se) {
				col = column(b, int(se.Offset))
				err = fmt.Errorf("invalid JSON: %w", err)
			}
			return nil, problem(r.file, r.line, col, "", "%s", err)
		}
		c.Source = r.file + ":" + strconv.Itoa(r.line)
		return c, nil
	}
	if err := r.Err(); err != nil {
		r.done = true
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, problem(r.file, r.line+1, 1, "", "line longer than %d MiB", MaxLine>>20)
		}
		return nil, problem(r.file, r.line, 0, "", "%s", err)
	}
	return nil, io.EOF
}

func (r *jsonl) Close() error { return r.f.Close() }

// column turns the offset of a syntax error in a line, as DecodeCase reports
// it (after the line's leading white space, and counting the byte in error),
// into a 1-based column in characters.
func column(line []byte, off int) int {
	lead := len(line) - len(bytes.TrimLeftFunc(line, unicode.IsSpace))
	at := min(max(lead+off-1, 0), len(line))
	for at > 0 && at < len(line) && !utf8.RuneStart(line[at]) {
		at-- // inside a character: the line ended in it
	}
	return utf8.RuneCount(line[:at]) + 1
}

// csvReader reads a header row, then a case a row.
type csvReader struct {
	file   string
	f      io.ReadCloser
	r      *csv.Reader
	header []string
	n      int
	done   bool // reading failed: the file cannot be read further
}

func newCSV(path string, f io.ReadCloser) (*csvReader, error) {
	br := bufio.NewReaderSize(f, 64<<10)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		br.Discard(3) // before csv sees it: a BOM before a quoted name is a bare quote
	}
	r := csv.NewReader(br)
	r.ReuseRecord = true
	head, err := r.Read()
	if err == io.EOF {
		return nil, problem(path, 1, 1, "", "empty CSV file: expected a header row naming the columns")
	}
	if err != nil {
		return nil, csvProblem(path, err)
	}
	header := make([]string, len(head))
	seen := map[string]int{}
	for i, h := range head {
		if j := invalidUTF8([]byte(h)); j >= 0 {
			line, col := r.FieldPos(i)
			return nil, problem(path, line, col, "", "column %d of the header row: %s", i+1, utf8Problem(h[j]))
		}
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, problem(path, 1, 0, "", "column %d has no name in the header row", i+1)
		}
		if j, dup := seen[h]; dup {
			return nil, problem(path, 1, 0, "", "columns %d and %d are both named %q", j+1, i+1, h)
		}
		if h == "vars" || h == "output" {
			return nil, problem(path, 1, 0, "", "column %q: the name is reserved; rename the column", h)
		}
		seen[h] = i
		header[i] = h
	}
	if _, ok := seen["expected"]; ok {
		for _, h := range header {
			if strings.HasPrefix(h, "expected.") {
				return nil, problem(path, 1, 0, "", "columns expected and %s cannot both be used", h)
			}
		}
	}
	return &csvReader{file: path, f: f, r: r, header: header}, nil
}

func csvProblem(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return problem(file, pe.Line, pe.Column, "", "%s", pe.Err)
	}
	return problem(file, 0, 0, "", "%s", err)
}

// Next returns the next row's case. After a row that does not parse, the
// next call goes on at the line after the error (encoding/csv drops the rest
// of that line), so every bad row of a file can be reported; an error that is
// not about the file's content ends the reading.
func (r *csvReader) Next() (*evals.Case, error) {
	if r.done {
		return nil, io.EOF
	}
	rec, err := r.r.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) && errors.Is(err, csv.ErrFieldCount) {
		return nil, problem(r.file, pe.StartLine, 1, "", "expected %d fields (%s), got %d", len(r.header), strings.Join(r.header, ", "), len(rec))
	}
	if err != nil {
		r.done = pe == nil
		return nil, csvProblem(r.file, err)
	}
	line, _ := r.r.FieldPos(0)
	r.n++
	c := &evals.Case{Vars: make(map[string]any, len(rec))}
	for i, v := range rec {
		h := r.header[i]
		if j := invalidUTF8([]byte(v)); j >= 0 {
			fl, fc := r.r.FieldPos(i)
			return nil, problem(r.file, fl, fc, "", "column %q: %s", h, utf8Problem(v[j]))
		}
		switch {
		case h == "id":
			c.ID = v
		case h == "expected":
			c.Expected = v
		case h == "tags":
			for _, t := range strings.Split(v, ";") {
				if t = strings.TrimSpace(t); t != "" {
					c.Tags = append(c.Tags, t)
				}
			}
		case strings.HasPrefix(h, "expected."):
			m, ok := c.Expected.(map[string]any)
			if !ok {
				if c.Expected != nil {
					return nil, problem(r.file, line, 0, "", "columns expected and %s cannot both be used", h)
				}
				m = map[string]any{}
				c.Expected = m
			}
			m[strings.TrimPrefix(h, "expected.")] = v
		case strings.HasPrefix(h, "metadata."):
			if c.Metadata == nil {
				c.Metadata = map[string]any{}
			}
			c.Metadata[strings.TrimPrefix(h, "metadata.")] = v
		default:
			c.Vars[h] = v
		}
	}
	if c.ID == "" {
		c.ID = strconv.Itoa(r.n)
	}
	c.Source = r.file + ":" + strconv.Itoa(line)
	return c, nil
}

func (r *csvReader) Close() error { return r.f.Close() }

// jsonArray reads a JSON array of case objects element by element.
type jsonArray struct {
	file string
	f    io.ReadCloser
	dec  *json.Decoder
	bom  int64 // the length of the byte order mark before the array, if any
	n    int
	done bool
}

func newJSONArray(path string, f io.ReadCloser) (*jsonArray, error) {
	br := bufio.NewReaderSize(f, 64<<10)
	var bom int64
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
		bom = 3
	}
	dec := json.NewDecoder(br)
	tok, err := dec.Token()
	if err != nil {
		return nil, problem(path, 1, 1, "$", "invalid JSON: %s", err)
	}
	if tok != json.Delim('[') {
		return nil, problem(path, 1, 1, "$", "expected a JSON array of cases")
	}
	return &jsonArray{file: path, f: f, dec: dec, bom: bom}, nil
}

// offset is the decoder's offset in the file.
func (r *jsonArray) offset() int64 { return r.bom + r.dec.InputOffset() }

// lineCol reads the file again up to byte off and returns its line and its
// column in characters (0, 0 if the file cannot be read). A problem is
// rare, and reading for it is cheaper than counting lines for every case.
func (r *jsonArray) lineCol(off int64) (int, int) {
	f, err := os.Open(r.file)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.LimitReader(f, off), 64<<10)
	br.Discard(int(r.bom))
	line, col := 1, 1
	for {
		b, err := br.ReadByte()
		if err != nil {
			return line, col
		}
		switch {
		case b == '\n':
			line, col = line+1, 1
		case b&0xC0 != 0x80: // the first byte of a character
			col++
		}
	}
}

func (r *jsonArray) Next() (*evals.Case, error) {
	if r.done {
		return nil, io.EOF
	}
	if !r.dec.More() {
		r.done = true
		if _, err := r.dec.Token(); err != nil {
			return nil, problem(r.file, 0, 0, "$", "invalid JSON at byte %d: %s", r.offset(), err)
		}
		return nil, io.EOF
	}
	path := fmt.Sprintf("$[%d]", r.n)
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		r.done = true
		return nil, problem(r.file, 0, 0, path, "invalid JSON at byte %d: %s", r.offset(), err)
	}
	if i := invalidUTF8(raw); i >= 0 {
		r.n++
		line, col := r.lineCol(r.offset() - int64(len(raw)) + int64(i))
		return nil, problem(r.file, line, col, path, "%s", utf8Problem(raw[i]))
	}
	r.n++
	c, err := DecodeCase(raw, r.n)
	if err != nil {
		return nil, problem(r.file, 0, 0, path, "%s", err)
	}
	c.Source = r.file + ": " + path
	return c, nil
}

func (r *jsonArray) Close() error { return r.f.Close() }
