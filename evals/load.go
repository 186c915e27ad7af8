package evals

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LoadOptions are the command line's say in how a suite loads.
type LoadOptions struct {
	// ConfigPath names the project config; empty looks for rubric.config.json
	// next to the suite, then in the current folder.
	ConfigPath string `json:"config,omitempty"`
	// Targets picks targets by name, replacing the suite's own list.
	Targets []string `json:"targets,omitempty"`
	// Overrides set target fields: "NAME.FIELD=VALUE", NAME may be "*" for every
	// target. VALUE is JSON if it parses as JSON, else a string.
	Overrides []string `json:"set,omitempty"`
	// Gates are gate expressions that add to or replace the suite's.
	Gates []string `json:"gates,omitempty"`
	// RequireTargets makes a suite with no targets a problem.
	RequireTargets bool `json:"-"`
}

// ConfigFile is the project config's file name.
const ConfigFile = "rubric.config.json"

// source is one JSON file being loaded, with its positions.
type source struct {
	file string
	data []byte
	pos  *positions
	// cases are the extents of the suite's inline cases arrays, which the
	// schema checks apart from the rest (validateSuite).
	cases [][2]int
}

func (s *source) problem(ptr string, key bool, format string, args ...any) Problem {
	return s.pos.problem(s.file, ptr, key, format, args...)
}

// fieldProblems reports each error that err joins (errors.Join) with
// fieldProblem; Problems, already located, pass through.
func (s *source) fieldProblems(ptr string, err error) []Problem {
	var out []Problem
	for _, e := range splitErrors(err) {
		var ps Problems
		if errors.As(e, &ps) {
			out = append(out, ps...)
			continue
		}
		out = append(out, s.fieldProblem(ptr, e))
	}
	return out
}

// splitErrors returns the errors that err joins, or err alone.
func splitErrors(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, splitErrors(e)...)
	}
	return out
}

// fieldProblem reports err at ptr, or at the field it names if it is a FieldError.
func (s *source) fieldProblem(ptr string, err error) Problem {
	var fe *FieldError
	if errors.As(err, &fe) {
		for _, seg := range strings.Split(fe.Field, ".") {
			ptr += "/" + escapePointer(seg)
		}
		return s.problem(ptr, false, "%s", fe.Err)
	}
	return s.problem(ptr, false, "%s", err)
}

// bom is the UTF-8 byte order mark, which editors on Windows write at the
// start of a file.
const bom = "\ufeff"

// readSource reads and parses a suite (suite set) or config file, within the
// limits (MaxFileSize). A byte order mark at the start is dropped: positions
// count from after it, as editors show them.
func readSource(path string, suite bool) (*source, []Problem) {
	data, tooBig, err := readLimited(path)
	if err != nil {
		return nil, []Problem{{File: path, Msg: readError(err)}}
	}
	data = bytes.TrimPrefix(data, []byte(bom))
	pos, cases, err := parseJSON(data, suite)
	if tooBig {
		err = tooBigError(data, err)
	}
	if err != nil {
		return nil, []Problem{syntaxProblem(path, data, err)}
	}
	return &source{file: path, data: data, pos: pos, cases: cases}, nil
}

// splitCases returns the suite without its inline cases (their arrays
// emptied), and where each of its cases starts.
func (s *source) splitCases() (doc []byte, elems []int) {
	if len(s.cases) == 0 {
		return s.data, nil
	}
	if off, ok := s.pos.value("/dataset/cases"); ok && s.data[off] == '[' {
		elems = s.pos.members(off).vals
	}
	return withoutCases(s.data, s.cases), elems
}

func readError(err error) string {
	if errors.Is(err, os.ErrNotExist) {
		return "no such file"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// suiteFile is the suite as decoded before its parts are checked one by one.
type suiteFile struct {
	Suite
	Criteria []json.RawMessage `json:"criteria"`
	Targets  []json.RawMessage `json:"targets"`
}

// Load reads, validates and resolves the suite at path. It returns every
// problem found at once as Problems, or ctx's error when ctx ended first:
// the checks it cut short would report problems that are not there.
//
// Load only parses and checks what the suite file and the project config
// say; building the criteria and the targets through their registries, and
// checking the dataset's cases, is runner/build's, which starts from Parse.
func Load(ctx context.Context, path string, opts LoadOptions) (*Suite, error) {
	s, probs, err := Parse(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return s, nil
}

// Parse is Load that returns the suite as far as it could be read together
// with its problems, so that later checks (building its parts, reading its
// dataset) can add theirs and report them all at once: Suite.Sound says
// which parts are sound, and the problems of building a criterion or a
// target are located with Suite.CriterionProblems and TargetSpec.Problems.
// The suite is nil when the file could not be read as a suite at all.
func Parse(ctx context.Context, path string, opts LoadOptions) (*Suite, Problems, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	src, probs := readSource(path, true)
	if src == nil {
		return nil, Problems(probs), nil
	}
	sc, err := compiled()
	if err != nil {
		return nil, nil, err
	}
	// The inline cases are checked and decoded apart from the rest.
	doc, elems := src.splitCases()
	probs = validateSuite(sc, src, doc, elems)
	if src.data[src.pos.root()] != '{' {
		// The schema has said that the suite is not an object; every other
		// check would only report what it lacks.
		return nil, sortProblems(probs), nil
	}

	var f suiteFile
	if err := json.Unmarshal(doc, &f); err != nil {
		// A value of the wrong type is skipped by Unmarshal, which decodes the
		// rest; the schema has reported it, so the other checks still run.
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || len(probs) == 0 {
			probs = append(probs, src.problem("", false, "%s", err))
			return nil, sortProblems(probs), nil
		}
	}
	s := &f.Suite
	s.src = src
	s.Path = path
	s.Dir = filepath.Dir(path)
	if len(elems) > 0 {
		// Each case is its text in the file, not a copy of it.
		s.Dataset.Cases = make([]json.RawMessage, len(elems))
		for i, off := range elems {
			end := src.pos.skipValue(off)
			s.Dataset.Cases[i] = src.data[off:end:end]
		}
	}

	for i, m := range s.Messages {
		t, err := ParseTemplate(m.Content)
		if err != nil {
			probs = append(probs, src.problem(fmt.Sprintf("/messages/%d/content", i), false, "%s", err))
		}
		s.Templates = append(s.Templates, t)
	}
	if s.Reference != "" {
		t, err := ParseTemplate(s.Reference)
		if err != nil {
			probs = append(probs, src.problem("/reference", false, "%s", err))
		}
		s.ReferenceTemplate = t
	}
	defs, cfgProbs, cfgOK := projectTargets(s, opts)
	if defs != nil {
		s.resolve = &resolver{src: src, refs: f.Targets, defs: defs, opts: opts}
	}
	probs = append(probs, checkTools(src, s)...)
	probs = append(probs, checkCriteria(src, s, f)...)
	probs = append(probs, checkGates(src, s, opts.Gates)...)
	probs = append(probs, checkDataset(src, s)...)
	if s.CasePass == CasePassScore && s.PassScore == nil {
		probs = append(probs, src.problem("/case_pass", false, `case_pass "score" needs pass_score, the score a case must reach`))
	}
	if s.PassScore != nil && s.CasePass != CasePassScore {
		probs = append(probs, src.problem("/pass_score", true, `pass_score applies only with case_pass "score"`))
	}
	if s.CasePass == "" {
		s.CasePass = CasePassAll
	}
	probs = append(probs, cfgProbs...)
	if cfgOK { // without the config, every name it defines would be reported unknown
		targets, tprobs := resolveTargets(src, s, f.Targets, defs, opts, probs)
		probs = append(probs, tprobs...)
		s.ResolvedTargets = targets
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.probs = probs
	return s, sortProblems(probs), nil
}

// Sound reports whether Parse found no problem in the part of the suite
// file at ptr, a JSON pointer, nor inside it: a part with problems is not
// built, which would only report them again.
func (s *Suite) Sound(ptr string) bool { return !flagged(s.probs, s.Path, ptr) }

// CriterionProblems locates the error of building criterion c (an
// *FieldError names the field inside it; errors.Join joins several;
// Problems pass through as they are).
func (s *Suite) CriterionProblems(c CriterionSpec, err error) []Problem {
	return s.src.fieldProblems(c.Pointer, err)
}

// FieldProblems locates err, about the part of the suite at ptr (a JSON
// pointer), in the suite file: an *FieldError at the field it names.
func (s *Suite) FieldProblems(ptr string, err error) []Problem {
	return s.src.fieldProblems(ptr, err)
}

// SortProblems orders problems by file and position, so they read top down.
func SortProblems(ps []Problem) Problems { return sortProblems(ps) }

// flagged reports whether a problem was found in file at ptr or inside it.
func flagged(probs []Problem, file, ptr string) bool {
	dp := displayPath(ptr)
	for _, p := range probs {
		if p.File == file && (p.Path == dp || strings.HasPrefix(p.Path, dp+".") || strings.HasPrefix(p.Path, dp+"[")) {
			return true
		}
	}
	return false
}

// sortProblems orders problems by file and position, so they read top down.
func sortProblems(ps []Problem) Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return Problems(ps)
}

func checkCriteria(src *source, s *Suite, f suiteFile) []Problem {
	var probs []Problem
	first := map[string]int{}
	for i, raw := range f.Criteria {
		ptr := fmt.Sprintf("/criteria/%d", i)
		var c CriterionSpec
		if err := json.Unmarshal(raw, &c); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				continue // the schema reported it
			}
		}
		c.Raw, c.Pointer = raw, ptr
		s.Criteria = append(s.Criteria, c)
		if j, dup := first[c.Name]; dup && c.Name != "" {
			line, _ := src.pos.at(fmt.Sprintf("/criteria/%d", j), false)
			probs = append(probs, src.problem(ptr+"/name", false, "duplicate criterion name %q (first used at line %d)", c.Name, line))
			continue
		}
		first[c.Name] = i
	}
	return probs
}

func checkGates(src *source, s *Suite, cli []string) []Problem {
	var probs []Problem
	parse := func(exprs []string, at func(int) (string, int)) []Gate {
		var out []Gate
		for i, e := range exprs {
			g, err := ParseGate(e)
			if err != nil {
				file, _ := at(i)
				if file == "" {
					probs = append(probs, src.problem(fmt.Sprintf("/gate/%d", i), false, "%s", err))
				} else {
					probs = append(probs, Problem{File: file, Msg: err.Error()})
				}
				continue
			}
			msg := ""
			if name, _, ok := g.Criterion(); ok && !hasCriterion(s, name) {
				msg = fmt.Sprintf("gate %q names criterion %q, which the suite does not define (it has: %s)", e, name, criterionNames(s))
			}
			if name := g.Ref.Judge; name != "" && !hasJudge(s, name) {
				msg = fmt.Sprintf("gate %q names judge %q, which is not a judge criterion of the suite (%s)", e, name, judgeNames(s))
			}
			if msg != "" {
				if file, _ := at(i); file == "" {
					probs = append(probs, src.problem(fmt.Sprintf("/gate/%d", i), false, "%s", msg))
				} else {
					probs = append(probs, Problem{File: file, Msg: msg})
				}
				continue
			}
			out = append(out, g)
		}
		return out
	}
	base := parse(s.Gate, func(int) (string, int) { return "", 0 })
	over := parse(cli, func(int) (string, int) { return "--gate", 0 })
	s.Gates = MergeGates(base, over)
	return probs
}

func hasCriterion(s *Suite, name string) bool {
	for _, c := range s.Criteria {
		if c.Name == name {
			return true
		}
	}
	return false
}

// hasJudge reports whether the suite has a judge criterion named name.
func hasJudge(s *Suite, name string) bool {
	for _, c := range s.Criteria {
		if c.Name == name && c.Type == "judge" {
			return true
		}
	}
	return false
}

// judgeNames says which judge criteria the suite has.
func judgeNames(s *Suite) string {
	var names []string
	for _, c := range s.Criteria {
		if c.Type == "judge" {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return "it has none"
	}
	return "it has: " + strings.Join(names, ", ")
}

func criterionNames(s *Suite) string {
	names := make([]string, len(s.Criteria))
	for i, c := range s.Criteria {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// FormatOf returns the dataset format of a file from its extension.
func FormatOf(path string) (string, bool) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		return FormatJSONL, true
	case ".csv":
		return FormatCSV, true
	case ".json":
		return FormatJSON, true
	}
	return "", false
}

func checkDataset(src *source, s *Suite) []Problem {
	if off, ok := src.pos.value("/dataset"); !ok || src.data[off] != '{' {
		return nil // the schema reports a missing dataset, or one that is not an object
	}
	d := &s.Dataset
	switch {
	case d.Path != "" && d.Cases != nil:
		return []Problem{src.problem("/dataset/cases", true, "give either path or cases, not both")}
	case d.Path == "" && d.Cases == nil:
		return []Problem{src.problem("/dataset", false, "expected path (a dataset file) or cases (inline cases)")}
	case d.Path == "":
		if d.Format != "" {
			return []Problem{src.problem("/dataset/format", true, "format applies only to a dataset file (path)")}
		}
		return nil
	}
	var probs []Problem
	if d.Format == "" {
		f, ok := FormatOf(d.Path)
		if !ok {
			probs = append(probs, src.problem("/dataset/path", false, "cannot tell the format of %q from its extension: expected .jsonl, .ndjson, .csv or .json, or set format", d.Path))
		}
		d.Format = f
	}
	full := s.Resolve(d.Path)
	if st, err := os.Stat(full); err != nil {
		probs = append(probs, src.problem("/dataset/path", false, "dataset %s: %s", full, readError(err)))
	} else if st.IsDir() {
		probs = append(probs, src.problem("/dataset/path", false, "dataset %s is a folder, expected a file", full))
	}
	return probs
}

// Resolve returns path relative to the suite's folder, unless it is absolute.
func (s *Suite) Resolve(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(s.Dir, path)
}
