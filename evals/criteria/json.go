package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"

	"github.com/rubric-eval/rubric/evals"
)

var (
	_ evals.Scorer = (*JSONValid)(nil)
	_ evals.Scorer = (*JSONSchema)(nil)
)

type jsonValidConfig struct {
	commonConfig
}

// newJSONCommon builds the common part of a JSON criterion, which takes no
// normalize: normalising would change the JSON being checked.
func newJSONCommon(typ string, c *commonConfig) (common, error) {
	if c.Normalize != nil {
		return common{}, evals.FieldErrorf("normalize", "does not apply to criterion type %q: normalising would change the JSON being checked", typ)
	}
	return newCommon(c)
}

// jsonSubject extracts the part of the output a JSON criterion judges; ok is
// false, with the failing verdict, when there is none or it is not JSON.
func (c *common) jsonSubject(in *evals.Input) (string, evals.Verdict, bool) {
	if in == nil {
		return "", noInput, false
	}
	s, why, ok := c.subject(in.Output)
	if !ok {
		return "", c.verdict(0, why), false
	}
	if !isJSON(s) {
		return "", c.verdict(0, "output is not JSON: "+jsonError(s)), false
	}
	return s, evals.Verdict{}, true
}

// JSONValid passes when the output is JSON.
type JSONValid struct {
	common
}

func newJSONValid(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c jsonValidConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newJSONCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	return &JSONValid{common: cm}, nil
}

// Score implements evals.Scorer.
func (j *JSONValid) Score(_ context.Context, in *evals.Input) evals.Verdict {
	_, v, ok := j.jsonSubject(in)
	if !ok {
		return v
	}
	return j.verdict(1, "")
}

type jsonSchemaConfig struct {
	commonConfig
	Schema     json.RawMessage `json:"schema"`
	SchemaFile *string         `json:"schema_file"`
}

// JSONSchema passes when the output is JSON that a JSON Schema accepts.
type JSONSchema struct {
	common
	schema *gojsonschema.Schema
}

func newJSONSchema(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	var c jsonSchemaConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newJSONCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	var doc []byte
	field, what := "schema", "schema"
	switch {
	case c.Schema != nil && c.SchemaFile != nil:
		return nil, evals.FieldErrorf("schema_file", `give either "schema" or "schema_file", not both`)
	case c.Schema != nil:
		doc = c.Schema
	case c.SchemaFile != nil:
		field = "schema_file"
		if *c.SchemaFile == "" {
			return nil, evals.FieldErrorf(field, "empty path: expected the path of a JSON Schema file")
		}
		path := *c.SchemaFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(env.Dir, path)
		}
		what = fmt.Sprintf("schema file %q", *c.SchemaFile)
		if doc, err = os.ReadFile(path); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, evals.FieldErrorf(field, "cannot read %s (%s): %v", what, path, err)
		}
		if !json.Valid(doc) {
			return nil, evals.FieldErrorf(field, "%s is not JSON: %s", what, jsonError(string(doc)))
		}
	default:
		return nil, evals.FieldErrorf("schema", `missing: expected "schema" (an inline JSON Schema object) or "schema_file" (the path of one)`)
	}
	if k := evals.JSONKind(doc); k != "an object" {
		return nil, evals.FieldErrorf(field, "expected %s to be a JSON Schema object, got %s", what, k)
	}
	schema, err := gojsonschema.NewSchemaLoader().Compile(gojsonschema.NewBytesLoader(doc))
	if err != nil {
		return nil, evals.FieldErrorf(field, "invalid JSON Schema in %s: %v", what, err)
	}
	return &JSONSchema{common: cm, schema: schema}, nil
}

// maxViolations is how many schema violations a reason lists.
const maxViolations = 5

// Score implements evals.Scorer.
func (j *JSONSchema) Score(_ context.Context, in *evals.Input) evals.Verdict {
	s, v, ok := j.jsonSubject(in)
	if !ok {
		return v
	}
	res, err := j.schema.Validate(gojsonschema.NewStringLoader(s))
	if err != nil {
		return j.verdict(0, "output is not JSON: "+err.Error())
	}
	if res.Valid() {
		return j.verdict(1, "")
	}
	return j.verdict(0, violations(res.Errors()))
}

// violations lists schema errors, sorted so that reasons are stable.
func violations(errs []gojsonschema.ResultError) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Field() + ": " + e.Description()
	}
	sort.Strings(lines)
	n := len(lines)
	var b strings.Builder
	if n == 1 {
		b.WriteString("schema violation: ")
	} else {
		fmt.Fprintf(&b, "%d schema violations: ", n)
	}
	for i, l := range lines {
		if i == maxViolations {
			fmt.Fprintf(&b, "; and %d more", n-maxViolations)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(l)
	}
	return b.String()
}

// --- JSON helpers

// isJSON reports whether s is one JSON value. The compiler sees that
// json.Valid neither keeps nor changes its argument, so the conversion does
// not copy s.
func isJSON(s string) bool {
	return json.Valid([]byte(s))
}

// jsonError says why s, which is not JSON, is not, and where.
func jsonError(s string) string {
	if strings.TrimSpace(s) == "" {
		return "the text is empty"
	}
	var raw json.RawMessage
	err := json.Unmarshal([]byte(s), &raw)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		if err == nil {
			return "unknown error"
		}
		return err.Error()
	}
	at := max(int(se.Offset)-1, 0)
	if at > len(s) {
		at = len(s)
	}
	return fmt.Sprintf("%s at offset %d, near %s", se.Error(), se.Offset, quoteShort(s[at:]))
}

// quoteShort quotes the first 20 runes of s.
func quoteShort(s string) string {
	n := 0
	for i := range s {
		if n == 20 {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}

// parseJSONPath splits a path of dotted keys and array indexes.
func parseJSONPath(p string) ([]string, error) {
	if p == "" {
		return nil, errors.New(`empty path: expected dotted keys and indexes, e.g. "category" or "items.0.name"`)
	}
	segs := strings.Split(p, ".")
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf(`empty key in path %q: expected dotted keys and indexes, e.g. "category" or "items.0.name"`, p)
		}
	}
	return segs, nil
}

// jsonField returns the value at path in the JSON document doc: a string as it
// is, any other value as compact JSON.
func jsonField(doc string, path []string) (string, string, bool) {
	if !isJSON(doc) {
		return "", "output is not JSON: " + jsonError(doc), false
	}
	i := skipSpace(doc, 0)
	for n, seg := range path {
		switch doc[i] {
		case '{':
			j, found := objectField(doc, i, seg)
			if !found {
				return "", fmt.Sprintf("no field %q", strings.Join(path[:n+1], ".")), false
			}
			i = j
		case '[':
			k, err := strconv.Atoi(seg)
			if err != nil || k < 0 {
				return "", fmt.Sprintf("no field %q: %s is an array, expected an index", strings.Join(path[:n+1], "."), describeHere(path[:n])), false
			}
			j, length, found := arrayElem(doc, i, k)
			if !found {
				return "", fmt.Sprintf("no element %q: %s has %d element(s)", strings.Join(path[:n+1], "."), describeHere(path[:n]), length), false
			}
			i = j
		default:
			return "", fmt.Sprintf("no field %q: %s is %s", strings.Join(path[:n+1], "."), describeHere(path[:n]), evals.JSONKind([]byte(doc[i:i+1]))), false
		}
	}
	raw := doc[i:skipValue(doc, i)]
	switch raw[0] {
	case '"':
		if strings.IndexByte(raw, '\\') < 0 {
			return raw[1 : len(raw)-1], "", true
		}
		var s string
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return "", err.Error(), false
		}
		return s, "", true
	case '{', '[':
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(raw)); err != nil {
			return "", err.Error(), false
		}
		return b.String(), "", true
	}
	return raw, "", true
}

// describeHere names the value at path for reasons.
func describeHere(path []string) string {
	if len(path) == 0 {
		return "the output"
	}
	return strconv.Quote(strings.Join(path, "."))
}

// The scanners below work on text that json.Valid has accepted.

// objectField returns the start of the value of key in the object at doc[i].
// When the key is repeated the last one counts, as in encoding/json,
// JavaScript and Python.
func objectField(doc string, i int, key string) (int, bool) {
	at, found := 0, false
	i++ // '{'
	for {
		i = skipSpace(doc, i)
		if doc[i] == '}' {
			return at, found
		}
		end := skipString(doc, i)
		match := keyEquals(doc[i+1:end-1], key)
		i = skipSpace(doc, end) + 1 // ':'
		i = skipSpace(doc, i)
		if match {
			at, found = i, true
		}
		i = skipSpace(doc, skipValue(doc, i))
		if doc[i] == ',' {
			i++
		}
	}
}

// arrayElem returns the start of element k of the array at doc[i], or the
// array's length when it is too short.
func arrayElem(doc string, i, k int) (int, int, bool) {
	i++ // '['
	for n := 0; ; n++ {
		i = skipSpace(doc, i)
		if doc[i] == ']' {
			return 0, n, false
		}
		if n == k {
			return i, 0, true
		}
		i = skipSpace(doc, skipValue(doc, i))
		if doc[i] == ',' {
			i++
		}
	}
}

// keyEquals compares the raw (still escaped) text of an object key with key.
func keyEquals(raw, key string) bool {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw == key
	}
	var s string
	if err := json.Unmarshal([]byte(`"`+raw+`"`), &s); err != nil {
		return false
	}
	return s == key
}

func skipSpace(doc string, i int) int {
	for i < len(doc) {
		switch doc[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string that starts at doc[i].
func skipString(doc string, i int) int {
	i++
	for {
		j := strings.IndexAny(doc[i:], `"\`)
		if j < 0 {
			return len(doc)
		}
		if doc[i+j] == '"' {
			return i + j + 1
		}
		i += j + 2
	}
}

// skipValue returns the index after the value that starts at doc[i].
func skipValue(doc string, i int) int {
	switch doc[i] {
	case '"':
		return skipString(doc, i)
	case '{', '[':
		depth := 0
		for i < len(doc) {
			switch doc[i] {
			case '"':
				i = skipString(doc, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(doc) {
		switch doc[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
