package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/report"
	"github.com/rubric-eval/rubric/runner/rundir"
	"github.com/rubric-eval/rubric/runner/session"
	"github.com/rubric-eval/rubric/runner/store"
)

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

func outFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "out", Value: rundir.DefaultOut, Usage: usage}
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
		Flags: append(append(append(targetFlags(), ciFlags()...), leakFlags()...),
			outFlag("folder for run outputs; each run writes `DIR`/RUN_ID/{results.jsonl,report.json,run.json}"),
			&cli.StringFlag{Name: "resume", Usage: "finish the interrupted or crashed run `RUN` (its id, its folder, latest, SUITE@latest or SUITE@~N) without resending a recorded case"},
			&cli.IntFlag{Name: "limit", DefaultText: "every case", Usage: "run only the first `N` cases of each dataset"},
			&cli.StringFlag{Name: "shard", Usage: "run only the cases whose id hashes to shard `K/N` (K from 1), or auto/N to take K from $" + evals.ShardIndexEnv + " + 1 (a Kubernetes Indexed Job); join the shards' runs with rubric merge"},
			&cli.IntFlag{Name: "repeat", DefaultText: "the suite's repeat, else 1", Usage: "send each case `N` times (overrides the suite's repeat)"},
			&cli.Float64Flag{Name: "error-budget", Value: -1, DefaultText: "the suite's", Usage: "largest share `RATE` of cases per target that may end in an error before the run exits 3"},
			&cli.DurationFlag{Name: "max-duration", DefaultText: "no limit", Usage: "stop dispatching after `DURATION`, keep what completed and exit 3 (resume with --resume)"},
			&cli.Float64Flag{Name: "max-cost", DefaultText: "no limit", Usage: "stop dispatching once the calls made have cost `AMOUNT` at the price tables (in their currency; cache hits are free), keep what completed and exit 3 (resume with --resume and a higher --max-cost)"},
			&cli.DurationFlag{Name: "grace", Value: 5 * time.Second, Usage: "after Ctrl-C, how long (`DURATION`) requests in flight may finish"},
			&cli.BoolFlag{Name: "no-cache", Usage: "neither read nor write the response cache"},
			&cli.BoolFlag{Name: "detach", Usage: "submit the requests of targets and judges with batch: true and exit 4 (submitted, results pending) without waiting; rubric run --resume RUN collects them"},
			&cli.BoolFlag{Name: "no-batch", Usage: "submit no new batch: what earlier batches did not answer is sent live (with --resume)"},
			&cli.DurationFlag{Name: "batch-poll", Value: 10 * time.Second, Usage: "first wait (`DURATION`) between checks of a batch; it grows by half each time, to 5m"},
			&cli.BoolFlag{Name: "no-progress", Usage: "no progress line, even on a terminal"},
			noHistoryFlag(),
			&cli.StringFlag{Name: "baseline", Usage: "compare with the earlier run `RUN` (its folder, report.json, id, latest, SUITE@latest or SUITE@~N) case by case; gates on delta.*, regressions and fixes read this comparison"},
			&cli.BoolFlag{Name: "dry-run", Usage: "check the suites and render every case, send nothing, and print per target and judge the requests, estimated tokens and cost; no run folder is written"},
			&cli.BoolFlag{Name: "json", Usage: "with --dry-run, print the estimates as JSON"},
			&cli.StringFlag{Name: "queue", Usage: "send the cases through the job queue in the PostgreSQL database at `URL` (postgres://...) to rubric worker processes, wait for their results, then report as a normal run; with --resume, the URL again when it has a password"},
		),
		Action: func(cliCtx *cli.Context) error {
			opts, ci, err := runFlags(cliCtx)
			if err != nil {
				return err
			}
			if cliCtx.Bool("dry-run") {
				return dryRun(cliCtx, opts)
			}
			cache := newCache(cliCtx.Bool("no-cache"), opts.Stderr)
			defer cache.close()
			opts.Build.Cache = cache.open
			var closeHistory func()
			opts.History, closeHistory = historyOption(cliCtx)
			defer closeHistory()
			if ref := cliCtx.String("resume"); ref != "" {
				dir, err := runRef(cliCtx.Context, ref, opts.Out)
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("resume: %w", err))
				}
				return ci.finish(session.Resume(cliCtx.Context, dir, opts).Err)
			}
			suites, err := build.LoadAll(cliCtx.Context, cliCtx.Args().Slice(), opts.Build)
			if err != nil {
				return err
			}
			if err := checkDistinctSuites(suites); err != nil {
				closeSuites(suites)
				return err
			}
			return ci.finish(session.Run(cliCtx.Context, suites, opts).Err)
		},
	}
}

// runFlags reads rubric run's flags into the session's options and the CI
// outputs, refusing mistakes before anything is read.
func runFlags(cliCtx *cli.Context) (session.Options, *ciOutputs, error) {
	stdout, stderr := cliCtx.App.Writer, cliCtx.App.ErrWriter
	opts := session.Options{
		Out:         cliCtx.String("out"),
		Limit:       cliCtx.Int("limit"),
		Repeat:      cliCtx.Int("repeat"),
		MaxDuration: cliCtx.Duration("max-duration"),
		Queue:       cliCtx.String("queue"),
		Grace:       cliCtx.Duration("grace"),
		Build:       build.Options{Load: loadOptions(cliCtx), Targets: true, Dataset: true, Environ: os.Environ},
		Summary:     summaryPrinter(stdout),
		Stderr:      stderr,
	}
	opts.Build.Load.RequireTargets = true
	if !cliCtx.Bool("no-progress") && isTerminal(stderr) {
		opts.Progress = func() session.Progress { return newProgressLine(stderr) }
		opts.BatchProgress = func(line string) { fmt.Fprint(stderr, "\r\x1b[K"+line) }
	}
	opts.Detach, opts.NoBatch, opts.BatchPoll = cliCtx.Bool("detach"), cliCtx.Bool("no-batch"), cliCtx.Duration("batch-poll")
	if opts.BatchPoll <= 0 {
		return opts, nil, usageError("run: --batch-poll must be more than 0, got %v", opts.BatchPoll)
	}
	if opts.Detach && opts.NoBatch {
		return opts, nil, usageError("run: --detach submits batches and --no-batch submits none; give one of them")
	}
	if c := cliCtx.Float64("max-cost"); cliCtx.IsSet("max-cost") {
		if !(c >= 0) {
			return opts, nil, usageError("run: --max-cost must be 0 (no limit) or more, got %v", c)
		}
		opts.MaxCost = &c
	}
	switch b := cliCtx.Float64("error-budget"); {
	case cliCtx.IsSet("error-budget") && (b < 0 || b > 1):
		return opts, nil, usageError("run: --error-budget must be between 0 and 1, got %v", b)
	case cliCtx.IsSet("error-budget"):
		opts.ErrorBudget = &b
	}
	for _, f := range []struct {
		name string
		neg  bool
	}{{"limit", opts.Limit < 0}, {"repeat", opts.Repeat < 0}, {"max-duration", opts.MaxDuration < 0}} {
		if f.neg {
			return opts, nil, usageError("run: --%s must not be negative, got %v", f.name, cliCtx.Value(f.name))
		}
	}
	if err := runArgs(cliCtx); err != nil {
		return opts, nil, err
	}
	if err := queueArgs(cliCtx); err != nil {
		return opts, nil, err
	}
	if arg := cliCtx.String("shard"); cliCtx.IsSet("shard") {
		shard, err := evals.ParseShard(arg, os.Getenv)
		if err != nil {
			return opts, nil, usageError("run: %v", err)
		}
		opts.Shard = &shard
	}
	ci, err := newCIOutputs(cliCtx, false, true)
	if err != nil {
		return opts, nil, err
	}
	if ci.any() {
		opts.Outputs = ci
	}
	if opts.Leaks, err = leakOptions(cliCtx); err != nil {
		return opts, nil, err
	}
	if b := cliCtx.String("baseline"); b != "" {
		base, err := readRun(cliCtx.Context, b, opts.Out)
		if err != nil {
			return opts, nil, withCode(exitBadInput, fmt.Errorf("--baseline: %w", err))
		}
		opts.Baseline = base
	}
	return opts, ci, nil
}

// runArgs checks the suites given against --baseline and --resume, and
// the flags a dry run has no use for.
func runArgs(cliCtx *cli.Context) error {
	if err := dryRunArgs(cliCtx); err != nil {
		return err
	}
	if cliCtx.IsSet("baseline") && cliCtx.NArg() > 1 {
		return usageError("run: --baseline compares one suite's run with an earlier one; give one suite")
	}
	if cliCtx.String("resume") == "" {
		if cliCtx.NArg() == 0 {
			return usageError("run: expected one or more suite files, as in: rubric run suite.json")
		}
		return nil
	}
	if cliCtx.NArg() > 0 {
		return usageError("run: --resume takes the suite and options from the run it resumes; give no suite files")
	}
	// --set may give again the secrets run.json does not keep.
	for _, f := range []string{"config", "target", "gate", "limit", "repeat", "shard", "baseline", "training-manifest", "allow-leaks", "leak-ngrams", "leak-ngram-threshold"} {
		if cliCtx.IsSet(f) {
			return usageError("run: --resume keeps the options the run started with; --%s cannot change them", f)
		}
	}
	return nil
}

// queueArgs refuses what a run sent through a queue cannot do: its limits
// of time and cost stop this process's dispatch, and the workers' is not
// this process's.
func queueArgs(cliCtx *cli.Context) error {
	u := cliCtx.String("queue")
	if !cliCtx.IsSet("queue") {
		return nil
	}
	if !store.IsPostgresURL(u) {
		return usageError("run: --queue takes a PostgreSQL URL, as in --queue postgres://USER@HOST/DB, got %q", history.RedactURL(u))
	}
	for _, f := range []string{"max-duration", "max-cost", "dry-run", "detach", "no-batch"} {
		if cliCtx.IsSet(f) {
			return usageError("run: --%s cannot be used with --queue: the workers send the cases", f)
		}
	}
	if cliCtx.IsSet("allow-leaks") {
		return usageError("run: --allow-leaks cannot be used with --queue: the workers do not mark the leaked cases' results; check without --allow-leaks, or run in one process")
	}
	for _, set := range cliCtx.StringSlice("set") {
		if _, secret := evals.RedactOverride(set); secret {
			return usageError("run: --queue: --set %s holds a secret, which the workers could not be given: name the environment variable that holds it instead (api_key_env)", evals.OverrideField(set))
		}
	}
	return nil
}

// summaryPrinter prints each run's terminal summary to stdout, a blank line
// between two.
func summaryPrinter(stdout io.Writer) func(*evals.Summary) error {
	printed := 0
	return func(sum *evals.Summary) error {
		if printed > 0 {
			fmt.Fprintln(stdout)
		}
		printed++
		return report.Text(stdout, sum, report.Style{Color: useColor(stdout)})
	}
}

func closeSuites(suites []*build.Suite) {
	for _, s := range suites {
		_ = s.Close()
	}
}

// cache is the response cache of one command, opened the first time an
// endpoint uses it: at $RUBRIC_DB, or rubric.db in the user's cache folder.
// A cache that cannot be opened is a warning, never a reason not to run.
type cache struct {
	off    bool
	stderr io.Writer
	once   sync.Once
	db     *store.DB
}

func newCache(off bool, stderr io.Writer) *cache { return &cache{off: off, stderr: stderr} }

// open returns the database, nil when the cache is off or cannot be opened.
func (c *cache) open() *store.DB {
	if c.off {
		return nil
	}
	c.once.Do(func() {
		db, err := openDB()
		if err != nil {
			fmt.Fprintf(c.stderr, "rubric: warning: running without the response cache: %v\n", err)
			return
		}
		c.db = db
	})
	return c.db
}

// close writes what the cache still holds; a failure loses cache entries,
// never results, so it is a warning.
func (c *cache) close() {
	if c.db == nil {
		return
	}
	if err := c.db.Close(); err != nil {
		fmt.Fprintf(c.stderr, "rubric: warning: response cache: %v\n", err)
	}
}

// openDB opens the database at $RUBRIC_DB or the default path.
func openDB() (*store.DB, error) {
	path, err := store.DefaultPath(os.Getenv)
	if err != nil {
		return nil, err
	}
	return store.Open(path)
}

// progress shows a run's progress on the terminal.
var _ session.Progress = (*progressLine)(nil)

// Update and Done let a progressLine serve a session.
func (p *progressLine) Update(pr runner.Progress) { p.update(pr) }
func (p *progressLine) Done()                     { p.clear() }
