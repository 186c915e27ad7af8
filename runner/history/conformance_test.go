package history_test

import (
	"path/filepath"
	"testing"

	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/history/historytest"
)

// Every store runs the same conformance suite.

func TestMemStoreConformance(t *testing.T) {
	historytest.Run(t, func(*testing.T) history.Store { return history.NewMemStore() })
}

func TestSQLiteConformance(t *testing.T) {
	historytest.Run(t, func(t *testing.T) history.Store {
		s, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgresConformance(t *testing.T) {
	historytest.PostgresServer(t) // skips (or fails in CI) once, not per test
	historytest.Run(t, historytest.OpenPostgres)
}
