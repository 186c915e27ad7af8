package evals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/xeipuuv/gojsonschema"
)

// targetDef is a target as defined in a file, before overrides.
type targetDef struct {
	name string
	raw  json.RawMessage
	src  *source
	ptr  string
}

// override is one --set NAME.FIELD=VALUE.
type override struct {
	arg   string
	name  string
	field []string
	value any
	plain bool // VALUE is not JSON: value is it as a string
	// shown is arg as messages show it and run.json stores it, with the
	// secrets it holds replaced by Redacted; secrets are those values.
	shown   string
	secrets []string
}

func parseOverride(arg string) (override, error) {
	o := override{arg: arg}
	lhs, val, ok := strings.Cut(arg, "=")
	name, field, ok2 := strings.Cut(lhs, ".")
	if !ok || !ok2 || name == "" || field == "" {
		// Nothing says what the argument holds: a key typed where a
		// field was expected must not be echoed.
		switch {
		case ok:
			o.shown = lhs + "=" + Redacted
		case ok2 && !strings.ContainsFunc(arg, func(r rune) bool {
			return !(r == '.' || r == '*' || r == '_' || r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
		}):
			o.shown = arg // TARGET.FIELD without a value
		default:
			o.shown = Redacted
		}
		return o, fmt.Errorf("--set %q: expected TARGET.FIELD=VALUE, as in candidate.model=gpt-4o-mini or '*.params.temperature=0'", o.shown)
	}
	o.name, o.field = name, strings.Split(field, ".")
	if err := unmarshalNumbers([]byte(val), &o.value); err != nil {
		o.value, o.plain = val, true // not JSON: a plain string
	}
	o.redact()
	return o, nil
}

func (o override) applies(name string) bool { return o.name == "*" || o.name == name }

func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// findConfig returns the project config's path, or "" when there is none.
func findConfig(explicit, suiteDir string) string {
	if explicit != "" {
		return explicit
	}
	for _, dir := range []string{suiteDir, "."} {
		p := filepath.Join(dir, ConfigFile)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// loadConfig reads the project config's targets, and the training
// manifests it lists (relative to its folder) into manifests.
func loadConfig(path string, manifests *[]string) (map[string]targetDef, []Problem) {
	src, probs := readSource(path, false)
	if src == nil {
		return nil, probs
	}
	sc, err := compiled()
	if err != nil {
		return nil, []Problem{{File: path, Msg: err.Error()}}
	}
	if probs, _ := validate(sc.config, "config", path, gojsonschema.NewBytesLoader(src.data), src.pos, nil, -1); len(probs) > 0 {
		return nil, probs
	}
	var cfg struct {
		Targets           map[string]json.RawMessage `json:"targets"`
		TrainingManifests []string                   `json:"training_manifests"`
	}
	if err := json.Unmarshal(src.data, &cfg); err != nil {
		return nil, []Problem{src.problem("", false, "%s", err)}
	}
	for _, m := range cfg.TrainingManifests {
		if !filepath.IsAbs(m) {
			m = filepath.Join(filepath.Dir(path), m)
		}
		*manifests = append(*manifests, m)
	}
	defs := map[string]targetDef{}
	for name, raw := range cfg.Targets {
		ptr := "/targets/" + escapePointer(name)
		var t struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &t)
		if t.Name != "" && t.Name != name {
			probs = append(probs, src.problem(ptr+"/name", false, "name %q differs from the target's key %q: drop name, the key is the name", t.Name, name))
		}
		defs[name] = targetDef{name: name, raw: raw, src: src, ptr: ptr}
	}
	return defs, probs
}

// projectTargets returns the targets the project config defines, and its
// problems; ok is false when the config exists but could not be read, so that
// names it defines cannot be checked.
func projectTargets(s *Suite, opts LoadOptions) (defs map[string]targetDef, probs []Problem, ok bool) {
	defs = map[string]targetDef{}
	if cfgPath := findConfig(opts.ConfigPath, s.Dir); cfgPath != "" {
		cfg, p := loadConfig(cfgPath, &s.TrainingManifests)
		if cfg == nil {
			return nil, p, false
		}
		for k, v := range cfg {
			defs[k] = v
		}
		return defs, p, true
	}
	return defs, nil, true
}

// resolver resolves the targets a suite's criteria name.
type resolver struct {
	src  *source
	refs []json.RawMessage // the suite's targets
	defs map[string]targetDef
	opts LoadOptions
}

// ResolveTarget resolves a reference to a target that criterion c calls (an
// LLM judge, an embeddings endpoint), found in the criterion's field (a
// dotted path, "judge" or "judges.1"): the name of a target in the project
// config or the suite, or an inline target object. --set does not apply to
// these. Its errors are located already. It fails when the project config
// could not be read: every name it defines would be unknown.
func (s *Suite) ResolveTarget(c CriterionSpec, field string, ref json.RawMessage) (*TargetSpec, error) {
	if s.resolve == nil {
		return nil, FieldErrorf(field, "cannot resolve the target: the project config could not be read")
	}
	return s.resolve.target(c.Pointer, field, ref)
}

// target resolves a reference in the criterion at ptr.
func (r *resolver) target(ptr, field string, ref json.RawMessage) (*TargetSpec, error) {
	src, refs, defs, opts := r.src, r.refs, r.defs, r.opts
	at := ptr
	for _, seg := range strings.Split(field, ".") {
		at += "/" + escapePointer(seg)
	}
	var name string
	if json.Unmarshal(ref, &name) == nil {
		d, ok := defs[name]
		if !ok {
			for i, raw := range refs {
				var t struct {
					Name string `json:"name"`
				}
				if json.Unmarshal(raw, &t) == nil && t.Name == name {
					d, ok = targetDef{name: name, raw: raw, src: src, ptr: fmt.Sprintf("/targets/%d", i)}, true
					break
				}
			}
		}
		if !ok {
			all := maps.Clone(defs)
			for i, raw := range refs {
				var t struct {
					Name string `json:"name"`
				}
				if json.Unmarshal(raw, &t) == nil && t.Name != "" {
					all[t.Name] = targetDef{name: t.Name, raw: raw, src: src, ptr: fmt.Sprintf("/targets/%d", i)}
				}
			}
			return nil, FieldErrorf(field, "unknown target %q: %s", name, available(all))
		}
		return builtTarget(d, opts)
	}
	var t struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(ref, &t) != nil {
		return nil, FieldErrorf(field, "expected the name of a target or an inline target object")
	}
	if t.Name == "" {
		t.Name = field
	}
	return builtTarget(targetDef{name: t.Name, raw: ref, src: src, ptr: at}, opts)
}

// builtTarget is buildTarget without overrides, its problems as an error.
func builtTarget(d targetDef, opts LoadOptions) (*TargetSpec, error) {
	spec, probs := buildTarget(d, nil, opts)
	if len(probs) > 0 {
		return nil, Problems(probs)
	}
	if spec == nil {
		return nil, Problems{d.src.problem(d.ptr, false, "invalid target")}
	}
	return spec, nil
}

func resolveTargets(src *source, s *Suite, refs []json.RawMessage, defs map[string]targetDef, opts LoadOptions, schemaProbs []Problem) ([]TargetSpec, []Problem) {
	var probs []Problem
	var chosen []targetDef
	listed := map[string]bool{}
	for i, raw := range refs {
		ptr := fmt.Sprintf("/targets/%d", i)
		var name string
		if json.Unmarshal(raw, &name) == nil {
			d, ok := defs[name]
			if !ok && len(opts.Targets) == 0 {
				probs = append(probs, src.problem(ptr, false, "unknown target %q: %s", name, available(defs)))
				continue
			}
			if ok {
				if listed[name] {
					probs = append(probs, src.problem(ptr, false, "target %q is listed twice", name))
					continue
				}
				listed[name] = true
				chosen = append(chosen, d)
			}
			continue
		}
		var t struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(raw, &t) != nil {
			continue // the schema reported it
		}
		if t.Name == "" {
			probs = append(probs, src.problem(ptr, false, "an inline target needs a name"))
			continue
		}
		if prev, dup := defs[t.Name]; dup && prev.src != src {
			probs = append(probs, src.problem(ptr+"/name", false, "target %q is also defined in %s: rename one", t.Name, prev.src.file))
			continue
		}
		if listed[t.Name] {
			probs = append(probs, src.problem(ptr, false, "target %q is listed twice", t.Name))
			continue
		}
		listed[t.Name] = true
		d := targetDef{name: t.Name, raw: raw, src: src, ptr: ptr}
		defs[t.Name] = d
		chosen = append(chosen, d)
	}
	if len(opts.Targets) > 0 {
		chosen = chosen[:0]
		listed = map[string]bool{}
		for _, name := range opts.Targets {
			d, ok := defs[name]
			if !ok {
				probs = append(probs, Problem{File: "--target", Msg: fmt.Sprintf("unknown target %q: %s", name, available(defs))})
				continue
			}
			if listed[name] {
				probs = append(probs, Problem{File: "--target", Msg: fmt.Sprintf("target %q is listed twice", name)})
				continue
			}
			listed[name] = true
			chosen = append(chosen, d)
		}
	}
	if len(chosen) == 0 && len(probs) == 0 && opts.RequireTargets {
		probs = append(probs, Problem{File: src.file, Msg: "no targets to run: list them in the suite's targets, define them in " + ConfigFile + ", or pass --target NAME"})
	}

	var overrides []override
	var secrets []string
	for _, arg := range opts.Overrides {
		o, err := parseOverride(arg)
		secrets = append(secrets, o.secrets...)
		if err != nil {
			probs = append(probs, Problem{File: "--set", Msg: err.Error()})
			continue
		}
		matched := false
		for _, d := range chosen {
			matched = matched || o.applies(d.name)
		}
		if !matched {
			probs = append(probs, Problem{File: "--set", Msg: fmt.Sprintf("--set %q: no target %q is being run (running: %s)", o.shown, o.name, chosenNames(chosen))})
			continue
		}
		overrides = append(overrides, o)
	}

	var out []TargetSpec
	for _, d := range chosen {
		if flagged(schemaProbs, d.src.file, d.ptr) {
			continue // the schema reported it; the provider would say it again
		}
		spec, p := buildTarget(d, overrides, opts)
		probs = append(probs, p...)
		if spec != nil {
			out = append(out, *spec)
		}
	}
	// A message may quote a value: the schema's "got ...", a provider's.
	if r := newSecretRedactor(secrets); r != nil {
		for i := range probs {
			probs[i].Msg = r.Replace(probs[i].Msg)
		}
	}
	return out, probs
}

func buildTarget(d targetDef, overrides []override, opts LoadOptions) (*TargetSpec, []Problem) {
	raw := d.raw
	overridden := map[string]string{} // top-level field -> the --set that changed it
	var m map[string]any
	if err := unmarshalNumbers(raw, &m); err != nil {
		return nil, nil // the schema reported it
	}
	for _, o := range overrides {
		if o.applies(d.name) {
			setPath(m, o.field, o.value)
			overridden[o.field[0]] = o.shown
		}
	}
	delete(m, "name")
	if len(overridden) > 0 {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, []Problem{{File: "--set", Msg: err.Error()}}
		}
		raw = b
		sc, err := compiled()
		if err != nil {
			return nil, []Problem{{File: "--set", Msg: err.Error()}}
		}
		res, err := sc.target.Validate(gojsonschema.NewBytesLoader(raw))
		if err != nil {
			return nil, []Problem{{File: "--set", Msg: err.Error()}}
		}
		var probs []Problem
		for _, e := range res.Errors() {
			if compositeErrors[e.Type()] {
				continue
			}
			if ptr, _, msg, ok := describe(e, "target"); ok {
				arg := overriddenArg(overridden, ptr)
				probs = append(probs, Problem{File: "--set", Msg: fmt.Sprintf("target %q after --set %s: %s: %s", d.name, arg, displayPath(ptr), msg)})
			}
		}
		if len(probs) > 0 {
			// The validator's order varies from run to run.
			sort.Slice(probs, func(i, j int) bool { return probs[i].Msg < probs[j].Msg })
			return nil, probs
		}
	} else {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, []Problem{d.src.problem(d.ptr, false, "%s", err)}
		}
		raw = b
	}
	// The common fields; the provider decodes its own from Config, and the
	// schema has rejected the fields no provider has.
	var spec TargetSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		if !targetSchemaValid(raw) {
			return nil, nil // the schema has reported the problem at its position already
		}
		// Values the schema allows but Go cannot hold: a timeout of
		// 9999999999h, a seed beyond int64.
		if len(overridden) > 0 {
			return nil, []Problem{{File: "--set", Msg: fmt.Sprintf("target %q after --set: %s", d.name, err)}}
		}
		return nil, []Problem{d.src.problem(d.ptr, false, "%s", err)}
	}
	spec.Name = d.name
	spec.Config = raw
	spec.Dir = filepath.Dir(d.src.file)
	spec.Source = d.src.file
	spec.loc = &targetLoc{def: d, overridden: overridden}
	return &spec, nil
}

// targetLoc is where a target was defined and which --set changed it.
type targetLoc struct {
	def        targetDef
	overridden map[string]string // top-level field -> the --set that changed it
}

// Problems locates the error of building the target (its provider's
// checks; an *FieldError names the field, errors.Join joins several): at
// the field in the file that defines the target, or at the --set that
// changed it.
func (t *TargetSpec) Problems(err error) []Problem {
	if t.loc == nil {
		return []Problem{{File: t.Source, Msg: fmt.Sprintf("target %q: %v", t.Name, err)}}
	}
	d := t.loc.def
	var probs []Problem
	for _, err := range splitErrors(err) {
		var fe *FieldError
		if errors.As(err, &fe) {
			if arg, ok := t.loc.overridden[strings.Split(fe.Field, ".")[0]]; ok {
				probs = append(probs, Problem{File: "--set", Msg: fmt.Sprintf("target %q after --set %s: %s", d.name, arg, fe)})
				continue
			}
		}
		var ps Problems
		if errors.As(err, &ps) {
			probs = append(probs, ps...)
			continue
		}
		probs = append(probs, d.src.fieldProblem(d.ptr, err))
	}
	return probs
}

func available(defs map[string]targetDef) string {
	if len(defs) == 0 {
		return "no targets are defined (define them in " + ConfigFile + " or inline in the suite)"
	}
	names := make([]string, 0, len(defs))
	for n := range defs {
		names = append(names, n)
	}
	sort.Strings(names)
	return "expected one of " + strings.Join(names, ", ")
}

func chosenNames(ds []targetDef) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// unmarshalNumbers is json.Unmarshal keeping numbers as written, so that a
// target's integers (a seed) survive being decoded and encoded again.
func unmarshalNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the value")
	}
	return nil
}

// targetSchemaValid reports whether raw is a target the schema accepts.
func targetSchemaValid(raw []byte) bool {
	sc, err := compiled()
	if err != nil {
		return false
	}
	res, err := sc.target.Validate(gojsonschema.NewBytesLoader(raw))
	return err == nil && res.Valid()
}

// overriddenArg names the --set argument that changed the field at ptr, or all
// of them when the field was not set directly.
func overriddenArg(overridden map[string]string, ptr string) string {
	top := strings.SplitN(strings.TrimPrefix(ptr, "/"), "/", 2)[0]
	if arg, ok := overridden[unescapePointer(top)]; ok {
		return arg
	}
	args := make([]string, 0, len(overridden))
	for _, a := range overridden {
		args = append(args, a)
	}
	sort.Strings(args)
	return strings.Join(args, ", ")
}
