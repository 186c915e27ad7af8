package textmetric_test

import (
	"testing"

	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

// TestNormalizeSQuAD pins normalize_answer of the official SQuAD v1.1
// evaluation script (evaluate-v1.1.py) on the cases where its Python
// semantics matter: str.lower (İ, the final sigma), string.punctuation
// (ASCII only), \b of the re module (Unicode words, combining marks outside
// them) and str.split (Unicode white space, U+001C..U+001F). The wanted
// values are what that definition gives under Python 3.
func TestNormalizeSQuAD(t *testing.T) {
	tests := []struct{ in, want string }{
		{"The Cat", "cat"},
		{"  A  man, a plan, a canal: Panama! ", "man plan canal panama"},
		{"the\u20acbook", "\u20acbook"},
		{"th\u00e9\u00e2tre", "th\u00e9\u00e2tre"},
		{"An apple and an Orange", "apple and orange"},
		{"another", "another"},
		{"the_cat", "thecat"},
		{"\u0130stanbul", "i\u0307stanbul"},
		{"\u039f\u0394\u039f\u03a3 \u03a3\u039f\u03a6\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2 \u03c3\u03bf\u03c6\u03bf\u03c2"},
		{"\u039f\u0394\u039f\u03a3.", "\u03bf\u03b4\u03bf\u03c2"},
		{"Hello\u00a0world", "hello world"},
		{"x\u001cy", "x y"},
		{"the\u0301 end", "\u0301 end"},
		{"a-b", "ab"},
		{"the(1976)", "the1976"},
		{"\u00ab the \u00bb", "\u00ab \u00bb"},
		{"The The", ""},
		{"AN", ""},
		{"an\u00e9", "an\u00e9"},
		{"theA", "thea"},
		{"1976", "1976"},
		{"\u2014the\u2014", "\u2014 \u2014"},
		{"a.b.c", "abc"},
		{"\u03a3", "\u03c3"},
		{"a\u03a3", "a\u03c2"},
		{"\u03a3a", "\u03c3a"},
		{"a\u03a3'", "a\u03c2"},
		{"a\u03a3'b", "a\u03c3b"},
		{"\u216b the", "\u217b"},
		{"the\u0663", "the\u0663"},
		{"2the", "2the"},
		{"", ""},
		{"x\xffy", "x\ufffdy"},
	}
	for _, tt := range tests {
		if got := textmetric.NormalizeSQuAD(tt.in); got != tt.want {
			t.Errorf("NormalizeSQuAD(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSQuADScores(t *testing.T) {
	tests := []struct {
		name      string
		pred, ref string
		em        bool
		f1        float64
	}{
		{"equal after normalisation", "The Eiffel Tower!", "eiffel tower", true, 1},
		{"partial overlap", "the cat sat on the mat", "a cat on a mat", false, 6.0 / 7},
		// Tokens are a multiset: "the" is gone, "cat" counts once in the
		// reference.
		{"multiset", "cat cat", "the cat", false, 2.0 / 3},
		{"no overlap", "dog", "cat", false, 0},
		// Version 1.1: with no token in common F1 is 0, even for two empty
		// answers, while they match exactly.
		{"both empty", "", "", true, 0},
		{"only articles", "the", "a", true, 0},
		{"empty prediction", "", "cat", false, 0},
		{"numbers", "1,976", "1976", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := textmetric.ExactMatch(tt.pred, tt.ref); got != tt.em {
				t.Errorf("ExactMatch(%q, %q) = %v, want %v", tt.pred, tt.ref, got, tt.em)
			}
			if got := textmetric.TokenF1(tt.pred, tt.ref); !near(got, tt.f1, 1e-12) {
				t.Errorf("TokenF1(%q, %q) = %v, want %v", tt.pred, tt.ref, got, tt.f1)
			}
		})
	}
}

func TestSQuADBestOverReferences(t *testing.T) {
	refs := []string{"Denver Broncos", "The Broncos", "Broncos"}
	if got := textmetric.BestExactMatch("broncos.", refs); got != 1 {
		t.Errorf("BestExactMatch = %v, want 1", got)
	}
	if got := textmetric.BestExactMatch("the denver", refs); got != 0 {
		t.Errorf("BestExactMatch = %v, want 0", got)
	}
	if got := textmetric.BestExactMatch("x", nil); got != 0 {
		t.Errorf("BestExactMatch without references = %v, want 0", got)
	}
	// "the denver": {denver} against {denver, broncos} 2/3, against {broncos} 0.
	if f1, at := textmetric.BestTokenF1("the denver", refs); !near(f1, 2.0/3, 1e-12) || at != 0 {
		t.Errorf("BestTokenF1 = %v at %d, want 2/3 at 0", f1, at)
	}
	if f1, at := textmetric.BestTokenF1("broncos", refs); f1 != 1 || at != 1 {
		t.Errorf("BestTokenF1 = %v at %d, want 1 at 1 (the first of the best)", f1, at)
	}
	if f1, at := textmetric.BestTokenF1("x", nil); f1 != 0 || at != -1 {
		t.Errorf("BestTokenF1 without references = %v at %d, want 0 at -1", f1, at)
	}
}
