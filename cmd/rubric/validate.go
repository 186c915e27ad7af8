package main

import (
	"fmt"

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
			suites, err := loadAll(cliCtx.Context, cliCtx.Args().Slice(), loadOptions(cliCtx))
			if err != nil {
				return err
			}
			for _, l := range suites {
				fmt.Fprintf(cliCtx.App.Writer, "ok  %s: %s, %s, %s\n", l.suite.Path,
					plural(l.cases, "case"), countCriteria(len(l.criteria)), plural(len(l.targets), "target"))
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
