package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// res builds a result: the prompt asks about the case, the criteria are x
// and y with the verdicts given ("pass", "fail" or "unscored").
func res(caseID, target string, repeat int, status evals.Status, x, y string) *evals.Result {
	r := &evals.Result{
		RunID: "run", CaseID: caseID, Target: target, Repeat: repeat, Status: status,
		Expected: "answer " + caseID,
		Output:   fmt.Sprintf("%s says %s #%d", target, caseID, repeat),
		Request: &evals.SentRequest{URL: "replay:x", Body: json.RawMessage(fmt.Sprintf(
			`{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Question %s"}]}`, caseID))},
	}
	if status == evals.StatusError {
		r.Output = ""
		r.Error = &evals.ResultError{Kind: evals.ErrKindHTTP, Status: 500, Message: "boom"}
		return r
	}
	var sum float64
	for _, v := range []struct{ name, verdict string }{{"x", x}, {"y", y}} {
		s := evals.Score{Name: v.name, Type: "equals", Weight: 1}
		switch v.verdict {
		case "pass":
			s.Score, s.Pass = 1, true
		case "fail":
			s.Reason = "wrong"
		case "unscored":
			s.Unscored, s.Reason = true, "cannot tell"
		}
		sum += s.Score
		r.Scores = append(r.Scores, s)
	}
	score := sum / 2
	r.Score = &score
	return r
}

// fixture is a run of two targets, a and b, over cases c1..c7.
func fixture() []*evals.Result {
	c5 := res("c5", "a", 0, evals.StatusFailed, "fail", "pass")
	c5.Tags = []string{"domain=billing", "lang=en"}
	c5.Metadata = map[string]any{"tier": "gold", "n": 2.0, "user": map[string]any{"country": "NO"}}
	c7 := res("c7", "a", 0, evals.StatusFailed, "fail", "fail")
	c7.Expected = map[string]any{"intent": "refund"}
	return []*evals.Result{
		res("c1", "a", 0, evals.StatusPassed, "pass", "pass"),
		res("c1", "b", 0, evals.StatusFailed, "pass", "fail"),
		res("c2", "a", 0, evals.StatusFailed, "fail", "pass"),
		res("c2", "b", 0, evals.StatusFailed, "fail", "fail"),
		res("c3", "a", 0, evals.StatusUnscored, "unscored", "unscored"),
		res("c3", "b", 0, evals.StatusFailed, "fail", "unscored"),
		res("c4", "a", 0, evals.StatusError, "", ""),
		c5,
		res("c6", "a", 0, evals.StatusFailed, "pass", "fail"),
		res("c6", "a", 1, evals.StatusPassed, "pass", "pass"),
		res("c6", "b", 1, evals.StatusPassed, "pass", "pass"),
		res("c6", "b", 2, evals.StatusPassed, "pass", "pass"),
		c7,
	}
}

func writeResults(t *testing.T, results []*evals.Result) string {
	t.Helper()
	var b bytes.Buffer
	for _, r := range results {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	path := filepath.Join(t.TempDir(), "results.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// selected lists the results a selection keeps, in the order written.
func selected(t *testing.T, results string, sel Selection) ([]string, error) {
	t.Helper()
	var out bytes.Buffer
	st, err := Run(Options{Results: results, Format: datasets.ExportReviewJSONL, Select: sel, KeepDuplicates: true, Out: &out})
	if err != nil {
		return nil, err
	}
	keys := []string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var row datasets.ReviewRow
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, fmt.Sprintf("%s/%s/%d", row.CaseID, row.Target, row.Repeat))
	}
	if st.Selected != len(keys) || st.Written != len(keys) {
		t.Errorf("stats %+v for %d rows", st, len(keys))
	}
	return keys, nil
}

func TestSelectionFilters(t *testing.T) {
	results := writeResults(t, fixture())
	baseline := fixture()
	baseline[2].Status = evals.StatusPassed // c2/a passed in the baseline
	baseline[7].Status = evals.StatusPassed // c5/a too
	baseline[3].Status = evals.StatusPassed // c2/b too
	baseline[1].Target = "z"                // c1 passed on z, not b
	baseline[1].Status = evals.StatusPassed
	base := writeResults(t, baseline)
	below := 0.5
	for _, tc := range []struct {
		name string
		sel  Selection
		want string
	}{
		{"everything, ordered by case, target, repeat", Selection{},
			"c1/a/0 c1/b/0 c2/a/0 c2/b/0 c3/a/0 c3/b/0 c4/a/0 c5/a/0 c6/a/0 c6/a/1 c6/b/1 c6/b/2 c7/a/0"},
		{"failed", Selection{Failed: true}, "c1/b/0 c2/a/0 c2/b/0 c3/b/0 c5/a/0 c6/a/0 c7/a/0"},
		{"criterion x failed", Selection{Criteria: []string{"x"}}, "c2/a/0 c2/b/0 c3/b/0 c5/a/0 c7/a/0"},
		{"criteria x and y failed", Selection{Criteria: []string{"x", "y"}}, "c2/b/0 c7/a/0"},
		{"below 0.5", Selection{Below: &below}, "c2/b/0 c3/a/0 c3/b/0 c7/a/0"},
		{"unscored", Selection{Unscored: true}, "c3/a/0 c3/b/0"},
		{"target b", Selection{Targets: []string{"b"}}, "c1/b/0 c2/b/0 c3/b/0 c6/b/1 c6/b/2"},
		{"failed on b or a", Selection{Failed: true, Targets: []string{"b", "a"}}, "c1/b/0 c2/a/0 c2/b/0 c3/b/0 c5/a/0 c6/a/0 c7/a/0"},
		{"tag", Selection{Slices: []string{"tag=lang=en"}}, "c5/a/0"},
		{"bare tag", Selection{Slices: []string{"domain=billing"}}, "c5/a/0"},
		{"two slices", Selection{Slices: []string{"domain=billing", "metadata.tier=gold"}}, "c5/a/0"},
		{"metadata number", Selection{Slices: []string{"metadata.n=2"}}, "c5/a/0"},
		{"metadata path", Selection{Slices: []string{"metadata.user.country=NO"}}, "c5/a/0"},
		{"metadata mismatch", Selection{Slices: []string{"metadata.tier=silver"}}, ""},
		{"slice and failed criterion", Selection{Slices: []string{"domain=billing"}, Criteria: []string{"y"}}, ""},
		{"regressed", Selection{Baseline: base}, "c2/a/0 c2/b/0 c5/a/0"},
		{"regressed and target", Selection{Baseline: base, Targets: []string{"b"}}, "c2/b/0"},
		{"regressed against one baseline target", Selection{Baseline: base, BaselineTarget: "z"}, "c1/b/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := selected(t, results, tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("selected\n  %s\nwant\n  %s", strings.Join(got, " "), tc.want)
			}
		})
	}
}

func TestSelectionErrors(t *testing.T) {
	results := writeResults(t, fixture())
	for _, tc := range []struct {
		sel    Selection
		chosen string
		want   string
	}{
		{Selection{Criteria: []string{"z"}}, "", "--criterion z: no result has this criterion: expected one of x, y"},
		{Selection{Targets: []string{"c"}}, "", "--target c: the run has no such target: expected one of a, b"},
		{Selection{}, "c", "--chosen-target c: the run has no such target: expected one of a, b"},
		{Selection{Slices: []string{"billing"}}, "", `--slice "billing": expected tag=TAG, metadata.FIELD=VALUE or a tag such as domain=billing`},
		{Selection{Slices: []string{"metadata..x=1"}}, "", `--slice "metadata..x=1": empty field name`},
		{Selection{BaselineTarget: "a"}, "", "--baseline-target goes with --regressed"},
		{Selection{Baseline: filepath.Join(t.TempDir(), "none.jsonl")}, "", "--regressed: open"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := Run(Options{Results: results, Format: datasets.ExportChat, Select: tc.sel, ChosenTarget: tc.chosen, Out: &bytes.Buffer{}})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func export(t *testing.T, results string, opts Options) (string, *Stats) {
	t.Helper()
	var out bytes.Buffer
	opts.Results, opts.Out = results, &out
	st, err := Run(opts)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), st
}

// TestExportSkipsDedupesAndOrders checks the rules every format follows:
// identical prompts once, what a format cannot hold skipped and counted, and
// the same output whatever the order of results.jsonl.
func TestExportSkipsDedupesAndOrders(t *testing.T) {
	results := writeResults(t, fixture())
	out, st := export(t, results, Options{Format: datasets.ExportChat})
	// c1..c6 have a text reference; c7's is an object. Each prompt is
	// written once: c1 to c6, whatever the target or repeat.
	if want := 6; st.Written != want || strings.Count(out, "\n") != want {
		t.Errorf("wrote %d (%d lines), want %d:\n%s", st.Written, strings.Count(out, "\n"), want, out)
	}
	wantSkips := map[string]int{
		SkipDuplicate: 6,
		`no reference answer: expected is an object, not text (set the suite's "reference")`: 1,
	}
	if fmt.Sprint(st.Skipped) != fmt.Sprint(wantSkips) {
		t.Errorf("skipped %v, want %v", st.Skipped, wantSkips)
	}
	if want := "c7 (target a, repeat 0)"; st.Example[`no reference answer: expected is an object, not text (set the suite's "reference")`] != want {
		t.Errorf("examples %v", st.Example)
	}
	summary := strings.Join(st.Summary(), "\n")
	if want := `13 of 13 results selected; 6 written, 7 skipped
  6 skipped: duplicate prompt (an earlier example has the same messages) (first: c1 (target b, repeat 0))
  1 skipped: no reference answer: expected is an object, not text (set the suite's "reference") (first: c7 (target a, repeat 0))`; summary != want {
		t.Errorf("summary:\n%s\nwant:\n%s", summary, want)
	}

	// The order of results.jsonl (completion order) changes nothing.
	shuffled := fixture()
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, format := range datasets.ExportFormats {
		a, _ := export(t, results, Options{Format: format})
		b, _ := export(t, writeResults(t, shuffled), Options{Format: format})
		if a != b {
			t.Errorf("%s: the output depends on the order of results.jsonl", format)
		}
	}

	// Without de-duplication, chat writes every result with a reference.
	_, st = export(t, results, Options{Format: datasets.ExportChat, KeepDuplicates: true})
	if st.Written != 12 {
		t.Errorf("with KeepDuplicates wrote %d, want 12", st.Written)
	}
}

func TestExportPreferences(t *testing.T) {
	results := writeResults(t, fixture())
	out, st := export(t, results, Options{Format: datasets.ExportPreferenceTRL})
	// Pairs need a failing answer: c1/b, c2/a, c3/b, c5/a, c6/a (c2/b is
	// c2's prompt again; c7 has no text reference).
	if st.Written != 5 {
		t.Errorf("wrote %d, want 5:\n%s\n%v", st.Written, out, st.Skipped)
	}
	if st.Skipped[SkipNotFailed] != 5 || st.Skipped[SkipNoResponse] != 1 || st.Skipped[SkipDuplicate] != 1 {
		t.Errorf("skipped %v", st.Skipped)
	}
	first, _, _ := strings.Cut(out, "\n")
	if want := `{"prompt":[{"role":"system","content":"Be brief."},{"role":"user","content":"Question c1"}],"chosen":[{"role":"assistant","content":"answer c1"}],"rejected":[{"role":"assistant","content":"b says c1 #0"}]}`; first != want {
		t.Errorf("first pair:\n%s\nwant:\n%s", first, want)
	}

	// The chosen answer from target b: its passing answer for the case, of
	// the same repeat when it passed, else of the lowest repeat that did.
	out, st = export(t, results, Options{Format: datasets.ExportPreferenceOpenAI, Select: Selection{Failed: true, Targets: []string{"a"}}, ChosenTarget: "b"})
	if st.Written != 1 || st.Skipped["no passing answer of target b for the case"] != 3 {
		t.Errorf("wrote %d, skipped %v:\n%s", st.Written, st.Skipped, out)
	}
	if want := `"preferred_output":[{"role":"assistant","content":"b says c6 #1"}],"non_preferred_output":[{"role":"assistant","content":"a says c6 #0"}]`; !strings.Contains(out, want) {
		t.Errorf("pair for c6:\n%s\nwant it to contain %s", out, want)
	}
	more := writeResults(t, append(fixture(), res("c6", "a", 2, evals.StatusFailed, "fail", "pass")))
	out, _ = export(t, more, Options{Format: datasets.ExportChat, Select: Selection{Targets: []string{"a"}, Failed: true}, ChosenTarget: "b", KeepDuplicates: true})
	var answers []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ex struct{ Messages []struct{ Content string } }
		if err := json.Unmarshal([]byte(line), &ex); err != nil {
			t.Fatal(err)
		}
		answers = append(answers, ex.Messages[1].Content+" -> "+ex.Messages[2].Content)
	}
	if want := []string{"Question c6 -> b says c6 #1", "Question c6 -> b says c6 #2"}; !slices.Equal(answers, want) {
		t.Errorf("chat with the chosen target's answers: %q, want %q", answers, want)
	}

	// A suite's reference template gives c7 its reference.
	s := &evals.Suite{ReferenceTemplate: evals.MustParseTemplate("{{ expected }}")}
	out, _ = export(t, results, Options{Format: datasets.ExportChat, Suite: s, Select: Selection{Targets: []string{"a"}, Failed: true, Criteria: []string{"y"}}})
	if want := `{"role":"assistant","content":"{\"intent\":\"refund\"}"}]}`; !strings.HasSuffix(strings.TrimSpace(out), want) {
		t.Errorf("chat with the reference template:\n%s", out)
	}
}

func TestExportReviewKeepsErrorsAndColumns(t *testing.T) {
	results := writeResults(t, fixture())
	out, st := export(t, results, Options{Format: datasets.ExportReviewCSV, Select: Selection{Targets: []string{"a"}}})
	header, _, _ := strings.Cut(out, "\n")
	if want := strings.Join(datasets.ReviewColumns([]string{"x", "y"}), ","); header != want {
		t.Errorf("header %s, want %s", header, want)
	}
	// c1, c2, c3, c4 (the error: a reviewer may still write its answer), c5,
	// c6 once (its two repeats share the prompt), c7.
	if st.Written != 7 || st.Skipped[SkipDuplicate] != 1 {
		t.Errorf("wrote %d, skipped %v", st.Written, st.Skipped)
	}
	if !slices.Contains(strings.Split(out, "\n"), `c4,a,0,error,,"[system]`) {
		t.Errorf("no row for the error c4:\n%s", out)
	}
}

// TestExportReviewsFromView: the verdicts given in rubric view, in the run
// folder's reviews.jsonl, fill the review sheet's columns, and the sheet
// imports as one filled in by hand.
func TestExportReviewsFromView(t *testing.T) {
	results := writeResults(t, fixture())
	dir := filepath.Dir(results)
	for _, rv := range []rundir.Review{
		{CaseID: "c2", Target: "a", Verdict: "reject", Comment: "=HYPERLINK(\"x\")"},
		{CaseID: "c5", Target: "a", Verdict: "accept", Corrected: "wrong first"},
		{CaseID: "c5", Target: "a", Verdict: "accept", Corrected: `{"answer": "c5, corrected"}`, Comment: "the last review counts"},
		{CaseID: "c7", Target: "a", Verdict: "skip"},
		{CaseID: "c7", Target: "a"}, // cleared
	} {
		if err := rundir.AppendReview(dir, &rv); err != nil {
			t.Fatal(err)
		}
	}
	sel := Selection{Targets: []string{"a"}, Failed: true}
	out, _ := export(t, results, Options{Format: datasets.ExportReviewCSV, Select: sel})
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cols := recs[0]
	col := func(name string) int { return slices.Index(cols, name) }
	got := map[string][3]string{}
	for _, r := range recs[1:] {
		got[r[col("case_id")]] = [3]string{r[col("verdict")], r[col("corrected")], r[col("comment")]}
	}
	want := map[string][3]string{
		"c2": {"reject", "", `'=HYPERLINK("x")`}, // a comment is kept from running as a formula
		"c5": {"accept", `{"answer": "c5, corrected"}`, "the last review counts"},
		"c6": {}, "c7": {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reviews in the sheet:\n got %v\nwant %v", got, want)
	}
	out, _ = export(t, results, Options{Format: datasets.ExportReviewJSONL, Select: Selection{Targets: []string{"a"}, Criteria: []string{"x"}}})
	if !strings.Contains(out, `"verdict":"accept","corrected":{"answer":"c5, corrected"},"comment":"the last review counts"`) {
		t.Errorf("review-jsonl:\n%s", out)
	}
	// The sheet imports: c5 with its corrected answer; c2 rejected; the
	// others not reviewed.
	sheet := filepath.Join(t.TempDir(), "review.csv")
	csvOut, _ := export(t, results, Options{Format: datasets.ExportReviewCSV, Select: sel})
	if err := os.WriteFile(sheet, []byte(csvOut), 0o644); err != nil {
		t.Fatal(err)
	}
	var ds bytes.Buffer
	st, err := datasets.ImportReview(sheet, &ds, datasets.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Written != 1 || st.Corrected != 1 || st.Rejected != 1 || !strings.Contains(ds.String(), `"id":"c5"`) ||
		!strings.Contains(ds.String(), `"expected":{"answer":"c5, corrected"}`) {
		t.Errorf("import: %+v\n%s", st, ds.String())
	}
}
