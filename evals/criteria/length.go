package criteria

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

var _ evals.Scorer = (*Length)(nil)

type lengthConfig struct {
	commonConfig
	MinChars *int `json:"min_chars"`
	MaxChars *int `json:"max_chars"`
	MinWords *int `json:"min_words"`
	MaxWords *int `json:"max_words"`
}

// Length passes when the length of the (extracted, normalised) output lies
// within its bounds: characters are Unicode code points (an invalid UTF-8
// byte counts as one), words are runs of non-space characters between
// Unicode white space.
type Length struct {
	common
	chars, words bounds
}

// bounds is an inclusive range; -1 leaves a side open.
type bounds struct{ min, max int }

func (b bounds) set() bool { return b.min >= 0 || b.max >= 0 }

func newLength(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c lengthConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newCommon(&c.commonConfig)
	if err != nil {
		return nil, err
	}
	l := &Length{common: cm}
	if l.chars, err = parseBounds(c.MinChars, c.MaxChars, "min_chars", "max_chars"); err != nil {
		return nil, err
	}
	if l.words, err = parseBounds(c.MinWords, c.MaxWords, "min_words", "max_words"); err != nil {
		return nil, err
	}
	if !l.chars.set() && !l.words.set() {
		return nil, evals.FieldErrorf("max_chars", "missing: expected at least one of min_chars, max_chars, min_words, max_words")
	}
	return l, nil
}

func parseBounds(lo, hi *int, loField, hiField string) (bounds, error) {
	b := bounds{-1, -1}
	if lo != nil {
		if *lo < 0 {
			return b, evals.FieldErrorf(loField, "expected an integer >= 0, got %d", *lo)
		}
		b.min = *lo
	}
	if hi != nil {
		if *hi < 0 {
			return b, evals.FieldErrorf(hiField, "expected an integer >= 0, got %d", *hi)
		}
		b.max = *hi
	}
	if lo != nil && hi != nil && *lo > *hi {
		return b, evals.FieldErrorf(loField, "%s %d is more than %s %d: no output could pass", loField, *lo, hiField, *hi)
	}
	return b, nil
}

// Score implements evals.Scorer.
func (l *Length) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	s, why, ok := l.subject(in.Output)
	if !ok {
		return l.verdict(0, why)
	}
	var problems []string
	if l.chars.set() {
		if p := l.chars.check(utf8.RuneCountInString(s), "character"); p != "" {
			problems = append(problems, p)
		}
	}
	if l.words.set() {
		if p := l.words.check(countWords(s), "word"); p != "" {
			problems = append(problems, p)
		}
	}
	if problems != nil {
		return l.verdict(0, strings.Join(problems, "; "))
	}
	return l.verdict(1, "")
}

// check says how n breaks the bounds, or "" when it does not.
func (b bounds) check(n int, unit string) string {
	switch {
	case b.min >= 0 && n < b.min:
		return fmt.Sprintf("%d %s(s), expected at least %d", n, unit, b.min)
	case b.max >= 0 && n > b.max:
		return fmt.Sprintf("%d %s(s), expected at most %d", n, unit, b.max)
	}
	return ""
}

// countWords counts the runs of non-space runes in s, as strings.Fields
// splits them, without building the fields.
func countWords(s string) int {
	n := 0
	in := false
	for i := 0; i < len(s); {
		var space bool
		if c := s[i]; c < utf8.RuneSelf {
			space = asciiSpace[c]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if space {
			in = false
		} else if !in {
			in = true
			n++
		}
	}
	return n
}

// asciiSpace marks the ASCII bytes unicode.IsSpace accepts.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}
