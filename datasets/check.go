package datasets

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"

	"github.com/rubric-eval/rubric/evals"
)

// MaxProblems caps how many dataset problems Check reports; a broken file
// would otherwise bury the first, most useful ones.
const MaxProblems = 20

// Check reads the whole dataset once and reports every problem in it: lines
// that do not parse, duplicate ids, and template variables a case does not
// define. It returns the number of cases. Memory stays small: ids are kept as
// 64-bit hashes (8 bytes a case), and a repeated hash is confirmed by a second
// pass over the dataset before it is reported.
func Check(s *evals.Suite) (int, error) {
	r, err := Open(s)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var probs evals.Problems
	more := 0
	add := func(p evals.Problem) {
		if len(probs) < MaxProblems {
			probs = append(probs, p)
		} else {
			more++
		}
	}
	seed := maphash.MakeSeed()
	// Ids are kept as 64-bit hashes in a slice (8 bytes a case, a third of
	// what a map takes) and sorted once at the end to find repeats.
	var hashes []uint64
	n := 0
	for {
		c, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var ps evals.Problems
			if !errors.As(err, &ps) {
				return n, err
			}
			for _, p := range ps {
				add(p)
			}
			if _, ok := r.(*jsonArray); ok {
				break // the array's decoder cannot resynchronise after an error
			}
			if cr, ok := r.(*csvReader); ok && cr.broken {
				break
			}
			continue
		}
		n++
		h := maphash.String(seed, c.ID)
		hashes = append(hashes, h)
		if err := checkCase(s, c); err != nil {
			file, line, col := locate(c)
			add(evals.Problem{File: file, Line: line, Col: col, Path: pathOf(c), Msg: fmt.Sprintf("case %q: %s", c.ID, err)})
		}
	}
	slices.Sort(hashes)
	var dupHashes map[uint64]bool
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			if dupHashes == nil {
				dupHashes = map[uint64]bool{}
			}
			dupHashes[hashes[i]] = true
		}
	}
	hashes = nil
	if len(dupHashes) > 0 {
		for _, p := range duplicates(s, seed, dupHashes) {
			add(p)
		}
	}
	if more > 0 {
		probs = append(probs, evals.Problem{File: probs[0].File, Msg: fmt.Sprintf("and %d more problems", more)})
	}
	if len(probs) > 0 {
		return n, probs
	}
	return n, nil
}

// checkCase renders every message template for the case.
func checkCase(s *evals.Suite, c *evals.Case) error {
	scope := evals.CaseScope{Case: c}
	for i, t := range s.Templates {
		if _, err := t.Render(scope); err != nil {
			var mv *evals.MissingVarError
			if errors.As(err, &mv) {
				return fmt.Errorf("messages[%d] uses {{%s}}, which the case does not define (it has: %s)", i, mv.Path, varNames(c))
			}
			return fmt.Errorf("messages[%d]: %w", i, err)
		}
	}
	return nil
}

func varNames(c *evals.Case) string {
	if len(c.Vars) == 0 {
		return "no variables"
	}
	names := make([]string, 0, len(c.Vars))
	for k := range c.Vars {
		names = append(names, k)
	}
	sortStrings(names)
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}

// duplicates re-reads the dataset to name the ids whose hashes repeated.
func duplicates(s *evals.Suite, seed maphash.Seed, hashes map[uint64]bool) []evals.Problem {
	r, err := Open(s)
	if err != nil {
		return nil
	}
	defer r.Close()
	first := map[string]string{}
	var out []evals.Problem
	for {
		c, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			continue
		}
		if !hashes[maphash.String(seed, c.ID)] {
			continue
		}
		if where, dup := first[c.ID]; dup {
			file, line, col := locate(c)
			out = append(out, evals.Problem{File: file, Line: line, Col: col, Path: pathOf(c), Msg: fmt.Sprintf("duplicate case id %q (first at %s)", c.ID, where)})
			continue
		}
		first[c.ID] = c.Source
	}
	return out
}
