package evals

import (
	"bytes"
	"os"
	"testing"
)

// TestConfigSchemaFileIsCurrent keeps evals/config.schema.json, which config
// files name in $schema, equal to what `rubric schema --config` prints.
// Refresh it with: go run ./cmd/rubric schema --config > evals/config.schema.json
func TestConfigSchemaFileIsCurrent(t *testing.T) {
	b, err := os.ReadFile("config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, ConfigSchemaJSON()) {
		t.Error("evals/config.schema.json is stale: go run ./cmd/rubric schema --config > evals/config.schema.json")
	}
}
