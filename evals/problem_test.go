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
