package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

func write(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "suite.json")
}

func problems(t *testing.T, err error, dir string) []string {
	t.Helper()
	var ps evals.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err %T %v, want evals.Problems", err, err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, strings.ReplaceAll(p.String(), dir+string(filepath.Separator), ""))
	}
	return out
}

// TestLoadReportsEveryPart: a suite whose criterion, target, judge and
// dataset are each wrong gets every problem at once, each located in its
// file, and nothing built is kept.
func TestLoadReportsEveryPart(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir, map[string]string{
		"suite.json": `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [
    {"name": "re", "type": "regex", "pattern": "("},
    {"name": "j", "type": "judge", "judge": {"provider": "openai", "base_url": "http://127.0.0.1:1/v1"}, "rubric": "{{ output }}"}
  ],
  "targets": [{"name": "t", "provider": "openai", "base_url": "http://127.0.0.1:1/v1"}]
}`,
		"cases.jsonl": `{"id": "1", "q": "a"}` + "\n" + `{"id": "2"}` + "\n",
	})
	_, err := Load(context.Background(), path, Options{Targets: true, Dataset: true})
	got := problems(t, err, dir)
	want := []string{
		`cases.jsonl:2:1: case "2": messages[0] uses {{q}}, which the case does not define (it has: no variables)`,
		"suite.json:6:48: $.criteria[0].pattern: error parsing regexp: missing closing ): `(`: expected Go RE2 syntax",
		`suite.json:7:45: $.criteria[1].judge.model: required by provider "openai"`,
		`suite.json:9:15: $.targets[0].model: required by provider "openai"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestJudgesBuiltOnce: criteria naming one judge share its endpoint, built
// once; an inline judge gets its own.
func TestJudgesBuiltOnce(t *testing.T) {
	dir := t.TempDir()
	judge := func(name, ref string) string {
		return fmt.Sprintf(`{"name": %q, "type": "judge", "judge": %s, "rubric": "{{ output }}"}`, name, ref)
	}
	path := write(t, dir, map[string]string{
		"suite.json": `{
  "name": "s",
  "messages": [{"role": "user", "content": "hi"}],
  "dataset": {"cases": [{"id": "1"}]},
  "criteria": [` + judge("a", `"grader"`) + `, ` + judge("b", `"grader"`) + `, ` +
			judge("c", `{"provider": "openai", "base_url": "http://127.0.0.1:1/v1", "model": "m"}`) + `],
  "targets": [{"name": "grader", "provider": "openai", "base_url": "http://127.0.0.1:1/v1", "model": "g"}]
}`,
	})
	s, err := Load(context.Background(), path, Options{Targets: true, Dataset: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.Criteria) != 3 || len(s.Targets) != 1 || s.Cases != 1 {
		t.Fatalf("%d criteria, %d targets, %d cases", len(s.Criteria), len(s.Targets), s.Cases)
	}
	if len(s.Judges) != 2 || s.Judges[0].Spec.Name != "grader" || s.Judges[1].Spec.Name != "judge" {
		names := []string{}
		for _, j := range s.Judges {
			names = append(names, j.Spec.Name)
		}
		t.Errorf("judges %q, want grader (shared by a and b) and c's inline one", names)
	}
	if s.Judges[0] == s.Targets[0] {
		t.Error("the judge shares the endpoint of the target under test: it needs its own cap on requests in flight")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// TestLoadInterrupted: a load cut short, before it starts or while the
// dataset is read, returns the interrupt, not the problems of the checks
// it cut short (a bad last line never read).
func TestLoadInterrupted(t *testing.T) {
	dir := t.TempDir()
	var cases strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&cases, `{"id": "%d", "q": "x"}`+"\n", i)
	}
	cases.WriteString("not json\n")
	path := write(t, dir, map[string]string{
		"suite.json": `{"name": "s", "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"path": "cases.jsonl"}, "criteria": [{"name": "c", "type": "contains", "value": "x"}]}`,
		"cases.jsonl": cases.String(),
	})
	if _, err := Load(context.Background(), path, Options{Dataset: true}); err == nil {
		t.Fatal("the bad last line went unreported")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, ctx := range map[string]context.Context{"before": ctx, "while reading": evalstest.CanceledAfter(3)} {
		_, err := Load(ctx, path, Options{Dataset: true})
		var in *Interrupted
		if !errors.As(err, &in) || !errors.Is(err, context.Canceled) || in.Path != path {
			t.Errorf("%s: err %v, want an *Interrupted that is context.Canceled", name, err)
		}
	}
}

// TestEnvironInjected: a target's API key is read from the environment the
// build is given, not from the process's.
func TestEnvironInjected(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir, map[string]string{"suite.json": `{"name": "s", "messages": [{"role": "user", "content": "hi"}],
  "dataset": {"cases": [{"id": "1"}]}, "criteria": [{"name": "c", "type": "contains", "value": "x"}],
  "targets": [{"name": "t", "provider": "openai", "base_url": "http://127.0.0.1:1/v1", "model": "m", "api_key_env": "BUILD_TEST_KEY"}]}`})
	t.Setenv("BUILD_TEST_KEY", "")
	opts := Options{Targets: true, Environ: func() []string { return []string{"BUILD_TEST_KEY=sk-given-0123456789"} }}
	s, err := Load(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("with the key in the given environment: %v", err)
	}
	s.Close()
	opts.Environ = func() []string { return nil }
	t.Setenv("BUILD_TEST_KEY", "sk-process-0123456789")
	if _, err := Load(context.Background(), path, opts); err == nil || !strings.Contains(err.Error(), "BUILD_TEST_KEY") {
		t.Errorf("with the key only in the process's environment: %v, want the missing variable reported", err)
	}
}

// TestLoadConversationProblems: the parts of a conversation suite that can
// be wrong (a tool, an exec mock's program, the simulated user's target, a
// case's turn, mock and tools) are each reported in their file and place,
// all at once, before anything is sent.
func TestLoadConversationProblems(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir, map[string]string{
		"suite.json": `{
  "name": "s",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "tools": [
    {"type": "function", "function": {"name": "a", "parameters": {"type": "string"}}},
    {"type": "function", "function": {"name": "b"}, "mock": {"exec": ["./missing-tool.sh"]}},
    {"type": "function", "function": {"name": "b"}}
  ],
  "tool_choice": {"type": "function", "function": {"name": "zzz"}},
  "user_simulator": {"target": "nobody", "messages": [{"role": "system", "content": "You are {{ persona }}"}]},
  "dataset": {"path": "cases.jsonl"},
  "criteria": [{"name": "c", "type": "contains", "value": "x", "turn": 2}],
  "targets": [{"name": "t", "provider": "replay", "path": "rec.jsonl"}]
}`,
		"rec.jsonl": "",
		"cases.jsonl": `{"id": "1", "q": "a", "persona": "p", "turns": ["{{ nope }}"]}` + "\n" +
			`{"id": "2", "q": "a", "persona": "p", "mocks": {"c": {"result": 1}}}` + "\n" +
			`{"id": "3", "q": "a", "persona": "p", "tools": [{"type": "function", "function": {"name": "x"}, "mock": {}}]}` + "\n" +
			`{"id": "4", "q": "a"}` + "\n",
	})
	_, err := Load(context.Background(), path, Options{Targets: true, Dataset: true})
	got := problems(t, err, dir)
	want := []string{
		`cases.jsonl:1:1: case "1": turns[0] uses {{nope}}, which the case does not define (it has: persona, q)`,
		`cases.jsonl:2:1: case "2": mocks.c: the case has no tool named "c" (its tools: a, b, b)`,
		`cases.jsonl:3:1: field "tools[0]": mock: expected rules, result, error or exec: how the tool answers`,
		`cases.jsonl:4:1: case "4": user_simulator.messages[0] uses {{persona}}, which the case does not define (it has: q)`,
		`suite.json:5:66: $.tools[0].function.parameters: the arguments are an object: expected "type": "object", got string`,
		`suite.json:6:71: $.tools[1].mock.exec[0]: cannot run "./missing-tool.sh" (missing-tool.sh): no such file or directory`,
		`suite.json:7:47: $.tools[2].function.name: duplicate tool name "b" (first at $.tools[1])`,
		`suite.json:9:60: $.tool_choice.function.name: tool_choice names "zzz", which is not one of the suite's tools`,
		`suite.json:10:32: $.user_simulator.target: unknown target "nobody": expected one of t`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
