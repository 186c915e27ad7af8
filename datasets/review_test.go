package datasets

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// reviewSheet writes the examples as a review sheet in format and returns
// its path.
func reviewSheet(t *testing.T, format string, exs []*Example) string {
	t.Helper()
	var b bytes.Buffer
	w, err := NewExportWriter(&b, format, []string{"json", "intent"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range exs {
		if err := w.Write(ex); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	name := "review.jsonl"
	if format == ExportReviewCSV {
		name = "review.csv"
	}
	return writeFile(t, name, b.String())
}

// edit sets columns of the sheet's rows, by case id, as a reviewer would in
// a spreadsheet or an editor; CSV cells take text, JSONL fields any value.
func edit(t *testing.T, path string, edits map[string]map[string]any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if strings.HasSuffix(path, ".csv") {
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for _, rec := range recs[1:] {
			for k, v := range edits[rec[col[ColCaseID]]] {
				rec[col[k]] = v.(string)
			}
		}
		w := csv.NewWriter(&out)
		w.WriteAll(recs)
	} else {
		for _, line := range strings.SplitAfter(string(b), "\n") {
			if line == "" {
				continue
			}
			var row map[string]any
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatal(err)
			}
			for k, v := range edits[row[ColCaseID].(string)] {
				row[k] = v
			}
			nb, _ := json.Marshal(row)
			out.Write(append(nb, '\n'))
		}
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReviewRoundTrip exports a review sheet, edits it as a reviewer would,
// imports it, and reads the dataset back with the dataset reader suites use.
func TestReviewRoundTrip(t *testing.T) {
	exs := exportExamples()
	third := *exs[0]
	third.CaseID, third.Expected, third.Tags, third.Metadata = "c3", "refund", nil, nil
	fourth := *exs[0]
	fourth.CaseID = "c4"
	exs = append(exs, &third, &fourth)
	for _, format := range []string{ExportReviewCSV, ExportReviewJSONL} {
		t.Run(format, func(t *testing.T) {
			sheet := reviewSheet(t, format, exs)
			corrected := any(`{"intent": "cancel", "reply": "Done, à bientôt"}`)
			if format == ExportReviewJSONL {
				// In JSONL a reviewer may write the value itself.
				corrected = map[string]any{"intent": "cancel", "reply": "Done, à bientôt"}
			}
			edit(t, sheet, map[string]map[string]any{
				"c1": {ColVerdict: " Accept "},
				"c2": {ColCorrected: corrected},
				"c3": {ColVerdict: "reject"},
				// c4: not reviewed
			})
			var out bytes.Buffer
			st, err := ImportReview(sheet, &out, ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := ImportStats{Rows: 4, Written: 2, Corrected: 1, Rejected: 1, Unreviewed: 1}
			if st != want {
				t.Errorf("stats %+v, want %+v", st, want)
			}
			if got, want := st.Summary(), "2 of 4 rows written as cases (1 with a corrected answer); left out: 1 rejected, 1 not reviewed"; got != want {
				t.Errorf("summary %q, want %q", got, want)
			}
			r := newJSONL("cases.jsonl", io.NopCloser(&out))
			cases, probs := readAll(t, r, "")
			if len(probs) > 0 {
				t.Fatalf("the imported dataset does not read back: %v", probs)
			}
			wantCases := []*evals.Case{
				{ID: "c1", Vars: exs[0].Vars, Expected: map[string]any{"intent": "refund"}, Tags: exs[0].Tags, Metadata: exs[0].Metadata, Source: "cases.jsonl:1"},
				{ID: "c2", Vars: exs[1].Vars, Expected: map[string]any{"intent": "cancel", "reply": "Done, à bientôt"}, Source: "cases.jsonl:2"},
			}
			if !reflect.DeepEqual(cases, wantCases) {
				g, _ := json.Marshal(cases)
				w, _ := json.Marshal(wantCases)
				t.Errorf("cases\n%s\nwant\n%s", g, w)
			}

			out.Reset()
			st, err = ImportReview(sheet, &out, ImportOptions{KeepUnreviewed: true})
			if err != nil {
				t.Fatal(err)
			}
			if st.Written != 3 || st.Unreviewed != 0 || !strings.Contains(out.String(), `"id":"c4"`) {
				t.Errorf("with KeepUnreviewed: %+v\n%s", st, out.String())
			}
		})
	}
}

func TestImportReviewErrors(t *testing.T) {
	exs := exportExamples()
	for _, tc := range []struct {
		name   string
		format string
		edits  map[string]map[string]any
		raw    string // the whole sheet, instead of an edited export
		want   string
	}{
		{name: "unknown verdict", format: ExportReviewCSV, edits: map[string]map[string]any{"c2": {ColVerdict: "maybe"}},
			want: `review.csv:7: verdict: got "maybe", expected accept, reject, skip or nothing`},
		{name: "reject with a correction", format: ExportReviewJSONL, edits: map[string]map[string]any{"c1": {ColVerdict: "reject", ColCorrected: "x"}},
			want: "review.jsonl:1: verdict reject with a corrected answer: clear one of them"},
		{name: "vars not an object", format: ExportReviewCSV, edits: map[string]map[string]any{"c1": {ColVerdict: "accept", ColVars: "[1]"}},
			want: `review.csv:2:`},
		{name: "reserved variable", format: ExportReviewJSONL, edits: map[string]map[string]any{"c1": {ColVerdict: "accept", ColVars: map[string]any{"expected": 1}}},
			want: `review.jsonl:1: the case would not load: variable "expected" in vars is reserved`},
		{name: "empty case id", format: ExportReviewJSONL, edits: map[string]map[string]any{"c1": {ColVerdict: "accept", ColCaseID: ""}},
			want: "review.jsonl:1: case_id: empty: expected the case's id"},
		{name: "missing columns", raw: "case_id,expected\nc1,x\n", want: "review.csv:1: the header has no column verdict, corrected"},
		{name: "empty csv", raw: "", want: "review.csv: empty file"},
		{name: "conflicting rows", format: ExportReviewJSONL, raw: `{"case_id":"a","expected":"x","verdict":"accept"}` + "\n" + `{"case_id":"a","expected":"y","verdict":"accept"}` + "\n",
			want: `review.jsonl:2: case "a" is also on line 1, with other content: keep one of the two rows`},
		{name: "bad JSON", format: ExportReviewJSONL, raw: `{"case_id": "a",}` + "\n", want: "review.jsonl:1:17: invalid JSON"},
		{name: "wrong type", format: ExportReviewJSONL, raw: `{"case_id": 3}` + "\n", want: "review.jsonl:1: case_id: got number, expected string"},
		{name: "nothing reviewed", format: ExportReviewCSV,
			want: "review.csv: none of its 2 rows has a verdict or a corrected answer: nothing to import (fill in verdict with accept, reject or skip, or corrected with the right answer)"},
		{name: "nothing reviewed, jsonl", format: ExportReviewJSONL, raw: `{"case_id":"a","expected":"x","verdict":" "}` + "\n",
			want: "review.jsonl: none of its 1 rows has a verdict or a corrected answer: nothing to import"},
		{name: "header only", raw: "case_id,expected,verdict,corrected\n", want: "review.csv: the sheet has no rows: nothing to import"},
		{name: "no rows", format: ExportReviewJSONL, raw: "\n\n", want: "review.jsonl: the sheet has no rows: nothing to import"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sheet string
			switch {
			case tc.raw != "" || tc.format == "":
				name := "review.csv"
				if tc.format == ExportReviewJSONL {
					name = "review.jsonl"
				}
				sheet = writeFile(t, name, tc.raw)
			default:
				sheet = reviewSheet(t, tc.format, exs)
				edit(t, sheet, tc.edits)
			}
			var out bytes.Buffer
			_, err := ImportReview(sheet, &out, ImportOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.HasSuffix(tc.want, "nothing to import") || strings.Contains(tc.want, "nothing to import (") {
				if !errors.Is(err, ErrNotReviewed) || out.Len() > 0 {
					t.Errorf("error %v is not ErrNotReviewed, or %q was written", err, out.String())
				}
			}
			if got := strings.ReplaceAll(err.Error(), filepath.Dir(sheet)+string(filepath.Separator), ""); !strings.HasPrefix(got, tc.want) {
				t.Errorf("error:\n%s\nwant it to start with:\n%s", got, tc.want)
			}
		})
	}
	// The same row twice is written once.
	sheet := writeFile(t, "review.jsonl", strings.Repeat(`{"case_id":"a","expected":"x","verdict":"accept"}`+"\n", 2))
	var out bytes.Buffer
	st, err := ImportReview(sheet, &out, ImportOptions{})
	if err != nil || st.Written != 1 || st.Duplicates != 1 || out.String() != `{"id":"a","expected":"x"}`+"\n" {
		t.Errorf("duplicate rows: %+v, %v, %q", st, err, out.String())
	}
	if _, err := ImportReview(writeFile(t, "review.txt", ""), io.Discard, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "expected .csv, .jsonl or .ndjson") {
		t.Errorf("unknown extension: %v", err)
	}
}
