package criteria

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// TestNestedTargets checks that a criterion nested two levels down resolves
// a target at its own path ("criteria.1.criterion.judge"), and that the
// errors of resolving it, located already, come back with that path once,
// not prefixed again on the way up.
func TestNestedTargets(t *testing.T) {
	var asked []string
	env := Env{Target: func(field string, _ json.RawMessage) (*evals.Endpoint, error) {
		asked = append(asked, field)
		return nil, evals.FieldErrorf(field, "unknown target \"nope\"")
	}}
	inner := env.within("criteria.1").within("criterion")
	_, err := inner.Target("judge", json.RawMessage(`"nope"`))
	if len(asked) != 1 || asked[0] != "criteria.1.criterion.judge" {
		t.Fatalf("resolver asked for %v, want [criteria.1.criterion.judge]", asked)
	}
	// A judge factory returns the error; each level of nesting passes it up.
	err = within("criteria.1", within("criterion", err))
	var fe *evals.FieldError
	if !errors.As(err, &fe) || fe.Field != "criteria.1.criterion.judge" {
		t.Errorf("error %v at %q, want it at criteria.1.criterion.judge", err, fe.Field)
	}
	// An error of the nested criterion itself is prefixed level by level.
	err = within("criteria.1", within("criterion", evals.FieldErrorf("pattern", "bad")))
	if !errors.As(err, &fe) || fe.Field != "criteria.1.criterion.pattern" {
		t.Errorf("error %v, want it at criteria.1.criterion.pattern", err)
	}
	// An error about no field lands on the nested criterion.
	err = within("criterion", errors.New("criterion: unexpected EOF"))
	if !errors.As(err, &fe) || fe.Field != "criterion" {
		t.Errorf("error %v, want it at criterion", err)
	}
}

func TestWithName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"type":"equals"}`, `{"name":"p/0","type":"equals"}`},
		{`{ "type" : "equals" }`, `{"name":"p/0","type" : "equals" }`},
		{`{}`, `{"name":"p/0"}`},
		{"{\n}", `{"name":"p/0"}`},
	} {
		if got := string(withName(json.RawMessage(tt.in), "p/0")); got != tt.want {
			t.Errorf("withName(%s) = %s, want %s", tt.in, got, tt.want)
		}
		if !json.Valid(withName(json.RawMessage(tt.in), "p/0")) {
			t.Errorf("withName(%s) is not JSON", tt.in)
		}
	}
}

// TestMatchBudget checks that a comparison too large to finish is given up
// with a reason, and that the criterion is then unscored, not failed.
func TestMatchBudget(t *testing.T) {
	old := matchBudget
	matchBudget = 50
	defer func() { matchBudget = old }()
	sc, err := New(evals.CriterionSpec{Name: "c", Type: "json-match",
		Raw: json.RawMessage(`{"name":"c","type":"json-match","subset":true,"ignore_order":true,"value":[{"a":1},{"a":2},{"a":3},{"a":4},{"a":5},{"a":6},{"a":7},{"a":8}]}`)}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	v := sc.Score(t.Context(), &evals.Input{Output: `[{"a":8},{"a":7},{"a":6},{"a":5},{"a":4},{"a":3},{"a":2},{"a":1}]`})
	want := evals.Verdict{Unscored: true, Reason: "at $: the comparison takes too long (over 50 values compared): arrays this large cannot be matched in any order with subset"}
	if v != want {
		t.Errorf("got %+v\nwant %+v", v, want)
	}
}
