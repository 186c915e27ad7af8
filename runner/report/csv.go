package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/rubric-eval/rubric/evals"
)

// csvFixed are the CSV's first columns; a score and a reason column per
// criterion follow.
var csvFixed = []string{
	"run_id", "suite", "target", "case_id", "repeat", "status", "score",
	"latency_ms", "tokens", "error_kind", "error_message",
	"steps", "tool_calls", "tool_errors", "outcome",
}

// CSV writes one row per result, as results stream by. The columns are
// fixed when it is created: csvFixed, then NAME.score and NAME.reason for each
// criterion in the order given. A cell with nothing to say is empty: the
// score of an errored or unscored case, the criteria of a suite that does not
// have them, the steps, tool calls, tool errors and outcome of a single
// answer (a result without a transcript). A criterion that could not score has an empty score and a
// reason starting "unscored: ". Values are written as recorded, with no escaping beyond CSV's
// own quoting (RFC 4180).
type CSV struct {
	w     *csv.Writer
	col   map[string]int // criterion name -> index of its score column
	row   []string
	suite string
}

var _ SuiteWriter = (*CSV)(nil)

// NewCSV writes the header to w and returns the writer. criteria are the
// names of every criterion of every suite that will be written, each once.
func NewCSV(w io.Writer, criteria []string) (*CSV, error) {
	c := &CSV{w: csv.NewWriter(w), col: make(map[string]int, len(criteria))}
	head := append([]string(nil), csvFixed...)
	for _, name := range criteria {
		if _, dup := c.col[name]; dup {
			return nil, fmt.Errorf("csv: criterion %q is listed twice", name)
		}
		c.col[name] = len(head)
		head = append(head, name+".score", name+".reason")
	}
	c.row = make([]string, len(head))
	if err := c.w.Write(head); err != nil {
		return nil, err
	}
	return c, nil
}

// Begin starts the rows of the suite s summarises.
func (c *CSV) Begin(s *evals.Summary) error {
	c.suite = s.Suite
	return nil
}

// Write writes r's row.
func (c *CSV) Write(r *evals.Result) error {
	row := c.row
	clear(row)
	row[0], row[1], row[2], row[3] = r.RunID, c.suite, r.Target, r.CaseID
	row[4], row[5] = strconv.Itoa(r.Repeat), string(r.Status)
	if r.Score != nil {
		row[6] = strconv.FormatFloat(*r.Score, 'g', -1, 64)
	}
	row[7] = strconv.FormatFloat(r.LatencyMS, 'f', -1, 64)
	row[8] = strconv.Itoa(r.Usage.TotalTokens)
	if r.Error != nil {
		row[9], row[10] = r.Error.Kind, r.Error.Message
	}
	if r.Transcript != nil || r.Steps > 0 {
		row[11], row[12], row[13] = strconv.Itoa(r.Steps), strconv.Itoa(r.ToolCalls), strconv.Itoa(r.ToolErrors)
		row[14] = r.Outcome
	}
	for _, sc := range r.Scores {
		i, ok := c.col[sc.Name]
		if !ok {
			return fmt.Errorf("csv: case %s: criterion %q has no column: the CSV was started for other criteria", r.CaseID, sc.Name)
		}
		if sc.Unscored {
			row[i+1] = "unscored: " + sc.Reason
			continue
		}
		row[i], row[i+1] = strconv.FormatFloat(sc.Score, 'g', -1, 64), sc.Reason
	}
	return c.w.Write(row)
}

// End flushes the suite's rows.
func (c *CSV) End() error {
	c.w.Flush()
	return c.w.Error()
}
