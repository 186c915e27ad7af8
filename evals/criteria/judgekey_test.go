package criteria_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// TestJudgeKey checks what a judge's key, which names its agreement with
// people, depends on: its targets' provider, model and params, its rubric,
// choices, threshold and output; not its name, weight or the target's URL,
// and never a secret.
func TestJudgeKey(t *testing.T) {
	srv := newJudgeServer(t, says("ok\nVERDICT: Y"))
	servers := map[string]*judgeServer{"gpt": srv, "other": srv, "warm": srv}
	env := judgeEnv(t, servers, map[string]*evals.Params{"warm": {Temperature: ptrTo(0.7)}})
	key := func(spec string) (string, string, string) {
		t.Helper()
		return build(t, spec, env).(evals.JudgeKeyer).JudgeKey().Hashes()
	}
	base := `{"name":"c","type":"judge","judge":"gpt","rubric":"Is it right? {{ output }}"}`
	k0, t0, r0 := key(base)
	for _, tc := range []struct {
		name                 string
		spec                 string
		key, targets, rubric bool // which change
	}{
		{"same", base, false, false, false},
		{"another name and weight", strings.Replace(base, `"name":"c"`, `"name":"d","weight":3,"description":"x"`, 1), false, false, false},
		{"the rubric edited", strings.Replace(base, "Is it right?", "Is it correct?", 1), true, false, true},
		{"a threshold", strings.Replace(base, `"type"`, `"threshold":0.5,"type"`, 1), true, false, true},
		{"choices", strings.Replace(base, `"type"`, `"choices":{"yes":1,"no":0},"type"`, 1), true, false, true},
		{"another model", strings.Replace(base, `"gpt"`, `"other"`, 1), true, true, false},
		{"the target's params", strings.Replace(base, `"gpt"`, `"warm"`, 1), true, true, false},
		{"two judges", strings.Replace(base, `"judge":"gpt"`, `"judges":["gpt","warm"]`, 1), true, true, false},
		// What of the response the judge is shown.
		{"an extract", strings.Replace(base, `"type"`, `"extract":{"last_line":true},"type"`, 1), true, false, true},
		{"a normalize", strings.Replace(base, `"type"`, `"normalize":["lowercase"],"type"`, 1), true, false, true},
		{"a turn", strings.Replace(base, `"type"`, `"turn":"each","type"`, 1), true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, tg, r := key(tc.spec)
			if (k != k0) != tc.key || (tg != t0) != tc.targets || (r != r0) != tc.rubric {
				t.Errorf("changed: key %v, targets %v, rubric %v; want %v, %v, %v", k != k0, tg != t0, r != r0, tc.key, tc.targets, tc.rubric)
			}
		})
	}

	// A built-in template's key holds its text with the requirement.
	tpl := build(t, `{"name":"c","type":"judge","judge":"gpt","template":"closed-qa","requirement":"Names Paris"}`, env).(evals.JudgeKeyer).JudgeKey()
	if !strings.Contains(tpl.Rubric, "Names Paris") || len(tpl.Choices) == 0 {
		t.Errorf("template key %+v", tpl)
	}

	// An inline target with an API key and headers: neither is in the key.
	t.Setenv("SECRET_KEY_ENV", "sk-very-secret")
	inline := `{"name":"c","type":"judge","judge":{"provider":"openai","base_url":"` + srv.URL + `/v1","model":"m","api_key_env":"SECRET_KEY_ENV","headers":{"X-Token":"hunter2"}},"rubric":"{{ output }}"}`
	k := build(t, inline, env).(evals.JudgeKeyer).JudgeKey()
	b, _ := json.Marshal(k)
	if strings.Contains(string(b), "secret") || strings.Contains(string(b), "hunter2") {
		t.Errorf("a secret in the key: %s", b)
	}
	if want := `{"targets":[{"provider":"openai","model":"m"}],"rubric":"{{ output }}","choices":[{"name":"Y","score":1},{"name":"N","score":0}],"threshold":1}`; string(b) != want {
		t.Errorf("key %s\nwant %s", b, want)
	}
	// The canonical form is pinned: a change to it would make every
	// agreement recorded stale.
	if h, _, _ := k.Hashes(); h != pinnedKey {
		t.Errorf("hash %s, want %s", h, pinnedKey)
	}
}

// pinnedKey is the SHA-256 of the key's canonical JSON, as Python computes it:
// hashlib.sha256(json.dumps(k, sort_keys=True, separators=(",", ":"),
// ensure_ascii=False).encode()).hexdigest().
const pinnedKey = "1b04a8f195468a3c0d5b2b5c86456bf4f561f1b265f5efcb9a4bb598b64eb855"
