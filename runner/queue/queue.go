package queue

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	// River is a job queue in PostgreSQL for Go, on pgx: unique jobs,
	// batched inserts, a job completed in the caller's transaction
	// (JobCompleteTx), and the rescue of jobs whose worker died, which are
	// what a run spread over machines needs and would take long to write
	// and prove by hand.
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/store"
)

// Name is the River queue rubric's jobs go in.
const Name = "rubric"

// Queue is the job queue at a PostgreSQL URL: River's tables and rubric's
// (rubric_queue_runs, rubric_queue_results, rubric_queue_rates).
type Queue struct {
	pool  *pgxpool.Pool
	river *river.Client[pgx.Tx] // inserts only
	// where is the URL with its password redacted, for errors; secrets
	// are the password as the URL spells it and decoded, scrubbed from
	// every error as a last guard.
	where   string
	secrets []string
	log     *slog.Logger
}

// Open connects to the queue at rawURL, with a pool of up to conns
// connections (0: pgx's default), and makes or brings up to date its
// tables: River's (rivermigrate) and rubric's, in one transaction under an
// advisory lock, so that processes starting at once take turns. River's
// warnings go to logs. Errors name the database by its URL with the
// password redacted, and never hold the password.
func Open(ctx context.Context, rawURL string, conns int, logs io.Writer) (*Queue, error) {
	where, secrets := history.RedactURLSecrets(rawURL)
	q := &Queue{where: where, secrets: secrets}
	if logs == nil {
		logs = io.Discard
	}
	q.log = slog.New(slog.NewTextHandler(&scrubbed{w: logs, secrets: secrets}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if !store.IsPostgresURL(rawURL) {
		return nil, q.wrap(fmt.Errorf("%w: give a postgres:// or postgresql:// URL", history.ErrBadURL))
	}
	cfg, err := history.PoolConfig(rawURL)
	if err != nil {
		// pgx's message may quote a URL it could not parse whole.
		return nil, q.wrap(history.ErrBadURL)
	}
	if conns > 0 {
		// Migrating holds one connection while River's migrations take
		// another.
		cfg.MaxConns = int32(max(conns, 2))
	}
	if q.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, q.wrap(err)
	}
	if err := q.migrate(ctx); err != nil {
		q.pool.Close()
		return nil, q.wrap(err)
	}
	q.river, err = river.NewClient(riverpgxv5.New(q.pool), &river.Config{Logger: q.log, SkipUnknownJobCheck: true})
	if err != nil {
		q.pool.Close()
		return nil, q.wrap(err)
	}
	return q, nil
}

// Where returns the queue's URL with its password redacted.
func (q *Queue) Where() string { return q.where }

// Close closes the connections.
func (q *Queue) Close() { q.pool.Close() }

// migrateLock is the key of the advisory lock migrations hold (the
// history's is ...0001).
const migrateLock int64 = 0x7275627269630002 // "rubric" 0002

// migrations are rubric's tables of the queue, in order;
// rubric_queue_version holds how many have been applied. Append new ones;
// never edit one that has shipped.
//
//   - rubric_queue_runs: a run's suite, as the coordinator loaded it: its
//     files (absolute paths) and their SHA-256, and the load options
//     (config, targets, --set without secrets, gates); a job names its run.
//   - rubric_queue_results: a result per run, target, case and repeat (the
//     key: a case never has two), as its journal line; n orders them and
//     journaled marks those the coordinator has written to the journal.
//   - rubric_queue_rates: a rate limit's bucket per run, endpoint and rate:
//     its theoretical arrival time, in seconds of the server's clock.
var migrations = []string{
	`CREATE TABLE rubric_queue_runs (
		run     text COLLATE "C" PRIMARY KEY,
		source  jsonb NOT NULL,
		created timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE rubric_queue_results (
		run       text COLLATE "C" NOT NULL,
		target    text COLLATE "C" NOT NULL,
		case_id   text COLLATE "C" NOT NULL,
		repeat    integer NOT NULL,
		n         bigint GENERATED ALWAYS AS IDENTITY,
		journaled boolean NOT NULL DEFAULT false,
		result    text NOT NULL,
		PRIMARY KEY (run, target, case_id, repeat)
	);
	CREATE INDEX rubric_queue_results_new ON rubric_queue_results (run, n) WHERE NOT journaled;
	CREATE TABLE rubric_queue_rates (
		run      text COLLATE "C" NOT NULL,
		endpoint text COLLATE "C" NOT NULL,
		rate     text NOT NULL,
		tat      double precision NOT NULL,
		PRIMARY KEY (run, endpoint, rate)
	)`,
}

// migrate brings River's tables and rubric's up to date under an advisory
// lock, which a connection of its own holds: River's migrations each take
// a transaction of their own (one adds a value to an enum that the next
// uses), and rubric's take one.
func (q *Queue) migrate(ctx context.Context) error {
	conn, err := q.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLock)
	m, err := rivermigrate.New(riverpgxv5.New(q.pool), &rivermigrate.Config{Logger: q.log})
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrating River's tables: %w", err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := history.MigrateTx(ctx, tx, "rubric_queue_version", "queue schema version", migrations); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// wrap names the queue in err and scrubs its password from it.
func (q *Queue) wrap(err error) error {
	if err == nil {
		return nil
	}
	return &Error{where: q.where, err: err, secrets: q.secrets}
}

// Error is an error of the queue: its text names the database, with every
// secret of the URL redacted.
type Error struct {
	where   string
	err     error
	secrets []string
}

func (e *Error) Error() string { return scrub("queue "+e.where+": "+e.err.Error(), e.secrets) }

func (e *Error) Unwrap() error { return e.err }

func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, evals.Redacted)
	}
	return s
}

// scrubbed writes what River logs with the URL's secrets redacted.
type scrubbed struct {
	w       io.Writer
	secrets []string
}

func (s *scrubbed) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, scrub(string(p), s.secrets)); err != nil {
		return 0, err
	}
	return len(p), nil
}
