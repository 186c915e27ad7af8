package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/session"
)

func mergeCommand() *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "join the runs of a suite's shards (rubric run --shard K/N) into one run: its report, gate verdict and CI outputs, as if it ran in one process",
		ArgsUsage: "RUN...",
		Description: "Each RUN is a shard's run: its folder, its id under --out, latest, or from the run history SUITE@latest or SUITE@~N.\n" +
			"Nothing is sent: the shards' results are checked, joined and aggregated.",
		Flags: append(ciFlags(),
			outFlag("folder for run outputs; the merged run goes to `DIR`/RUN_ID/{results.jsonl,report.json,run.json}, and RUN ids are looked up in it"),
			&cli.StringFlag{Name: "suite", Usage: "the suite `FILE` the shards ran, when it is not at the path their run.json names (another machine's checkout); it must hash the same"},
			&cli.StringFlag{Name: "config", Usage: "the project config `FILE` the shards ran with, when it is not at the path their run.json names (default: that path)"},
			gateFlag(),
			&cli.StringFlag{Name: "baseline", Usage: "compare with the earlier run `RUN` (its folder, report.json, id, latest, SUITE@latest or SUITE@~N; default: the run the shards were compared with, if any)"},
			noHistoryFlag(),
		),
		Action: func(cliCtx *cli.Context) error {
			if cliCtx.NArg() == 0 {
				return usageError("merge: expected the runs of every shard, as in: rubric merge runs/RUN_1 runs/RUN_2 runs/RUN_3")
			}
			out := cliCtx.String("out")
			var dirs []string
			for _, ref := range cliCtx.Args().Slice() {
				dir, err := findRun(cliCtx.Context, ref, out)
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("merge: %w", err))
				}
				dirs = append(dirs, dir)
			}
			opts := session.Options{
				Out:     out,
				Build:   build.Options{Load: evals.LoadOptions{Gates: cliCtx.StringSlice("gate")}, Environ: os.Environ},
				Summary: summaryPrinter(cliCtx.App.Writer),
				Stderr:  cliCtx.App.ErrWriter,
			}
			ci, err := newCIOutputs(cliCtx, false, true)
			if err != nil {
				return err
			}
			if ci.any() {
				opts.Outputs = ci
			}
			if b := cliCtx.String("baseline"); b != "" {
				if opts.Baseline, err = readRun(cliCtx.Context, b, out); err != nil {
					return withCode(exitBadInput, fmt.Errorf("--baseline: %w", err))
				}
			}
			var closeHistory func()
			opts.History, closeHistory = historyOption(cliCtx)
			defer closeHistory()
			mo := session.MergeOptions{Suite: cliCtx.String("suite"), ConfigPath: cliCtx.String("config")}
			return ci.finish(session.Merge(cliCtx.Context, dirs, mo, opts).Err)
		},
	}
}
