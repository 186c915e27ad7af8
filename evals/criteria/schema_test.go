package criteria_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// TestSchemaListsEveryCriterion keeps the suite schema's criterion types, which
// editors complete from, in step with the registry.
func TestSchemaListsEveryCriterion(t *testing.T) {
	var doc struct {
		Definitions struct {
			Criterion struct {
				Properties struct {
					Type struct {
						Enum []string `json:"enum"`
					} `json:"type"`
				} `json:"properties"`
			} `json:"criterion"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(evals.SchemaJSON, &doc); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(doc.Definitions.Criterion.Properties.Type.Enum))
	if want := criteria.Names(); !slices.Equal(got, want) {
		t.Errorf("schema criterion types = %v, registry = %v", got, want)
	}
}
