package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/runner/report"
	"github.com/rubric-eval/rubric/runner/rundir"
	"github.com/rubric-eval/rubric/runner/session"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write the summary, JUnit, Markdown, CSV or HTML of finished runs, from their run folders, without running anything",
		ArgsUsage: "RUN...",
		Description: `RUN is a run folder, a run id, latest (the newest under --out), SUITE@latest or
SUITE@~N (the Nth run of suite SUITE before its latest). With no output flag, the
terminal summary of each run goes to stdout. One of --junit, --markdown,
--csv and --html may be '-' for stdout. Several runs go into one file, a
suite each.

The exit code is the runs' verdict, read from their report.json, as rubric
run exited: 0 every gate held; 1 a gate failed; 3 a run did not complete or
broke its error budget.`,
		Flags: append(ciFlags(),
			outFlag("`DIR` where run ids are looked up, as given to rubric run --out"),
		),
		Action: func(cliCtx *cli.Context) error {
			if cliCtx.NArg() == 0 {
				return usageError("report: expected one or more run folders or run ids, as in: rubric report rubric-runs/RUN_ID --junit junit.xml")
			}
			ci, err := newCIOutputs(cliCtx, true, false)
			if err != nil {
				return err
			}
			runs := make([]*rundir.Finished, cliCtx.NArg())
			for i, ref := range cliCtx.Args().Slice() {
				if runs[i], err = readRun(cliCtx.Context, ref, cliCtx.String("out")); err != nil {
					return withCode(exitBadInput, err)
				}
			}
			return writeReports(runs, ci, cliCtx.App.Writer)
		},
	}
}

// writeReports writes the outputs ci asks for, or, when it asks for none,
// each run's terminal summary to stdout. It returns the runs' verdict, so
// that rubric report exits as they did.
func writeReports(runs []*rundir.Finished, ci *ciOutputs, stdout io.Writer) error {
	verdict := runsVerdict(runs)
	if !ci.any() {
		for i, r := range runs {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			if err := report.Text(stdout, r.Summary, report.Style{Color: useColor(stdout)}); err != nil {
				return withCode(exitIncomplete, err)
			}
		}
		return verdict
	}
	var names []string
	for _, r := range runs {
		for _, t := range r.Summary.Targets {
			for _, c := range t.Criteria {
				names = append(names, c.Name)
			}
		}
	}
	if ci.paths[outJUnit] != "" {
		if err := checkDistinctRuns(runs); err != nil {
			return err
		}
	}
	if err := ci.open(firstSeen(names)); err != nil {
		return err
	}
	for _, r := range runs {
		if err := ci.suite(r.Summary, r.Results); err != nil {
			return ci.finish(withCode(exitBadInput, err))
		}
	}
	return ci.finish(verdict)
}

// runsVerdict is the verdict of the runs, each read from its report as
// verdictError reads it: exit 3 when one did not complete or broke its error
// budget, else exit 1 when a gate of one failed, else nil.
func runsVerdict(runs []*rundir.Finished) error {
	var errs []error
	code := exitOK
	for _, r := range runs {
		if err := session.VerdictError(r.Summary, r.Results); err != nil {
			errs = append(errs, err)
			code = max(code, exitCode(err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return withCode(code, errors.Join(errs...))
}

// checkDistinctRuns rejects runs whose JUnit test suites would share a name:
// two runs of one suite and target, or one run given twice. The CSV and
// Markdown outputs tell them apart by run id; JUnit readers do not.
func checkDistinctRuns(runs []*rundir.Finished) error {
	cs := make([]ciSuite, len(runs))
	for i, r := range runs {
		cs[i] = ciSuite{name: r.Summary.Suite, file: filepath.Dir(r.Report)}
		for _, t := range r.Summary.Targets {
			cs[i].targets = append(cs[i].targets, t.Name)
		}
	}
	c := ciClashes(cs)
	switch {
	case len(c) == 0:
		return nil
	case c[0].same:
		return usageError("report: run %s is given twice", c[0].later.file)
	}
	return usageError("report: runs %s and %s are both of suite %q with %s: their JUnit test suites would both be named %q; write each run's --junit to its own file",
		c[0].earlier.file, c[0].later.file, c[0].later.name, targetList(c[0].targets), c[0].junitName())
}
