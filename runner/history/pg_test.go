package history_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/history/historytest"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://rubric:s3cret@db.example:5432/rubric?sslmode=require", "postgres://rubric:[REDACTED]@db.example:5432/rubric?sslmode=require"},
		{"postgresql://ci@db/rubric", "postgresql://ci@db/rubric"},
		{"postgres://db/rubric?user=ci&password=s3cret&sslmode=disable", "postgres://db/rubric?user=ci&password=[REDACTED]&sslmode=disable"},
		{"postgres://u:p@ss:w0rd@db/x", "postgres://u:[REDACTED]@db/x"},
		{"postgres://u:s3%2Fcret@db", "postgres://u:[REDACTED]@db"},
		{"postgres://db", "postgres://db"},
	} {
		if got := history.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestPostgresErrorsHideThePassword: whatever goes wrong on open, the
// error names the database without its password.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	// A port nothing listens on: take one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	const pw = "hunter2-S3cret"
	for _, tc := range []struct{ name, url, want string }{
		{"refused", "postgres://rubric:" + pw + "@" + closed + "/rubric?connect_timeout=5", "postgres://rubric:[REDACTED]@" + closed},
		{"refused, password parameter", "postgres://" + closed + "/rubric?user=x&password=" + pw, "password=[REDACTED]"},
		{"escaped", "postgres://rubric:" + strings.ReplaceAll(pw, "-", "%2D") + "@" + closed + "/rubric", "[REDACTED]"},
		{"bad port", "postgres://rubric:" + pw + "@db.example:port/rubric", "not a valid PostgreSQL URL"},
		{"bad escape", "postgres://rubric:" + pw + "%zz@db.example/rubric", "not a valid PostgreSQL URL"},
		{"bad parameter", "postgres://rubric:" + pw + "@db.example/rubric?sslmode=sometimes", "not a valid PostgreSQL URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := history.OpenPostgres(context.Background(), tc.url)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q; want it to say %q", err, tc.want)
			}
		})
	}
}

// TestPostgresOpenTogether: processes opening a new database at once take
// turns at the migrations (the advisory lock); every one opens it.
func TestPostgresOpenTogether(t *testing.T) {
	url := historytest.PostgresURL(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := history.OpenPostgres(context.Background(), url)
			if err == nil {
				err = s.Record(context.Background(), &history.Run{ID: fmt.Sprint("r", i), Suite: "qa"}, func(func(history.Case) error) error { return nil })
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
	if v := schemaVersion(t, url); v != history.PostgresSchemaVersion() {
		t.Errorf("schema_version %d, want %d", v, history.PostgresSchemaVersion())
	}
}

func schemaVersion(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v int
	if err := conn.QueryRow(context.Background(), `SELECT version FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresRefusesWhatItCannotUse: a database written by a newer rubric,
// and one where another application's table is in the way.
func TestPostgresRefusesWhatItCannotUse(t *testing.T) {
	newer := historytest.PostgresURL(t)
	s, err := history.OpenPostgres(context.Background(), newer)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	exec(t, newer, `UPDATE schema_version SET version = 99`)
	if _, err := history.OpenPostgres(context.Background(), newer); err == nil || !strings.Contains(err.Error(), "written by a newer rubric (schema version 99") {
		t.Errorf("open of a newer schema: %v", err)
	}

	taken := historytest.PostgresURL(t)
	exec(t, taken, `CREATE TABLE runs (id int)`)
	_, err = history.OpenPostgres(context.Background(), taken)
	if err == nil || !strings.Contains(err.Error(), "give rubric a database of its own") {
		t.Errorf("open where a table runs is in the way: %v", err)
	}
	// Nothing half made: the migration rolled back whole.
	conn, err := pgx.Connect(context.Background(), taken)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var made bool
	err = conn.QueryRow(context.Background(), `SELECT to_regclass('run_targets') IS NOT NULL OR to_regclass('schema_version') IS NOT NULL`).Scan(&made)
	if err != nil || made {
		t.Errorf("a failed migration left tables: %v, %v", made, err)
	}
}

// TestPostgresRecordCancelled: a Record whose context ends halfway
// leaves nothing.
func TestPostgresRecordCancelled(t *testing.T) {
	s := historytest.OpenPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := s.Record(ctx, &history.Run{ID: "r1", Suite: "qa"}, func(add func(history.Case) error) error {
		for i := range 50_000 {
			if i == 1000 {
				cancel()
			}
			if err := add(history.Case{Target: "m", CaseID: fmt.Sprint(i), Status: "passed"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		t.Fatal("Record went through a cancelled context")
	}
	if _, err := s.Get(context.Background(), "r1"); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("after a cancelled Record: %v; want ErrNotFound", err)
	}
}

// BenchmarkPostgresRecord100k records a run of 100,000 cases, replacing
// the one before (the figure in the closing note of issue 14):
//
//	RUBRIC_TEST_POSTGRES=postgres://... go test -run '^$' -bench PostgresRecord -benchtime 5x ./runner/history/
func BenchmarkPostgresRecord100k(b *testing.B) {
	s, err := history.OpenPostgres(context.Background(), historytest.PostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 100_000
	score := 0.5
	slices := []string{"tag=billing", "domain=refunds"}
	failed := []string{"exact"}
	for b.Loop() {
		err := s.Record(context.Background(), &history.Run{ID: "big", Suite: "qa", Targets: []history.Target{{Name: "m"}}},
			func(add func(history.Case) error) error {
				for i := range n {
					c := history.Case{Target: "m", CaseID: fmt.Sprintf("case-%06d", i), Status: "passed", Score: &score,
						Slices: slices, Off: int64(i) * 300, Len: 299}
					if i%4 == 0 {
						c.Status, c.Failed = "failed", failed
					}
					if err := add(c); err != nil {
						return err
					}
				}
				return nil
			})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "cases/s")
}
