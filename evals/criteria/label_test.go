package criteria_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// TestEqualsLabel checks the labels an equals criterion with label: true
// records for the classification report: normalised as compared, the value
// matched (or the first), and "" when nothing could be extracted.
func TestEqualsLabel(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		output   string
		expected string
		want     *evals.Label
		unscored bool
	}{
		{"right", `{"name":"c","type":"equals","label":true,"normalize":["lowercase","trim"]}`, " Billing\n", `"billing"`, &evals.Label{Expected: "billing", Predicted: "billing"}, false},
		{"wrong", `{"name":"c","type":"equals","label":true,"normalize":["lowercase"]}`, "Shipping", `"Billing"`, &evals.Label{Expected: "billing", Predicted: "shipping"}, false},
		{"the value matched", `{"name":"c","type":"equals","label":true}`, "b", `["a","b"]`, &evals.Label{Expected: "b", Predicted: "b"}, false},
		{"the first value", `{"name":"c","type":"equals","label":true}`, "x", `["a","b"]`, &evals.Label{Expected: "a", Predicted: "x"}, false},
		{"static value", `{"name":"c","type":"equals","label":true,"value":"yes"}`, "no", ``, &evals.Label{Expected: "yes", Predicted: "no"}, false},
		{"extracted", `{"name":"c","type":"equals","label":true,"extract":{"json":"intent"}}`, `{"intent":"refund"}`, `"cancel"`, &evals.Label{Expected: "cancel", Predicted: "refund"}, false},
		{"nothing extracted", `{"name":"c","type":"equals","label":true,"extract":{"json":"intent"}}`, `not json`, `"cancel"`, &evals.Label{Expected: "cancel", Predicted: ""}, false},
		{"unscored has no label", `{"name":"c","type":"equals","label":true}`, "x", ``, nil, true},
		{"label false", `{"name":"c","type":"equals","label":false}`, "x", `"x"`, nil, false},
		{"no label field", `{"name":"c","type":"equals"}`, "x", `"x"`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := build(t, tt.spec, criteria.Env{})
			v := sc.Score(context.Background(), &evals.Input{Case: caseOf(t, tt.expected, ""), Output: tt.output})
			if v.Unscored != tt.unscored {
				t.Errorf("verdict %+v", v)
			}
			if (v.Label == nil) != (tt.want == nil) || v.Label != nil && *v.Label != *tt.want {
				t.Errorf("label %+v, want %+v", v.Label, tt.want)
			}
		})
	}
	_, err := criteria.New(specOf(t, `{"name":"c","type":"starts-with","label":true}`), criteria.Env{})
	var fe *evals.FieldError
	if !errors.As(err, &fe) || fe.Field != "label" {
		t.Errorf("label on starts-with: %v", err)
	}
	_, err = criteria.New(specOf(t, `{"name":"c","type":"equals","label":"yes"}`), criteria.Env{})
	if !errors.As(err, &fe) || fe.Field != "label" || fe.Err.Error() != "expected true or false, got a string" {
		t.Errorf("label a string: %v", err)
	}
}
