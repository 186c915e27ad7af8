package criteria

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// decode decodes spec's JSON object into dst, a pointer to the criterion
// type's config struct, rejecting every field the type does not accept.
func decode(spec evals.CriterionSpec, dst any) error {
	raw := bytes.TrimSpace(spec.Raw)
	if len(raw) == 0 {
		// A spec built in code rather than loaded: take its common fields.
		var err error
		if raw, err = json.Marshal(spec); err != nil {
			return err
		}
	}
	if err := checkFields(raw, reflect.TypeOf(dst).Elem(), "", spec.Type); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field := fieldPath(te.Field)
			if ft := fieldType(reflect.TypeOf(dst).Elem(), field); ft != nil && ft.Kind() == reflect.Slice && ft.Elem() == te.Type {
				return evals.FieldErrorf(field, "expected %s, got an array with %s in it", describeType(ft), article(te.Value))
			}
			return evals.FieldErrorf(field, "expected %s, got %s", describeType(te.Type), article(te.Value))
		}
		return fmt.Errorf("criterion: %w", err)
	}
	return nil
}

// checkFields checks that every key of the object raw is a field of t,
// recursing into fields that are objects. prefix is the object's own path.
func checkFields(raw []byte, t reflect.Type, prefix, criterionType string) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("criterion: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if prefix == "" {
			return fmt.Errorf("criterion: expected a JSON object, got %s", evals.JSONKind(raw))
		}
		return evals.FieldErrorf(prefix, "expected an object, got %s", evals.JSONKind(raw))
	}
	fields := jsonFields(t)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("criterion: %w", err)
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return fmt.Errorf("criterion: %w", err)
		}
		path := key
		if prefix != "" {
			path = prefix + "." + key
		}
		ft, ok := fields[key]
		if !ok {
			return unknownField(key, path, prefix, criterionType, t)
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && len(val) > 0 && val[0] == '{' {
			if err := checkFields(val, ft, path, criterionType); err != nil {
				return err
			}
		}
	}
	return nil
}

func unknownField(key, path, prefix, criterionType string, t reflect.Type) error {
	names := fieldNames(t)
	if prefix == "" && knownFields()[key] {
		return evals.FieldErrorf(path, "field %q does not apply to criterion type %q: its fields are %s", key, criterionType, strings.Join(names, ", "))
	}
	where := fmt.Sprintf("for criterion type %q", criterionType)
	if prefix != "" {
		where = "in " + prefix
	}
	if s := evals.Closest(key, names); s != "" {
		return evals.FieldErrorf(path, "unknown field %q %s: did you mean %q?", key, where, s)
	}
	return evals.FieldErrorf(path, "unknown field %q %s: expected one of %s", key, where, strings.Join(names, ", "))
}

// jsonFields maps the JSON names of t's fields, embedded ones included, to
// their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous {
			continue
		}
		if name := jsonName(f); name != "" {
			m[name] = f.Type
		}
	}
	return m
}

// fieldType returns the type of the field at the dotted JSON path in t, or nil.
func fieldType(t reflect.Type, path string) reflect.Type {
	for _, name := range strings.Split(path, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		if t = jsonFields(t)[name]; t == nil {
			return nil
		}
	}
	return t
}

// fieldNames returns the JSON names of t's fields in declaration order.
func fieldNames(t reflect.Type) []string {
	var names []string
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous {
			continue
		}
		if name := jsonName(f); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// knownFields is every top-level field some criterion type accepts.
func knownFields() map[string]bool {
	m := map[string]bool{}
	for _, c := range configs {
		for _, name := range fieldNames(reflect.TypeOf(c)) {
			m[name] = true
		}
	}
	return m
}

// fieldPath turns the Go decoder's field path ("commonConfig.extract.json")
// into the JSON one ("extract.json") by dropping the embedded structs' names.
func fieldPath(p string) string {
	parts := strings.Split(p, ".")
	out := parts[:0]
	for _, s := range parts {
		if !strings.HasSuffix(s, "Config") {
			out = append(out, s)
		}
	}
	return strings.Join(out, ".")
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Slice, reflect.Array:
		elem := describeType(t.Elem())
		elem = strings.TrimPrefix(strings.TrimPrefix(elem, "an "), "a ")
		return "an array of " + elem + "s"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

func article(kind string) string {
	switch kind {
	case "array", "object":
		return "an " + kind
	case "bool":
		return "a boolean"
	case "number", "string":
		return "a " + kind
	}
	if strings.HasPrefix(kind, "number") {
		return "the number " + strings.TrimSpace(strings.TrimPrefix(kind, "number"))
	}
	return kind
}
