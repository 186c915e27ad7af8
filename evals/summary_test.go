package evals

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// jsonKeys returns the keys of the JSON object v encodes to, in order.
func jsonKeys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s: not an object", b)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestSummaryJSONKeys: a target in report.json has its fields in the order
// they had before Figures was shared with slices, and a slice has every
// field of Figures after its key and value.
func TestSummaryJSONKeys(t *testing.T) {
	iv := &Interval{}
	f := Figures{PassRateCI: iv, MeanCI: iv, Cached: 1, Errors: map[string]int{"timeout": 1}, Cost: &CostSummary{}}
	target := TargetSummary{
		Model: "m", Figures: f, Slices: []SliceSummary{{}}, Judges: &JudgeSummary{}, Repeats: &RepeatSummary{},
		Comparison: &Comparison{}, FailedCases: []FailedCase{{}},
	}
	want := []string{
		"name", "provider", "model", "cases", "passed", "failed", "errored", "unscored",
		"pass_rate", "pass_rate_ci", "error_rate", "unscored_rate", "mean", "mean_stderr", "mean_ci", "scored",
		"cached", "errors", "usage", "latency_ms", "cost", "criteria",
		"slices", "judges", "repeats", "comparison", "failed_cases",
	}
	if got := jsonKeys(t, target); !reflect.DeepEqual(got, want) {
		t.Errorf("a target's keys:\n got %q\nwant %q", got, want)
	}
	slice := SliceSummary{Figures: f}
	wantSlice := append([]string{"key", "value"}, want[3:22]...)
	if got := jsonKeys(t, slice); !reflect.DeepEqual(got, wantSlice) {
		t.Errorf("a slice's keys:\n got %q\nwant %q", got, wantSlice)
	}
}
