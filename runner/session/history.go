package session

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// record records the run whose report sum is, in the run folder dir, in
// opts.History: what ran and how it ended, and the index of its cases,
// read from its journal. s is the suite it ran (its folder says which
// commit; its slices, which slices the cases are in). A history that cannot
// be opened or written is a warning on stderr: the run itself is done.
func record(ctx context.Context, s *evals.Suite, sum *evals.Summary, dir string, opts Options) {
	if opts.History == nil {
		return
	}
	// An interrupted run is recorded too, however its context ended.
	ctx = context.WithoutCancel(ctx)
	if err := recordRun(ctx, s, sum, dir, opts); err != nil {
		fmt.Fprintf(opts.stderr(), "rubric: history: %v\n", err)
	}
}

func recordRun(ctx context.Context, s *evals.Suite, sum *evals.Summary, dir string, opts Options) error {
	h, err := opts.History()
	if err != nil {
		return err
	}
	suiteDir := s.Dir
	if suiteDir == "" {
		suiteDir = filepath.Dir(s.Path)
	}
	_, err = recordIn(ctx, h, sum, dir, filepath.Join(dir, rundir.ResultsFile), s.Slices, suiteDir, opts.getenv, false)
	return err
}

// recordIn records in h the run whose report is sum, in the run folder
// dir, with the index of its journal results; fields are the metadata
// fields the suite slices by, suiteDir the suite's folder (for its
// commit). withResults stores each result's line with its case, as rubric
// push does; a run recorded where it ran leaves them in its folder, to keep
// the local history small and the end of a run quick.
func recordIn(ctx context.Context, h history.Store, sum *evals.Summary, dir, results string, fields []string, suiteDir string, getenv func(string) string, withResults bool) (*history.Run, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r := runRecord(sum, dir)
	if m, err := rundir.ReadManifest(dir); err == nil {
		r.SuiteSHA256, r.DatasetSHA256 = m.SuiteSHA256, m.DatasetSHA256
		if m.Kind != "" {
			r.Kind = m.Kind
		}
	}
	r.GitCommit, r.GitBranch = history.Git(ctx, suiteDir, getenv)
	if r.Report, err = os.ReadFile(filepath.Join(dir, rundir.ReportFile)); err != nil {
		return nil, err
	}
	r.Host = history.Hostname()
	return r, h.Record(ctx, r, func(add func(history.Case) error) error {
		if !withResults {
			_, err := history.ScanJournal(results, fields, add)
			return err
		}
		f, err := os.Open(results)
		if err != nil {
			return err
		}
		defer f.Close()
		var line []byte
		_, err = history.ScanJournal(results, fields, func(c history.Case) error {
			line = slices.Grow(line[:0], c.Len)[:c.Len]
			if _, err := f.ReadAt(line, c.Off); err != nil {
				return fmt.Errorf("%s: the result at byte %d: %w", results, c.Off, err)
			}
			c.Result = line
			return add(c)
		})
		return err
	})
}

// runRecord is the history's record of the run whose report is sum, in
// the run folder dir, without what the report does not say: the hashes of
// the inputs (run.json), the commit, the report's bytes.
func runRecord(sum *evals.Summary, dir string) *history.Run {
	r := &history.Run{
		ID: sum.RunID, Kind: "run", Suite: sum.Suite, SuiteVersion: sum.SuiteVersion,
		Started: sum.Started, Finished: sum.Finished, Complete: sum.Complete, Dir: dir,
	}
	// A gate that held with no gate checked is no gate at all; one that
	// did not hold failed, whether on a threshold, an interrupt or the
	// error budget.
	if held := sum.Gate.Held; len(sum.Gate.Results) > 0 || !held {
		r.GateHeld = &held
	}
	for _, t := range sum.Targets {
		ht := history.Target{Name: t.Name, Provider: t.Provider, Model: t.Model, Cases: t.Cases, Passed: t.Passed,
			PassRate: t.PassRate, PassRateLo: t.PassRate, PassRateHi: t.PassRate, Mean: t.Mean}
		if ci := t.PassRateCI; ci != nil {
			ht.PassRateLo, ht.PassRateHi = ci.Lo, ci.Hi
		}
		r.Targets = append(r.Targets, ht)
	}
	return r
}
