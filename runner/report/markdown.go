package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// Markdown writes a section per suite for a pull-request comment or a CI step
// summary: the verdict, a table of targets, the targets that broke the error
// budget, the criteria, every gate with its value and margin, and per target
// the failed cases the summary lists, with their reasons and the start of the
// model's output, then, for each that was a conversation, how it ended: its
// counts, its outcome and its last messages, one line each.
//
// Everything that comes from a model or a dataset (outputs, reasons, case
// ids) goes into code spans, where Markdown renders nothing (no HTML, links,
// images, mentions or math), clipped to one line with the table's pipes
// escaped. Names are backslash-escaped.
type Markdown struct {
	w   io.Writer
	sum *evals.Summary
	// outputs holds the clipped outputs of the failed cases the section
	// lists, filled as results stream by, and tails how those that were
	// conversations ended.
	outputs map[resultKey]string
	tails   map[resultKey]*evals.ConversationTail
}

var _ SuiteWriter = (*Markdown)(nil)

type resultKey struct {
	target, caseID string
	repeat         int
}

// Clipping in table cells, in characters.
const (
	mdReason = 200
	mdOutput = 120
)

// NewMarkdown returns a Markdown writer that writes a section to w as each
// suite ends.
func NewMarkdown(w io.Writer) *Markdown { return &Markdown{w: w} }

// Begin notes which results the section will quote.
func (m *Markdown) Begin(s *evals.Summary) error {
	m.sum = s
	m.outputs = map[resultKey]string{}
	m.tails = map[resultKey]*evals.ConversationTail{}
	for _, t := range s.Targets {
		for _, f := range t.FailedCases {
			m.outputs[resultKey{t.Name, f.CaseID, f.Repeat}] = ""
		}
	}
	return nil
}

// Write keeps r's output if the section quotes it.
func (m *Markdown) Write(r *evals.Result) error {
	k := resultKey{r.Target, r.CaseID, r.Repeat}
	if _, ok := m.outputs[k]; ok {
		// Clipped now so that memory stays small, whatever the outputs.
		m.outputs[k] = clip(r.Output, mdOutput)
		if tail := evals.TailOf(r); tail != nil {
			m.tails[k] = tail
		}
	}
	return nil
}

// End writes the suite's section.
func (m *Markdown) End() error {
	ew := &errWriter{w: m.w}
	s := m.sum
	title := mdText(s.Suite)
	if s.SuiteVersion != "" {
		title += " (version " + mdText(s.SuiteVersion) + ")"
	}
	fmt.Fprintf(ew, "### %s %s: %s\n\n", verdictMark(s), title, verdictText(s))
	fmt.Fprintf(ew, "Run `%s`", s.RunID)
	if s.SuitePath != "" {
		fmt.Fprintf(ew, " of %s", mdCode(s.SuitePath, mdReason))
	}
	fmt.Fprintln(ew, ".")
	if s.Interrupted {
		fmt.Fprintln(ew, "\n**Interrupted:** the figures cover the results completed before the run stopped.")
	}
	fmt.Fprintln(ew)

	fmt.Fprintf(ew, "| target | verdict | cases | passed | failed | errors | unscored | pass rate | %s CI | mean | p50 | p95 | tokens |\n", level(s.Statistics))
	fmt.Fprintln(ew, "|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, t := range s.Targets {
		got := t.Cases > t.Errored
		fmt.Fprintf(ew, "| %s | %s | %d | %d | %d | %d | %d | %s | %s | %.3f | %s | %s | %d |\n",
			mdText(t.Name), targetVerdict(s, t.Name), t.Cases, t.Passed, t.Failed, t.Errored, t.Unscored,
			pct(t.PassRate), span(t.PassRateCI), t.Mean, ms(t.LatencyMS.P50, got), ms(t.LatencyMS.P95, got), t.Usage.TotalTokens)
	}
	if lc := s.LeakCheck; lc != nil {
		fmt.Fprintf(ew, "\n**Leak check:** %s.\n", mdText(LeakCheckText(lc)))
		for _, t := range s.Targets {
			if l := t.Leaks; l != nil {
				fmt.Fprintf(ew, "- %s: %s\n", mdText(t.Name), mdText(LeakText(t.PassRate, l)))
			}
		}
	}
	if s.ErrorBudget != nil {
		for _, br := range s.ErrorBudget.Over {
			fmt.Fprintf(ew, "\n**Error budget exceeded, %s:** %s.\n", mdText(br.Target), mdText(br.Reason))
		}
	}

	if len(s.Targets) > 0 && len(s.Targets[0].Criteria) > 0 {
		fmt.Fprint(ew, "\n| criterion | type |")
		for _, t := range s.Targets {
			fmt.Fprintf(ew, " %s |", mdText(t.Name))
		}
		fmt.Fprint(ew, "\n|:--|:--|", strings.Repeat(":--|", len(s.Targets)), "\n")
		for i, c := range s.Targets[0].Criteria {
			fmt.Fprintf(ew, "| %s | %s |", mdText(c.Name), mdText(c.Type))
			for _, t := range s.Targets {
				cell := "no data"
				if i < len(t.Criteria) {
					cell = criterionCell(t.Criteria[i])
				}
				fmt.Fprintf(ew, " %s |", cell)
			}
			fmt.Fprintln(ew)
		}
	}

	cmps := s.Comparisons
	for _, t := range s.Targets {
		if t.Comparison != nil {
			cmps = append(cmps, *t.Comparison)
		}
	}
	if len(cmps) > 0 {
		fmt.Fprintln(ew, "\n| comparison | matched | wins / ties / losses | pass rate | mean | McNemar p | regressions | fixes |")
		fmt.Fprintln(ew, "|:--|--:|:--|:--|:--|--:|--:|--:|")
		for _, c := range cmps {
			against := mdText(c.Against)
			if c.AgainstRun != "" {
				against += " (run `" + c.AgainstRun + "`)"
			}
			fmt.Fprintf(ew, "| %s vs %s | %d | %d / %d / %d | %s %s | %+.3f %s | %s | %d | %d |\n",
				mdText(c.Target), against, c.Matched, c.Wins, c.Ties, c.Losses,
				points(c.DeltaPassRate), pointsSpan(c.DeltaPassRateCI), c.DeltaMean, signedSpan(c.DeltaMeanCI),
				pval(c.McNemarP), c.Regressions, c.Fixes)
		}
		for _, c := range cmps {
			if c.Regressions > 0 {
				fmt.Fprintf(ew, "\n**Regressions, %s:** %s", mdText(c.Target), mdCode(strings.Join(c.RegressionCases, ", "), mdReason))
				if c.Regressions > len(c.RegressionCases) {
					fmt.Fprintf(ew, " and %d more", c.Regressions-len(c.RegressionCases))
				}
				fmt.Fprintln(ew, ".")
			}
		}
	}

	if len(s.Gate.Results) > 0 {
		fmt.Fprintln(ew, "\n| gate | target | threshold | value | margin |")
		fmt.Fprintln(ew, "|:--|:--|:--|--:|--:|")
		for _, g := range s.Gate.Results {
			mark, value, margin := "✅ held", "no data", "—"
			if !g.Held {
				mark = "❌ failed"
			}
			if g.Value != nil {
				value = num(*g.Value)
				margin = num(g.Margin)
				if g.Margin > 0 && margin != "0" {
					margin = "+" + margin
				}
			}
			fmt.Fprintf(ew, "| %s | %s | %s | %s | %s |\n", mark, mdText(gateSubject(g)), mdCode(g.Expr, mdReason), value, margin)
		}
	}

	for _, t := range s.Targets {
		if len(t.FailedCases) > 0 {
			notPassed := t.Cases - t.Passed
			fmt.Fprintf(ew, "\n**Failures, %s:** %d of %d cases did not pass", mdText(t.Name), notPassed, t.Cases)
			if notPassed > len(t.FailedCases) {
				fmt.Fprintf(ew, " (%d shown; all are in `results.jsonl`)", len(t.FailedCases))
			}
			fmt.Fprintln(ew, ".\n\n| case | status | reason | output |\n|:--|:--|:--|:--|")
			for _, f := range t.FailedCases {
				out := m.outputs[resultKey{t.Name, f.CaseID, f.Repeat}]
				fmt.Fprintf(ew, "| %s | %s | %s | %s |\n", mdCode(caseName(f.CaseID, f.Repeat), mdReason),
					mdText(string(f.Status)), mdCode(f.Reason, mdReason), mdCode(out, mdOutput))
			}
			for _, f := range t.FailedCases {
				tail := m.tails[resultKey{t.Name, f.CaseID, f.Repeat}]
				if tail == nil {
					continue
				}
				fmt.Fprintf(ew, "\n%s: %s\n\n", mdCode(caseName(f.CaseID, f.Repeat), mdReason), mdText(tail.Heading()))
				for _, line := range tail.Last {
					fmt.Fprintf(ew, "- %s\n", mdCode(line, mdReason))
				}
			}
		}
		if len(t.Errors) > 0 {
			fmt.Fprintf(ew, "\n**Errors, %s:** %s.\n", mdText(t.Name), mdText(ErrorCounts(t.Errors)))
		}
	}
	fmt.Fprintln(ew)
	m.outputs, m.tails = nil, nil
	return ew.err
}

// verdictMark and verdictText say how the suite's gate came out.
func verdictMark(s *evals.Summary) string { return mdMarks[suiteOutcome(s).class] }

func verdictText(s *evals.Summary) string {
	if s.Gate.Note != "" {
		return "gate not held: " + mdText(s.Gate.Note)
	}
	return suiteOutcome(s).text
}

// targetVerdict says how a target's gates came out, or that it broke the
// error budget.
func targetVerdict(s *evals.Summary, target string) string {
	o := targetOutcome(s, target)
	if m := mdMarks[o.class]; m != "" && o.class != outcomeNone {
		return m + " " + o.text
	}
	return o.text
}

// mdMarks are the marks of the outcomes' classes.
var mdMarks = map[string]string{
	outcomeHeld: "✅", outcomeFailed: "❌", outcomeWarn: "⚠️", outcomeNone: "ℹ️",
}

// outcome is how a gate came out, for people: a class (one of the
// outcome constants, which the HTML report styles) and words.
type outcome struct{ class, text string }

const (
	outcomeHeld   = "held"
	outcomeFailed = "failed"
	outcomeWarn   = "warn" // not held for a reason other than a gate: interrupted, error budget
	outcomeNone   = "none" // no gate
)

// suiteOutcome says how the suite's gate came out.
func suiteOutcome(s *evals.Summary) outcome {
	switch {
	case s.Gate.Note != "":
		return outcome{outcomeWarn, "gate not held: " + s.Gate.Note}
	case !s.Gate.Held:
		return outcome{outcomeFailed, "gate failed"}
	case len(s.Gate.Results) == 0:
		return outcome{outcomeNone, "no gate"}
	}
	return outcome{outcomeHeld, "gate held"}
}

// targetOutcome says how a target's gates came out, or that it broke the
// error budget.
func targetOutcome(s *evals.Summary, target string) outcome {
	n, failed := 0, 0
	for _, g := range s.Gate.Results {
		if g.Target == target {
			n++
			if !g.Held {
				failed++
			}
		}
	}
	if s.ErrorBudget != nil && slices.ContainsFunc(s.ErrorBudget.Over, func(b evals.BudgetBreach) bool { return b.Target == target }) {
		return outcome{outcomeWarn, "error budget exceeded"}
	}
	switch {
	case failed > 0:
		return outcome{outcomeFailed, fmt.Sprintf("%d of %d gates failed", failed, n)}
	case s.Gate.Note != "":
		return outcome{outcomeWarn, "not held"}
	case n == 0:
		return outcome{outcomeNone, "no gate"}
	}
	return outcome{outcomeHeld, "gate held"}
}
