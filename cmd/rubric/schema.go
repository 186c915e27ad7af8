package main

import (
	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals"
)

func schemaCommand() *cli.Command {
	return &cli.Command{
		Name:  "schema",
		Usage: "print the JSON Schema of suite files (or, with --config, of rubric.config.json)",
		Description: `Save it next to your suites and name it in "$schema" for editor completion:
   rubric schema > suite.schema.json`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "config", Usage: "print the project config's schema instead"},
		},
		Action: func(cliCtx *cli.Context) error {
			if cliCtx.NArg() > 0 {
				return usageError("schema: takes no arguments")
			}
			out := evals.SchemaJSON
			if cliCtx.Bool("config") {
				out = evals.ConfigSchemaJSON()
			}
			_, err := cliCtx.App.Writer.Write(out)
			return err
		},
	}
}
