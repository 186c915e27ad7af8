package session

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// Resume finishes the run ref names (its folder, its id under opts.Out, or
// latest) from its manifest and journal, exactly as it began: the suite,
// the options and the baseline come from run.json; opts.Build.Load.Overrides
// may give again only the secrets of --set that run.json does not keep.
// Nothing recorded is sent again.
func Resume(ctx context.Context, ref string, opts Options) *Outcome {
	out := &Outcome{}
	sum, err := resume(ctx, ref, opts)
	if sum != nil {
		out.Runs = append(out.Runs, sum)
	}
	out.Err = err
	return out
}

func resume(ctx context.Context, ref string, opts Options) (*evals.Summary, error) {
	dir, err := rundir.Locate(ref, opts.Out)
	if err != nil {
		return nil, WithCode(ExitBadInput, fmt.Errorf("resume: %w", err))
	}
	f := &folder{dir: dir, resumed: true}
	// The folder is locked before anything in it is read: a second process
	// resuming it would send the same cases and interleave the journal.
	if _, err := os.Stat(filepath.Join(dir, rundir.ManifestFile)); err == nil {
		if f.lock, err = rundir.LockDir(dir); err != nil {
			return nil, lockError("resume", err)
		}
	}
	defer f.close()
	m, err := rundir.ReadManifest(dir)
	if err != nil {
		return nil, WithCode(ExitBadInput, err)
	}
	if err := m.CheckInputs(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, &build.Interrupted{Path: m.Suite}
		}
		return nil, WithCode(ExitBadInput, err)
	}
	f.id, f.started, f.manifest = m.RunID, m.Started, m
	overrides, err := m.Overrides(opts.Build.Load.Overrides, resumeCommand(m.RunID, opts))
	if err != nil {
		return nil, WithCode(ExitBadInput, err)
	}
	bo := opts.Build
	bo.Load = m.Load
	bo.Load.Overrides = overrides
	bo.Load.RequireTargets, bo.Targets, bo.Dataset = true, true, true
	opts.Build = bo
	opts.Limit, opts.Repeat, opts.Shard = m.Limit, m.Repeat, m.Shard
	if opts.Queue, err = queueURL(m, opts.Queue); err != nil {
		return nil, WithCode(ExitBadInput, err)
	}
	if opts.ErrorBudget == nil {
		opts.ErrorBudget = m.ErrorBudget
	}
	if opts.MaxCost == nil && m.MaxCost > 0 {
		opts.MaxCost = &m.MaxCost
	}
	if m.Baseline != "" {
		base, err := rundir.ReadRun(m.Baseline, "")
		if err != nil {
			return nil, WithCode(ExitBadInput, fmt.Errorf("resume: the run compared with %s: %w", m.Baseline, err))
		}
		opts.Baseline = base
	}
	s, err := build.Load(ctx, m.Suite, bo)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := checkMaxCost([]*build.Suite{s}, opts); err != nil {
		return nil, err
	}
	// The cases are checked again, as the run began: a manifest written
	// since may list more of them.
	opts.Leaks = m.Leaks
	leaks, err := CheckLeaks(ctx, []*build.Suite{s}, opts)
	if err != nil {
		return nil, err
	}
	if opts.Outputs != nil {
		if err := opts.Outputs.Open([]*build.Suite{s}); err != nil {
			return nil, err
		}
	}
	if err := f.readJournal(ctx); err != nil {
		return nil, err
	}
	return runSuite(ctx, s, opts, f, leaks[s])
}

// readJournal reads the results the run recorded and opens its journal for
// more, cutting a torn last line.
func (f *folder) readJournal(ctx context.Context) error {
	size, err := rundir.ReadJournal(f.results(), func(r *evals.Result) error {
		f.done = append(f.done, resultHash(r.Target, r.CaseID, r.Repeat))
		if len(f.done)%1024 == 0 {
			return ctx.Err() // a journal of millions of results takes a while
		}
		return nil
	})
	slices.SortFunc(f.done, compareHash)
	f.done = slices.Compact(f.done)
	if ctx.Err() != nil {
		return &build.Interrupted{Path: f.results()}
	}
	if err != nil {
		return WithCode(ExitBadInput, fmt.Errorf("resume %s: %w", f.id, err))
	}
	if f.journal, err = rundir.AppendJournal(f.results(), size); err != nil {
		return WithCode(ExitIncomplete, err)
	}
	return nil
}

// doneSet is the results a resumed run has already recorded, as sorted
// 128-bit hashes of (target, case id, repeat): 16 bytes a result, where a
// map of the keys took about a hundred, so that resuming a run of millions
// of cases stays small. Two keys sharing a hash, which would leave a case
// unsent, has a chance of about n²/2¹²⁹.
type doneSet [][2]uint64

func resultHash(target, caseID string, repeat int) [2]uint64 {
	h := fnv.New128a()
	var buf [binary.MaxVarintLen64]byte
	for _, s := range []string{target, caseID} {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	h.Write(buf[:binary.PutVarint(buf[:], int64(repeat))])
	var sum [16]byte
	h.Sum(sum[:0])
	return [2]uint64{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

func compareHash(a, b [2]uint64) int {
	return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
}

// has reports whether the result was recorded; d must be sorted.
func (d doneSet) has(target, caseID string, repeat int) bool {
	_, ok := slices.BinarySearchFunc(d, resultHash(target, caseID, repeat), compareHash)
	return ok
}
