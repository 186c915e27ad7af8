package main

import (
	"fmt"

	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/session"
	"github.com/urfave/cli/v2"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check suites, their datasets, criteria and targets without sending a request",
		ArgsUsage: "SUITE...",
		Flags:     append(targetFlags(), leakFlags()...),
		Action: func(cliCtx *cli.Context) error {
			if cliCtx.NArg() == 0 {
				return usageError("validate: expected one or more suite files, as in: rubric validate suite.json")
			}
			lo, err := leakOptions(cliCtx)
			if err != nil {
				return err
			}
			suites, err := build.LoadAll(cliCtx.Context, cliCtx.Args().Slice(), build.Options{Load: loadOptions(cliCtx), Targets: true, Dataset: true})
			if err != nil {
				return err
			}
			defer closeSuites(suites)
			leaks, err := session.CheckLeaks(cliCtx.Context, suites, session.Options{Leaks: lo, Stderr: cliCtx.App.ErrWriter})
			if err != nil {
				return err
			}
			for _, s := range suites {
				found := ""
				if rep := leaks[s]; rep != nil && len(rep.Findings) > 0 {
					found = fmt.Sprintf(", %s found in training data (allowed)", plural(len(rep.Findings), "case"))
				}
				fmt.Fprintf(cliCtx.App.Writer, "ok  %s: %s, %s, %s%s\n", s.Suite.Path,
					plural(s.Cases, "case"), countCriteria(len(s.Criteria)), plural(len(s.Targets), "target"), found)
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
