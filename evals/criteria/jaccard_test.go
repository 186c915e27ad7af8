package criteria_test

import (
	"context"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// TestJaccard checks the similarity of word sets, computed by hand:
// |A ∩ B| / |A ∪ B| over lowercased runs of letters and digits.
func TestJaccard(t *testing.T) {
	for _, tc := range []struct {
		name, value, out string
		score            float64
	}{
		{"one word differs", `"the cat sat"`, "the cat ran", 0.5},                              // {the,cat} of {the,cat,sat,ran}
		{"case, punctuation and order", `"Hello, World!"`, "world... hello", 1},                // {hello,world}
		{"repeats count once", `"a a a b"`, "a b b", 1},                                        //
		{"unicode words", `"Straße München"`, "straße", 0.5},                                   // {straße} of {straße,münchen}
		{"digits are words", `"order 42 shipped"`, "order 43 shipped", 0.5},                    // {order,shipped} of 4
		{"best of several references", `["nothing alike", "the cat sat"]`, "the cat", 2.0 / 3}, //
		{"no words on either side", `"..."`, "!!", 1},                                          //
		{"no words in the output", `"the cat"`, "", 0},                                         //
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := criteria.New(evals.CriterionSpec{Name: "j", Type: "jaccard",
				Raw: []byte(`{"name":"j","type":"jaccard","threshold":0.5,"value":` + tc.value + `}`)}, criteria.Env{})
			if err != nil {
				t.Fatal(err)
			}
			v := sc.Score(context.Background(), &evals.Input{Case: &evals.Case{ID: "1"}, Output: tc.out})
			if v.Unscored || v.Score < tc.score-1e-12 || v.Score > tc.score+1e-12 || v.Pass != (tc.score >= 0.5) {
				t.Errorf("got %+v, want score %v", v, tc.score)
			}
			if v.Score < 1 && v.Reason == "" {
				t.Error("a score below 1 without a reason")
			}
		})
	}
	if _, err := criteria.New(evals.CriterionSpec{Name: "j", Type: "jaccard", Raw: []byte(`{"name":"j","type":"jaccard"}`)}, criteria.Env{}); err == nil {
		t.Error("a jaccard criterion without a threshold was accepted")
	}
}
