package mock

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

func TestSubset(t *testing.T) {
	got := map[string]any{"id": "A1", "n": 2.0, "opts": map[string]any{"fast": true, "via": "air"}, "list": []any{1.0, 2.0}}
	for _, tc := range []struct {
		want string
		ok   bool
	}{
		{`{}`, true},
		{`{"id": "A1"}`, true},
		{`{"id": "a1"}`, false},
		{`{"n": 2}`, true},
		{`{"n": 2.5}`, false},
		{`{"opts": {"fast": true}}`, true},
		{`{"opts": {"fast": false}}`, false},
		{`{"opts": "fast"}`, false},
		{`{"list": [1, 2]}`, true},
		{`{"list": [1]}`, false},
		{`{"missing": null}`, false},
	} {
		var want map[string]any
		if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
			t.Fatal(err)
		}
		if Subset(want, got) != tc.ok {
			t.Errorf("Subset(%s) = %v, want %v", tc.want, !tc.ok, tc.ok)
		}
	}
	if Subset(map[string]any{"a": 1.0}, nil) {
		t.Error("arguments that are no object match a rule with keys")
	}
}

func TestAnswerResults(t *testing.T) {
	tools := []evals.Tool{{Type: "function", Function: evals.ToolFunction{Name: "f"}, Mock: &evals.ToolMock{
		Rules:  []evals.MockRule{{When: map[string]any{"k": "text"}, Result: json.RawMessage(`"plain <text> & more"`)}},
		Result: json.RawMessage(`{ "a" : [1, 2] }`),
	}}}
	a := &Answerer{}
	c := &evals.Case{ID: "c"}
	if got := a.Answer(context.Background(), tools, c, evals.NewToolCall("1", "f", `{"k":"text"}`)); got.Content != "plain <text> & more" || got.Error != "" {
		t.Errorf("a string result: %+v, want the string as it is", got)
	}
	if got := a.Answer(context.Background(), tools, c, evals.NewToolCall("1", "f", `{}`)); got.Content != `{"a":[1,2]}` {
		t.Errorf("an object result: %+v, want its compact JSON", got)
	}
	noMock := []evals.Tool{{Type: "function", Function: evals.ToolFunction{Name: "f"}}}
	if got := a.Answer(context.Background(), noMock, c, evals.NewToolCall("1", "f", `{}`)); !strings.Contains(got.Error, `no mock answers f in case "c"`) || !strings.HasPrefix(got.Content, "Error: ") {
		t.Errorf("no mock: %+v", got)
	}
}

func TestExecMock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the mocks are shell scripts")
	}
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("env.sh", "cat >/dev/null; echo \"key=${SERVICE_API_KEY:-unset} model=${MODEL_KEY_VAR:-unset} plain=${PLAIN:-unset}\"\n")
	write("echo.sh", "cat\n")
	write("slow.sh", "sleep 5\n")
	a := &Answerer{Dir: dir, Environ: []string{"SERVICE_API_KEY=s3cret", "MODEL_KEY_VAR=k", "PLAIN=p", "PATH=" + os.Getenv("PATH")}, SecretEnv: []string{"MODEL_KEY_VAR"}}
	tool := func(exec string, timeout evals.Duration) []evals.Tool {
		return []evals.Tool{{Type: "function", Function: evals.ToolFunction{Name: "f"}, Mock: &evals.ToolMock{Exec: json.RawMessage(exec), Timeout: timeout}}}
	}
	c := &evals.Case{ID: "c9", Vars: map[string]any{"user": "ada"}}
	got := a.Answer(context.Background(), tool(`["./env.sh"]`, 0), c, evals.NewToolCall("1", "f", `{}`))
	if got.Content != "key=unset model=unset plain=p" {
		t.Errorf("environment: %q: credentials must not reach a mock", got.Content)
	}
	got = a.Answer(context.Background(), tool(`["./echo.sh"]`, 0), c, evals.NewToolCall("id7", "f", `{"x": 1}`))
	var in struct {
		ID, Name  string
		Arguments map[string]any
		Case      struct {
			ID   string
			Vars map[string]any
		}
	}
	if err := json.Unmarshal([]byte(got.Content), &in); err != nil || in.ID != "id7" || in.Name != "f" || in.Arguments["x"] != 1.0 || in.Case.ID != "c9" || in.Case.Vars["user"] != "ada" {
		t.Errorf("stdin %q (%v)", got.Content, err)
	}
	got = a.Answer(context.Background(), tool(`["./slow.sh"]`, evals.Duration(200e6)), c, evals.NewToolCall("1", "f", `{}`))
	if !strings.Contains(got.Error, "timed out after 200ms and was killed") {
		t.Errorf("slow mock: %+v", got)
	}
	got = a.Answer(context.Background(), tool(`["./missing.sh"]`, 0), c, evals.NewToolCall("1", "f", `{}`))
	if !strings.Contains(got.Error, "the mock of f cannot run: exec.0:") {
		t.Errorf("missing program: %+v", got)
	}
	if err := a.Check(evals.ToolMock{Exec: json.RawMessage(`["./missing.sh"]`)}); err == nil || !strings.HasPrefix(err.Error(), "exec.0: ") {
		t.Errorf("Check of a missing program: %v, want an error at exec.0", err)
	}
}
