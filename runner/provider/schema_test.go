package provider

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// schemaProperty is what the tests read of a property of the suite schema.
type schemaProperty struct {
	Ref         string          `json:"$ref"`
	Type        schemaTypes     `json:"type"`
	Description string          `json:"description"`
	Enum        []string        `json:"enum"`
	Additional  json.RawMessage `json:"additionalProperties"`
}

// schemaTypes is a property's "type": one type, or an array of them.
type schemaTypes []string

func (st *schemaTypes) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*st = schemaTypes{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(st))
}

// targetSchema returns the target definition of the suite schema, and the
// schema's definitions, for $ref.
func targetSchema(t *testing.T) (props map[string]schemaProperty, required []string, defs map[string]schemaProperty) {
	t.Helper()
	var doc struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(evals.SchemaJSON, &doc); err != nil {
		t.Fatal(err)
	}
	var target struct {
		Properties map[string]schemaProperty `json:"properties"`
		Required   []string                  `json:"required"`
	}
	if err := json.Unmarshal(doc.Definitions["target"], &target); err != nil {
		t.Fatal(err)
	}
	defs = map[string]schemaProperty{}
	for name, raw := range doc.Definitions {
		var p schemaProperty
		json.Unmarshal(raw, &p)
		defs["#/definitions/"+name] = p
	}
	return target.Properties, target.Required, defs
}

// TestSchemaListsEveryProvider keeps the suite schema's provider enum in step
// with the registry.
func TestSchemaListsEveryProvider(t *testing.T) {
	props, _, _ := targetSchema(t)
	got := slices.Sorted(slices.Values(props["provider"].Enum))
	if want := Names(); !slices.Equal(got, want) {
		t.Errorf("schema providers = %v, registry = %v", got, want)
	}
}

// TestSchemaTargetMatchesTypes checks the target definition of the suite
// schema against the Go types that decode a target: evals.TargetSpec for the
// fields every target has, and each registered provider's config type for
// its own. Every property of the schema is a field of one of them (by JSON
// name) and every field of them is a property, with a description and a
// JSON type its Go type can hold. A field that only some providers take
// (their config's, or model and params, which a provider may leave Unused)
// says which in its description ("For openai: ..."); a field every provider
// takes names none. Nothing the schema requires is a provider's own field.
func TestSchemaTargetMatchesTypes(t *testing.T) {
	props, required, defs := targetSchema(t)
	common := map[string]reflect.Type{}
	st := reflect.TypeFor[evals.TargetSpec]()
	for i := range st.NumField() {
		if name := jsonName(st.Field(i)); name != "" {
			common[name] = st.Field(i).Type
		}
	}
	// For each field: its Go type and the providers that take it.
	types := map[string]reflect.Type{}
	takers := map[string][]string{}
	r := Default()
	for _, provider := range r.Names() {
		cfg := r.entries[provider].config
		for i := range cfg.NumField() {
			name := jsonName(cfg.Field(i))
			if name == "" {
				continue
			}
			if _, ok := common[name]; ok {
				t.Errorf("provider %q: config field %q is also a field every target has (evals.TargetSpec)", provider, name)
			}
			if prev, ok := types[name]; ok && prev != cfg.Field(i).Type {
				t.Errorf("config field %q is a %v for one provider, a %v for another", name, prev, cfg.Field(i).Type)
			}
			types[name] = cfg.Field(i).Type
			takers[name] = append(takers[name], provider)
		}
		var unused []string
		if u, ok := reflect.New(cfg).Elem().Interface().(interface{ Unused() []string }); ok {
			unused = u.Unused()
		}
		for name := range common {
			if !slices.Contains(unused, name) {
				takers[name] = append(takers[name], provider)
			}
		}
		for _, name := range unused {
			if _, ok := common[name]; !ok {
				t.Errorf("provider %q leaves %q unused, which is not a field every target has", provider, name)
			}
		}
	}
	for name, typ := range common {
		types[name] = typ
	}

	for name := range props {
		if _, ok := types[name]; !ok {
			t.Errorf("schema property %q of target is neither a field of evals.TargetSpec nor of any provider's config", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(types)) {
		p, ok := props[name]
		if !ok {
			t.Errorf("field %q (%v) is not a property of the schema's target", name, types[name])
			continue
		}
		if p.Ref != "" {
			p = defs[p.Ref]
		}
		if p.Description == "" {
			t.Errorf("schema property %q has no description", name)
		}
		// A field of several types (inherit_env: true, false or an
		// array) is decoded by hand, from one of them that its Go type
		// holds.
		if want := jsonType(types[name]); !slices.Contains(p.Type, want) {
			t.Errorf("schema property %q is of type %q; its Go type %v holds %q", name, p.Type, types[name], want)
		}
		prefix := ""
		if len(takers[name]) < len(r.Names()) {
			prefix = "For " + strings.Join(takers[name], ", ") + ": "
		}
		if !strings.HasPrefix(p.Description, prefix) || prefix == "" && strings.HasPrefix(p.Description, "For ") {
			t.Errorf("schema property %q: description %q; want it to begin %q (the providers that take it: %q)", name, clip(p.Description), prefix, takers[name])
		}
	}
	for _, name := range required {
		if _, ok := common[name]; !ok {
			t.Errorf("the schema requires %q of every target, which is not a field every target has", name)
		}
	}
}

// jsonType is the JSON Schema type a value of Go type t is written as.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[evals.Duration]() {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}
