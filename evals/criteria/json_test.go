package criteria_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

func TestJSONValid(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "object", spec: `{"name":"c","type":"json-valid"}`, output: `{"a": [1, 2.5, "x", null, true]}`, want: pass()},
		{name: "array", spec: `{"name":"c","type":"json-valid"}`, output: `[1,2]`, want: pass()},
		{name: "string", spec: `{"name":"c","type":"json-valid"}`, output: `"text"`, want: pass()},
		{name: "number with white space", spec: `{"name":"c","type":"json-valid"}`, output: " 42\n", want: pass()},
		{name: "syntax error", spec: `{"name":"c","type":"json-valid"}`, output: `{"a":}`,
			want: fail(`output is not JSON: invalid character '}' looking for beginning of value at offset 6, near "}"`)},
		{name: "prose", spec: `{"name":"c","type":"json-valid"}`, output: `Sure! Here is the JSON you asked for: {"a":1}`,
			want: fail(`output is not JSON: invalid character 'S' looking for beginning of value at offset 1, near "Sure! Here is the JS"…`)},
		{name: "text after the value", spec: `{"name":"c","type":"json-valid"}`, output: `{"a":1} ok`,
			want: fail(`output is not JSON: invalid character 'o' after top-level value at offset 9, near "ok"`)},
		{name: "truncated", spec: `{"name":"c","type":"json-valid"}`, output: `{"a":[1,2`,
			want: fail(`output is not JSON: unexpected end of JSON input at offset 9, near "2"`)},
		{name: "empty", spec: `{"name":"c","type":"json-valid"}`, output: "",
			want: fail(`output is not JSON: the text is empty`)},
		{name: "fenced", spec: `{"name":"c","type":"json-valid","extract":{"code_fence":true}}`, output: "Here:\n```json\n{\"a\":1}\n```\nDone.", want: pass()},
		{name: "fenced, not JSON", spec: `{"name":"c","type":"json-valid","extract":{"code_fence":true}}`, output: "```\n{a:1}\n```",
			want: fail(`output is not JSON: invalid character 'a' looking for beginning of object key string at offset 2, near "a:1}"`)},
		{name: "extracted field must be JSON too", spec: `{"name":"c","type":"json-valid","extract":{"json":"payload"}}`, output: `{"payload":"{\"x\":1}"}`, want: pass()},
	})
}

const ticketSchema = `{
	"type": "object",
	"required": ["category", "priority"],
	"properties": {
		"category": {"enum": ["billing", "refund", "technical"]},
		"priority": {"type": "string"},
		"items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}
	},
	"additionalProperties": false
}`

func TestJSONSchema(t *testing.T) {
	spec := `{"name":"c","type":"json-schema","schema":` + ticketSchema + `}`
	runScoreTests(t, []scoreTest{
		{name: "valid", spec: spec, output: `{"category":"billing","priority":"high"}`, want: pass()},
		{name: "one violation", spec: spec, output: `{"category":"billing"}`,
			want: fail(`schema violation: (root): priority is required`)},
		{name: "violations sorted, with their fields", spec: spec, output: `{"category":"sales","items":[{"name":3}]}`,
			want: fail(`3 schema violations: (root): priority is required; category: category must be one of the following: "billing", "refund", "technical"; items.0.name: Invalid type. Expected: string, given: integer`)},
		{name: "at most five violations", spec: spec, output: `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}`,
			want: fail(`8 schema violations: (root): Additional property a is not allowed; (root): Additional property b is not allowed; (root): Additional property c is not allowed; (root): Additional property d is not allowed; (root): Additional property e is not allowed; and 3 more`)},
		{name: "not JSON", spec: spec, output: `category: billing`,
			want: fail(`output is not JSON: invalid character 'c' looking for beginning of value at offset 1, near "category: billing"`)},
		{name: "not an object", spec: spec, output: `[]`,
			want: fail(`schema violation: (root): Invalid type. Expected: object, given: array`)},
		{name: "fenced", spec: `{"name":"c","type":"json-schema","extract":{"code_fence":true},"schema":` + ticketSchema + `}`,
			output: "```json\n{\"category\": \"refund\", \"priority\": \"low\"}\n```", want: pass()},
		{name: "extracted part", spec: `{"name":"c","type":"json-schema","extract":{"json":"result"},"schema":{"type":"integer","minimum":1}}`,
			output: `{"result": 0}`, want: fail(`schema violation: (root): Must be greater than or equal to 1`)},
		{name: "threshold 0", spec: `{"name":"c","type":"json-schema","threshold":0,"schema":{"type":"string"}}`,
			output: `1`, want: evals.Verdict{Pass: true, Reason: `schema violation: (root): Invalid type. Expected: string, given: integer`}},
	})
}

func TestJSONSchemaFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "schemas"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schemas", "ticket.json"), []byte(ticketSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		output string
		want   evals.Verdict
	}{
		{"relative to the suite", "schemas/ticket.json", `{"category":"refund","priority":"low"}`, pass()},
		{"relative, violation", "schemas/ticket.json", `{"category":"refund"}`, fail(`schema violation: (root): priority is required`)},
		{"absolute", filepath.Join(dir, "schemas", "ticket.json"), `{"category":"refund","priority":"low"}`, pass()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := `{"name":"c","type":"json-schema","schema_file":` + jsonString(tt.path) + `}`
			sc := build(t, raw, criteria.Env{Dir: dir})
			got := sc.Score(context.Background(), &evals.Input{Output: tt.output})
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestJSONCriteriaRejectNormalize(t *testing.T) {
	for _, typ := range []string{"json-valid", "json-schema"} {
		raw := `{"name":"c","type":"` + typ + `","schema":{"type":"object"},"normalize":["trim"]}`
		if typ == "json-valid" {
			raw = `{"name":"c","type":"json-valid","normalize":["trim"]}`
		}
		_, err := criteria.New(evals.CriterionSpec{Name: "c", Type: typ, Raw: json.RawMessage(raw)}, criteria.Env{})
		var fe *evals.FieldError
		if !errors.As(err, &fe) || fe.Field != "normalize" || !strings.Contains(fe.Error(), "does not apply") {
			t.Errorf("%s: err = %v, want a FieldError on normalize", typ, err)
		}
	}
}
