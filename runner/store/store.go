package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	// modernc.org/sqlite is SQLite in pure Go: no cgo, so `go install` works
	// on every platform without a C compiler, and the same engine will hold
	// the run history.
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// EnvPath is the environment variable that overrides DefaultPath.
const EnvPath = "RUBRIC_DB"

// busyTimeoutMS is how long a connection waits for a lock another connection
// or process holds before failing with "database is locked".
const busyTimeoutMS = 10_000

// ErrClosed is returned by the methods of a DB that has been closed.
var ErrClosed = errors.New("store: database is closed")

// DB is rubric's database. It is safe for concurrent use, and several
// processes may open the same file at once. Close it before the program
// exits: responses still queued for writing are lost otherwise.
type DB struct {
	path string
	sql  *sql.DB // one connection, for writing
	read *sql.DB // for reading
	get  *sql.Stmt
	put  *sql.Stmt
	w    *writer

	closeOnce sync.Once
	closeErr  error
}

// DefaultPath returns the database rubric uses when none is given: the value
// of $RUBRIC_DB, or rubric/rubric.db under the user's cache directory. A
// $RUBRIC_DB that is a PostgreSQL URL names a team's history
// (runner/history), not this file, which then stays at its default place.
func DefaultPath(getenv func(string) string) (string, error) {
	if p := getenv(EnvPath); p != "" && !IsPostgresURL(p) {
		return p, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no place for rubric's database: %w; set %s to a file path", err, EnvPath)
	}
	return filepath.Join(dir, "rubric", "rubric.db"), nil
}

// IsPostgresURL reports whether s, a value of RUBRIC_DB, is a PostgreSQL
// URL (postgres:// or postgresql://, in any case) rather than a file path.
func IsPostgresURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// Open opens the database at path, creating it and its folders if need be,
// and brings its schema up to date. Errors name the path.
func Open(path string) (*DB, error) {
	f, err := OpenSQLite(path, Schema{Migrations: migrations, Env: EnvPath}, false)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	db := &DB{path: f.Path, sql: f.Write, read: f.Read}
	if err := db.prepare(context.Background()); err != nil {
		f.Close()
		return nil, fmt.Errorf("database %s: %w", path, explain(err))
	}
	db.w = newWriter(db)
	return db, nil
}

// Schema describes one of rubric's SQLite files, for OpenSQLite.
type Schema struct {
	// Migrations are the file's schema changes, in order: the table
	// schema_version holds how many have been applied. Append new ones;
	// never edit one that has shipped.
	Migrations []string
	// Env is the environment variable that puts the file elsewhere, which
	// errors about the file advise.
	Env string
}

// SQLite is one of rubric's SQLite files, opened by OpenSQLite.
type SQLite struct {
	// Path is the file's absolute path.
	Path string
	// Write is one connection, for writing; nil when the file was opened
	// read-only.
	Write *sql.DB
	// Read are connections for reading only (query_only).
	Read *sql.DB
}

// ErrOutdated is the error of a file opened read-only whose schema is
// older than this rubric's: opening it for writing brings it up to date.
var ErrOutdated = errors.New("its schema is older than this rubric's")

// OpenSQLite opens a SQLite file the way rubric opens each of its files:
// created private (0600, its folders 0700: it holds prompts and outputs)
// when it does not exist, in WAL mode with a busy timeout, one connection
// that writes and a pool that reads, the migrations of s applied. A file
// opened readOnly must exist; it is neither created nor migrated, gets no
// writing connection, and must have this rubric's schema (ErrOutdated when
// older). The error does not name the path, which the caller knows.
func OpenSQLite(path string, s Schema, readOnly bool) (*SQLite, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	switch {
	case readOnly && err != nil:
		return nil, err
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return nil, err
		}
		// Create the file ourselves, so that it is private. SQLite gives
		// the -wal and -shm files the same mode.
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		f.Close()
	case err != nil:
		return nil, err
	case fi.IsDir():
		return nil, errors.New("is a directory, not a database file")
	}

	// Two pools: one connection writes (the migrations, the batches), so
	// writes queue in Go rather than contend for SQLite's lock; readers
	// have their own connections, so that a lookup never waits for a
	// write. More readers than cores only contend inside SQLite.
	f := &SQLite{Path: abs}
	if !readOnly {
		wdb, err := sql.Open("sqlite", dsn(abs, false))
		if err != nil {
			return nil, err
		}
		wdb.SetMaxOpenConns(1)
		wdb.SetMaxIdleConns(1)
		if err := migrate(context.Background(), wdb, s); err != nil {
			wdb.Close()
			return nil, ExplainError(err, s.Env)
		}
		f.Write = wdb
	}
	rdb, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		f.Close()
		return nil, err
	}
	readers := max(2, runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	f.Read = rdb
	if readOnly {
		if err := checkVersion(context.Background(), rdb, s); err != nil {
			f.Close()
			return nil, ExplainError(err, s.Env)
		}
	}
	return f, nil
}

// Close closes both pools.
func (f *SQLite) Close() error {
	var errs []error
	if f.Read != nil {
		errs = append(errs, f.Read.Close())
	}
	if f.Write != nil {
		errs = append(errs, f.Write.Close())
	}
	return errors.Join(errs...)
}

// dsn returns the modernc.org/sqlite data source name for the file at abs: a
// file: URI, so that any character may appear in the path, and the settings
// every connection gets. Connections for reading only are made query_only.
func dsn(abs string, readOnly bool) string {
	p := filepath.ToSlash(abs)
	if p[0] != '/' {
		p = "/" + p // C:/x on Windows
	}
	u := url.URL{Scheme: "file", Path: p, OmitHost: true}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	q.Set("_txlock", "immediate")
	return u.String() + "?" + q.Encode()
}

// explain is ExplainError for the response cache's file.
func explain(err error) error { return ExplainError(err, EnvPath) }

// ExplainError turns SQLite's errors about a file itself into advice; env
// is the environment variable that puts the file elsewhere.
func ExplainError(err error, env string) error {
	var serr *sqlite.Error
	if errors.As(err, &serr) {
		switch serr.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("%w (the file is damaged or not a SQLite database: move it away, or set %s to another path)", err, env)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR:
			return fmt.Errorf("%w (check that the file and its folder are readable and writable, or set %s to another path)", err, env)
		}
	}
	return err
}

// migrations are the schema changes, in order; schema_version holds how many
// have been applied. Append new ones; never edit one that has shipped.
var migrations = []string{
	// 1: the response cache. key is CacheKey's 32 bytes; latency_ns is the
	// latency of the call that was cached; created_ms is Unix milliseconds.
	`CREATE TABLE responses (
		key               BLOB PRIMARY KEY,
		text              TEXT NOT NULL,
		finish            TEXT NOT NULL,
		prompt_tokens     INTEGER NOT NULL,
		completion_tokens INTEGER NOT NULL,
		total_tokens      INTEGER NOT NULL,
		latency_ns        INTEGER NOT NULL,
		created_ms        INTEGER NOT NULL
	)`,
	// 2: the timings of a streamed answer, which a cache hit keeps as it
	// keeps the latency: evals.StreamTiming's three numbers as float64s,
	// little-endian (encodeStream); NULL for an answer that came whole. One
	// column, not three: a lookup reads one more value, not three.
	`ALTER TABLE responses ADD COLUMN stream BLOB`,
	// 3: the tool calls of an answer, which a cache hit returns with its
	// text: each call's id, name, arguments and arguments_error as
	// length-prefixed bytes (encodeCalls), so the arguments come back byte
	// for byte; NULL for an answer that called no tool.
	`ALTER TABLE responses ADD COLUMN tool_calls BLOB`,
}

// prepare prepares the statements of the hot path.
func (db *DB) prepare(ctx context.Context) error {
	var err error
	db.get, err = db.read.PrepareContext(ctx, `SELECT text, finish, prompt_tokens, completion_tokens,
		total_tokens, latency_ns, created_ms, stream, tool_calls FROM responses WHERE key = ?`)
	if err != nil {
		return err
	}
	db.put, err = db.sql.PrepareContext(ctx, `INSERT OR REPLACE INTO responses (key, text, finish,
		prompt_tokens, completion_tokens, total_tokens, latency_ns, created_ms, stream, tool_calls)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	return err
}

// SchemaVersion is the number of migrations this build of rubric knows.
func SchemaVersion() int { return len(migrations) }

// migrate applies the migrations of s that the file lacks, in one
// transaction that holds the write lock, so that two processes opening a
// new file at once do not both create the tables.
func migrate(ctx context.Context, w *sql.DB, s Schema) error {
	// The common case, an up-to-date file, takes no write lock.
	var v int
	if err := w.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err == nil && v == len(s.Migrations) {
		return nil
	}
	tx, err := w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: see dsn
	if err != nil {
		return err
	}
	defer tx.Rollback()
	v, found, err := version(ctx, tx, s)
	if err != nil {
		return err
	}
	if !found {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER NOT NULL)`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return err
		}
	}
	if v > len(s.Migrations) {
		return newerError(v, s)
	}
	if v == len(s.Migrations) {
		return nil // another process migrated it meanwhile
	}
	for i := v; i < len(s.Migrations); i++ {
		if _, err := tx.ExecContext(ctx, s.Migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(s.Migrations)); err != nil {
		return err
	}
	return tx.Commit()
}

// checkVersion refuses a file opened read-only whose schema is not this
// rubric's.
func checkVersion(ctx context.Context, r *sql.DB, s Schema) error {
	tx, err := r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	v, _, err := version(ctx, tx, s)
	switch {
	case err != nil:
		return err
	case v > len(s.Migrations):
		return newerError(v, s)
	case v < len(s.Migrations):
		return fmt.Errorf("%w (schema version %d; this rubric's is %d): open it for writing once to bring it up to date", ErrOutdated, v, len(s.Migrations))
	}
	return nil
}

// version reads the file's schema version: 0, and found false, for a file
// with no tables at all.
func version(ctx context.Context, tx *sql.Tx, s Schema) (v int, found bool, err error) {
	var hasVersion int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'`).Scan(&hasVersion); err != nil {
		return 0, false, err
	}
	if hasVersion == 0 {
		var tables int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table'`).Scan(&tables); err != nil {
			return 0, false, err
		}
		if tables > 0 {
			return 0, false, fmt.Errorf("not a rubric database: it has tables but no schema_version; set %s to another path", s.Env)
		}
		return 0, false, nil
	}
	if err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
		return 0, true, fmt.Errorf("reading schema_version: %w", err)
	}
	return v, true, nil
}

func newerError(v int, s Schema) error {
	return fmt.Errorf("written by a newer rubric (schema version %d; this rubric knows %d): upgrade rubric, or set %s to another path",
		v, len(s.Migrations), s.Env)
}

// Path returns the database file's absolute path.
func (db *DB) Path() string { return db.path }

// Close writes the responses still queued and closes the database. It must
// be called before the program exits. Calling it again returns the first
// call's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		errs := []error{db.w.close()}
		errs = append(errs, db.get.Close(), db.put.Close(), db.read.Close(), db.sql.Close())
		if err := errors.Join(errs...); err != nil {
			db.closeErr = fmt.Errorf("database %s: %w", db.path, err)
		}
	})
	return db.closeErr
}
