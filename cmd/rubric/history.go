package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
	"github.com/rubric-eval/rubric/runner/store"
)

func historyCommand() *cli.Command {
	return &cli.Command{
		Name:  "history",
		Usage: "list the runs recorded in the run history, newest first",
		Description: `Every rubric run and rubric score is recorded, when it ends, in history.db
next to the response cache (or at $RUBRIC_HISTORY). Runs of this host whose
folder was moved or deleted are listed as missing; --prune forgets them.
A run recorded or pushed on another host is listed "on HOST" and never
missing: its folder is there, and --prune keeps it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "suite", Usage: "only the runs of suite `NAME` (its name, not its file)"},
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "only the runs that ran target `NAME`"},
			&cli.IntFlag{Name: "limit", Value: 20, Usage: "list the newest `N` runs; 0 for all"},
			&cli.BoolFlag{Name: "json", Usage: "print the runs as one JSON array"},
			&cli.BoolFlag{Name: "prune", Usage: "first forget the runs (of --suite and --target, when given) whose folder is gone"},
		},
		Action: listHistory,
	}
}

// listHistory is rubric history.
func listHistory(cliCtx *cli.Context) error {
	if cliCtx.NArg() > 0 {
		return usageError("history: expected no arguments, got %q (filter with --suite NAME or --target NAME)", cliCtx.Args().First())
	}
	f := history.Filter{Suite: cliCtx.String("suite"), Target: cliCtx.String("target"), Limit: cliCtx.Int("limit")}
	if f.Limit < 0 {
		return usageError("history: --limit must be 0 (all) or more, got %d", f.Limit)
	}
	ctx, stdout, stderr := cliCtx.Context, cliCtx.App.Writer, cliCtx.App.ErrWriter
	var h history.Store
	var err error
	if cliCtx.Bool("prune") {
		h, err = openHistory(ctx)
	} else {
		h, err = openHistoryToRead(ctx)
	}
	if err != nil {
		return withCode(historyErrorCode(err), err)
	}
	var runs []history.Run
	if h != nil {
		defer h.Close()
		if cliCtx.Bool("prune") {
			if err := prune(ctx, h, f, stderr); err != nil {
				return withCode(exitIncomplete, err)
			}
		}
		if runs, err = h.Runs(ctx, f); err != nil {
			return withCode(exitBadInput, err)
		}
	}
	if cliCtx.Bool("json") {
		if runs == nil {
			runs = []history.Run{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(runs)
	}
	if len(runs) == 0 {
		path, _ := history.DefaultPath(os.Getenv)
		if h == nil {
			fmt.Fprintf(stderr, "rubric: no run recorded yet (the history will be %s)\n", path)
		} else {
			fmt.Fprintf(stderr, "rubric: no run in the history %s%s\n", historyWhere(h), filterText(f))
		}
		return nil
	}
	return historyTable(stdout, runs)
}

// prune forgets the runs f selects whose folder is gone, and says how
// many on stderr.
func prune(ctx context.Context, h history.Store, f history.Filter, stderr io.Writer) error {
	gone, err := history.Prune(ctx, h, f)
	if err != nil {
		return err
	}
	what := "whose folders are gone"
	if len(gone) == 1 {
		what = "whose folder is gone"
	}
	fmt.Fprintf(stderr, "rubric: history: forgot %s %s\n", plural(len(gone), "run"), what)
	return nil
}

func filterText(f history.Filter) string {
	var parts []string
	if f.Suite != "" {
		parts = append(parts, "suite "+f.Suite)
	}
	if f.Target != "" {
		parts = append(parts, "target "+f.Target)
	}
	if len(parts) == 0 {
		return ""
	}
	return " of " + strings.Join(parts, " and ")
}

// historyTable prints the runs, a line per target, the run's own columns
// on its first, and last what is amiss with it: incomplete, missing, or
// on another host (pushed from there: its folder is there).
func historyTable(w io.Writer, runs []history.Run) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\twhen\tsuite\tkind\ttarget\tmodel\tpass rate\tgate\tcommit\tbranch")
	for _, r := range runs {
		suite := r.Suite
		if r.SuiteVersion != "" {
			suite += " (" + r.SuiteVersion + ")"
		}
		gate := "none"
		if r.GateHeld != nil {
			gate = map[bool]string{true: "held", false: "failed"}[*r.GateHeld]
		}
		var notes []string
		if !r.Complete {
			notes = append(notes, "incomplete")
		}
		if r.Missing {
			notes = append(notes, "missing")
		}
		if r.Elsewhere() {
			notes = append(notes, "on "+r.Host)
		}
		targets := r.Targets
		if len(targets) == 0 {
			targets = []history.Target{{Name: "-"}}
		}
		for i, t := range targets {
			cells := []string{"", "", "", ""}
			if i == 0 {
				cells = []string{r.ID, r.Started.Local().Format("2006-01-02 15:04"), suite, r.Kind}
			}
			rate := "-"
			if t.Cases > 0 {
				rate = fmt.Sprintf("%.1f%% [%.1f-%.1f]", t.PassRate*100, t.PassRateLo*100, t.PassRateHi*100)
			}
			cells = append(cells, t.Name, dash(t.Model), rate)
			if i == 0 {
				cells = append(cells, gate, dash(r.GitCommit[:min(len(r.GitCommit), 7)]), dash(r.GitBranch))
				if len(notes) > 0 {
					cells = append(cells, strings.Join(notes, ", "))
				}
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// openHistory opens the run history for writing, creating it if need be:
// the team's in PostgreSQL when $RUBRIC_DB is a postgres:// URL, else the
// SQLite file.
func openHistory(ctx context.Context) (history.Store, error) {
	// Each returns a nil interface with an error, not a nil pointer in one.
	if u := history.TeamURL(os.Getenv); u != "" {
		h, err := history.OpenPostgres(ctx, u)
		if err != nil {
			return nil, err
		}
		return h, nil
	}
	path, err := history.DefaultPath(os.Getenv)
	if err != nil {
		return nil, err
	}
	h, err := history.Open(path)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// openHistoryToRead opens the run history for reading, while runs may
// record in it; nil when there is none yet. A file of an older schema is
// opened for writing once, which brings it up to date; so is a team's
// database, whose schema PostgreSQL keeps apart from what runs write.
func openHistoryToRead(ctx context.Context) (history.Store, error) {
	if history.TeamURL(os.Getenv) != "" {
		return openHistory(ctx)
	}
	path, err := history.DefaultPath(os.Getenv)
	if err != nil {
		return nil, err
	}
	h, err := history.OpenReadOnly(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	case errors.Is(err, store.ErrOutdated):
		return openHistory(ctx)
	case err != nil:
		return nil, err
	}
	return h, nil
}

// historyErrorCode is the exit code of a history that could not be opened
// or read: 3 for a team database that could not be reached (the run could
// not complete), 2 for a file or a URL that is wrong.
func historyErrorCode(err error) int {
	if history.TeamURL(os.Getenv) != "" && !errors.Is(err, history.ErrBadURL) {
		return exitIncomplete
	}
	return exitBadInput
}

// historyWhere names a history in messages: its file, or its database's
// URL without the password.
func historyWhere(h history.Store) string {
	switch h := h.(type) {
	case *history.SQLite:
		return h.Path()
	case *history.Postgres:
		return h.Where()
	}
	return "(the history)"
}

// historyRecorder is the run history a command records its runs in,
// opened the first time a run ends.
type historyRecorder struct {
	once sync.Once
	h    history.Store
	err  error
}

// historyOption returns what session.Options.History takes, and a function
// that closes the history at the end of the command; nil when --no-history
// or $RUBRIC_NO_HISTORY turn recording off.
func historyOption(cliCtx *cli.Context) (open func() (history.Store, error), close func()) {
	if cliCtx.Bool("no-history") || history.Off(os.Getenv) {
		return nil, func() {}
	}
	r := &historyRecorder{}
	open = func() (history.Store, error) {
		// A run interrupted by Ctrl-C is recorded too.
		r.once.Do(func() { r.h, r.err = openHistory(context.WithoutCancel(cliCtx.Context)) })
		if r.err != nil {
			return nil, r.err
		}
		return r.h, nil
	}
	return open, func() {
		if r.h != nil {
			if err := r.h.Close(); err != nil {
				fmt.Fprintf(cliCtx.App.ErrWriter, "rubric: history: %v\n", err)
			}
		}
	}
}

func noHistoryFlag() cli.Flag {
	return &cli.BoolFlag{Name: "no-history", Usage: "do not record the run in the run history (as $" + history.EnvOff + "=1 does)"}
}

// runRef turns a run reference into what rundir's functions take:
// SUITE@latest and SUITE@~N become the run's folder, from the history; a
// run id that is not under out, the folder the history records for it. A
// folder, a file, an id under out and latest are returned as given, as is
// anything the history does not know, for rundir to refuse.
func runRef(ctx context.Context, ref, out string) (string, error) {
	if ref == rundir.Latest || exists(ref) || exists(filepath.Join(out, ref)) {
		return ref, nil
	}
	named, isRef := history.ParseRef(ref)
	h, err := openHistoryToRead(ctx)
	if !isRef {
		if err != nil || h == nil {
			return ref, nil
		}
		defer h.Close()
		if r, err := h.Get(ctx, ref); err == nil && !r.Missing {
			return r.Dir, nil
		}
		return ref, nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", ref, err)
	}
	if h == nil {
		path, _ := history.DefaultPath(os.Getenv)
		return "", fmt.Errorf("%s: no run recorded yet (the history will be %s); rubric run and rubric score record each run as it ends", ref, path)
	}
	defer h.Close()
	r, err := history.Find(ctx, h, named)
	if err != nil {
		return "", err
	}
	return r.Dir, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readRun is rundir.ReadRun of a run reference (runRef).
func readRun(ctx context.Context, ref, out string) (*rundir.Finished, error) {
	ref, err := runRef(ctx, ref, out)
	if err != nil {
		return nil, err
	}
	return rundir.ReadRun(ref, out)
}

// findRun is rundir.Find of a run reference (runRef).
func findRun(ctx context.Context, ref, out string) (string, error) {
	ref, err := runRef(ctx, ref, out)
	if err != nil {
		return "", err
	}
	return rundir.Find(ref, out)
}
