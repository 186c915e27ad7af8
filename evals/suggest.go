package evals

import "github.com/agnivade/levenshtein"

// Closest returns the name in names nearest to s, if it is near enough to be
// a typo: at most two edits away.
func Closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := levenshtein.ComputeDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}
