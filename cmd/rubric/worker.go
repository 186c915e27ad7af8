package main

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/queue"
	"github.com/rubric-eval/rubric/runner/store"
)

func workerCommand() *cli.Command {
	return &cli.Command{
		Name:  "worker",
		Usage: "take the cases of runs sent with rubric run --queue from the job queue, send and score them, and store their results",
		Description: `A worker runs until interrupted (Ctrl-C or SIGTERM: the jobs in flight get
--grace to finish; the others are left for other workers), taking jobs of
any run in the queue at --queue. It needs each run's suite, dataset and
config at the paths the run recorded, with the same SHA-256, and the
environment variables its targets name (API keys). See docs/workers.md.

Exit codes: 0 stopped by a signal after its jobs finished; 2 a mistake on
the command line; 3 the queue could not be reached.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "queue", Required: true, Usage: "the job queue: the PostgreSQL database at `URL`, as given to rubric run --queue"},
			&cli.IntFlag{Name: "concurrency", Value: evals.DefaultConcurrency, Usage: "run up to `N` jobs at once (a target's own concurrency bounds its requests in flight as well)"},
			&cli.DurationFlag{Name: "lease", Value: queue.DefaultLease, Usage: "how long (`DURATION`) a job may take: past it, it is canceled and tried again; a job whose worker died is tried again a little after it"},
			&cli.DurationFlag{Name: "grace", Value: 30 * time.Second, Usage: "once interrupted, how long (`DURATION`) the jobs in flight may finish"},
			&cli.DurationFlag{Name: "idle", Value: queue.DefaultIdle, Usage: "close a run's suite (its scorer processes, its cases in memory) after `DURATION` with no job of the run; a later job builds it again"},
			&cli.BoolFlag{Name: "no-cache", Usage: "neither read nor write the response cache"},
		},
		Action: worker,
	}
}

// worker is rubric worker.
func worker(cliCtx *cli.Context) error {
	u, stderr := cliCtx.String("queue"), cliCtx.App.ErrWriter
	if !store.IsPostgresURL(u) {
		return usageError("worker: --queue takes a PostgreSQL URL, as in --queue postgres://USER@HOST/DB, got %q", history.RedactURL(u))
	}
	n, lease, idle := cliCtx.Int("concurrency"), cliCtx.Duration("lease"), cliCtx.Duration("idle")
	if n < 1 || lease <= 0 || idle <= 0 {
		return usageError("worker: --concurrency must be 1 or more, --lease and --idle above 0, got %d, %s and %s", n, lease, idle)
	}
	ctx := cliCtx.Context
	// A job holds a connection only to check for and store its result,
	// and to take its rate limits' turns, not while it waits for the
	// endpoint: a few connections serve many jobs, and PostgreSQL's
	// connections are few (100 by default) for every worker together.
	q, err := queue.Open(ctx, u, min(n+4, 16), stderr)
	if err != nil {
		if ctx.Err() != nil {
			return withCode(exitInterrupted, err)
		}
		return withCode(exitIncomplete, fmt.Errorf("worker: %w", err))
	}
	defer q.Close()
	cache := newCache(cliCtx.Bool("no-cache"), stderr)
	defer cache.close()
	fmt.Fprintf(stderr, "rubric: worker: taking jobs from %s (%d at once, lease %s)\n", q.Where(), n, lease)
	err = queue.Work(ctx, q, queue.WorkerOptions{
		Concurrency: n, Lease: lease, Grace: cliCtx.Duration("grace"), Idle: idle, Stderr: stderr,
		Build: build.Options{Cache: cache.open, Environ: os.Environ},
	})
	if err != nil {
		return withCode(exitIncomplete, fmt.Errorf("worker: %w", err))
	}
	fmt.Fprintln(stderr, "rubric: worker: stopped")
	return nil
}
