package textmetric

// This file is the Porter stemmer as nltk's nltk.stem.porter.PorterStemmer
// computes it in its default mode, NLTK_EXTENSIONS: Porter's 1980 algorithm
// ("An algorithm for suffix stripping", Program 14.3) with the changes Martin
// Porter later endorsed and those nltk added. It is the stemmer rouge-score
// calls when use_stemmer=True. Where the mode departs from the paper:
//
//   - a table of irregular forms is looked up first (skies -> sky, dying ->
//     die, news -> news, ...), and words of one or two letters are kept;
//   - step 1a: "ies" is "ie" in a four-letter word (dies -> die);
//   - step 1b: "ied" is "ie" in a four-letter word and "i" in a longer one,
//     and nothing else of the step is tried;
//   - *o (a stem ending consonant-vowel-consonant) also holds for a
//     two-letter stem vowel-consonant;
//   - step 1c: y becomes i only after a consonant that is not the first
//     letter (happy -> happi, enjoy and by kept);
//   - step 2: "alli" -> "al" is tried first and, when it applies, step 2 runs
//     again; "bli" -> "ble" replaces "abli" -> "able"; "fulli" -> "ful" and
//     "logi" -> "log" are added, the latter with the l counted in the stem.
//
// The work is done in place on the word's bytes: no step makes a word longer
// than it was, so a stem fits where its word was.

// Stem returns the stem of word as nltk's PorterStemmer().stem(word) returns
// it (mode NLTK_EXTENSIONS; checked against nltk 3.8). The word is expected in
// lower case, as rouge-score's tokens are (nltk's stem lower-cases first by
// default; Stem does not); each byte other than a, e, i, o, u and y counts
// as a consonant, as every character other than those does in nltk. When
// the stem is the start of the word, as it usually is, Stem returns that
// part of word without allocating.
func Stem(word string) string {
	var arr [64]byte
	s := porterStem(append(arr[:0], word...))
	if string(s) == word[:len(s)] {
		return word[:len(s)]
	}
	return string(s)
}

// porterStem stems w in place and returns the stem, which shares w's array.
func porterStem(w []byte) []byte {
	if irr := irregular(w); irr != "" {
		return append(w[:0], irr...)
	}
	if len(w) <= 2 {
		return w
	}
	w = step1a(w)
	w = step1b(w)
	w = step1c(w)
	w = step2(w)
	w = apply(w, step3Rules)
	w = apply(w, step4Rules)
	w = step5a(w)
	return apply(w, step5bRules)
}

// irregular returns the stem nltk's table of irregular forms gives w, or "".
// Each is no longer than its word.
func irregular(w []byte) string {
	switch string(w) {
	case "sky", "skies":
		return "sky"
	case "dying":
		return "die"
	case "lying":
		return "lie"
	case "tying":
		return "tie"
	case "news":
		return "news"
	case "innings", "inning":
		return "inning"
	case "outings", "outing":
		return "outing"
	case "cannings", "canning":
		return "canning"
	case "howe":
		return "howe"
	case "proceed":
		return "proceed"
	case "exceed":
		return "exceed"
	case "succeed":
		return "succeed"
	}
	return ""
}

// isVowelLetter reports whether c is a, e, i, o or u.
func isVowelLetter(c byte) bool {
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'
}

// isCons reports whether w[i] is a consonant: not a, e, i, o or u, and not a
// y that follows a consonant. (So the y of a run of y alternate: the first
// is a consonant at the start of w or after a vowel.)
func isCons(w []byte, i int) bool {
	c := w[i]
	if isVowelLetter(c) {
		return false
	}
	if c != 'y' {
		return true
	}
	j := i // the first y of the run that ends at i
	for j > 0 && w[j-1] == 'y' {
		j--
	}
	first := j == 0 || isVowelLetter(w[j-1])
	return first == ((i-j)%2 == 0)
}

// measure returns m of Porter's [C](VC){m}[V] form of w: the number of
// vowel-consonant boundaries.
func measure(w []byte) int {
	m := 0
	prevCons := false
	for i, c := range w {
		cons := !isVowelLetter(c) && (c != 'y' || i == 0 || !prevCons)
		if cons && i > 0 && !prevCons {
			m++
		}
		prevCons = cons
	}
	return m
}

// hasVowel reports whether w has a letter that is not a consonant (*v*).
func hasVowel(w []byte) bool {
	prevCons := false
	for i, c := range w {
		cons := !isVowelLetter(c) && (c != 'y' || i == 0 || !prevCons)
		if !cons {
			return true
		}
		prevCons = cons
	}
	return false
}

// endsDoubleCons is *d: w ends with two equal consonants.
func endsDoubleCons(w []byte) bool {
	n := len(w)
	return n >= 2 && w[n-1] == w[n-2] && isCons(w, n-1)
}

// endsCVC is *o: w ends consonant-vowel-consonant and the last is not w, x
// or y; or (NLTK_EXTENSIONS) w is two letters, vowel then consonant.
func endsCVC(w []byte) bool {
	n := len(w)
	if n >= 3 && isCons(w, n-3) && !isCons(w, n-2) && isCons(w, n-1) {
		c := w[n-1]
		return c != 'w' && c != 'x' && c != 'y'
	}
	return n == 2 && !isCons(w, 0) && isCons(w, 1)
}

func hasSuffix(w []byte, suffix string) bool {
	n, k := len(w), len(suffix)
	// The last letters first: most suffixes fail there.
	return n >= k && w[n-1] == suffix[k-1] && string(w[n-k:]) == suffix
}

// A rule replaces a suffix when its condition holds for the word w with the
// suffix removed, w[:k]. No replacement is longer than its suffix.
type rule struct {
	suffix, repl string
	cond         cond
}

// cond is the condition of a rule. (A kind, not a func, so that the word's
// bytes stay on the caller's stack.)
type cond uint8

const (
	always cond = iota
	mGT0        // m(stem) > 0
	mGT1        // m(stem) > 1
	mGT1ST      // m(stem) > 1 and the stem ends with s or t (-ion)
	mGT0L       // m(stem + "l") > 0 (-logi: the l counts with the stem)
	mGT1L       // m(stem + "l") > 1 (-ll)
)

func (c cond) holds(w []byte, k int) bool {
	switch c {
	case mGT0:
		return measure(w[:k]) > 0
	case mGT1:
		return measure(w[:k]) > 1
	case mGT1ST:
		return measure(w[:k]) > 1 && (w[k-1] == 's' || w[k-1] == 't')
	case mGT0L:
		return measure(w[:k+1]) > 0
	case mGT1L:
		return measure(w[:k+1]) > 1
	}
	return true
}

// apply applies the first rule whose suffix w ends with, if its condition
// holds; the rules after it are not tried either way (nltk's
// _apply_rule_list).
func apply(w []byte, rules []rule) []byte {
	for _, r := range rules {
		if !hasSuffix(w, r.suffix) {
			continue
		}
		k := len(w) - len(r.suffix)
		if r.cond.holds(w, k) {
			return append(w[:k], r.repl...)
		}
		return w
	}
	return w
}

func step1a(w []byte) []byte {
	if len(w) == 4 && hasSuffix(w, "ies") {
		return w[:3] // ies -> ie
	}
	return apply(w, step1aRules)
}

var step1aRules = []rule{
	{"sses", "ss", always},
	{"ies", "i", always},
	{"ss", "ss", always},
	{"s", "", always},
}

func step1b(w []byte) []byte {
	n := len(w)
	switch {
	case hasSuffix(w, "ied"):
		if n == 4 {
			return w[:3] // ied -> ie
		}
		return w[:n-2] // ied -> i
	case hasSuffix(w, "eed"):
		if measure(w[:n-3]) > 0 {
			return w[:n-1]
		}
		return w
	}
	var s []byte // the stem once -ed or -ing is removed
	switch {
	case hasSuffix(w, "ed") && hasVowel(w[:n-2]):
		s = w[:n-2]
	case hasSuffix(w, "ing") && hasVowel(w[:n-3]):
		s = w[:n-3]
	default:
		return w
	}
	switch {
	case hasSuffix(s, "at"), hasSuffix(s, "bl"), hasSuffix(s, "iz"):
		return append(s, 'e')
	case endsDoubleCons(s):
		if c := s[len(s)-1]; c != 'l' && c != 's' && c != 'z' {
			return s[:len(s)-1]
		}
		return s
	case measure(s) == 1 && endsCVC(s):
		return append(s, 'e')
	}
	return s
}

func step1c(w []byte) []byte {
	n := len(w)
	if n > 2 && w[n-1] == 'y' && isCons(w, n-2) {
		w[n-1] = 'i'
	}
	return w
}

func step2(w []byte) []byte {
	if hasSuffix(w, "alli") && measure(w[:len(w)-4]) > 0 {
		return step2(w[:len(w)-2])
	}
	return apply(w, step2Rules)
}

var step2Rules = []rule{
	{"ational", "ate", mGT0},
	{"tional", "tion", mGT0},
	{"enci", "ence", mGT0},
	{"anci", "ance", mGT0},
	{"izer", "ize", mGT0},
	{"bli", "ble", mGT0},
	{"alli", "al", mGT0},
	{"entli", "ent", mGT0},
	{"eli", "e", mGT0},
	{"ousli", "ous", mGT0},
	{"ization", "ize", mGT0},
	{"ation", "ate", mGT0},
	{"ator", "ate", mGT0},
	{"alism", "al", mGT0},
	{"iveness", "ive", mGT0},
	{"fulness", "ful", mGT0},
	{"ousness", "ous", mGT0},
	{"aliti", "al", mGT0},
	{"iviti", "ive", mGT0},
	{"biliti", "ble", mGT0},
	{"fulli", "ful", mGT0},
	// The l of -logi is counted with the stem, so that geo-, theo- work
	// like archaeo-, philo-.
	{"logi", "log", mGT0L},
}

var step3Rules = []rule{
	{"icate", "ic", mGT0},
	{"ative", "", mGT0},
	{"alize", "al", mGT0},
	{"iciti", "ic", mGT0},
	{"ical", "ic", mGT0},
	{"ful", "", mGT0},
	{"ness", "", mGT0},
}

var step4Rules = []rule{
	{"al", "", mGT1},
	{"ance", "", mGT1},
	{"ence", "", mGT1},
	{"er", "", mGT1},
	{"ic", "", mGT1},
	{"able", "", mGT1},
	{"ible", "", mGT1},
	{"ant", "", mGT1},
	{"ement", "", mGT1},
	{"ment", "", mGT1},
	{"ent", "", mGT1},
	{"ion", "", mGT1ST},
	{"ou", "", mGT1},
	{"ism", "", mGT1},
	{"ate", "", mGT1},
	{"iti", "", mGT1},
	{"ous", "", mGT1},
	{"ive", "", mGT1},
	{"ize", "", mGT1},
}

func step5a(w []byte) []byte {
	if !hasSuffix(w, "e") {
		return w
	}
	s := w[:len(w)-1]
	if m := measure(s); m > 1 || m == 1 && !endsCVC(s) {
		return s
	}
	return w
}

var step5bRules = []rule{
	{"ll", "l", mGT1L},
}
