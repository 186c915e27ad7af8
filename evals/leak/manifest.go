package leak

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// ManifestVersion is the version of a manifest's layout.
const ManifestVersion = 1

// Header is a manifest's first line: what wrote it and how its prompts are
// hashed.
type Header struct {
	// Version is ManifestVersion; its key marks the file as a manifest.
	Version int `json:"rubric_manifest"`
	// Normalization is the normalisation the hashes use.
	Normalization string `json:"normalization"`
	// Run is the id of the run exported, Suite its suite's name and Format
	// the export's format.
	Run     string    `json:"run"`
	Suite   string    `json:"suite"`
	Format  string    `json:"format"`
	Export  string    `json:"export,omitempty"` // the export's file name
	Created time.Time `json:"created"`
	// NGrams is the file of the exported prompts' n-grams, relative to the
	// manifest's folder; Tokenizer and N say how they were made.
	NGrams    string `json:"ngrams,omitempty"`
	Tokenizer string `json:"tokenizer,omitempty"`
	N         int    `json:"n,omitempty"`
}

// Entry is a manifest line after the header: one prompt an exported
// example trains on.
type Entry struct {
	// Hash is the prompt's Sum in hex.
	Hash string `json:"hash"`
	// Case and Run are the exported result's case and run; Target its
	// target.
	Case   string `json:"case"`
	Run    string `json:"run"`
	Target string `json:"target,omitempty"`
	// Messages is how many messages the prompt has.
	Messages int `json:"messages"`
}

// Writer writes a manifest: its header, then a line for each prompt of
// each example added. It collects the examples' n-grams on the way.
type Writer struct {
	w      *bufio.Writer
	run    string
	lines  int
	ngrams NGramSet
	err    error
}

// NewWriter writes h (its Version and Normalization set) to w and returns
// the writer of the entries.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	h.Version, h.Normalization = ManifestVersion, Normalization
	mw := &Writer{w: bufio.NewWriter(w), run: h.Run}
	if h.NGrams != "" {
		h.Tokenizer, h.N = Tokenizer, N
	}
	mw.line(h)
	return mw, mw.err
}

func (mw *Writer) line(v any) {
	if mw.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		mw.err = err
		return
	}
	mw.w.Write(b)
	mw.err = mw.w.WriteByte('\n')
}

// Add records an exported example's prompt: a line for each of its Points,
// and the n-grams of each message's content.
func (mw *Writer) Add(prompt []evals.Message, caseID, target string) error {
	for _, n := range Points(prompt) {
		mw.line(Entry{Hash: Hash(prompt[:n]).String(), Case: caseID, Run: mw.run, Target: target, Messages: n})
		mw.lines++
	}
	for _, m := range prompt {
		NGrams(m.Content, mw.ngrams.Add)
	}
	return mw.err
}

// Entries counts the entries written.
func (mw *Writer) Entries() int { return mw.lines }

// Flush writes what is buffered.
func (mw *Writer) Flush() error {
	if mw.err != nil {
		return mw.err
	}
	return mw.w.Flush()
}

// NGrams returns the distinct n-grams of the prompts added, sorted, for
// WriteNGrams.
func (mw *Writer) NGrams() []uint64 { return mw.ngrams.Sorted() }

// Error is a manifest line that is not what it should be.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// maxLine bounds a manifest line: entries are about 150 bytes.
const maxLine = 1 << 20

// Scan reads the manifest at path line by line: its header, checked, then
// each entry, checked and handed to fn with its sum and line number. A line
// that is not what it should be is an *Error naming the file and line.
func Scan(path string, fn func(e *Entry, sum Sum, line int) error) (*Header, error) {
	return scan(path, nil, fn)
}

// scan is Scan; with want, a line that starts as Writer writes it,
// {"hash":"SUM", is passed over undecoded unless want(SUM): a second
// reading, of a manifest checked already, looks for a few sums only.
func scan(path string, want func(Sum) bool, fn func(e *Entry, sum Sum, line int) error) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	bad := func(line int, format string, args ...any) error {
		return &Error{File: path, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var h *Header
	var e Entry
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if h == nil {
			if h, err = readHeader(text); err != nil {
				return nil, bad(line, "%v", err)
			}
			continue
		}
		if len(text) == 0 {
			continue
		}
		if want != nil {
			if sum, ok := leadingSum(text); ok && !want(sum) {
				continue
			}
		}
		e = Entry{}
		if err := json.Unmarshal(text, &e); err != nil {
			return h, bad(line, `expected an entry {"hash": SHA256, "case": ID, "run": RUN_ID}: %v`, err)
		}
		sum, err := ParseSum(e.Hash)
		switch {
		case e.Hash == "":
			return h, bad(line, `"hash" is missing: expected the SHA-256 of a prompt in hex`)
		case err != nil:
			return h, bad(line, `"hash": %v`, err)
		case e.Case == "":
			return h, bad(line, `"case" is missing: expected the id of the exported case`)
		}
		if err := fn(&e, sum, line); err != nil {
			return h, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return h, bad(line+1, "a line longer than %d bytes: not a manifest rubric export wrote", maxLine)
		}
		return h, fmt.Errorf("%s: %w", path, err)
	}
	if h == nil {
		return nil, bad(1, `the file is empty: expected a header line {"rubric_manifest": %d, ...}`, ManifestVersion)
	}
	return h, nil
}

// readHeader reads and checks a manifest's first line.
func readHeader(text []byte) (*Header, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(text, &probe); err != nil {
		return nil, fmt.Errorf(`expected a header line {"rubric_manifest": %d, "normalization": %q, ...}: %v`, ManifestVersion, Normalization, err)
	}
	if _, ok := probe["rubric_manifest"]; !ok {
		return nil, fmt.Errorf(`expected a header line {"rubric_manifest": %d, "normalization": %q, ...}: there is no "rubric_manifest" key (is this the export itself rather than its .manifest.jsonl?)`, ManifestVersion, Normalization)
	}
	var h Header
	if err := json.Unmarshal(text, &h); err != nil {
		return nil, fmt.Errorf("header: %v", err)
	}
	switch {
	case h.Version != ManifestVersion:
		return nil, fmt.Errorf("manifest version %d: this rubric reads version %d", h.Version, ManifestVersion)
	case h.Normalization != Normalization:
		return nil, fmt.Errorf("prompts normalised as %q: this rubric hashes them as %q, so nothing would match; export again with this rubric", h.Normalization, Normalization)
	case h.NGrams != "" && (h.Tokenizer != Tokenizer || h.N != N):
		return nil, fmt.Errorf("n-grams of tokenizer %q, n %d: this rubric makes them with %q, n %d; export again with this rubric", h.Tokenizer, h.N, Tokenizer, N)
	}
	return &h, nil
}

// leadingSum reads the sum of an entry line that begins as Writer writes
// it: {"hash":"SUM",
func leadingSum(line []byte) (Sum, bool) {
	const prefix = `{"hash":"`
	var s Sum
	if len(line) < len(prefix)+2*len(s)+1 || string(line[:len(prefix)]) != prefix || line[len(prefix)+2*len(s)] != '"' {
		return s, false
	}
	sum, err := ParseSum(string(line[len(prefix) : len(prefix)+2*len(s)]))
	return sum, err == nil
}
