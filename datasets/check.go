package datasets

import (
	"context"
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
//
// A large dataset takes a while to read: Check returns ctx's error (and the
// cases read so far) as soon as it sees that ctx ended.
func Check(ctx context.Context, s *evals.Suite) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
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
	for i := 1; ; i++ {
		if i%ctxEvery == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
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
			// Each reader goes on after a bad case where it can (the next
			// line of JSONL or CSV, the next element of a JSON array) and
			// returns io.EOF where it cannot.
			continue
		}
		n++
		h := maphash.String(seed, c.ID)
		hashes = append(hashes, h)
		err = s.CheckConversation(c)
		if _, rerr := s.Render(c); rerr != nil {
			err = rerr
		}
		if err != nil {
			msg := err.Error()
			var re *evals.RenderError
			if errors.As(err, &re) {
				msg = re.Explain()
			}
			file, line, col := locate(c)
			add(evals.Problem{File: file, Line: line, Col: col, Path: pathOf(c), Msg: fmt.Sprintf("case %q: %s", c.ID, msg)})
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
		dups, err := duplicates(ctx, s, seed, dupHashes)
		if err != nil {
			return n, err
		}
		for _, p := range dups {
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

// duplicates re-reads the dataset to name the ids whose hashes repeated.
func duplicates(ctx context.Context, s *evals.Suite, seed maphash.Seed, hashes map[uint64]bool) ([]evals.Problem, error) {
	r, err := Open(s)
	if err != nil {
		return nil, nil
	}
	defer r.Close()
	first := map[string]string{}
	var out []evals.Problem
	for i := 1; ; i++ {
		if i%ctxEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
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
	return out, nil
}

// ctxEvery is how many cases Check reads between two looks at its context:
// a few microseconds' work.
const ctxEvery = 256
