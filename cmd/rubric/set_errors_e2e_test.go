package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// keySecret is a key typed on the command line by mistake.
const keySecret = "sk-e2e-typed-0123456789"

// TestSetErrorsRedactSecrets gives --set mistakes that hold secrets: each is
// reported, exit 2, with the secret replaced by [REDACTED].
func TestSetErrorsRedactSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	suite := writeOpenAISuite(t, dir, "http://127.0.0.1:9", 2, 1, "pass_rate >= 1")
	env := []string{"RUBRIC_E2E_KEY=" + e2eKey}
	for _, tc := range []struct {
		name string
		set  string
		want string
	}{
		{"key_for_variable_name", "local.api_key_env=" + keySecret,
			`--set: target "local" after --set local.api_key_env=[REDACTED]: $.api_key_env: got "[REDACTED]", expected a string matching ^[A-Za-z_][A-Za-z0-9_]*$`},
		{"key_alone", keySecret,
			`--set: --set "[REDACTED]": expected TARGET.FIELD=VALUE, as in candidate.model=gpt-4o-mini or '*.params.temperature=0'`},
		{"no_target_name", "Authorization=Bearer " + keySecret,
			`--set: --set "Authorization=[REDACTED]": expected TARGET.FIELD=VALUE, as in candidate.model=gpt-4o-mini or '*.params.temperature=0'`},
		{"unknown_target", "remote.headers.X-Api-Key=" + keySecret,
			`--set: --set "remote.headers.X-Api-Key=[REDACTED]": no target "remote" is being run (running: local)`},
		{"header_line_break", "local.headers.X-Api-Key=" + keySecret + "\nX-Other: 1",
			`--set: target "local" after --set local.headers.X-Api-Key=[REDACTED]: headers.X-Api-Key: value holds a line break or control character`},
		{"header_not_a_string", `local.headers={"X-Api-Key": ["` + keySecret + `"]}`,
			`--set: target "local" after --set local.headers={"X-Api-Key":"[REDACTED]"}: $.headers.X-Api-Key: expected string, got array`},
		{"url_scheme", "local.base_url=ftp://" + keySecret + "@host/v1",
			`--set: target "local" after --set local.base_url=ftp://[REDACTED]@host/v1: base_url: "ftp://xxxxx@host/v1" is not an http or https URL such as http://localhost:8000/v1`},
		{"extra_body_secret", "local.extra_body.access_token=" + keySecret,
			""}, // valid: checked below not to be shown
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rubric(t, dir, env, "validate", suite, "--set", tc.set)
			if strings.Contains(r.stdout+r.stderr, keySecret) {
				t.Errorf("the secret appears in the output\n%s", r)
			}
			if tc.want == "" {
				if r.code != exitOK {
					t.Errorf("want exit 0\n%s", r)
				}
				return
			}
			if want := tc.want + "\nrubric: 1 problem\n"; r.code != exitBadInput || r.stderr != want {
				t.Errorf("want exit 2 and stderr\n%sgot %s", want, r)
			}
		})
	}
}

// TestSetValuesWithCommas checks that a --set value holding commas (a JSON
// array or object) reaches the target whole: the CLI library splits slice
// flags on commas unless told not to, which broke the documented
// --set 'NAME.params.stop=[".", "!"]' into two arguments.
func TestSetValuesWithCommas(t *testing.T) {
	t.Parallel()
	srv := newChatServer(t, rightAnswers)
	dir := t.TempDir()
	suite := writeOpenAISuite(t, dir, srv.URL, 2, 1, "pass_rate >= 1")
	r := rubric(t, dir, []string{"RUBRIC_E2E_KEY=" + e2eKey}, "run", suite, "--out", "runs", "--no-cache",
		"--set", `local.params.stop=[".", "!"]`, "--set", `local.extra_body.meta={"a": 1, "b": 2}`,
		"--gate", "pass_rate >= 0.5")
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("the server got %d requests, want 2", len(reqs))
	}
	for _, q := range reqs {
		stop, _ := json.Marshal(q.body["stop"])
		meta, _ := json.Marshal(q.body["meta"])
		if string(stop) != `[".","!"]` || string(meta) != `{"a":1,"b":2}` {
			t.Errorf("request sent stop %s and meta %s, want [\".\",\"!\"] and {\"a\":1,\"b\":2}", stop, meta)
		}
	}
}
