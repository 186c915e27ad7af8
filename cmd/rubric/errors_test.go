package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The inputs of the malformed-input table: a valid suite, dataset and
// recordings, which each case below breaks in one place (or several).
const (
	okSuite = `{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}],
  "gate": ["pass_rate >= 0.5"]
}
`
	okCases = `{"id": "a", "vars": {"q": "one?"}, "expected": "yes"}
{"id": "b", "vars": {"q": "two?"}, "expected": "no"}
`
	okRecordings = `{"case_id": "a", "output": "yes"}
{"case_id": "b", "output": "no"}
`
	// okConfig defines shared targets for the cases that use a project config.
	okConfig = `{
  "targets": {
    "rec": {"provider": "replay", "path": "rec.jsonl"},
    "local": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
  }
}
`
	// unsetKeyEnv is an environment variable no one sets.
	unsetKeyEnv = "RUBRIC_TEST_KEY_THAT_IS_NEVER_SET"
)

// withSuite returns the valid inputs with the suite replaced.
func withSuite(suite string) map[string]string {
	return map[string]string{"suite.json": suite, "cases.jsonl": okCases, "rec.jsonl": okRecordings}
}

// with returns the valid inputs with some files replaced or added.
func with(files map[string]string) map[string]string {
	out := withSuite(okSuite)
	maps.Copy(out, files)
	return out
}

// A suite that uses the config's targets rather than inline ones.
const configSuite = `{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": ["rec"]
}
`

type errCase struct {
	name  string
	files map[string]string // written under $DIR; "$DIR" in contents is replaced
	args  []string          // after "rubric"; "$DIR" is replaced
	env   map[string]string
	// stdout is a line stdout must contain; empty means stdout must be empty.
	stdout string
}

func errCases() []errCase {
	run := []string{"run", "--out", "$DIR/out", "$DIR/suite.json"}
	validate := []string{"validate", "$DIR/suite.json"}
	return []errCase{
		{
			name:  "suite_invalid_json",
			files: withSuite("{\n  \"name\": \"t\",\n  \"messages\": [\n    {\"role\": \"user\" \"content\": \"hi\"}\n  ]\n}\n"),
			args:  run,
		},
		{
			name:  "suite_truncated",
			files: withSuite("{\n  \"name\": \"t\",\n  \"messages\": [\n"),
			args:  run,
		},
		{
			name:  "suite_missing",
			files: withSuite(okSuite),
			args:  []string{"run", "--out", "$DIR/out", "$DIR/nope.json"},
		},
		{
			name: "suite_unknown_field",
			files: withSuite(`{
  "name": "t",
  "descripton": "a typo",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "suite_missing_required",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "suite_wrong_type",
			files: withSuite(`{
  "name": "t",
  "messages": "Q: {{ q }}",
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals", "weight": "2"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "message_bad_role",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "human", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "template_syntax",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q "}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "criterion_unknown_type",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "regx"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "criterion_bad_regex",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [
    {"name": "exact", "type": "equals"},
    {"name": "shape", "type": "regex", "pattern": "^(yes|no$"}
  ],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			// Errors inside nested criteria point at the nested field, three
			// levels down, and every one is reported.
			name: "criterion_nested_deep",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [
    {"name": "gate", "type": "all", "criteria": [
      {"type": "equals"},
      {"type": "not", "criterion": {"type": "json-field", "path": "answer",
        "criterion": {"type": "regex", "pattern": "^(yes|no$"}}},
      {"type": "any", "criteria": [{"type": "length", "min_words": 9, "max_words": 3}]},
      {"type": "equals", "weight": 2}
    ]}
  ],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: validate,
		},
		{
			// The schema checks nested criteria too, and names their fields.
			name: "criterion_nested_unknown_field",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [
    {"name": "intent", "type": "json-field", "path": "intent",
     "criterion": {"type": "equals", "valeu": "{{ expected }}"}}
  ],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: validate,
		},
		{
			name: "criterion_json_schema_missing_file",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [
    {"name": "shape", "type": "json-schema", "schema_file": "answer.schema.json"}
  ],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			// Each problem of a judge is located: the inline target's own
			// field, the unknown target's name, the rubric.
			name: "criterion_judge_problems",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [
    {"name": "inline", "type": "judge", "rubric": "{{ output }}",
     "judge": {"provider": "openai", "base_url": "http://127.0.0.1:1/v1", "timeout": "soon"}},
    {"name": "named", "type": "judge", "judges": ["rec", "nope"], "rubric": "{{ output }}"},
    {"name": "blind", "type": "judge", "judge": "rec", "rubric": "Is {{ input }} answered?"},
    {"name": "close", "type": "embedding", "target": "rec", "threshold": 0.8}
  ],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: validate,
		},
		{
			name: "criterion_json_schema_without_schema",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "shape", "type": "json-schema"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "criterion_field_of_other_type",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals", "pattern": "yes"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "criterion_bad_normalize",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals", "normalize": ["trim", "uppercase"]}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "criterion_duplicate_name",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [
    {"name": "exact", "type": "equals"},
    {"name": "exact", "type": "contains"}
  ],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "case_pass_score_without_pass_score",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}],
  "case_pass": "score"
}
`),
			args: run,
		},
		{
			name: "dataset_missing",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "data/cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "dataset_unknown_extension",
			files: with(map[string]string{"cases.txt": okCases, "suite.json": `{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.txt"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`}),
			args: run,
		},
		{
			name: "dataset_path_and_cases",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl", "cases": [{"id": "a", "q": "one?"}]},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "dataset_jsonl_bad_line",
			files: with(map[string]string{"cases.jsonl": `{"id": "a", "vars": {"q": "one?"}, "expected": "yes"}
{"id": "b", "vars": {"q": "two?"} "expected": "no"}
{"id": "c", "vars": {"q": "three?"}, "expected": "no"}
`}),
			args: run,
		},
		{
			name: "dataset_jsonl_not_object",
			files: with(map[string]string{"cases.jsonl": `{"id": "a", "vars": {"q": "one?"}, "expected": "yes"}
["b", "two?"]
`}),
			args: run,
		},
		{
			name: "dataset_csv_wrong_columns",
			files: with(map[string]string{
				"cases.csv": "id,q,expected\na,one?,yes\nb,two?\nc,three?,no\nd,fo\"ur?,no\ne,five?,no,more\n",
				"suite.json": `{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.csv"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`}),
			args: run,
		},
		{
			name: "dataset_json_array_bad",
			files: with(map[string]string{
				"cases.json": "[\n  {\"id\": \"a\", \"q\": \"one?\", \"expected\": \"yes\"},\n  \"b\",\n  {\"id\": \"c\", \"q\": \"two?\" \"expected\": \"no\"}\n]\n",
				"suite.json": `{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.json"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}]
}
`}),
			args: run,
		},
		{
			name:  "suite_not_object",
			files: withSuite(`[{"name": "t"}]` + "\n"),
			args:  run,
		},
		{
			name: "suite_invalid_utf8",
			files: withSuite("{\n  \"name\": \"t\",\n  \"messages\": [{\"role\": \"user\", \"content\": \"Caf\xe9: {{ q }}\"}],\n" +
				"  \"dataset\": {\"path\": \"cases.jsonl\"},\n  \"criteria\": [{\"name\": \"exact\", \"type\": \"equals\"}],\n" +
				"  \"targets\": [{\"name\": \"rec\", \"provider\": \"replay\", \"path\": \"rec.jsonl\"}]\n}\n"),
			args: run,
		},
		{
			name: "dataset_invalid_utf8",
			files: with(map[string]string{
				"cases.jsonl": "{\"id\": \"a\", \"vars\": {\"q\": \"one?\"}, \"expected\": \"yes\"}\n{\"id\": \"b\", \"vars\": {\"q\": \"caf\xe9?\"}, \"expected\": \"no\"}\n",
			}),
			args: run,
		},
		{
			name: "dataset_csv_invalid_utf8",
			files: with(map[string]string{
				"cases.csv":  "id,q,expected\na,one?,yes\nb,caf\xe9?,no\n",
				"suite.json": strings.Replace(okSuite, "cases.jsonl", "cases.csv", 1),
			}),
			args: run,
		},
		{
			name: "dataset_json_invalid_utf8",
			files: with(map[string]string{
				"cases.json": "\ufeff[\n  {\"id\": \"a\", \"q\": \"one?\", \"expected\": \"yes\"},\n  {\"id\": \"b\", \"q\": \"caf\xe9?\", \"expected\": \"no\"}\n]\n",
				"suite.json": strings.Replace(okSuite, "cases.jsonl", "cases.json", 1),
			}),
			args: run,
		},
		{
			name: "dataset_duplicate_ids",
			files: with(map[string]string{"cases.jsonl": `{"id": "a", "vars": {"q": "one?"}, "expected": "yes"}
{"id": "b", "vars": {"q": "two?"}, "expected": "no"}
{"id": "a", "vars": {"q": "three?"}, "expected": "no"}
`}),
			args: run,
		},
		{
			name: "dataset_template_variable_missing",
			files: with(map[string]string{"cases.jsonl": `{"id": "a", "vars": {"q": "one?"}, "expected": "yes"}
{"id": "b", "vars": {"question": "two?"}, "expected": "no"}
`}),
			args: run,
		},
		{
			name: "gate_bad_expression",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}],
  "gate": ["pass_rate >= 0.5", "pass_rate => 90%", "pass_rte >= 0.9"]
}
`),
			args: run,
		},
		{
			name: "gate_unknown_criterion",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl"}],
  "gate": ["criteria.tone.mean >= 0.5"]
}
`),
			args: run,
		},
		{
			name:  "gate_flag_bad",
			files: withSuite(okSuite),
			args:  []string{"run", "--out", "$DIR/out", "--gate", "pass_rate = 1", "$DIR/suite.json"},
		},
		{
			name: "target_unknown_name",
			files: with(map[string]string{"rubric.config.json": okConfig, "suite.json": `{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": ["rec", "recorded"]
}
`}),
			args: run,
		},
		{
			name:  "target_flag_unknown",
			files: with(map[string]string{"rubric.config.json": okConfig, "suite.json": configSuite}),
			args:  []string{"run", "--out", "$DIR/out", "--target", "candidate", "$DIR/suite.json"},
		},
		{
			name: "target_none",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}]
}
`),
			args: run,
		},
		{
			name: "target_inline_without_name",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"provider": "replay", "path": "rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name:  "set_malformed",
			files: with(map[string]string{"rubric.config.json": okConfig, "suite.json": configSuite}),
			args:  []string{"run", "--out", "$DIR/out", "--set", "concurrency=2", "$DIR/suite.json"},
		},
		{
			name:  "set_invalid_value",
			files: with(map[string]string{"rubric.config.json": okConfig, "suite.json": configSuite}),
			args:  []string{"run", "--out", "$DIR/out", "--set", "*.concurrency=0", "$DIR/suite.json"},
		},
		{
			name:  "set_field_of_other_provider",
			files: with(map[string]string{"rubric.config.json": okConfig, "suite.json": configSuite}),
			args:  []string{"run", "--out", "$DIR/out", "--set", "rec.model=gpt-4o", "$DIR/suite.json"},
		},
		{
			name:  "set_target_not_run",
			files: with(map[string]string{"rubric.config.json": okConfig, "suite.json": configSuite}),
			args:  []string{"run", "--out", "$DIR/out", "--set", "local.model=m2", "$DIR/suite.json"},
		},
		{
			name: "config_invalid_json",
			files: with(map[string]string{
				"suite.json":         configSuite,
				"rubric.config.json": "{\n  \"targets\": {\n    \"rec\": {\"provider\": \"replay\", \"path\": \"rec.jsonl\",}\n  }\n}\n",
			}),
			args: run,
		},
		{
			name: "config_invalid_utf8",
			files: with(map[string]string{
				"suite.json":         configSuite,
				"rubric.config.json": "\ufeff{\n  \"targets\": {\n    \"rec\": {\"provider\": \"replay\", \"path\": \"rec\xff.jsonl\"}\n  }\n}\n",
			}),
			args: run,
		},
		{
			name: "config_unknown_field",
			files: with(map[string]string{
				"suite.json": configSuite,
				"rubric.config.json": `{
  "targets": {
    "rec": {"provider": "replay", "path": "rec.jsonl"},
    "local": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "modle": "m"}
  }
}
`,
			}),
			args: run,
		},
		{
			name:  "config_flag_missing_file",
			files: withSuite(configSuite),
			args:  []string{"run", "--out", "$DIR/out", "--config", "$DIR/nope.config.json", "$DIR/suite.json"},
		},
		{
			name: "openai_missing_model",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "local", "provider": "openai", "base_url": "http://127.0.0.1:9/v1"}]
}
`),
			args: run,
		},
		{
			name: "openai_api_key_env_unset",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "gpt", "provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key_env": "` + unsetKeyEnv + `"}]
}
`),
			args: run,
		},
		{
			// The key holds a control character; the message names the
			// variable and never shows its value.
			name: "openai_api_key_env_control_character",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "gpt", "provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key_env": "RUBRIC_TEST_BAD_KEY"}]
}
`),
			env:  map[string]string{"RUBRIC_TEST_BAD_KEY": "sk-secret-1234\x01"},
			args: run,
		},
		{
			name: "openai_bad_timeout_and_params",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "local", "provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m",
    "timeout": "30 seconds", "params": {"temperature": 3, "top_k": 5}}]
}
`),
			args: run,
		},
		{
			name: "replay_missing_file",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "recordings/rec.jsonl"}]
}
`),
			args: run,
		},
		{
			name: "replay_malformed_line",
			files: with(map[string]string{"rec.jsonl": `{"case_id": "a", "output": "yes"}
{"case_id": "b", "output": no}
`}),
			args: run,
		},
		{
			name: "replay_field_of_other_provider",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "rec", "provider": "replay", "path": "rec.jsonl", "model": "m"}]
}
`),
			args: run,
		},
		{
			// A provider's own field on another provider's target names
			// the provider it belongs to.
			name: "openai_field_of_exec",
			files: withSuite(`{
  "name": "t",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "exact", "type": "equals"}],
  "targets": [{"name": "m", "provider": "openai", "base_url": "http://127.0.0.1:1/v1", "model": "m", "command": ["./model"]}]
}
`),
			args: run,
		},
		{
			// Problems from every stage, reported together, in file order.
			name: "several_problems",
			files: withSuite(`{
  "name": "",
  "messages": [{"role": "user", "content": "Q: {{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [
    {"name": "exact", "type": "equals", "normalize": ["upper"]},
    {"name": "shape", "type": "regex", "pattern": "(a"},
    {"name": "shape2", "type": "regex", "pattern": "a", "mode": "all"}
  ],
  "targets": [{"name": "local", "provider": "openai", "model": "m"}],
  "gate": ["pass_rate >= 2x", "criteria.nope.mean >= 0.5"]
}
`),
			args: run,
		},
		{
			// The suite's problems and its dataset's come back in one pass.
			name: "suite_and_dataset_problems",
			files: map[string]string{
				"suite.json":  strings.Replace(okSuite, `{"name": "exact", "type": "equals"}`, `{"name": "exact", "type": "regx"}`, 1),
				"cases.jsonl": "{\"id\": \"a\", \"vars\": {\"q\": \"x\"}, \"expected\": \"x\"}\n{\"id\": \"b\", \"vars\": {\"qq\": \"y\"}}\n{\"id\": \"a\", \"vars\": {\"q\": \"z\"}}\n",
				"rec.jsonl":   okRecordings,
			},
			args: validate,
		},
		{
			// validate reports the same problems as run.
			name:  "validate_bad_regex",
			files: withSuite(strings.Replace(okSuite, `{"name": "exact", "type": "equals"}`, `{"name": "exact", "type": "regex", "pattern": "[a-"}`, 1)),
			args:  validate,
		},
		{
			// Every suite is checked, and all their problems are reported.
			name: "two_suites_both_broken",
			files: with(map[string]string{
				"other.json": strings.Replace(okSuite, `"pass_rate >= 0.5"`, `"pass_rat >= 0.5"`, 1),
				"suite.json": strings.Replace(okSuite, `"rec.jsonl"`, `"missing.jsonl"`, 1),
			}),
			args: []string{"run", "--out", "$DIR/out", "$DIR/suite.json", "$DIR/other.json"},
		},
		{
			// Their JUnit test suites would both be t/rec.
			name:  "run_two_suites_same_name",
			files: with(map[string]string{"other.json": strings.Replace(okSuite, `"name": "t",`, `"description": "a copy", "name": "t",`, 1)}),
			args:  []string{"run", "--out", "$DIR/out", "$DIR/suite.json", "$DIR/other.json", "$DIR/suite.json"},
		},
		{
			name:  "run_same_suite_twice",
			files: withSuite(okSuite),
			args:  []string{"run", "--out", "$DIR/out", "$DIR/suite.json", "$DIR/./suite.json"},
		},
		{
			name: "run_no_args",
			args: []string{"run"},
		},
		{
			name: "validate_no_args",
			args: []string{"validate"},
		},
		{
			name:  "run_unknown_flag",
			files: withSuite(okSuite),
			args:  []string{"run", "--out", "$DIR/out", "--bogus", "$DIR/suite.json"},
		},
		{
			name:  "run_negative_limit",
			files: withSuite(okSuite),
			args:  []string{"run", "--out", "$DIR/out", "--limit", "-1", "$DIR/suite.json"},
		},
		{
			name:  "run_bad_grace",
			files: withSuite(okSuite),
			args:  []string{"run", "--out", "$DIR/out", "--grace", "soon", "$DIR/suite.json"},
		},
		{
			name: "unknown_command",
			args: []string{"frobnicate", "suite.json"},
		},
		{
			name: "schema_with_argument",
			args: []string{"schema", "suite.json"},
		},
		{
			name: "init_two_folders",
			args: []string{"init", "$DIR/a", "$DIR/b"},
		},
	}
}

// TestMalformedInput runs every malformed input in-process and checks the exit
// code (2) and the exact message, against testdata/errors/NAME.golden.
func TestMalformedInput(t *testing.T) {
	if _, set := os.LookupEnv(unsetKeyEnv); set {
		t.Fatalf("%s must not be set", unsetKeyEnv)
	}
	seen := map[string]bool{}
	for _, tc := range errCases() {
		t.Run(tc.name, func(t *testing.T) {
			if seen[tc.name] {
				t.Fatalf("two cases named %s", tc.name)
			}
			seen[tc.name] = true
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			code, stdout, stderr := runInProcess(t, expand(tc.args, dir)...)
			if code != exitBadInput {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, exitBadInput, stderr)
			}
			if tc.stdout == "" && stdout != "" {
				t.Errorf("stdout should be empty, got:\n%s", stdout)
			}
			if tc.stdout != "" && !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout does not contain %q:\n%s", tc.stdout, stdout)
			}
			for _, v := range tc.env {
				if strings.Contains(stderr, strings.TrimSpace(v)[:8]) {
					t.Errorf("stderr shows the value of an environment variable:\n%s", stderr)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
				t.Errorf("a run folder was created for invalid input")
			}
			golden(t, filepath.Join("errors", tc.name+".golden"), strings.ReplaceAll(stderr, dir, "$DIR"))
		})
	}
}

// TestMalformedInputBaseIsValid checks that the inputs the table breaks are
// valid as they are, so each golden message is about the one change.
func TestMalformedInputBaseIsValid(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, withSuite(okSuite))
	writeFiles(t, filepath.Join(dir, "cfg"), with(map[string]string{"rubric.config.json": okConfig, "suite.json": configSuite}))
	code, stdout, stderr := runInProcess(t, "validate", filepath.Join(dir, "suite.json"), filepath.Join(dir, "cfg", "suite.json"))
	want := "ok  $DIR/suite.json: 2 cases, 1 criterion, 1 target\nok  $DIR/cfg/suite.json: 2 cases, 1 criterion, 1 target\n"
	if got := strings.ReplaceAll(stdout, dir, "$DIR"); code != exitOK || got != want || stderr != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, got, want, stderr)
	}
}

// TestGoldenFilesAreUsed fails on a golden file no case writes, so renamed
// cases leave nothing stale behind.
func TestGoldenFilesAreUsed(t *testing.T) {
	names := map[string]bool{}
	for _, tc := range errCases() {
		names[tc.name+".golden"] = true
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "errors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !names[e.Name()] {
			t.Errorf("testdata/errors/%s belongs to no case", e.Name())
		}
	}
}
