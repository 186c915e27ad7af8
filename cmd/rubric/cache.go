package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func cacheCommand() *cli.Command {
	return &cli.Command{
		Name:  "cache",
		Usage: "show or clear the response cache ($RUBRIC_DB, or rubric.db in the user's cache folder)",
		Subcommands: []*cli.Command{
			{
				Name:  "info",
				Usage: "print the cache's path, entries and size",
				Action: func(cliCtx *cli.Context) error {
					db, err := openDB()
					if err != nil {
						return withCode(exitIncomplete, err)
					}
					defer db.Close()
					st, err := db.CacheStats(cliCtx.Context)
					if err != nil {
						return withCode(exitIncomplete, err)
					}
					fmt.Fprintf(cliCtx.App.Writer, "path     %s\nentries  %d\nbytes    %d\n", db.Path(), st.Entries, st.Bytes)
					return nil
				},
			},
			{
				Name:  "clear",
				Usage: "delete every cached response",
				Action: func(cliCtx *cli.Context) error {
					db, err := openDB()
					if err != nil {
						return withCode(exitIncomplete, err)
					}
					defer db.Close()
					n, err := db.ClearCache(cliCtx.Context)
					if err != nil {
						return withCode(exitIncomplete, err)
					}
					fmt.Fprintf(cliCtx.App.ErrWriter, "rubric: deleted %d cached responses from %s\n", n, db.Path())
					return nil
				},
			},
		},
	}
}
