package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/report"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write the summary, JUnit, Markdown or CSV of finished runs, from their run folders, without running anything",
		ArgsUsage: "RUN...",
		Description: `RUN is a run folder, a run id under --out, or latest. With no output flag, the
terminal summary of each run goes to stdout. One of --junit, --markdown and
--csv may be '-' for stdout. Several runs go into one file, a suite each.

The exit code is the runs' verdict, read from their report.json, as rubric
run exited: 0 every gate held; 1 a gate failed; 3 a run did not complete or
broke its error budget.`,
		Flags: append(ciFlags(),
			&cli.StringFlag{Name: "out", Value: "rubric-runs", Usage: "`DIR` where run ids are looked up, as given to rubric run --out"},
		),
		Action: func(cliCtx *cli.Context) error {
			if cliCtx.NArg() == 0 {
				return usageError("report: expected one or more run folders or run ids, as in: rubric report rubric-runs/RUN_ID --junit junit.xml")
			}
			ci, err := newCIOutputs(cliCtx, true, false)
			if err != nil {
				return err
			}
			runs := make([]*finishedRun, cliCtx.NArg())
			for i, ref := range cliCtx.Args().Slice() {
				if runs[i], err = readRun(ref, cliCtx.String("out")); err != nil {
					return withCode(exitBadInput, err)
				}
			}
			return writeReports(runs, ci, cliCtx.App.Writer)
		},
	}
}

// finishedRun is a run folder's report and the paths of the report and its
// journal.
type finishedRun struct {
	sum     *evals.Summary
	report  string
	results string
}

// readRun reads the report of the run ref names: a folder, its report.json,
// a run id under out, or "latest", the run under out that started last.
func readRun(ref, out string) (*finishedRun, error) {
	if ref == "latest" {
		dir, err := latestRun(out)
		if err != nil {
			return nil, err
		}
		ref = dir
	}
	dir := ref
	if st, err := os.Stat(ref); err == nil && !st.IsDir() {
		dir = filepath.Dir(ref) // report.json itself
	} else if err != nil || !st.IsDir() {
		dir = filepath.Join(out, ref)
	}
	path := filepath.Join(dir, "report.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if _, merr := os.Stat(filepath.Join(dir, "run.json")); merr == nil {
			return nil, fmt.Errorf("run %s: it has no report.json: it did not finish; finish it with rubric run --resume %s", ref, ref)
		}
		return nil, fmt.Errorf("run %s: not a run folder (no report.json); give a folder or id that rubric run printed, with the same --out", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", ref, err)
	}
	var sum evals.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sum.ReportVersion != evals.ReportVersion {
		return nil, fmt.Errorf("%s: report_version %d: expected %d, which this rubric writes and reads", path, sum.ReportVersion, evals.ReportVersion)
	}
	results := sum.ResultsFile
	if results == "" {
		results = "results.jsonl"
	}
	if !filepath.IsAbs(results) {
		results = filepath.Join(dir, results)
	}
	return &finishedRun{sum: &sum, report: path, results: results}, nil
}

// writeReports writes the outputs ci asks for, or, when it asks for none,
// each run's terminal summary to stdout. It returns the runs' verdict, so
// that rubric report exits as they did.
func writeReports(runs []*finishedRun, ci *ciOutputs, stdout io.Writer) error {
	verdict := runsVerdict(runs)
	if !ci.any() {
		for i, r := range runs {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			if err := report.Text(stdout, r.sum, report.Style{Color: useColor(stdout)}); err != nil {
				return withCode(exitIncomplete, err)
			}
		}
		return verdict
	}
	var names []string
	for _, r := range runs {
		for _, t := range r.sum.Targets {
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
		if err := ci.suite(r.sum, r.results); err != nil {
			return ci.finish(withCode(exitBadInput, err))
		}
	}
	return ci.finish(verdict)
}

// runsVerdict is the verdict of the runs, each read from its report as
// verdictError reads it: exit 3 when one did not complete or broke its error
// budget, else exit 1 when a gate of one failed, else nil.
func runsVerdict(runs []*finishedRun) error {
	var errs []error
	code := exitOK
	for _, r := range runs {
		if err := verdictError(r.sum, r.results); err != nil {
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
func checkDistinctRuns(runs []*finishedRun) error {
	cs := make([]ciSuite, len(runs))
	for i, r := range runs {
		cs[i] = ciSuite{name: r.sum.Suite, file: filepath.Dir(r.report)}
		for _, t := range r.sum.Targets {
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
