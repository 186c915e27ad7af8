package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// MergeOptions say what Merge joins besides the shards' own record.
type MergeOptions struct {
	// Suite is the suite file to read the criteria, gates and cases from,
	// when it is not where the shards ran it (another machine's checkout);
	// its hash, and its dataset's, must be the shards'. Empty takes the
	// path in the shards' run.json.
	Suite string
	// ConfigPath is the project config, likewise; empty takes the shards'.
	ConfigPath string
}

// Merge joins the runs of a suite's shards, given as run folders, into one
// run folder: their journals joined, the aggregates made again from every
// result (nothing is sent or scored), compared with the shards' baseline
// (or opts.Baseline), gated, reported and recorded like the run of all the
// cases in one process, whose report it equals but for the run's id and
// times. Every shard 1..N must be there once, complete, of the same suite
// and dataset (by hash), limit, repeat and targets, and together they must
// hold each (target, case, repeat) of the dataset exactly once; otherwise
// nothing is written and the error (exit 2) says what is wrong.
func Merge(ctx context.Context, dirs []string, mo MergeOptions, opts Options) *Outcome {
	out := &Outcome{}
	sum, err := merge(ctx, dirs, mo, opts)
	if sum != nil {
		out.Runs = append(out.Runs, sum)
	}
	out.Err = err
	return out
}

// shardRun is one shard's run folder, read.
type shardRun struct {
	dir string
	m   *rundir.Manifest
	sum *evals.Summary
}

func merge(ctx context.Context, dirs []string, mo MergeOptions, opts Options) (*evals.Summary, error) {
	shards, err := readShards(dirs)
	if err != nil {
		return nil, WithCode(ExitBadInput, fmt.Errorf("merge: %w", err))
	}
	first := shards[0].m
	load := first.Load
	load.Gates = append(slices.Clone(load.Gates), opts.Build.Load.Gates...)
	if mo.ConfigPath != "" {
		load.ConfigPath = mo.ConfigPath
	}
	load.RequireTargets = true
	bo := opts.Build
	// Neither targets (nothing is sent) nor the dataset check: the
	// dataset is the one the shards ran (its hash, below), and expected
	// reads it.
	bo.Load, bo.Targets, bo.Dataset = load, false, false
	path := suitePath(shards[0], mo)
	s, err := build.Load(ctx, path, bo)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if opts.Outputs != nil {
		if err := opts.Outputs.Open([]*build.Suite{s}); err != nil {
			return nil, err
		}
	}
	m := &rundir.Manifest{Load: load, Limit: first.Limit, Repeat: first.Repeat, ErrorBudget: first.ErrorBudget,
		MaxCost: first.MaxCost, Kind: rundir.KindMerge}
	for _, sh := range shards {
		m.Merged = append(m.Merged, sh.dir)
	}
	base, err := mergeBaseline(shards, opts)
	if err != nil {
		return nil, err
	}
	if base != nil {
		m.Baseline = base.Report
	}
	// create hashes the suite and the dataset into m, which must be the
	// files the shards ran; until the journal is whole, a failure leaves
	// no run folder: the shards keep every result.
	f, err := create(ctx, s, opts, "merge", m)
	if err != nil {
		return nil, err
	}
	defer f.close()
	fail := func(err error) (*evals.Summary, error) {
		_ = f.journal.Close()
		os.RemoveAll(f.dir)
		return nil, err
	}
	if err := sameInputs(m, s.Suite, first); err != nil {
		return fail(err)
	}
	want, err := expected(ctx, s, first)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(opts.stderr(), "rubric: run %s: suite %s, merging %d shards (%s)\n", f.id, s.Suite.Name, len(shards), plural(len(want.keys), "result"))
	// One pass: each result is checked, written to the merged journal and
	// counted in the aggregates.
	so := runner.SummarizeOptions{RunID: f.id, Suite: s.Suite, Criteria: s.Criteria, Targets: s.Suite.ResolvedTargets,
		Repeat: first.Repeat, Statistics: shards[0].sum.Statistics, Started: shards[0].sum.Started, Finished: shards[0].sum.Finished,
		Read: func(add func(*evals.Result)) error { return join(ctx, shards, f, want, add) }}
	for _, sh := range shards[1:] {
		so.Started, so.Finished = minTime(so.Started, sh.sum.Started), maxTime(so.Finished, sh.sum.Finished)
	}
	sum, err := runner.Summarize(so)
	if err != nil {
		return fail(err)
	}
	if err := f.journal.Close(); err != nil {
		os.RemoveAll(f.dir)
		return nil, WithCode(ExitIncomplete, fmt.Errorf("merge: writing results: %w", err))
	}
	budget := s.Suite.ErrorBudget
	if first.ErrorBudget != nil {
		budget = first.ErrorBudget
	}
	sum.LeakCheck = mergeLeakChecks(shards)
	judgeAgreements(ctx, s, sum, opts)
	if err := finish(sum, s.Suite.Gates, budget, f.results(), base, true, opts); err != nil {
		return sum, err
	}
	if err := writeRun(ctx, s.Suite, sum, f.dir, opts); err != nil {
		return sum, err
	}
	return sum, VerdictError(sum, f.results())
}

// readShards reads each run folder's run.json and report.json, and checks
// that they are the shards 1..N of one run, each complete, in shard order.
func readShards(dirs []string) ([]shardRun, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no runs given")
	}
	var shards []shardRun
	for _, dir := range dirs {
		dir, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		m, err := rundir.ReadManifest(dir)
		if err != nil {
			return nil, err
		}
		if m.Shard == nil {
			return nil, fmt.Errorf("run %s is not a shard's (run.json has no shard): merge joins the runs of rubric run --shard K/N", dir)
		}
		fin, err := rundir.ReadRun(dir, "")
		if err != nil {
			return nil, fmt.Errorf("shard %s (%s) has no report: it did not finish; resume it with: rubric run --resume %s", m.Shard, dir, rundir.ShellQuote(dir))
		}
		if !fin.Summary.Complete || fin.Summary.Interrupted {
			return nil, fmt.Errorf("shard %s (%s) did not complete; resume it with: rubric run --resume %s", m.Shard, dir, rundir.ShellQuote(dir))
		}
		shards = append(shards, shardRun{dir: dir, m: m, sum: fin.Summary})
	}
	slices.SortStableFunc(shards, func(a, b shardRun) int { return a.m.Shard.K - b.m.Shard.K })
	first := shards[0]
	n := first.m.Shard.N
	for i, sh := range shards {
		m := sh.m
		switch {
		case m.Shard.N != n:
			return nil, fmt.Errorf("run %s is shard %s and run %s shard %s: the shards of one run share N", first.dir, first.m.Shard, sh.dir, m.Shard)
		case i > 0 && m.Shard.K == shards[i-1].m.Shard.K:
			return nil, fmt.Errorf("runs %s and %s are both shard %s: give each shard once", shards[i-1].dir, sh.dir, m.Shard)
		case m.SuiteSHA256 != first.m.SuiteSHA256:
			return nil, fmt.Errorf("run %s (shard %s) ran another version of the suite than run %s (shard %s): suite_sha256 %s, not %s", sh.dir, m.Shard, first.dir, first.m.Shard, short(m.SuiteSHA256), short(first.m.SuiteSHA256))
		case m.DatasetSHA256 != first.m.DatasetSHA256:
			return nil, fmt.Errorf("run %s (shard %s) ran another version of the dataset than run %s (shard %s): dataset_sha256 %s, not %s", sh.dir, m.Shard, first.dir, first.m.Shard, short(m.DatasetSHA256), short(first.m.DatasetSHA256))
		case m.Limit != first.m.Limit || m.Repeat != first.m.Repeat:
			return nil, fmt.Errorf("run %s (shard %s) ran with limit %d and repeat %d, run %s (shard %s) with limit %d and repeat %d: the shards of one run share them", sh.dir, m.Shard, m.Limit, m.Repeat, first.dir, first.m.Shard, first.m.Limit, first.m.Repeat)
		case sh.sum.Statistics != first.sum.Statistics:
			return nil, fmt.Errorf("run %s (shard %s) reports with other statistics (seed, resamples, confidence) than run %s (shard %s): they were run by different versions of rubric", sh.dir, m.Shard, first.dir, first.m.Shard)
		case !sameLeakCheck(sh.sum.LeakCheck, first.sum.LeakCheck):
			return nil, fmt.Errorf("run %s (shard %s) checked its cases for leaks into training data otherwise than run %s (shard %s) (--training-manifest, --leak-ngrams): the shards of one run share the check", sh.dir, m.Shard, first.dir, first.m.Shard)
		case !slices.Equal(m.Load.Targets, first.m.Load.Targets) || !slices.Equal(m.Load.Overrides, first.m.Load.Overrides):
			return nil, fmt.Errorf("run %s (shard %s) ran other targets or --set than run %s (shard %s): the shards of one run share them", sh.dir, m.Shard, first.dir, first.m.Shard)
		}
	}
	var missing []string
	for k := 1; k <= n; k++ {
		if !slices.ContainsFunc(shards, func(sh shardRun) bool { return sh.m.Shard.K == k }) {
			missing = append(missing, fmt.Sprintf("%d/%d", k, n))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("shard %s missing: give the runs of all %d shards", strings.Join(missing, ", "), n)
	}
	return shards, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// sameInputs checks that the suite read, and its dataset, are the files the
// shards ran, by the hashes in here, the merged run's manifest, and ran, a
// shard's.
func sameInputs(here *rundir.Manifest, s *evals.Suite, ran *rundir.Manifest) error {
	switch {
	case here.SuiteSHA256 != ran.SuiteSHA256:
		return WithCode(ExitBadInput, fmt.Errorf("merge: suite %s is not the one the shards ran (suite_sha256 %s, not %s); give the suite they ran with --suite", s.Path, short(here.SuiteSHA256), short(ran.SuiteSHA256)))
	case here.DatasetSHA256 != ran.DatasetSHA256:
		return WithCode(ExitBadInput, fmt.Errorf("merge: dataset %s is not the one the shards ran (dataset_sha256 %s, not %s)", here.Dataset, short(here.DatasetSHA256), short(ran.DatasetSHA256)))
	}
	return nil
}

// mergeBaseline is the run the merged run is compared with: opts.Baseline,
// or else the one the shards were all compared with, if any.
func mergeBaseline(shards []shardRun, opts Options) (*rundir.Finished, error) {
	if opts.Baseline != nil {
		return opts.Baseline, nil
	}
	ref := shards[0].m.Baseline
	for _, sh := range shards[1:] {
		if sh.m.Baseline != ref {
			return nil, WithCode(ExitBadInput, fmt.Errorf("merge: shard %s was compared with %q and shard %s with %q: give the run to compare with as --baseline", shards[0].m.Shard, ref, sh.m.Shard, sh.m.Baseline))
		}
	}
	if ref == "" {
		return nil, nil
	}
	base, err := rundir.ReadRun(ref, "")
	if err != nil {
		return nil, WithCode(ExitBadInput, fmt.Errorf("merge: the shards were compared with %s, which cannot be read here (%v): give it as --baseline", ref, err))
	}
	return base, nil
}

// want is the results a merged run must hold, each once: sorted hashes of
// (target, case id, repeat), and whether each was seen.
type want struct {
	keys doneSet
	seen []bool
	// named tells a missing result's key by its hash, for the error.
	named func(key [2]uint64) string
}

// expected is every (target, case, repeat) of the run the shards split:
// the first limit cases of the dataset, each sent to each target repeat
// times.
func expected(ctx context.Context, s *build.Suite, ran *rundir.Manifest) (*want, error) {
	w := &want{}
	each := func(fn func(target, id string, repeat int) bool) error {
		r, err := openCases(s, Options{Limit: ran.Limit})
		if err != nil {
			return WithCode(ExitIncomplete, err)
		}
		defer r.Close()
		for n := 0; ; n++ {
			if n%1024 == 0 && ctx.Err() != nil {
				return &build.Interrupted{Path: s.Suite.Path}
			}
			c, err := r.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return WithCode(ExitIncomplete, err)
			}
			for _, t := range s.Suite.ResolvedTargets {
				for rep := range max(ran.Repeat, 1) {
					if !fn(t.Name, c.ID, rep) {
						return nil
					}
				}
			}
		}
	}
	err := each(func(target, id string, repeat int) bool {
		w.keys = append(w.keys, resultHash(target, id, repeat))
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(w.keys, compareHash)
	w.seen = make([]bool, len(w.keys))
	w.named = func(key [2]uint64) string {
		var name string
		_ = each(func(target, id string, repeat int) bool {
			if resultHash(target, id, repeat) == key {
				name = resultName(target, id, repeat)
			}
			return name == ""
		})
		return name
	}
	return w, nil
}

func resultName(target, id string, repeat int) string {
	return fmt.Sprintf("case %q of target %s, repeat %d", id, target, repeat)
}

// join copies the shards' journals, in shard order, into the merged run's,
// each result under the merged run's id and given to add, checking each
// against w: of the run, in its shard, and not seen before; then that none
// is missing.
func join(ctx context.Context, shards []shardRun, f *folder, w *want, add func(*evals.Result)) error {
	n := 0
	for _, sh := range shards {
		results := filepath.Join(sh.dir, rundir.ResultsFile)
		_, err := rundir.ReadJournal(results, func(r *evals.Result) error {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if k := evals.ShardOf(r.CaseID, sh.m.Shard.N); k != sh.m.Shard.K {
				return fmt.Errorf("%s: %s belongs to shard %d/%d, not to this run's shard %s", results, resultName(r.Target, r.CaseID, r.Repeat), k, sh.m.Shard.N, sh.m.Shard)
			}
			i, ok := slices.BinarySearchFunc(w.keys, resultHash(r.Target, r.CaseID, r.Repeat), compareHash)
			switch {
			case !ok:
				return fmt.Errorf("%s: %s is not one the suite's dataset and targets make; was it run with other options?", results, resultName(r.Target, r.CaseID, r.Repeat))
			case w.seen[i]:
				return fmt.Errorf("%s: %s is recorded twice", results, resultName(r.Target, r.CaseID, r.Repeat))
			}
			w.seen[i] = true
			r.RunID = f.id
			if err := f.journal.Write(r); err != nil {
				return &writeError{err}
			}
			add(r)
			return nil
		})
		if ctx.Err() != nil {
			return &build.Interrupted{Path: results}
		}
		var we *writeError
		switch {
		case errors.As(err, &we):
			return WithCode(ExitIncomplete, fmt.Errorf("merge: writing results: %w", we.err))
		case err != nil:
			return WithCode(ExitBadInput, fmt.Errorf("merge: %w", err))
		}
	}
	var missing []string
	count := 0
	for i, seen := range w.seen {
		if !seen {
			if count++; count <= 3 {
				missing = append(missing, w.named(w.keys[i]))
			}
		}
	}
	if count > 0 {
		more := ""
		if count > len(missing) {
			more = fmt.Sprintf(" and %d more", count-len(missing))
		}
		return WithCode(ExitBadInput, fmt.Errorf("merge: %d results missing from the shards: %s%s", count, strings.Join(missing, "; "), more))
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// suitePath is the suite file a merge reads: the one given, else the path
// the first shard's report names (relative to where it ran, as the user gave
// it, so the merged report names it alike) when it is there, else the
// absolute path in its run.json.
func suitePath(first shardRun, mo MergeOptions) string {
	if mo.Suite != "" {
		return mo.Suite
	}
	if p := first.sum.SuitePath; p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return first.m.Suite
}

// writeError is the merged journal failing, which is no fault of the shards.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// sameLeakCheck reports whether two shards checked their cases for leaks
// alike, whatever each found.
func sameLeakCheck(a, b *evals.LeakCheck) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	x.Leaked, y.Leaked = 0, 0
	return reflect.DeepEqual(x, y)
}

// mergeLeakChecks is the leak check of the merged run: the shards', each of
// which checked its own cases, with the cases found added up.
func mergeLeakChecks(shards []shardRun) *evals.LeakCheck {
	if shards[0].sum.LeakCheck == nil {
		return nil
	}
	lc := *shards[0].sum.LeakCheck
	lc.Leaked = 0
	for _, sh := range shards {
		lc.Leaked += sh.sum.LeakCheck.Leaked
	}
	return &lc
}
