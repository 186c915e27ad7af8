package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/report"
)

// runOptions are rubric run's flags.
type runOptions struct {
	load     evals.LoadOptions
	out      string
	limit    int
	grace    time.Duration
	progress bool
}

func targetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "project config `FILE` with shared targets (default: " + evals.ConfigFile + " next to the suite, else in the current folder)"},
		&cli.StringSliceFlag{Name: "target", Aliases: []string{"t"}, Usage: "run target `NAME` instead of the suite's own list (repeatable)"},
		&cli.StringSliceFlag{Name: "set", Usage: "override a target field: `TARGET.FIELD=VALUE`, TARGET may be '*' (repeatable), e.g. --set candidate.model=my-ft-v7"},
		&cli.StringSliceFlag{Name: "gate", Usage: "gate `EXPR` such as 'pass_rate >= 0.9'; replaces the suite's gate on the same metric (repeatable)"},
	}
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
		ArgsUsage: "SUITE...",
		Flags: append(targetFlags(),
			&cli.StringFlag{Name: "out", Value: "rubric-runs", Usage: "folder for run outputs; each run writes `DIR`/RUN_ID/{results.jsonl,report.json}"},
			&cli.IntFlag{Name: "limit", Usage: "run only the first `N` cases of each dataset"},
			&cli.DurationFlag{Name: "grace", Value: 5 * time.Second, Usage: "after Ctrl-C, how long requests in flight may finish"},
			&cli.BoolFlag{Name: "no-progress", Usage: "no progress line, even on a terminal"},
		),
		Action: func(cliCtx *cli.Context) error {
			if cliCtx.NArg() == 0 {
				return usageError("run: expected one or more suite files, as in: rubric run suite.json")
			}
			if cliCtx.Int("limit") < 0 {
				return usageError("run: --limit must be positive")
			}
			opts := runOptions{
				load:     loadOptions(cliCtx),
				out:      cliCtx.String("out"),
				limit:    cliCtx.Int("limit"),
				grace:    cliCtx.Duration("grace"),
				progress: !cliCtx.Bool("no-progress") && isTerminal(cliCtx.App.ErrWriter),
			}
			opts.load.RequireTargets = true
			return runSuites(cliCtx.Context, cliCtx.Args().Slice(), opts, cliCtx.App.Writer, cliCtx.App.ErrWriter)
		},
	}
}

// runSuites runs each suite in turn; every suite is checked before the first
// request is sent.
func runSuites(ctx context.Context, paths []string, opts runOptions, stdout, stderr io.Writer) error {
	suites, err := loadAll(paths, opts.load)
	if err != nil {
		return err
	}
	var failed []error
	for i, l := range suites {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		err := runSuite(ctx, l, opts, stdout, stderr)
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

func runSuite(ctx context.Context, l *loaded, opts runOptions, stdout, stderr io.Writer) error {
	id := newRunID(time.Now())
	dir := filepath.Join(opts.out, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return withCode(exitIncomplete, fmt.Errorf("creating the run folder: %w", err))
	}
	resultsPath := filepath.Join(dir, "results.jsonl")
	sink, err := report.CreateJSONL(resultsPath)
	if err != nil {
		return withCode(exitIncomplete, err)
	}
	cases := l.cases
	if opts.limit > 0 && opts.limit < cases {
		cases = opts.limit
	}
	names := make([]string, len(l.targets))
	for i, t := range l.targets {
		names[i] = t.Spec.Name
	}
	fmt.Fprintf(stderr, "rubric: run %s: suite %s, %s x %s (%s)\n", id, l.suite.Name,
		plural(cases, "case"), plural(len(l.targets), "target"), strings.Join(names, ", "))

	var prog *progressLine
	if opts.progress {
		prog = newProgressLine(stderr)
	}
	sum, runErr := runner.Run(ctx, runner.Options{
		RunID:    id,
		Suite:    l.suite,
		Targets:  l.targets,
		Criteria: l.criteria,
		Open: func() (runner.CaseSource, error) {
			r, err := datasets.Open(l.suite)
			if err != nil || opts.limit == 0 {
				return r, err
			}
			return &limited{Reader: r, left: opts.limit}, nil
		},
		Sink:     sink,
		Total:    cases * len(l.targets),
		Progress: prog.update,
		Grace:    opts.grace,
	})
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
	sum.ResultsFile = resultsPath
	reportPath := filepath.Join(dir, "report.json")
	if err := report.WriteJSON(reportPath, sum); err != nil {
		return withCode(exitIncomplete, fmt.Errorf("writing the report: %w", err))
	}
	if err := report.Text(stdout, sum, report.Style{Color: useColor(stdout)}); err != nil {
		return withCode(exitIncomplete, err)
	}
	fmt.Fprintf(stderr, "rubric: results %s\nrubric: report %s\n", resultsPath, reportPath)

	switch {
	case errors.Is(runErr, runner.ErrInterrupted):
		return withCode(exitInterrupted, runErr)
	case runErr != nil:
		return withCode(exitIncomplete, fmt.Errorf("run %s stopped: %w (the results completed are in %s)", id, runErr, resultsPath))
	case closeErr != nil:
		return withCode(exitIncomplete, fmt.Errorf("writing results: %w", closeErr))
	}
	if err := unreachable(sum); err != nil {
		return withCode(exitIncomplete, err)
	}
	if !sum.Gate.Held {
		var msgs []string
		for _, g := range sum.Gate.Results {
			if !g.Held {
				msgs = append(msgs, g.Message)
			}
		}
		return withCode(exitGateFailed, fmt.Errorf("suite %s: gate failed:\n  %s", l.suite.Name, strings.Join(msgs, "\n  ")))
	}
	return nil
}

// unreachable reports targets for which every request failed: such a run
// measured the endpoint's availability, not the model.
func unreachable(sum *evals.Summary) error {
	var msgs []string
	for _, t := range sum.Targets {
		if t.Cases == 0 || t.Errored < t.Cases {
			continue
		}
		kinds := make([]string, 0, len(t.Errors))
		for k, n := range t.Errors {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(kinds)
		msgs = append(msgs, fmt.Sprintf("target %s: all %d requests failed (%s); see the errors in %s", t.Name, t.Cases, strings.Join(kinds, ", "), sum.ResultsFile))
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "\n"))
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
