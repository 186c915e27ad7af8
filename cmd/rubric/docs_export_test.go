package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Markers of docs/export.md and of the README's feedback section, on the
// line before a fenced block; the blocks are taken in order.
const (
	markRun    = "run"      // run each line: rubric ARGS... [# exit N]
	markOutput = "output: " // the file NAME, as the commands above wrote it
)

// TestDocsExport follows docs/export.md from top to bottom: it writes the
// files shown, runs the commands in the binary, and compares the files they
// write with the blocks shown, so the page cannot drift from the code.
func TestDocsExport(t *testing.T) {
	t.Parallel()
	blocks := readDocBlocks(t, "../../docs/export.md")
	dir := t.TempDir()
	ran, compared := 0, 0
	for _, b := range blocks {
		where := "docs/export.md:" + strconv.Itoa(b.line)
		switch {
		case strings.HasPrefix(b.marker, markFilePrefix):
			writeFiles(t, dir, map[string]string{strings.TrimPrefix(b.marker, markFilePrefix): b.text})
		case b.marker == markRun:
			ran += runDocCommands(t, where, dir, b.text, "rubric")
		case strings.HasPrefix(b.marker, markOutput):
			name := strings.TrimPrefix(b.marker, markOutput)
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if string(got) != b.text {
				t.Errorf("%s: %s differs from the page\n--- written:\n%s\n--- page:\n%s", where, name, got, b.text)
			}
			compared++
		}
	}
	if ran < 10 || compared < 5 {
		t.Errorf("ran %d commands and compared %d outputs: the markers are gone", ran, compared)
	}
}

// TestReadmeCommands runs the README's marked commands as written, in order,
// in a copy of the examples they use: those of the conversation example,
// then those of the retraining feedback.
func TestReadmeCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, ex := range []string{"triage", "support", "judge"} {
		copyDir(t, filepath.Join(repoRoot(t), "examples", ex), filepath.Join(dir, "examples", ex))
	}
	ran := 0
	for _, b := range readDocBlocks(t, filepath.Join(repoRoot(t), "README.md")) {
		if b.marker == markRun {
			ran += runDocCommands(t, "README.md:"+strconv.Itoa(b.line), dir, b.text, "go run ./cmd/rubric")
		}
	}
	if ran < 16 {
		t.Fatalf("ran %d commands from README.md: a marked block is gone", ran)
	}
	for name, want := range map[string]int{"pairs.jsonl": 11, "support-chat.jsonl": 7, "support-pairs.jsonl": 7} {
		if recs := readJSONL(t, filepath.Join(dir, name)); len(recs) != want {
			t.Errorf("%s has %d lines, want the %d README.md says", name, len(recs), want)
		}
	}
}

// runDocCommands runs each line of text that starts with prefix as the
// rubric binary with the rest as arguments, in dir. A trailing "# exit N"
// gives the exit code expected; 0 otherwise. It returns the number run.
func runDocCommands(t *testing.T, where, dir, text, prefix string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(text, "\n") {
		cmdline, comment, _ := strings.Cut(line, "#")
		cmdline = strings.TrimSpace(cmdline)
		if cmdline == "" {
			continue
		}
		rest, ok := strings.CutPrefix(cmdline, prefix+" ")
		if !ok {
			t.Fatalf("%s: %q does not start with %q", where, cmdline, prefix)
		}
		want := exitOK
		if c, ok := strings.CutPrefix(strings.TrimSpace(comment), "exit "); ok {
			var err error
			if want, err = strconv.Atoi(c); err != nil {
				t.Fatalf("%s: bad exit code in %q", where, line)
			}
		}
		r := rubric(t, dir, nil, shellFields(rest)...)
		if r.code != want {
			t.Fatalf("%s: %s: want exit %d\n%s", where, cmdline, want, r)
		}
		n++
	}
	return n
}

// shellFields splits a command line into words as a shell does for the
// docs' commands: at spaces, a single-quoted part kept whole.
func shellFields(s string) []string {
	var words []string
	var w strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				words = append(words, w.String())
				w.Reset()
			}
			in = false
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
