package textmetric

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file gives Python's str semantics where the reference scripts rely on
// them: str.isspace (what str.split() and str.strip() use), str.lower (full
// lower case, with the special cases of U+0130 and the final sigma) and the
// \w of Python's re module.

// pyIsSpace reports whether Python's str.isspace is true for r: Unicode
// White_Space, plus the information separators U+001C to U+001F.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyFields splits s around runs of white space as Python's str.split() does.
// Invalid UTF-8 bytes are not space and stay in the fields as they are.
func pyFields(s string) []string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.FieldsFunc(s, pyIsSpace)
		}
	}
	// ASCII: strings.Fields splits on the same set, less U+001C..U+001F.
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x1c && c <= 0x1f {
			return strings.FieldsFunc(s, pyIsSpace)
		}
	}
	return strings.Fields(s)
}

// pyRStrip removes trailing white space as Python's str.rstrip() does.
func pyRStrip(s string) string {
	return strings.TrimRightFunc(s, pyIsSpace)
}

// pyIsWord reports whether r is a word character of Python's re module on str
// patterns: a letter, a number (str.isalnum) or '_'.
func pyIsWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// pyLower returns s in lower case as Python's str.lower does: the Unicode
// lower-case mapping of each code point, except that U+0130 (İ) becomes
// "i\u0307" and a capital sigma at the end of a word becomes ς (the
// Final_Sigma condition). Invalid UTF-8 bytes become U+FFFD. It allocates only
// when s changes.
func pyLower(s string) string {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			break
		}
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for j, r := range s[i:] {
		j += i
		switch {
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
		case r == 'İ':
			b.WriteString("i\u0307")
		case r == 'Σ':
			if finalSigma(s, j) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma reports whether the capital sigma at s[i] ends a word, by the
// Final_Sigma condition of Unicode's SpecialCasing as Python applies it: a
// cased letter comes before it and none after it, skipping case-ignorable
// characters both ways.
func finalSigma(s string, i int) bool {
	j := i
	var r rune
	for {
		if j == 0 {
			return false
		}
		var size int
		r, size = utf8.DecodeLastRuneInString(s[:j])
		j -= size
		if !caseIgnorable(r) {
			break
		}
	}
	if !cased(r) {
		return false
	}
	for _, r := range s[i+len("Σ"):] {
		if !caseIgnorable(r) {
			return !cased(r)
		}
	}
	return true
}

// cased is Unicode's Cased property: Lu, Ll, Lt, Other_Lowercase and
// Other_Uppercase.
func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorable is Unicode's Case_Ignorable property: Mn, Me, Cf, Lm, Sk, and
// the Word_Break classes MidLetter, MidNumLet and Single_Quote.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '\u00b7', '\u0387', '\u055f', '\u05f4', '\u2018', '\u2019',
		'\u2024', '\u2027', '\ufe13', '\ufe52', '\ufe55', '\uff07', '\uff0e', '\uff1a':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
