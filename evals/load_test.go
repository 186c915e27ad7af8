package evals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// writeFiles writes files under dir; a name ending in "/" is a folder.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// loadIn writes the files to a fresh folder, which is also the current folder,
// and loads its suite.json with opts. A ConfigPath in opts is relative to the
// folder.
func loadIn(t *testing.T, files map[string]string, opts LoadOptions) (*Suite, string, error) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir) // the config is also looked for in the current folder
	writeFiles(t, dir, files)
	if opts.ConfigPath != "" {
		opts.ConfigPath = filepath.Join(dir, opts.ConfigPath)
	}
	s, err := Load(context.Background(), filepath.Join(dir, "suite.json"), opts)
	return s, dir, err
}

// parts stands in for runner/build in these tests: it checks the parts of a
// parsed suite with fakes, as build does with the registries, and locates
// what they report through the suite, as build does.
type parts struct {
	criterion func(c CriterionSpec) error
	target    func(t TargetSpec) error
	dataset   func(ctx context.Context, s *Suite) []Problem
}

// load is Load with the parts checked.
func (p parts) load(ctx context.Context, path string, opts LoadOptions) (*Suite, error) {
	s, probs, err := Parse(ctx, path, opts)
	if err != nil || s == nil {
		if err == nil && len(probs) > 0 {
			err = probs
		}
		return nil, err
	}
	for _, c := range s.Criteria {
		if p.criterion != nil && c.Type != "" && s.Sound(c.Pointer) {
			if err := p.criterion(c); err != nil {
				probs = append(probs, s.CriterionProblems(c, err)...)
			}
		}
	}
	for _, t := range s.ResolvedTargets {
		if p.target != nil {
			if err := p.target(t); err != nil {
				probs = append(probs, t.Problems(err)...)
			}
		}
	}
	if p.dataset != nil && s.Sound("/dataset") && s.Sound("/messages") {
		probs = append(probs, p.dataset(ctx, s)...)
	}
	if len(probs) > 0 {
		return nil, SortProblems(probs)
	}
	return s, nil
}

// loadParts is loadIn with the parts checked.
func loadParts(t *testing.T, files map[string]string, opts LoadOptions, p parts) (*Suite, string, error) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	writeFiles(t, dir, files)
	if opts.ConfigPath != "" {
		opts.ConfigPath = filepath.Join(dir, opts.ConfigPath)
	}
	s, err := p.load(context.Background(), filepath.Join(dir, "suite.json"), opts)
	return s, dir, err
}

// problemLines returns each problem of err as Problem.String() writes it, with
// dir taken out of the paths.
func problemLines(t *testing.T, err error, dir string) []string {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T %v is not Problems", err, err)
	}
	if got, want := ps.Error(), strings.Join(problemStrings(ps), "\n"); got != want {
		t.Errorf("Problems.Error() = %q, want the problems one a line %q", got, want)
	}
	lines := problemStrings(ps)
	for i, l := range lines {
		lines[i] = strings.ReplaceAll(l, dir+string(filepath.Separator), "")
	}
	return lines
}

func problemStrings(ps Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// validSuite is a minimal suite that loads; cases change one line of it.
const validSuite = `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}]
}
`

const twoTargetsConfig = `{
  "targets": {
    "a": {"provider": "replay", "path": "a.jsonl"},
    "b": {"provider": "openai", "base_url": "http://localhost:8000/v1", "model": "m"}
  }
}
`

// withTargets is validSuite running the config's target a.
const withTargets = `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": ["a"]
}
`

// The fields and enums the hints list come from the schema, which grows as
// criteria and providers do; schemaFields and schemaEnum read them from it.
var (
	fieldsSuite    = schemaFields("suite")
	fieldsTarget   = schemaFields("target")
	fieldsParams   = schemaFields("params")
	criterionTypes = schemaEnum("criterion", "type")
	providers      = schemaEnum("target", "provider")
)

type schemaDoc struct {
	Properties  map[string]json.RawMessage `json:"properties"`
	Definitions map[string]struct {
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
	} `json:"definitions"`
}

func readSchema() schemaDoc {
	var doc schemaDoc
	if err := json.Unmarshal(SchemaJSON, &doc); err != nil {
		panic(err)
	}
	return doc
}

// schemaFields returns the properties of a definition ("suite" for the top
// level), sorted and joined with ", ".
func schemaFields(def string) string {
	doc := readSchema()
	var names []string
	if def == "suite" {
		names = sortedKeys(doc.Properties)
	} else {
		names = sortedKeys(doc.Definitions[def].Properties)
	}
	if len(names) == 0 {
		panic("no fields for " + def)
	}
	return strings.Join(names, ", ")
}

// schemaEnum returns the values a property of a definition allows, quoted and
// in the schema's order.
func schemaEnum(def, prop string) string {
	var quoted []string
	for _, v := range readSchema().Definitions[def].Properties[prop].Enum {
		quoted = append(quoted, strconv.Quote(v))
	}
	if len(quoted) == 0 {
		panic("no enum for " + def + "." + prop)
	}
	return strings.Join(quoted, ", ")
}

func TestSchemaHelpers(t *testing.T) {
	// Parts of the schema the tests rely on not changing. Providers may be
	// added after openai and replay.
	if !strings.Contains(fieldsSuite, "case_pass, criteria, dataset") || !strings.Contains(criterionTypes, `"equals"`) ||
		!strings.Contains(fieldsTarget, "provider") || !strings.Contains(providers, `"openai"`) || !strings.Contains(providers, `"replay"`) ||
		fieldsParams != "frequency_penalty, max_tokens, presence_penalty, response_format, seed, stop, temperature, top_p" {
		t.Fatalf("unexpected schema: %s / %s / %s / %s / %s", fieldsSuite, criterionTypes, fieldsTarget, providers, fieldsParams)
	}
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name  string
		suite string
		files map[string]string
		opts  LoadOptions
		want  []string
	}{
		// JSON syntax.
		{
			name: "invalid JSON: missing comma",
			suite: `{
  "name": "s",
  "messages": [{"role": "user" "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			want: []string{`suite.json:3:32: invalid JSON: invalid character '"' after object key:value pair`},
		},
		{
			name: "invalid JSON: bad literal",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": tru}]},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			want: []string{`suite.json:4:34: invalid JSON: invalid character '}' in literal true (expecting 'e')`},
		},
		{
			name: "invalid JSON: truncated file",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
`,
			want: []string{`suite.json:4:1: invalid JSON: unexpected end of file`},
		},
		{
			name:  "invalid JSON: trailing garbage",
			suite: validSuite + "}\n",
			want:  []string{`suite.json:7:1: invalid JSON: invalid character '}' after top-level value`},
		},
		{
			name:  "empty file",
			suite: "",
			want:  []string{`suite.json:1:1: invalid JSON: unexpected end of file`},
		},
		{
			name:  "wrong top-level type",
			suite: `["s"]`,
			want:  []string{`suite.json:1:1: $: expected object, got array`},
		},
		{
			name:  "missing required fields",
			suite: `{"name": "s"}`,
			want: []string{
				`suite.json:1:1: $: missing required field "messages"`,
				`suite.json:1:1: $: missing required field "dataset"`,
				`suite.json:1:1: $: missing required field "criteria"`,
			},
		},
		{
			name: "empty name and lists",
			suite: `{
  "name": "",
  "messages": [],
  "dataset": {"cases": []},
  "criteria": []
}`,
			want: []string{
				`suite.json:2:11: $.name: must not be empty`,
				`suite.json:3:15: $.messages: must not be empty: expected at least one item`,
				`suite.json:5:15: $.criteria: must not be empty: expected at least one item`,
			},
		},
		// Unknown fields, at their key, with the fields expected there.
		{
			name: "unknown top-level field",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "gates": ["pass_rate >= 1"]
}`,
			want: []string{`suite.json:6:3: $.gates: unknown field "gates"; did you mean "gate"?`},
		},
		{
			name: "unknown field in a message",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}", "text": "x"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			want: []string{`suite.json:3:55: $.messages[0].text: unknown field "text"; expected one of: content, role`},
		},
		{
			name: "unknown field in a criterion",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "regex", "patern": "x"}]
}`,
			want: []string{`suite.json:5:47: $.criteria[0].patern: unknown field "patern"; did you mean "pattern"?`},
		},
		{
			name: "unknown field in a criterion's extract",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals", "extract": {"jsonpath": "a"}}]
}`,
			want: []string{`suite.json:5:60: $.criteria[0].extract.jsonpath: unknown field "jsonpath"; expected one of: code_fence, group, json, last_line, regex`},
		},
		{
			name: "unknown field in the dataset",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}], "file": "x.jsonl"},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			want: []string{`suite.json:4:39: $.dataset.file: unknown field "file"; expected one of: cases, format, path`},
		},
		{
			name: "unknown field in an inline target",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": [{"name": "t", "provider": "openai", "modle": "m"}]
}`,
			want: []string{`suite.json:6:51: $.targets[0].modle: unknown field "modle"; did you mean "model"?`},
		},
		{
			name: "unknown field in params",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": [{"name": "t", "provider": "openai", "params": {"temprature": 0}}]
}`,
			want: []string{`suite.json:6:62: $.targets[0].params.temprature: unknown field "temprature"; did you mean "temperature"?`},
		},
		// Types and enums.
		{
			name: "wrong types",
			suite: `{
  "name": 5,
  "messages": "hello",
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals", "weight": "2"}],
  "gate": "pass_rate >= 1"
}`,
			want: []string{
				`suite.json:2:11: $.name: expected string, got integer`,
				`suite.json:3:15: $.messages: expected array, got string`,
				`suite.json:5:58: $.criteria[0].weight: expected number, got string`,
				`suite.json:6:11: $.gate: expected array, got string`,
			},
		},
		{
			name: "dataset of the wrong type",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": "cases.jsonl",
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			want: []string{`suite.json:4:14: $.dataset: expected object, got string`},
		},
		{
			name: "enum violations",
			suite: `{
  "name": "s",
  "messages": [{"role": "robot", "content": "{{ q }}"}],
  "dataset": {"path": "d.jsonl", "format": "yaml"},
  "criteria": [{"name": "c", "type": "equalz"}],
  "targets": [{"name": "t", "provider": "gemini"}],
  "case_pass": "most"
}`,
			files: map[string]string{"d.jsonl": "{}\n"},
			want: []string{
				`suite.json:3:25: $.messages[0].role: got "robot", expected one of "system", "developer", "user", "assistant"`,
				`suite.json:4:44: $.dataset.format: got "yaml", expected one of "jsonl", "csv", "json"`,
				`suite.json:5:38: $.criteria[0].type: got "equalz"; did you mean "equals"?`,
				`suite.json:6:41: $.targets[0].provider: got "gemini", expected one of ` + providers,
				`suite.json:7:16: $.case_pass: got "most", expected one of "all", "score"`,
			},
		},
		{
			name: "enum typos",
			suite: `{
  "name": "s",
  "messages": [{"role": "asistant", "content": "{{ q }}"}],
  "dataset": {"path": "d.jsonl", "format": "jsnl"},
  "criteria": [
    {"name": "c", "type": "regx", "pattern": "x"},
    {"name": "g", "type": "all", "criteria": [{"name": "n", "type": "contain", "value": "x"}]},
    {"name": "far", "type": "similarity"}
  ],
  "targets": [{"name": "t", "provider": "opanai"}]
}`,
			files: map[string]string{"d.jsonl": "{}\n"},
			want: []string{
				`suite.json:3:25: $.messages[0].role: got "asistant"; did you mean "assistant"?`,
				`suite.json:4:44: $.dataset.format: got "jsnl"; did you mean "jsonl"?`,
				`suite.json:6:27: $.criteria[0].type: got "regx"; did you mean "regex"?`,
				`suite.json:7:69: $.criteria[1].criteria[0].type: got "contain"; did you mean "contains"?`,
				`suite.json:8:29: $.criteria[2].type: got "similarity", expected one of ` + criterionTypes,
				`suite.json:10:41: $.targets[0].provider: got "opanai"; did you mean "openai"?`,
			},
		},
		{
			name: "invalid criterion name",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "my crit", "type": "equals"}]
}`,
			want: []string{`suite.json:5:25: $.criteria[0].name: got "my crit", expected a string matching ^[A-Za-z0-9_-]+$`},
		},
		// Templates.
		{
			name: "template errors in messages",
			suite: `{
  "name": "s",
  "messages": [
    {"role": "system", "content": "Answer {{ q }"},
    {"role": "user", "content": "{{ q | upper }}"}
  ],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			want: []string{
				`suite.json:4:35: $.messages[0].content: template: "{{" is never closed by "}}" at character 8`,
				`suite.json:5:33: $.messages[1].content: template: unknown filter "upper" in {{ q | upper }}: expected json at character 1`,
			},
		},
		// Gates.
		{
			name: "bad gate expressions",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "gate": ["pass_rate >= high", "accuracy > 0.5", "criteria.c >= 1"]
}`,
			want: []string{
				`suite.json:6:12: $.gate[0]: gate "pass_rate >= high": expected a number after ">=", got "high" at character 14`,
				// TestParseGateErrors checks the lists of metrics word for
				// word; here, where each problem is.
				`suite.json:6:33: $.gate[1]: gate "accuracy > 0.5": unknown metric "accuracy": expected one of ` + metricForms + ` at character 1`,
				`suite.json:6:51: $.gate[2]: gate "criteria.c >= 1": unknown metric "criteria.c": expected ` + criterionForms() + ` at character 1`,
			},
		},
		{
			name: "gate naming an unknown criterion",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}, {"name": "d", "type": "json-valid"}],
  "gate": ["pass_rate >= 1", "criteria.tone.mean >= 0.5"]
}`,
			want: []string{`suite.json:6:30: $.gate[1]: gate "criteria.tone.mean >= 0.5" names criterion "tone", which the suite does not define (it has: c, d)`},
		},
		{
			name: "gate naming a judge that is not one",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "gate": ["judge.c.kappa >= 0.6", "judge.x.n >= 10"]
}`,
			want: []string{
				`suite.json:6:12: $.gate[0]: gate "judge.c.kappa >= 0.6" names judge "c", which is not a judge criterion of the suite (it has none)`,
				`suite.json:6:36: $.gate[1]: gate "judge.x.n >= 10" names judge "x", which is not a judge criterion of the suite (it has none)`,
			},
		},
		{
			name:  "bad --gate",
			suite: validSuite,
			opts:  LoadOptions{Gates: []string{"mean >= 0.5", "pass_rate", "criteria.x.mean >= 1"}},
			want: []string{
				`--gate: gate "pass_rate": expected a comparison (>=, <=, >, <) followed by a number, as in "pass_rate >= 0.9" at character 10`,
				`--gate: gate "criteria.x.mean >= 1" names criterion "x", which the suite does not define (it has: c)`,
			},
		},
		// Criteria.
		{
			name: "duplicate criterion names",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [
    {"name": "c", "type": "equals"},
    {"name": "d", "type": "equals"},
    {"name": "c", "type": "regex", "pattern": "x"}
  ]
}`,
			want: []string{`suite.json:8:14: $.criteria[2].name: duplicate criterion name "c" (first used at line 6)`},
		},
		// Dataset.
		{
			name: "dataset with both path and cases",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"path": "d.jsonl", "cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			files: map[string]string{"d.jsonl": "{}\n"},
			want:  []string{`suite.json:4:34: $.dataset.cases: give either path or cases, not both`},
		},
		{
			name: "dataset with neither path nor cases",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			want: []string{`suite.json:4:14: $.dataset: expected path (a dataset file) or cases (inline cases)`},
		},
		{
			name: "dataset format with inline cases",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}], "format": "csv"},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			want: []string{`suite.json:4:39: $.dataset.format: format applies only to a dataset file (path)`},
		},
		{
			name: "dataset with an unknown extension",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"path": "cases.txt"},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			files: map[string]string{"cases.txt": "{}\n"},
			want:  []string{`suite.json:4:23: $.dataset.path: cannot tell the format of "cases.txt" from its extension: expected .jsonl, .ndjson, .csv or .json, or set format`},
		},
		{
			name: "dataset file missing",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"path": "data/cases.jsonl"},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			want: []string{`suite.json:4:23: $.dataset.path: dataset data/cases.jsonl: no such file`},
		},
		{
			name: "dataset is a folder",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			files: map[string]string{"cases.jsonl/": ""},
			want:  []string{`suite.json:4:23: $.dataset.path: dataset cases.jsonl is a folder, expected a file`},
		},
		// Case verdicts.
		{
			name: "case_pass score without pass_score",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "case_pass": "score"
}`,
			want: []string{`suite.json:6:16: $.case_pass: case_pass "score" needs pass_score, the score a case must reach`},
		},
		{
			name: "pass_score without case_pass",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "pass_score": 0.8
}`,
			want: []string{`suite.json:6:3: $.pass_score: pass_score applies only with case_pass "score"`},
		},
		{
			name: "pass_score out of range",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "case_pass": "score", "pass_score": 1.5
}`,
			want: []string{`suite.json:6:39: $.pass_score: got 1.5, expected at most 1`},
		},
		// Targets.
		{
			name:  "unknown target without a config",
			suite: withTargets,
			want:  []string{`suite.json:6:15: $.targets[0]: unknown target "a": no targets are defined (define them in rubric.config.json or inline in the suite)`},
		},
		{
			name: "unknown target with a config",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": ["a", "prod"]
}`,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			want:  []string{`suite.json:6:20: $.targets[1]: unknown target "prod": expected one of a, b`},
		},
		{
			name: "inline target without a name",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": [{"provider": "replay", "path": "r.jsonl"}]
}`,
			want: []string{`suite.json:6:15: $.targets[0]: an inline target needs a name`},
		},
		{
			name: "inline target named like a config target",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": [{"name": "b", "provider": "replay", "path": "r.jsonl"}]
}`,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			want:  []string{`suite.json:6:24: $.targets[0].name: target "b" is also defined in rubric.config.json: rename one`},
		},
		{
			name: "target listed twice",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": ["a", "b", "a"]
}`,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			want:  []string{`suite.json:6:25: $.targets[2]: target "a" is listed twice`},
		},
		{
			name: "inline target listed twice",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": [{"name": "t", "provider": "replay", "path": "r.jsonl"}, "t"]
}`,
			want: []string{`suite.json:6:71: $.targets[1]: target "t" is listed twice`},
		},
		{
			name:  "--target listed twice",
			suite: withTargets,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			opts:  LoadOptions{Targets: []string{"b", "b"}},
			want:  []string{`--target: target "b" is listed twice`},
		},
		{
			name:  "config schema error is located in the config",
			suite: withTargets,
			files: map[string]string{ConfigFile: `{
  "targets": {
    "a": {"provider": "replay", "path": "a.jsonl", "concurrency": 0},
    "b": {"provider": "openai", "base_url": "http://localhost:8000/v1", "modle": "m"}
  }
}`},
			want: []string{
				`rubric.config.json:3:67: $.targets.a.concurrency: got 0, expected at least 1`,
				`rubric.config.json:4:73: $.targets.b.modle: unknown field "modle"; did you mean "model"?`,
			},
		},
		{
			name:  "config with a bad target name and an unknown top-level field",
			suite: withTargets,
			files: map[string]string{ConfigFile: `{
  "target": {},
  "targets": {"a b": {"provider": "replay", "path": "a.jsonl"}}
}`},
			want: []string{
				`rubric.config.json:2:3: $.target: unknown field "target"; did you mean "targets"?`,
				// gojsonschema reports a bad property name twice; we say it once, at the key.
				`rubric.config.json:3:15: $.targets["a b"]: invalid name "a b": expected letters, digits, '_', '.', ':' or '-'`,
			},
		},
		{
			name:  "config that is not JSON",
			suite: withTargets,
			files: map[string]string{ConfigFile: "{\n  \"targets\": {\n    \"a\": {\"provider\": \"replay\",}\n  }\n}\n"},
			want:  []string{`rubric.config.json:3:32: invalid JSON: invalid character '}' looking for beginning of object key string`},
		},
		{
			name:  "config named with --config missing",
			suite: validSuite,
			opts:  LoadOptions{ConfigPath: "conf/rubric.json"},
			want:  []string{`conf/rubric.json: no such file`},
		},
		{
			name:  "config target name differing from its key",
			suite: withTargets,
			files: map[string]string{ConfigFile: `{
  "targets": {
    "a": {"name": "alpha", "provider": "replay", "path": "a.jsonl"}
  }
}`},
			want: []string{`rubric.config.json:3:19: $.targets.a.name: name "alpha" differs from the target's key "a": drop name, the key is the name`},
		},
		{
			name:  "--target unknown",
			suite: withTargets,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			opts:  LoadOptions{Targets: []string{"b", "zzz"}},
			want:  []string{`--target: unknown target "zzz": expected one of a, b`},
		},
		{
			name: "--target replaces the suite's list, unknown names in it included",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": ["gone"]
}`,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			opts:  LoadOptions{Targets: []string{"a"}, RequireTargets: true, Overrides: []string{"gone.model=x"}},
			want:  []string{`--set: --set "gone.model=x": no target "gone" is being run (running: a)`},
		},
		{
			// What a malformed --set holds is not shown: it may be a key.
			name:  "--set malformed",
			suite: withTargets,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			opts:  LoadOptions{Overrides: []string{"a.model", "model=x", ".model=x", "a.=x"}},
			want: []string{
				`--set: --set "a.model": expected TARGET.FIELD=VALUE, as in candidate.model=gpt-4o-mini or '*.params.temperature=0'`,
				`--set: --set "model=[REDACTED]": expected TARGET.FIELD=VALUE, as in candidate.model=gpt-4o-mini or '*.params.temperature=0'`,
				`--set: --set ".model=[REDACTED]": expected TARGET.FIELD=VALUE, as in candidate.model=gpt-4o-mini or '*.params.temperature=0'`,
				`--set: --set "a.=[REDACTED]": expected TARGET.FIELD=VALUE, as in candidate.model=gpt-4o-mini or '*.params.temperature=0'`,
			},
		},
		{
			name:  "--set on a target not run",
			suite: withTargets,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			opts:  LoadOptions{Overrides: []string{"b.model=x"}},
			want:  []string{`--set: --set "b.model=x": no target "b" is being run (running: a)`},
		},
		{
			name: "--set with no targets run",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			opts: LoadOptions{Overrides: []string{"*.concurrency=2"}},
			want: []string{`--set: --set "*.concurrency=2": no target "*" is being run (running: none)`},
		},
		{
			name:  "--set producing schema violations",
			suite: withTargets,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			opts:  LoadOptions{Overrides: []string{"a.concurrency=0", "a.params.temperature=hot", "a.timeout=soon", "a.colour=red"}},
			want: []string{
				`--set: target "a" after --set a.colour=red: $.colour: unknown field "colour"; expected one of: ` + fieldsTarget,
				`--set: target "a" after --set a.concurrency=0: $.concurrency: got 0, expected at least 1`,
				`--set: target "a" after --set a.params.temperature=hot: $.params.temperature: expected number, got string`,
				`--set: target "a" after --set a.timeout=soon: $.timeout: got "soon", expected a duration such as 500ms, 30s or 2m`,
			},
		},
		{
			name: "target values the schema allows but Go cannot hold",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": [{"name": "t", "provider": "openai", "timeout": "9999999999h"},
              {"name": "u", "provider": "openai", "params": {"seed": 100000000000000000000}}]
}`,
			want: []string{
				`suite.json:6:15: $.targets[0]: time: invalid duration "9999999999h"`,
				`suite.json:7:15: $.targets[1]: json: cannot unmarshal number 100000000000000000000 into Go struct field Params.params.seed of type int64`,
			},
		},
		{
			name:  "--set value the schema allows but Go cannot hold",
			suite: withTargets,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			opts:  LoadOptions{Overrides: []string{"a.timeout=9999999999h"}},
			want:  []string{`--set: target "a" after --set: time: invalid duration "9999999999h"`},
		},
		{
			name: "RequireTargets with none",
			suite: `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}]
}`,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			opts:  LoadOptions{RequireTargets: true},
			want:  []string{`suite.json: no targets to run: list them in the suite's targets, define them in rubric.config.json, or pass --target NAME`},
		},
		// Several problems at once, from every stage, in file order.
		{
			name: "several problems sorted by line",
			suite: `{
  "name": "s",
  "nmae": "s",
  "messages": [{"role": "user", "content": "{{ q"}],
  "dataset": {"path": "missing.jsonl"},
  "criteria": [{"name": "c", "type": "equals"}, {"name": "c", "type": "json-valid"}],
  "gate": ["criteria.x.mean >= 1"],
  "case_pass": "score"
}`,
			files: map[string]string{ConfigFile: twoTargetsConfig},
			opts:  LoadOptions{Targets: []string{"nope"}, Overrides: []string{"bad"}},
			want: []string{
				`--set: --set "[REDACTED]": expected TARGET.FIELD=VALUE, as in candidate.model=gpt-4o-mini or '*.params.temperature=0'`,
				`--target: unknown target "nope": expected one of a, b`,
				`suite.json:3:3: $.nmae: unknown field "nmae"; did you mean "name"?`,
				`suite.json:4:44: $.messages[0].content: template: "{{" is never closed by "}}" at character 1`,
				`suite.json:5:23: $.dataset.path: dataset missing.jsonl: no such file`,
				`suite.json:6:58: $.criteria[1].name: duplicate criterion name "c" (first used at line 6)`,
				`suite.json:7:12: $.gate[0]: gate "criteria.x.mean >= 1" names criterion "x", which the suite does not define (it has: c, c)`,
				`suite.json:8:16: $.case_pass: case_pass "score" needs pass_score, the score a case must reach`,
			},
		},
	}
	if len(tests) < 25 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"suite.json": tc.suite}
			for k, v := range tc.files {
				files[k] = v
			}
			s, dir, err := loadIn(t, files, tc.opts)
			if err == nil {
				t.Fatalf("Load succeeded (%d targets), want problems:\n%s", len(s.ResolvedTargets), strings.Join(tc.want, "\n"))
			}
			if s != nil {
				t.Errorf("Load returned a suite with its problems")
			}
			got := problemLines(t, err, dir)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestLoadHooks checks that errors from the Criterion and Target hooks are
// placed at the field they name.
func TestLoadHooks(t *testing.T) {
	const suite = `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [
    {"name": "c", "type": "equals"},
    {"name": "r", "type": "regex",
     "pattern": "(unclosed",
     "extract": {"regex": "("}}
  ],
  "targets": ["a", {"name": "t", "provider": "openai", "model": "m",
    "headers": {"X-Key": "k"}}]
}`
	byName := func(errs map[string]error) func(string) error {
		return func(name string) error { return errs[name] }
	}
	tests := []struct {
		name      string
		criterion map[string]error // by criterion name
		target    map[string]error // by target name
		overrides []string
		want      []string
	}{
		{
			name:      "criterion field error at the field's value",
			criterion: map[string]error{"r": FieldErrorf("pattern", "missing closing ): %s", "`(unclosed`")},
			want:      []string{"suite.json:8:17: $.criteria[1].pattern: missing closing ): `(unclosed`"},
		},
		{
			name:      "criterion nested field error",
			criterion: map[string]error{"r": FieldErrorf("extract.regex", "bad")},
			want:      []string{"suite.json:9:27: $.criteria[1].extract.regex: bad"},
		},
		{
			name:      "criterion error about an absent field points at the criterion",
			criterion: map[string]error{"c": FieldErrorf("value", "required without an expected answer")},
			want:      []string{"suite.json:6:5: $.criteria[0].value: required without an expected answer"},
		},
		{
			name:      "criterion plain error points at the criterion",
			criterion: map[string]error{"c": errors.New("cannot build")},
			want:      []string{"suite.json:6:5: $.criteria[0]: cannot build"},
		},
		{
			name: "criterion joined errors are each reported",
			criterion: map[string]error{"r": errors.Join(
				FieldErrorf("pattern", "bad pattern"),
				FieldErrorf("extract.regex", "bad regex"),
				errors.New("and something else"),
			)},
			want: []string{
				"suite.json:7:5: $.criteria[1]: and something else",
				"suite.json:8:17: $.criteria[1].pattern: bad pattern",
				"suite.json:9:27: $.criteria[1].extract.regex: bad regex",
			},
		},
		{
			name:   "config target field error located in the config",
			target: map[string]error{"a": FieldErrorf("path", "no such file")},
			want:   []string{"rubric.config.json:3:41: $.targets.a.path: no such file"},
		},
		{
			name:   "inline target field error located in the suite",
			target: map[string]error{"t": FieldErrorf("headers.X-Key", "empty")},
			want:   []string{"suite.json:12:26: $.targets[1].headers.X-Key: empty"},
		},
		{
			name: "target joined errors are each reported",
			target: map[string]error{"t": errors.Join(
				FieldErrorf("model", "does not apply"),
				FieldErrorf("headers", "does not apply"),
			)},
			want: []string{
				"suite.json:11:65: $.targets[1].model: does not apply",
				"suite.json:12:16: $.targets[1].headers: does not apply",
			},
		},
		{
			name:      "target error on an overridden field comes from --set",
			target:    map[string]error{"a": FieldErrorf("replay_as", "unknown recording")},
			overrides: []string{"a.replay_as=zzz"},
			want:      []string{`--set: target "a" after --set a.replay_as=zzz: replay_as: unknown recording`},
		},
		{
			name:      "target error on a nested overridden field comes from --set",
			target:    map[string]error{"t": FieldErrorf("headers.X-Other", "bad header")},
			overrides: []string{"*.headers.X-Other=one"},
			want:      []string{`--set: target "t" after --set *.headers.X-Other=[REDACTED]: headers.X-Other: bad header`},
		},
		{
			name:      "target error on another field of an overridden target stays in its file",
			target:    map[string]error{"t": FieldErrorf("model", "unknown model")},
			overrides: []string{"t.headers.X-Key=other"},
			want:      []string{"suite.json:11:65: $.targets[1].model: unknown model"},
		},
		{
			name: "target joined errors split between --set and the file",
			target: map[string]error{"t": errors.Join(
				FieldErrorf("model", "unknown model"),
				FieldErrorf("concurrency", "too many"),
			)},
			overrides: []string{"t.concurrency=100"},
			want: []string{
				`--set: target "t" after --set t.concurrency=100: concurrency: too many`,
				"suite.json:11:65: $.targets[1].model: unknown model",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var criteriaSeen, targetsSeen []string
			opts := LoadOptions{Overrides: tc.overrides}
			p := parts{
				criterion: func(spec CriterionSpec) error {
					criteriaSeen = append(criteriaSeen, spec.Name)
					return byName(tc.criterion)(spec.Name)
				},
				target: func(spec TargetSpec) error {
					targetsSeen = append(targetsSeen, spec.Name)
					return byName(tc.target)(spec.Name)
				},
			}
			_, dir, err := loadParts(t, map[string]string{
				"suite.json": suite,
				ConfigFile: `{
  "targets": {
    "a": {"provider": "replay", "path": "a.jsonl"}
  }
}`,
			}, opts, p)
			if err == nil {
				t.Fatal("Load succeeded, want problems")
			}
			got := problemLines(t, err, dir)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if want := []string{"c", "r"}; !reflect.DeepEqual(criteriaSeen, want) {
				t.Errorf("Criterion called for %q, want %q", criteriaSeen, want)
			}
			if want := []string{"a", "t"}; !reflect.DeepEqual(targetsSeen, want) {
				t.Errorf("Target called for %q, want %q", targetsSeen, want)
			}
		})
	}
}

func TestLoadHookNotCalledForDuplicates(t *testing.T) {
	suite := `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}]},
  "criteria": [{"name": "c", "type": "equals"}, {"name": "c", "type": "regex", "pattern": "x"}]
}`
	var seen []string
	_, _, err := loadParts(t, map[string]string{"suite.json": suite}, LoadOptions{}, parts{
		criterion: func(spec CriterionSpec) error {
			seen = append(seen, spec.Type)
			return nil
		},
	})
	if err == nil {
		t.Fatal("Load succeeded, want the duplicate reported")
	}
	if want := []string{"equals"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("Criterion called for %q, want %q", seen, want)
	}
}

func TestLoadSuite(t *testing.T) {
	const suite = `{
  "$schema": "../schema.json",
  "name": "triage",
  "description": "d",
  "version": "3",
  "messages": [
    {"role": "system", "content": "Be brief. \\{{ literal }}"},
    {"role": "user", "content": "{{ ticket }} ({{ expected.category | json }})"}
  ],
  "dataset": {"path": "data/tickets.jsonl"},
  "criteria": [
    {"name": "category", "type": "equals", "value": "{{ expected.category }}", "weight": 2, "threshold": 0.5},
    {"name": "valid", "type": "json-valid"}
  ],
  "targets": [
    "cfg",
    {"name": "inline", "provider": "openai", "base_url": "http://localhost:1/v1", "model": "small",
     "params": {"temperature": 0.5, "seed": 12345678901234567},
     "headers": {"X-Key": "k1", "X-Other": "o"}, "timeout": "2m30s"}
  ],
  "gate": ["pass_rate >= 90%", "criteria.category.mean >= 0.95", "error_rate <= 0"],
  "case_pass": "score",
  "pass_score": 0.75
}`
	const config = `{
  "$schema": "x",
  "targets": {
    "cfg": {"provider": "replay", "path": "rec/cfg.jsonl", "replay_as": "old"},
    "gpt": {"provider": "openai", "base_url": "https://api.example.com/v1", "model": "gpt",
            "api_key_env": "KEY", "params": {"temperature": 0, "max_tokens": 300, "stop": ["\n"]},
            "extra_body": {"top_k": 5}, "concurrency": 16}
  }
}`
	var criteriaSeen []CriterionSpec
	var targetsSeen []TargetSpec
	opts := LoadOptions{
		ConfigPath: "conf/" + ConfigFile,
		Targets:    []string{"cfg", "inline", "gpt"},
		Overrides: []string{
			"*.concurrency=4",
			"inline.params.temperature=0.25",
			"inline.headers.X-Key=k2",
			"gpt.params.max_tokens=50",
			"gpt.model=gpt-4o-mini",
			"cfg.replay_as=new",
		},
		Gates:          []string{"pass_rate > 0.8", "mean >= 0.5"},
		RequireTargets: true,
	}
	p := parts{
		criterion: func(spec CriterionSpec) error {
			criteriaSeen = append(criteriaSeen, spec)
			return nil
		},
		target: func(spec TargetSpec) error {
			spec.loc = nil // where it came from: tested with the problems
			targetsSeen = append(targetsSeen, spec)
			return nil
		},
	}
	s, dir, err := loadParts(t, map[string]string{
		"suite.json":              suite,
		"data/tickets.jsonl":      `{"ticket": "t"}` + "\n",
		"conf/" + ConfigFile:      config,
		filepath.Join(ConfigFile): `{"targets": {"other": {"provider": "replay", "path": "x"}}}`,
	}, opts, p)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for i := range s.ResolvedTargets {
		s.ResolvedTargets[i].loc = nil
	}

	if s.Path != filepath.Join(dir, "suite.json") || s.Dir != dir {
		t.Errorf("Path, Dir = %q, %q; want %q, %q", s.Path, s.Dir, filepath.Join(dir, "suite.json"), dir)
	}
	if s.Schema != "../schema.json" || s.Name != "triage" || s.Description != "d" || s.Version != "3" {
		t.Errorf("header fields = %q, %q, %q, %q", s.Schema, s.Name, s.Description, s.Version)
	}
	if s.CasePass != CasePassScore || s.PassScore == nil || *s.PassScore != 0.75 {
		t.Errorf("CasePass, PassScore = %q, %v", s.CasePass, s.PassScore)
	}
	wantDataset := DatasetSpec{Path: "data/tickets.jsonl", Format: FormatJSONL}
	if !reflect.DeepEqual(s.Dataset, wantDataset) {
		t.Errorf("Dataset = %#v, want %#v", s.Dataset, wantDataset)
	}
	if got, want := s.Resolve(s.Dataset.Path), filepath.Join(dir, "data", "tickets.jsonl"); got != want {
		t.Errorf("Resolve = %q, want %q", got, want)
	}
	if got := s.Resolve("/abs/x.jsonl"); got != "/abs/x.jsonl" {
		t.Errorf("Resolve(absolute) = %q", got)
	}

	// Templates: one per message, parsed.
	if len(s.Templates) != 2 {
		t.Fatalf("%d templates, want 2", len(s.Templates))
	}
	scope := CaseScope{Case: &Case{ID: "1", Vars: map[string]any{"ticket": "T"}, Expected: map[string]any{"category": "billing"}}}
	for i, want := range []string{"Be brief. {{ literal }}", `T ("billing")`} {
		got, err := s.Templates[i].Render(scope)
		if err != nil || got != want {
			t.Errorf("Templates[%d].Render = %q, %v; want %q", i, got, err, want)
		}
	}
	if got, want := s.Templates[1].Vars(), []string{"ticket", "expected"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Templates[1].Vars() = %q, want %q", got, want)
	}

	// Criteria: decoded, with their raw JSON and pointer, each checked once.
	if len(s.Criteria) != 2 {
		t.Fatalf("%d criteria, want 2", len(s.Criteria))
	}
	c0 := s.Criteria[0]
	if c0.Name != "category" || c0.Type != "equals" || c0.WeightOr() != 2 || c0.Threshold == nil || *c0.Threshold != 0.5 || c0.Pointer != "/criteria/0" {
		t.Errorf("Criteria[0] = %+v", c0)
	}
	if want := `{"name": "category", "type": "equals", "value": "{{ expected.category }}", "weight": 2, "threshold": 0.5}`; string(c0.Raw) != want {
		t.Errorf("Criteria[0].Raw = %s, want %s", c0.Raw, want)
	}
	c1 := s.Criteria[1]
	if c1.Name != "valid" || c1.WeightOr() != 1 || c1.Threshold != nil || c1.Pointer != "/criteria/1" {
		t.Errorf("Criteria[1] = %+v", c1)
	}
	if len(criteriaSeen) != 2 || criteriaSeen[0].Name != "category" || criteriaSeen[1].Name != "valid" {
		t.Errorf("Criterion hook saw %+v", criteriaSeen)
	}

	// Gates: the suite's, with --gate replacing pass_rate >= and adding mean.
	var gates []string
	for _, g := range s.Gates {
		gates = append(gates, fmt.Sprintf("%s|%s|%s|%v", g.Expr, g.Metric, g.Op, g.Value))
	}
	wantGates := []string{
		"pass_rate > 0.8|pass_rate|>|0.8",
		"criteria.category.mean >= 0.95|criteria.category.mean|>=|0.95",
		"error_rate <= 0|error_rate|<=|0",
		"mean >= 0.5|mean|>=|0.5",
	}
	if !reflect.DeepEqual(gates, wantGates) {
		t.Errorf("Gates =\n%s\nwant\n%s", strings.Join(gates, "\n"), strings.Join(wantGates, "\n"))
	}
	if want := []string{"pass_rate >= 90%", "criteria.category.mean >= 0.95", "error_rate <= 0"}; !reflect.DeepEqual(s.Gate, want) {
		t.Errorf("Gate = %q, want the suite's expressions %q", s.Gate, want)
	}

	// Targets: in --target order, overrides applied, names and sources set.
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	i64 := func(v int64) *int64 { return &v }
	confDir := filepath.Join(dir, "conf")
	want := []TargetSpec{
		{
			Name: "cfg", Provider: "replay", Concurrency: 4,
			Config: json.RawMessage(`{"concurrency":4,"path":"rec/cfg.jsonl","provider":"replay","replay_as":"new"}`),
			Dir:    confDir, Source: filepath.Join(confDir, ConfigFile),
		},
		{
			Name: "inline", Provider: "openai", Model: "small",
			Params:      &Params{Temperature: f(0.25), Seed: i64(12345678901234567)},
			Concurrency: 4, Timeout: Duration(150e9),
			Config: json.RawMessage(`{"base_url":"http://localhost:1/v1","concurrency":4,"headers":{"X-Key":"k2","X-Other":"o"},` +
				`"model":"small","params":{"seed":12345678901234567,"temperature":0.25},"provider":"openai","timeout":"2m30s"}`),
			Dir: dir, Source: filepath.Join(dir, "suite.json"),
		},
		{
			Name: "gpt", Provider: "openai", Model: "gpt-4o-mini",
			Params:      &Params{Temperature: f(0), MaxTokens: i(50), Stop: []byte(`["\n"]`)},
			Concurrency: 4,
			Config: json.RawMessage(`{"api_key_env":"KEY","base_url":"https://api.example.com/v1","concurrency":4,"extra_body":{"top_k":5},` +
				`"model":"gpt-4o-mini","params":{"max_tokens":50,"stop":["\n"],"temperature":0},"provider":"openai"}`),
			Dir: confDir, Source: filepath.Join(confDir, ConfigFile),
		},
	}
	if !reflect.DeepEqual(s.ResolvedTargets, want) {
		t.Errorf("ResolvedTargets =\n%s\nwant\n%s", dumpTargets(s.ResolvedTargets), dumpTargets(want))
	}
	if !reflect.DeepEqual(targetsSeen, want) {
		t.Errorf("Target hook saw\n%s\nwant\n%s", dumpTargets(targetsSeen), dumpTargets(want))
	}
	if got := s.ResolvedTargets[1].TimeoutOr().String(); got != "2m30s" {
		t.Errorf("TimeoutOr = %s, want 2m30s", got)
	}
	if got := s.ResolvedTargets[0].TimeoutOr(); got != DefaultTimeout {
		t.Errorf("TimeoutOr = %s, want the default %s", got, DefaultTimeout)
	}
}

func dumpTargets(ts []TargetSpec) string {
	var b strings.Builder
	for _, t := range ts {
		c := t.Config
		t.Config = nil
		fmt.Fprintf(&b, "%+v config %s", t, c)
		if t.Params != nil {
			p := t.Params
			fmt.Fprintf(&b, " params{temperature=%v top_p=%v max_tokens=%v seed=%v stop=%s}", deref(p.Temperature), deref(p.TopP), deref(p.MaxTokens), deref(p.Seed), p.Stop)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestLoadDefaults(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		opts     LoadOptions
		targets  []string // names of the resolved targets
		casePass string
		format   string
	}{
		{
			name:     "no targets and no config",
			files:    map[string]string{"suite.json": validSuite},
			casePass: CasePassAll,
		},
		{
			name:     "config next to the suite, suite's own list",
			files:    map[string]string{"suite.json": withTargets, ConfigFile: twoTargetsConfig},
			targets:  []string{"a"},
			casePass: CasePassAll,
		},
		{
			name:     "--target picks and orders",
			files:    map[string]string{"suite.json": withTargets, ConfigFile: twoTargetsConfig},
			opts:     LoadOptions{Targets: []string{"b", "a"}},
			targets:  []string{"b", "a"},
			casePass: CasePassAll,
		},
		{
			name: "dataset format from .ndjson, case_pass all kept",
			files: map[string]string{
				"suite.json": `{"name": "s", "messages": [{"role": "user", "content": "x"}],
 "dataset": {"path": "d.NDJSON"}, "criteria": [{"name": "c", "type": "json-valid"}], "case_pass": "all"}`,
				"d.NDJSON": "",
			},
			casePass: CasePassAll,
			format:   FormatJSONL,
		},
		{
			name: "explicit format wins over the extension",
			files: map[string]string{
				"suite.json": `{"name": "s", "messages": [{"role": "user", "content": "x"}],
 "dataset": {"path": "d.txt", "format": "csv"}, "criteria": [{"name": "c", "type": "json-valid"}]}`,
				"d.txt": "",
			},
			casePass: CasePassAll,
			format:   FormatCSV,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := loadIn(t, tc.files, tc.opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			var names []string
			for _, ts := range s.ResolvedTargets {
				names = append(names, ts.Name)
			}
			if !reflect.DeepEqual(names, tc.targets) {
				t.Errorf("targets = %q, want %q", names, tc.targets)
			}
			if s.CasePass != tc.casePass {
				t.Errorf("CasePass = %q, want %q", s.CasePass, tc.casePass)
			}
			if s.Dataset.Format != tc.format {
				t.Errorf("Dataset.Format = %q, want %q", s.Dataset.Format, tc.format)
			}
		})
	}
}

func TestLoadConfigFromCurrentFolder(t *testing.T) {
	// The suite lives in a sub-folder without a config; the current folder has one.
	dir := t.TempDir()
	t.Chdir(dir)
	writeFiles(t, dir, map[string]string{"suites/suite.json": withTargets, ConfigFile: twoTargetsConfig})
	s, err := Load(context.Background(), filepath.Join(dir, "suites", "suite.json"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ResolvedTargets) != 1 {
		t.Fatalf("ResolvedTargets = %+v", s.ResolvedTargets)
	}
	got := s.ResolvedTargets[0]
	if got.Name != "a" || got.Source != ConfigFile || got.Dir != "." {
		t.Errorf("target a: Name %q, Source %q, Dir %q; want a, %q, \".\"", got.Name, got.Source, got.Dir, ConfigFile)
	}
}

func TestLoadMissingSuite(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(context.Background(), filepath.Join(dir, "nope.json"), LoadOptions{})
	if got := problemLines(t, err, dir); !reflect.DeepEqual(got, []string{"nope.json: no such file"}) {
		t.Errorf("problems = %q", got)
	}
	_, err = Load(context.Background(), dir, LoadOptions{})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].File != dir || ps[0].Line != 0 || !strings.Contains(ps[0].Msg, "is a directory") {
		t.Errorf("Load(folder) = %v, want one problem saying it is a directory", err)
	}
}

func TestFormatOf(t *testing.T) {
	tests := []struct {
		path, format string
		ok           bool
	}{
		{"a.jsonl", FormatJSONL, true},
		{"a.ndjson", FormatJSONL, true},
		{"dir.v2/a.JSONL", FormatJSONL, true},
		{"a.csv", FormatCSV, true},
		{"a.Csv", FormatCSV, true},
		{"a.json", FormatJSON, true},
		{"a.txt", "", false},
		{"a", "", false},
		{"a.jsonl.gz", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			f, ok := FormatOf(tc.path)
			if f != tc.format || ok != tc.ok {
				t.Errorf("FormatOf(%q) = %q, %v; want %q, %v", tc.path, f, ok, tc.format, tc.ok)
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"everything", Problem{File: "s.json", Line: 3, Col: 7, Path: "$.name", Msg: "bad"}, "s.json:3:7: $.name: bad"},
		{"no path", Problem{File: "s.json", Line: 1, Col: 1, Msg: "bad"}, "s.json:1:1: bad"},
		{"no position", Problem{File: "--set", Msg: "bad"}, "--set: bad"},
		{"path without position", Problem{File: "s.json", Path: "$[2]", Msg: "bad"}, "s.json: $[2]: bad"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
	ps := Problems{tests[0].p, tests[2].p}
	if got, want := ps.Error(), "s.json:3:7: $.name: bad\n--set: bad"; got != want {
		t.Errorf("Problems.Error() = %q, want %q", got, want)
	}
	fe := FieldErrorf("extract.regex", "bad %s", "group")
	if got, want := fe.Error(), "extract.regex: bad group"; got != want {
		t.Errorf("FieldError.Error() = %q, want %q", got, want)
	}
	if errors.Unwrap(fe) == nil || errors.Unwrap(fe).Error() != "bad group" {
		t.Errorf("FieldError does not unwrap to its error")
	}
}

// TestLoadStopsWhenContextEnds: a load whose context ended returns the
// context's error, not the problems of the checks it cut short.
func TestLoadStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, "nope.json", LoadOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with its context ended = %v, want context.Canceled", err)
	}
}

// TestLoadByteOrderMark checks that a suite and a config may start with a
// UTF-8 byte order mark, as editors on Windows write them, and that
// positions count from after it, as editors show them.
func TestLoadByteOrderMark(t *testing.T) {
	t.Run("a suite and its config load", func(t *testing.T) {
		s, _, err := loadIn(t, map[string]string{"suite.json": bom + withTargets, ConfigFile: bom + twoTargetsConfig}, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.ResolvedTargets) != 1 || s.ResolvedTargets[0].Name != "a" {
			t.Errorf("ResolvedTargets = %+v", s.ResolvedTargets)
		}
	})
	suite := `{"name": "s", "nam": 1,
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"q": "hi"}], "form": "json"},
  "criteria": [{"name": "c", "type": "equals"}],
  "targets": ["a"]
}`
	config := `{"targets": {"a": {"provider": "replay", "path": "a.jsonl", "bogus": 1}}}`
	want := []string{
		`rubric.config.json:1:61: $.targets.a.bogus: unknown field "bogus"; expected one of: ` + fieldsTarget,
		`suite.json:1:15: $.nam: unknown field "nam"; did you mean "name"?`,
		`suite.json:3:39: $.dataset.form: unknown field "form"; did you mean "format"?`,
	}
	for _, b := range []string{"", bom} {
		t.Run(fmt.Sprintf("positions with byte order mark %q", b), func(t *testing.T) {
			_, dir, err := loadIn(t, map[string]string{"suite.json": b + suite, ConfigFile: b + config}, LoadOptions{})
			got := problemLines(t, err, dir)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestLoadNotAnObject checks that a suite that is not a JSON object gets that
// one problem, not also those of every check that finds nothing in it.
func TestLoadNotAnObject(t *testing.T) {
	for _, tc := range []struct{ doc, got string }{
		{`[1]`, "array"},
		{`["a", {"name": "s"}]`, "array"},
		{`"suite"`, "string"},
		{`3`, "integer"},
		{`null`, "null"},
		{`true`, "boolean"},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			opts := LoadOptions{
				RequireTargets: true,
				Gates:          []string{"pass_rate >= 1"},
			}
			p := parts{dataset: func(context.Context, *Suite) []Problem { return []Problem{{File: "dataset", Msg: "checked"}} }}
			_, dir, err := loadParts(t, map[string]string{"suite.json": tc.doc}, opts, p)
			got := problemLines(t, err, dir)
			want := []string{"suite.json:1:1: $: expected object, got " + tc.got}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
