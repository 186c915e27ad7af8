package evals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// Limits on a suite or project config file. A real suite is far below them:
// bulk data belongs in a dataset file, which is streamed and has none of
// these limits. They bound what loading a file costs: its memory stays a
// small multiple of the file's size.
const (
	// MaxFileSize is the largest suite or config file, in bytes.
	MaxFileSize = 64 << 20
	// MaxDepth is how deep arrays and objects may nest.
	MaxDepth = 128
	// MaxValues is how many JSON values (objects, arrays, strings, numbers,
	// booleans and nulls, at any depth) a config file may hold, a suite
	// outside its inline cases (dataset.cases), and each inline case.
	MaxValues = 50_000
	// MaxCases is how many inline cases (dataset.cases) a suite may hold.
	MaxCases = 100_000
)

// maxFileSize is MaxFileSize, smaller in tests.
var maxFileSize = MaxFileSize

// offsetError is a problem at an offset of a file, found before it is
// parsed: a limit crossed, or bytes that are not UTF-8.
type offsetError struct {
	off  int    // where in the file
	path string // the JSON path of the part it is in, if known
	msg  string
}

func (e *offsetError) Error() string { return e.msg }

// readLimited reads the file at path, or its first MaxFileSize bytes; tooBig
// says that there was more. It reads no more than that from a file of any
// size, or from a pipe that does not end.
func readLimited(path string) (data []byte, tooBig bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	limit := int64(maxFileSize)
	size := limit + 1
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() < size {
		size = st.Size() + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, false, err
	}
	data = buf.Bytes()
	if int64(len(data)) > limit {
		return data[:limit], true, nil
	}
	return data, false, nil
}

// tooBigError is the error for a file larger than MaxFileSize, of which data
// is the part read; nil if data shows an earlier problem, which is reported
// instead.
func tooBigError(data []byte, err error) error {
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err // found before the limit
	}
	return &offsetError{off: len(data), msg: fmt.Sprintf("the file is larger than %d MiB, the limit for a suite or config file: keep the cases in a dataset file (dataset.path)", MaxFileSize>>20)}
}

// checkLimits returns the first place where data crosses MaxDepth, MaxValues
// or MaxCases, or has a byte that is not UTF-8, as an *offsetError, unless
// data has a syntax error before it, which is returned instead. With suite
// set, it also returns the extent of every array at /dataset/cases, whose
// elements count toward MaxValues one by one.
func checkLimits(data []byte, suite bool) ([][2]int, error) {
	cases, lim := scanLimits(data, suite)
	if lim == nil {
		return cases, nil
	}
	// The scan does not check the syntax: a mistake before the limit is
	// the problem to report.
	if err := syntaxError(data[:lim.off]); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return nil, lim
}

// scanLimits reads data once, keeping only the stack of open arrays and
// objects, and returns the first limit crossed or byte not UTF-8. (The JSON
// decoder would turn such a byte into U+FFFD, the replacement character,
// without a word.)
func scanLimits(data []byte, suite bool) (cases [][2]int, lim *offsetError) {
	var (
		stack      [MaxDepth]byte // '{' or '[' for each open object or array
		depth      int
		keys       [3][]byte // the key of the member being read at depths 1 and 2
		expectKey  bool      // the next string is a member's key
		expectVal  = true    // the next byte that is not white space starts a value, or closes an empty array
		casesDepth int       // while inside an array at /dataset/cases: its depth
		casesStart int
		caseIndex  int
		inCase     int // values in the current inline case
		outside    int // values outside the inline cases
	)
	what := "a config file"
	if suite {
		what = "a suite outside its inline cases (dataset.cases)"
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		if c >= utf8.RuneSelf { // not JSON outside a string, but first: is it UTF-8?
			n, err := checkRune(data, i)
			if err != nil {
				return nil, err
			}
			i += n - 1
			continue
		}
		if expectVal {
			expectVal = false
			switch {
			case c == ']':
			case casesDepth > 0 && depth >= casesDepth:
				if depth == casesDepth { // an inline case starts
					if caseIndex++; caseIndex > MaxCases {
						return nil, &offsetError{off: i, path: fmt.Sprintf("$.dataset.cases[%d]", caseIndex-1),
							msg: fmt.Sprintf("more than %d inline cases, the limit for a suite: keep the cases in a dataset file (dataset.path)", MaxCases)}
					}
					inCase = 0
				}
				if inCase++; inCase > MaxValues {
					return nil, &offsetError{off: i, path: fmt.Sprintf("$.dataset.cases[%d]", caseIndex-1),
						msg: fmt.Sprintf("the case holds more than %d JSON values, the limit for an inline case: keep big cases in a dataset file (dataset.path)", MaxValues)}
				}
			default:
				if outside++; outside > MaxValues {
					return nil, &offsetError{off: i, msg: fmt.Sprintf("more than %d JSON values, the limit for %s: keep bulk data in a dataset file", MaxValues, what)}
				}
			}
		}
		switch c {
		case '"':
			start := i
			for i++; i < len(data) && data[i] != '"'; i++ {
				switch {
				case data[i] == '\\':
					i++
				case data[i] >= utf8.RuneSelf:
					n, err := checkRune(data, i)
					if err != nil {
						return nil, err
					}
					i += n - 1
				}
			}
			if expectKey && depth < len(keys) {
				keys[depth] = data[start:min(i+1, len(data))]
			}
			expectKey = false
		case '{', '[':
			if depth == MaxDepth {
				return nil, &offsetError{off: i, msg: fmt.Sprintf("arrays and objects nest more than %d levels deep, the limit for a suite or config file", MaxDepth)}
			}
			stack[depth] = c
			depth++
			if c == '{' {
				expectKey = true
				break
			}
			expectVal = true
			if suite && depth == 3 && stack[0] == '{' && stack[1] == '{' && isKey(keys[1], "dataset") && isKey(keys[2], "cases") {
				casesDepth, casesStart, caseIndex = depth, i, 0
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
			if casesDepth > 0 && depth < casesDepth {
				cases = append(cases, [2]int{casesStart, i + 1})
				casesDepth = 0
			}
			expectKey = false
		case ',':
			if depth > 0 && stack[depth-1] == '{' {
				expectKey = true
			} else {
				expectVal = true
			}
		case ':':
			expectVal = true
		}
	}
	return cases, nil
}

// checkRune returns the length of the UTF-8 character at data[i:], or an
// error if there is none.
func checkRune(data []byte, i int) (int, *offsetError) {
	r, n := utf8.DecodeRune(data[i:])
	if r == utf8.RuneError && n == 1 {
		return 0, &offsetError{off: i, msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02X): the file must be encoded as UTF-8", data[i])}
	}
	return n, nil
}

// isKey reports whether raw, a JSON string as written, is name.
func isKey(raw []byte, name string) bool {
	if len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name {
		return true
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return false
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && s == name
}

// withoutCases returns data with every array in cases emptied.
func withoutCases(data []byte, cases [][2]int) []byte {
	n := len(data)
	for _, r := range cases {
		n -= r[1] - r[0] - 2
	}
	out := make([]byte, 0, n)
	prev := 0
	for _, r := range cases {
		out = append(out, data[prev:r[0]]...)
		out = append(out, "[]"...)
		prev = r[1]
	}
	return append(out, data[prev:]...)
}
