package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/rubric-eval/rubric/runner/history"
)

// writeTrends prints each target's trend: a line with its sparkline and
// its first and last values, then a table of the runs, oldest first, each
// change marked ▲ or ▼ when the paired test calls it significant.
func writeTrends(w io.Writer, trends []history.Trend) error {
	for i, t := range trends {
		if i > 0 {
			fmt.Fprintln(w)
		}
		values := make([]*float64, len(t.Points))
		var first, last *float64
		for k, p := range t.Points {
			values[k] = p.Value
			if p.Value != nil {
				if first == nil {
					first = p.Value
				}
				last = p.Value
			}
		}
		fmt.Fprintf(w, "%s %s  %s  %s", t.Suite, t.Target, t.Metric, history.Sparkline(values))
		if first != nil {
			fmt.Fprintf(w, "  %s -> %s", trendValue(*first), trendValue(*last))
		}
		fmt.Fprintf(w, "  (%d runs)\n", len(t.Points))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  run\tstarted\tmodel\tcommit\tvalue\tinterval\tchange")
		tested := false
		for _, p := range t.Points {
			val, interval, change := "-", "", ""
			if p.Value != nil {
				val = trendValue(*p.Value)
			} else {
				val = "- (" + p.Missing + ")"
			}
			if p.Lo != nil && p.Hi != nil {
				interval = trendValue(*p.Lo) + "-" + trendValue(*p.Hi)
			}
			if c := p.Change; c != nil {
				change = fmt.Sprintf("%+.4g", c.Delta)
				tested = tested || c.Tested
				if c.Significant {
					mark := " ▼"
					if c.Delta > 0 {
						mark = " ▲"
					}
					change += mark
					if c.P > 0 { // McNemar's, for a pass rate
						change += fmt.Sprintf(" p=%.3g", c.P)
					}
				}
			}
			commit := p.GitCommit
			if len(commit) > 8 {
				commit = commit[:8]
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.RunID, p.Started.Local().Format("2006-01-02 15:04"), p.Model, commit, val, interval, change)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if !tested && len(t.Points) > 1 {
			fmt.Fprintln(w, "  (changes of this metric are not tested; pass_rate and mean are)")
		}
	}
	return nil
}

// trendValue writes a metric's value compactly: 0.875, 1826.5.
func trendValue(v float64) string { return fmt.Sprintf("%.4g", v) }
