package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

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
// mean score, how many responses came from the cache, and when a streamed
// response's tokens came; per criterion and
// target the pass rate and mean; the errors by kind; the targets that broke
// the error budget; and every gate with its value and margin. Under a failed
// case that was a conversation, it shows how it ended: its counts, its
// outcome and its last messages, one line each.
func Text(w io.Writer, s *evals.Summary, st Style) error {
	ew := &errWriter{w: w}
	title := s.Suite
	if s.SuiteVersion != "" {
		title += " (version " + s.SuiteVersion + ")"
	}
	fmt.Fprintf(ew, "%s  %s\n", st.bold(title), st.dim("run "+s.RunID))
	if s.Interrupted {
		fmt.Fprintln(ew, st.bad("interrupted: the figures cover the results completed before the run stopped"))
	}
	fmt.Fprintln(ew)

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	costs := false
	for _, t := range s.Targets {
		costs = costs || t.Cost != nil
	}
	head := fmt.Sprintf("target\tcases\tpassed\tfailed\terrors\tunscored\tpass rate\t%s CI\tmean\tp50\tp95\ttokens\t", level(s.Statistics))
	if costs {
		head += "cost\t"
	}
	fmt.Fprintln(tw, head)
	for _, t := range s.Targets {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%.3f\t%s\t%s\t%d\t",
			t.Name, t.Cases, t.Passed, t.Failed, t.Errored, t.Unscored, pct(t.PassRate), span(t.PassRateCI), t.Mean,
			ms(t.LatencyMS.P50, t.Cases > t.Errored), ms(t.LatencyMS.P95, t.Cases > t.Errored), t.Usage.TotalTokens)
		if costs {
			c := "-"
			if t.Cost != nil {
				c = money(t.Cost.Total, t.Cost.Currency)
			}
			fmt.Fprintf(tw, "%s\t", c)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	cachedText(ew, s, st)
	streamText(ew, s, st)
	leaksText(ew, s, st)

	if len(s.Targets) > 0 && len(s.Targets[0].Criteria) > 0 {
		fmt.Fprintln(ew)
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		head := "criterion\ttype"
		for _, t := range s.Targets {
			head += "\t" + t.Name
		}
		fmt.Fprintln(tw, head)
		for i, c := range s.Targets[0].Criteria {
			line := c.Name + "\t" + c.Type
			for _, t := range s.Targets {
				line += "\t" + criterionCell(t.Criteria[i])
			}
			fmt.Fprintln(tw, line)
		}
		tw.Flush()
	}
	classification(ew, s, st)

	slicesText(ew, s, st)
	for _, t := range s.Targets {
		repeatsText(ew, t, st)
	}
	for _, c := range s.Comparisons {
		comparisonText(ew, c, st)
	}
	for _, t := range s.Targets {
		if t.Comparison != nil {
			comparisonText(ew, *t.Comparison, st)
		}
	}

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
		// The ids' column is as wide as the longest shown, from 10 to 30
		// runes, so that the statuses line up.
		width := 10
		for _, f := range t.FailedCases {
			width = max(width, min(utf8.RuneCountInString(termSafe(caseName(f.CaseID, f.Repeat))), 30))
		}
		for _, f := range t.FailedCases {
			fmt.Fprintf(ew, "  %-*s %-8s %s\n", width, termSafe(caseName(f.CaseID, f.Repeat)), f.Status, termSafe(clip(f.Reason, 160)))
			if c := f.Conversation; c != nil {
				fmt.Fprintf(ew, "    %s\n", termSafe(c.Heading()))
				for _, line := range c.Last {
					fmt.Fprintf(ew, "      %s\n", termSafe(clip(line, 160)))
				}
			}
		}
	}

	for _, t := range s.Targets {
		if len(t.Errors) == 0 {
			continue
		}
		fmt.Fprintf(ew, "\n%s %s: %s\n", st.bad("errors"), t.Name, ErrorCounts(t.Errors))
	}

	for _, t := range s.Targets {
		if c := t.Conversations; c != nil {
			fmt.Fprintf(ew, "\n%s %s: %s\n", st.bold("conversations"), t.Name, ConversationText(c))
		}
	}

	for _, t := range s.Targets {
		if j := t.Judges; j != nil {
			fmt.Fprintf(ew, "\n%s %s: %d calls (%d cached, %d without a verdict), %d tokens", st.bold("judges"), t.Name, j.Calls, j.Cached, j.Failed, j.Usage.TotalTokens)
			if j.Cost != nil {
				fmt.Fprintf(ew, ", cost %s", money(*j.Cost, j.Currency))
			}
			fmt.Fprintln(ew)
		}
	}

	if len(s.Gate.Results) > 0 || budgetBroken(s) {
		gateText(ew, s.Gate, s.ErrorBudget, st)
	}
	return ew.err
}

// leaksText says how many cases were found in training data and each
// target's pass rate without them (rubric run --allow-leaks).
func leaksText(w io.Writer, s *evals.Summary, st Style) {
	lc := s.LeakCheck
	if lc == nil {
		return
	}
	fmt.Fprintf(w, "\n%s %s\n", st.bold("leak check:"), LeakCheckText(lc))
	for _, t := range s.Targets {
		if l := t.Leaks; l != nil {
			fmt.Fprintf(w, "  %s: %s\n", t.Name, LeakText(t.PassRate, l))
		}
	}
}

// LeakCheckText says in one line what the leakage check found.
func LeakCheckText(lc *evals.LeakCheck) string {
	what := fmt.Sprintf("%d manifest", len(lc.Manifests))
	if len(lc.Manifests) != 1 {
		what += "s"
	}
	if lc.NGrams {
		what += fmt.Sprintf(", 13-grams from %.0f%%", 100*lc.Threshold)
	}
	switch lc.Leaked {
	case 0:
		return "no case found in training data (" + what + ")"
	case 1:
		return "1 case found in training data (" + what + "); its results are marked leaked"
	}
	return fmt.Sprintf("%d cases found in training data (%s); their results are marked leaked", lc.Leaked, what)
}

// LeakText compares a target's pass rate with and without the leaked
// cases' results.
func LeakText(passRate float64, l *evals.LeakSummary) string {
	return fmt.Sprintf("pass rate %s with them, %s without them (%d of %d), %s on them (%d of %d)",
		pct(passRate), pct(l.CleanPassRate), l.CleanPassed, l.CleanCases, pct(l.PassRate), l.Passed, l.Cases)
}

// ConversationText says in one line how a target's conversations went:
// "12 cases, 2.4 steps a case, 31 tool calls, 3 tool errors, 1 hit
// max_steps".
func ConversationText(c *evals.ConversationSummary) string {
	text := fmt.Sprintf("%d cases, %.1f steps a case, %d tool calls, %d tool errors", c.Cases, c.StepsMean, c.ToolCalls, c.ToolErrors)
	if c.MaxSteps > 0 {
		text += fmt.Sprintf(", %d hit max_steps", c.MaxSteps)
	}
	if c.MaxTurns > 0 {
		text += fmt.Sprintf(", %d hit max_turns", c.MaxTurns)
	}
	return text
}

// budgetBroken reports whether a target of s broke the error budget.
func budgetBroken(s *evals.Summary) bool {
	return s.ErrorBudget != nil && !s.ErrorBudget.Held
}

// cachedText says, per target, how many responses came from the response
// cache, so that a run that sent nothing does not pass for a live one.
func cachedText(w io.Writer, s *evals.Summary, st Style) {
	first := true
	for _, t := range s.Targets {
		if t.Cached == 0 {
			continue
		}
		if first {
			fmt.Fprintln(w)
			first = false
		}
		fmt.Fprintf(w, "%s %s: %d of %d responses came from the response cache", st.bold("cached"), t.Name, t.Cached, t.Cases)
		if t.Cached == t.Cases {
			fmt.Fprint(w, ", none from the endpoint")
		}
		fmt.Fprintln(w)
	}
}

// streamText gives, per target that streamed, when the tokens came: the
// percentiles of the time to the first token and to the first token of the
// answer, and the mean output tokens per second.
func streamText(w io.Writer, s *evals.Summary, st Style) {
	first := true
	for _, t := range s.Targets {
		ss := t.Stream
		if ss == nil {
			continue
		}
		if first {
			fmt.Fprintln(w)
			first = false
		}
		fmt.Fprintf(w, "%s %s: %d streamed; first token %s", st.bold("stream"), t.Name, ss.Responses, percentiles(ss.FirstTokenMS))
		if ss.ContentResponses > 0 {
			fmt.Fprintf(w, "; first content %s", percentiles(ss.FirstContentMS))
		}
		if ss.RatedResponses > 0 {
			fmt.Fprintf(w, "; %.1f tokens/s", ss.TokensPerSecond)
		}
		fmt.Fprintln(w)
	}
}

// percentiles writes a latency summary's percentiles: "p50 120 ms, p95 300
// ms, p99 410 ms".
func percentiles(l evals.LatencySummary) string {
	return fmt.Sprintf("p50 %s, p95 %s, p99 %s", ms(l.P50, true), ms(l.P95, true), ms(l.P99, true))
}

// criterionCell sums up one criterion's verdicts on one target.
func criterionCell(c evals.CriterionSummary) string {
	cell := fmt.Sprintf("%s pass %s, mean %.3f", pct(c.PassRate), bracket(c.PassRateCI), c.Mean)
	if c.N == 0 {
		cell = "no data"
	}
	if c.CorpusBLEU != nil {
		// Two decimals, as sacrebleu prints a score.
		cell += fmt.Sprintf(", corpus BLEU %.2f", *c.CorpusBLEU)
	}
	if c.Unscored > 0 {
		cell += fmt.Sprintf(", %d unscored", c.Unscored)
	}
	return cell
}

// ErrorCounts lists the errors by kind, as "timeout 2, http_status 1" in
// the kinds' order.
func ErrorCounts(errs map[string]int) string {
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, errs[k])
	}
	return strings.Join(parts, ", ")
}

// GateText writes a gate's verdict and each gate with its value and margin.
func GateText(w io.Writer, v evals.GateVerdict, st Style) error {
	ew := &errWriter{w: w}
	gateText(ew, v, nil, st)
	return ew.err
}

// gateText writes the verdict, then each target that broke the error budget
// eb (nil for none), then each gate.
func gateText(w io.Writer, v evals.GateVerdict, eb *evals.ErrorBudget, st Style) {
	fmt.Fprintln(w)
	verdict := st.good("gate held")
	switch {
	case v.Note != "":
		verdict = st.bad("gate not held: " + v.Note)
	case !v.Held:
		verdict = st.bad("gate failed")
	}
	fmt.Fprintln(w, verdict)
	if eb != nil {
		for _, br := range eb.Over {
			fmt.Fprintln(w, st.bad("  FAIL  ")+br.Target+": "+termSafe(br.Reason))
		}
	}
	for _, g := range v.Results {
		mark := st.good("  ok    ")
		if !g.Held {
			mark = st.bad("  FAIL  ")
		}
		fmt.Fprintln(w, mark+termSafe(g.Message))
	}
}

// ComparisonText writes one comparison of two targets.
func ComparisonText(w io.Writer, c evals.Comparison, st Style) error {
	ew := &errWriter{w: w}
	comparisonText(ew, c, st)
	return ew.err
}

// slicesText prints, per slice, each target's pass rate with its interval.
func slicesText(w io.Writer, s *evals.Summary, st Style) {
	type key struct{ k, v string }
	var keys []key
	cells := map[key][]string{}
	for ti, t := range s.Targets {
		for _, sl := range t.Slices {
			k := key{sl.Key, sl.Value}
			if _, ok := cells[k]; !ok {
				keys = append(keys, k)
				cells[k] = make([]string, len(s.Targets))
			}
			cells[k][ti] = fmt.Sprintf("%d/%d %s %s", sl.Passed, sl.Cases, pct(sl.PassRate), bracket(sl.PassRateCI))
		}
	}
	if len(keys) == 0 {
		return
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].k != keys[j].k {
			return keys[i].k < keys[j].k
		}
		return keys[i].v < keys[j].v
	})
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := st.bold("slice")
	for _, t := range s.Targets {
		head += "\t" + t.Name
	}
	fmt.Fprintln(tw, head)
	for _, k := range keys {
		line := k.k + "=" + k.v
		for _, c := range cells[k] {
			if c == "" {
				c = "-"
			}
			line += "\t" + c
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// repeatsText prints a target's repeat statistics and flaky cases.
func repeatsText(w io.Writer, t evals.TargetSummary, st Style) {
	r := t.Repeats
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\n%s %s: %d cases x %d, reduced by %s: %d passed (%s)", st.bold("repeats"), t.Name, r.Cases, r.N, r.Reducer, r.Passed, pct(r.PassRate))
	for i, kv := range r.PassAtK {
		fmt.Fprintf(w, ", pass@%d %.3f pass^%d %.3f", kv.K, kv.Value, kv.K, r.PassHatK[i].Value)
	}
	fmt.Fprintln(w)
	if r.Flaky > 0 {
		more := ""
		if r.Flaky > len(r.FlakyCases) {
			more = ", ..."
		}
		fmt.Fprintf(w, "  %s %d of %d cases changed verdict between repeats: %s%s\n", st.bad("flaky"), r.Flaky, r.Cases, termSafe(strings.Join(r.FlakyCases, ", ")), more)
	}
}

// comparisonText prints one comparison of two targets.
func comparisonText(w io.Writer, c evals.Comparison, st Style) {
	against := c.Against
	if c.AgainstRun != "" {
		against += " (run " + c.AgainstRun + ")"
	}
	fmt.Fprintf(w, "\n%s %s vs %s: %d cases matched", st.bold("compare"), c.Target, against, c.Matched)
	if c.OnlyA > 0 || c.OnlyB > 0 {
		fmt.Fprintf(w, " (%d only in %s, %d only in %s)", c.OnlyA, c.Target, c.OnlyB, c.Against)
	}
	fmt.Fprintln(w)
	if c.Matched == 0 {
		return
	}
	// The pass rates over the matched cases, which the delta compares.
	rateA := float64(c.BothPassed+c.Fixes) / float64(c.Matched)
	rateB := float64(c.BothPassed+c.Regressions) / float64(c.Matched)
	fmt.Fprintf(w, "  pass rate %s vs %s, %s %s; mean %+.3f %s; wins %d, ties %d, losses %d; McNemar p = %s\n",
		pct(rateA), pct(rateB), points(c.DeltaPassRate), pointsSpan(c.DeltaPassRateCI), c.DeltaMean, signedSpan(c.DeltaMeanCI),
		c.Wins, c.Ties, c.Losses, pval(c.McNemarP))
	list := func(label string, n int, ids []string, paint func(string) string) {
		if n == 0 {
			fmt.Fprintf(w, "  0 %s\n", label)
			return
		}
		more := ""
		if n > len(ids) {
			more = ", ..."
		}
		fmt.Fprintf(w, "  %s: %s%s\n", paint(fmt.Sprintf("%d %s", n, label)), termSafe(strings.Join(ids, ", ")), more)
	}
	list("regressions", c.Regressions, c.RegressionCases, st.bad)
	list("fixes", c.Fixes, c.FixCases, st.good)
}

// level is the confidence level as a percentage, "95%".
func level(s evals.Statistics) string {
	if s.Confidence == 0 {
		return "95%"
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", s.Confidence*100), "0"), ".") + "%"
}

// span is an interval of rates in percent, "83.5-98.6", or "-".
func span(iv *evals.Interval) string {
	if iv == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f-%.1f", iv.Lo*100, iv.Hi*100)
}

// bracket is span in brackets.
func bracket(iv *evals.Interval) string { return "[" + span(iv) + "]" }

// points is a difference of rates in percentage points, "+2.5 pts".
func points(d float64) string { return fmt.Sprintf("%+.1f pts", d*100) }

func pointsSpan(iv *evals.Interval) string {
	if iv == nil {
		return "[-]"
	}
	return fmt.Sprintf("[%+.1f, %+.1f]", iv.Lo*100, iv.Hi*100)
}

func signedSpan(iv *evals.Interval) string {
	if iv == nil {
		return "[-]"
	}
	return fmt.Sprintf("[%+.3f, %+.3f]", iv.Lo, iv.Hi)
}

// pval prints a p-value with the precision it deserves.
func pval(p float64) string {
	if p < 0.0001 {
		return "< 0.0001"
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", p), "0"), ".")
}

// ms prints a latency, or "-" when no response came.
func ms(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.0f ms", v)
}

// money prints a cost with its currency.
func money(v float64, currency string) string {
	if v != 0 && v < 0.01 {
		return fmt.Sprintf("%.4f %s", v, currency)
	}
	return fmt.Sprintf("%.2f %s", v, currency)
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
