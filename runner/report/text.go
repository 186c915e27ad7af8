package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/rubric-eval/rubric/evals"
)

// Style says how to decorate terminal output.
type Style struct {
	Color bool
}

func (s Style) paint(code, text string) string {
	if !s.Color {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s Style) good(t string) string { return s.paint("32", t) }
func (s Style) bad(t string) string  { return s.paint("31", t) }
func (s Style) dim(t string) string  { return s.paint("2", t) }
func (s Style) bold(t string) string { return s.paint("1", t) }

func pct(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }

// Text writes the terminal summary: per target the case counts, pass rate and
// mean score; per criterion and target the pass rate and mean; the errors by
// kind; and every gate with its value and margin.
func Text(w io.Writer, s *evals.Summary, st Style) error {
	ew := &errWriter{w: w}
	title := s.Suite
	if s.SuiteVersion != "" {
		title += " (version " + s.SuiteVersion + ")"
	}
	fmt.Fprintf(ew, "%s  %s\n", st.bold(title), st.dim("run "+s.RunID))
	if s.Interrupted {
		fmt.Fprintln(ew, st.bad("interrupted: the figures cover the results completed before the interrupt"))
	}
	fmt.Fprintln(ew)

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tcases\tpassed\tfailed\terrors\tunscored\tpass rate\tmean\tlatency\ttokens\t")
	for _, t := range s.Targets {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%.3f\t%.0f ms\t%d\t\n",
			t.Name, t.Cases, t.Passed, t.Failed, t.Errored, t.Unscored, pct(t.PassRate), t.Mean, t.LatencyMS.Mean, t.Usage.TotalTokens)
	}
	tw.Flush()

	if len(s.Targets) > 0 && len(s.Targets[0].Criteria) > 0 {
		fmt.Fprintln(ew)
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		head := "criterion\ttype"
		for _, t := range s.Targets {
			head += "\t" + t.Name
		}
		fmt.Fprintln(tw, head+"\t")
		for i, c := range s.Targets[0].Criteria {
			line := c.Name + "\t" + c.Type
			for _, t := range s.Targets {
				tc := t.Criteria[i]
				cell := fmt.Sprintf("%s pass, mean %.3f", pct(tc.PassRate), tc.Mean)
				if tc.N == 0 {
					cell = "no data"
				}
				if tc.Unscored > 0 {
					cell += fmt.Sprintf(", %d unscored", tc.Unscored)
				}
				line += "\t" + cell
			}
			fmt.Fprintln(tw, line+"\t")
		}
		tw.Flush()
	}
	classification(ew, s, st)

	for _, t := range s.Targets {
		if len(t.FailedCases) == 0 {
			continue
		}
		notPassed := t.Cases - t.Passed
		fmt.Fprintf(ew, "\n%s %s: %d of %d cases did not pass", st.bold("failures"), t.Name, notPassed, t.Cases)
		if notPassed > len(t.FailedCases) {
			fmt.Fprintf(ew, " (%d shown; all are in results.jsonl)", len(t.FailedCases))
		}
		fmt.Fprintln(ew)
		for _, f := range t.FailedCases {
			id := f.CaseID
			if f.Repeat > 0 {
				id += fmt.Sprintf(" #%d", f.Repeat)
			}
			fmt.Fprintf(ew, "  %-10s %-8s %s\n", id, f.Status, clip(f.Reason, 160))
		}
	}

	for _, t := range s.Targets {
		if len(t.Errors) == 0 {
			continue
		}
		kinds := make([]string, 0, len(t.Errors))
		for k := range t.Errors {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%s %d", k, t.Errors[k])
		}
		fmt.Fprintf(ew, "\n%s %s: %s\n", st.bad("errors"), t.Name, strings.Join(parts, ", "))
	}

	if len(s.Gate.Results) > 0 {
		fmt.Fprintln(ew)
		verdict := st.good("gate held")
		switch {
		case s.Gate.Note != "":
			verdict = st.bad("gate not held: " + s.Gate.Note)
		case !s.Gate.Held:
			verdict = st.bad("gate failed")
		}
		fmt.Fprintln(ew, verdict)
		for _, g := range s.Gate.Results {
			mark := st.good("  ok    ")
			if !g.Held {
				mark = st.bad("  FAIL  ")
			}
			fmt.Fprintln(ew, mark+g.Message)
		}
	}
	return ew.err
}

// clip shortens s to n characters on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// errWriter keeps the first write error so formatting code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, nil
}
