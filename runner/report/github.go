package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// Annotations writes a GitHub Actions ::error workflow command for each gate
// of s that failed, each target that broke the error budget, and one for a
// gate not held because the run did not complete. GitHub shows them on the
// run's page and, with file=, on the suite in a pull request's diff.
//
// file is the suite's path relative to the repository ("" to leave it out).
// src is the suite file's content: when the failed expression is written in
// it exactly once, the annotation points at its line.
func Annotations(w io.Writer, s *evals.Summary, file string, src []byte) error {
	ew := &errWriter{w: w}
	for _, g := range s.Gate.Results {
		if g.Held {
			continue
		}
		props := [][2]string{{"file", file}, {"line", ""}, {"title", fmt.Sprintf("rubric: %s: gate %s failed on %s", s.Suite, g.Expr, gateSubject(g))}}
		if file != "" {
			if n := exprLine(src, g.Expr); n > 0 {
				props[1][1] = fmt.Sprint(n)
			}
		}
		fmt.Fprintln(ew, workflowCommand("error", props, gateMessage(g)))
	}
	if s.ErrorBudget != nil {
		for _, br := range s.ErrorBudget.Over {
			props := [][2]string{{"file", file}, {"title", fmt.Sprintf("rubric: %s: error budget exceeded on %s", s.Suite, br.Target)}}
			fmt.Fprintln(ew, workflowCommand("error", props, br.Target+": "+br.Reason))
		}
	}
	// The error budget's note says no more than its annotations above.
	if s.Gate.Note != "" && s.Gate.Note != evals.NoteErrorBudget {
		props := [][2]string{{"file", file}, {"title", fmt.Sprintf("rubric: %s: gate not held", s.Suite)}}
		fmt.Fprintln(ew, workflowCommand("error", props, s.Gate.Note))
	}
	return ew.err
}

// gateSubject is what a gate was checked on: its target, or "judge NAME"
// for a judge.NAME gate, checked once a run.
func gateSubject(g evals.GateResult) string {
	if g.Judge != "" {
		return "judge " + g.Judge
	}
	return g.Target
}

// gateMessage describes a failed gate with its value and margin.
func gateMessage(g evals.GateResult) string {
	if g.Value == nil {
		return g.Message
	}
	return fmt.Sprintf("%s (value %s, margin %s)", g.Message, num(*g.Value), num(g.Margin))
}

// workflowCommand formats ::name prop=value,...::message, escaped as the
// Actions runner expects (actions/toolkit's command.ts): in the message %,
// CR and LF; in property values also : and ,. Empty properties are left
// out.
func workflowCommand(name string, props [][2]string, msg string) string {
	var b strings.Builder
	b.WriteString("::")
	b.WriteString(name)
	sep := " "
	for _, p := range props {
		if p[1] == "" {
			continue
		}
		b.WriteString(sep)
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(propertyEscaper.Replace(p[1]))
		sep = ","
	}
	b.WriteString("::")
	b.WriteString(dataEscaper.Replace(msg))
	return b.String()
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// exprLine returns the 1-based line on which src has expr as a JSON string,
// or 0 when it has it nowhere or more than once.
func exprLine(src []byte, expr string) int {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if len(src) == 0 || enc.Encode(expr) != nil {
		return 0
	}
	quoted := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	i := bytes.Index(src, quoted)
	if i < 0 || bytes.Count(src, quoted) != 1 {
		return 0
	}
	return 1 + bytes.Count(src[:i], []byte("\n"))
}
