package historytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rubric-eval/rubric/runner/history"
)

// EnvPostgres is the environment variable that names the PostgreSQL
// server the tests use, as a URL: .ci/run starts a throwaway one and sets
// it.
const EnvPostgres = "RUBRIC_TEST_POSTGRES"

// InCI reports whether the tests run in CI (CI or RUBRIC_CI set, to
// anything but "" or "0" or "false"), where a test must not skip for want
// of a service.
func InCI() bool {
	for _, name := range []string{"CI", "RUBRIC_CI"} {
		switch strings.ToLower(os.Getenv(name)) {
		case "", "0", "false":
		default:
			return true
		}
	}
	return false
}

// PostgresURL returns the URL of a new, empty schema on the server
// RUBRIC_TEST_POSTGRES names (the URL with search_path set), dropped with
// everything in it when the test ends. See PostgresServer for when it is
// unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := PostgresServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "rubric_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("%s: creating a schema for the test: %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("%s: dropping the test's schema: %v", EnvPostgres, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("%s: dropping the test's schema: %v", EnvPostgres, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// OpenPostgres is an Open for the PostgreSQL history: a new schema on the
// test server for each test.
func OpenPostgres(t *testing.T) history.Store {
	t.Helper()
	s, err := history.OpenPostgres(context.Background(), PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresServer returns the URL RUBRIC_TEST_POSTGRES holds. Unset, it
// skips the test and says how to set it; in CI it fails the test instead.
func PostgresServer(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		const how = EnvPostgres + " is not set: the PostgreSQL history is NOT TESTED. " +
			"Start a throwaway server with `source .ci/postgres.sh && start_postgres` (it sets " + EnvPostgres +
			"), or set it to the URL of a server whose user may create schemas, e.g. postgres://rubric@127.0.0.1:5432/postgres?sslmode=disable"
		if InCI() {
			t.Fatal(how + " (CI is set: this fails instead of skipping)")
		}
		t.Skip("SKIPPING POSTGRESQL: " + how)
	}
	return base
}
