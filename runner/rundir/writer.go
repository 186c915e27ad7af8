package rundir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/rubric-eval/rubric/evals"
)

// Journal writes results.jsonl: one result per line as each completes. Write
// encodes a result into a buffer and Flush writes what the buffer holds in
// one write (so does Write, past maxBuffered, and Close): a crash leaves at
// most one torn last line and every earlier result intact, and results that
// come together cost one write, not one each.
type Journal struct {
	f   *os.File
	buf bytes.Buffer
	enc *json.Encoder
}

var _ evals.Sink = (*Journal)(nil)

// CreateJournal creates the results file at path; it fails if the file
// exists.
func CreateJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return newJournal(f), nil
}

func newJournal(f *os.File) *Journal {
	j := &Journal{f: f}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	return j
}

// maxBuffered is how much a Journal holds before Write writes it.
const maxBuffered = 1 << 20

// Write appends r as one line, to the file by the next Flush.
func (j *Journal) Write(r *evals.Result) error {
	n := j.buf.Len()
	if err := j.enc.Encode(r); err != nil {
		j.buf.Truncate(n)
		return fmt.Errorf("case %s: %w", r.CaseID, err)
	}
	if j.buf.Len() >= maxBuffered {
		return j.Flush()
	}
	return nil
}

// Flush writes the lines written since the last Flush, in one write.
func (j *Journal) Flush() error {
	if j.buf.Len() == 0 {
		return nil
	}
	_, err := j.f.Write(j.buf.Bytes())
	j.buf.Reset()
	return err
}

// Close writes what is left, flushes the file to disk and closes it.
func (j *Journal) Close() error {
	if err := j.Flush(); err != nil {
		j.f.Close()
		return err
	}
	serr := j.f.Sync()
	if err := j.f.Close(); err != nil {
		return err
	}
	return serr
}

// WriteReport writes the summary as the JSON report at path, replacing the
// file atomically so a reader never sees half a report.
func WriteReport(path string, s *evals.Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
