package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// Limits of the terminal's classification tables: the labels listed, the
// confusion matrix's width, and a label's width.
const (
	maxTextLabels = 20
	maxTextMatrix = 10
	maxLabelWidth = 24
)

// classification writes, for each criterion that compares labels and each
// target, the per-label precision, recall, F1 and support, the averages, and
// the confusion matrix when it is small enough to read.
func classification(w io.Writer, s *evals.Summary, st Style) {
	for _, t := range s.Targets {
		for _, c := range t.Criteria {
			cl := c.Classification
			if cl == nil {
				continue
			}
			fmt.Fprintf(w, "\n%s %s, %s: %d compared, micro F1 %.3f (accuracy), macro F1 %.3f over %d labels\n",
				st.bold("classification"), c.Name, t.Name, cl.N, cl.MicroF1, cl.MacroF1, len(cl.Labels)+cl.OtherLabels)

			rows := slices.Clone(cl.Labels)
			if len(rows) > maxTextLabels {
				slices.SortStableFunc(rows, func(a, b evals.LabelMetrics) int { return cmp.Compare(b.Support+b.Predicted, a.Support+a.Predicted) })
				rows = rows[:maxTextLabels]
				slices.SortFunc(rows, func(a, b evals.LabelMetrics) int { return cmp.Compare(a.Label, b.Label) })
			}
			names := make([]string, len(rows))
			for i, l := range rows {
				names[i] = l.Label
			}
			pad := padder(append(names, "label"))
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "  %s\tprecision\trecall\tF1\tsupport\t\n", pad("label"))
			for _, l := range rows {
				fmt.Fprintf(tw, "  %s\t%.3f\t%.3f\t%.3f\t%d\t\n", pad(labelText(l.Label)), l.Precision, l.Recall, l.F1, l.Support)
			}
			tw.Flush()
			if more := len(cl.Labels) + cl.OtherLabels - len(rows); more > 0 {
				fmt.Fprintf(w, "  %s\n", st.dim(fmt.Sprintf("%d more labels in report.json", more)))
			}

			cm := cl.Confusion
			if len(cm.Labels) > maxTextMatrix {
				fmt.Fprintf(w, "  %s\n", st.dim(fmt.Sprintf("confusion matrix of %d labels in report.json", len(cm.Labels))))
				continue
			}
			fmt.Fprintln(w, "  confusion: rows expected, columns predicted")
			pad = padder(cm.Labels)
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			head := "  " + pad("") + "\t"
			for _, l := range cm.Labels {
				head += labelText(l) + "\t"
			}
			fmt.Fprintln(tw, head)
			for i, row := range cm.Counts {
				line := "  " + pad(labelText(cm.Labels[i])) + "\t"
				for _, n := range row {
					line += fmt.Sprint(n) + "\t"
				}
				fmt.Fprintln(tw, line)
			}
			tw.Flush()
		}
	}
}

// padder returns a function padding a label's text with spaces to the width
// of the widest of labels, so that a right-aligned column reads left-aligned.
func padder(labels []string) func(string) string {
	width := 0
	for _, l := range labels {
		width = max(width, utf8.RuneCountInString(labelText(l)))
	}
	return func(s string) string {
		return s + strings.Repeat(" ", max(0, width-utf8.RuneCountInString(s)))
	}
}

// labelText shows a label in a table: "(none)" for the empty label, others
// on one line, clipped.
func labelText(l string) string {
	if strings.TrimSpace(l) == "" {
		return "(none)"
	}
	return clip(l, maxLabelWidth)
}
