package history

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Ref is a run named by its suite: SUITE@latest is the run of the suite
// that started last, SUITE@~N the Nth before it.
type Ref struct {
	Suite string
	// Back counts the runs back from the latest: 0 for SUITE@latest (or
	// SUITE@~0), 1 for SUITE@~1.
	Back int
}

func (r Ref) String() string {
	if r.Back == 0 {
		return r.Suite + "@latest"
	}
	return r.Suite + "@~" + strconv.Itoa(r.Back)
}

// ParseRef reads SUITE@latest or SUITE@~N; ok is false for anything else,
// such as a folder or a run id.
func ParseRef(s string) (ref Ref, ok bool) {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 {
		return Ref{}, false
	}
	ref.Suite = s[:i]
	switch at := s[i+1:]; {
	case at == "latest":
		return ref, true
	case strings.HasPrefix(at, "~"):
		n, err := strconv.Atoi(at[1:])
		if err != nil || n < 0 || at[1:] != strconv.Itoa(n) {
			return Ref{}, false
		}
		ref.Back = n
		return ref, true
	}
	return Ref{}, false
}

// Find returns the run ref names, among the runs of its suite in s, newest
// first. The errors say what was asked and what exists: a suite with no
// run (and the suites that have some), a count past the oldest run, a run
// whose folder is gone.
func Find(ctx context.Context, s Store, ref Ref) (*Run, error) {
	runs, err := s.Runs(ctx, Filter{Suite: ref.Suite})
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		all, err := s.Runs(ctx, Filter{})
		if err != nil {
			return nil, err
		}
		var suites []string
		for _, r := range all {
			if !slices.Contains(suites, r.Suite) {
				suites = append(suites, r.Suite)
			}
		}
		if len(suites) == 0 {
			return nil, fmt.Errorf("%s: the history has no run yet", ref)
		}
		slices.Sort(suites)
		return nil, fmt.Errorf("%s: the history has no run of suite %q; it has runs of %s", ref, ref.Suite, quoteAll(suites))
	}
	if ref.Back >= len(runs) {
		oldest := Ref{Suite: ref.Suite, Back: len(runs) - 1}
		return nil, fmt.Errorf("%s: suite %q has %s in the history, from %s to %s (run %s)",
			ref, ref.Suite, count(len(runs), "run"), Ref{Suite: ref.Suite}, oldest, runs[len(runs)-1].ID)
	}
	r := &runs[ref.Back]
	if r.Missing {
		return nil, fmt.Errorf("%s is run %s, whose folder %s is gone (moved or deleted); see rubric history --suite %s, and rubric history --prune to forget such runs",
			ref, r.ID, r.Dir, ref.Suite)
	}
	return r, nil
}

// Prune forgets the runs f selects, whatever its Limit, whose folders are
// gone, and returns them.
func Prune(ctx context.Context, s Store, f Filter) ([]Run, error) {
	f.Limit = 0
	runs, err := s.Runs(ctx, f)
	if err != nil {
		return nil, err
	}
	var gone []Run
	var ids []string
	for _, r := range runs {
		if r.Missing && !r.Elsewhere() {
			gone = append(gone, r)
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return gone, s.Forget(ctx, ids...)
}

func quoteAll(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
