package textmetric_test

import (
	"testing"

	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

// FuzzMetrics checks the properties every metric has on any pair of texts:
// scores in range, symmetry where the definition is symmetric, a text equal
// to itself, and numbers that are where they say.
func FuzzMetrics(f *testing.F) {
	for _, s := range [][2]string{
		{"abc", "axc"}, {"", ""}, {"testing one two", "testing two"}, {"The dog bit the man.", "The dog had bit the man."},
		{"İ Σ ς", "i̇ σ"}, {"x\xff", "\xfe"}, {"1,234.5% -3", "−2e5"}, {"a.b,c-1", "..,,--"},
	} {
		f.Add(s[0], s[1])
	}
	in01 := func(x float64) bool { return x >= 0 && x <= 1 }
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a)*len(b) > 1<<16 {
			t.Skip("quadratic metrics on long inputs are slow")
		}
		if s := textmetric.Similarity(a, b); !in01(s) || s != textmetric.Similarity(b, a) {
			t.Errorf("Similarity(%q, %q) = %v, or not symmetric", a, b, s)
		}
		if textmetric.Similarity(a, a) != 1 || !textmetric.ExactMatch(a, a) {
			t.Errorf("%q is not similar to itself", a)
		}
		if f1 := textmetric.TokenF1(a, b); !in01(f1) || f1 != textmetric.TokenF1(b, a) {
			t.Errorf("TokenF1(%q, %q) = %v, or not symmetric", a, b, f1)
		}
		for _, v := range []textmetric.Variant{textmetric.Rouge1, textmetric.Rouge2, textmetric.RougeL} {
			s := textmetric.Rouge(v, a, b)
			if !in01(s.Precision) || !in01(s.Recall) || !in01(s.F) {
				t.Errorf("%s(%q, %q) = %+v", v, a, b, s)
			}
			if r := textmetric.Rouge(v, b, a); r.Precision != s.Recall || r.Recall != s.Precision {
				t.Errorf("%s(%q, %q) = %+v, swapped %+v", v, a, b, s, r)
			}
		}
		if len(textmetric.RougeTokenize(a)) > 0 {
			if s := textmetric.Rouge(textmetric.RougeL, a, a); s.F != 1 {
				t.Errorf("rougeL(%q, itself) = %+v", a, s)
			}
		}
		if score, err := textmetric.SentenceBLEU(a, []string{b}); err == nil && (score.Score < 0 || score.Score > 100+1e-9) {
			t.Errorf("SentenceBLEU(%q, %q) = %+v", a, b, score)
		}
		end := 0
		for _, n := range textmetric.Numbers(a, textmetric.PercentFraction) {
			if n.Start < end || a[n.Start:n.End] != n.Text || n.Text == "" {
				t.Errorf("Numbers(%q): %+v overlaps or is misplaced", a, n)
			}
			end = n.End
		}
		// Stemming replaces each token longer than 3 characters by its stem,
		// which is never empty and never longer.
		plain, stemmed := textmetric.RougeTokenize(a), textmetric.RougeTokenizeStemmed(a)
		if len(plain) != len(stemmed) {
			t.Fatalf("RougeTokenizeStemmed(%q) = %q, not one stem per token of %q", a, stemmed, plain)
		}
		for i, tok := range plain {
			want := tok
			if len(tok) > 3 {
				want = textmetric.Stem(tok)
			}
			if stemmed[i] != want || want == "" || len(want) > len(tok) {
				t.Errorf("token %q of %q: stemmed %q, Stem gives %q", tok, a, stemmed[i], want)
			}
		}
	})
}
