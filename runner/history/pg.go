package history

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
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

// TeamURL returns $RUBRIC_DB when it is a PostgreSQL URL (postgres:// or
// postgresql://): the history is then the team's, in that database, and
// not history.db; "" otherwise.
func TeamURL(getenv func(string) string) string {
	if u := getenv(store.EnvPath); store.IsPostgresURL(u) {
		return u
	}
	return ""
}

// ErrBadURL is the error of a PostgreSQL URL that does not parse.
var ErrBadURL = errors.New("not a valid PostgreSQL URL")

// RedactURL returns a PostgreSQL URL as it may be shown: its password, in
// the user part or as a password parameter, replaced by [REDACTED].
func RedactURL(raw string) string {
	shown, _ := redactURL(raw)
	return shown
}

// RedactURLSecrets returns a PostgreSQL URL as RedactURL shows it, and its
// passwords, as the URL spells them and decoded, for scrubbing them from
// text that may quote them (another package's errors about the same
// database).
func RedactURLSecrets(raw string) (shown string, secrets []string) { return redactURL(raw) }

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
	cfg, err := PoolConfig(rawURL)
	if err != nil {
		return nil, p.wrap(fmt.Errorf("%w (%s): check %s", ErrBadURL, parseProblem(err), store.EnvPath))
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

// PoolConfig is pgx's pool configuration of the PostgreSQL URL rawURL, its
// scheme in lower case (pgx takes no other) and a connect timeout unless
// the URL gives one. The error is pgx's, which may quote the URL: see
// parseProblem.
func PoolConfig(rawURL string) (*pgxpool.Config, error) {
	if scheme, rest, ok := strings.Cut(rawURL, "://"); ok {
		rawURL = strings.ToLower(scheme) + "://" + rest
	}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(rawURL, "connect_timeout=") {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	return cfg, nil
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
// shipped. The tables, columns and indexes are the local history's
// (sqlite.go: runs, run_targets, cases, case_failed, case_slices, with the
// same names), in PostgreSQL's types: a run's n is an identity column, its
// report json (kept as written, and open to SQL), a case's failed and
// slices text arrays. Ids, names and slices sort by their bytes
// (COLLATE "C"), as in SQLite and Go, whatever the database's locale.
var pgMigrations = []string{
	`CREATE TABLE runs (
		n              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		id             text COLLATE "C" NOT NULL UNIQUE,
		kind           text NOT NULL,
		suite          text COLLATE "C" NOT NULL,
		suite_version  text NOT NULL,
		suite_sha256   text NOT NULL,
		dataset_sha256 text NOT NULL,
		git_commit     text NOT NULL,
		git_branch     text NOT NULL,
		started_ns     bigint NOT NULL,
		finished_ns    bigint NOT NULL,
		complete       boolean NOT NULL,
		gate_held      boolean,
		dir            text NOT NULL,
		report         json
	);
	CREATE INDEX runs_started ON runs (started_ns, n);
	CREATE INDEX runs_suite ON runs (suite, started_ns, n);
	CREATE TABLE run_targets (
		run          bigint NOT NULL,
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
		PRIMARY KEY (run, pos)
	);
	CREATE INDEX run_targets_name ON run_targets (name, run);
	CREATE TABLE cases (
		run        bigint NOT NULL,
		n          integer NOT NULL,
		target     text COLLATE "C" NOT NULL,
		case_id    text COLLATE "C" NOT NULL,
		repeat     integer NOT NULL,
		status     text NOT NULL,
		score      double precision,
		error_kind text NOT NULL,
		failed     text[],
		slices     text[],
		off        bigint NOT NULL,
		len        integer NOT NULL,
		PRIMARY KEY (run, n)
	);
	CREATE UNIQUE INDEX cases_case ON cases (run, target, case_id, repeat);
	CREATE INDEX cases_status ON cases (run, target, status);
	CREATE TABLE case_failed (
		run       bigint NOT NULL,
		criterion text COLLATE "C" NOT NULL,
		n         integer NOT NULL,
		PRIMARY KEY (run, criterion, n)
	);
	CREATE TABLE case_slices (
		run   bigint NOT NULL,
		slice text COLLATE "C" NOT NULL,
		n     integer NOT NULL,
		PRIMARY KEY (run, slice, n)
	)`,
	// 2: as the local history's second migration: the machine that
	// recorded a run, and a case's result (DEFLATE-compressed).
	`ALTER TABLE runs ADD COLUMN host text NOT NULL DEFAULT '';
	ALTER TABLE cases ADD COLUMN result bytea`,
	// 3: as the local history's third: judges' agreements with people.
	`CREATE TABLE agreements (
		n              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		suite          text COLLATE "C" NOT NULL,
		judge          text COLLATE "C" NOT NULL,
		key            text COLLATE "C" NOT NULL,
		targets_sha256 text NOT NULL,
		rubric_sha256  text NOT NULL,
		run_id         text COLLATE "C" NOT NULL,
		measured_ns    bigint NOT NULL,
		rated          integer NOT NULL,
		agreement      double precision,
		kappa          double precision,
		record         json NOT NULL
	);
	CREATE UNIQUE INDEX agreements_run ON agreements (run_id, judge, key);
	CREATE INDEX agreements_key ON agreements (judge, key, measured_ns);
	CREATE INDEX agreements_suite ON agreements (suite, judge, measured_ns)`,
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
	if err := MigrateTx(ctx, tx, "schema_version", "schema version", pgMigrations); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// MigrateTx brings the tables whose version the one-row table versions
// holds up to date in tx, which the caller holds under a lock and
// commits: it runs the migrations past that version, in order, and records
// the last. A version past them is a database of a newer rubric (what
// names the version in the refusal).
func MigrateTx(ctx context.Context, tx pgx.Tx, versions, what string, migrations []string) error {
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+versions+` (version integer NOT NULL)`); err != nil {
		return err
	}
	var v int
	switch err := tx.QueryRow(ctx, `SELECT version FROM `+versions).Scan(&v); {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := tx.Exec(ctx, `INSERT INTO `+versions+` (version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("reading %s: %w", versions, err)
	}
	if v > len(migrations) {
		return fmt.Errorf("written by a newer rubric (%s %d; this rubric knows %d): upgrade rubric", what, v, len(migrations))
	}
	if v == len(migrations) {
		return nil // another process migrated it meanwhile
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.Exec(ctx, migrations[i]); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "42P07" { // duplicate_table
				return fmt.Errorf("migration %d: %w (another application's table is in the way: give rubric a database of its own, or a schema with ?search_path=rubric)", i+1, err)
			}
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	_, err := tx.Exec(ctx, `UPDATE `+versions+` SET version = $1`, len(migrations))
	return err
}

// Where returns the database's URL with its password redacted.
func (p *Postgres) Where() string { return p.where }

// Record adds r, or replaces the run with its id, and its case index, in
// one transaction: the cases stream through one COPY into a temporary
// table, never held in memory, and from there into cases, a case given
// twice keeping its first entry (as in SQLite). The tables have no foreign
// keys: Record and Forget keep them together, one run id at a time.
func (p *Postgres) Record(ctx context.Context, r *Run, cases func(add func(Case) error) error) error {
	if r.ID == "" {
		return errors.New("history: a run without an id")
	}
	err := p.record(ctx, r, cases)
	var ce *caseError
	if errors.As(err, &ce) {
		return fmt.Errorf("history: recording run %s: %w", r.ID, ce.err)
	}
	if err != nil {
		return p.wrap(fmt.Errorf("recording run %s: %w", r.ID, err))
	}
	return nil
}

func (p *Postgres) record(ctx context.Context, r *Run, cases func(add func(Case) error) error) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Writers of one run take turns (two pushes of a run at once), so that
	// the second replaces the first rather than failing on its id.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, r.ID); err != nil {
		return err
	}
	if err := pgForget(ctx, tx, []string{r.ID}); err != nil {
		return err
	}
	var report any
	if len(r.Report) > 0 {
		report = string(r.Report)
	}
	var n int64
	if err := tx.QueryRow(ctx, `INSERT INTO runs (id, kind, suite, suite_version, suite_sha256,
		dataset_sha256, git_commit, git_branch, started_ns, finished_ns, complete, gate_held, dir, host, report)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING n`,
		r.ID, r.Kind, r.Suite, r.SuiteVersion, r.SuiteSHA256, r.DatasetSHA256, r.GitCommit, r.GitBranch,
		unixNano(r.Started), unixNano(r.Finished), r.Complete, r.GateHeld, r.Dir, r.Host, report).Scan(&n); err != nil {
		return err
	}
	if len(r.Targets) > 0 {
		var b pgx.Batch
		for i, t := range r.Targets {
			b.Queue(`INSERT INTO run_targets (run, pos, name, provider, model, cases, passed,
				pass_rate, pass_rate_lo, pass_rate_hi, mean) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				n, i, t.Name, t.Provider, t.Model, t.Cases, t.Passed, t.PassRate, t.PassRateLo, t.PassRateHi, t.Mean)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("targets: %w", err)
		}
	}
	if cases == nil {
		return tx.Commit(ctx)
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_cases (
		n integer NOT NULL, target text NOT NULL, case_id text NOT NULL, repeat integer NOT NULL,
		status text NOT NULL, score double precision, error_kind text NOT NULL, failed text[], slices text[],
		off bigint NOT NULL, len integer NOT NULL, result bytea) ON COMMIT DROP`); err != nil {
		return err
	}
	src := newCaseSource(cases)
	defer src.stop()
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_cases"}, stageColumns, src); err != nil {
		if src.err != nil {
			return &caseError{src.err} // the caller's error, not how COPY ended
		}
		return fmt.Errorf("cases: %w", err)
	}
	// One statement: the cases kept, then their criteria and slices from
	// what was inserted, each table filled in its key's order.
	if _, err := tx.Exec(ctx, `WITH kept AS (
			INSERT INTO cases (run, n, target, case_id, repeat, status, score, error_kind, failed, slices, off, len, result)
			SELECT $1, n, target, case_id, repeat, status, score, error_kind, failed, slices, off, len, result
			FROM stage_cases ORDER BY n ON CONFLICT DO NOTHING
			RETURNING n, failed, slices
		), failed AS (
			INSERT INTO case_failed (run, criterion, n)
			SELECT DISTINCT $1::bigint, f, n FROM kept, unnest(failed) AS f ORDER BY 2, 3
		)
		INSERT INTO case_slices (run, slice, n)
		SELECT DISTINCT $1::bigint, sl, n FROM kept, unnest(slices) AS sl ORDER BY 2, 3`, n); err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	return tx.Commit(ctx)
}

// pgForget removes the runs ids and their indexes, in tx.
func pgForget(ctx context.Context, tx pgx.Tx, ids []string) error {
	for _, q := range []string{
		`DELETE FROM case_slices WHERE run IN (SELECT n FROM runs WHERE id = ANY($1))`,
		`DELETE FROM case_failed WHERE run IN (SELECT n FROM runs WHERE id = ANY($1))`,
		`DELETE FROM cases WHERE run IN (SELECT n FROM runs WHERE id = ANY($1))`,
		`DELETE FROM run_targets WHERE run IN (SELECT n FROM runs WHERE id = ANY($1))`,
		`DELETE FROM runs WHERE id = ANY($1)`,
	} {
		if _, err := tx.Exec(ctx, q, ids); err != nil {
			return err
		}
	}
	return nil
}

var stageColumns = []string{"n", "target", "case_id", "repeat", "status", "score", "error_kind", "failed", "slices", "off", "len", "result"}

// caseSource turns the cases callback, which pushes, into the rows COPY
// pulls, with iter.Pull: one case at a time, on the callback's own stack.
type caseSource struct {
	next func() (Case, bool)
	stop func()
	c    Case
	n    int   // the cases given so far: a case's n
	err  error // the callback's
}

func newCaseSource(cases func(add func(Case) error) error) *caseSource {
	s := &caseSource{}
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
	s.n++
	return ok
}

func (s *caseSource) Values() ([]any, error) {
	c := &s.c
	return []any{s.n, c.Target, c.CaseID, c.Repeat, c.Status, c.Score, c.ErrorKind,
		nilIfEmpty(c.Failed), nilIfEmpty(c.Slices), c.Off, c.Len, packResult(c.Result)}, nil
}

func (s *caseSource) Err() error { return s.err }

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

const pgRunColumns = `n, id, kind, suite, suite_version, suite_sha256, dataset_sha256, git_commit,
	git_branch, started_ns, finished_ns, complete, gate_held, dir, host`

// Runs lists the runs f selects, newest first, with their targets.
func (p *Postgres) Runs(ctx context.Context, f Filter) ([]Run, error) {
	runs, err := p.runs(ctx, f)
	if err != nil {
		return nil, p.wrap(fmt.Errorf("listing runs: %w", err))
	}
	return runs, nil
}

func (p *Postgres) runs(ctx context.Context, f Filter) ([]Run, error) {
	q := `SELECT ` + pgRunColumns + ` FROM runs WHERE ($1 = '' OR suite = $1)
		AND ($2 = '' OR n IN (SELECT run FROM run_targets WHERE name = $2))
		ORDER BY started_ns DESC, n DESC`
	args := []any{f.Suite, f.Target}
	if f.Limit > 0 {
		q += ` LIMIT $3`
		args = append(args, f.Limit)
	}
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var runs []Run
	var ns []int64
	at := map[int64]int{}
	for rows.Next() {
		n, r, err := pgScanRun(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		at[n] = len(runs)
		ns = append(ns, n)
		runs = append(runs, *r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return runs, nil
	}
	if err := p.targets(ctx, ns, func(n int64, t Target) { runs[at[n]].Targets = append(runs[at[n]].Targets, t) }); err != nil {
		return nil, err
	}
	return runs, nil
}

// pgScanRun reads the columns pgRunColumns names, then extra, and sees
// whether the run's folder is still there.
func pgScanRun(row pgx.Row, extra ...any) (int64, *Run, error) {
	var (
		r                 Run
		n                 int64
		started, finished int64
	)
	dest := append([]any{&n, &r.ID, &r.Kind, &r.Suite, &r.SuiteVersion, &r.SuiteSHA256, &r.DatasetSHA256,
		&r.GitCommit, &r.GitBranch, &started, &finished, &r.Complete, &r.GateHeld, &r.Dir, &r.Host}, extra...)
	if err := row.Scan(dest...); err != nil {
		return 0, nil, err
	}
	r.Started, r.Finished = fromUnixNano(started), fromUnixNano(finished)
	r.Missing = missing(&r)
	return n, &r, nil
}

// targets calls add with the targets of the runs ns, in report order.
func (p *Postgres) targets(ctx context.Context, ns []int64, add func(n int64, t Target)) error {
	rows, err := p.pool.Query(ctx, `SELECT run, name, provider, model, cases, passed, pass_rate,
		pass_rate_lo, pass_rate_hi, mean FROM run_targets WHERE run = ANY($1) ORDER BY run, pos`, ns)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		var t Target
		if err := rows.Scan(&n, &t.Name, &t.Provider, &t.Model, &t.Cases, &t.Passed, &t.PassRate,
			&t.PassRateLo, &t.PassRateHi, &t.Mean); err != nil {
			return err
		}
		add(n, t)
	}
	return rows.Err()
}

// Get returns the run id, with its report; ErrNotFound when there is none.
func (p *Postgres) Get(ctx context.Context, id string) (*Run, error) {
	var report *string
	n, r, err := pgScanRun(p.pool.QueryRow(ctx, `SELECT `+pgRunColumns+`, report FROM runs WHERE id = $1`, id), &report)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if err == nil && report != nil {
		r.Report = []byte(*report)
	}
	if err == nil {
		err = p.targets(ctx, []int64{n}, func(_ int64, t Target) { r.Targets = append(r.Targets, t) })
	}
	if err != nil {
		return nil, p.wrap(fmt.Errorf("reading run %s: %w", id, err))
	}
	return r, nil
}

// Cases calls fn with the indexed cases of a run, in target, case id and
// repeat order (by their bytes), as they stream from the server, in one
// read-only transaction: a run recorded again meanwhile is seen whole,
// before or after. ErrNotFound when the run is not in the history.
func (p *Postgres) Cases(ctx context.Context, runID string, fn func(Case) error) error {
	err := p.cases(ctx, runID, fn)
	var ce *caseError
	switch {
	case err == nil, errors.Is(err, ErrNotFound):
		return err
	case errors.As(err, &ce):
		return ce.err
	}
	return p.wrap(fmt.Errorf("reading the cases of run %s: %w", runID, err))
}

func (p *Postgres) cases(ctx context.Context, runID string, fn func(Case) error) error {
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var n int64
	err = tx.QueryRow(ctx, `SELECT n FROM runs WHERE id = $1`, runID).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("run %s: %w", runID, ErrNotFound)
	}
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT target, case_id, repeat, status, score, error_kind, failed,
		slices, off, len FROM cases WHERE run = $1 ORDER BY target, case_id, repeat`, n)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		c := Case{RunID: runID}
		if err := rows.Scan(&c.Target, &c.CaseID, &c.Repeat, &c.Status, &c.Score, &c.ErrorKind, &c.Failed,
			&c.Slices, &c.Off, &c.Len); err != nil {
			return err
		}
		if err := fn(c); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return &caseError{err}
		}
	}
	return rows.Err()
}

// Result returns the result stored with a case, nil when the run was
// recorded without results; ErrNotFound when there is no such case.
func (p *Postgres) Result(ctx context.Context, runID, target, caseID string, repeat int) ([]byte, error) {
	var packed []byte
	err := p.pool.QueryRow(ctx, `SELECT c.result FROM runs r JOIN cases c ON c.run = r.n
		WHERE r.id = $1 AND c.target = $2 AND c.case_id = $3 AND c.repeat = $4`, runID, target, caseID, repeat).Scan(&packed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("run %s: case %q of target %q, repeat %d: %w", runID, caseID, target, repeat, ErrNotFound)
	}
	if err == nil {
		var line []byte
		if line, err = unpackResult(packed); err == nil {
			return line, nil
		}
	}
	return nil, p.wrap(fmt.Errorf("reading case %s of run %s: %w", caseID, runID, err))
}

// Forget removes runs and their case indexes, in one transaction; ids not
// in the history are ignored.
func (p *Postgres) Forget(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids) // locks taken in one order: no deadlock between two Forgets
	ids = slices.Compact(ids)
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(id, 0)) FROM unnest($1::text[]) AS id`, ids); err != nil {
			return err
		}
		return pgForget(ctx, tx, ids)
	})
	if err != nil {
		return p.wrap(fmt.Errorf("forgetting runs: %w", err))
	}
	return nil
}

// RecordAgreement adds an agreement, in place of one of the same run,
// judge and key, in one transaction.
func (p *Postgres) RecordAgreement(ctx context.Context, a *evals.Agreement) error {
	rec, err := agreementRecord(a)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM agreements WHERE run_id = $1 AND judge = $2 AND key = $3`, a.RunID, a.Judge, a.Key); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO agreements (suite, judge, key, targets_sha256, rubric_sha256, run_id,
			measured_ns, rated, agreement, kappa, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			a.Suite, a.Judge, a.Key, a.TargetsSHA256, a.RubricSHA256, a.RunID, unixNano(a.Measured), a.N,
			a.Agreement, a.Kappa, rec)
		return err
	})
	if err != nil {
		return p.wrap(fmt.Errorf("recording an agreement: %w", err))
	}
	return nil
}

// Agreements lists the agreements f selects, newest first.
func (p *Postgres) Agreements(ctx context.Context, f AgreementFilter) ([]evals.Agreement, error) {
	q := `SELECT record::text FROM agreements WHERE ($1 = '' OR suite = $1) AND ($2 = '' OR judge = $2)
		AND ($3 = '' OR key = $3) ORDER BY measured_ns DESC, n DESC`
	args := []any{f.Suite, f.Judge, f.Key}
	if f.Limit > 0 {
		q += ` LIMIT $4`
		args = append(args, f.Limit)
	}
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, p.wrap(fmt.Errorf("reading agreements: %w", err))
	}
	defer rows.Close()
	var out []evals.Agreement
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, p.wrap(fmt.Errorf("reading agreements: %w", err))
		}
		a, err := parseAgreement(rec)
		if err != nil {
			return nil, p.wrap(fmt.Errorf("reading agreements: %w", err))
		}
		out = append(out, *a)
	}
	if err := rows.Err(); err != nil {
		return nil, p.wrap(fmt.Errorf("reading agreements: %w", err))
	}
	return out, nil
}

// Close closes the connections.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}
