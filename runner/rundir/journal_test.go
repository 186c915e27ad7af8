package rundir

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

func writeJournal(t *testing.T, results ...*evals.Result) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "results.jsonl")
	j, err := CreateJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if err := j.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func result(id string) *evals.Result {
	return &evals.Result{RunID: "r", CaseID: id, Target: "t", Output: "<b>&</b>", Status: evals.StatusPassed}
}

func TestJournalRoundTrip(t *testing.T) {
	path := writeJournal(t, result("a"), result("b"))
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte(`\u003c`)) {
		t.Errorf("output HTML-escaped in the journal: %s", b)
	}
	var ids []string
	size, err := ReadJournal(path, func(r *evals.Result) error {
		ids = append(ids, r.CaseID)
		if r.Output != "<b>&</b>" {
			t.Errorf("output = %q", r.Output)
		}
		return nil
	})
	if err != nil || strings.Join(ids, ",") != "a,b" || size != int64(len(b)) {
		t.Fatalf("ids %v, size %d of %d, err %v", ids, size, len(b), err)
	}
	if _, err := CreateJournal(path); err == nil {
		t.Error("CreateJournal replaced an existing journal")
	}
}

func TestJournalTornTail(t *testing.T) {
	for _, tc := range []struct {
		name, tail string
	}{
		{"cut mid-line", `{"run_id":"r","case_id":"c","tar`},
		{"whole line but no newline", `{"run_id":"r","case_id":"c","target":"t","status":"passed"}`},
		{"garbage then newline at end", "{\"run_id\":\"r\",\"ca\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeJournal(t, result("a"), result("b"))
			intact, _ := os.ReadFile(path)
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString(tc.tail)
			f.Close()
			n := 0
			size, err := ReadJournal(path, func(*evals.Result) error { n++; return nil })
			if err != nil || n != 2 || size != int64(len(intact)) {
				t.Fatalf("n %d, size %d (want %d), err %v", n, size, len(intact), err)
			}
			j, err := AppendJournal(path, size)
			if err != nil {
				t.Fatal(err)
			}
			j.Write(result("c"))
			j.Close()
			var ids []string
			if _, err := ReadJournal(path, func(r *evals.Result) error { ids = append(ids, r.CaseID); return nil }); err != nil {
				t.Fatal(err)
			}
			if strings.Join(ids, ",") != "a,b,c" {
				t.Errorf("after append: %v", ids)
			}
		})
	}
}

func TestJournalCorruptMiddleLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	os.WriteFile(path, []byte("{\"case_id\":\"a\"}\nnot json\n{\"case_id\":\"b\"}\n"), 0o644)
	_, err := ReadJournal(path, func(*evals.Result) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "results.jsonl:2: not a result") {
		t.Errorf("err = %v", err)
	}
}

func TestWriteReportAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	if err := WriteReport(path, &evals.Summary{ReportVersion: 1, RunID: "r"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !bytes.Contains(b, []byte(`"report_version": 1`)) || !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("report:\n%s", b)
	}
	if _, err := os.Stat(path + ".tmp"); err == nil {
		t.Error("temporary file left behind")
	}
}

// TestJournalBuffers: results written reach the file at Flush, in one
// write, and at Close; nothing before.
func TestJournalBuffers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	j, err := CreateJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	j.Write(result("a"))
	j.Write(result("b"))
	if n := size(); n != 0 {
		t.Errorf("%d bytes in the file before Flush", n)
	}
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	flushed := size()
	j.Write(result("c"))
	if size() != flushed {
		t.Error("a write after Flush reached the file before the next Flush")
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if _, err := ReadJournal(path, func(r *evals.Result) error { ids = append(ids, r.CaseID); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "a,b,c" || flushed == 0 {
		t.Errorf("journal %v (flushed %d bytes), want a,b,c", ids, flushed)
	}
}
