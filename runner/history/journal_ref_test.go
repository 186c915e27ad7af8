package history

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/rundir"
)

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

// TestScanJournalMatchesDecoding: the index ScanJournal reads with gjson
// is, entry for entry, the one encoding/json decodes, on results with
// escapes, unicode, null and missing scores, errors, tags that are slices
// and metadata fields with dots in their names.
func TestScanJournalMatchesDecoding(t *testing.T) {
	path := filepath.Join(t.TempDir(), rundir.ResultsFile)
	j, err := rundir.CreateJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	score := func(v float64) *float64 { return &v }
	results := []*evals.Result{
		{RunID: "r", CaseID: "a\"b\\c\u00e9", Target: "t", Status: evals.StatusPassed, Score: score(1), Tags: []string{"lang=de", "vip"},
			Metadata: map[string]any{"plan": "pro", "a.b": 3.0, "n": nil}, Output: "{\"x\": [1, 2]}",
			Scores: []evals.Score{{Name: "c1", Pass: true, Score: 1}, {Name: "c.2", Pass: true, Score: 1}}},
		{RunID: "r", CaseID: "2", Target: "t", Repeat: 3, Status: evals.StatusFailed, Score: score(0.25),
			Scores: []evals.Score{{Name: "c1", Pass: false}, {Name: "c1", Pass: false}, {Name: "judge", Unscored: true}}},
		{RunID: "r", CaseID: "3", Target: "u", Status: evals.StatusError, Error: &evals.ResultError{Kind: "timeout", Message: "no"}},
		{RunID: "r", CaseID: "4", Target: "u", Status: evals.StatusUnscored, Metadata: map[string]any{"plan": map[string]any{"x": 1.0}},
			Transcript: []evals.Message{{Role: "user", Content: "hi"}}},
	}
	for _, r := range results {
		if err := j.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	for _, fields := range [][]string{nil, {"plan"}, {"plan", "a.b", "n", "missing"}} {
		var got, want []Case
		if _, err := ScanJournal(path, fields, func(c Case) error { got = append(got, c); return nil }); err != nil {
			t.Fatal(err)
		}
		_, err := rundir.ScanJournalAs(path, func(res *indexed, sp rundir.Span) error {
			c, err := res.index(sp, fields)
			want = append(want, c)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("fields %v, result %d:\n got %+v\nwant %+v", fields, i, got[i], want[i])
				}
			}
		}
	}
}
