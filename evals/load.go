package evals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/xeipuuv/gojsonschema"
)

// LoadOptions are the command line's say in how a suite loads, and the checks
// that need the registries (which live outside this package).
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
	// Criterion checks one criterion (by building it); an *FieldError points at
	// the field.
	Criterion func(spec CriterionSpec, env CriterionEnv) error `json:"-"`
	// Target checks one resolved target the same way.
	Target func(spec TargetSpec) error `json:"-"`
	// Dataset checks the suite's cases (every one parses, ids are unique,
	// templates render); it runs when the dataset and messages are sound.
	// It reads what may be a large file: it stops when ctx ends.
	Dataset func(ctx context.Context, s *Suite) []Problem `json:"-"`
}

// CriterionEnv is what building a criterion may need from the suite being
// loaded.
type CriterionEnv struct {
	// Dir is the suite's folder, against which relative paths resolve.
	Dir string
	// Target resolves a reference to a target, found in the criterion's field
	// (a dotted path, "judge" or "judges.1"): the name of a target in the
	// project config or the suite, or an inline target object. Its errors are
	// located already. Nil when the project config could not be read.
	Target func(field string, ref json.RawMessage) (*TargetSpec, error)
}

// ConfigFile is the project config's file name.
const ConfigFile = "rubric.config.json"

// source is one JSON file being loaded, with its positions.
type source struct {
	file string
	data []byte
	pos  *positions
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

func readSource(path string) (*source, []Problem) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []Problem{{File: path, Msg: readError(err)}}
	}
	pos, err := indexJSON(data)
	if err != nil {
		return nil, []Problem{syntaxProblem(path, data, err)}
	}
	return &source{file: path, data: data, pos: pos}, nil
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
func Load(ctx context.Context, path string, opts LoadOptions) (*Suite, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src, probs := readSource(path)
	if src == nil {
		return nil, Problems(probs)
	}
	sc, err := compiled()
	if err != nil {
		return nil, err
	}
	probs = validate(sc.suite, "suite", path, gojsonschema.NewBytesLoader(src.data), src.pos, "")

	var f suiteFile
	if err := json.Unmarshal(src.data, &f); err != nil {
		// A value of the wrong type is skipped by Unmarshal, which decodes the
		// rest; the schema has reported it, so the other checks still run.
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || len(probs) == 0 {
			probs = append(probs, src.problem("", false, "%s", err))
			return nil, sortProblems(probs)
		}
	}
	s := &f.Suite
	s.Path = path
	s.Dir = filepath.Dir(path)

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
	probs = append(probs, checkCriteria(src, s, f, defs, opts, probs)...)
	probs = append(probs, checkGates(src, s, opts.Gates)...)
	probs = append(probs, checkDataset(src, s)...)
	// The cases are checked too, when the parts they depend on are sound, so
	// that one pass reports the suite's problems and the dataset's together.
	if opts.Dataset != nil && !flagged(probs, path, "/dataset") && !flagged(probs, path, "/messages") {
		probs = append(probs, opts.Dataset(ctx, s)...)
	}
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
		return nil, err
	}
	if len(probs) > 0 {
		return nil, sortProblems(probs)
	}
	return s, nil
}

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

func checkCriteria(src *source, s *Suite, f suiteFile, defs map[string]targetDef, opts LoadOptions, schemaProbs []Problem) []Problem {
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
		// A criterion the schema found fault with is not built: its factory
		// would report the same mistake a second time.
		if opts.Criterion != nil && c.Type != "" && !flagged(schemaProbs, src.file, ptr) {
			env := CriterionEnv{Dir: s.Dir}
			if defs != nil {
				env.Target = targetResolver(src, f.Targets, defs, opts, ptr)
			}
			if err := opts.Criterion(c, env); err != nil {
				probs = append(probs, src.fieldProblems(ptr, err)...)
			}
		}
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
			if name, _, ok := g.Criterion(); ok && !hasCriterion(s, name) {
				msg := fmt.Sprintf("gate %q names criterion %q, which the suite does not define (it has: %s)", e, name, criterionNames(s))
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
	if off, ok := src.pos.values["/dataset"]; !ok || src.data[off] != '{' {
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
