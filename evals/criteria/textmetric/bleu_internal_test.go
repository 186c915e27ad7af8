package textmetric

import (
	"slices"
	"testing"
)

func TestTokenizeChar(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"你好 世界!\u3000ok", []string{"你", "好", "世", "界", "!", "o", "k"}},
		{"  \t\n", []string{}},
		{"a\x1fb", []string{"a", "b"}}, // U+001F is white space to Python
		{"x\xffy", []string{"x", "\xff", "y"}},
	} {
		if got := tokenizeChar(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("tokenizeChar(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
