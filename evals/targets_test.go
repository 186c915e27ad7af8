package evals

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestTargetResolver resolves the targets criteria call (judges) by name from
// the project config or the suite's inline targets, or inline in the
// criterion, with errors located in the file that is wrong.
func TestTargetResolver(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		ConfigFile: `{"targets": {
  "judge": {"provider": "openai", "base_url": "http://127.0.0.1:1/v1", "model": "judge-model"}
}}`,
	})
	suitePath := filepath.Join(dir, "suite.json")
	src := &source{file: suitePath}
	var err error
	suiteJSON := []byte(`{"criteria": [{"name": "c", "type": "x", "judge": {"provider": "openai", "model": "inline-model"}}]}`)
	if src.pos, _, err = parseJSON(suiteJSON, true); err != nil {
		t.Fatal(err)
	}
	src.data = suiteJSON
	s := &Suite{Dir: dir}
	defs, probs, ok := projectTargets(s, LoadOptions{})
	if !ok || len(probs) > 0 {
		t.Fatalf("projectTargets: ok=%v problems %v", ok, probs)
	}
	refs := []json.RawMessage{json.RawMessage(`{"name": "local", "provider": "openai", "model": "suite-model"}`)}
	r := &resolver{src: src, refs: refs, defs: defs, opts: LoadOptions{}}
	resolve := func(field string, ref json.RawMessage) (*TargetSpec, error) {
		return r.target("/criteria/0", field, ref)
	}

	tests := []struct {
		name, field, ref string
		model            string // the resolved target's model
		err              string // or a substring of the error
	}{
		{"config name", "judge", `"judge"`, "judge-model", ""},
		{"suite inline target by name", "judge", `"local"`, "suite-model", ""},
		{"inline", "judge", `{"provider": "openai", "model": "inline-model"}`, "inline-model", ""},
		{"unknown name", "judges.1", `"nope"`, "", `judges.1: unknown target "nope": expected one of judge, local`},
		{"not a name or object", "judge", `3`, "", "judge: expected the name of a target or an inline target object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := resolve(tc.field, json.RawMessage(tc.ref))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if spec.Model != tc.model {
				t.Errorf("model = %q, want %q", spec.Model, tc.model)
			}
		})
	}

	// An unknown name is a FieldError, so the loader points at the field.
	_, err = resolve("judge", json.RawMessage(`"nope"`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "judge" {
		t.Errorf("err = %#v, want a FieldError on judge", err)
	}
}
