package evals

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/xeipuuv/gojsonschema"
)

// SchemaJSON is the JSON Schema (draft-07) of a suite file, as `rubric schema`
// prints it.
//
//go:embed schema.json
var SchemaJSON []byte

// ConfigSchemaJSON returns the JSON Schema of the project config file: the
// suite schema's definitions that the config definition refers to, rooted
// at it. A change to the suite's other parts (a new criterion) leaves it as
// it is.
func ConfigSchemaJSON() []byte {
	var doc map[string]any
	if err := json.Unmarshal(SchemaJSON, &doc); err != nil {
		panic(err) // the embedded schema is checked by tests
	}
	defs, _ := doc["definitions"].(map[string]any)
	out := map[string]any{
		"$schema":     doc["$schema"],
		"title":       "rubric project config",
		"description": "Targets shared by the suites of a project (rubric.config.json).",
		"definitions": reachable(defs, "config"),
		"$ref":        "#/definitions/config",
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// reachable returns the definitions that root refers to, itself included,
// directly or through others.
func reachable(defs map[string]any, root string) map[string]any {
	out := map[string]any{}
	var visit func(name string)
	var walk func(v any)
	visit = func(name string) {
		if _, seen := out[name]; seen || defs[name] == nil {
			return
		}
		out[name] = defs[name]
		walk(defs[name])
	}
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if name, ok := strings.CutPrefix(ref, "#/definitions/"); ok {
					visit(name)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	visit(root)
	return out
}

// TargetSchemaJSON returns the JSON Schema of one target object.
func TargetSchemaJSON() []byte {
	var doc map[string]any
	if err := json.Unmarshal(SchemaJSON, &doc); err != nil {
		panic(err)
	}
	b, err := json.Marshal(map[string]any{"definitions": doc["definitions"], "$ref": "#/definitions/target"})
	if err != nil {
		panic(err)
	}
	return b
}

// caseSchemaJSON returns the JSON Schema of one case object, and with list
// set, of an array of them.
func caseSchemaJSON(list bool) []byte {
	var doc map[string]any
	if err := json.Unmarshal(SchemaJSON, &doc); err != nil {
		panic(err)
	}
	root := map[string]any{"definitions": doc["definitions"], "$ref": "#/definitions/case"}
	if list {
		root = map[string]any{"definitions": doc["definitions"], "type": "array", "items": map[string]any{"$ref": "#/definitions/case"}}
	}
	b, err := json.Marshal(root)
	if err != nil {
		panic(err)
	}
	return b
}

type schemas struct {
	suite, config, target *gojsonschema.Schema
	// oneCase and cases check a suite's inline cases, apart from the rest
	// of it (validateSuite).
	oneCase, cases *gojsonschema.Schema
}

var compiled = sync.OnceValues(func() (*schemas, error) {
	var s schemas
	var err error
	if s.suite, err = gojsonschema.NewSchema(gojsonschema.NewBytesLoader(SchemaJSON)); err != nil {
		return nil, fmt.Errorf("suite schema: %w", err)
	}
	if s.config, err = gojsonschema.NewSchema(gojsonschema.NewBytesLoader(ConfigSchemaJSON())); err != nil {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	if s.target, err = gojsonschema.NewSchema(gojsonschema.NewBytesLoader(TargetSchemaJSON())); err != nil {
		return nil, fmt.Errorf("target schema: %w", err)
	}
	if s.oneCase, err = gojsonschema.NewSchema(gojsonschema.NewBytesLoader(caseSchemaJSON(false))); err != nil {
		return nil, fmt.Errorf("case schema: %w", err)
	}
	if s.cases, err = gojsonschema.NewSchema(gojsonschema.NewBytesLoader(caseSchemaJSON(true))); err != nil {
		return nil, fmt.Errorf("case schema: %w", err)
	}
	return &s, nil
})

// composite errors only restate the errors found inside them.
var compositeErrors = map[string]bool{
	"number_any_of":  true,
	"number_one_of":  true,
	"number_all_of":  true,
	"condition_then": true,
	"condition_else": true,
}

// caseChunk is how many bytes of inline cases the schema checks at a time.
const caseChunk = 64 << 10

// maxCaseProblems is how many problems the schema reports in a suite's inline
// cases; after that it stops checking them, as the dataset check does.
const maxCaseProblems = 20

// validateSuite checks the suite in src against the schema. doc and elems
// are the suite without its inline cases, and where each case starts
// (splitCases). The validator decodes what it checks into Go values, several
// times the size of the JSON, and keeps about 2 KB for each violation; so the
// inline cases, the only part of a suite that is big, are checked a few at a
// time, apart from the rest: its memory stays in proportion to caseChunk and
// MaxValues, whatever the size of the file.
func validateSuite(sc *schemas, src *source, doc []byte, elems []int) []Problem {
	probs, _ := validate(sc.suite, "suite", src.file, gojsonschema.NewBytesLoader(doc), src.pos, nil, -1)
	p := src.pos
	var buf []byte
	found := 0
	for first := 0; first < len(elems); {
		end := p.skipValue(elems[first])
		last := first
		for last+1 < len(elems) {
			next := p.skipValue(elems[last+1])
			if next-elems[first] > caseChunk {
				break
			}
			last, end = last+1, next
		}
		var ps []Problem
		var more bool
		if last == first { // a big case: checked alone, in place
			at := fmt.Sprintf("/dataset/cases/%d", first)
			ps, more = validate(sc.oneCase, "case", src.file, gojsonschema.NewBytesLoader(src.data[elems[first]:end]), p,
				func(ptr string) string { return at + ptr }, maxCaseProblems-found)
		} else {
			buf = append(append(append(buf[:0], '['), src.data[elems[first]:end]...), ']')
			base := first
			ps, more = validate(sc.cases, "case", src.file, gojsonschema.NewBytesLoader(buf), p,
				func(ptr string) string { return casePointer(base, ptr) }, maxCaseProblems-found)
		}
		probs = append(probs, ps...)
		found += len(ps)
		if more {
			probs = append(probs, src.problem("/dataset/cases", false, "the inline cases have more than %d problems: the first %d follow, the rest are not listed", maxCaseProblems, maxCaseProblems))
			break
		}
		first = last + 1
	}
	return probs
}

// casePointer turns a pointer into a list of inline cases, the first of which
// is case base, into one into the suite.
func casePointer(base int, ptr string) string {
	seg, rest, _ := strings.Cut(strings.TrimPrefix(ptr, "/"), "/")
	i, err := strconv.Atoi(seg)
	if err != nil {
		return "/dataset/cases" + ptr
	}
	out := "/dataset/cases/" + strconv.Itoa(base+i)
	if rest != "" {
		out += "/" + rest
	}
	return out
}

// validate checks doc against schema and reports each violation at its
// position, at most max of them (all with max < 0); more says that there
// were others. root names the definition the document follows ("suite",
// "config" or "case"). rebase, for documents that are part of a file, turns
// a pointer into the document into one into the file.
func validate(schema *gojsonschema.Schema, root, file string, doc gojsonschema.JSONLoader, pos *positions, rebase func(string) string, max int) (probs []Problem, more bool) {
	res, err := schema.Validate(doc)
	if err != nil {
		return []Problem{{File: file, Msg: "schema validation: " + err.Error()}}, false
	}
	var out []Problem
	seen := map[string]bool{}
	errs := res.Errors()
	badNames := map[string]bool{} // objects with a key the schema rejects
	for _, e := range errs {
		if e.Type() == "invalid_property_name" {
			badNames[contextPointer(e.Context())] = true
		}
	}
	for _, e := range errs {
		if compositeErrors[e.Type()] && len(errs) > 1 {
			continue
		}
		if e.Type() == "pattern" && badNames[contextPointer(e.Context())] {
			continue // the key's own pattern error restates invalid_property_name
		}
		ptr, key, msg, ok := describe(e, root)
		if !ok {
			continue
		}
		if rebase != nil {
			ptr = rebase(ptr)
		}
		id := fmt.Sprintf("%s\x00%v\x00%s", ptr, key, msg)
		if seen[id] {
			continue
		}
		seen[id] = true
		if max >= 0 && len(out) == max {
			return out, true
		}
		out = append(out, pos.problem(file, ptr, key, "%s", msg))
	}
	return out, false
}

// describe returns where a schema violation is, as a pointer into the
// document and whether it is about the member's key rather than its value,
// and what it says; ok is false for violations that only restate others.
// root names the definition the document follows: suite, config or target.
func describe(e gojsonschema.ResultError, root string) (ptr string, key bool, msg string, ok bool) {
	ptr = contextPointer(e.Context())
	msg = e.Description()
	switch e.Type() {
	case "additional_property_not_allowed":
		prop := fmt.Sprint(e.Details()["property"])
		msg = fmt.Sprintf("unknown field %q%s", prop, allowedFields(e, prop, root))
		ptr += "/" + escapePointer(prop)
		key = true
	case "required":
		msg = fmt.Sprintf("missing required field %q", e.Details()["property"])
	case "invalid_type":
		msg = fmt.Sprintf("expected %s, got %s", e.Details()["expected"], e.Details()["given"])
	case "enum":
		allowed := fmt.Sprint(e.Details()["allowed"])
		if c := closestAllowed(e.Value(), allowed); c != "" {
			msg = fmt.Sprintf("got %s; did you mean %q?", jsonText(e.Value()), c)
		} else {
			msg = fmt.Sprintf("got %s, expected one of %s", jsonText(e.Value()), allowed)
		}
	case "pattern":
		if fmt.Sprint(e.Details()["pattern"]) == durationPattern {
			msg = fmt.Sprintf("got %s, expected a duration such as 500ms, 30s or 2m", jsonText(e.Value()))
		} else {
			msg = fmt.Sprintf("got %s, expected a string matching %s", jsonText(e.Value()), e.Details()["pattern"])
		}
	case "number_gte":
		msg = fmt.Sprintf("got %s, expected at least %v", jsonText(e.Value()), e.Details()["min"])
	case "number_gt":
		msg = fmt.Sprintf("got %s, expected more than %v", jsonText(e.Value()), e.Details()["min"])
	case "number_lte":
		msg = fmt.Sprintf("got %s, expected at most %v", jsonText(e.Value()), e.Details()["max"])
	case "number_lt":
		msg = fmt.Sprintf("got %s, expected less than %v", jsonText(e.Value()), e.Details()["max"])
	case "invalid_property_name":
		prop := fmt.Sprint(e.Details()["property"])
		msg = fmt.Sprintf("invalid name %q: expected letters, digits, '_', '.', ':' or '-'", prop)
		ptr += "/" + escapePointer(prop)
		key = true
	case "string_gte":
		if fmt.Sprint(e.Details()["min"]) == "1" {
			msg = "must not be empty"
		}
	case "array_min_items":
		if fmt.Sprint(e.Details()["min"]) == "1" {
			msg = "must not be empty: expected at least one item"
		}
	case "condition_then", "condition_else":
		return "", false, "", false
	}
	return ptr, key, msg, true
}

// closestAllowed returns the value of an enum nearest to v, if v is a string
// near enough to be a typo. allowed is the enum as the validator lists it:
// JSON values separated by ", ".
func closestAllowed(v any, allowed string) string {
	s, ok := v.(string)
	if !ok {
		return ""
	}
	var names []string
	for _, a := range strings.Split(allowed, ", ") {
		var name string
		if json.Unmarshal([]byte(a), &name) != nil {
			return "" // not a list of strings
		}
		names = append(names, name)
	}
	return Closest(s, names)
}

// durationPattern is the schema's pattern for durations ("30s", "2m").
const durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

// allowedFields lists the fields the object's schema defines, as a hint.
func allowedFields(e gojsonschema.ResultError, prop, root string) string {
	// gojsonschema does not expose the schema of the failing object; the field
	// names come from the suite schema's definitions by the object's path.
	names := fieldsAt(contextPointer(e.Context()), root)
	if len(names) == 0 {
		return ""
	}
	if c := Closest(prop, names); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return "; expected one of: " + strings.Join(names, ", ")
}

var definitionFields = sync.OnceValue(func() map[string][]string {
	var doc struct {
		Properties  map[string]json.RawMessage `json:"properties"`
		Definitions map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(SchemaJSON, &doc); err != nil {
		panic(err)
	}
	out := map[string][]string{"suite": keys(doc.Properties)}
	for name, d := range doc.Definitions {
		out[name] = keys(d.Properties)
	}
	return out
})

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fieldsAt guesses which definition describes the object at ptr from the
// shape of the path: /criteria/N is a criterion, /targets/N a target, and so on;
// the document itself follows the definition named root.
func fieldsAt(ptr, root string) []string {
	segs := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	last := func(n int) string {
		if len(segs) < n {
			return ""
		}
		return segs[len(segs)-n]
	}
	defs := definitionFields()
	switch {
	case ptr == "":
		return defs[root]
	case last(1) == "dataset":
		return defs["dataset"]
	case last(2) == "criteria", last(1) == "criterion":
		return defs["criterion"]
	case last(1) == "extract":
		return defs["extract"]
	case last(2) == "targets":
		return defs["target"]
	case last(1) == "params":
		return defs["params"]
	case last(2) == "messages":
		return defs["message"]
	}
	return nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// contextPointer turns a gojsonschema context ("(root)", "criteria", "2") into
// a JSON pointer ("/criteria/2").
func contextPointer(c *gojsonschema.JsonContext) string {
	if c == nil {
		return ""
	}
	segs := strings.Split(c.String("\x00"), "\x00")
	var b strings.Builder
	for i, s := range segs {
		if i == 0 && s == gojsonschema.STRING_CONTEXT_ROOT {
			continue
		}
		b.WriteString("/")
		b.WriteString(escapePointer(s))
	}
	return b.String()
}
