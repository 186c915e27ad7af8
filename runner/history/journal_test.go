package history

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// TestIndexedReadsAResult: the light decoding of a journal line gives the
// index what the whole result says: criteria failed or unscored (each
// once), the error's kind, the slices of tags and of the suite's metadata
// fields, numbers as the report names them.
func TestIndexedReadsAResult(t *testing.T) {
	score := 0.25
	res := evals.Result{
		RunID: "r", CaseID: "c\"1", Target: "t", Repeat: 2, Tags: []string{"smoke", "lang=de"},
		Metadata: map[string]any{"tier": 1.5, "domain": "billing", "ignored": "x", "obj": map[string]any{"a": 1}},
		Request:  &evals.SentRequest{URL: "http://x", Body: json.RawMessage(`{"messages":[{"role":"user","content":"hi"}]}`)},
		Output:   "out", Score: &score, Status: evals.StatusError,
		Scores: []evals.Score{
			{Name: "exact", Pass: false, Reason: "no"},
			{Name: "judge", Pass: true, Unscored: true},
			{Name: "ok", Pass: true},
			{Name: "exact", Pass: false},
		},
		Error: &evals.ResultError{Kind: evals.ErrKindTimeout, Message: "slow"},
	}
	line, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var in indexed
	if err := json.Unmarshal(line, &in); err != nil {
		t.Fatal(err)
	}
	got, err := in.index(rundir.Span{Off: 7, Len: len(line)}, []string{"tier", "domain", "obj", "lang"})
	if err != nil {
		t.Fatal(err)
	}
	want := Case{RunID: "r", CaseID: "c\"1", Target: "t", Repeat: 2, Status: "error", Score: &score,
		Failed: []string{"exact", "judge"}, ErrorKind: "timeout",
		Slices: []string{"tag=smoke", "lang=de", "tier=1.5", "domain=billing"}, Off: 7, Len: len(line)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("index:\n got %+v\nwant %+v", got, want)
	}
	// Without slice fields, the metadata is not read at all.
	in.Metadata = json.RawMessage(`"not an object"`)
	if got, err := in.index(rundir.Span{}, nil); err != nil || !reflect.DeepEqual(got.Slices, []string{"tag=smoke", "lang=de"}) {
		t.Errorf("without slice fields: %v, %v", got.Slices, err)
	}
	if _, err := in.index(rundir.Span{}, []string{"tier"}); err == nil {
		t.Error("metadata that is not an object was read")
	}
}

// TestScanJournal: every result of a journal, in order, with its place.
func TestScanJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	lines := `{"run_id":"r","case_id":"b","target":"t","status":"passed","tags":["x"]}` + "\n" +
		`{"run_id":"r","case_id":"a","target":"t","status":"failed","metadata":{"lang":"de"},"scores":[{"name":"f","pass":false}]}` + "\n" +
		`{"run_id":"r","case_id":"c","ta` // torn
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []Case
	size, err := ScanJournal(path, []string{"lang"}, func(c Case) error { got = append(got, c); return nil })
	if err != nil {
		t.Fatal(err)
	}
	first := int64(len(`{"run_id":"r","case_id":"b","target":"t","status":"passed","tags":["x"]}`) + 1)
	want := []Case{
		{RunID: "r", CaseID: "b", Target: "t", Status: "passed", Slices: []string{"tag=x"}, Off: 0, Len: int(first)},
		{RunID: "r", CaseID: "a", Target: "t", Status: "failed", Failed: []string{"f"}, Slices: []string{"lang=de"}, Off: first, Len: int(size - first)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cases:\n got %+v\nwant %+v", got, want)
	}
	if err := os.WriteFile(path, []byte(`{"run_id":"r","case_id":"a","target":"t","metadata":"x"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ScanJournal(path, []string{"lang"}, func(Case) error { return nil }); err == nil {
		t.Error("metadata that is not an object was read")
	}
}
