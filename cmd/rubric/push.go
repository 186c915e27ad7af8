package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
	"github.com/rubric-eval/rubric/runner/session"
	"github.com/rubric-eval/rubric/runner/store"
)

func pushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "upload finished runs to the team's history, the PostgreSQL database $RUBRIC_DB names",
		ArgsUsage: "RUN...",
		Description: `RUN is a run folder, a run id under --out, or latest (the newest under --out).
Each run's record and case index are read from its folder, as they are
recorded when a run ends, and recorded in the history at $RUBRIC_DB, which
must be a postgres:// URL. A run that is not finished (no report.json, or a
report of an interrupted run) is refused before anything is sent. Pushing a
run again replaces its record.

Exit codes: 0 every run pushed; 2 a mistake on the command line, a run that
is not finished or not a run; 3 the database could not be reached or
written.`,
		Flags: []cli.Flag{
			outFlag("`DIR` where run ids are looked up, as given to rubric run --out"),
		},
		Action: push,
	}
}

// push is rubric push.
func push(cliCtx *cli.Context) error {
	if cliCtx.NArg() == 0 {
		return usageError("push: expected one or more run folders or run ids, as in: rubric push rubric-runs/*")
	}
	url := history.TeamURL(os.Getenv)
	if url == "" {
		return usageError("push: $%s is not a PostgreSQL URL: set it to the team's database, as in %s=postgres://USER@HOST/DB", store.EnvPath, store.EnvPath)
	}
	// Every run is read before anything is sent: one that is not finished
	// stops the push whole.
	runs := make([]*rundir.Finished, cliCtx.NArg())
	for i, ref := range cliCtx.Args().Slice() {
		fin, err := rundir.ReadRun(ref, cliCtx.String("out"))
		if err != nil {
			return withCode(exitBadInput, fmt.Errorf("push: %w", err))
		}
		if s := fin.Summary; !s.Complete || s.Interrupted {
			return withCode(exitBadInput, fmt.Errorf("push: run %s is not finished: it was interrupted or stopped early; finish it with rubric run --resume %s", ref, s.RunID))
		}
		runs[i] = fin
	}
	ctx, stderr := cliCtx.Context, cliCtx.App.ErrWriter
	h, err := history.OpenPostgres(ctx, url)
	if err != nil {
		return withCode(historyErrorCode(err), fmt.Errorf("push: %w", err))
	}
	defer h.Close()
	for _, fin := range runs {
		r, err := session.RecordFinished(ctx, h, fin, os.Getenv)
		if err != nil {
			return withCode(exitIncomplete, fmt.Errorf("push: %w", err))
		}
		fmt.Fprintf(stderr, "rubric: pushed run %s (%s, %s) to %s\n", r.ID, r.Suite, plural(casesOf(r), "result"), h.Where())
	}
	return nil
}

// casesOf is the number of results a run's targets hold.
func casesOf(r *history.Run) int {
	n := 0
	for _, t := range r.Targets {
		n += t.Cases
	}
	return n
}
