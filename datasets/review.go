package datasets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// Review verdicts, as a reviewer writes them in the verdict column (in any
// case, with spaces around). An empty verdict with a corrected answer counts
// as accept.
const (
	VerdictAccept = "accept" // keep the case; a corrected answer becomes its expected value
	VerdictReject = "reject" // the case is wrong or useless: leave it out
	VerdictSkip   = "skip"   // not judged: leave it out
)

// ErrNotReviewed is the error of a sheet in which no row has a verdict or a
// corrected answer, or that has no row at all: there is nothing to import.
var ErrNotReviewed = errors.New("nothing to import")

// ImportOptions say how a reviewed sheet becomes a dataset.
type ImportOptions struct {
	// KeepUnreviewed keeps rows with neither a verdict nor a corrected
	// answer, with their expected value as it was; by default they are left
	// out.
	KeepUnreviewed bool
}

// ImportStats counts what an import did with the rows of a sheet.
type ImportStats struct {
	Rows       int
	Written    int
	Corrected  int // written with a corrected answer as the expected value
	Rejected   int
	Skipped    int
	Unreviewed int // left out: no verdict and no corrected answer
	Duplicates int // a later row of a case already written, with the same content
}

// reviewed is one row of a reviewed sheet, read from CSV or JSONL.
type reviewed struct {
	line      int
	caseID    string
	target    string
	repeat    int
	vars      map[string]any
	expected  any
	tags      []string
	metadata  map[string]any
	verdict   string
	corrected any // nil when the reviewer gave none
}

// ImportReview reads a reviewed sheet (CSV or JSONL, by the extension of
// path, as rubric export wrote it) and writes a dataset of JSONL cases to w:
// one case per accepted row, in the sheet's order, with the corrected answer
// as its expected value. Every line written is read back as a case before it
// is written. An error names the file, the line and the column. A sheet with
// no rows, or in which no row was reviewed (unless KeepUnreviewed), is an
// error wrapping ErrNotReviewed, and nothing is written.
func ImportReview(path string, w io.Writer, opts ImportOptions) (ImportStats, error) {
	var st ImportStats
	next, closeSheet, err := openSheet(path)
	if err != nil {
		return st, err
	}
	defer closeSheet()
	bw := bufio.NewWriter(w)
	written := map[string]struct {
		line int
		text string
	}{}
	for {
		r, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
		st.Rows++
		where := fmt.Sprintf("%s:%d", path, r.line)
		verdict, err := r.checkVerdict(where)
		if err != nil {
			return st, err
		}
		switch {
		case verdict == VerdictReject:
			st.Rejected++
			continue
		case verdict == VerdictSkip:
			st.Skipped++
			continue
		case verdict == "" && r.corrected == nil && !opts.KeepUnreviewed:
			st.Unreviewed++
			continue
		}
		c := evals.Case{ID: r.caseID, Vars: r.vars, Expected: r.expected, Tags: r.tags, Metadata: r.metadata}
		if r.corrected != nil {
			c.Expected = r.corrected
			st.Corrected++
		}
		if r.caseID == "" {
			return st, fmt.Errorf("%s: %s: empty: expected the case's id", where, ColCaseID)
		}
		line, err := marshalLine(c)
		if err != nil {
			return st, fmt.Errorf("%s: %w", where, err)
		}
		if _, err := DecodeCase(line, st.Written+1); err != nil {
			return st, fmt.Errorf("%s: the case would not load: %w", where, err)
		}
		if prev, dup := written[r.caseID]; dup {
			if prev.text != string(line) {
				return st, fmt.Errorf("%s: case %q is also on line %d, with other content: keep one of the two rows", where, r.caseID, prev.line)
			}
			st.Duplicates++
			if r.corrected != nil {
				st.Corrected--
			}
			continue
		}
		written[r.caseID] = struct {
			line int
			text string
		}{r.line, string(line)}
		if _, err := bw.Write(line); err != nil {
			return st, err
		}
		st.Written++
	}
	switch {
	case st.Rows == 0:
		return st, fmt.Errorf("%s: the sheet has no rows: %w", path, ErrNotReviewed)
	case st.Unreviewed == st.Rows:
		// Nothing is written: bw holds nothing.
		return st, fmt.Errorf("%s: none of its %d rows has a %s or a %s answer: %w (fill in %s with %s, %s or %s, or %s with the right answer)",
			path, st.Rows, ColVerdict, ColCorrected, ErrNotReviewed, ColVerdict, VerdictAccept, VerdictReject, VerdictSkip, ColCorrected)
	}
	return st, bw.Flush()
}

// openSheet opens the reviewed sheet at path, CSV or JSONL by its
// extension, and returns its rows one by one (io.EOF after the last) and
// what closes it.
func openSheet(path string) (next func() (*reviewed, error), closeSheet func(), err error) {
	format, ok := evals.FormatOf(path)
	if !ok || format == evals.FormatJSON {
		return nil, nil, fmt.Errorf("%s: cannot tell the sheet's format from its extension: expected .csv, .jsonl or .ndjson", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if format == evals.FormatCSV {
		next, err = csvSheet(path, f)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
	} else {
		next = jsonlSheet(path, f)
	}
	return next, func() { f.Close() }, nil
}

// checkVerdict returns the row's verdict in lower case, or why it is not
// one; where is its file and line.
func (r *reviewed) checkVerdict(where string) (string, error) {
	verdict := strings.ToLower(strings.TrimSpace(r.verdict))
	switch verdict {
	case "", VerdictAccept, VerdictReject, VerdictSkip:
	default:
		return "", fmt.Errorf("%s: %s: got %q, expected %s, %s, %s or nothing", where, ColVerdict, r.verdict, VerdictAccept, VerdictReject, VerdictSkip)
	}
	if r.corrected != nil && (verdict == VerdictReject || verdict == VerdictSkip) {
		return "", fmt.Errorf("%s: verdict %s with a corrected answer: clear one of them", where, verdict)
	}
	return verdict, nil
}

// ReviewVerdict is a reviewer's verdict on one result, a row of a reviewed
// sheet.
type ReviewVerdict struct {
	// Line is the row's line in the sheet (its first, for a CSV row over
	// several lines).
	Line   int
	CaseID string
	// Target is "" in a sheet without a target column; Repeat 0 without a
	// repeat column.
	Target string
	Repeat int
	// Verdict is accept, reject or skip, in lower case, or "" for none;
	// Corrected reports a corrected answer.
	Verdict   string
	Corrected bool
}

// ReviewVerdicts calls fn with the verdict of each row of the reviewed
// sheet at path, a .csv or .jsonl sheet as rubric export writes it and
// import-review reads it, in order, checked as import-review checks them.
// An error names the file, the line and the column.
func ReviewVerdicts(path string, fn func(ReviewVerdict) error) error {
	next, closeSheet, err := openSheet(path)
	if err != nil {
		return err
	}
	defer closeSheet()
	for {
		r, err := next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		where := fmt.Sprintf("%s:%d", path, r.line)
		verdict, err := r.checkVerdict(where)
		if err != nil {
			return err
		}
		if r.caseID == "" {
			return fmt.Errorf("%s: %s: empty: expected the case's id", where, ColCaseID)
		}
		if r.repeat < 0 {
			return fmt.Errorf("%s: %s: expected a whole number from 0, got %d", where, ColRepeat, r.repeat)
		}
		if err := fn(ReviewVerdict{Line: r.line, CaseID: r.caseID, Target: r.target, Repeat: r.repeat,
			Verdict: verdict, Corrected: r.corrected != nil}); err != nil {
			return err
		}
	}
}

func marshalLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// correctedText reads a corrected answer typed in a cell: a JSON object or
// array is kept as that value, anything else as text; blank is no answer.
func correctedText(s string) any {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return cellValue(s)
}

// cellValue reads a value from a CSV cell as CellText wrote it: a JSON object
// or array as that value, anything else as text.
func cellValue(s string) any {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil
	}
	if t[0] == '{' || t[0] == '[' {
		var v any
		if json.Unmarshal([]byte(t), &v) == nil {
			return v
		}
	}
	return s
}

// csvSheet reads a CSV review sheet. Columns are found by name in the
// header; case_id, expected, verdict and corrected are required, vars, tags
// and metadata read when present, and the others ignored.
func csvSheet(path string, f io.Reader) (func() (*reviewed, error), error) {
	br := bufio.NewReader(f)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		br.Discard(3)
	}
	r := csv.NewReader(br)
	head, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file: expected a review sheet's header row", path)
	}
	if err != nil {
		return nil, csvProblem(path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	var missing []string
	for _, name := range []string{ColCaseID, ColExpected, ColVerdict, ColCorrected} {
		if _, ok := col[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s:1: the header has no column %s: expected a review sheet written by rubric export --format review-csv", path, strings.Join(missing, ", "))
	}
	return func() (*reviewed, error) {
		rec, err := r.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, csvProblem(path, err)
		}
		line, _ := r.FieldPos(0)
		cell := func(name string) string {
			if i, ok := col[name]; ok {
				return rec[i]
			}
			return ""
		}
		rv := &reviewed{
			line:      line,
			caseID:    strings.TrimSpace(cell(ColCaseID)),
			target:    strings.TrimSpace(cell(ColTarget)),
			expected:  cellValue(cell(ColExpected)),
			verdict:   cell(ColVerdict),
			corrected: correctedText(cell(ColCorrected)),
		}
		if rep := strings.TrimSpace(cell(ColRepeat)); rep != "" {
			n, err := strconv.Atoi(rep)
			if err != nil || n < 0 {
				_, c := r.FieldPos(col[ColRepeat])
				return nil, fmt.Errorf("%s:%d:%d: %s: expected a whole number from 0, got %s", path, line, c, ColRepeat, quoteShort(rep))
			}
			rv.repeat = n
		}
		for _, t := range strings.Split(cell(ColTags), ";") {
			if t = strings.TrimSpace(t); t != "" {
				rv.tags = append(rv.tags, t)
			}
		}
		for _, obj := range []struct {
			name string
			dst  *map[string]any
		}{{ColVars, &rv.vars}, {ColMetadata, &rv.metadata}} {
			text := strings.TrimSpace(cell(obj.name))
			if text == "" {
				continue
			}
			if err := json.Unmarshal([]byte(text), obj.dst); err != nil || *obj.dst == nil {
				i := col[obj.name]
				_, c := r.FieldPos(i)
				return nil, fmt.Errorf("%s:%d:%d: %s: expected a JSON object, got %s", path, line, c, obj.name, quoteShort(text))
			}
		}
		return rv, nil
	}, nil
}

// jsonlSheet reads a JSONL review sheet, one ReviewRow a line.
func jsonlSheet(path string, f io.Reader) func() (*reviewed, error) {
	r := newLines(f)
	return func() (*reviewed, error) {
		if b, ok := r.next(); ok {
			line := r.line
			var row ReviewRow
			if err := json.Unmarshal(b, &row); err != nil {
				var se *json.SyntaxError
				var te *json.UnmarshalTypeError
				switch {
				case errors.As(err, &se):
					return nil, fmt.Errorf("%s:%d:%d: invalid JSON: %v", path, line, column(b, int(se.Offset)), err)
				case errors.As(err, &te) && te.Field != "":
					return nil, fmt.Errorf("%s:%d: %s: got %s, expected %s", path, line, te.Field, te.Value, te.Type)
				}
				return nil, fmt.Errorf("%s:%d: expected a review row object: %v", path, line, err)
			}
			rv := &reviewed{line: line, caseID: row.CaseID, target: row.Target, repeat: row.Repeat, vars: row.Vars, expected: row.Expected,
				tags: row.Tags, metadata: row.Metadata, verdict: row.Verdict, corrected: row.Corrected}
			if s, ok := rv.corrected.(string); ok {
				rv.corrected = correctedText(s)
			}
			return rv, nil
		}
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, io.EOF
	}
}

// Summary says what an import did, for people.
func (st ImportStats) Summary() string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(st.Rejected, "rejected")
	add(st.Skipped, "skipped")
	add(st.Unreviewed, "not reviewed")
	add(st.Duplicates, "duplicate")
	left := "none left out"
	if len(parts) > 0 {
		left = "left out: " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%d of %d rows written as cases (%d with a corrected answer); %s", st.Written, st.Rows, st.Corrected, left)
}
