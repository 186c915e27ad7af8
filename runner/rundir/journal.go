package rundir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/rubric-eval/rubric/evals"
)

// ReadJournal streams the results recorded in a results.jsonl file to fn and
// returns the size of the file's intact part. A last line that was cut short
// by a crash (no final newline, or not valid JSON) is a torn write: it is left
// out, and the size returned ends before it so that the caller can truncate
// it. A malformed line anywhere else is an error naming the line.
func ReadJournal(path string, fn func(*evals.Result) error) (int64, error) {
	return ScanJournal(path, func(r *evals.Result, _ Span) error { return fn(r) })
}

// Span is where a result's line is in the journal: its byte offset and its
// length, newline included, for reading it again with ReadAt.
type Span struct {
	Off int64
	Len int
}

// ScanJournal is ReadJournal that also gives each result's place in the
// file.
func ScanJournal(path string, fn func(*evals.Result, Span) error) (int64, error) {
	return ScanJournalAs(path, fn)
}

// ScanJournalAs is ScanJournal that decodes each line into a T: a struct
// with only the fields the caller reads decodes faster than a whole
// evals.Result.
func ScanJournalAs[T any](path string, fn func(*T, Span) error) (int64, error) {
	return ScanJournalLines(path, func(line []byte, sp Span) (bool, error) {
		var res T
		if err := json.Unmarshal(line, &res); err != nil {
			return false, err
		}
		return true, fn(&res, sp)
	})
}

// ScanJournalLines is the loop of ScanJournal over the raw lines, for a
// caller that reads them its own way: fn is given each non-blank line,
// newline included, and its place, and says whether it could read it (ok
// false and the reason as err when the line is not a result) or, ok, the
// error that stops the scan. A line it cannot read is a torn last line when
// it is the last, and an error naming the line otherwise.
func ScanJournalLines(path string, fn func(line []byte, sp Span) (ok bool, err error)) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var good int64
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if err == io.EOF {
			// No newline: the last write did not finish, whether or not
			// the bytes happen to parse.
			return good, nil
		}
		if err != nil {
			return good, err
		}
		if len(bytes.TrimSpace(b)) > 0 {
			ok, err := fn(b, Span{Off: good, Len: len(b)})
			switch {
			case !ok:
				if _, perr := r.Peek(1); errors.Is(perr, io.EOF) {
					return good, nil // torn last line that ends in a newline by chance
				}
				return good, fmt.Errorf("%s:%d: not a result: %v", path, line, err)
			case err != nil:
				return good, err
			}
		}
		good += int64(len(b))
	}
}

// AppendJournal opens an existing results file for more results, first
// cutting it to size (the intact part ReadJournal reported).
func AppendJournal(path string, size int64) (*Journal, error) {
	if err := os.Truncate(path, size); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return newJournal(f), nil
}

// ReadResultAt reads the result whose line is at sp in f, with buf as
// scratch space (grown as needed and returned).
func ReadResultAt(f io.ReaderAt, sp Span, buf []byte) (*evals.Result, []byte, error) {
	if cap(buf) < sp.Len {
		buf = make([]byte, sp.Len)
	}
	buf = buf[:sp.Len]
	if _, err := f.ReadAt(buf, sp.Off); err != nil {
		return nil, buf, err
	}
	var r evals.Result
	if err := json.Unmarshal(buf, &r); err != nil {
		return nil, buf, fmt.Errorf("the result at byte %d: %w", sp.Off, err)
	}
	return &r, buf, nil
}

// Results streams the results of the journal at path to fn, as
// report.Results wants them; a torn last line is left out, as ReadJournal
// does.
func Results(path string) func(fn func(*evals.Result) error) error {
	return func(fn func(*evals.Result) error) error {
		_, err := ReadJournal(path, fn)
		return err
	}
}
