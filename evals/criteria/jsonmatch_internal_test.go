package criteria

import (
	"math/big"
	"regexp"
	"testing"
)

func TestDecimalEqual(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"1", "1.0", true},
		{"1", "1e0", true},
		{"100", "1e2", true},
		{"100", "1E+2", true},
		{"0.5", "5e-1", true},
		{"0", "-0", true},
		{"0", "0.000e5", true},
		{"-1.50", "-15e-1", true},
		{"12345678901234567890", "12345678901234567890.000", true},
		{"12345678901234567890", "12345678901234567891", false},
		{"1", "-1", false},
		{"1", "10", false},
		{"0.1", "0.01", false},
		{"1e999999999", "10e999999998", true},
		{"1e4611686018427387904", "10e4611686018427387903", true},  // exponents up to 2^62 are read
		{"1e4611686018427387905", "1e4611686018427387905", true},   // beyond: the same text is equal,
		{"1e4611686018427387905", "10e4611686018427387904", false}, // and any other is not
		{"", "0", false},
		{"-", "0", false},
		{"1x", "1", false},
	} {
		if got := decimalEqual([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("decimalEqual(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := decimalEqual([]byte(tt.b), []byte(tt.a)); got != tt.want {
			t.Errorf("decimalEqual(%s, %s) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// jsonNumber matches the JSON number grammar.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// FuzzDecimalEqual checks decimalEqual against exact rational arithmetic, on
// numbers whose exponents are small enough for big.Rat to expand.
func FuzzDecimalEqual(f *testing.F) {
	for _, s := range [][2]string{{"1", "1.0"}, {"0.1", "1e-1"}, {"-0", "0"}, {"123.4500", "1.2345e2"}, {"7", "8"}, {"1E3", "1000.0"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !jsonNumber.MatchString(a) || !jsonNumber.MatchString(b) || len(a) > 60 || len(b) > 60 {
			return
		}
		for _, s := range []string{a, b} {
			if d, ok := parseDecimal([]byte(s)); !ok || d.exp > 400 || d.exp < -400 {
				return
			}
		}
		x, ok1 := new(big.Rat).SetString(a)
		y, ok2 := new(big.Rat).SetString(b)
		if !ok1 || !ok2 {
			t.Fatalf("big.Rat cannot read %q or %q", a, b)
		}
		if got, want := decimalEqual([]byte(a), []byte(b)), x.Cmp(y) == 0; got != want {
			t.Errorf("decimalEqual(%s, %s) = %v, big.Rat says %v", a, b, got, want)
		}
		if !decimalEqual([]byte(a), []byte(a)) {
			t.Errorf("decimalEqual(%s, itself) = false", a)
		}
	})
}
