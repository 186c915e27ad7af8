package textmetric

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Percent says what a number written with a percent sign stands for.
type Percent uint8

const (
	// PercentNumber reads "12.5%" as 12.5: the sign is dropped.
	PercentNumber Percent = iota
	// PercentFraction reads "12.5%" as 0.125.
	PercentFraction
)

// Number is a number found in a text.
type Number struct {
	Value      float64
	Text       string // as written, sign and percent sign included
	Start, End int    // Text is s[Start:End]
	Percent    bool   // written with a percent sign
}

// Numbers returns the numbers in s, from left to right. A number is, with
// nothing between the parts:
//
//	sign      optional: "+", "-" or "−" (U+2212), taken as a sign only where
//	          it does not follow a letter or a digit, so "3-4" holds 3 and 4
//	          and "COVID-19" holds 19
//	integer   ASCII digits, or 1 to 3 digits then groups of a comma and exactly 3
//	          digits (thousands separators: "1,234,567"); a comma that is not
//	          followed by exactly 3 digits ends the number, so "1,2,3" holds
//	          1, 2 and 3 and "1,5" holds 1 and 5
//	fraction  optional: "." and digits; ".5" alone is a number
//	exponent  optional: "e" or "E", an optional sign, and digits
//	percent   optional: "%", right after or after one space
//
// Numbers are found like the matches of a regular expression: the leftmost
// first, each as long as it can be, the next one searched after its end (so
// "1.2.3" holds 1.2 and .3). A number too large for a float64 is skipped.
// With pct PercentFraction, a number with a percent sign is divided by 100.
func Numbers(s string, pct Percent) []Number {
	var out []Number
	for i := 0; ; {
		n, ok := nextNumber(s, i, pct)
		if !ok {
			return out
		}
		out = append(out, n)
		i = n.End
	}
}

// FirstNumber returns the first number of s, as Numbers finds them.
func FirstNumber(s string, pct Percent) (Number, bool) {
	return nextNumber(s, 0, pct)
}

// LastNumber returns the last number of s, as Numbers finds them.
func LastNumber(s string, pct Percent) (Number, bool) {
	var last Number
	found := false
	for i := 0; ; {
		n, ok := nextNumber(s, i, pct)
		if !ok {
			return last, found
		}
		last, found, i = n, true, n.End
	}
}

// ParseNumber returns the value of the one number in s, as Numbers finds
// it; the rest of s is ignored. It is an error when s holds no number or
// several.
func ParseNumber(s string, pct Percent) (float64, error) {
	n, ok := nextNumber(s, 0, pct)
	if !ok {
		return 0, errors.New("no number in it")
	}
	if m, ok := nextNumber(s, n.End, pct); ok {
		return 0, fmt.Errorf("more than one number in it (%s and %s)", n.Text, m.Text)
	}
	return n.Value, nil
}

// nextNumber returns the first number of s that starts at or after from.
func nextNumber(s string, from int, pct Percent) (Number, bool) {
	for i := from; i < len(s); {
		if end, ok := scanNumber(s, i); ok {
			n := Number{Text: s[i:end], Start: i, End: end}
			if v, ok := numberValue(n.Text); ok {
				n.Value = v
				n.Percent = strings.HasSuffix(n.Text, "%")
				if n.Percent && pct == PercentFraction {
					n.Value /= 100
				}
				return n, true
			}
			i = end // too large: skip it whole
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return Number{}, false
}

// scanNumber returns the end of the number that starts at s[i], if one does.
func scanNumber(s string, i int) (int, bool) {
	j := i
	if r, size := utf8.DecodeRuneInString(s[j:]); r == '+' || r == '-' || r == '−' {
		if i > 0 {
			if p, _ := utf8.DecodeLastRuneInString(s[:i]); unicode.IsLetter(p) || unicode.IsDigit(p) {
				return 0, false
			}
		}
		j += size
	}
	// Integer part.
	k := digits(s, j)
	switch {
	case k > j:
		if k-j <= 3 {
			for k+4 <= len(s) && s[k] == ',' && digits(s, k+1) == k+4 {
				k += 4
			}
		}
	case k < len(s) && s[k] == '.' && digits(s, k+1) > k+1:
		// ".5": the fraction below is the whole number.
	default:
		return 0, false
	}
	// Fraction.
	if k < len(s) && s[k] == '.' {
		if e := digits(s, k+1); e > k+1 {
			k = e
		}
	}
	// Exponent.
	if k < len(s) && (s[k] == 'e' || s[k] == 'E') {
		e := k + 1
		if e < len(s) && (s[e] == '+' || s[e] == '-') {
			e++
		}
		if d := digits(s, e); d > e {
			k = d
		}
	}
	// Percent sign.
	if k < len(s) && s[k] == '%' {
		k++
	} else if k+1 < len(s) && s[k] == ' ' && s[k+1] == '%' {
		k += 2
	}
	return k, true
}

// digits returns the end of the run of ASCII digits that starts at s[i].
func digits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// numberValue returns the value of a number's text; ok is false when it is
// too large for a float64.
func numberValue(text string) (float64, bool) {
	if strings.ContainsAny(text, ",% −") {
		text = cleanNumber(text)
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// cleanNumber drops the thousands separators and the percent sign from a
// number's text, and writes its minus sign in ASCII.
func cleanNumber(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch r {
		case ',', '%', ' ':
		case '−':
			b.WriteByte('-')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
