package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
)

// docsSuitePath is the suite-format reference, relative to this package.
const docsSuitePath = "../../docs/suite.md"

// Markers are HTML comments on the line before a fenced block of
// docs/suite.md; they say how TestDocsSuiteExamples checks the block.
const (
	markSuite          = "suite"              // a complete suite, with targets that load offline
	markSuiteNoTargets = "suite: no-targets"  // a complete suite without targets
	markSuiteConfig    = "suite: with-config" // a suite next to the nearest config block above it
	markConfig         = "config"             // a rubric.config.json
	markCriterion      = "criterion"          // one criterion object, or an array of them
	markFilePrefix     = "file: "             // a file the examples refer to, by name
)

// docBlock is one fenced code block of the reference.
type docBlock struct {
	file   string // the Markdown file, from the repository's root
	line   int    // 1-based line of the opening fence
	lang   string // the info string: json, jsonl, csv, sh...
	marker string // the HTML comment on the line before, trimmed; "" when none
	text   string // the content, without the fences
}

func (b docBlock) where() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// readDocBlocks returns every fenced code block of the Markdown file at path.
func readDocBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// file names the file from the repository's root, two folders up.
	file := filepath.ToSlash(path)
	root, err1 := filepath.Abs(filepath.Join("..", ".."))
	abs, err2 := filepath.Abs(path)
	if rel, err := filepath.Rel(root, abs); err1 == nil && err2 == nil && err == nil {
		file = filepath.ToSlash(rel)
	}
	var (
		blocks []docBlock
		cur    *docBlock
		fence  string
		body   []string
		prev   string
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur != nil {
			if strings.TrimSpace(line) == fence {
				cur.text = strings.Join(body, "\n") + "\n"
				blocks = append(blocks, *cur)
				cur, body = nil, nil
			} else {
				body = append(body, line)
			}
			prev = line
			continue
		}
		if strings.HasPrefix(line, "```") {
			fence = line[:len(line)-len(strings.TrimLeft(line, "`"))]
			cur = &docBlock{file: file, line: n, lang: strings.TrimSpace(line[len(fence):])}
			if m, ok := strings.CutPrefix(strings.TrimSpace(prev), "<!--"); ok {
				if m, ok = strings.CutSuffix(m, "-->"); ok {
					cur.marker = strings.TrimSpace(m)
				}
			}
		}
		prev = line
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s: code block never closed", cur.where())
	}
	return blocks
}

// docEnvVars matches the environment variables an example needs set: those
// named by api_key_env and those a header refers to as ${NAME}.
var docEnvVars = regexp.MustCompile(`"api_key_env"\s*:\s*"([A-Za-z_][A-Za-z0-9_]*)"|\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// setDocEnv sets every environment variable the texts need, for this test.
func setDocEnv(t *testing.T, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, m := range docEnvVars.FindAllStringSubmatch(text, -1) {
			t.Setenv(m[1]+m[2], "docs-example-value")
		}
	}
}

// looksLikeSuite reports whether a JSON block is a whole suite: an object with
// messages and criteria at the top.
func looksLikeSuite(text string) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(text), &top) != nil {
		return false
	}
	_, msgs := top["messages"]
	_, crit := top["criteria"]
	return msgs && crit
}

// docMinimalSuite is a suite for checking a part of the format on its own.
func docMinimalSuite(criteria string, targets []string) string {
	tj, _ := json.Marshal(targets)
	s := `{
  "name": "docs-check",
  "messages": [{"role": "user", "content": "{{ q }}"}],
  "dataset": {"cases": [{"id": "c1", "q": "?"}]},
  "criteria": ` + criteria
	if len(targets) > 0 {
		s += `,
  "targets": ` + string(tj)
	}
	return s + "\n}\n"
}

// TestDocsSuiteExamples loads every example that docs/suite.md marks, the way
// rubric validate and rubric run load suites, so the reference cannot drift
// from the code:
//
//	<!-- suite -->              a complete suite; its targets must load offline
//	<!-- suite: no-targets -->  a complete suite without targets
//	<!-- suite: with-config --> a suite next to the nearest <!-- config --> above
//	<!-- config -->             a rubric.config.json, next to a suite that runs
//	                            every target it defines
//	<!-- criterion -->          a criterion (or an array of them) in a minimal suite
//	<!-- file: NAME -->         a file written next to every example, so that
//	                            examples can name datasets, recordings and schemas
//
// A ```json block that is a whole suite must be marked, so that no suite
// example escapes the check. Environment variables that examples name
// (api_key_env, ${NAME} in headers) are set for the test.
func TestDocsSuiteExamples(t *testing.T) {
	checkDocExamples(t, docsSuitePath, true, markSuite, markSuiteNoTargets, markSuiteConfig, markConfig, markCriterion)
}

// TestReadmeExamples checks README.md's marked examples as
// TestDocsSuiteExamples checks docs/suite.md's: its targets, one config per
// provider, must load. The README's abridged suite and its other markers
// (<!-- run -->, for docs_export_test.go) are left alone.
func TestReadmeExamples(t *testing.T) {
	checkDocExamples(t, filepath.Join(repoRoot(t), "README.md"), false, markConfig)
}

// checkDocExamples loads every marked example of the Markdown file at path,
// and fails when the file has no block of each kind in want. strict also
// fails on an unmarked whole suite and on a marker it does not know.
func checkDocExamples(t *testing.T, path string, strict bool, want ...string) {
	blocks := readDocBlocks(t, path)

	files := map[string]string{}
	fileAt := map[string]int{}
	for _, b := range blocks {
		name, ok := strings.CutPrefix(b.marker, markFilePrefix)
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		if name == "" || name != filepath.Base(name) || name == "suite.json" || name == evals.ConfigFile {
			t.Errorf("%s: file name %q: expected a plain file name other than suite.json and %s", b.where(), name, evals.ConfigFile)
			continue
		}
		if line, dup := fileAt[name]; dup {
			t.Errorf("%s: file %s is also given at line %d", b.where(), name, line)
			continue
		}
		files[name], fileAt[name] = b.text, b.line
	}

	// write puts the shared files and the example's own files into a new
	// folder and returns the suite's path there.
	write := func(t *testing.T, suite, config string) string {
		t.Helper()
		dir := t.TempDir()
		all := map[string]string{"suite.json": suite, evals.ConfigFile: config}
		for name, text := range files {
			all[name] = text
		}
		for name, text := range all {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return filepath.Join(dir, "suite.json")
	}
	// load loads the suite as rubric validate does; with targets, as rubric run does.
	load := func(t *testing.T, b docBlock, what, suite, config string, requireTargets bool) {
		t.Helper()
		setDocEnv(t, suite, config)
		path := write(t, suite, config)
		s, err := build.Load(context.Background(), path, build.Options{Load: evals.LoadOptions{RequireTargets: requireTargets}, Targets: true, Dataset: true})
		if err != nil {
			t.Errorf("%s: %s does not load:\n%v", b.where(), what, err)
			return
		}
		s.Close()
	}

	// An empty config keeps the examples from picking up a rubric.config.json
	// from the folder the test runs in.
	const noConfig = "{}\n"
	counts := map[string]int{}
	lastConfig := ""
	for _, b := range blocks {
		kind := b.marker
		if strings.HasPrefix(kind, markFilePrefix) {
			kind = "file"
		}
		if strict && b.lang == "json" && looksLikeSuite(b.text) && !strings.HasPrefix(kind, markSuite) {
			t.Errorf("%s: this JSON block is a whole suite: mark it with <!-- %s --> or <!-- %s --> so that it is checked", b.where(), markSuite, markSuiteNoTargets)
		}
		switch kind {
		case markSuite, markSuiteNoTargets, markSuiteConfig:
			if b.lang != "json" || !strings.HasPrefix(b.text, "{\n") || !strings.Contains(b.text, `"messages"`) {
				t.Errorf("%s: a suite example must be a ```json block whose first line is { and which has \"messages\"", b.where())
				continue
			}
		case markConfig, markCriterion:
			if b.lang != "json" {
				t.Errorf("%s: <!-- %s --> marks a ```%s block, expected ```json", b.where(), kind, b.lang)
				continue
			}
		case "file", "":
			continue
		default:
			if strict {
				t.Errorf("%s: unknown marker <!-- %s -->", b.where(), b.marker)
			}
			continue
		}
		counts[kind]++
		t.Run(fmt.Sprintf("line_%d", b.line), func(t *testing.T) {
			switch kind {
			case markSuite:
				load(t, b, "suite example", b.text, noConfig, true)
			case markSuiteNoTargets:
				load(t, b, "suite example", b.text, noConfig, false)
			case markSuiteConfig:
				if lastConfig == "" {
					t.Fatalf("%s: <!-- %s --> needs a <!-- %s --> block above it", b.where(), markSuiteConfig, markConfig)
				}
				load(t, b, "suite example (with the config above it)", b.text, lastConfig, true)
			case markConfig:
				var cfg struct {
					Targets map[string]json.RawMessage `json:"targets"`
				}
				if err := json.Unmarshal([]byte(b.text), &cfg); err != nil {
					t.Fatalf("%s: config example is not JSON: %v", b.where(), err)
				}
				names := slices.Sorted(maps.Keys(cfg.Targets))
				if len(names) == 0 {
					t.Fatalf("%s: config example defines no targets", b.where())
				}
				load(t, b, "config example", docMinimalSuite(`[{"name": "any", "type": "regex", "pattern": "."}]`, names), b.text, true)
			case markCriterion:
				crit := strings.TrimSpace(b.text)
				if !strings.HasPrefix(crit, "[") {
					crit = "[" + crit + "]"
				}
				load(t, b, "criterion example", docMinimalSuite(crit, nil), noConfig, false)
			}
		})
		if kind == markConfig {
			lastConfig = b.text
		}
	}

	// The markers are what make the check bite: fail if parsing found none.
	for _, kind := range want {
		if counts[kind] == 0 {
			t.Errorf("%s: no block marked <!-- %s --> was found", path, kind)
		}
	}
}
