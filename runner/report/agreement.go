package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/rubric-eval/rubric/evals"
)

// maxDisagreements bounds the disagreements the terminal and Markdown
// show; --json has them all.
const maxDisagreements = 20

// AgreementText writes judges' agreements with people for a terminal: per
// judge its figures, the confusion matrix and the disagreements, worst
// first.
func AgreementText(w io.Writer, as []evals.Agreement) error {
	ew := &errWriter{w: w}
	for i, a := range as {
		if i > 0 {
			fmt.Fprintln(ew)
		}
		fmt.Fprintf(ew, "judge %s  run %s (suite %s)  key %s\n", termSafe(a.Judge), a.RunID, termSafe(a.Suite), short(a.Key))
		fmt.Fprintf(ew, "reviewers: %s\n", termSafe(strings.Join(a.Reviewers, ", ")))
		fmt.Fprintf(ew, "results: %d rated by both; left out: %d without a person's verdict, %d the judge did not score", a.N, a.NoReview, a.NoVerdict)
		if a.Split > 0 {
			fmt.Fprintf(ew, ", %d people split on", a.Split)
		}
		fmt.Fprintln(ew)
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, row := range agreementRows(&a) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", row[0], row[1], row[2])
		}
		tw.Flush()
		fmt.Fprintln(ew, "  confusion:   people pass  people fail")
		fmt.Fprintf(ew, "    judge pass  %11d  %11d\n", a.Confusion[0][0], a.Confusion[0][1])
		fmt.Fprintf(ew, "    judge fail  %11d  %11d\n", a.Confusion[1][0], a.Confusion[1][1])
		if len(a.Disagreements) == 0 {
			fmt.Fprintln(ew, "  no disagreement")
			continue
		}
		fmt.Fprintf(ew, "  disagreements, worst first (%d):\n", len(a.Disagreements))
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, d := range firstDisagreements(a.Disagreements) {
			fmt.Fprintf(tw, "    %s\t%s\trepeat %d\tjudge %s (%s), people %s\t%s\n", termSafe(d.CaseID), termSafe(d.Target), d.Repeat,
				word(d.JudgePass), num(d.JudgeScore), word(d.HumanPass), termSafe(clip(d.Reason, 100)))
		}
		tw.Flush()
		if n := len(a.Disagreements) - maxDisagreements; n > 0 {
			fmt.Fprintf(ew, "    and %d more (--json lists them all)\n", n)
		}
	}
	return ew.err
}

// AgreementMarkdown writes judges' agreements with people as Markdown.
func AgreementMarkdown(w io.Writer, as []evals.Agreement) error {
	ew := &errWriter{w: w}
	for i, a := range as {
		if i > 0 {
			fmt.Fprintln(ew)
		}
		fmt.Fprintf(ew, "### Judge %s\n\n", mdText(a.Judge))
		fmt.Fprintf(ew, "Run %s of suite %s, against %s. %d results rated by both; left out: %d without a person's verdict, %d the judge did not score, %d people split on.\n\n",
			mdCode(a.RunID, 80), mdText(a.Suite), mdText(strings.Join(a.Reviewers, ", ")), a.N, a.NoReview, a.NoVerdict, a.Split)
		fmt.Fprintln(ew, "| figure | value | |")
		fmt.Fprintln(ew, "|:--|--:|:--|")
		for _, row := range agreementRows(&a) {
			fmt.Fprintf(ew, "| %s | %s | %s |\n", row[0], row[1], mdText(row[2]))
		}
		fmt.Fprintln(ew, "\n| judge \\ people | pass | fail |")
		fmt.Fprintln(ew, "|:--|--:|--:|")
		fmt.Fprintf(ew, "| pass | %d | %d |\n| fail | %d | %d |\n", a.Confusion[0][0], a.Confusion[0][1], a.Confusion[1][0], a.Confusion[1][1])
		if len(a.Disagreements) == 0 {
			continue
		}
		fmt.Fprintln(ew, "\n| case | target | repeat | judge | people | judge's reason |")
		fmt.Fprintln(ew, "|:--|:--|--:|:--|:--|:--|")
		for _, d := range firstDisagreements(a.Disagreements) {
			fmt.Fprintf(ew, "| %s | %s | %d | %s (%s) | %s | %s |\n", mdCode(d.CaseID, 80), mdText(d.Target), d.Repeat,
				word(d.JudgePass), num(d.JudgeScore), word(d.HumanPass), mdCode(d.Reason, 200))
		}
		if n := len(a.Disagreements) - maxDisagreements; n > 0 {
			fmt.Fprintf(ew, "\nand %d more.\n", n)
		}
	}
	return ew.err
}

// agreementRows are the figures of a: name, value, what it is.
func agreementRows(a *evals.Agreement) [][3]string {
	opt := func(v *float64, none string) string {
		if v == nil {
			return none
		}
		return fmt.Sprintf("%.3f", *v)
	}
	kappa := "undefined"
	note := a.KappaUndefined
	if a.Kappa != nil {
		kappa = fmt.Sprintf("%.3f", *a.Kappa)
		note = fmt.Sprintf("95%% CI %.3f to %.3f", a.KappaCI.Lo, a.KappaCI.Hi)
	}
	rows := [][3]string{
		{"agreement", opt(a.Agreement, "no data"), "share of the results they agree on"},
		{"kappa", kappa, note},
	}
	if len(a.Reviewers) > 1 {
		rows = append(rows,
			[3]string{"alpha", opt(a.Alpha, "undefined"), "Krippendorff's, the judge and every reviewer"},
			[3]string{"reviewers' alpha", opt(a.ReviewersAlpha, "undefined"), "Krippendorff's, the reviewers alone"})
	}
	people := func(c int) int { return a.Confusion[0][c] + a.Confusion[1][c] }
	rows = append(rows,
		[3]string{"true positive rate", opt(a.TPR, "no data"), fmt.Sprintf("of the %d results people failed, the share the judge failed", people(1))},
		[3]string{"false positive rate", opt(a.FPR, "no data"), fmt.Sprintf("of the %d results people passed, the share the judge failed", people(0))})
	return rows
}

func firstDisagreements(ds []evals.Disagreement) []evals.Disagreement {
	return ds[:min(len(ds), maxDisagreements)]
}

func word(pass bool) string {
	if pass {
		return "pass"
	}
	return "fail"
}

// short is the start of a hash, as people tell keys apart.
func short(h string) string { return h[:min(len(h), 12)] }
