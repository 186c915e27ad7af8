package textmetric

import (
	"strings"
	"unicode/utf8"
)

// asciiPunct is Python's string.punctuation as a set of bytes.
var asciiPunct = func() (set [utf8.RuneSelf]bool) {
	for _, c := range "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" {
		set[c] = true
	}
	return set
}()

// NormalizeSQuAD normalises an answer as the official SQuAD v1.1 evaluation
// script does, in this order: lower case (Python's str.lower); remove each
// character of Python's string.punctuation (the 32 ASCII punctuation
// characters); remove the articles "a", "an" and "the" where they stand as
// whole words (a maximal run of letters, digits and '_', as \b of Python's
// re module sees words); and collapse every run of white space into one space,
// with none at the ends. Invalid UTF-8 bytes read as U+FFFD.
func NormalizeSQuAD(s string) string {
	return strings.Join(squadTokens(s), " ")
}

// squadTokens returns the tokens of the normalised answer: its words.
func squadTokens(s string) []string {
	s = pyLower(s)
	buf := make([]byte, 0, len(s))
	word := -1 // the start, in buf, of the word being written; -1 between words
	endWord := func() {
		if w := string(buf[word:]); w == "a" || w == "an" || w == "the" {
			buf = append(buf[:word], ' ')
		}
		word = -1
	}
	for _, r := range s {
		if r < utf8.RuneSelf && asciiPunct[r] {
			continue // removed before the articles: "the," is an article
		}
		if pyIsWord(r) {
			if word < 0 {
				word = len(buf)
			}
		} else if word >= 0 {
			endWord()
		}
		buf = utf8.AppendRune(buf, r)
	}
	if word >= 0 {
		endWord()
	}
	return pyFields(string(buf))
}

// ExactMatch reports whether pred and ref are equal once normalised by
// NormalizeSQuAD.
func ExactMatch(pred, ref string) bool {
	return NormalizeSQuAD(pred) == NormalizeSQuAD(ref)
}

// TokenF1 returns the F1 of the normalised tokens of pred against those of
// ref, as the SQuAD v1.1 script computes it: the tokens in common are counted
// as a multiset (a token twice in both counts twice), precision is common over
// len(pred tokens), recall common over len(ref tokens), F1 their harmonic mean;
// with no token in common F1 is 0, even when both are empty.
func TokenF1(pred, ref string) float64 {
	return tokenF1(squadTokens(pred), squadTokens(ref))
}

func tokenF1(pred, ref []string) float64 {
	if len(pred) == 0 || len(ref) == 0 {
		return 0
	}
	counts := make(map[string]int, len(ref))
	for _, t := range ref {
		counts[t]++
	}
	same := 0
	for _, t := range pred {
		if counts[t] > 0 {
			counts[t]--
			same++
		}
	}
	if same == 0 {
		return 0
	}
	precision := float64(same) / float64(len(pred))
	recall := float64(same) / float64(len(ref))
	return 2 * precision * recall / (precision + recall)
}

// BestExactMatch returns 1 when pred matches one of refs by ExactMatch, else 0
// (also when refs is empty): the SQuAD script's maximum over ground truths.
func BestExactMatch(pred string, refs []string) float64 {
	p := NormalizeSQuAD(pred)
	for _, r := range refs {
		if NormalizeSQuAD(r) == p {
			return 1
		}
	}
	return 0
}

// BestTokenF1 returns the highest TokenF1 of pred against each of refs, and
// the index of the first reference that gives it; with no refs, 0 and -1.
func BestTokenF1(pred string, refs []string) (f1 float64, best int) {
	p := squadTokens(pred)
	best = -1
	for i, r := range refs {
		if f := tokenF1(p, squadTokens(r)); best < 0 || f > f1 {
			f1, best = f, i
		}
	}
	return f1, best
}
