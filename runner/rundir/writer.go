package rundir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/rubric-eval/rubric/evals"
)

// Journal writes results.jsonl: one result per line as each completes. Each
// line goes to the file in one write, so a crash leaves at most one torn last
// line and every earlier result intact.
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

// Write appends r as one line.
func (j *Journal) Write(r *evals.Result) error {
	j.buf.Reset()
	if err := j.enc.Encode(r); err != nil {
		return fmt.Errorf("case %s: %w", r.CaseID, err)
	}
	_, err := j.f.Write(j.buf.Bytes())
	return err
}

// Close flushes the file to disk and closes it.
func (j *Journal) Close() error {
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
