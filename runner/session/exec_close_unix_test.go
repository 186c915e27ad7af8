//go:build unix

package session

import (
	"encoding/json"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// TestSuiteEndStopsItsModels runs two suites whose target is an exec
// provider with protocol "lines", the test binary as its model (the scorer
// of TestMain, whose answer line, read as text, holds its pid): the model
// processes of the first suite are gone by the time the second reports, and
// those of the second when the session ends. The suite's endpoints are
// closed with it.
func TestSuiteEndStopsItsModels(t *testing.T) {
	checkSuiteEndStops(t, "model", func(bin string) map[string]any {
		return map[string]any{
			"criteria": []map[string]any{{"name": "any", "type": "regex", "pattern": "."}},
			"targets": []map[string]any{{"name": "t", "provider": "exec", "protocol": "lines", "format": "text", "command": []string{bin},
				"env": map[string]string{scorerEnv: "1", "GORACE": "atexit_sleep_ms=0"}}},
		}
	}, func(r *evals.Result) []int {
		var answer struct {
			Reason int `json:"reason,string"`
		}
		if json.Unmarshal([]byte(r.Output), &answer) == nil && answer.Reason > 0 {
			return []int{answer.Reason}
		}
		return nil
	})
}
