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
	"github.com/rubric-eval/rubric/runner/rundir"
)

func compareCommand() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "compare two finished runs case by case, without running anything",
		ArgsUsage: "RUN BASELINE",
		Description: "RUN and BASELINE are run folders, their report.json, run ids under --out, or latest.\n" +
			"Each target of RUN is matched with the baseline target of the same name, or\n" +
			"with the baseline's only target. Exit code 1 when a --gate fails.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "rubric-runs", Usage: "`DIR` where run ids (and latest) are looked up, as given to rubric run --out"},
			&cli.StringSliceFlag{Name: "gate", Usage: "check gate `EXPR` on RUN's targets, with the comparison as its baseline (repeatable): regressions <= 0, delta.pass_rate >= -0.02"},
			&cli.BoolFlag{Name: "json", Usage: "print the comparisons as JSON instead of text"},
		},
		Action: func(cliCtx *cli.Context) error {
			if cliCtx.NArg() != 2 {
				return usageError("compare: expected two runs, as in: rubric compare rubric-runs/NEW rubric-runs/OLD")
			}
			var gates []evals.Gate
			var probs evals.Problems
			for _, e := range cliCtx.StringSlice("gate") {
				g, err := evals.ParseGate(e)
				if err != nil {
					probs = append(probs, evals.Problem{File: "--gate", Msg: err.Error()})
				}
				gates = append(gates, g)
			}
			if len(probs) > 0 {
				return probs
			}
			out := cliCtx.String("out")
			cur, err := rundir.ReadRun(cliCtx.Args().Get(0), out)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			base, err := rundir.ReadRun(cliCtx.Args().Get(1), out)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			stdout := cliCtx.App.Writer
			curOut, err := readOutcomes(cur.Results)
			if err != nil {
				return err
			}
			if err := compareWithBaseline(cur.Summary, curOut, base, cliCtx.App.ErrWriter); err != nil {
				return err
			}
			if cliCtx.Bool("json") {
				var cs []evals.Comparison
				for _, t := range cur.Summary.Targets {
					if t.Comparison != nil {
						cs = append(cs, *t.Comparison)
					}
				}
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(cs); err != nil {
					return err
				}
			} else {
				st := report.Style{Color: useColor(stdout)}
				for _, t := range cur.Summary.Targets {
					if t.Comparison != nil {
						if err := report.ComparisonText(stdout, *t.Comparison, st); err != nil {
							return err
						}
					}
				}
			}
			if len(gates) == 0 {
				return nil
			}
			v := runner.CheckGates(gates, cur.Summary.Targets)
			if !cliCtx.Bool("json") {
				if err := report.GateText(stdout, v, report.Style{Color: useColor(stdout)}); err != nil {
					return err
				}
			}
			if !v.Held {
				var msgs []string
				for _, g := range v.Results {
					if !g.Held {
						msgs = append(msgs, g.Message)
					}
				}
				return withCode(exitGateFailed, fmt.Errorf("gate failed:\n  %s", strings.Join(msgs, "\n  ")))
			}
			return nil
		},
	}
}

// outcomes reads the run's results, by target.
func readOutcomes(resultsPath string) (map[string]runner.Outcomes, error) {
	out := map[string]runner.Outcomes{}
	_, err := rundir.ReadJournal(resultsPath, func(r *evals.Result) error {
		o := out[r.Target]
		if o == nil {
			o = runner.Outcomes{}
			out[r.Target] = o
		}
		o.Add(r)
		return nil
	})
	if err != nil {
		return nil, withCode(exitBadInput, fmt.Errorf("reading %s: %w", resultsPath, err))
	}
	return out, nil
}

// compareWithBaseline sets each target's Comparison in sum, whose results
// are curOut, against the baseline run: the baseline target of the same
// name, or the baseline's only target.
func compareWithBaseline(sum *evals.Summary, curOut map[string]runner.Outcomes, base *rundir.Finished, stderr io.Writer) error {
	if sum.Suite != base.Summary.Suite {
		// Renaming a suite is legitimate; comparing two different suites by
		// case id rarely is.
		fmt.Fprintf(stderr, "rubric: warning: comparing suite %q with a run of suite %q (%s); cases are matched by id\n", sum.Suite, base.Summary.Suite, base.Report)
	}
	baseOut, err := readOutcomes(base.Results)
	if err != nil {
		return err
	}
	st := sum.Statistics
	if st == (evals.Statistics{}) {
		st = evals.DefaultStatistics()
	}
	matched := 0
	for i := range sum.Targets {
		t := &sum.Targets[i]
		against, ok := baselineTarget(t.Name, base.Summary)
		if !ok {
			continue
		}
		c := runner.Compare(curOut[t.Name], baseOut[against], t.Name, against, st)
		c.AgainstRun = base.Summary.RunID
		t.Comparison = &c
		matched++
	}
	if matched == 0 {
		var names []string
		for _, t := range base.Summary.Targets {
			names = append(names, t.Name)
		}
		return withCode(exitBadInput, fmt.Errorf("baseline %s: no target to compare with: it has %s, and none has the name of a target here", base.Report, strings.Join(names, ", ")))
	}
	sum.Baseline = &evals.BaselineRef{RunID: base.Summary.RunID, Report: base.Report}
	return nil
}

// baselineTarget picks the baseline target a target is compared with.
func baselineTarget(name string, base *evals.Summary) (string, bool) {
	for _, t := range base.Targets {
		if t.Name == name {
			return name, true
		}
	}
	if len(base.Targets) == 1 {
		return base.Targets[0].Name, true
	}
	return "", false
}

// compareTargets compares, in a run of several targets, each target after
// the first with the first; out are the run's results.
func compareTargets(sum *evals.Summary, out map[string]runner.Outcomes) {
	if len(sum.Targets) < 2 {
		return
	}
	ref := sum.Targets[0].Name
	for _, t := range sum.Targets[1:] {
		sum.Comparisons = append(sum.Comparisons, runner.Compare(out[t.Name], out[ref], t.Name, ref, sum.Statistics))
	}
}
