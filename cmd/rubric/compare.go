package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/report"
	"github.com/rubric-eval/rubric/runner/session"
)

func compareCommand() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "compare two finished runs case by case, without running anything",
		ArgsUsage: "RUN BASELINE",
		Description: "RUN and BASELINE are run folders, their report.json, run ids, latest (under --out),\n" +
			"or SUITE@latest and SUITE@~N (the Nth run of suite SUITE before its latest, from the history).\n" +
			"Each target of RUN is matched with the baseline target of the same name, or\n" +
			"with the baseline's only target. Exit code 1 when a --gate fails.",
		Flags: []cli.Flag{
			outFlag("`DIR` where run ids (and latest) are looked up, as given to rubric run --out"),
			&cli.StringSliceFlag{Name: "gate", Usage: "check gate `EXPR` on RUN's targets, with the comparison as its baseline (repeatable): regressions <= 0, delta.pass_rate >= -0.02"},
			&cli.BoolFlag{Name: "json", Usage: "print the comparisons as JSON instead of text"},
		},
		Action: compareRuns,
	}
}

// compareRuns is rubric compare: RUN against BASELINE, printed, and gated
// when --gate asks.
func compareRuns(cliCtx *cli.Context) error {
	if cliCtx.NArg() != 2 {
		return usageError("compare: expected two runs, as in: rubric compare rubric-runs/NEW rubric-runs/OLD")
	}
	gates, err := parseGateFlags(cliCtx.StringSlice("gate"))
	if err != nil {
		return err
	}
	out := cliCtx.String("out")
	cur, err := readRun(cliCtx.Context, cliCtx.Args().Get(0), out)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	base, err := readRun(cliCtx.Context, cliCtx.Args().Get(1), out)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	curOut, err := session.ReadOutcomes(cur.Results)
	if err != nil {
		return err
	}
	if err := session.CompareWithBaseline(cur.Summary, curOut, base, cliCtx.App.ErrWriter); err != nil {
		return err
	}
	stdout, asJSON := cliCtx.App.Writer, cliCtx.Bool("json")
	if err := printComparisons(stdout, cur.Summary, asJSON); err != nil {
		return err
	}
	if len(gates) == 0 {
		return nil
	}
	v := runner.CheckGates(gates, cur.Summary.Targets)
	if !asJSON {
		if err := report.GateText(stdout, v, report.Style{Color: useColor(stdout)}); err != nil {
			return err
		}
	}
	if v.Held {
		return nil
	}
	var msgs []string
	for _, g := range v.Results {
		if !g.Held {
			msgs = append(msgs, g.Message)
		}
	}
	return withCode(exitGateFailed, fmt.Errorf("gate failed:\n  %s", strings.Join(msgs, "\n  ")))
}

// parseGateFlags parses --gate expressions, every problem at once.
func parseGateFlags(exprs []string) ([]evals.Gate, error) {
	var gates []evals.Gate
	var probs evals.Problems
	for _, e := range exprs {
		g, err := evals.ParseGate(e)
		if err != nil {
			probs = append(probs, evals.Problem{File: "--gate", Msg: err.Error()})
		}
		gates = append(gates, g)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return gates, nil
}

// printComparisons prints each target's comparison, as text or as JSON.
func printComparisons(stdout io.Writer, sum *evals.Summary, asJSON bool) error {
	if asJSON {
		var cs []evals.Comparison
		for _, t := range sum.Targets {
			if t.Comparison != nil {
				cs = append(cs, *t.Comparison)
			}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cs)
	}
	st := report.Style{Color: useColor(stdout)}
	for _, t := range sum.Targets {
		if t.Comparison != nil {
			if err := report.ComparisonText(stdout, *t.Comparison, st); err != nil {
				return err
			}
		}
	}
	return nil
}
