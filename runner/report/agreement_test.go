package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// TestJudgeGateSubject checks that a judge.NAME gate, which has no target,
// names its judge in the Markdown table and the GitHub annotation.
func TestJudgeGateSubject(t *testing.T) {
	s := summary()
	v := 0.6154
	s.Gate = evals.GateVerdict{Results: []evals.GateResult{{Expr: "judge.facts.kappa >= 0.7", Judge: "facts", Value: &v, Margin: -0.0846,
		Message: "judge facts: judge.facts.kappa >= 0.7: got 0.6154, off by 0.0846"}}}
	var b bytes.Buffer
	if err := WriteSuite(s, sliceResults(nil), NewMarkdown(&b)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| ❌ failed | judge facts | `judge.facts.kappa >= 0.7` | 0.6154 | -0.0846 |") {
		t.Errorf("Markdown:\n%s", b.String())
	}
	b.Reset()
	if err := Annotations(&b, s, "", nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "gate judge.facts.kappa >= 0.7 failed on judge facts") {
		t.Errorf("annotation:\n%s", b.String())
	}
}

// TestAgreementText checks the terminal and Markdown forms of an
// agreement: an undefined kappa says why, and the disagreements are cut at
// 20 with how many more.
func TestAgreementText(t *testing.T) {
	agree := 0.5
	a := evals.Agreement{Judge: "facts", Suite: "qa", RunID: "r1", Key: "0123456789abcdef", Reviewers: []string{"a.csv", "b.csv"},
		N: 30, Agreement: &agree, KappaUndefined: "the judge and people put every result in one class (pass)"}
	for i := range 25 {
		a.Disagreements = append(a.Disagreements, evals.Disagreement{CaseID: "c|" + string(rune('a'+i)), Target: "t", JudgePass: true, JudgeScore: 1, Reason: "\x1b[31mred"})
	}
	var b bytes.Buffer
	if err := AgreementText(&b, []evals.Agreement{a}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"judge facts  run r1 (suite qa)  key 0123456789ab",
		"  kappa                undefined  the judge and people put every result in one class (pass)",
		"  alpha                undefined  Krippendorff's, the judge and every reviewer",
		"  true positive rate   no data    of the 0 results people failed, the share the judge failed",
		"    and 5 more (--json lists them all)",
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("no line %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b") {
		t.Errorf("an escape reached the terminal:\n%q", text)
	}
	b.Reset()
	if err := AgreementMarkdown(&b, []evals.Agreement{a}); err != nil {
		t.Fatal(err)
	}
	if md := b.String(); !strings.Contains(md, "| kappa | undefined |") || !strings.Contains(md, "`c\\|a`") || !strings.Contains(md, "\nand 5 more.\n") {
		t.Errorf("Markdown:\n%s", md)
	}
}
