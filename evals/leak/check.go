package leak

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// DefaultThreshold is the share of a case's n-grams that, found in the
// exported prompts, flags it.
const DefaultThreshold = 0.5

// Options say what Check looks for beyond exact prompts.
type Options struct {
	// NGrams compares the cases' n-grams with the index's.
	NGrams bool
	// Threshold flags a case when at least this share of its n-grams is
	// found; DefaultThreshold when 0.
	Threshold float64
}

// Share is the share of its n-grams from which a case is flagged:
// Threshold, or DefaultThreshold when it is 0.
func (o Options) Share() float64 {
	if o.Threshold == 0 {
		return DefaultThreshold
	}
	return o.Threshold
}

// Cases yields cases one at a time and io.EOF after the last;
// datasets.Reader is one.
type Cases interface {
	Next() (*evals.Case, error)
}

// Finding is a case whose prompt is in the training data: the same prompt
// (Exact), or, with n-grams, enough of its words.
type Finding struct {
	CaseID string
	// Source is where the case is: "tickets.jsonl:12".
	Source string
	Exact  bool
	// Sum is the case's prompt's.
	Sum Sum
	// NGrams counts the n-grams of the case's own messages, and Found
	// those found; Overlap is Found / NGrams. Zero without the n-gram
	// check, or when the case has fewer than N words.
	NGrams, Found int
	Overlap       float64
	// Refs are the first manifest lines that list the prompt (an exact
	// finding's); Lines counts them all.
	Refs  []Ref
	Lines int
}

// Flagged says why a finding is one, in a few words.
func (f *Finding) Flagged() string {
	var parts []string
	if f.Exact {
		parts = append(parts, "its prompt is exported")
	}
	if f.NGrams > 0 && f.Found > 0 {
		parts = append(parts, fmt.Sprintf("%d of its %d %d-grams (%.0f%%) are in exported prompts", f.Found, f.NGrams, N, 100*f.Overlap))
	}
	return strings.Join(parts, "; ")
}

// Report is what Check found in a suite's cases.
type Report struct {
	// Cases counts the cases checked.
	Cases    int
	Findings []Finding
	// Short counts the cases, with n-grams, whose own messages have fewer
	// than N words: only their exact prompt is checked.
	Short int
	// NoText counts, with n-grams, the cases checked on no message: the
	// suite's every message template is the same for every case.
	NoText int
}

// Leaked returns the ids of the cases found.
func (r *Report) Leaked() map[string]bool {
	ids := make(map[string]bool, len(r.Findings))
	for _, f := range r.Findings {
		ids[f.CaseID] = true
	}
	return ids
}

// Check renders every case of s as a run sends it (Suite.Render: for a
// conversation, the suite's messages, the prompt before its first answer)
// and looks its Hash up in x. With n-grams it also counts the share of the
// case's n-grams found in x, over the messages whose template has a
// placeholder (a message the same for every case, such as a shared system
// prompt, says nothing about one case), and flags the case when that share
// reaches the threshold. A case that cannot be rendered is left to the
// dataset check. Memory grows with the findings only.
func Check(ctx context.Context, s *evals.Suite, cases Cases, x *Index, opts Options) (*Report, error) {
	threshold := opts.Share()
	rep := &Report{}
	var own []int // the messages of the suite filled from the case
	for i, t := range s.Templates {
		if t != nil && !t.Static() {
			own = append(own, i)
		}
	}
	found := map[Sum][]*Finding{}
	for {
		if rep.Cases%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c, err := cases.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		msgs, err := s.Render(c)
		if err != nil {
			continue
		}
		rep.Cases++
		f := Finding{CaseID: c.ID, Source: c.Source, Sum: Hash(msgs)}
		f.Exact = x.Has(f.Sum)
		if opts.NGrams && x.NGrams {
			for _, i := range own {
				f.NGrams += NGrams(msgs[i].Content, func(h uint64) {
					if x.hasNGram(h) {
						f.Found++
					}
				})
			}
			switch {
			case len(own) == 0:
				rep.NoText++
			case f.NGrams == 0:
				rep.Short++
			default:
				f.Overlap = float64(f.Found) / float64(f.NGrams)
			}
		}
		if f.Exact || (f.NGrams > 0 && f.Overlap >= threshold) {
			rep.Findings = append(rep.Findings, f)
		}
	}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		if f.Exact {
			found[f.Sum] = append(found[f.Sum], f)
		}
	}
	if len(found) > 0 {
		if err := x.locate(ctx, found); err != nil {
			return nil, err
		}
	}
	return rep, nil
}
