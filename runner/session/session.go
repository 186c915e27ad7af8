package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/leak"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/batch"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// Options are what a run is started with, besides its suites.
type Options struct {
	// Out is the runs folder; each run writes Out/RUN_ID.
	Out string
	// Limit runs only the first Limit cases of each dataset; 0 runs all.
	Limit int
	// Repeat sends each case this many times; 0 takes the suite's repeat.
	Repeat int
	// Shard, when set, runs only the cases of that shard (of the first
	// Limit, with a limit); the report and run.json record it.
	Shard *evals.Shard
	// ErrorBudget replaces the suite's error budget when set.
	ErrorBudget *float64
	// MaxDuration stops dispatch after this long; 0 for no limit.
	MaxDuration time.Duration
	// MaxCost, when set and above 0, stops dispatch once the calls made
	// have cost that much at the price tables (runner.Options.MaxCost); a
	// resumed run keeps its own unless this is set.
	MaxCost *float64
	// Grace is how long requests in flight may finish after an interrupt.
	Grace time.Duration
	// Baseline is the earlier run the run is compared with, case by case.
	Baseline *rundir.Finished
	// Build says how a resumed run builds its suite: the cache, the given
	// --set (which may only give again the secrets run.json does not keep).
	Build build.Options
	// Progress, when set, returns a display of one run's progress.
	Progress func() Progress
	// Summary, when set, shows a suite's report once report.json is
	// written (the terminal summary).
	Summary func(sum *evals.Summary) error
	// Outputs, when set, receives each suite's report and journal as well
	// (the CI outputs).
	Outputs Outputs
	// Stderr takes what the run says as it goes: the run's id, where its
	// files are, warnings.
	Stderr io.Writer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// History, when set, returns the run history (opening it on first
	// use), in which each run is recorded once its report is written,
	// an interrupted run too; a resumed run replaces its record. A
	// history that cannot be opened or written is a warning, never a
	// failed run.
	History func() (history.Store, error)
	// Getenv reads the environment (GITHUB_SHA and GITHUB_REF_NAME for
	// the history, outside a repository); os.Getenv when nil.
	Getenv func(string) string
	// Detach submits the batches of targets with batch: true and ends the
	// run with ExitSubmitted, without waiting for them (--detach).
	Detach bool
	// NoBatch submits no new batch: what the batches submitted before did
	// not answer is sent live (--no-batch).
	NoBatch bool
	// BatchPoll is the first wait between checks of a batch; 10s when 0.
	BatchPoll time.Duration
	// BatchProgress, when set, shows a line while batches are waited for.
	BatchProgress func(line string)
	// Leaks, when set, checks every suite's cases against manifests of
	// training data before anything runs (CheckLeaks).
	Leaks *LeakOptions
	// Queue, when set, is the URL of a job queue in PostgreSQL (rubric run
	// --queue): each suite's cases are enqueued for rubric worker
	// processes, and the run waits for their results (see queued.go).
	Queue string
	// QueuePoll is how often a queued run reads the results that came;
	// 0 for a quarter of a second.
	QueuePoll time.Duration
}

// Progress shows one run's progress.
type Progress interface {
	Update(runner.Progress)
	// Done clears the display when the run ends.
	Done()
}

// Outputs are the outputs written beside the run folders, a part per suite.
type Outputs interface {
	// Open is called once the suites are built, before anything runs.
	Open(suites []*build.Suite) error
	// Suite writes one suite's part from its report and its journal.
	Suite(sum *evals.Summary, results string) error
}

// Outcome is how a session ended: the runs it wrote and the error that
// says why it did not end with every gate held. Code is its exit code.
type Outcome struct {
	// Runs are the summaries of the runs written, in order.
	Runs []*evals.Summary
	Err  error
}

// Code is the exit code of the outcome.
func (o *Outcome) Code() int { return Code(o.Err, ExitIncomplete) }

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) getenv(key string) string {
	if o.Getenv != nil {
		return o.Getenv(key)
	}
	return os.Getenv(key)
}

func (o Options) stderr() io.Writer {
	if o.Stderr == nil {
		return io.Discard
	}
	return o.Stderr
}

// Run runs each suite in turn, each in a run folder of its own, and closes
// them all. A suite whose gate fails does not stop the next; any other
// failure does.
func Run(ctx context.Context, suites []*build.Suite, opts Options) *Outcome {
	out := &Outcome{}
	defer func() {
		for _, s := range suites {
			_ = s.Close() // a close that fails loses nothing recorded
		}
	}()
	if opts.Outputs != nil {
		if out.Err = opts.Outputs.Open(suites); out.Err != nil {
			return out
		}
	}
	if out.Err = checkMaxCost(suites, opts); out.Err != nil {
		return out
	}
	leaks, err := CheckLeaks(ctx, suites, opts)
	if err != nil {
		out.Err = err
		return out
	}
	var failed, submitted []error
	for _, s := range suites {
		sum, err := runSuite(ctx, s, opts, nil, leaks[s])
		_ = s.Close() // its scorer processes end with it, before the next suite
		if sum != nil {
			out.Runs = append(out.Runs, sum)
		}
		var ee *ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee) && ee.Code == ExitGateFailed:
			failed = append(failed, err)
		case errors.As(err, &ee) && ee.Code == ExitSubmitted:
			submitted = append(submitted, err) // the next suite submits too
		default:
			out.Err = err
			return out
		}
	}
	switch {
	case len(submitted) > 0:
		out.Err = WithCode(ExitSubmitted, errors.Join(append(submitted, failed...)...))
	case len(failed) > 0:
		out.Err = WithCode(ExitGateFailed, errors.Join(failed...))
	}
	return out
}

// NewRunID returns a run id: the start time to the second and 24 random bits.
func NewRunID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// resumeCommand is the command that resumes run id in opts.Out.
func resumeCommand(id string, opts Options) string {
	cmd := "rubric run --resume " + id
	if opts.Out != rundir.DefaultOut {
		cmd += " --out " + rundir.ShellQuote(opts.Out)
	}
	return cmd
}

// folder is the run folder a run writes in, locked, with its journal open.
type folder struct {
	id, dir string
	started time.Time
	lock    *rundir.Lock
	journal *rundir.Journal
	done    doneSet // the results recorded before, for a resumed run
	resumed bool
	// manifest is run.json as read or written, which records the batches.
	manifest *rundir.Manifest
	// collected is set once a queued run has every result in its journal:
	// it then finishes as a resumed run that has nothing left to send.
	collected bool
}

func (f *folder) results() string { return filepath.Join(f.dir, rundir.ResultsFile) }

// create makes and locks the folder of a new run of s, described by m
// (whose RunID and Started it sets), and writes its manifest and opens its
// journal. verb names the command in a refusal.
func create(ctx context.Context, s *build.Suite, opts Options, verb string, m *rundir.Manifest) (*folder, error) {
	now := opts.now()
	f := &folder{id: NewRunID(now), started: now.UTC(), manifest: m}
	m.RunID, m.Started = f.id, f.started
	if err := m.Prepare(ctx, s.Suite); err != nil {
		return nil, &build.Interrupted{Path: s.Suite.Path}
	}
	f.dir = filepath.Join(opts.Out, f.id)
	if err := mkdirAll(f.dir); err != nil {
		return nil, WithCode(ExitIncomplete, fmt.Errorf("creating the run folder: %w", err))
	}
	lock, err := rundir.LockDir(f.dir)
	if err != nil {
		return nil, lockError(verb, err)
	}
	f.lock = lock
	if err := rundir.WriteManifest(f.dir, m); err != nil {
		f.close()
		return nil, WithCode(ExitIncomplete, err)
	}
	if f.journal, err = rundir.CreateJournal(f.results()); err != nil {
		f.close()
		return nil, WithCode(ExitIncomplete, err)
	}
	return f, nil
}

// close releases the folder's lock; the journal is closed by the run.
func (f *folder) close() { f.lock.Release() }

// lockError is err from rundir.LockDir with its exit code: 2 for a folder
// another process holds, 3 when the lock could not be taken at all.
func lockError(verb string, err error) error {
	var le *rundir.LockedError
	if errors.As(err, &le) {
		return WithCode(ExitBadInput, fmt.Errorf("%s: %w", verb, err))
	}
	return WithCode(ExitIncomplete, fmt.Errorf("%s: %w", verb, err))
}

// runSuite runs one built suite in a new run folder, or in the folder of the
// run it resumes.
func runSuite(ctx context.Context, s *build.Suite, opts Options, f *folder, leaks *leak.Report) (*evals.Summary, error) {
	repeat := repeatOf(s, opts)
	budget := s.Suite.ErrorBudget
	if opts.ErrorBudget != nil {
		budget = opts.ErrorBudget
	}
	if opts.Queue != "" && (f == nil || !f.collected) {
		return runQueued(ctx, s, opts, f, leaks)
	}
	if f == nil {
		var err error
		if f, err = create(ctx, s, opts, "run", newManifest(opts, repeat, leaks)); err != nil {
			return nil, err
		}
	}
	defer f.close()
	n, err := cases(ctx, s, opts)
	if err != nil {
		return nil, err
	}
	announce(s, opts, f, n, repeat)

	done := func(target, caseID string, repeat int) bool {
		return f.resumed && f.done.has(target, caseID, repeat)
	}
	batches, err := batch.Answers(ctx, batch.Options{
		RunID: f.id, Dir: f.dir, Manifest: f.manifest, Suite: s.Suite, Targets: s.Targets,
		Open:   func() (datasets.Reader, error) { return openCases(s, opts) },
		Repeat: repeat, Done: done, Cache: opts.Build.Cache,
		NoSubmit: opts.NoBatch, Detach: opts.Detach, Poll: opts.BatchPoll,
		Progress: opts.BatchProgress, Stderr: opts.stderr(), Now: opts.Now,
	})
	// A result comes with an error too, its batch.db open: close it
	// either way (Close takes a nil Result).
	defer func() { _ = batches.Close() }()
	hint := resumeCommand(f.id, opts)
	if err := batchError(ctx, err, batches, f.id, hint); err != nil {
		return nil, err
	}

	runCtx := ctx
	if opts.MaxDuration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.MaxDuration)
		defer cancel()
	}
	ro := runner.Options{
		RunID:    f.id,
		Suite:    s.Suite,
		Criteria: s.Criteria,
		Open: func() (runner.CaseSource, error) {
			r, err := openCases(s, opts)
			return r, err
		},
		Total:   n * len(s.Targets) * repeat,
		Grace:   opts.Grace,
		Repeat:  repeat,
		MaxCost: opts.maxCost(),
		Tools:   s.Tools,
	}
	if leaks != nil && len(leaks.Findings) > 0 {
		ro.Leaked = leaks.Leaked()
	}
	// The pipeline's endpoints, answered from the run's batches where they
	// batch; wired again once the judges' phase has said how.
	wire := func(o *runner.Options) {
		o.Targets = targets(s)
		for i, ep := range s.Targets {
			o.Targets[i].Provider = batches.Wrap(ep)
		}
		if s.Simulator != nil {
			sim := *s.Simulator
			sim.Provider = batches.Wrap(s.Simulator)
			o.Simulator = &sim
		}
	}
	ro.Done = func(target, caseID string, repeat int) bool {
		return done(target, caseID, repeat) || batches.Pending(target, caseID, repeat)
	}
	// Judges whose targets batch: a pass finds their requests, which go in
	// batches before the pipeline runs for real.
	err = batches.Judges(runCtx, s.Judges, func(ctx context.Context) error {
		find := ro
		wire(&find)
		find.Sink = discard{}
		var prog Progress
		if opts.Progress != nil {
			prog = opts.Progress()
			find.Progress = prog.Update
		}
		_, err := runner.Run(ctx, find)
		if prog != nil {
			prog.Done()
		}
		return err
	})
	if err := batchError(ctx, err, batches, f.id, hint); err != nil {
		return nil, err
	}

	var prog Progress
	if opts.Progress != nil {
		prog = opts.Progress()
	}
	ro.Sink = f.journal
	if prog != nil {
		ro.Progress = prog.Update
	}
	wire(&ro)
	if f.resumed {
		ro.Prior = func(add func(*evals.Result)) error {
			_, err := rundir.ReadJournal(f.results(), func(r *evals.Result) error { add(r); return nil })
			return err
		}
	}
	sum, runErr := runner.Run(runCtx, ro)
	if prog != nil {
		prog.Done()
	}
	closeErr := f.journal.Close()
	if sum == nil {
		return nil, WithCode(ExitIncomplete, runErr)
	}
	if f.resumed {
		sum.Started = f.started
	}
	if batches.Unanswered > 0 {
		// What the batches did not answer is for --resume to send.
		sum.Complete, sum.Interrupted = false, true
	}
	sum.Shard = opts.Shard
	sum.LeakCheck = leakCheck(s, opts.Leaks, leaks)
	var base *rundir.Finished
	if closeErr == nil {
		base = opts.Baseline
	}
	judgeAgreements(ctx, s, sum, opts)
	if err := finish(sum, s.Suite.Gates, budget, f.results(), base, closeErr == nil, opts); err != nil {
		return sum, err
	}
	if err := writeRun(ctx, s.Suite, sum, f.dir, opts); err != nil {
		return sum, err
	}
	if batches.Unanswered > 0 && runErr == nil && closeErr == nil {
		return sum, WithCode(ExitIncomplete, fmt.Errorf("run %s: %w", f.id, batches.Problem(hint)))
	}
	return sum, runError(ctx, s, sum, runErr, closeErr, f, opts)
}

// batchError is the error a run ends with after a phase of its batches:
// err, the phase's own, with its exit code, or that it left batches
// running (--detach); nil to go on.
func batchError(ctx context.Context, err error, batches *batch.Result, id, hint string) error {
	switch {
	case err != nil && ctx.Err() != nil:
		return WithCode(ExitInterrupted, fmt.Errorf("interrupted while the run's batches were under way (they are recorded in %s); collect them with: %s", rundir.ManifestFile, hint))
	case err != nil:
		return WithCode(ExitIncomplete, fmt.Errorf("run %s: batches: %w; once the API answers, %s", id, err, hint))
	case batches.Detached:
		return WithCode(ExitSubmitted, fmt.Errorf("run %s: %d requests in batches, results pending; collect them with: %s", id, batches.InFlight, hint))
	}
	return nil
}

// discard is the sink of the pass that finds the judges' requests: its
// results are not recorded.
type discard struct{}

func (discard) Write(*evals.Result) error { return nil }

// newManifest is the manifest of a new run with opts, before Prepare;
// leaks is the leak check its cases went through, if any, which a resumed
// run does again.
func newManifest(opts Options, repeat int, leaks *leak.Report) *rundir.Manifest {
	m := &rundir.Manifest{Load: opts.Build.Load, Limit: opts.Limit, Repeat: repeat, Shard: opts.Shard, ErrorBudget: opts.ErrorBudget, MaxCost: opts.maxCost()}
	if leaks != nil {
		m.Leaks = opts.Leaks
	}
	if opts.Baseline != nil {
		m.Baseline = opts.Baseline.Report
	}
	if opts.Queue != "" {
		m.Queue = history.RedactURL(opts.Queue)
	}
	return m
}

// announce says on stderr what runs: n cases of suite s.
func announce(s *build.Suite, opts Options, f *folder, n, repeat int) {
	names := make([]string, len(s.Targets))
	for i, t := range s.Targets {
		names[i] = t.Spec.Name
	}
	verb := "run " + f.id + ":"
	switch {
	case f.collected:
		verb = fmt.Sprintf("run %s: every result in from the workers (%d):", f.id, len(f.done))
	case f.resumed:
		verb = fmt.Sprintf("resuming run %s (%d results recorded):", f.id, len(f.done))
	}
	reps := ""
	if repeat > 1 {
		reps = fmt.Sprintf(" x %d repeats", repeat)
	}
	shard := ""
	if opts.Shard != nil {
		shard = fmt.Sprintf(" of shard %s", opts.Shard)
	}
	fmt.Fprintf(opts.stderr(), "rubric: %s suite %s, %s%s x %s%s (%s)\n", verb, s.Suite.Name,
		plural(n, "case"), shard, plural(len(s.Targets), "target"), reps, strings.Join(names, ", "))
}

// repeatOf is the times a run of s sends each case to each target.
func repeatOf(s *build.Suite, opts Options) int {
	if opts.Repeat > 0 {
		return opts.Repeat
	}
	return max(s.Suite.Repeat, 1)
}

// cases is the number of cases a run of s sends: those of its shard, which
// takes another pass over the dataset, or else those the check counted.
func cases(ctx context.Context, s *build.Suite, opts Options) (int, error) {
	if opts.Shard == nil {
		if opts.Limit > 0 && opts.Limit < s.Cases {
			return opts.Limit, nil
		}
		return s.Cases, nil
	}
	r, err := openCases(s, opts)
	if err != nil {
		return 0, WithCode(ExitIncomplete, err)
	}
	defer r.Close()
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return 0, &build.Interrupted{Path: s.Suite.Path}
		}
		switch _, err := r.Next(); {
		case err == io.EOF:
			return n, nil
		case err != nil:
			return 0, WithCode(ExitIncomplete, err)
		}
	}
}

// openCases opens the cases a run of s sends: the first Limit of the
// dataset, with a limit, and of those the shard's.
func openCases(s *build.Suite, opts Options) (datasets.Reader, error) {
	r, err := datasets.Open(s.Suite)
	if err != nil {
		return nil, err
	}
	if opts.Limit > 0 {
		r = &limited{Reader: r, left: opts.Limit}
	}
	if opts.Shard != nil {
		r = &sharded{Reader: r, shard: *opts.Shard}
	}
	return r, nil
}

// targets are the suite's endpoints as the runner takes them.
func targets(s *build.Suite) []runner.Target {
	ts := make([]runner.Target, len(s.Targets))
	for i, ep := range s.Targets {
		ts[i] = *ep
	}
	return ts
}

// finish completes a summary with what needs the whole run: the comparisons
// (between targets, and with the baseline), then the gate's verdict, once,
// with all of them, the judges' agreements (judgeAgreements, before) and
// the error budget. compare is false when the journal
// cannot be read back (it failed to close).
func finish(sum *evals.Summary, gates []evals.Gate, budget *float64, results string, base *rundir.Finished, compare bool, opts Options) error {
	sum.ResultsFile = rundir.ResultsFile
	if compare && (len(sum.Targets) > 1 || base != nil) {
		// Comparisons match results case by case: read the journal once.
		out, err := ReadOutcomes(results)
		if err != nil {
			return err
		}
		CompareTargets(sum, out)
		if base != nil {
			if err := CompareWithBaseline(sum, out, base, opts.stderr()); err != nil {
				return err
			}
		}
	}
	runner.Judge(sum, gates)
	runner.ApplyErrorBudget(sum, budget)
	return nil
}

// writeRun writes report.json in the run folder dir, shows the summary and
// says where the files are, hands the run to the outputs, and records the
// run of suite s in the history.
func writeRun(ctx context.Context, s *evals.Suite, sum *evals.Summary, dir string, opts Options) error {
	reportPath := filepath.Join(dir, rundir.ReportFile)
	if err := rundir.WriteReport(reportPath, sum); err != nil {
		return WithCode(ExitIncomplete, fmt.Errorf("writing the report: %w", err))
	}
	// Last, so that the summary is not kept waiting; whether or not the
	// outputs could be written: the run is.
	defer record(ctx, s, sum, dir, opts)
	if opts.Summary != nil {
		if err := opts.Summary(sum); err != nil {
			return WithCode(ExitIncomplete, err)
		}
	}
	results := filepath.Join(dir, rundir.ResultsFile)
	fmt.Fprintf(opts.stderr(), "rubric: results %s\nrubric: report %s\n", results, reportPath)
	if opts.Outputs != nil {
		if err := opts.Outputs.Suite(sum, results); err != nil {
			return WithCode(ExitIncomplete, err)
		}
	}
	return nil
}

// runError is the error a run ends with: why it stopped early, or else the
// verdict of its report.
func runError(ctx context.Context, s *build.Suite, sum *evals.Summary, runErr, closeErr error, f *folder, opts Options) error {
	hint := "resume with: " + resumeCommand(f.id, opts)
	var cl *runner.CostLimitError
	switch {
	case errors.As(runErr, &cl):
		return WithCode(ExitIncomplete, costLimitError(cl, f.id, costCurrency(s), opts))
	case errors.Is(runErr, runner.ErrInterrupted) && ctx.Err() == nil:
		return WithCode(ExitIncomplete, fmt.Errorf("run %s stopped after --max-duration %s: %w; %s", f.id, opts.MaxDuration, runErr, hint))
	case errors.Is(runErr, runner.ErrInterrupted):
		return WithCode(ExitInterrupted, fmt.Errorf("%w; %s", runErr, hint))
	case errors.As(runErr, new(*evals.UnreachableError)):
		return WithCode(ExitIncomplete, fmt.Errorf("%w; once the endpoint is up, %s", runErr, hint))
	case runErr != nil:
		return WithCode(ExitIncomplete, fmt.Errorf("run %s stopped: %w (the results completed are in %s)", f.id, runErr, f.results()))
	case closeErr != nil:
		return WithCode(ExitIncomplete, fmt.Errorf("writing results: %w", closeErr))
	}
	return VerdictError(sum, f.results())
}

// limited stops a dataset after a number of cases.
type limited struct {
	datasets.Reader
	left int
}

func (l *limited) Next() (*evals.Case, error) {
	if l.left <= 0 {
		return nil, io.EOF
	}
	l.left--
	return l.Reader.Next()
}

// sharded keeps the cases of a shard.
type sharded struct {
	datasets.Reader
	shard evals.Shard
}

func (s *sharded) Next() (*evals.Case, error) {
	for {
		c, err := s.Reader.Next()
		if err != nil || s.shard.Has(c.ID) {
			return c, err
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// mkdirAll creates a run folder and its parents.
func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }
