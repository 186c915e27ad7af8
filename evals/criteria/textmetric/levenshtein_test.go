package textmetric_test

import (
	"math"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		dist int
		sim  float64
	}{
		// Published in issue 4: 0.66667.
		{"abc", "axc", 1, 2.0 / 3},
		{"", "", 0, 1},
		{"abc", "", 3, 0},
		{"", "abc", 3, 0},
		{"abc", "abc", 0, 1},
		{"kitten", "sitting", 3, 1 - 3.0/7},
		{"flaw", "lawn", 2, 0.5},
		{"abc", "xyz", 3, 0},
		// Code points, not bytes: é is two bytes, one code point.
		{"é", "e", 1, 0},
		{"Grüße", "Grusse", 3, 0.5},
		{"東京", "京都", 2, 0},
		{"🙂x", "🙃x", 1, 0.5},
		// Invalid UTF-8 bytes each read as U+FFFD.
		{"\xff", "\xfe", 0, 1},
		{"a\xff", "a", 1, 0.5},
		{strings.Repeat("a", 1000), strings.Repeat("a", 999) + "b", 1, 0.999},
	}
	for _, tt := range tests {
		if got := textmetric.Levenshtein(tt.a, tt.b); got != tt.dist {
			t.Errorf("Levenshtein(%.20q, %.20q) = %d, want %d", tt.a, tt.b, got, tt.dist)
		}
		if got := textmetric.Levenshtein(tt.b, tt.a); got != tt.dist {
			t.Errorf("Levenshtein(%.20q, %.20q) = %d, want %d (symmetry)", tt.b, tt.a, got, tt.dist)
		}
		if got := textmetric.Similarity(tt.a, tt.b); !near(got, tt.sim, 1e-12) {
			t.Errorf("Similarity(%.20q, %.20q) = %v, want %v", tt.a, tt.b, got, tt.sim)
		}
	}
	// The published figure, to 5 decimals.
	if got := textmetric.Similarity("abc", "axc"); math.Round(got*1e5)/1e5 != 0.66667 {
		t.Errorf(`Similarity("abc", "axc") = %v, want 0.66667`, got)
	}
}
