package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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
				Usage: "delete every cached response, or with --older-than those stored before then",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "older-than", Usage: "delete only responses stored more than `AGE` ago: a Go duration (36h, 90m) or days (30d)"},
				},
				Before: func(cliCtx *cli.Context) error {
					if a := cliCtx.String("older-than"); a != "" {
						if _, err := parseAge(a); err != nil {
							return usageError("cache clear: --older-than %q: %v", a, err)
						}
					}
					return nil
				},
				Action: withDB(func(cliCtx *cli.Context, db *store.DB) error {
					var n int64
					var err error
					what := "cached responses"
					if a := cliCtx.String("older-than"); a != "" {
						age, _ := parseAge(a)
						n, err = db.PruneCache(cliCtx.Context, time.Now().Add(-age))
						what += " older than " + a
					} else {
						n, err = db.ClearCache(cliCtx.Context)
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(cliCtx.App.ErrWriter, "rubric: deleted %d %s from %s\n", n, what, db.Path())
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

// parseAge reads an age: a Go duration, or a whole number of days ("30d").
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, errors.New("expected a whole number of days, as in 30d, or a duration such as 36h")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("expected a duration such as 36h or 90m, or days, as in 30d")
	}
	return d, nil
}
