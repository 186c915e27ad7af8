package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/rundir"
	"github.com/rubric-eval/rubric/runner/store"
)

// EnvPath is the environment variable that puts the history elsewhere than
// DefaultPath's folder.
const EnvPath = "RUBRIC_HISTORY"

// EnvOff, set to 1, turns recording off, as --no-history does.
const EnvOff = "RUBRIC_NO_HISTORY"

// FileName is the history's file, next to the response cache's.
const FileName = "history.db"

// DefaultPath returns the history rubric uses: $RUBRIC_HISTORY when set,
// otherwise history.db in the folder of the response cache's file
// (store.DefaultPath: $RUBRIC_DB's folder, or rubric/ under the user's
// cache directory).
func DefaultPath(getenv func(string) string) (string, error) {
	if p := getenv(EnvPath); p != "" {
		return p, nil
	}
	db, err := store.DefaultPath(getenv)
	if err != nil {
		return "", fmt.Errorf("%w, or %s to the history's", err, EnvPath)
	}
	return filepath.Join(filepath.Dir(db), FileName), nil
}

// Off reports whether the environment turns recording off ($RUBRIC_NO_HISTORY
// set to anything but "" and "0").
func Off(getenv func(string) string) bool {
	v := getenv(EnvOff)
	return v != "" && v != "0"
}

// migrations are the history's schema, in order (store.Schema). Times are
// Unix nanoseconds; a run's n is its key in the other tables, replaced with
// the run's record. A case's n numbers it within its run, in the order the
// index was given; failed and slices repeat, as JSON arrays, the rows of
// case_failed and case_slices, which let a run's cases be filtered by a
// failed criterion or a slice without reading the others.
var migrations = []string{
	`CREATE TABLE runs (
		n              INTEGER PRIMARY KEY,
		id             TEXT NOT NULL UNIQUE,
		kind           TEXT NOT NULL,
		suite          TEXT NOT NULL,
		suite_version  TEXT NOT NULL,
		suite_sha256   TEXT NOT NULL,
		dataset_sha256 TEXT NOT NULL,
		git_commit     TEXT NOT NULL,
		git_branch     TEXT NOT NULL,
		started_ns     INTEGER NOT NULL,
		finished_ns    INTEGER NOT NULL,
		complete       INTEGER NOT NULL,
		gate_held      INTEGER,
		dir            TEXT NOT NULL,
		report         BLOB
	);
	CREATE INDEX runs_started ON runs (started_ns, n);
	CREATE INDEX runs_suite ON runs (suite, started_ns, n);
	CREATE TABLE run_targets (
		run          INTEGER NOT NULL,
		pos          INTEGER NOT NULL,
		name         TEXT NOT NULL,
		provider     TEXT NOT NULL,
		model        TEXT NOT NULL,
		cases        INTEGER NOT NULL,
		passed       INTEGER NOT NULL,
		pass_rate    REAL NOT NULL,
		pass_rate_lo REAL NOT NULL,
		pass_rate_hi REAL NOT NULL,
		mean         REAL NOT NULL,
		PRIMARY KEY (run, pos)
	) WITHOUT ROWID;
	CREATE INDEX run_targets_name ON run_targets (name, run);
	CREATE TABLE cases (
		run        INTEGER NOT NULL,
		n          INTEGER NOT NULL,
		target     TEXT NOT NULL,
		case_id    TEXT NOT NULL,
		repeat     INTEGER NOT NULL,
		status     TEXT NOT NULL,
		score      REAL,
		error_kind TEXT NOT NULL,
		failed     TEXT,
		slices     TEXT,
		off        INTEGER NOT NULL,
		len        INTEGER NOT NULL,
		PRIMARY KEY (run, n)
	) WITHOUT ROWID;
	CREATE UNIQUE INDEX cases_case ON cases (run, target, case_id, repeat);
	CREATE INDEX cases_status ON cases (run, target, status);
	CREATE TABLE case_failed (
		run       INTEGER NOT NULL,
		criterion TEXT NOT NULL,
		n         INTEGER NOT NULL,
		PRIMARY KEY (run, criterion, n)
	) WITHOUT ROWID;
	CREATE TABLE case_slices (
		run   INTEGER NOT NULL,
		slice TEXT NOT NULL,
		n     INTEGER NOT NULL,
		PRIMARY KEY (run, slice, n)
	) WITHOUT ROWID`,
	// 2: the machine that recorded a run (Run.Host), and a case's result
	// stored with its index (Case.Result, DEFLATE-compressed), as rubric
	// push stores it.
	`ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT '';
	ALTER TABLE cases ADD COLUMN result BLOB`,
	// 3: LLM judges' agreements with people (rubric agreement), each the
	// whole evals.Agreement as JSON in record, with the columns that
	// select it and the headline figures; measured on a run, but kept
	// when the run is forgotten.
	`CREATE TABLE agreements (
		n              INTEGER PRIMARY KEY,
		suite          TEXT NOT NULL,
		judge          TEXT NOT NULL,
		key            TEXT NOT NULL,
		targets_sha256 TEXT NOT NULL,
		rubric_sha256  TEXT NOT NULL,
		run_id         TEXT NOT NULL,
		measured_ns    INTEGER NOT NULL,
		rated          INTEGER NOT NULL,
		agreement      REAL,
		kappa          REAL,
		record         TEXT NOT NULL
	);
	CREATE UNIQUE INDEX agreements_run ON agreements (run_id, judge, key);
	CREATE INDEX agreements_key ON agreements (judge, key, measured_ns);
	CREATE INDEX agreements_suite ON agreements (suite, judge, measured_ns)`,
}

// SchemaVersion is the number of migrations this build of rubric knows.
func SchemaVersion() int { return len(migrations) }

var schema = store.Schema{Migrations: migrations, Env: EnvPath}

// SQLite is a history in a SQLite file.
type SQLite struct {
	f *store.SQLite
}

var _ Store = (*SQLite)(nil)

// Open opens the history at path, creating it and its folders if need be
// (private: 0600 and 0700), and brings its schema up to date. Errors name
// the path.
func Open(path string) (*SQLite, error) {
	f, err := store.OpenSQLite(path, schema, false)
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	return &SQLite{f: f}, nil
}

// OpenReadOnly opens the history at path for reading, while other
// processes may record in it: the file must exist (an error wrapping
// os.ErrNotExist otherwise) and have this rubric's schema (store.ErrOutdated
// when older: Open brings it up to date). Record and Forget fail.
func OpenReadOnly(path string) (*SQLite, error) {
	f, err := store.OpenSQLite(path, schema, true)
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	return &SQLite{f: f}, nil
}

// Path returns the history file's absolute path.
func (s *SQLite) Path() string { return s.f.Path }

// Close closes the file.
func (s *SQLite) Close() error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("history %s: %w", s.f.Path, err)
	}
	return nil
}

// errReadOnly is the error of a write to a history opened read-only.
var errReadOnly = errors.New("the history was opened read-only")

func (s *SQLite) fail(what string, err error) error {
	return fmt.Errorf("history %s: %s: %w", s.f.Path, what, store.ExplainError(err, EnvPath))
}

// stageBatch is the number of cases one INSERT statement stages.
const stageBatch = 64

// Record implements Store. The case index is first written to a temporary
// table of the writing connection, which takes no lock on the file, so that
// reading a large journal does not hold the history's write lock; then one
// transaction replaces the run's record, the index copied in.
func (s *SQLite) Record(ctx context.Context, r *Run, cases func(add func(Case) error) error) error {
	if s.f.Write == nil {
		return errReadOnly
	}
	if r.ID == "" {
		return errors.New("history: a run without an id")
	}
	conn, err := s.f.Write.Conn(ctx)
	if err != nil {
		return s.fail("recording run "+r.ID, err)
	}
	defer conn.Close()
	defer conn.ExecContext(context.WithoutCancel(ctx), `DELETE FROM temp.stage_cases`)
	if err := stage(ctx, conn, cases); err != nil {
		var ce *caseError
		if errors.As(err, &ce) {
			return fmt.Errorf("history: recording run %s: %w", r.ID, ce.err)
		}
		return s.fail("recording run "+r.ID, err)
	}
	if err := replace(ctx, conn, r); err != nil {
		return s.fail("recording run "+r.ID, err)
	}
	return nil
}

// caseError is an error of the caller's cases function, passed on as it is.
type caseError struct{ err error }

func (e *caseError) Error() string { return e.err.Error() }

// stage writes the case index to the connection's temporary table, in one
// transaction of the temporary database only.
func stage(ctx context.Context, conn *sql.Conn, cases func(add func(Case) error) error) (err error) {
	if _, err := conn.ExecContext(ctx, `
		CREATE TEMP TABLE IF NOT EXISTS stage_cases (
			n INTEGER PRIMARY KEY, target TEXT NOT NULL, case_id TEXT NOT NULL, repeat INTEGER NOT NULL,
			status TEXT NOT NULL, score REAL, error_kind TEXT NOT NULL, failed TEXT, slices TEXT,
			off INTEGER NOT NULL, len INTEGER NOT NULL, result BLOB);
		DELETE FROM temp.stage_cases`); err != nil {
		return err
	}
	if cases == nil {
		return nil
	}
	// BEGIN DEFERRED, not the BEGIN IMMEDIATE of the connection's BeginTx:
	// a transaction that writes only temporary tables takes no lock on the
	// file.
	if _, err := conn.ExecContext(ctx, `BEGIN DEFERRED`); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	st, err := newStager(ctx, conn)
	if err != nil {
		return err
	}
	defer st.close()
	if err := cases(func(c Case) error { return st.add(ctx, c) }); err != nil {
		if st.err != nil {
			return st.err
		}
		return &caseError{err}
	}
	if err := st.flush(ctx); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `COMMIT`)
	return err
}

// stager batches the cases of the index into multi-row INSERTs: one
// statement per stageBatch cases costs far less than one per case.
type stager struct {
	conn  *sql.Conn
	full  *sql.Stmt // the INSERT of a full batch
	n     int       // the cases given so far
	rows  []any     // the values of the cases batched, caseCols each
	nRows int
	err   error // the first error of a write, which ends the walk
}

const caseCols = 12

func newStager(ctx context.Context, conn *sql.Conn) (*stager, error) {
	st := &stager{conn: conn}
	var err error
	st.full, err = conn.PrepareContext(ctx, insertCases(stageBatch))
	return st, err
}

func insertCases(rows int) string {
	tuple := "(" + strings.Repeat("?, ", caseCols-1) + "?)"
	return `INSERT INTO temp.stage_cases (n, target, case_id, repeat, status, score, error_kind, failed, slices, off, len, result) VALUES ` +
		strings.Repeat(tuple+", ", rows-1) + tuple
}

func (st *stager) add(ctx context.Context, c Case) error {
	if st.err != nil {
		return st.err
	}
	st.n++
	var score any
	if c.Score != nil {
		score = *c.Score
	}
	st.rows = append(st.rows, st.n, c.Target, c.CaseID, c.Repeat, c.Status, score, c.ErrorKind,
		jsonList(c.Failed), jsonList(c.Slices), c.Off, c.Len, packResult(c.Result))
	if st.nRows++; st.nRows == stageBatch {
		st.err = st.flush(ctx)
	}
	return st.err
}

// flush writes the cases batched.
func (st *stager) flush(ctx context.Context) error {
	var err error
	switch st.nRows {
	case 0:
		return nil
	case stageBatch:
		_, err = st.full.ExecContext(ctx, st.rows...)
	default:
		_, err = st.conn.ExecContext(ctx, insertCases(st.nRows), st.rows...)
	}
	st.rows, st.nRows = st.rows[:0], 0
	return err
}

func (st *stager) close() { st.full.Close() }

// jsonList is a list as the JSON array a column holds; NULL when empty.
func jsonList(l []string) any {
	if len(l) == 0 {
		return nil
	}
	b, _ := json.Marshal(l) // strings always encode
	return string(b)
}

// replace writes r and the staged index in one transaction, in place of
// the run's earlier record.
func replace(ctx context.Context, conn *sql.Conn, r *Run) error {
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := forget(ctx, tx, r.ID); err != nil {
		return err
	}
	var gate any
	if r.GateHeld != nil {
		gate = *r.GateHeld
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (id, kind, suite, suite_version, suite_sha256, dataset_sha256,
		git_commit, git_branch, started_ns, finished_ns, complete, gate_held, dir, host, report)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Kind, r.Suite, r.SuiteVersion, r.SuiteSHA256, r.DatasetSHA256, r.GitCommit, r.GitBranch,
		unixNano(r.Started), unixNano(r.Finished), r.Complete, gate, r.Dir, r.Host, []byte(r.Report))
	if err != nil {
		return err
	}
	n, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for i, t := range r.Targets {
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_targets (run, pos, name, provider, model, cases, passed,
			pass_rate, pass_rate_lo, pass_rate_hi, mean) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			n, i, t.Name, t.Provider, t.Model, t.Cases, t.Passed, t.PassRate, t.PassRateLo, t.PassRateHi, t.Mean); err != nil {
			return err
		}
	}
	// A case given twice (the same target, case id and repeat) keeps its
	// first entry: the unique index cases_case ignores the second. The
	// criteria and slices are read back from the cases kept.
	for _, q := range []string{
		`INSERT OR IGNORE INTO cases (run, n, target, case_id, repeat, status, score, error_kind, failed, slices, off, len, result)
			SELECT ?1, n, target, case_id, repeat, status, score, error_kind, failed, slices, off, len, result FROM temp.stage_cases ORDER BY n`,
		`INSERT OR IGNORE INTO case_failed (run, criterion, n)
			SELECT ?1, j.value, c.n FROM cases c, json_each(c.failed) j WHERE c.run = ?1 AND c.failed IS NOT NULL ORDER BY 2, 3`,
		`INSERT OR IGNORE INTO case_slices (run, slice, n)
			SELECT ?1, j.value, c.n FROM cases c, json_each(c.slices) j WHERE c.run = ?1 AND c.slices IS NOT NULL ORDER BY 2, 3`,
	} {
		if _, err := tx.ExecContext(ctx, q, n); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// forget removes the run with id and its index, if it is recorded.
func forget(ctx context.Context, tx *sql.Tx, id string) error {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT n FROM runs WHERE id = ?`, id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM case_slices WHERE run = ?`,
		`DELETE FROM case_failed WHERE run = ?`,
		`DELETE FROM cases WHERE run = ?`,
		`DELETE FROM run_targets WHERE run = ?`,
		`DELETE FROM runs WHERE n = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, n); err != nil {
			return err
		}
	}
	return nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// runColumns are the columns scanRun reads, in its order.
const runColumns = `n, id, kind, suite, suite_version, suite_sha256, dataset_sha256, git_commit, git_branch,
	started_ns, finished_ns, complete, gate_held, dir, host`

type scanner interface{ Scan(dest ...any) error }

func scanRun(sc scanner, extra ...any) (int64, *Run, error) {
	var (
		r                 Run
		n                 int64
		started, finished int64
		gate              sql.NullBool
	)
	dest := append([]any{&n, &r.ID, &r.Kind, &r.Suite, &r.SuiteVersion, &r.SuiteSHA256, &r.DatasetSHA256,
		&r.GitCommit, &r.GitBranch, &started, &finished, &r.Complete, &gate, &r.Dir, &r.Host}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return 0, nil, err
	}
	r.Started, r.Finished = fromUnixNano(started), fromUnixNano(finished)
	if gate.Valid {
		r.GateHeld = &gate.Bool
	}
	r.Missing = missing(&r)
	return n, &r, nil
}

// missing reports whether r is a run of this machine whose folder no
// longer holds a journal. A run of another machine is never missing.
func missing(r *Run) bool {
	if r.Elsewhere() {
		return false
	}
	_, err := os.Stat(filepath.Join(r.Dir, rundir.ResultsFile))
	return err != nil
}

// Runs implements Store.
func (s *SQLite) Runs(ctx context.Context, f Filter) ([]Run, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.f.Read.QueryContext(ctx, `SELECT `+runColumns+` FROM runs
		WHERE (?1 = '' OR suite = ?1) AND (?2 = '' OR n IN (SELECT run FROM run_targets WHERE name = ?2))
		ORDER BY started_ns DESC, n DESC LIMIT ?3`, f.Suite, f.Target, limit)
	if err != nil {
		return nil, s.fail("listing runs", err)
	}
	defer rows.Close()
	var runs []Run
	index := map[int64]int{}
	for rows.Next() {
		n, r, err := scanRun(rows)
		if err != nil {
			return nil, s.fail("listing runs", err)
		}
		index[n] = len(runs)
		runs = append(runs, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("listing runs", err)
	}
	rows.Close()
	if len(runs) == 0 {
		return runs, nil
	}
	// The targets of the runs listed: all of them when the list is long.
	q, args := `SELECT run, name, provider, model, cases, passed, pass_rate, pass_rate_lo, pass_rate_hi, mean
		FROM run_targets ORDER BY run, pos`, []any(nil)
	if len(runs) <= 500 {
		q = `SELECT run, name, provider, model, cases, passed, pass_rate, pass_rate_lo, pass_rate_hi, mean
			FROM run_targets WHERE run IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(runs)), ", ") + `) ORDER BY run, pos`
		for n := range index {
			args = append(args, n)
		}
	}
	if err := s.targets(ctx, q, args, func(n int64, t Target) {
		if i, ok := index[n]; ok {
			runs[i].Targets = append(runs[i].Targets, t)
		}
	}); err != nil {
		return nil, s.fail("listing runs", err)
	}
	return runs, nil
}

func (s *SQLite) targets(ctx context.Context, q string, args []any, fn func(int64, Target)) error {
	rows, err := s.f.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			n int64
			t Target
		)
		if err := rows.Scan(&n, &t.Name, &t.Provider, &t.Model, &t.Cases, &t.Passed, &t.PassRate, &t.PassRateLo, &t.PassRateHi, &t.Mean); err != nil {
			return err
		}
		fn(n, t)
	}
	return rows.Err()
}

// Get implements Store.
func (s *SQLite) Get(ctx context.Context, id string) (*Run, error) {
	var report []byte
	n, r, err := scanRun(s.f.Read.QueryRowContext(ctx, `SELECT `+runColumns+`, report FROM runs WHERE id = ?`, id), &report)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, s.fail("reading run "+id, err)
	}
	if len(report) > 0 {
		r.Report = report
	}
	if err := s.targets(ctx, `SELECT run, name, provider, model, cases, passed, pass_rate, pass_rate_lo, pass_rate_hi, mean
		FROM run_targets WHERE run = ? ORDER BY pos`, []any{n}, func(_ int64, t Target) {
		r.Targets = append(r.Targets, t)
	}); err != nil {
		return nil, s.fail("reading run "+id, err)
	}
	return r, nil
}

// Cases implements Store. The rows are read in one read transaction, so a
// run recorded again meanwhile is seen whole, before or after.
func (s *SQLite) Cases(ctx context.Context, runID string, fn func(Case) error) error {
	tx, err := s.f.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.fail("reading the cases of run "+runID, err)
	}
	defer tx.Rollback()
	var n int64
	err = tx.QueryRowContext(ctx, `SELECT n FROM runs WHERE id = ?`, runID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("run %s: %w", runID, ErrNotFound)
	}
	if err != nil {
		return s.fail("reading the cases of run "+runID, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT target, case_id, repeat, status, score, error_kind, failed, slices, off, len
		FROM cases WHERE run = ? ORDER BY target, case_id, repeat`, n)
	if err != nil {
		return s.fail("reading the cases of run "+runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		c := Case{RunID: runID}
		var (
			score          sql.NullFloat64
			failed, slices sql.NullString
		)
		if err := rows.Scan(&c.Target, &c.CaseID, &c.Repeat, &c.Status, &score, &c.ErrorKind, &failed, &slices, &c.Off, &c.Len); err != nil {
			return s.fail("reading the cases of run "+runID, err)
		}
		if score.Valid {
			c.Score = &score.Float64
		}
		if c.Failed, err = parseList(failed); err == nil {
			c.Slices, err = parseList(slices)
		}
		if err != nil {
			return s.fail(fmt.Sprintf("reading case %s of run %s", c.CaseID, runID), err)
		}
		if err := fn(c); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail("reading the cases of run "+runID, err)
	}
	return nil
}

// Result implements Store.
func (s *SQLite) Result(ctx context.Context, runID, target, caseID string, repeat int) ([]byte, error) {
	var packed []byte
	err := s.f.Read.QueryRowContext(ctx, `SELECT c.result FROM runs r JOIN cases c ON c.run = r.n
		WHERE r.id = ? AND c.target = ? AND c.case_id = ? AND c.repeat = ?`, runID, target, caseID, repeat).Scan(&packed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s: case %q of target %q, repeat %d: %w", runID, caseID, target, repeat, ErrNotFound)
	}
	if err != nil {
		return nil, s.fail("reading a result of run "+runID, err)
	}
	line, err := unpackResult(packed)
	if err != nil {
		return nil, s.fail(fmt.Sprintf("reading case %s of run %s", caseID, runID), err)
	}
	return line, nil
}

func parseList(s sql.NullString) ([]string, error) {
	if !s.Valid {
		return nil, nil
	}
	var l []string
	return l, json.Unmarshal([]byte(s.String), &l)
}

// Forget implements Store: the runs are removed in one transaction; ids
// not in the history are ignored.
func (s *SQLite) Forget(ctx context.Context, ids ...string) error {
	if s.f.Write == nil {
		return errReadOnly
	}
	tx, err := s.f.Write.BeginTx(ctx, nil)
	if err != nil {
		return s.fail("forgetting runs", err)
	}
	defer tx.Rollback()
	for _, id := range ids {
		if err := forget(ctx, tx, id); err != nil {
			return s.fail("forgetting run "+id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail("forgetting runs", err)
	}
	return nil
}

// RecordAgreement implements Store.
func (s *SQLite) RecordAgreement(ctx context.Context, a *evals.Agreement) error {
	if s.f.Write == nil {
		return errReadOnly
	}
	rec, err := agreementRecord(a)
	if err != nil {
		return err
	}
	tx, err := s.f.Write.BeginTx(ctx, nil)
	if err != nil {
		return s.fail("recording an agreement", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM agreements WHERE run_id = ? AND judge = ? AND key = ?`, a.RunID, a.Judge, a.Key); err != nil {
		return s.fail("recording an agreement", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO agreements (suite, judge, key, targets_sha256, rubric_sha256, run_id,
		measured_ns, rated, agreement, kappa, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.Suite, a.Judge, a.Key, a.TargetsSHA256, a.RubricSHA256, a.RunID, unixNano(a.Measured), a.N,
		a.Agreement, a.Kappa, rec); err != nil {
		return s.fail("recording an agreement", err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail("recording an agreement", err)
	}
	return nil
}

// Agreements implements Store.
func (s *SQLite) Agreements(ctx context.Context, f AgreementFilter) ([]evals.Agreement, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.f.Read.QueryContext(ctx, `SELECT record FROM agreements
		WHERE (?1 = '' OR suite = ?1) AND (?2 = '' OR judge = ?2) AND (?3 = '' OR key = ?3)
		ORDER BY measured_ns DESC, n DESC LIMIT ?4`, f.Suite, f.Judge, f.Key, limit)
	if err != nil {
		return nil, s.fail("reading agreements", err)
	}
	defer rows.Close()
	var out []evals.Agreement
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, s.fail("reading agreements", err)
		}
		a, err := parseAgreement(rec)
		if err != nil {
			return nil, s.fail("reading agreements", err)
		}
		out = append(out, *a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("reading agreements", err)
	}
	return out, nil
}

// agreementRecord is a's JSON, as the record column holds it.
func agreementRecord(a *evals.Agreement) (string, error) {
	if a.Judge == "" || a.Key == "" || a.RunID == "" {
		return "", errors.New("history: an agreement without a judge, a key or a run")
	}
	b, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("history: an agreement: %w", err)
	}
	return string(b), nil
}

func parseAgreement(rec string) (*evals.Agreement, error) {
	var a evals.Agreement
	if err := json.Unmarshal([]byte(rec), &a); err != nil {
		return nil, fmt.Errorf("a stored agreement: %w", err)
	}
	return &a, nil
}
