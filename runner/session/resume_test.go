package session

import (
	"slices"
	"testing"
)

// TestDoneSet: the recorded results are found, and keys that differ only in
// where one field ends and the next begins, or in the repeat, are not.
func TestDoneSet(t *testing.T) {
	var d doneSet
	for _, k := range []struct {
		target, id string
		rep        int
	}{{"a", "b", 0}, {"t", "c-1", 2}, {"", "", 0}} {
		d = append(d, resultHash(k.target, k.id, k.rep))
	}
	slices.SortFunc(d, compareHash)
	for _, tc := range []struct {
		target, id string
		rep        int
		want       bool
	}{
		{"a", "b", 0, true}, {"t", "c-1", 2, true}, {"", "", 0, true},
		{"ab", "", 0, false}, {"", "ab", 0, false}, {"a", "b", 1, false}, {"t", "c-1", -2, false}, {"t", "c-12", 0, false},
	} {
		if got := d.has(tc.target, tc.id, tc.rep); got != tc.want {
			t.Errorf("has(%q, %q, %d) = %v, want %v", tc.target, tc.id, tc.rep, got, tc.want)
		}
	}
}
