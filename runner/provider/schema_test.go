package provider_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/provider"
)

// TestSchemaListsEveryProvider keeps the suite schema's provider enum in step
// with the registry.
func TestSchemaListsEveryProvider(t *testing.T) {
	var doc struct {
		Definitions struct {
			Target struct {
				Properties struct {
					Provider struct {
						Enum []string `json:"enum"`
					} `json:"provider"`
				} `json:"properties"`
			} `json:"target"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(evals.SchemaJSON, &doc); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(doc.Definitions.Target.Properties.Provider.Enum))
	if want := provider.Names(); !slices.Equal(got, want) {
		t.Errorf("schema providers = %v, registry = %v", got, want)
	}
}
