package criteria_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// specOf decodes a criterion as the loader does: the common fields, and Raw.
func specOf(t testing.TB, raw string) evals.CriterionSpec {
	t.Helper()
	var s evals.CriterionSpec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("bad test spec %s: %v", raw, err)
	}
	s.Raw = json.RawMessage(raw)
	return s
}

func build(t testing.TB, raw string, env criteria.Env) evals.Scorer {
	t.Helper()
	sc, err := criteria.New(specOf(t, raw), env)
	if err != nil {
		t.Fatalf("New(%s): %v", raw, err)
	}
	return sc
}

// caseOf builds a case from JSON texts for expected and vars ("" for none).
func caseOf(t testing.TB, expected, vars string) *evals.Case {
	t.Helper()
	c := &evals.Case{ID: "case-1", Tags: []string{"smoke"}}
	if expected != "" {
		if err := json.Unmarshal([]byte(expected), &c.Expected); err != nil {
			t.Fatalf("bad test expected %s: %v", expected, err)
		}
	}
	if vars != "" {
		if err := json.Unmarshal([]byte(vars), &c.Vars); err != nil {
			t.Fatalf("bad test vars %s: %v", vars, err)
		}
	}
	return c
}

// scoreTest is one response scored by one criterion, and the exact verdict.
type scoreTest struct {
	name     string
	spec     string // the criterion's JSON object
	output   string
	expected string // JSON text of the case's expected answer, "" for none
	vars     string // JSON text of the case's variables, "" for none
	want     evals.Verdict
}

func runScoreTests(t *testing.T, tests []scoreTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := build(t, tt.spec, criteria.Env{Dir: t.TempDir()})
			in := &evals.Input{Case: caseOf(t, tt.expected, tt.vars), Output: tt.output}
			got := sc.Score(context.Background(), in)
			if !sameVerdict(got, tt.want) {
				t.Errorf("spec %s\noutput %q\n got %+v, BLEU %+v\nwant %+v, BLEU %+v", tt.spec, tt.output, got, got.BLEU, tt.want, tt.want.BLEU)
			}
		})
	}
}

// sameVerdict compares two verdicts, their BLEU counts by value.
func sameVerdict(a, b evals.Verdict) bool {
	if a.BLEU != nil && b.BLEU != nil && *a.BLEU == *b.BLEU {
		a.BLEU = b.BLEU
	}
	return a == b
}

// withBLEU returns v with BLEU counts: the response's length, the closest
// reference's, and the matches and n-grams of orders 1 to 4.
func withBLEU(v evals.Verdict, hyp, ref int, matches, totals [4]int) evals.Verdict {
	v.BLEU = &evals.BLEUCounts{HypLen: hyp, RefLen: ref, Matches: matches, Totals: totals}
	return v
}

// Verdict shorthands.
func pass() evals.Verdict { return evals.Verdict{Score: 1, Pass: true} }

func fail(reason string) evals.Verdict { return evals.Verdict{Reason: reason} }

func unscoredV(reason string) evals.Verdict { return evals.Verdict{Unscored: true, Reason: reason} }

// jsonString returns s as a JSON string literal.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// checkNewError checks that New rejects the criterion spec with a
// *evals.FieldError naming field, with the exact message msg.
func checkNewError(t *testing.T, rawSpec, dir, field, msg string) {
	t.Helper()
	// Take the type as the loader would, even where the common fields do
	// not decode.
	var head struct{ Type any }
	if err := json.Unmarshal([]byte(rawSpec), &head); err != nil {
		t.Fatal(err)
	}
	typ, _ := head.Type.(string)
	spec := evals.CriterionSpec{Type: typ, Raw: json.RawMessage(rawSpec)}
	sc, err := criteria.New(spec, criteria.Env{Dir: dir})
	if err == nil {
		t.Fatalf("New(%s) = %T, want an error", rawSpec, sc)
	}
	if sc != nil {
		t.Errorf("New(%s) returned a scorer with its error", rawSpec)
	}
	var fe *evals.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("New(%s): %v (%T), want a *evals.FieldError", rawSpec, err, err)
	}
	if fe.Field != field {
		t.Errorf("field = %q, want %q (error %v)", fe.Field, field, err)
	}
	if got := fe.Err.Error(); got != msg {
		t.Errorf("message\n got %s\nwant %s", got, msg)
	}
}
