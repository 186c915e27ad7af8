package criteria_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

func TestNames(t *testing.T) {
	got := criteria.Names()
	if !sort.StringsAreSorted(got) {
		t.Errorf("Names() = %v, not sorted", got)
	}
	if len(got) != len(criteria.Registry()) {
		t.Errorf("len(Names()) = %d, len(Registry()) = %d", len(got), len(criteria.Registry()))
	}
	for _, want := range []string{"bleu", "contains", "equals", "exact-match", "f1", "json-schema", "json-valid", "levenshtein", "not-contains", "numeric", "regex", "rouge", "starts-with"} {
		if !slices.Contains(got, want) {
			t.Errorf("Names() = %v, missing %q", got, want)
		}
	}
}

// allTypes is how error messages list the criterion types.
var allTypes = strings.Join(criteria.Names(), ", ")

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("broken.json", `{"type": "object",}`)
	write("bad-type.json", `{"type": "objekt"}`)
	write("array.json", `["not", "a", "schema"]`)

	runNewErrorTests(t, dir, []newErrorTest{
		{"unknown type with a near name", `{"name":"c","type":"equal"}`, "type",
			`unknown criterion type "equal": did you mean "equals"?`},
		{"unknown type", `{"name":"c","type":"similarity"}`, "type",
			`unknown criterion type "similarity": expected one of ` + allTypes},
		{"missing type", `{"name":"c"}`, "type", `missing: expected one of ` + allTypes},
		{"missing name", `{"type":"equals","value":"x"}`, "name", `missing: expected a non-empty name for the criterion`},
		{"blank name", `{"name":" ","type":"equals","value":"x"}`, "name", `missing: expected a non-empty name for the criterion`},

		{"unknown field with a near name", `{"name":"c","type":"equals","valu":"x"}`, "valu",
			`unknown field "valu" for criterion type "equals": did you mean "value"?`},
		{"unknown field", `{"name":"c","type":"equals","reference":"x"}`, "reference",
			`unknown field "reference" for criterion type "equals": expected one of name, type, weight, threshold, description, turn, extract, normalize, value, label`},
		{"field of regex on equals", `{"name":"c","type":"equals","pattern":"x"}`, "pattern",
			`field "pattern" does not apply to criterion type "equals": its fields are name, type, weight, threshold, description, turn, extract, normalize, value, label`},
		{"field of contains on equals", `{"name":"c","type":"equals","mode":"all"}`, "mode",
			`field "mode" does not apply to criterion type "equals": its fields are name, type, weight, threshold, description, turn, extract, normalize, value, label`},
		{"field of json-schema on regex", `{"name":"c","type":"regex","pattern":"x","schema":{}}`, "schema",
			`field "schema" does not apply to criterion type "regex": its fields are name, type, weight, threshold, description, turn, extract, normalize, pattern, value, group`},
		{"value on json-valid", `{"name":"c","type":"json-valid","value":"x"}`, "value",
			`field "value" does not apply to criterion type "json-valid": its fields are name, type, weight, threshold, description, turn, extract, normalize`},
		{"unknown field in extract", `{"name":"c","type":"equals","extract":{"jsn":"a"}}`, "extract.jsn",
			`unknown field "jsn" in extract: did you mean "json"?`},
		{"unknown field in extract, far", `{"name":"c","type":"equals","extract":{"xpath":"a"}}`, "extract.xpath",
			`unknown field "xpath" in extract: expected one of code_fence, json, regex, group, last_line`},

		{"weight not a number", `{"name":"c","type":"equals","weight":"x"}`, "weight", `expected a number, got a string`},
		{"negative weight", `{"name":"c","type":"equals","weight":-1}`, "weight", `expected a number >= 0, got -1`},
		{"threshold above 1", `{"name":"c","type":"equals","threshold":1.5}`, "threshold", `expected a number from 0 to 1, got 1.5`},
		{"threshold below 0", `{"name":"c","type":"equals","threshold":-0.1}`, "threshold", `expected a number from 0 to 1, got -0.1`},
		{"description not a string", `{"name":"c","type":"equals","description":1}`, "description", `expected a string, got a number`},
		{"extract not an object", `{"name":"c","type":"equals","extract":"json"}`, "extract", `expected an object, got a string`},
		{"extract json not a string", `{"name":"c","type":"equals","extract":{"json":3}}`, "extract.json", `expected a string, got a number`},
		{"extract code_fence not a boolean", `{"name":"c","type":"equals","extract":{"code_fence":"yes"}}`, "extract.code_fence", `expected true or false, got a string`},
		{"extract empty", `{"name":"c","type":"equals","extract":{}}`, "extract", `nothing to extract: expected code_fence, json, regex or last_line`},
		{"extract false flags only", `{"name":"c","type":"equals","extract":{"code_fence":false,"last_line":false}}`, "extract", `nothing to extract: expected code_fence, json, regex or last_line`},
		{"extract two modes", `{"name":"c","type":"equals","extract":{"json":"a","regex":"b"}}`, "extract.regex",
			`"regex" cannot be combined with "json": expected one of json, regex, last_line`},
		{"extract json and last_line", `{"name":"c","type":"equals","extract":{"json":"a","last_line":true}}`, "extract.last_line",
			`"last_line" cannot be combined with "json": expected one of json, regex, last_line`},
		{"extract empty json path", `{"name":"c","type":"equals","extract":{"json":""}}`, "extract.json",
			`empty path: expected dotted keys and indexes, e.g. "category" or "items.0.name"`},
		{"extract json path with an empty key", `{"name":"c","type":"equals","extract":{"json":"a..b"}}`, "extract.json",
			`empty key in path "a..b": expected dotted keys and indexes, e.g. "category" or "items.0.name"`},
		{"extract bad regex", `{"name":"c","type":"equals","extract":{"regex":"(a"}}`, "extract.regex",
			"error parsing regexp: missing closing ): `(a`: expected Go RE2 syntax"},
		{"extract group without regex", `{"name":"c","type":"equals","extract":{"json":"a","group":1}}`, "extract.group",
			`"group" applies only with "regex"`},
		{"extract group too high", `{"name":"c","type":"equals","extract":{"regex":"(a)","group":2}}`, "extract.group",
			`group 2 does not exist: the pattern has 1 capture group(s)`},
		{"extract group negative", `{"name":"c","type":"equals","extract":{"regex":"(a)","group":-1}}`, "extract.group",
			`expected a group number (0 for the whole match) or a group name, got -1`},
		{"extract group fraction", `{"name":"c","type":"equals","extract":{"regex":"(a)","group":1.5}}`, "extract.group",
			`expected a group number (0 for the whole match) or a group name, got 1.5`},
		{"extract group unknown name", `{"name":"c","type":"equals","extract":{"regex":"(?P<a>x)(?P<b>y)","group":"c"}}`, "extract.group",
			`no group named "c": expected one of "a", "b"`},
		{"extract group name without named groups", `{"name":"c","type":"equals","extract":{"regex":"(x)","group":"c"}}`, "extract.group",
			`no group named "c": the pattern has no named groups (write them as (?P<name>...))`},
		{"extract group boolean", `{"name":"c","type":"equals","extract":{"regex":"(x)","group":true}}`, "extract.group",
			`expected a group number or name, got a boolean`},

		{"normalize unknown", `{"name":"c","type":"equals","normalize":["trim","lower"]}`, "normalize.1",
			`unknown normalization "lower": expected one of lowercase, strip_punctuation, collapse_whitespace, trim`},
		{"normalize not an array", `{"name":"c","type":"equals","normalize":"trim"}`, "normalize", `expected an array of strings, got a string`},
		{"normalize with a number", `{"name":"c","type":"equals","normalize":[1]}`, "normalize", `expected an array of strings, got an array with a number in it`},

		{"value a number", `{"name":"c","type":"equals","value":3}`, "value", `expected a string or an array of strings, got a number`},
		{"value null", `{"name":"c","type":"equals","value":null}`, "value", `expected a string or an array of strings, got null`},
		{"value an object", `{"name":"c","type":"equals","value":{"a":1}}`, "value", `expected a string or an array of strings, got an object`},
		{"value empty array", `{"name":"c","type":"equals","value":[]}`, "value", `empty array: expected at least one value`},
		{"value array with a number", `{"name":"c","type":"equals","value":["a",2]}`, "value.1", `expected a string, got a number`},
		{"value bad template", `{"name":"c","type":"equals","value":"{{ label"}`, "value", `template: "{{" is never closed by "}}" at character 1`},
		{"value bad template in array", `{"name":"c","type":"equals","value":["ok","{{a}}","x {{ b c }}"]}`, "value.2",
			`template: invalid variable name "b c" in {{ b c }}: expected letters, digits, '_' or '-' separated by dots at character 3`},
		{"value unknown filter", `{"name":"c","type":"contains","value":"{{a | upper}}"}`, "value", `template: unknown filter "upper" in {{a | upper}}: expected json at character 1`},
		{"contains empty string", `{"name":"c","type":"contains","value":""}`, "value", `empty string: every output contains it`},
		{"not-contains empty string", `{"name":"c","type":"not-contains","value":["x",""]}`, "value.1", `empty string: every output contains it`},
		{"starts-with empty string", `{"name":"c","type":"starts-with","value":""}`, "value", `empty string: every output starts with it`},
		{"contains value empty after normalize", `{"name":"c","type":"contains","value":"!!","normalize":["strip_punctuation"]}`, "value",
			`"!!" is empty after normalize: every output contains it`},
		{"contains mode unknown", `{"name":"c","type":"contains","value":"x","mode":"every"}`, "mode", `unknown mode "every": expected "any" or "all"`},

		{"regex missing pattern", `{"name":"c","type":"regex"}`, "pattern", `missing: expected a regular expression (Go RE2 syntax)`},
		{"regex empty pattern", `{"name":"c","type":"regex","pattern":""}`, "pattern", `empty pattern: expected a regular expression`},
		{"regex bad pattern", `{"name":"c","type":"regex","pattern":"[a-"}`, "pattern", "error parsing regexp: missing closing ]: `[a-`: expected Go RE2 syntax"},
		{"regex lookbehind", `{"name":"c","type":"regex","pattern":"(?<=a)b"}`, "pattern", "error parsing regexp: invalid named capture: `(?<=a)b`: expected Go RE2 syntax"},
		{"regex pattern not a string", `{"name":"c","type":"regex","pattern":1}`, "pattern", `expected a string, got a number`},
		{"regex group without value", `{"name":"c","type":"regex","pattern":"(a)","group":1}`, "group",
			`"group" applies only with "value": without one, any match passes`},
		{"regex group unknown", `{"name":"c","type":"regex","pattern":"(?P<a>x)","group":"b","value":"x"}`, "group", `no group named "b": expected one of "a"`},
		{"regex bad value template", `{"name":"c","type":"regex","pattern":"x","value":"{{}}"}`, "value", `template: empty placeholder {{ }}: expected a variable name at character 1`},

		{"json-schema both", `{"name":"c","type":"json-schema","schema":{},"schema_file":"s.json"}`, "schema_file", `give either "schema" or "schema_file", not both`},
		{"json-schema neither", `{"name":"c","type":"json-schema"}`, "schema",
			`missing: expected "schema" (an inline JSON Schema object) or "schema_file" (the path of one)`},
		{"json-schema not an object", `{"name":"c","type":"json-schema","schema":"object"}`, "schema", `expected schema to be a JSON Schema object, got a string`},
		{"json-schema null", `{"name":"c","type":"json-schema","schema":null}`, "schema", `expected schema to be a JSON Schema object, got null`},
		{"json-schema invalid", `{"name":"c","type":"json-schema","schema":{"type":"objekt"}}`, "schema",
			`invalid JSON Schema in schema: has a primitive type that is NOT VALID -- given: /objekt/ Expected valid values are:[array boolean integer number null object string]`},
		{"json-schema invalid keyword value", `{"name":"c","type":"json-schema","schema":{"required":"a"}}`, "schema",
			`invalid JSON Schema in schema: required must be of an array`},
		{"json-schema bad pattern", `{"name":"c","type":"json-schema","schema":{"pattern":"(a"}}`, "schema",
			`invalid JSON Schema in schema: pattern must be a valid regex`},
		{"json-schema dangling ref", `{"name":"c","type":"json-schema","schema":{"$ref":"#/definitions/nope"}}`, "schema",
			`invalid JSON Schema in schema: Object has no key 'definitions'`},
		{"schema_file missing", `{"name":"c","type":"json-schema","schema_file":"nope.json"}`, "schema_file",
			`cannot read schema file "nope.json" (` + filepath.Join(dir, "nope.json") + `): no such file or directory`},
		{"schema_file is a folder", `{"name":"c","type":"json-schema","schema_file":"."}`, "schema_file",
			`cannot read schema file "." (` + dir + `): is a directory`},
		{"schema_file empty", `{"name":"c","type":"json-schema","schema_file":""}`, "schema_file", `empty path: expected the path of a JSON Schema file`},
		{"schema_file not JSON", `{"name":"c","type":"json-schema","schema_file":"broken.json"}`, "schema_file",
			`schema file "broken.json" is not JSON: invalid character '}' looking for beginning of object key string at offset 19, near "}"`},
		{"schema_file invalid schema", `{"name":"c","type":"json-schema","schema_file":"bad-type.json"}`, "schema_file",
			`invalid JSON Schema in schema file "bad-type.json": has a primitive type that is NOT VALID -- given: /objekt/ Expected valid values are:[array boolean integer number null object string]`},
		{"schema_file not an object", `{"name":"c","type":"json-schema","schema_file":"array.json"}`, "schema_file",
			`expected schema file "array.json" to be a JSON Schema object, got an array`},
	})
}

// newErrorTest is a spec that criteria.New must reject, and the field and
// message of the error.
type newErrorTest struct {
	name  string
	spec  string
	field string
	msg   string
}

// runNewErrorTests builds each spec, with dir as the suite's folder, and
// checks the *evals.FieldError it must fail with.
func runNewErrorTests(t *testing.T, dir string, tests []newErrorTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkNewError(t, tt.spec, dir, tt.field, tt.msg) })
	}
}

func TestNewNotAnObject(t *testing.T) {
	for _, raw := range []string{`[]`, `"equals"`} {
		_, err := criteria.New(evals.CriterionSpec{Name: "c", Type: "equals", Raw: json.RawMessage(raw)}, criteria.Env{})
		if err == nil || !strings.Contains(err.Error(), "expected a JSON object") {
			t.Errorf("New(%s) error = %v, want one saying a JSON object was expected", raw, err)
		}
	}
}

// TestNewWithoutRaw builds a criterion from a spec made in code, without Raw.
func TestNewWithoutRaw(t *testing.T) {
	th := 0.0
	sc, err := criteria.New(evals.CriterionSpec{Name: "ok", Type: "json-valid", Threshold: &th}, criteria.Env{})
	if err != nil {
		t.Fatal(err)
	}
	got := sc.Score(context.Background(), &evals.Input{Output: "nope"})
	if !got.Pass || got.Score != 0 {
		t.Errorf("got %+v, want a passing zero score (threshold 0 came from the spec)", got)
	}
}

// minimal is the smallest valid spec of every criterion type. The conformance
// tests fail when a registered type is missing here.
var minimal = map[string]string{
	"equals":       `{"name":"c","type":"equals"}`,
	"starts-with":  `{"name":"c","type":"starts-with"}`,
	"contains":     `{"name":"c","type":"contains"}`,
	"not-contains": `{"name":"c","type":"not-contains"}`,
	"regex":        `{"name":"c","type":"regex","pattern":"x"}`,
	"json-valid":   `{"name":"c","type":"json-valid"}`,
	"json-schema":  `{"name":"c","type":"json-schema","schema":{"type":"object"}}`,
	"levenshtein":  `{"name":"c","type":"levenshtein","threshold":1}`,
	"jaccard":      `{"name":"c","type":"jaccard","threshold":1}`,
	"exact-match":  `{"name":"c","type":"exact-match"}`,
	"f1":           `{"name":"c","type":"f1","threshold":1}`,
	"rouge":        `{"name":"c","type":"rouge","threshold":1}`,
	"bleu":         `{"name":"c","type":"bleu","threshold":1}`,
	"numeric":      `{"name":"c","type":"numeric"}`,
	"ends-with":    `{"name":"c","type":"ends-with"}`,
	"one-of":       `{"name":"c","type":"one-of","values":["x","東京"]}`,
	"length":       `{"name":"c","type":"length","max_chars":10,"min_words":1}`,
	"not":          `{"name":"c","type":"not","criterion":{"type":"contains","value":"x"}}`,
	"all":          `{"name":"c","type":"all","criteria":[{"type":"contains","value":"x"},{"type":"equals"}]}`,
	"any":          `{"name":"c","type":"any","criteria":[{"type":"contains","value":"x"},{"type":"equals"}]}`,
	"weighted":     `{"name":"c","type":"weighted","criteria":[{"type":"contains","value":"x","weight":2},{"type":"equals"}]}`,
	"json-match":   `{"name":"c","type":"json-match"}`,
	"json-field":   `{"name":"c","type":"json-field","path":"category","criterion":{"type":"equals","value":"x"}}`,
	"latency":      `{"name":"c","type":"latency","max_ms":1000}`,
	"tokens":       `{"name":"c","type":"tokens","max_total":100}`,
	"cost":         `{"name":"c","type":"cost","max":0.01}`,
	"exec":         `{"name":"c","type":"exec","command":["sh","-c","cat >/dev/null; echo '{\"score\": 0.5, \"reason\": \"half\"}'"]}`,
	"judge":        `{"name":"c","type":"judge","judge":"fake","rubric":"Is {{ output }} right?"}`,
	"embedding":    `{"name":"c","type":"embedding","target":"fake","threshold":1}`,
	"tool-call":    `{"name":"c","type":"tool-call","tool":"lookup_order"}`,
	"trajectory":   `{"name":"c","type":"trajectory","expected":[{"name":"lookup_order"}]}`,
	"no-tool-call": `{"name":"c","type":"no-tool-call"}`,
	"steps":        `{"name":"c","type":"steps","max":3}`,
	"tool-errors":  `{"name":"c","type":"tool-errors"}`,
}

// The common options some types reject: normalize where it would change
// the JSON checked or belongs to the criteria held; threshold where the
// verdict follows from the criteria held; extract where the call or the
// conversation, not the output, is judged.
var (
	noNormalize = map[string]bool{"json-valid": true, "json-schema": true, "json-match": true, "not": true, "all": true,
		"any": true, "weighted": true, "json-field": true, "latency": true, "tokens": true, "cost": true,
		"tool-call": true, "trajectory": true, "no-tool-call": true, "steps": true, "tool-errors": true}
	noThreshold = map[string]bool{"not": true, "all": true, "any": true, "json-field": true}
	noExtract   = map[string]bool{"latency": true, "tokens": true, "cost": true,
		"tool-call": true, "trajectory": true, "no-tool-call": true, "steps": true, "tool-errors": true}
)

// withCommon adds every common option a type takes to a minimal spec.
func withCommon(t testing.TB, raw, extract string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal([]byte(extract), &x); err != nil {
		t.Fatal(err)
	}
	m["extract"] = x
	typ, _ := m["type"].(string)
	if !noNormalize[typ] {
		m["normalize"] = []string{"trim", "lowercase", "collapse_whitespace", "strip_punctuation"}
	}
	if !noThreshold[typ] {
		m["threshold"] = 0.5
	}
	m["weight"] = 2
	m["description"] = "every common option"
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Outputs every criterion must survive.
var (
	unicodeOutput = "Grüße, 東京! 🙂 — «ÀÉÎ» x"
	invalidUTF8   = "x\xff\xfe\xfd{\"a\":\"\xc3\x28\"}\xe2\x82"
	longText      = strings.Repeat("lorem ipsum dolor sit amet, ", 1<<20/28) + "x"
	longJSON      = `{"items":[` + strings.Repeat(`{"name":"x","n":1},`, 1<<20/19) + `{"name":"x"}],"category":"x"}`
	hostileOutput = []string{
		"", " ", "\n\n", "x", unicodeOutput, invalidUTF8, longText, longJSON, "```", "```json\n", "``````",
		"\x00", `{"category":`, `{"category":"x"}`, `[[[[[[[[[[`, strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
		`"\ud800"`, `{"a":"\u0000"}`, "\r\n\r\n", "\ufeff{\"a\":1}",
	}
)

// cases every criterion must survive: nil, without expected, and with each
// kind of expected answer.
func hostileCases(t testing.TB) []*evals.Case {
	cs := []*evals.Case{nil, caseOf(t, "", "")}
	for _, e := range []string{`"x"`, `""`, `["x","東京"]`, `[]`, `42`, `true`, `null`, `{"category":"x"}`, `[{"a":1}]`, `[null]`} {
		cs = append(cs, caseOf(t, e, `{"label":"x"}`))
	}
	return cs
}

// TestConformance runs every registered criterion, in a minimal form and with
// every common option, on hostile outputs and cases: it must not panic, its
// score must lie in [0,1], and Pass must agree with Unscored, Score and the
// threshold; a verdict that fails or is unscored must say why.
func TestConformance(t *testing.T) {
	for _, name := range criteria.Names() {
		if _, ok := minimal[name]; !ok {
			t.Errorf("criterion type %q has no minimal spec in the conformance table", name)
		}
	}
	for name := range minimal {
		if _, ok := criteria.Registry()[name]; !ok {
			t.Errorf("minimal spec for %q, which is not registered", name)
		}
	}
	cases := hostileCases(t)
	for _, name := range criteria.Names() {
		variants := []struct {
			label     string
			spec      string
			threshold float64
		}{
			{"minimal", minimal[name], 1},
		}
		th := 0.5
		if noThreshold[name] {
			th = 1
		}
		if !noExtract[name] {
			variants = append(variants, []struct {
				label     string
				spec      string
				threshold float64
			}{
				{"code_fence", withCommon(t, minimal[name], `{"code_fence":true}`), th},
				{"json", withCommon(t, minimal[name], `{"code_fence":true,"json":"category"}`), th},
				{"regex", withCommon(t, minimal[name], `{"regex":"(?P<w>\\w+)","group":"w"}`), th},
				{"last_line", withCommon(t, minimal[name], `{"last_line":true}`), th},
			}...)
		}
		for _, v := range variants {
			t.Run(name+"/"+v.label, func(t *testing.T) {
				t.Parallel()
				sc := build(t, v.spec, conformanceEnv(t.TempDir()))
				if got := sc.Score(context.Background(), nil); !got.Unscored || got.Pass || got.Reason == "" {
					t.Errorf("nil input: got %+v, want unscored with a reason", got)
				}
				for _, out := range hostileOutput {
					cs := cases
					if len(out) > 1<<16 {
						cs = cases[:3] // the case matters little; keep -race quick
					}
					for _, c := range cs {
						checkVerdict(t, sc, c, out, v.threshold)
					}
				}
			})
		}
	}
}

func checkVerdict(t *testing.T, sc evals.Scorer, c *evals.Case, out string, threshold float64) {
	t.Helper()
	checkInput(t, sc, &evals.Input{Case: c, Output: out}, threshold)
}

// checkInput checks the verdict on in as checkVerdict does.
func checkInput(t *testing.T, sc evals.Scorer, in *evals.Input, threshold float64) {
	t.Helper()
	out := in.Output
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic on output %.40q, case %+v, transcript of %d messages: %v", out, in.Case, len(in.Transcript), r)
		}
	}()
	v := sc.Score(context.Background(), in)
	switch {
	case v.Score < 0 || v.Score > 1:
		t.Errorf("output %.40q: score %v out of [0,1]", out, v.Score)
	case v.Unscored && (v.Pass || v.Score != 0):
		t.Errorf("output %.40q: unscored verdict %+v passes or has a score", out, v)
	case !v.Unscored && v.Pass != (v.Score >= threshold):
		t.Errorf("output %.40q: Pass %v with score %v and threshold %v", out, v.Pass, v.Score, threshold)
	case (v.Unscored || v.Score < 1) && v.Reason == "":
		t.Errorf("output %.40q: verdict %+v has no reason", out, v)
	case len(v.Reason) > 2000:
		t.Errorf("output %.40q: reason of %d bytes, want a short one", out, len(v.Reason))
	}
}

// TestConcurrentScoring shares one scorer of each type between goroutines, as
// the runner's workers do; run with -race.
func TestConcurrentScoring(t *testing.T) {
	specs := map[string]string{
		"equals":       `{"name":"c","type":"equals","extract":{"json":"category"},"value":"{{expected.category}}","normalize":["lowercase"]}`,
		"starts-with":  `{"name":"c","type":"starts-with","value":"{"}`,
		"contains":     `{"name":"c","type":"contains","mode":"all","value":["billing","{{expected.category}}"]}`,
		"not-contains": `{"name":"c","type":"not-contains","value":["sorry"]}`,
		"regex":        `{"name":"c","type":"regex","pattern":"\"category\":\\s*\"(\\w+)\"","value":"{{expected.category}}"}`,
		"json-valid":   `{"name":"c","type":"json-valid"}`,
		"json-schema":  `{"name":"c","type":"json-schema","schema":{"type":"object","required":["category"],"properties":{"category":{"enum":["billing"]}}}}`,
		"levenshtein":  `{"name":"c","type":"levenshtein","extract":{"json":"category"},"value":"{{expected.category}}","threshold":0.9}`,
		"jaccard":      `{"name":"c","type":"jaccard","value":["category billing","{{expected.category}}"],"threshold":0.5}`,
		"exact-match":  `{"name":"c","type":"exact-match","extract":{"json":"category"},"value":"{{expected.category}}"}`,
		"f1":           `{"name":"c","type":"f1","value":["{{expected.category}}","category billing"],"threshold":0.9}`,
		"rouge":        `{"name":"c","type":"rouge","variant":"rouge2","value":"category: {{expected.category}}","threshold":0.9}`,
		"bleu":         `{"name":"c","type":"bleu","value":"{\"category\": \"{{expected.category}}\"}","threshold":0.9}`,
		"numeric":      `{"name":"c","type":"numeric","value":"1","threshold":0}`, // no number: a passing 0
		"ends-with":    `{"name":"c","type":"ends-with","value":"}"}`,
		"one-of":       `{"name":"c","type":"one-of","extract":{"json":"category"},"values":["billing","refund"]}`,
		"length":       `{"name":"c","type":"length","max_words":2}`,
		"not":          `{"name":"c","type":"not","criterion":{"type":"contains","value":"sorry"}}`,
		"all":          `{"name":"c","type":"all","criteria":[{"type":"json-valid"},{"type":"contains","value":"{{expected.category}}"}]}`,
		"any":          `{"name":"c","type":"any","criteria":[{"type":"contains","value":"billing"},{"type":"contains","value":"refund"}]}`,
		"weighted":     `{"name":"c","type":"weighted","threshold":0.6,"criteria":[{"type":"contains","value":"billing","weight":2},{"type":"contains","value":"refund"}]}`,
		"json-match":   `{"name":"c","type":"json-match","subset":true,"ignore_order":true,"value":{"category":"billing"}}`,
		"json-field":   `{"name":"c","type":"json-field","path":"category","criterion":{"type":"equals","value":"{{expected.category}}"}}`,
		"latency":      `{"name":"c","type":"latency","max_ms":1000}`,
		"tokens":       `{"name":"c","type":"tokens","max_total":100}`,
		"cost":         `{"name":"c","type":"cost","max":0.01}`,
		"exec":         `{"name":"c","type":"exec","command":["sh","-c","if grep -q sorry; then echo '{\"score\": 0, \"reason\": \"sorry\"}'; else echo '{\"score\": 1}'; fi"]}`,
		"judge":        `{"name":"c","type":"judge","judges":["a","b","c"],"rubric":"{{ output }}","extract":{"json":"category"}}`,
		"embedding":    `{"name":"c","type":"embedding","target":"e","threshold":0.9,"extract":{"json":"category"},"value":"{{expected.category}}"}`,
		"tool-call":    `{"name":"c","type":"tool-call","tool":"lookup","field":"category","criterion":{"type":"equals","value":"{{expected.category}}"}}`,
		"trajectory":   `{"name":"c","type":"trajectory","mode":"subset","expected":[{"name":"lookup","arguments":{"category":"billing"}}]}`,
		"no-tool-call": `{"name":"c","type":"no-tool-call","names":["refund"]}`,
		"steps":        `{"name":"c","type":"steps","max":1}`,
		"tool-errors":  `{"name":"c","type":"tool-errors"}`,
	}
	for _, name := range criteria.Names() {
		spec, ok := specs[name]
		if !ok {
			t.Errorf("no concurrency spec for %q", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			sc := build(t, spec, conformanceEnv(""))
			c := caseOf(t, `{"category":"billing"}`, "")
			call := func(out string) *evals.Input {
				return &evals.Input{Case: c, Output: out, Latency: 120 * time.Millisecond, Target: &pricedTarget,
					Response: &evals.Response{Text: out, Usage: evals.Usage{PromptTokens: 40, CompletionTokens: 10, TotalTokens: 50},
						ToolCalls: []evals.ToolCall{evals.NewToolCall("1", "lookup", out)}}}
			}
			good, bad := call(`{"category": "billing"}`), call(`{"category": "sorry"}`)
			want := sc.Score(context.Background(), good)
			if !want.Pass {
				t.Fatalf("good output fails: %+v", want)
			}
			rounds := 200
			if name == "exec" {
				rounds = 10 // a process each: the point is overlap, not volume
			}
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range rounds {
						if got := sc.Score(context.Background(), good); !reflect.DeepEqual(got, want) {
							t.Errorf("concurrent score %+v, want %+v", got, want)
							return
						}
						sc.Score(context.Background(), bad)
					}
				})
			}
			wg.Wait()
		})
	}
}

// TestEdgeOutputs pins the verdicts of every criterion on empty, Unicode,
// invalid UTF-8 and 1 MB outputs.
func TestEdgeOutputs(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	runScoreTests(t, []scoreTest{
		{name: "equals/empty", spec: `{"name":"c","type":"equals","value":"x"}`, output: "", want: fail(`got "", expected "x"`)},
		{name: "equals/unicode", spec: `{"name":"c","type":"equals","normalize":["lowercase","strip_punctuation","collapse_whitespace"],"value":"grüße 東京 🙂"}`, output: "Grüße, 東京! 🙂", want: pass()},
		{name: "equals/invalid utf-8", spec: `{"name":"c","type":"equals","value":"x"}`, output: "x\xff", want: fail(`got "x\xff", expected "x"`)},
		{name: "equals/invalid utf-8 normalised to U+FFFD", spec: `{"name":"c","type":"equals","normalize":["lowercase"],"value":"x\ufffd"}`, output: "X\xff", want: pass()},
		{name: "equals/1MB", spec: `{"name":"c","type":"equals","value":"x"}`, output: long,
			want: fail(`got "` + long[:80] + `"… (1048576 bytes), expected "x"`)},

		{name: "starts-with/empty", spec: `{"name":"c","type":"starts-with","value":"x"}`, output: "", want: fail(`got "", expected it to start with "x"`)},
		{name: "starts-with/unicode", spec: `{"name":"c","type":"starts-with","normalize":["lowercase"],"value":"grüße"}`, output: "Grüße, 東京! 🙂", want: pass()},
		{name: "starts-with/invalid utf-8", spec: `{"name":"c","type":"starts-with","value":"x"}`, output: "x\xff", want: pass()},
		{name: "starts-with/1MB", spec: `{"name":"c","type":"starts-with","value":"aaa"}`, output: long, want: pass()},

		{name: "contains/empty", spec: `{"name":"c","type":"contains","value":"x"}`, output: "", want: fail(`got "", expected it to contain "x"`)},
		{name: "contains/unicode", spec: `{"name":"c","type":"contains","normalize":["strip_punctuation"],"value":"東京 🙂"}`, output: "Grüße, 東京! 🙂", want: pass()},
		{name: "contains/invalid utf-8", spec: `{"name":"c","type":"contains","value":"x"}`, output: "\xffx\xfe", want: pass()},
		{name: "contains/1MB", spec: `{"name":"c","type":"contains","value":"b"}`, output: long + "b", want: pass()},

		{name: "not-contains/empty", spec: `{"name":"c","type":"not-contains","value":"x"}`, output: "", want: pass()},
		{name: "not-contains/unicode", spec: `{"name":"c","type":"not-contains","normalize":["lowercase"],"value":"grüsse"}`, output: "Grüße, 東京! 🙂", want: pass()},
		{name: "not-contains/invalid utf-8", spec: `{"name":"c","type":"not-contains","value":"\ufffd"}`, output: "x\xff", want: pass()},
		{name: "not-contains/invalid utf-8 found", spec: `{"name":"c","type":"not-contains","value":"x"}`, output: "\xfex\xff",
			want: fail(`found "x" in "\xfex\xff"`)},
		{name: "not-contains/1MB", spec: `{"name":"c","type":"not-contains","value":"b"}`, output: long + "b",
			want: fail(`found "b" in …"` + strings.Repeat("a", 30) + `b"`)},

		{name: "regex/empty", spec: `{"name":"c","type":"regex","pattern":"^$"}`, output: "", want: pass()},
		{name: "regex/unicode", spec: `{"name":"c","type":"regex","pattern":"^\\p{L}+ \\p{Han}+ \\x{1F642}$","normalize":["strip_punctuation"]}`, output: "Grüße, 東京! 🙂", want: pass()},
		{name: "regex/invalid utf-8", spec: `{"name":"c","type":"regex","pattern":"^x\\x{FFFD}$"}`, output: "x\xff", want: pass()},
		{name: "regex/1MB", spec: `{"name":"c","type":"regex","pattern":"ab$"}`, output: long,
			want: fail(`no match for /ab$/ in "` + long[:80] + `"… (1048576 bytes)`)},
		{name: "regex/1MB match at the end", spec: `{"name":"c","type":"regex","pattern":"a\\s*b\\s*$"}`, output: long + " b\n", want: pass()},

		{name: "json-valid/empty", spec: `{"name":"c","type":"json-valid"}`, output: "", want: fail(`output is not JSON: the text is empty`)},
		{name: "json-valid/unicode", spec: `{"name":"c","type":"json-valid"}`, output: `{"greeting":"Grüße, 東京! 🙂"}`, want: pass()},
		{name: "json-valid/invalid utf-8", spec: `{"name":"c","type":"json-valid"}`, output: "\xff",
			want: fail(`output is not JSON: invalid character 'ÿ' looking for beginning of value at offset 1, near "\xff"`)},
		{name: "json-valid/1MB", spec: `{"name":"c","type":"json-valid"}`, output: `["` + long + `"]`, want: pass()},

		{name: "json-schema/empty", spec: `{"name":"c","type":"json-schema","schema":{"type":"string"}}`, output: "", want: fail(`output is not JSON: the text is empty`)},
		{name: "json-schema/unicode", spec: `{"name":"c","type":"json-schema","schema":{"const":"Grüße, 東京! 🙂"}}`, output: `"Grüße, 東京! 🙂"`, want: pass()},
		{name: "json-schema/invalid utf-8", spec: `{"name":"c","type":"json-schema","schema":{"type":"string","maxLength":1}}`, output: "\"\xff\"", want: pass()},
		{name: "json-schema/1MB", spec: `{"name":"c","type":"json-schema","schema":{"type":"string","maxLength":10}}`, output: `"` + long + `"`,
			want: fail(`schema violation: (root): String length must be less than or equal to 10`)},
	})
}

// FuzzScore feeds arbitrary outputs to criteria that parse them: JSON paths,
// code fences, last lines, regex groups and schemas.
func FuzzScore(f *testing.F) {
	for _, out := range hostileOutput {
		if len(out) < 1<<12 {
			f.Add(out)
		}
	}
	f.Add(`{"a": {"b": [1, {"c": "\"}]"}]}, "a\u0062": 2}`)
	f.Add("```json\n{\"a\":{\"b\":[0,{\"c\":1}]}}\n```")
	specs := []string{
		`{"name":"c","type":"equals","extract":{"code_fence":true,"json":"a.b.1.c"},"value":"1"}`,
		`{"name":"c","type":"contains","extract":{"json":"0"},"normalize":["lowercase","strip_punctuation","collapse_whitespace","trim"],"value":"x"}`,
		`{"name":"c","type":"equals","extract":{"last_line":true},"normalize":["collapse_whitespace"],"value":"x"}`,
		`{"name":"c","type":"regex","pattern":"(\\w*)(x)?","group":2,"value":"x","extract":{"code_fence":true}}`,
		`{"name":"c","type":"not-contains","value":"{{expected}}"}`,
		`{"name":"c","type":"json-schema","extract":{"json":"a"},"schema":{"type":"object","properties":{"b":{"type":"array"}}}}`,
	}
	var scorers []evals.Scorer
	for _, s := range specs {
		scorers = append(scorers, build(f, s, criteria.Env{}))
	}
	c := caseOf(f, `["x","y"]`, "")
	f.Fuzz(func(t *testing.T, out string) {
		for _, sc := range scorers {
			checkVerdict(t, sc, c, out, 1)
		}
	})
}
