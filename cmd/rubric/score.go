package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/session"
)

func scoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "score",
		Usage:     "score recorded responses with a suite's criteria, without calling the model: a log of interactions, or an earlier run",
		ArgsUsage: "SUITE LOG.jsonl | SUITE --run RUN",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "rescore the responses of run `RUN` (its id, its folder, latest, SUITE@latest or SUITE@~N) with the suite's current criteria"},
			&cli.StringFlag{Name: "preset", Value: "plain", Usage: "the log's layout: `NAME` is plain ({input, output, expected}), chat ({messages: [..., assistant]}), openai ({request, response}) or none (--map gives every field)"},
			&cli.StringSliceFlag{Name: "map", Usage: "where a field is on a log line: `FIELD=PATH`, a dotted path such as response.choices.0.message.content; FIELD is id, messages, input, output, expected, vars, tags, metadata, target, usage, latency_ms, vars.NAME or metadata.NAME (repeatable; replaces the preset's path)"},
			&cli.BoolFlag{Name: "skip-invalid", Usage: "skip log lines that are not JSON or lack a mapped field, and count them, instead of stopping with exit 2"},
			&cli.StringFlag{Name: "target-name", Usage: "the target `NAME` that a log's responses are reported under, unless --map target=PATH names one per line (default: the log's file name without its extension)"},
			&cli.IntFlag{Name: "concurrency", DefaultText: "the number of CPUs", Usage: "score `N` responses at once"},
			outFlag("folder for run outputs; the scores go to `DIR`/RUN_ID/{results.jsonl,report.json,run.json}"),
			configFlag(),
			gateFlag(),
			&cli.BoolFlag{Name: "no-progress", Usage: "no progress line, even on a terminal"},
			noHistoryFlag(),
		},
		Action: func(cliCtx *cli.Context) error {
			rec, err := scoreFlags(cliCtx)
			if err != nil {
				return err
			}
			stderr := cliCtx.App.ErrWriter
			opts := session.Options{
				Out: cliCtx.String("out"),
				// Judges' answers are not cached when rescoring.
				Build:   build.Options{Load: evals.LoadOptions{ConfigPath: cliCtx.String("config"), Gates: cliCtx.StringSlice("gate")}, Environ: os.Environ},
				Summary: summaryPrinter(cliCtx.App.Writer),
				Stderr:  stderr,
			}
			if !cliCtx.Bool("no-progress") && isTerminal(stderr) {
				opts.Progress = func() session.Progress { return newProgressLine(stderr) }
			}
			var closeHistory func()
			opts.History, closeHistory = historyOption(cliCtx)
			defer closeHistory()
			// Neither the targets (nothing is sent) nor the dataset (the
			// recordings hold the cases) are built.
			s, err := build.Load(cliCtx.Context, cliCtx.Args().First(), opts.Build)
			if err != nil {
				return err
			}
			return session.Score(cliCtx.Context, s, rec, opts).Err
		},
	}
}

// scoreFlags reads what rubric score scores from its arguments and flags.
func scoreFlags(cliCtx *cli.Context) (session.Recordings, error) {
	rec := session.Recordings{
		Target:      cliCtx.String("target-name"),
		SkipInvalid: cliCtx.Bool("skip-invalid"),
		Concurrency: cliCtx.Int("concurrency"),
	}
	run, args := cliCtx.String("run"), cliCtx.Args().Slice()
	switch {
	case rec.Concurrency < 0:
		return rec, usageError("score: --concurrency must not be negative, got %d", rec.Concurrency)
	case run != "" && len(args) != 1:
		return rec, usageError("score: with --run, expected the suite alone, as in: rubric score suite.json --run RUN")
	case run == "" && len(args) != 2:
		return rec, usageError("score: expected a suite and a log, as in: rubric score suite.json log.jsonl (or a suite and --run RUN)")
	}
	if run != "" {
		for _, f := range []string{"preset", "map", "skip-invalid", "target-name"} {
			if cliCtx.IsSet(f) {
				return rec, usageError("score: --%s reads a log; with --run the responses come from the run", f)
			}
		}
		dir, err := findRun(cliCtx.Context, run, cliCtx.String("out"))
		if err != nil {
			return rec, withCode(exitBadInput, fmt.Errorf("score --run: %w", err))
		}
		rec.Run = dir
		return rec, nil
	}
	preset := cliCtx.String("preset")
	if preset == "none" {
		preset = ""
	}
	m, err := datasets.NewMapping(preset, cliCtx.StringSlice("map"))
	if err != nil {
		return rec, usageError("score: %v", err)
	}
	rec.Log, rec.Mapping = args[1], m
	return rec, nil
}
