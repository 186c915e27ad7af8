package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/session"
)

// dryRun is rubric run --dry-run: the suites built and checked as a run
// builds them, every case rendered, and what the run would send printed,
// as a table or as JSON. Nothing is sent, no run folder is made and the
// response cache is not opened.
func dryRun(cliCtx *cli.Context, opts session.Options) error {
	opts.Build.Cache = nil
	suites, err := build.LoadAll(cliCtx.Context, cliCtx.Args().Slice(), opts.Build)
	if err != nil {
		return err
	}
	defer closeSuites(suites)
	if err := checkDistinctSuites(suites); err != nil {
		return err
	}
	plan, err := session.DryRun(cliCtx.Context, suites, opts)
	if err != nil {
		return err
	}
	if cliCtx.Bool("json") {
		enc := json.NewEncoder(cliCtx.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	}
	return printPlan(cliCtx.App.Writer, plan)
}

// dryRunArgs refuses --json without --dry-run, and with it the flags that
// need a run: a dry run writes no results to resume, compare or report.
func dryRunArgs(cliCtx *cli.Context) error {
	if !cliCtx.Bool("dry-run") {
		if cliCtx.Bool("json") {
			return usageError("run: --json prints a dry run's estimates: give it with --dry-run")
		}
		return nil
	}
	for _, f := range append([]string{"resume", "baseline", "shard"}, ciFlagNames[:]...) {
		if cliCtx.IsSet(f) {
			return usageError("run: --dry-run sends nothing and writes no results: --%s has nothing to work on", f)
		}
	}
	return nil
}

// printPlan writes a dry run's plan as a table per suite, the total cost,
// and what the estimates assume.
func printPlan(w io.Writer, plan *session.Plan) error {
	ew := &bytes.Buffer{}
	for i, sp := range plan.Suites {
		if i > 0 {
			fmt.Fprintln(ew)
		}
		reps := ""
		if sp.Repeat > 1 {
			reps = fmt.Sprintf(" x %d repeats", sp.Repeat)
		}
		fmt.Fprintf(ew, "%s (%s): %s%s, nothing sent\n", sp.Suite, sp.Path, plural(sp.Cases, "case"), reps)
		if sp.RenderErrors > 0 {
			fmt.Fprintf(ew, "%s could not be rendered: a run records each as an error and sends nothing for it\n", plural(sp.RenderErrors, "case"))
		}
		fmt.Fprintln(ew)
		estimateTable(ew, "target\tprovider\tmodel\trequests\tprompt tokens\tmax completion tokens\tcost\t", sp.Targets)
		if len(sp.Judges) > 0 {
			fmt.Fprintln(ew)
			estimateTable(ew, "judge\tprovider\tmodel\tcalls\tprompt tokens\tmax completion tokens\tcost\t", sp.Judges)
		}
	}
	if len(plan.Costs) > 0 {
		fmt.Fprintln(ew)
		for _, c := range plan.Costs {
			fmt.Fprintf(ew, "estimated cost: %s\n", costText(&c))
		}
	}
	fmt.Fprint(ew, planNotes)
	if slices.ContainsFunc(plan.Suites, func(sp session.SuitePlan) bool { return len(sp.Judges) > 0 }) {
		fmt.Fprint(ew, judgeNotes)
	}
	_, err := w.Write(ew.Bytes())
	return err
}

// planNotes say what a dry run's figures assume, judgeNotes what a judge's
// do; docs/suite.md says more.
const (
	planNotes = `
Estimates: tokens are counted with OpenAI's tokenizer for the model (o200k_base
for a model it does not know), 3 more per message and 3 per prompt; max
completion tokens are params.max_tokens per request. Cost is prompt tokens x
input price + max completion tokens x output price, an upper bound; ">=" marks
a lower bound, where no max_tokens bounds the answers.
`
	judgeNotes = `A judge is counted as called once per response for each criterion that calls
it, its prompt with an empty response; its cost adds the max_tokens of the
targets judged (">=" when one has none).
`
)

// estimateTable writes the estimates under head, a row each.
func estimateTable(w io.Writer, head string, es []session.Estimate) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, head)
	for _, e := range es {
		completion := "-"
		if e.MaxCompletionTokens != nil {
			completion = strconv.Itoa(*e.MaxCompletionTokens)
		}
		cost := costText(e.Cost)
		if e.Batch && e.Cost != nil {
			cost += " (batch: half price)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t\n", e.Name, e.Provider, e.Model, e.Requests, e.PromptTokens, completion, cost)
	}
	tw.Flush()
}

// costText shows an estimated cost as the run's summary shows costs (2
// decimals, 4 below 0.01), with as many more as a smaller amount needs to
// show two digits; "-" without a price table.
func costText(c *session.Cost) string {
	if c == nil {
		return "-"
	}
	prec := 2
	for v := c.Amount; v > 0 && v < 0.01 && prec < 8; v *= 100 {
		prec += 2
	}
	s := fmt.Sprintf("%.*f %s", prec, c.Amount, c.Currency)
	if c.AtLeast {
		s = ">= " + s
	}
	return s
}
