package main

import (
	"fmt"

	"github.com/rubric-eval/rubric/runner/build"
	"github.com/urfave/cli/v2"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check suites, their datasets, criteria and targets without sending a request",
		ArgsUsage: "SUITE...",
		Flags:     targetFlags(),
		Action: func(cliCtx *cli.Context) error {
			if cliCtx.NArg() == 0 {
				return usageError("validate: expected one or more suite files, as in: rubric validate suite.json")
			}
			suites, err := build.LoadAll(cliCtx.Context, cliCtx.Args().Slice(), build.Options{Load: loadOptions(cliCtx), Targets: true, Dataset: true})
			if err != nil {
				return err
			}
			defer closeSuites(suites)
			for _, s := range suites {
				fmt.Fprintf(cliCtx.App.Writer, "ok  %s: %s, %s, %s\n", s.Suite.Path,
					plural(s.Cases, "case"), countCriteria(len(s.Criteria)), plural(len(s.Targets), "target"))
			}
			return nil
		},
	}
}

func countCriteria(n int) string {
	if n == 1 {
		return "1 criterion"
	}
	return fmt.Sprintf("%d criteria", n)
}
