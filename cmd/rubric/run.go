package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/provider"
	"github.com/rubric-eval/rubric/runner/report"
	"github.com/rubric-eval/rubric/runner/store"
)

// runOptions are rubric run's flags.
type runOptions struct {
	load        evals.LoadOptions
	out         string
	limit       int
	repeat      int
	errorBudget *float64
	maxDuration time.Duration
	grace       time.Duration
	progress    bool
	noCache     bool
	ci          *ciOutputs
	// baseline is the earlier run to compare with (--baseline).
	baseline *finishedRun
	// db is the response cache, nil when no target uses it.
	db *store.DB
}

func targetFlags() []cli.Flag {
	return []cli.Flag{
		configFlag(),
		&cli.StringSliceFlag{Name: "target", Aliases: []string{"t"}, Usage: "run target `NAME` instead of the suite's own list (repeatable)"},
		&cli.StringSliceFlag{Name: "set", Usage: "override a target field: `TARGET.FIELD=VALUE`, TARGET may be '*' (repeatable), e.g. --set candidate.model=my-ft-v7"},
		gateFlag(),
	}
}

func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: "project config `FILE` with shared targets (default: " + evals.ConfigFile + " next to the suite, else in the current folder)"}
}

func gateFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "gate", Usage: "gate `EXPR` such as 'pass_rate >= 0.9'; replaces the suite's gate on the same metric and direction (repeatable)"}
}

func loadOptions(cliCtx *cli.Context) evals.LoadOptions {
	return evals.LoadOptions{
		ConfigPath: cliCtx.String("config"),
		Targets:    cliCtx.StringSlice("target"),
		Overrides:  cliCtx.StringSlice("set"),
		Gates:      cliCtx.StringSlice("gate"),
	}
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run suites against their targets, score, report and gate",
		ArgsUsage: "SUITE... | --resume RUN",
		Flags: append(append(targetFlags(), ciFlags()...),
			&cli.StringFlag{Name: "out", Value: "rubric-runs", Usage: "folder for run outputs; each run writes `DIR`/RUN_ID/{results.jsonl,report.json,run.json}"},
			&cli.StringFlag{Name: "resume", Usage: "finish the interrupted or crashed run `RUN` (its id under --out, its folder, or latest) without resending a recorded case"},
			&cli.IntFlag{Name: "limit", DefaultText: "every case", Usage: "run only the first `N` cases of each dataset"},
			&cli.IntFlag{Name: "repeat", DefaultText: "the suite's repeat, else 1", Usage: "send each case `N` times (overrides the suite's repeat)"},
			&cli.Float64Flag{Name: "error-budget", Value: -1, DefaultText: "the suite's", Usage: "largest share `RATE` of cases per target that may end in an error before the run exits 3"},
			&cli.DurationFlag{Name: "max-duration", DefaultText: "no limit", Usage: "stop dispatching after `DURATION`, keep what completed and exit 3 (resume with --resume)"},
			&cli.DurationFlag{Name: "grace", Value: 5 * time.Second, Usage: "after Ctrl-C, how long (`DURATION`) requests in flight may finish"},
			&cli.BoolFlag{Name: "no-cache", Usage: "neither read nor write the response cache"},
			&cli.BoolFlag{Name: "no-progress", Usage: "no progress line, even on a terminal"},
			&cli.StringFlag{Name: "baseline", Usage: "compare with the earlier run `RUN` (its folder, report.json, id under --out, or latest) case by case; gates on delta.*, regressions and fixes read this comparison"},
		),
		Action: func(cliCtx *cli.Context) error {
			opts := runOptions{
				load:        loadOptions(cliCtx),
				out:         cliCtx.String("out"),
				limit:       cliCtx.Int("limit"),
				repeat:      cliCtx.Int("repeat"),
				maxDuration: cliCtx.Duration("max-duration"),
				grace:       cliCtx.Duration("grace"),
				progress:    !cliCtx.Bool("no-progress") && isTerminal(cliCtx.App.ErrWriter),
				noCache:     cliCtx.Bool("no-cache"),
			}
			switch b := cliCtx.Float64("error-budget"); {
			case cliCtx.IsSet("error-budget") && (b < 0 || b > 1):
				return usageError("run: --error-budget must be between 0 and 1, got %v", b)
			case cliCtx.IsSet("error-budget"):
				opts.errorBudget = &b
			}
			for _, f := range []struct {
				name string
				neg  bool
			}{{"limit", opts.limit < 0}, {"repeat", opts.repeat < 0}, {"max-duration", opts.maxDuration < 0}} {
				if f.neg {
					return usageError("run: --%s must not be negative, got %v", f.name, cliCtx.Value(f.name))
				}
			}
			var err error
			if opts.ci, err = newCIOutputs(cliCtx, false, true); err != nil {
				return err
			}
			opts.load.RequireTargets = true
			stdout, stderr := cliCtx.App.Writer, cliCtx.App.ErrWriter
			if b := cliCtx.String("baseline"); b != "" {
				if cliCtx.NArg() > 1 {
					return usageError("run: --baseline compares one suite's run with an earlier one; give one suite")
				}
				base, err := readRun(b, opts.out)
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("--baseline: %w", err))
				}
				opts.baseline = base
			}
			if id := cliCtx.String("resume"); id != "" {
				if cliCtx.NArg() > 0 {
					return usageError("run: --resume takes the suite and options from the run it resumes; give no suite files")
				}
				// --set may give again the secrets run.json does not keep.
				for _, f := range []string{"config", "target", "gate", "limit", "repeat", "baseline"} {
					if cliCtx.IsSet(f) {
						return usageError("run: --resume keeps the options the run started with; --%s cannot change them", f)
					}
				}
				return opts.ci.finish(resumeRun(cliCtx.Context, id, opts, stdout, stderr))
			}
			if cliCtx.NArg() == 0 {
				return usageError("run: expected one or more suite files, as in: rubric run suite.json")
			}
			return opts.ci.finish(runSuites(cliCtx.Context, cliCtx.Args().Slice(), opts, stdout, stderr))
		},
	}
}

// runSuites runs each suite in turn; every suite is checked before the first
// request is sent.
func runSuites(ctx context.Context, paths []string, opts runOptions, stdout, stderr io.Writer) error {
	suites, err := loadAll(ctx, paths, opts.load)
	if err != nil {
		return err
	}
	if err := checkDistinctSuites(suites); err != nil {
		return err
	}
	if err := opts.ci.open(criterionNames(suites...)); err != nil {
		return err
	}
	opts.db = openCache(suites, opts.noCache, stderr)
	defer closeCache(opts.db, stderr)
	var failed []error
	for i, l := range suites {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		err := runSuite(ctx, l, opts, nil, stdout, stderr)
		var ee *exitError
		switch {
		case err == nil:
		case errors.As(err, &ee) && ee.code == exitGateFailed:
			failed = append(failed, err)
		default:
			return err
		}
	}
	if len(failed) > 0 {
		return withCode(exitGateFailed, errors.Join(failed...))
	}
	return nil
}

func newRunID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// resumeRun finishes a run from its manifest and journal.
func resumeRun(ctx context.Context, ref string, opts runOptions, stdout, stderr io.Writer) error {
	dir := ref
	if ref == "latest" {
		var err error
		if dir, err = latestRun(opts.out); err != nil {
			return withCode(exitBadInput, fmt.Errorf("resume: %w", err))
		}
	} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = filepath.Join(opts.out, ref)
	}
	// The folder is locked before anything in it is read: a second process
	// resuming it would send the same cases and interleave the journal.
	if _, err := os.Stat(filepath.Join(dir, "run.json")); err == nil {
		lock, err := lockRun(dir)
		if err != nil {
			return lockError("resume", err)
		}
		defer lock.release()
	}
	m, err := readManifest(dir)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	if err := m.checkSuite(ctx); err != nil {
		if ctx.Err() != nil {
			return interruptedLoading(m.Suite)
		}
		return withCode(exitBadInput, err)
	}
	command := "rubric run --resume " + m.RunID
	if opts.out != "rubric-runs" {
		command += " --out " + shellQuote(opts.out)
	}
	overrides, err := m.overrides(opts.load.Overrides, command)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	opts.load = m.Load
	opts.load.Overrides = overrides
	opts.load.RequireTargets = true
	opts.limit, opts.repeat = m.Limit, m.Repeat
	if opts.errorBudget == nil {
		opts.errorBudget = m.ErrorBudget
	}
	if m.Baseline != "" {
		base, err := readRun(m.Baseline, "")
		if err != nil {
			return withCode(exitBadInput, fmt.Errorf("resume: the run compared with %s: %w", m.Baseline, err))
		}
		opts.baseline = base
	}
	l, err := loadSuite(ctx, m.Suite, opts.load)
	if err != nil {
		return err
	}
	if err := opts.ci.open(criterionNames(l)); err != nil {
		return err
	}
	opts.db = openCache([]*loaded{l}, opts.noCache, stderr)
	defer closeCache(opts.db, stderr)
	return runSuite(ctx, l, opts, &resumed{id: m.RunID, dir: dir, started: m.Started}, stdout, stderr)
}

// resumed identifies the run a resumed run continues.
type resumed struct {
	id      string
	dir     string
	started time.Time
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

func runSuite(ctx context.Context, l *loaded, opts runOptions, resume *resumed, stdout, stderr io.Writer) error {
	repeat := max(l.suite.Repeat, 1)
	if opts.repeat > 0 {
		repeat = opts.repeat
	}
	budget := l.suite.ErrorBudget
	if opts.errorBudget != nil {
		budget = opts.errorBudget
	}

	var id, dir string
	var sink *report.JSONL
	var done doneSet
	var err error
	if resume == nil {
		id = newRunID(time.Now())
		var m *manifest
		if m, err = newManifest(ctx, id, l.suite, opts, repeat); err != nil {
			return interruptedLoading(l.suite.Path)
		}
		dir = filepath.Join(opts.out, id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return withCode(exitIncomplete, fmt.Errorf("creating the run folder: %w", err))
		}
		var lock *runLock
		if lock, err = lockRun(dir); err != nil {
			return lockError("run", err)
		}
		defer lock.release()
		if err := m.write(dir); err != nil {
			return withCode(exitIncomplete, err)
		}
		if sink, err = report.CreateJSONL(filepath.Join(dir, "results.jsonl")); err != nil {
			return withCode(exitIncomplete, err)
		}
	} else {
		id, dir = resume.id, resume.dir
		size, err := report.ReadJournal(filepath.Join(dir, "results.jsonl"), func(r *evals.Result) error {
			done = append(done, resultHash(r.Target, r.CaseID, r.Repeat))
			if len(done)%1024 == 0 {
				return ctx.Err() // a journal of millions of results takes a while
			}
			return nil
		})
		slices.SortFunc(done, compareHash)
		done = slices.Compact(done)
		if ctx.Err() != nil {
			return interruptedLoading(filepath.Join(dir, "results.jsonl"))
		}
		if err != nil {
			return withCode(exitBadInput, fmt.Errorf("resume %s: %w", id, err))
		}
		if sink, err = report.AppendJSONL(filepath.Join(dir, "results.jsonl"), size); err != nil {
			return withCode(exitIncomplete, err)
		}
	}
	resultsPath := filepath.Join(dir, "results.jsonl")

	cases := l.cases
	if opts.limit > 0 && opts.limit < cases {
		cases = opts.limit
	}
	names := make([]string, len(l.targets))
	for i, t := range l.targets {
		names[i] = t.Spec.Name
	}
	verb := "run " + id + ":"
	if resume != nil {
		verb = fmt.Sprintf("resuming run %s (%d results recorded):", id, len(done))
	}
	reps := ""
	if repeat > 1 {
		reps = fmt.Sprintf(" x %d repeats", repeat)
	}
	fmt.Fprintf(stderr, "rubric: %s suite %s, %s x %s%s (%s)\n", verb, l.suite.Name,
		plural(cases, "case"), plural(len(l.targets), "target"), reps, strings.Join(names, ", "))

	runCtx := ctx
	if opts.maxDuration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.maxDuration)
		defer cancel()
	}
	var prog *progressLine
	if opts.progress {
		prog = newProgressLine(stderr)
	}
	targets := make([]runner.Target, len(l.targets))
	for i, t := range l.targets {
		ep := decorate(t.Provider, t.Spec, opts.db)
		targets[i] = runner.Target{Spec: t.Spec, Provider: ep.Provider, SecretEnv: ep.SecretEnv}
	}
	for _, j := range l.judges {
		_ = j.use(opts.db) // built once at load already: the spec is sound
	}
	ro := runner.Options{
		RunID:    id,
		Suite:    l.suite,
		Targets:  targets,
		Criteria: l.criteria,
		Open: func() (runner.CaseSource, error) {
			r, err := datasets.Open(l.suite)
			if err != nil || opts.limit == 0 {
				return r, err
			}
			return &limited{Reader: r, left: opts.limit}, nil
		},
		Sink:     sink,
		Total:    cases * len(l.targets) * repeat,
		Progress: prog.update,
		Grace:    opts.grace,
		Repeat:   repeat,
	}
	if resume != nil {
		ro.Done = done.has
		ro.Prior = func(add func(*evals.Result)) error {
			_, err := report.ReadJournal(resultsPath, func(r *evals.Result) error { add(r); return nil })
			return err
		}
	}
	sum, runErr := runner.Run(runCtx, ro)
	prog.clear()
	for _, t := range l.targets {
		if c, ok := t.Provider.(io.Closer); ok {
			_ = c.Close() // idle connections; nothing is lost if this fails
		}
	}
	closeErr := sink.Close()
	if sum == nil {
		return withCode(exitIncomplete, runErr)
	}
	if resume != nil {
		sum.Started = resume.started
	}
	sum.ResultsFile = "results.jsonl"
	if closeErr == nil && (len(sum.Targets) > 1 || opts.baseline != nil) {
		// Comparisons match results case by case: read the journal once.
		out, err := readOutcomes(resultsPath)
		if err != nil {
			return err
		}
		compareTargets(sum, out)
		if opts.baseline != nil {
			if err := compareWithBaseline(sum, out, opts.baseline, stderr); err != nil {
				return err
			}
			note := sum.Gate.Note
			sum.Gate = runner.CheckGates(l.suite.Gates, sum.Targets)
			if note != "" {
				sum.Gate.Held, sum.Gate.Note = false, note
			}
		}
	}
	runner.ApplyErrorBudget(sum, budget)
	if err := writeReport(sum, dir, stdout, stderr); err != nil {
		return err
	}
	if err := opts.ci.suite(sum, resultsPath); err != nil {
		return withCode(exitIncomplete, err)
	}

	resumeHint := fmt.Sprintf("resume with: rubric run --resume %s", id)
	if opts.out != "rubric-runs" {
		resumeHint += " --out " + opts.out
	}
	switch {
	case errors.Is(runErr, runner.ErrInterrupted) && ctx.Err() == nil:
		return withCode(exitIncomplete, fmt.Errorf("run %s stopped after --max-duration %s: %w; %s", id, opts.maxDuration, runErr, resumeHint))
	case errors.Is(runErr, runner.ErrInterrupted):
		return withCode(exitInterrupted, fmt.Errorf("%w; %s", runErr, resumeHint))
	case errors.As(runErr, new(*evals.UnreachableError)):
		return withCode(exitIncomplete, fmt.Errorf("%w; once the endpoint is up, %s", runErr, resumeHint))
	case runErr != nil:
		return withCode(exitIncomplete, fmt.Errorf("run %s stopped: %w (the results completed are in %s)", id, runErr, resultsPath))
	case closeErr != nil:
		return withCode(exitIncomplete, fmt.Errorf("writing results: %w", closeErr))
	}
	return verdictError(sum, resultsPath)
}

// verdictError is the error the report of a run implies, read from the
// report alone, so that rubric report exits as the run did: exit 3 when the
// run did not complete or broke its error budget, exit 1 when a gate
// failed, nil when the gate held. resultsPath is the run's journal, which
// the messages point at.
func verdictError(sum *evals.Summary, resultsPath string) error {
	if !sum.Complete {
		return withCode(exitIncomplete, fmt.Errorf("run %s did not complete: its report covers the results completed before it stopped", sum.RunID))
	}
	if err := errorBudget(sum, resultsPath); err != nil {
		return withCode(exitIncomplete, err)
	}
	return gateError(sum.Suite, sum)
}

// writeReport writes report.json in the run folder dir, prints the summary
// to stdout and the paths of the outputs to stderr.
func writeReport(sum *evals.Summary, dir string, stdout, stderr io.Writer) error {
	// Relative to report.json, which sits beside it: the report stays right
	// when the run folder is copied or kept as a CI artifact.
	sum.ResultsFile = "results.jsonl"
	reportPath := filepath.Join(dir, "report.json")
	if err := report.WriteJSON(reportPath, sum); err != nil {
		return withCode(exitIncomplete, fmt.Errorf("writing the report: %w", err))
	}
	if err := report.Text(stdout, sum, report.Style{Color: useColor(stdout)}); err != nil {
		return withCode(exitIncomplete, err)
	}
	fmt.Fprintf(stderr, "rubric: results %s\nrubric: report %s\n", filepath.Join(dir, "results.jsonl"), reportPath)
	return nil
}

// gateError is the exit-1 error naming every gate that failed (or the note
// that says why the gate is not held), or nil when the gate held.
func gateError(suite string, sum *evals.Summary) error {
	if sum.Gate.Held {
		return nil
	}
	var msgs []string
	for _, g := range sum.Gate.Results {
		if !g.Held {
			msgs = append(msgs, g.Message)
		}
	}
	if len(msgs) == 0 {
		msgs = append(msgs, sum.Gate.Note)
	}
	return withCode(exitGateFailed, fmt.Errorf("suite %s: gate failed:\n  %s", suite, strings.Join(msgs, "\n  ")))
}

// findRun returns the folder of a run given as a folder, as a run id under
// the runs folder out, or as "latest": the run under out that started last.
func findRun(ref, out string) (string, error) {
	if ref == "latest" {
		return latestRun(out)
	}
	for _, dir := range []string{ref, filepath.Join(out, ref)} {
		if _, err := os.Stat(filepath.Join(dir, "results.jsonl")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%s is not a run: neither it nor %s is a folder with a results.jsonl", ref, filepath.Join(out, ref))
}

// errorBudget describes the targets that broke the run's error budget
// (sum.ErrorBudget), with their errors by kind; nil when it held or the
// report has no verdict on it.
func errorBudget(sum *evals.Summary, resultsPath string) error {
	eb := sum.ErrorBudget
	if eb == nil || eb.Held {
		return nil
	}
	msgs := make([]string, 0, len(eb.Over))
	for _, br := range eb.Over {
		kinds := ""
		for _, t := range sum.Targets {
			if t.Name == br.Target && len(t.Errors) > 0 {
				kinds = " (" + report.ErrorCounts(t.Errors) + ")"
			}
		}
		msgs = append(msgs, fmt.Sprintf("target %s: %s%s; see the errors in %s", br.Target, br.Reason, kinds, resultsPath))
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// latestRun returns the run under out that started last, by the start time
// in its run.json (to the nanosecond: two runs may start within the second
// their ids name).
func latestRun(out string) (string, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return "", fmt.Errorf("latest: %w", err)
	}
	var best string
	var bestTime time.Time
	for _, e := range entries {
		dir := filepath.Join(out, e.Name())
		if _, err := os.Stat(filepath.Join(dir, "results.jsonl")); err != nil || !e.IsDir() {
			continue
		}
		m, err := readManifest(dir)
		if err != nil {
			continue
		}
		if best == "" || !m.Started.Before(bestTime) {
			best, bestTime = dir, m.Started
		}
	}
	if best == "" {
		return "", fmt.Errorf("latest: no run in %s", out)
	}
	return best, nil
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

// decorate puts a target's provider behind retries, rate limits and, when db
// is set and the target allows it, the response cache: all composed in
// provider.Decorate, with the cache outside so that a hit sends nothing.
func decorate(p evals.Provider, spec evals.TargetSpec, db *store.DB) *evals.Endpoint {
	return provider.Decorate(p, spec, provider.Options{Cache: func() *store.DB { return db }})
}

// openCache opens the response cache when a target of the suites uses it.
// Its path is $RUBRIC_DB, or rubric.db in the user's cache folder. A cache
// that cannot be opened is a warning, never a reason not to run.
func openCache(suites []*loaded, off bool, stderr io.Writer) *store.DB {
	if off {
		return nil
	}
	used := false
	for _, l := range suites {
		for _, t := range l.targets {
			if _, ok := t.Provider.(evals.BodyBuilder); ok && t.Spec.CacheOr() {
				used = true
			}
		}
		for _, j := range l.judges {
			if _, ok := j.base.(evals.BodyBuilder); ok && j.spec.CacheOr() {
				used = true
			}
		}
	}
	if !used {
		return nil
	}
	db, err := openDB()
	if err != nil {
		fmt.Fprintf(stderr, "rubric: warning: running without the response cache: %v\n", err)
		return nil
	}
	return db
}

// openDB opens the database at $RUBRIC_DB or the default path.
func openDB() (*store.DB, error) {
	path, err := store.DefaultPath()
	if err != nil {
		return nil, err
	}
	return store.Open(path)
}

// closeCache writes what the cache still holds; a failure loses cache
// entries, never results, so it is a warning.
func closeCache(db *store.DB, stderr io.Writer) {
	if db == nil {
		return
	}
	if err := db.Close(); err != nil {
		fmt.Fprintf(stderr, "rubric: warning: response cache: %v\n", err)
	}
}
