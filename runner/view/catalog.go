package view

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// catalog is what the viewer shows: the runs of the history, if there is
// one, and the run folders given on the command line that it lacks, with
// the case index of each run built on first use and kept while memory
// allows. It is a history.Store (read-only), so that history.Trends reads
// both alike.
type catalog struct {
	hist    history.Store // nil without a history
	folders []*folderRun  // newest first
	byID    map[string]*folderRun

	mu      sync.Mutex
	indexes map[string]*indexSlot
	budget  int64 // bytes of indexes kept
	clock   int64 // for least-recently-used
}

// folderRun is a run known from its folder alone.
type folderRun struct {
	run     history.Run
	sliceBy []string
}

// indexSlot is one run's index, built once by the first request that wants
// it while the others wait.
type indexSlot struct {
	ready chan struct{}
	x     *caseIndex
	err   error
	used  int64
	// stamp is what the index was built from: a folder's journal size, a
	// history record's finish time; a different stamp builds it again.
	stamp string
}

// openCatalog reads the run folders dirs (their report.json, or their
// run.json for a run still going), leaving out those the history holds.
func openCatalog(ctx context.Context, hist history.Store, dirs []string, budget int64) (*catalog, error) {
	c := &catalog{hist: hist, byID: map[string]*folderRun{}, indexes: map[string]*indexSlot{}, budget: budget}
	for _, dir := range dirs {
		fr, err := readFolder(dir)
		if err != nil {
			return nil, err
		}
		if hist != nil {
			if _, err := hist.Get(ctx, fr.run.ID); err == nil {
				continue
			} else if !errors.Is(err, history.ErrNotFound) {
				return nil, err
			}
		}
		if prev, dup := c.byID[fr.run.ID]; dup {
			return nil, fmt.Errorf("%s and %s are the same run, %s", prev.run.Dir, fr.run.Dir, fr.run.ID)
		}
		c.byID[fr.run.ID] = fr
		c.folders = append(c.folders, fr)
	}
	slices.SortStableFunc(c.folders, func(a, b *folderRun) int { return b.run.Started.Compare(a.run.Started) })
	return c, nil
}

// readFolder reads what a run folder says of its run.
func readFolder(dir string) (*folderRun, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(abs, rundir.ResultsFile)); err != nil {
		return nil, fmt.Errorf("%s is not a run folder: it has no %s", dir, rundir.ResultsFile)
	}
	fr := &folderRun{run: history.Run{Kind: "run", Dir: abs}}
	m, merr := rundir.ReadManifest(abs)
	if merr == nil {
		fr.run.ID, fr.run.Started, fr.run.SuiteSHA256, fr.run.DatasetSHA256 = m.RunID, m.Started, m.SuiteSHA256, m.DatasetSHA256
		if m.Kind != "" {
			fr.run.Kind = m.Kind
		}
		fr.run.Suite = strings.TrimSuffix(filepath.Base(m.Suite), filepath.Ext(m.Suite))
	}
	if _, err := os.Stat(filepath.Join(abs, rundir.ReportFile)); errors.Is(err, os.ErrNotExist) && merr == nil {
		// A run still going: its suite says what it slices by.
		fr.sliceBy = suiteSlices(m.Suite)
	} else if err := fr.readReport(abs); err != nil {
		return nil, err
	}
	if fr.run.ID == "" {
		fr.run.ID = filepath.Base(abs)
	}
	return fr, nil
}

// readReport fills in the run from the report.json of the folder dir.
func (fr *folderRun) readReport(dir string) error {
	f, err := rundir.ReadRun(dir, "")
	if err != nil {
		return err
	}
	sum := f.Summary
	b, err := os.ReadFile(f.Report)
	if err != nil {
		return err
	}
	fr.run.Report = b
	fr.run.ID, fr.run.Suite, fr.run.SuiteVersion = sum.RunID, sum.Suite, sum.SuiteVersion
	fr.run.Started, fr.run.Finished, fr.run.Complete = sum.Started, sum.Finished, sum.Complete
	if len(sum.Gate.Results) > 0 || sum.Gate.Note != "" {
		held := sum.Gate.Held
		fr.run.GateHeld = &held
	}
	for _, t := range sum.Targets {
		ht := history.Target{Name: t.Name, Provider: t.Provider, Model: t.Model, Cases: t.Cases, Passed: t.Passed, PassRate: t.PassRate, Mean: t.Mean}
		if t.PassRateCI != nil {
			ht.PassRateLo, ht.PassRateHi = t.PassRateCI.Lo, t.PassRateCI.Hi
		}
		fr.run.Targets = append(fr.run.Targets, ht)
		for _, s := range t.Slices {
			if s.Key != "tag" && !slices.Contains(fr.sliceBy, s.Key) {
				fr.sliceBy = append(fr.sliceBy, s.Key)
			}
		}
	}
	return nil
}

// suiteSlices reads the metadata fields a suite file slices by; none when
// it cannot be read.
func suiteSlices(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var s struct {
		Slices []string `json:"slices"`
	}
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	return s.Slices
}

var errReadOnly = errors.New("the viewer reads the history; it does not change it")

// Record is refused: the viewer does not change the history.
func (c *catalog) Record(context.Context, *history.Run, func(func(history.Case) error) error) error {
	return errReadOnly
}

// Forget is refused: the viewer does not change the history.
func (c *catalog) Forget(context.Context, ...string) error { return errReadOnly }

// RecordAgreement is refused: the viewer does not change the history.
func (c *catalog) RecordAgreement(context.Context, *evals.Agreement) error { return errReadOnly }

// Agreements lists the history's agreements; none without a history.
func (c *catalog) Agreements(ctx context.Context, f history.AgreementFilter) ([]evals.Agreement, error) {
	if c.hist == nil {
		return nil, nil
	}
	return c.hist.Agreements(ctx, f)
}

// Close closes nothing: the history is its opener's to close.
func (c *catalog) Close() error { return nil }

// Runs lists the runs of the history and the folders that f selects,
// newest first.
func (c *catalog) Runs(ctx context.Context, f history.Filter) ([]history.Run, error) {
	var out []history.Run
	if c.hist != nil {
		hf := f
		hf.Limit = 0
		runs, err := c.hist.Runs(ctx, hf)
		if err != nil {
			return nil, err
		}
		out = runs
	}
	for _, fr := range c.folders {
		r := fr.run
		if f.Suite != "" && r.Suite != f.Suite {
			continue
		}
		if f.Target != "" && !slices.ContainsFunc(r.Targets, func(t history.Target) bool { return t.Name == f.Target }) {
			continue
		}
		r.Report = nil
		if _, err := os.Stat(r.Dir); err != nil {
			r.Missing = true
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b history.Run) int { return b.Started.Compare(a.Started) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// Get returns one run with its report.
func (c *catalog) Get(ctx context.Context, id string) (*history.Run, error) {
	if fr, ok := c.byID[id]; ok {
		r := fr.run
		if _, err := os.Stat(r.Dir); err != nil {
			r.Missing = true
		}
		return &r, nil
	}
	if c.hist == nil {
		return nil, history.ErrNotFound
	}
	return c.hist.Get(ctx, id)
}

// Cases walks a run's case index.
func (c *catalog) Cases(ctx context.Context, id string, fn func(history.Case) error) error {
	x, err := c.index(ctx, id)
	if err != nil {
		return err
	}
	return x.walk(id, fn)
}

// Result returns a case's result as the history stores it; nil for a run
// known from its folder alone, whose results are in its journal.
func (c *catalog) Result(ctx context.Context, id, target, caseID string, repeat int) ([]byte, error) {
	if _, ok := c.byID[id]; ok || c.hist == nil {
		return nil, nil
	}
	return c.hist.Result(ctx, id, target, caseID, repeat)
}

// index returns the case index of run id, building it when it is not held
// or is stale.
func (c *catalog) index(ctx context.Context, id string) (*caseIndex, error) {
	run, err := c.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	fr := c.byID[id]
	stamp := run.Finished.String()
	if fr != nil {
		st, err := os.Stat(filepath.Join(run.Dir, rundir.ResultsFile))
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", id, err)
		}
		stamp = fmt.Sprint(st.Size(), st.ModTime().UnixNano())
	}
	c.mu.Lock()
	slot, ok := c.indexes[id]
	if ok && slot.stamp != stamp {
		select {
		case <-slot.ready:
			ok = false // stale: build it again
		default: // being built: take it
		}
	}
	if !ok {
		slot = &indexSlot{ready: make(chan struct{}), stamp: stamp}
		c.indexes[id] = slot
		c.mu.Unlock()
		if fr != nil {
			slot.x, slot.err = indexFolder(ctx, fr)
		} else {
			slot.x, slot.err = indexHistory(ctx, c.hist, id)
		}
		close(slot.ready)
		c.mu.Lock()
		if slot.err != nil {
			delete(c.indexes, id) // tried again on the next request
		}
		c.evict(id)
	}
	c.clock++
	slot.used = c.clock
	c.mu.Unlock()
	select {
	case <-slot.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return slot.x, slot.err
}

// evict forgets the least recently used indexes while those held take
// more than the budget, keeping the one just built and the one used
// before it (a comparison wants two).
func (c *catalog) evict(keep string) {
	for {
		var total int64
		var oldest string
		var oldestUsed, newest int64
		held := 0
		for id, s := range c.indexes {
			select {
			case <-s.ready:
			default:
				continue
			}
			if s.x == nil {
				continue
			}
			held++
			total += s.x.bytes
			if id != keep && (oldest == "" || s.used < oldestUsed) {
				oldest, oldestUsed = id, s.used
			}
			newest = max(newest, s.used)
		}
		if total <= c.budget || held <= 2 || oldest == "" || oldestUsed == newest {
			return
		}
		delete(c.indexes, oldest)
	}
}

// indexFolder builds the case index of a run folder from its journal,
// streaming.
func indexFolder(ctx context.Context, fr *folderRun) (*caseIndex, error) {
	b := newIndexer()
	path := filepath.Join(fr.run.Dir, rundir.ResultsFile)
	n := 0
	_, err := history.ScanJournal(path, fr.sliceBy, func(c history.Case) error {
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		return b.add(&c)
	})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", fr.run.ID, err)
	}
	return b.done(), nil
}

// indexHistory builds the case index of a run of the history from its
// record, streaming.
func indexHistory(ctx context.Context, h history.Store, id string) (*caseIndex, error) {
	b := newIndexer()
	err := h.Cases(ctx, id, func(c history.Case) error { return b.add(&c) })
	if err != nil {
		return nil, fmt.Errorf("run %s: its case index: %w", id, err)
	}
	return b.done(), nil
}

// summary decodes a run's report; nil for a run still going.
func summaryOf(r *history.Run) (*evals.Summary, error) {
	if len(r.Report) == 0 {
		return nil, nil
	}
	var s evals.Summary
	if err := json.Unmarshal(r.Report, &s); err != nil {
		return nil, fmt.Errorf("run %s: its report: %w", r.ID, err)
	}
	return &s, nil
}

// resultsPath is a run's results.jsonl.
func resultsPath(r *history.Run) string { return filepath.Join(r.Dir, rundir.ResultsFile) }

// since formats how long ago t was, for lists.
func since(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return ""
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

var _ history.Store = (*catalog)(nil)
