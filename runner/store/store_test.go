package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// openTest opens a database in a fresh folder and closes it at the end.
func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "rubric.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "rubric.db")
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("file mode %v, want 0600", mode)
		}
		di, _ := os.Stat(filepath.Dir(path))
		if mode := di.Mode().Perm(); mode != 0o700 {
			t.Errorf("folder mode %v, want 0700", mode)
		}
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}

	// Every connection has the settings, not only the first.
	ctx := context.Background()
	var conns []*sql.Conn
	for range 2 { // the read pool holds at least two
		c, err := db.read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	w, err := db.sql.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, w)
	for i, c := range conns {
		queryOnly := "1"
		if c == w {
			queryOnly = "0"
		}
		for _, p := range []struct{ pragma, want string }{
			{"journal_mode", "wal"},
			{"busy_timeout", "10000"},
			{"synchronous", "1"}, // NORMAL
			{"query_only", queryOnly},
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != p.want {
				t.Errorf("conn %d: PRAGMA %s = %s, want %s", i, p.pragma, got, p.want)
			}
		}
		c.Close()
	}
	var v int
	if err := db.sql.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion() {
		t.Errorf("schema_version = %d, %v; want %d", v, err, SchemaVersion())
	}
}

func TestOpenAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rubric.db")
	for i := range 3 {
		db, err := Open(path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		var rows int
		db.sql.QueryRow(`SELECT count(*) FROM schema_version`).Scan(&rows)
		if rows != 1 {
			t.Errorf("Open #%d: schema_version has %d rows, want 1", i+1, rows)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
}

func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a b?c#d%20e", "r&s=t?.db")
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at the path given: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{
			name: "not a database",
			setup: func(t *testing.T, path string) {
				write(t, path, strings.Repeat("this is not a database\n", 400))
			},
			want: "not a SQLite database",
		},
		{
			name: "damaged database",
			setup: func(t *testing.T, path string) {
				db, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				db.Close()
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				// Keep the header, scribble over the schema page.
				for i := 100; i < len(b); i++ {
					b[i] = 0xa5
				}
				write(t, path, string(b))
			},
			want: "damaged",
		},
		{
			name:  "a directory",
			setup: func(t *testing.T, path string) { os.Mkdir(path, 0o755) },
			want:  "is a directory",
		},
		{
			name: "folder is a file",
			setup: func(t *testing.T, path string) {
				write(t, filepath.Dir(path), "")
			},
			want: "not a directory",
		},
		{
			name: "newer schema",
			setup: func(t *testing.T, path string) {
				db, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				db.sql.Exec(`UPDATE schema_version SET version = 99`)
				db.Close()
			},
			want: "written by a newer rubric (schema version 99",
		},
		{
			name: "another program's database",
			setup: func(t *testing.T, path string) {
				sdb, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sdb.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
					t.Fatal(err)
				}
				sdb.Close()
			},
			want: "not a rubric database",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "rubric.db")
			os.MkdirAll(filepath.Dir(filepath.Dir(path)), 0o755)
			if tt.name != "folder is a file" {
				os.MkdirAll(filepath.Dir(path), 0o755)
			}
			tt.setup(t, path)
			db, err := Open(path)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error does not name the path %s: %v", path, err)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv(EnvPath, "/somewhere/r.db")
	if p, err := DefaultPath(os.Getenv); err != nil || p != "/somewhere/r.db" {
		t.Errorf("with $%s set: %q, %v", EnvPath, p, err)
	}
	t.Setenv(EnvPath, "")
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skip(err)
	}
	want := filepath.Join(cache, "rubric", "rubric.db")
	if p, err := DefaultPath(os.Getenv); err != nil || p != want {
		t.Errorf("DefaultPath() = %q, %v; want %q", p, err, want)
	}
	// A PostgreSQL URL names a team's history: the cache stays at its
	// default place, and the URL is never taken for a file.
	for _, u := range []string{"postgres://u:pw@db.example/rubric", "postgresql://db/rubric?sslmode=disable", "Postgres://db/x"} {
		t.Setenv(EnvPath, u)
		if p, err := DefaultPath(os.Getenv); err != nil || p != want {
			t.Errorf("with $%s=%s: DefaultPath() = %q, %v; want %q", EnvPath, u, p, err, want)
		}
	}
}

func TestIsPostgresURL(t *testing.T) {
	for s, want := range map[string]bool{
		"postgres://h/db":       true,
		"postgresql://u@h/db":   true,
		"POSTGRESQL://h/db":     true,
		"/var/lib/rubric.db":    false,
		"postgres.db":           false,
		"./postgres://x":        false,
		"file:///tmp/rubric.db": false,
		"":                      false,
	} {
		if got := IsPostgresURL(s); got != want {
			t.Errorf("IsPostgresURL(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestCloseTwice(t *testing.T) {
	db := openTest(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestMigrateKeepsResponses opens a database of the first schema, with a
// cached response, as an earlier rubric left it: the migration adds the
// stream timings, and the response is still there, without any.
func TestMigrateKeepsResponses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rubric.db")
	old, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_version (version INTEGER NOT NULL)`,
		`INSERT INTO schema_version (version) VALUES (1)`,
		migrations[0],
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	key := testKey("old", 1)
	if _, err := old.Exec(`INSERT INTO responses VALUES (?, 'kept', 'stop', 1, 2, 3, 4000000, 1700000000000)`, key[:]); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := mustGet(t, db, key)
	if got.Text != "kept" || got.Latency != 4*time.Millisecond || got.Stream != nil {
		t.Errorf("after the migration: %+v, stream %+v", got, got.Stream)
	}
	var v int
	if err := db.sql.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion() || v != 3 {
		t.Errorf("schema_version = %d, %v; want 3", v, err)
	}
}

// TestMigrateAddsToolCalls opens a cache file of the second schema, as the
// rubric before tool calls left it, with a streamed answer: the migration
// adds the tool calls; the answer is still there, its timings kept and
// without calls, and an answer with calls is stored and read back, in this
// process and the next.
func TestMigrateAddsToolCalls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rubric.db")
	old, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_version (version INTEGER NOT NULL)`,
		`INSERT INTO schema_version (version) VALUES (2)`,
		migrations[0],
		migrations[1],
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	key := testKey("v2", 1)
	stream := encodeStream(&evals.StreamTiming{FirstTokenMS: 12.5, FirstContentMS: 12.5, TokensPerSecond: 40})
	if _, err := old.Exec(`INSERT INTO responses VALUES (?, 'kept', 'stop', 1, 2, 3, 4000000, 1700000000000, ?)`, key[:], stream); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, db, key)
	if got.Text != "kept" || got.Stream == nil || got.Stream.FirstTokenMS != 12.5 || got.ToolCalls != nil {
		t.Errorf("after the migration: %+v, stream %+v", got, got.Stream)
	}
	var v int
	if err := db.sql.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != 3 {
		t.Errorf("schema_version = %d, %v; want 3", v, err)
	}
	calls := testResponse("calls", 2)
	calls.ToolCalls = []evals.ToolCall{{ID: "call_1", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id": "A1"}`)}}
	if err := db.PutResponse(context.Background(), testKey("calls", 2), calls); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sameResponse(t, "reopened", mustGet(t, db, testKey("calls", 2)), calls)
}

// TestOpenSQLiteReadOnly opens a file read-only: it must exist, it is not
// migrated, an older schema is ErrOutdated and a newer one refused; a file
// up to date reads, and refuses writes.
func TestOpenSQLiteReadOnly(t *testing.T) {
	dir := t.TempDir()
	s := Schema{Migrations: []string{`CREATE TABLE a (x INTEGER)`, `CREATE TABLE b (y INTEGER)`}, Env: "RUBRIC_TEST"}
	path := filepath.Join(dir, "f.db")
	if _, err := OpenSQLite(path, s, true); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file that does not exist, read-only: err %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a read-only open created the file")
	}
	old := Schema{Migrations: s.Migrations[:1], Env: s.Env}
	f, err := OpenSQLite(path, old, false)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := OpenSQLite(path, s, true); !errors.Is(err, ErrOutdated) || !strings.Contains(err.Error(), "schema version 1; this rubric's is 2") {
		t.Fatalf("an older file, read-only: err %v, want ErrOutdated naming the versions", err)
	}
	if f, err = OpenSQLite(path, s, false); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ro, err := OpenSQLite(path, s, true)
	if err != nil {
		t.Fatalf("an up-to-date file, read-only: %v", err)
	}
	defer ro.Close()
	if ro.Write != nil {
		t.Error("a read-only file has a writing connection")
	}
	var n int
	if err := ro.Read.QueryRow(`SELECT count(*) FROM b`).Scan(&n); err != nil {
		t.Errorf("reading: %v", err)
	}
	if _, err := ro.Read.Exec(`INSERT INTO b VALUES (1)`); err == nil {
		t.Error("a read-only file took a write")
	}
	if _, err := OpenSQLite(path, old, true); err == nil || !strings.Contains(err.Error(), "written by a newer rubric (schema version 2; this rubric knows 1): upgrade rubric, or set RUBRIC_TEST") {
		t.Errorf("a newer file, read-only: err %v", err)
	}
}
