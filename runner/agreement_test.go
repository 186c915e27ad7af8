package runner

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

func yes() *bool { v := true; return &v }
func no() *bool  { v := false; return &v }

// TestAgree checks the figures of a judge's agreement with one reviewer:
// examples/judge's sheet, where the reviewer fails Q-4, which the judge
// passed (score 0.75), and skips Q-2.
func TestAgree(t *testing.T) {
	items := []Rated{
		{CaseID: "Q-1", Target: "v1", JudgePass: true, JudgeScore: 1, Humans: []*bool{yes()}},
		{CaseID: "Q-2", Target: "v1", JudgePass: true, JudgeScore: 1, Humans: []*bool{nil}},
		{CaseID: "Q-3", Target: "v1", JudgePass: false, JudgeScore: 0, Humans: []*bool{no()}},
		{CaseID: "Q-4", Target: "v1", JudgePass: true, JudgeScore: 0.75, Reason: "verdict B", Humans: []*bool{no()}},
		{CaseID: "Q-5", Target: "v1", JudgePass: false, JudgeScore: 0, Humans: []*bool{no()}},
		{CaseID: "Q-6", Target: "v1", JudgePass: true, JudgeScore: 1, Humans: []*bool{yes()}},
	}
	a := &evals.Agreement{Reviewers: []string{"reviewed.csv"}}
	Agree(a, items, 0.95)
	if a.N != 5 || a.NoReview != 1 || a.Split != 0 || a.Confusion != [2][2]int{{2, 1}, {0, 2}} {
		t.Errorf("n %d, no review %d, split %d, confusion %v", a.N, a.NoReview, a.Split, a.Confusion)
	}
	// κ = (4/5 − 12/25)/(1 − 12/25) = 8/13; TPR 2/3 (of the 3 people
	// failed), FPR 0 (of the 2 they passed).
	if a.Kappa == nil || !near(*a.Kappa, 8.0/13) || !near(*a.Agreement, 0.8) || !near(*a.TPR, 2.0/3) || *a.FPR != 0 {
		t.Errorf("kappa %v, agreement %v, tpr %v, fpr %v", a.Kappa, a.Agreement, a.TPR, a.FPR)
	}
	if a.KappaCI == nil || a.KappaCI.Method != KappaMethod || !near(a.KappaCI.Lo, -0.006998253663844945) || a.KappaCI.Hi != 1 {
		t.Errorf("interval %+v", a.KappaCI)
	}
	if a.Alpha != nil || a.ReviewersAlpha != nil {
		t.Errorf("alpha with one reviewer: %v, %v", a.Alpha, a.ReviewersAlpha)
	}
	if len(a.Disagreements) != 1 || a.Disagreements[0].CaseID != "Q-4" || a.Disagreements[0].HumanPass {
		t.Errorf("disagreements %+v", a.Disagreements)
	}
}

// TestAgreeReviewers checks the majority of several reviewers, an even
// split, alpha and the order of the disagreements: the judge's score
// furthest from the people's verdict first.
func TestAgreeReviewers(t *testing.T) {
	items := []Rated{
		{CaseID: "a", JudgePass: true, JudgeScore: 0.6, Humans: []*bool{no(), no(), nil}},
		{CaseID: "b", JudgePass: false, JudgeScore: 0, Humans: []*bool{yes(), yes(), yes()}},
		{CaseID: "c", JudgePass: true, JudgeScore: 1, Humans: []*bool{yes(), no(), nil}},
		{CaseID: "d", JudgePass: true, JudgeScore: 0.9, Humans: []*bool{no(), no(), yes()}},
		{CaseID: "e", JudgePass: false, JudgeScore: 0.2, Humans: []*bool{no(), no(), no()}},
	}
	a := &evals.Agreement{Reviewers: []string{"r1", "r2", "r3"}}
	Agree(a, items, 0.95)
	if a.N != 4 || a.Split != 1 {
		t.Errorf("n %d, split %d", a.N, a.Split)
	}
	var order []string
	for _, d := range a.Disagreements {
		order = append(order, d.CaseID)
	}
	if got := strings.Join(order, " "); got != "b d a" {
		t.Errorf("disagreements %q, want b d a", got)
	}
	if got := strings.Join(a.Disagreements[0].Humans, ","); got != "pass,pass,pass" {
		t.Errorf("humans %q", got)
	}
	if a.Alpha == nil || a.ReviewersAlpha == nil {
		t.Fatalf("alpha %v, reviewers' alpha %v", a.Alpha, a.ReviewersAlpha)
	}
}

// TestAgreeUndefined checks that a kappa the data do not define is
// reported as such, and never as NaN in JSON.
func TestAgreeUndefined(t *testing.T) {
	for name, items := range map[string][]Rated{
		"all pass": {{CaseID: "a", JudgePass: true, JudgeScore: 1, Humans: []*bool{yes()}}, {CaseID: "b", JudgePass: true, JudgeScore: 1, Humans: []*bool{yes()}}},
		"none":     {{CaseID: "a", JudgePass: true, JudgeScore: 1, Humans: []*bool{nil}}},
	} {
		t.Run(name, func(t *testing.T) {
			a := &evals.Agreement{Reviewers: []string{"x"}}
			Agree(a, items, 0.95)
			if a.Kappa != nil || a.KappaUndefined == "" {
				t.Errorf("kappa %v, undefined %q", a.Kappa, a.KappaUndefined)
			}
			b, err := json.Marshal(a)
			if err != nil || strings.Contains(string(b), "NaN") || !strings.Contains(string(b), `"kappa":null`) {
				t.Errorf("JSON %s, %v", b, err)
			}
		})
	}
}

// TestJudgeGates checks that a judge.NAME gate is checked once a run, not
// on each target, from the agreements the summary holds, and fails with
// how to record one when there is none.
func TestJudgeGates(t *testing.T) {
	kappa, agree := 8.0/13, 0.8
	sum := &evals.Summary{Targets: []evals.TargetSummary{{Name: "a"}, {Name: "b"}},
		JudgeAgreement: []evals.JudgeAgreement{{Judge: "facts", Key: "k", Status: evals.AgreementCurrent,
			Agreement: &evals.Agreement{N: 5, Kappa: &kappa, Agreement: &agree}}}}
	var gates []evals.Gate
	for _, e := range []string{"judge.facts.kappa >= 0.6", "judge.facts.kappa >= 0.7", "judge.tone.n >= 1"} {
		g, err := evals.ParseGate(e)
		if err != nil {
			t.Fatal(err)
		}
		gates = append(gates, g)
	}
	Judge(sum, gates)
	var got []string
	for _, r := range sum.Gate.Results {
		got = append(got, r.Message)
		if r.Target != "" || r.Judge == "" {
			t.Errorf("result %+v: want a judge's, not a target's", r)
		}
	}
	want := []string{
		"judge facts: judge.facts.kappa >= 0.6: 0.6154 (margin 0.0154)",
		"judge facts: judge.facts.kappa >= 0.7: got 0.6154, off by 0.0846",
		"judge tone: judge.tone.n >= 1: no data (no agreement recorded for judge tone with this rubric and target; run: rubric agreement RUN --reviews SHEET)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || sum.Gate.Held {
		t.Errorf("held %v, results\n%s\nwant\n%s", sum.Gate.Held, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// CheckGates, which has no agreements (rubric compare), has no data.
	v := CheckGates(gates[:1], sum.Targets)
	if v.Held || len(v.Results) != 1 || !strings.Contains(v.Results[0].Message, "no data (no agreement recorded for judge facts") {
		t.Errorf("CheckGates: %+v", v)
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-12 && d > -1e-12 }
