package evals

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"
)

func TestSchemasCompile(t *testing.T) {
	tests := []struct {
		name string
		doc  []byte
	}{
		{"suite", SchemaJSON},
		{"config", ConfigSchemaJSON()},
		{"target", TargetSchemaJSON()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !json.Valid(tc.doc) {
				t.Fatal("not valid JSON")
			}
			if _, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(tc.doc)); err != nil {
				t.Fatalf("does not compile: %v", err)
			}
		})
	}
	if _, err := compiled(); err != nil {
		t.Fatalf("compiled(): %v", err)
	}
}

func TestConfigSchemaJSON(t *testing.T) {
	b := ConfigSchemaJSON()
	if !strings.HasSuffix(string(b), "}\n") {
		t.Errorf("ConfigSchemaJSON does not end in a newline")
	}
	var doc struct {
		Schema      string                     `json:"$schema"`
		Ref         string                     `json:"$ref"`
		Title       string                     `json:"title"`
		Description string                     `json:"description"`
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "http://json-schema.org/draft-07/schema#" || doc.Ref != "#/definitions/config" ||
		doc.Title != "rubric project config" || doc.Description == "" {
		t.Errorf("header = %q, %q, %q, %q", doc.Schema, doc.Ref, doc.Title, doc.Description)
	}
	for _, def := range []string{"config", "target", "params"} {
		if _, ok := doc.Definitions[def]; !ok {
			t.Errorf("definition %q missing", def)
		}
	}
}

// TestSchemaDescriptions walks the whole schema: every property of every
// object schema, at the top level, in definitions and nested inside them, has
// a description (or is a $ref to a definition that has one), since editors
// show it and `rubric schema` is the reference.
func TestSchemaDescriptions(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(SchemaJSON, &doc); err != nil {
		t.Fatal(err)
	}
	if d, _ := doc["description"].(string); d == "" {
		t.Errorf("the schema has no description")
	}
	defs, _ := doc["definitions"].(map[string]any)
	var missing []string
	checked := 0
	var walk func(path string, node any)
	walk = func(path string, node any) {
		switch n := node.(type) {
		case map[string]any:
			if props, ok := n["properties"].(map[string]any); ok {
				for name, p := range props {
					checked++
					if !described(p, defs) {
						missing = append(missing, path+"/properties/"+name)
					}
				}
			}
			for k, v := range n {
				walk(path+"/"+k, v)
			}
		case []any:
			for i, v := range n {
				walk(fmt.Sprintf("%s/%d", path, i), v)
			}
		}
	}
	walk("#", doc)
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("properties without a description:\n%s", strings.Join(missing, "\n"))
	}
	// The walk must have reached the nested definitions, not only the top.
	if checked < 60 {
		t.Errorf("checked only %d properties", checked)
	}
}

// described reports whether a property schema has a description, directly or
// through the definition it refers to.
func described(p any, defs map[string]any) bool {
	m, ok := p.(map[string]any)
	if !ok {
		return false
	}
	if d, _ := m["description"].(string); strings.TrimSpace(d) != "" {
		return true
	}
	ref, _ := m["$ref"].(string)
	name, ok := strings.CutPrefix(ref, "#/definitions/")
	if !ok {
		return false
	}
	def, _ := defs[name].(map[string]any)
	d, _ := def["description"].(string)
	return strings.TrimSpace(d) != ""
}

func TestSchemaDescriptionsWalkFindsGaps(t *testing.T) {
	// described itself: a property with neither description nor a described $ref fails.
	defs := map[string]any{"a": map[string]any{"description": "x"}, "b": map[string]any{}}
	tests := []struct {
		name string
		prop any
		want bool
	}{
		{"description", map[string]any{"type": "string", "description": "d"}, true},
		{"blank description", map[string]any{"description": "  "}, false},
		{"none", map[string]any{"type": "string"}, false},
		{"ref to described", map[string]any{"$ref": "#/definitions/a"}, true},
		{"ref to undescribed", map[string]any{"$ref": "#/definitions/b"}, false},
		{"ref to missing", map[string]any{"$ref": "#/definitions/zzz"}, false},
		{"not an object", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := described(tc.prop, defs); got != tc.want {
				t.Errorf("described(%v) = %v, want %v", tc.prop, got, tc.want)
			}
		})
	}
}

func TestConfigSchemaValidates(t *testing.T) {
	sc, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config string
		errors []string // "field: description" as gojsonschema gives them
	}{
		{
			name: "valid",
			config: `{
  "$schema": "./config.schema.json",
  "targets": {
    "local": {"provider": "openai", "base_url": "http://localhost:8000/v1", "model": "m",
              "params": {"temperature": 0, "max_tokens": 300, "stop": ["\n"]},
              "headers": {"X-Key": "${KEY}"}, "concurrency": 16, "timeout": "1m30s"},
    "rec.v1:a-b_c": {"provider": "replay", "path": "r.jsonl", "replay_as": "local"}
  }
}`,
		},
		{name: "empty", config: `{}`},
		{
			name:   "unknown top-level field",
			config: `{"targets": {}, "suites": []}`,
			errors: []string{"(root): Additional property suites is not allowed"},
		},
		{
			name:   "unknown field in a target",
			config: `{"targets": {"a": {"provider": "replay", "path": "p", "modle": "m"}}}`,
			errors: []string{"targets.a: Additional property modle is not allowed"},
		},
		{
			name:   "target without provider",
			config: `{"targets": {"a": {"path": "p"}}}`,
			errors: []string{"targets.a: provider is required"},
		},
		{
			name:   "targets not an object",
			config: `{"targets": ["a"]}`,
			errors: []string{"targets: Invalid type. Expected: object, given: array"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := sc.config.Validate(gojsonschema.NewStringLoader(tc.config))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range res.Errors() {
				got = append(got, e.Field()+": "+e.Description())
			}
			if strings.Join(got, "\n") != strings.Join(tc.errors, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.errors, "\n"))
			}
		})
	}
}

func TestSuiteSchemaAcceptsAFullSuite(t *testing.T) {
	sc, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	suite := `{
  "$schema": "x",
  "name": "n", "description": "d", "version": "1",
  "messages": [{"role": "system", "content": "s"}, {"role": "developer", "content": "d"},
               {"role": "user", "content": "{{ q }}"}, {"role": "assistant", "content": "a"}],
  "dataset": {"path": "d.csv", "format": "csv"},
  "criteria": [
    {"name": "e", "type": "equals", "value": ["a", "b"], "weight": 0.5, "threshold": 1,
     "normalize": ["trim", "lowercase"], "description": "d", "extract": {"code_fence": true, "json": "a.0"}},
    {"name": "r", "type": "regex", "pattern": "(?i)x", "group": "g", "extract": {"regex": "(a)", "group": 1}},
    {"name": "c", "type": "contains", "value": "x", "mode": "all"},
    {"name": "s", "type": "json-schema", "schema": {"type": "object"}},
    {"name": "f", "type": "json-schema", "schema_file": "s.json", "extract": {"last_line": true}}
  ],
  "targets": ["a", {"name": "b", "provider": "replay", "path": "p"}],
  "gate": ["pass_rate >= 0.9"],
  "case_pass": "score",
  "pass_score": 0.5
}`
	res, err := sc.suite.Validate(gojsonschema.NewStringLoader(suite))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Valid() {
		for _, e := range res.Errors() {
			t.Errorf("%s: %s", e.Field(), e.Description())
		}
	}
}

func TestContextPointer(t *testing.T) {
	if got := contextPointer(nil); got != "" {
		t.Errorf("contextPointer(nil) = %q", got)
	}
	root := gojsonschema.NewJsonContext(gojsonschema.STRING_CONTEXT_ROOT, nil)
	tests := []struct {
		name string
		ctx  *gojsonschema.JsonContext
		want string
	}{
		{"root", root, ""},
		{"member", gojsonschema.NewJsonContext("name", root), "/name"},
		{"nested", gojsonschema.NewJsonContext("2", gojsonschema.NewJsonContext("criteria", root)), "/criteria/2"},
		{"escaped", gojsonschema.NewJsonContext("a/b~", gojsonschema.NewJsonContext("targets", root)), "/targets/a~1b~0"},
		{"key with a dot", gojsonschema.NewJsonContext("rec.v1", gojsonschema.NewJsonContext("targets", root)), "/targets/rec.v1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := contextPointer(tc.ctx); got != tc.want {
				t.Errorf("contextPointer = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFieldsAt(t *testing.T) {
	tests := []struct {
		ptr, root string
		want      string // a field that must be listed; "" for none at all
	}{
		{"", "suite", "messages"},
		{"", "config", "targets"},
		{"", "target", "provider"},
		{"/dataset", "suite", "cases"},
		{"/criteria/3", "suite", "pattern"},
		{"/criteria/3/extract", "suite", "last_line"},
		{"/targets/0", "suite", "base_url"},
		{"/targets/local", "config", "base_url"},
		{"/targets/0/params", "suite", "temperature"},
		{"/messages/1", "suite", "role"},
		{"/dataset/cases/0", "suite", ""},
	}
	for _, tc := range tests {
		t.Run(tc.root+tc.ptr, func(t *testing.T) {
			got := fieldsAt(tc.ptr, tc.root)
			if tc.want == "" {
				if got != nil {
					t.Errorf("fieldsAt = %q, want none", got)
				}
				return
			}
			if !sort.StringsAreSorted(got) {
				t.Errorf("fieldsAt = %q, not sorted", got)
			}
			found := false
			for _, f := range got {
				found = found || f == tc.want
			}
			if !found {
				t.Errorf("fieldsAt = %q, want %q among them", got, tc.want)
			}
		})
	}
}
