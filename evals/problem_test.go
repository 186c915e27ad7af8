package evals

import "testing"

func TestJSONKind(t *testing.T) {
	for raw, want := range map[string]string{
		``: "nothing", ` `: "nothing", `"x"`: "a string", ` {}`: "an object", `[1]`: "an array",
		`true`: "a boolean", `false`: "a boolean", `null`: "null", `-1.5`: "a number", `0`: "a number",
	} {
		if got := JSONKind([]byte(raw)); got != want {
			t.Errorf("JSONKind(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		s          string
		n          int
		head, tail string
	}{
		{"", 3, "", ""},
		{"abc", 3, "abc", "abc"},
		{"abcd", 3, "abc…", "…bcd"},
		{"ééééé", 2, "éé…", "…éé"},
		{"a日本語", 1, "a…", "…語"},
	}
	for _, tt := range tests {
		if got := Clip(tt.s, tt.n); got != tt.head {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.head)
		}
		if got := ClipTail(tt.s, tt.n); got != tt.tail {
			t.Errorf("ClipTail(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.tail)
		}
	}
}
