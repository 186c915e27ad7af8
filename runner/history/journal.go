package history

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// ScanJournal streams the case index of the results journal at path to
// fn: the Case of each result, in the journal's order; fields are the
// metadata fields the suite slices by. It returns the size of the
// journal's intact part, as rundir.ScanJournal does; a torn last line is
// left out.
func ScanJournal(path string, fields []string, fn func(Case) error) (int64, error) {
	return rundir.ScanJournalAs(path, func(res *indexed, sp rundir.Span) error {
		c, err := res.index(sp, fields)
		if err != nil {
			return fmt.Errorf("%s: the result at byte %d: %w", path, sp.Off, err)
		}
		return fn(c)
	})
}

// indexed is the part of a result that the case index reads, decoded from
// the journal several times faster than a whole evals.Result: its request,
// output and transcript are skipped, and its metadata is decoded only when
// the suite slices by some of it.
type indexed struct {
	RunID    string          `json:"run_id"`
	CaseID   string          `json:"case_id"`
	Target   string          `json:"target"`
	Repeat   int             `json:"repeat"`
	Tags     []string        `json:"tags"`
	Metadata json.RawMessage `json:"metadata"`
	Scores   []struct {
		Name     string `json:"name"`
		Pass     bool   `json:"pass"`
		Unscored bool   `json:"unscored"`
	} `json:"scores"`
	Score  *float64     `json:"score"`
	Status evals.Status `json:"status"`
	Error  *struct {
		Kind string `json:"kind"`
	} `json:"error"`
}

// index is the case index's entry for the result, whose line is at sp in
// the journal; fields are the metadata fields the suite slices by.
func (r *indexed) index(sp rundir.Span, fields []string) (Case, error) {
	res := evals.Result{Tags: r.Tags}
	if len(fields) > 0 && len(r.Metadata) > 0 {
		if err := json.Unmarshal(r.Metadata, &res.Metadata); err != nil {
			return Case{}, fmt.Errorf("metadata: %w", err)
		}
	}
	c := Case{
		RunID: r.RunID, Target: r.Target, CaseID: r.CaseID, Repeat: r.Repeat, Status: string(r.Status),
		Score: r.Score, Slices: runner.SliceNames(&res, fields), Off: sp.Off, Len: sp.Len,
	}
	if r.Error != nil {
		c.ErrorKind = r.Error.Kind
	}
	for _, sc := range r.Scores {
		if (!sc.Pass || sc.Unscored) && !slices.Contains(c.Failed, sc.Name) {
			c.Failed = append(c.Failed, sc.Name)
		}
	}
	return c, nil
}
