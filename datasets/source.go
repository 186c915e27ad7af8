package datasets

import (
	"sort"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// locate splits a case's Source ("file:12" or "file: $[3]") into a position.
func locate(c *evals.Case) (file string, line, col int) {
	if f, _, ok := strings.Cut(c.Source, ": $"); ok {
		return f, 0, 0
	}
	i := strings.LastIndex(c.Source, ":")
	if i < 0 {
		return c.Source, 0, 0
	}
	n, err := strconv.Atoi(c.Source[i+1:])
	if err != nil {
		return c.Source, 0, 0
	}
	return c.Source[:i], n, 1
}

// pathOf returns the JSON path part of a case's Source, if it has one.
func pathOf(c *evals.Case) string {
	if _, path, ok := strings.Cut(c.Source, ": $"); ok {
		return "$" + path
	}
	return ""
}

func sortStrings(s []string) { sort.Strings(s) }
