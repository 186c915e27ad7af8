package history

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	// pgx is PostgreSQL's protocol in pure Go (no cgo, like modernc.org/sqlite
	// for the local history), and the one Go driver with COPY, which records
	// a run of 100,000 cases in one streamed statement.
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/store"
)

// Postgres is a history in PostgreSQL: a team's, shared by everyone who
// sets RUBRIC_DB to its URL. It keeps the tables of the local history
// (runs, run_targets, cases) with the same columns, and behaves the same.
type Postgres struct {
	pool *pgxpool.Pool
	// where is the URL with its password redacted, for errors; secrets are
	// the password as the URL spells it and decoded, scrubbed from every
	// error as a last guard.
	where   string
	secrets []string
}

var _ Store = (*Postgres)(nil)

// connectTimeout bounds a connection attempt when the URL gives no
// connect_timeout: an unreachable server is an error in seconds, not a
// hang.
const connectTimeout = 10 * time.Second

// IsPostgresURL reports whether s, a value of RUBRIC_DB, names a
// PostgreSQL database (postgres:// or postgresql://) rather than a file.
func IsPostgresURL(s string) bool { return store.IsPostgresURL(s) }

// RedactURL returns a PostgreSQL URL as it may be shown: its password, in
// the user part or as a password parameter, replaced by [REDACTED].
func RedactURL(raw string) string {
	shown, _ := redactURL(raw)
	return shown
}

// redactURL returns raw with its passwords redacted, and the passwords as
// raw spells them and decoded. It works on the text, not through
// url.Parse, so that a URL too broken to parse is redacted all the same.
func redactURL(raw string) (shown string, secrets []string) {
	hide := func(s string) {
		if s == "" {
			return
		}
		secrets = append(secrets, s)
		if d, err := url.PathUnescape(s); err == nil && d != s {
			secrets = append(secrets, d)
		}
		if d, err := url.QueryUnescape(s); err == nil && d != s {
			secrets = append(secrets, d)
		}
	}
	shown = raw
	if i := strings.Index(shown, "://"); i >= 0 {
		rest := shown[i+3:]
		hostEnd := len(rest)
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			hostEnd = j
		}
		// The last @ before the path ends the user part; a password may
		// hold an @ written as is.
		if at := strings.LastIndexByte(rest[:hostEnd], '@'); at >= 0 {
			if user, pw, ok := strings.Cut(rest[:at], ":"); ok {
				hide(pw)
				shown = shown[:i+3] + user + ":" + evals.Redacted + rest[at:]
			}
		}
	}
	if q := strings.IndexByte(shown, '?'); q >= 0 {
		params := strings.Split(shown[q+1:], "&")
		for n, p := range params {
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(k, "password") {
				hide(v)
				params[n] = k + "=" + evals.Redacted
			}
		}
		shown = shown[:q+1] + strings.Join(params, "&")
	}
	return shown, secrets
}

// OpenPostgres connects to the history at rawURL and brings its schema up
// to date. Errors name the database by its URL with the password redacted,
// and never hold the password.
func OpenPostgres(ctx context.Context, rawURL string) (*Postgres, error) {
	where, secrets := redactURL(rawURL)
	p := &Postgres{where: where, secrets: secrets}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, p.wrap(fmt.Errorf("not a valid PostgreSQL URL (%s): check %s", parseProblem(err), store.EnvPath))
	}
	if !strings.Contains(rawURL, "connect_timeout=") {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, p.wrap(err)
	}
	p.pool = pool
	if err := p.migrate(ctx); err != nil {
		pool.Close()
		return nil, p.wrap(err)
	}
	return p, nil
}

// parseProblem returns what pgx found wrong in a URL, without the URL: pgx
// redacts what it can, but a URL it cannot parse is one it may not redact,
// and url.Parse's errors quote it whole.
func parseProblem(err error) string {
	msg := err.Error()
	var perr *pgconn.ParseConfigError
	if errors.As(err, &perr) {
		if _, after, ok := strings.Cut(msg, "`: "); ok {
			msg = after
		}
		if inner := errors.Unwrap(perr); inner != nil {
			shown := inner.Error()
			if uerr, ok := errors.AsType[*url.Error](inner); ok {
				shown = uerr.Err.Error()
			}
			msg = strings.Replace(msg, "("+inner.Error()+")", "("+shown+")", 1)
		}
	}
	return msg
}

// wrap names the database in err and scrubs its password from it.
func (p *Postgres) wrap(err error) error {
	if err == nil {
		return nil
	}
	return &pgError{where: p.where, err: err, secrets: p.secrets}
}

// pgError is an error of the PostgreSQL history: its text names the
// database, with every secret of the URL redacted.
type pgError struct {
	where   string
	err     error
	secrets []string
}

func (e *pgError) Error() string {
	msg := "history " + e.where + ": " + e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, evals.Redacted)
	}
	return msg
}

func (e *pgError) Unwrap() error { return e.err }

// migrateLock is the key of the advisory lock that migrations hold: two
// rubric processes opening a new database at once take turns, and the
// second finds the schema made.
const migrateLock int64 = 0x7275627269630001 // "rubric" 0001

// pgMigrations are the schema changes, in order; schema_version holds how
// many have been applied. Append new ones; never edit one that has
// shipped. The tables and columns are the local history's (sqlite.go), in
// PostgreSQL's types: times as timestamptz (microseconds), the report as
// json (kept as written, and open to SQL), lists as text arrays. Ids sort
// by their bytes (COLLATE "C"), as in SQLite and Go.
var pgMigrations = []string{
	`CREATE TABLE runs (
		run_id         text COLLATE "C" PRIMARY KEY,
		kind           text NOT NULL,
		suite          text COLLATE "C" NOT NULL,
		suite_version  text NOT NULL,
		suite_sha256   text NOT NULL,
		dataset_sha256 text NOT NULL,
		git_commit     text NOT NULL,
		git_branch     text NOT NULL,
		started        timestamptz NOT NULL,
		finished       timestamptz,
		complete       boolean NOT NULL,
		gate_held      boolean,
		dir            text NOT NULL,
		report         json
	);
	CREATE INDEX runs_started ON runs (started DESC, run_id DESC);
	CREATE INDEX runs_suite_started ON runs (suite, started DESC, run_id DESC);
	CREATE TABLE run_targets (
		run_id       text COLLATE "C" NOT NULL REFERENCES runs ON DELETE CASCADE,
		pos          integer NOT NULL,
		name         text COLLATE "C" NOT NULL,
		provider     text NOT NULL,
		model        text NOT NULL,
		cases        integer NOT NULL,
		passed       integer NOT NULL,
		pass_rate    double precision NOT NULL,
		pass_rate_lo double precision NOT NULL,
		pass_rate_hi double precision NOT NULL,
		mean         double precision NOT NULL,
		PRIMARY KEY (run_id, pos)
	);
	CREATE INDEX run_targets_name ON run_targets (name);
	CREATE TABLE cases (
		run_id     text COLLATE "C" NOT NULL,
		target     text COLLATE "C" NOT NULL,
		case_id    text COLLATE "C" NOT NULL,
		repeat     integer NOT NULL,
		status     text NOT NULL,
		score      double precision,
		failed     text[],
		error_kind text NOT NULL,
		slices     text[],
		off        bigint NOT NULL,
		len        integer NOT NULL,
		PRIMARY KEY (run_id, target, case_id, repeat)
	)`,
}

// PostgresSchemaVersion is the number of migrations this build of rubric
// knows.
func PostgresSchemaVersion() int { return len(pgMigrations) }

// migrate applies the migrations the database lacks, in one transaction
// that holds an advisory lock, so that two processes opening a new
// database at once do not both create the tables.
func (p *Postgres) migrate(ctx context.Context) error {
	// The common case, an up-to-date database, takes no lock.
	var v int
	var made bool
	if err := p.pool.QueryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&made); err != nil {
		return err
	}
	if made {
		if err := p.pool.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v); err == nil && v == len(pgMigrations) {
			return nil
		}
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`); err != nil {
		return err
	}
	switch err := tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v); {
	case errors.Is(err, pgx.ErrNoRows):
		v = 0
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("reading schema_version: %w", err)
	}
	if v > len(pgMigrations) {
		return fmt.Errorf("written by a newer rubric (schema version %d; this rubric knows %d): upgrade rubric", v, len(pgMigrations))
	}
	if v == len(pgMigrations) {
		return nil // another process migrated it meanwhile
	}
	for i := v; i < len(pgMigrations); i++ {
		if _, err := tx.Exec(ctx, pgMigrations[i]); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "42P07" { // duplicate_table
				return fmt.Errorf("migration %d: %w (another application's table is in the way: give rubric a database of its own, or a schema with ?search_path=rubric)", i+1, err)
			}
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, len(pgMigrations)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Where returns the database's URL with its password redacted.
func (p *Postgres) Where() string { return p.where }

// Record adds r, or replaces the run with its id, and its case index, in
// one transaction: the cases stream into one COPY, never held in memory.
// (cases has no foreign key to runs: checking one per copied row doubled
// the time of a 100,000-case Record; Record and Forget keep the two
// tables together, one run id at a time.)
func (p *Postgres) Record(ctx context.Context, r *Run, cases func(add func(Case) error) error) error {
	return p.wrap(p.record(ctx, r, cases))
}

func (p *Postgres) record(ctx context.Context, r *Run, cases func(add func(Case) error) error) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// Writers of one run take turns (two pushes of a run at once), so that
	// the second replaces the first rather than failing on its key.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, r.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM runs WHERE run_id = $1`, r.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM cases WHERE run_id = $1`, r.ID); err != nil {
		return err
	}
	var report any
	if len(r.Report) > 0 {
		report = string(r.Report)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO runs (run_id, kind, suite, suite_version, suite_sha256,
		dataset_sha256, git_commit, git_branch, started, finished, complete, gate_held, dir, report)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		r.ID, r.Kind, r.Suite, r.SuiteVersion, r.SuiteSHA256, r.DatasetSHA256, r.GitCommit, r.GitBranch,
		r.Started, nullTime(r.Finished), r.Complete, r.GateHeld, r.Dir, report); err != nil {
		return fmt.Errorf("run %s: %w", r.ID, err)
	}
	if len(r.Targets) > 0 {
		var b pgx.Batch
		for i, t := range r.Targets {
			b.Queue(`INSERT INTO run_targets (run_id, pos, name, provider, model, cases, passed,
				pass_rate, pass_rate_lo, pass_rate_hi, mean) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				r.ID, i, t.Name, t.Provider, t.Model, t.Cases, t.Passed, t.PassRate, t.PassRateLo, t.PassRateHi, t.Mean)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("run %s: targets: %w", r.ID, err)
		}
	}
	src := newCaseSource(r.ID, cases)
	defer src.stop()
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"cases"}, caseColumns, src); err != nil {
		if src.err != nil {
			return src.err // the caller's error, not how COPY ended
		}
		return fmt.Errorf("run %s: cases: %w", r.ID, err)
	}
	return tx.Commit(ctx)
}

var caseColumns = []string{"run_id", "target", "case_id", "repeat", "status", "score", "failed", "error_kind", "slices", "off", "len"}

// caseSource turns the cases callback, which pushes, into the rows COPY
// pulls, with iter.Pull: one case at a time, on the callback's own stack.
type caseSource struct {
	runID string
	next  func() (Case, bool)
	stop  func()
	c     Case
	err   error // the callback's
}

func newCaseSource(runID string, cases func(add func(Case) error) error) *caseSource {
	s := &caseSource{runID: runID}
	s.next, s.stop = iter.Pull(func(yield func(Case) bool) {
		err := cases(func(c Case) error {
			if !yield(c) {
				return errCopyEnded
			}
			return nil
		})
		if err != nil && !errors.Is(err, errCopyEnded) {
			s.err = err
		}
	})
	return s
}

// errCopyEnded is what add returns once COPY has stopped reading.
var errCopyEnded = errors.New("the copy of the cases has ended")

func (s *caseSource) Next() bool {
	var ok bool
	s.c, ok = s.next()
	return ok
}

func (s *caseSource) Values() ([]any, error) {
	c := &s.c
	return []any{s.runID, c.Target, c.CaseID, c.Repeat, c.Status, c.Score, nilIfEmpty(c.Failed),
		c.ErrorKind, nilIfEmpty(c.Slices), c.Off, c.Len}, nil
}

func (s *caseSource) Err() error { return s.err }

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

const runColumns = `run_id, kind, suite, suite_version, suite_sha256, dataset_sha256, git_commit,
	git_branch, started, finished, complete, gate_held, dir`

// Runs lists the runs f selects, newest first, with their targets.
func (p *Postgres) Runs(ctx context.Context, f Filter) ([]Run, error) {
	runs, err := p.runs(ctx, f)
	return runs, p.wrap(err)
}

func (p *Postgres) runs(ctx context.Context, f Filter) ([]Run, error) {
	q := `SELECT ` + runColumns + ` FROM runs r WHERE ($1 = '' OR suite = $1)
		AND ($2 = '' OR EXISTS (SELECT 1 FROM run_targets t WHERE t.run_id = r.run_id AND t.name = $2))
		ORDER BY started DESC, run_id DESC`
	args := []any{f.Suite, f.Target}
	if f.Limit > 0 {
		q += ` LIMIT $3`
		args = append(args, f.Limit)
	}
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Run, error) {
		var r Run
		return r, scanRun(row, &r)
	})
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(runs))
	at := make(map[string]int, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
		at[r.ID] = i
	}
	if err := p.targets(ctx, ids, func(id string, t Target) { runs[at[id]].Targets = append(runs[at[id]].Targets, t) }); err != nil {
		return nil, err
	}
	return runs, nil
}

// scanRun reads the columns runColumns names, and sees whether the run's
// folder is still there.
func scanRun(row pgx.Row, r *Run) error {
	var finished *time.Time
	if err := row.Scan(&r.ID, &r.Kind, &r.Suite, &r.SuiteVersion, &r.SuiteSHA256, &r.DatasetSHA256,
		&r.GitCommit, &r.GitBranch, &r.Started, &finished, &r.Complete, &r.GateHeld, &r.Dir); err != nil {
		return err
	}
	r.Started = r.Started.UTC()
	if finished != nil {
		r.Finished = finished.UTC()
	}
	r.Missing = folderGone(r.Dir)
	return nil
}

// folderGone reports whether a run's folder is known and no longer there.
// A folder that cannot be looked at (permissions) is not called gone.
func folderGone(dir string) bool {
	if dir == "" {
		return false
	}
	_, err := os.Stat(dir)
	return errors.Is(err, fs.ErrNotExist)
}

// targets calls add with the targets of the runs ids, in report order.
func (p *Postgres) targets(ctx context.Context, ids []string, add func(id string, t Target)) error {
	rows, err := p.pool.Query(ctx, `SELECT run_id, name, provider, model, cases, passed, pass_rate,
		pass_rate_lo, pass_rate_hi, mean FROM run_targets WHERE run_id = ANY($1) ORDER BY run_id, pos`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var t Target
		if err := rows.Scan(&id, &t.Name, &t.Provider, &t.Model, &t.Cases, &t.Passed, &t.PassRate,
			&t.PassRateLo, &t.PassRateHi, &t.Mean); err != nil {
			return err
		}
		add(id, t)
	}
	return rows.Err()
}

// Get returns the run id, with its report; ErrNotFound when there is none.
func (p *Postgres) Get(ctx context.Context, id string) (*Run, error) {
	r, err := p.get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return r, p.wrap(err)
}

func (p *Postgres) get(ctx context.Context, id string) (*Run, error) {
	var r Run
	var report *string
	row := p.pool.QueryRow(ctx, `SELECT `+runColumns+`, report FROM runs WHERE run_id = $1`, id)
	err := scanRun(rowFunc(func(dest ...any) error { return row.Scan(append(dest, &report)...) }), &r)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if report != nil {
		r.Report = []byte(*report)
	}
	if err := p.targets(ctx, []string{id}, func(_ string, t Target) { r.Targets = append(r.Targets, t) }); err != nil {
		return nil, err
	}
	return &r, nil
}

// rowFunc is a pgx.Row made of a Scan function.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

// Cases calls fn with the indexed cases of a run, in target, case id and
// repeat order (by their bytes), as they stream from the server.
func (p *Postgres) Cases(ctx context.Context, runID string, fn func(Case) error) error {
	rows, err := p.pool.Query(ctx, `SELECT target, case_id, repeat, status, score, failed, error_kind,
		slices, off, len FROM cases WHERE run_id = $1 ORDER BY target, case_id, repeat`, runID)
	if err != nil {
		return p.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		c := Case{RunID: runID}
		if err := rows.Scan(&c.Target, &c.CaseID, &c.Repeat, &c.Status, &c.Score, &c.Failed, &c.ErrorKind,
			&c.Slices, &c.Off, &c.Len); err != nil {
			return p.wrap(err)
		}
		if err := fn(c); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return p.wrap(rows.Err())
}

// Forget removes runs and their case indexes.
func (p *Postgres) Forget(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids) // locks taken in one order: no deadlock between two Forgets
	ids = slices.Compact(ids)
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return p.wrap(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(id, 0)) FROM unnest($1::text[]) AS id`, ids); err != nil {
		return p.wrap(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM runs WHERE run_id = ANY($1)`, ids); err != nil {
		return p.wrap(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM cases WHERE run_id = ANY($1)`, ids); err != nil {
		return p.wrap(err)
	}
	return p.wrap(tx.Commit(ctx))
}

// Close closes the connections.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}
