package evals

import "testing"

func TestResponseCost(t *testing.T) {
	spec := TargetSpec{Price: &PriceSpec{Input: 2, Output: 8}}
	u := Usage{PromptTokens: 1_000_000, CompletionTokens: 500_000}
	for _, tc := range []struct {
		name  string
		batch bool
		want  float64
	}{
		{"live", false, 6},
		{"from a batch, at half", true, 3},
	} {
		got, ok := spec.ResponseCost(&Response{Usage: u, Batch: tc.batch})
		if !ok || got != tc.want {
			t.Errorf("%s: cost %v, %v; want %v", tc.name, got, ok, tc.want)
		}
	}
	if _, ok := (TargetSpec{}).ResponseCost(&Response{Usage: u, Batch: true}); ok {
		t.Error("a target without a price has a cost")
	}
}
