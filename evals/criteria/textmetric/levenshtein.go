package textmetric

import (
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
)

// Levenshtein returns the edit distance between a and b: the least number of
// code points to insert, delete or substitute to turn a into b. Each invalid
// UTF-8 byte counts as one code point, U+FFFD. It takes time proportional to
// the product of the lengths (less a common prefix and suffix) and memory
// proportional to the shorter one.
func Levenshtein(a, b string) int {
	return levenshtein.ComputeDistance(a, b)
}

// Similarity returns 1 - Levenshtein(a, b) / max(len(a), len(b)), lengths in
// code points: 1 for equal texts (two empty ones included), 0 for texts with
// nothing in common at any position.
func Similarity(a, b string) float64 {
	n := max(utf8.RuneCountInString(a), utf8.RuneCountInString(b))
	if n == 0 {
		return 1
	}
	return 1 - float64(Levenshtein(a, b))/float64(n)
}
