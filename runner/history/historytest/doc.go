// Package historytest holds the conformance suite of history.Store (Run),
// which every store runs: the in-memory one of the history's tests, the
// SQLite file and PostgreSQL. PostgresURL gives a test a fresh schema on
// the server RUBRIC_TEST_POSTGRES names, and skips loudly when it is unset
// (fails in CI).
package historytest
