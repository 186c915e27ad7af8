package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/runner/store"
)

func cacheCommand() *cli.Command {
	return &cli.Command{
		Name:  "cache",
		Usage: "show or clear the response cache ($RUBRIC_DB, or rubric.db in the user's cache folder)",
		Subcommands: []*cli.Command{
			{
				Name:  "info",
				Usage: "print the cache's path, entries and size",
				Action: withDB(func(cliCtx *cli.Context, db *store.DB) error {
					st, err := db.CacheStats(cliCtx.Context)
					if err != nil {
						return err
					}
					fmt.Fprintf(cliCtx.App.Writer, "path     %s\nentries  %d\nbytes    %d\n", db.Path(), st.Entries, st.Bytes)
					return nil
				}),
			},
			{
				Name:  "clear",
				Usage: "delete every cached response",
				Action: withDB(func(cliCtx *cli.Context, db *store.DB) error {
					n, err := db.ClearCache(cliCtx.Context)
					if err != nil {
						return err
					}
					fmt.Fprintf(cliCtx.App.ErrWriter, "rubric: deleted %d cached responses from %s\n", n, db.Path())
					return nil
				}),
			},
		},
	}
}

// withDB opens the database for an action and closes it after; failures of
// the database exit 3.
func withDB(action func(*cli.Context, *store.DB) error) cli.ActionFunc {
	return func(cliCtx *cli.Context) error {
		db, err := openDB()
		if err != nil {
			return withCode(exitIncomplete, err)
		}
		err = action(cliCtx, db)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return withCode(exitIncomplete, err)
		}
		return nil
	}
}
