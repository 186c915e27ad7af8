package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExecExampleScriptsInDocs keeps the exec scorers that docs/suite.md
// shows the same as those in examples/exec, which TestExecExample runs.
func TestExecExampleScriptsInDocs(t *testing.T) {
	blocks := readDocBlocks(t, docsSuitePath)
	for _, name := range []string{"parses.sh", "uses_tools.py"} {
		want, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "exec", name))
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(blocks, func(b docBlock) bool { return b.marker == markFilePrefix+name })
		if i < 0 {
			t.Errorf("docs/suite.md does not show %s (a block marked <!-- %s%s -->)", name, markFilePrefix, name)
			continue
		}
		if blocks[i].text != string(want) {
			t.Errorf("%s: %s differs from examples/exec/%s", blocks[i].where(), name, name)
		}
	}
}

// TestExecExample runs examples/exec: its criteria call a scorer in shell
// and one in Python, through rubric's exec criterion, next to built-in
// criteria nested in groups.
func TestExecExample(t *testing.T) {
	for _, prog := range []string{"sh", "jq", "python3"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("the example's scorers need %s: %v", prog, err)
		}
	}
	t.Parallel()
	out := t.TempDir()
	r := rubric(t, repoRoot(t), nil, "run", "examples/exec/suite.json", "--out", out)
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	results, _ := runFiles(t, "", out, runIDs(t, r.stderr)[0])
	got := map[string]string{}
	for _, res := range results {
		var parts []string
		scores, _ := res["scores"].([]any)
		for _, s := range scores {
			s := s.(map[string]any)
			parts = append(parts, fmt.Sprintf("%v=%v/%v", s["name"], s["score"], s["pass"]))
		}
		got[res["case_id"].(string)] = strings.Join(parts, " ")
	}
	want := map[string]string{
		"count-lines":  "parses=1/true uses-tools=1/true plain-answer=1/true fast=1/true",
		"big-files":    "parses=1/true uses-tools=1/true plain-answer=1/true fast=1/true",
		"largest-dirs": "parses=1/true uses-tools=1/true plain-answer=1/true fast=1/true",
		"replace":      "parses=1/true uses-tools=1/true plain-answer=1/true fast=1/true",
		// Does not parse, and sudo: but it uses the tools it should.
		"free-port": "parses=0/false uses-tools=1/true plain-answer=0/false fast=1/true",
		// tar without -czf: half the expected words, which the threshold allows.
		"archive": "parses=1/true uses-tools=0.5/true plain-answer=1/true fast=1/true",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("case %s: %s\nwant %s", id, got[id], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d results, want %d", len(got), len(want))
	}
	wantLines(t, "stdout", r.stdout,
		"  ok    shell-v1: criteria.parses.pass_rate >= 0.8: 0.8333 (margin 0.0333)",
		"  ok    shell-v1: criteria.uses-tools.mean >= 0.8: 0.9167 (margin 0.1167)",
	)
}

// TestUsesToolsProtocols runs the example's Python scorer by hand, as
// docs/suite.md shows: once on a document, and kept running on lines, where
// each answer must come as a line of its own.
func TestUsesToolsProtocols(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skipf("the scorer needs python3: %v", err)
	}
	t.Parallel()
	tar := `{"case_id": "t", "output": "tar -cf logs.tar logs/", "expected": {"must_use": ["tar", "-czf"]}}`
	wc := `{"case_id": "w", "output": "wc -l notes.txt", "expected": {"must_use": ["wc", "-l"]}}`
	tests := []struct {
		name, stdin, want string
		args              []string
	}{
		{"once", tar, `{"score": 0.5, "reason": "does not use -czf"}` + "\n", nil},
		{"lines", tar + "\n" + wc + "\n",
			`{"score": 0.5, "reason": "does not use -czf"}` + "\n" + `{"score": 1.0, "reason": "uses wc, -l"}` + "\n", []string{"--lines"}},
	}
	for _, tt := range tests {
		cmd := exec.Command("python3", append([]string{"uses_tools.py"}, tt.args...)...)
		cmd.Dir = filepath.Join(repoRoot(t), "examples", "exec")
		cmd.Stdin = strings.NewReader(tt.stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(out) != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, out, tt.want)
		}
	}
}
