package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// Env is what a provider may read of the world around it when it is built.
type Env struct {
	// LookupEnv reads an environment variable: the API key, the variables
	// header values refer to. Nil reads the process's (os.LookupEnv).
	LookupEnv func(name string) (string, bool)
	// Environ is the whole environment, as os.Environ lists it, which the
	// processes a provider starts (exec) inherit from. Nil reads the
	// process's.
	Environ func() []string
}

// environ returns the environment a provider's processes inherit from.
func (e Env) environ() []string {
	if e.Environ != nil {
		return e.Environ()
	}
	return os.Environ()
}

// Getenv returns the variable's value, "" when it is unset.
func (e Env) Getenv(name string) string {
	lookup := e.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, _ := lookup(name)
	return v
}

// Factory builds a provider from a target. It checks the target's fields and
// returns every problem as an *evals.FieldError naming the JSON field.
type Factory func(spec evals.TargetSpec, env Env) (evals.Provider, error)

// Registry holds the providers by the name a target gives in "provider".
type Registry struct {
	entries map[string]entry
}

type entry struct {
	build  Factory
	config reflect.Type // the provider's config type, for the schema's test
	own    []string     // the JSON names of the config's fields
	unused []string     // the common fields the provider refuses
}

// owners returns the providers other than except that take field, sorted:
// those whose config has it, and, for a common field, those that do not
// refuse it.
func (r *Registry) owners(field, except string) []string {
	var names []string
	for _, name := range r.Names() {
		e := r.entries[name]
		if name == except {
			continue
		}
		if slices.Contains(e.own, field) ||
			slices.Contains(commonFields, field) && !slices.Contains(e.unused, field) {
			names = append(names, name)
		}
	}
	return names
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{entries: map[string]entry{}}
}

// Default returns the registry of the providers rubric ships. It returns a
// new registry on each call, so callers may add to it (a test double)
// without affecting anyone else.
func Default() *Registry {
	r := NewRegistry()
	Register(r, "anthropic", NewAnthropic)
	Register(r, "openai", NewOpenAI)
	Register(r, "azure", NewAzure)
	Register(r, "http", NewHTTP)
	Register(r, "replay", NewReplay)
	Register(r, "exec", NewExec)
	return r
}

// Register adds the provider name to r, built by build from the target's
// own fields decoded into a C (restic's backends decode their configs so).
//
// The target object, spec.Config, holds the fields every target has, which
// are evals.TargetSpec's and are decoded already, and the provider's own,
// which are C's fields by their JSON names and are decoded strictly into a
// C. Any other field, and model and params when C has a method Unused that
// names them (a provider that sends no model), is reported as an
// *evals.FieldError "field does not apply to provider", naming the
// providers the field belongs to, in the order the target gives them; then
// build checks the rest, and its problems follow.
// A nil *P is never returned as a non-nil evals.Provider.
func Register[C any, P evals.Provider](r *Registry, name string, build func(cfg C, spec evals.TargetSpec, env Env) (P, error)) {
	typ := reflect.TypeFor[C]()
	own := jsonFields(typ)
	var unused []string
	if u, ok := any(*new(C)).(interface{ Unused() []string }); ok {
		unused = u.Unused()
	}
	r.entries[name] = entry{config: typ, own: own, unused: unused, build: func(spec evals.TargetSpec, env Env) (evals.Provider, error) {
		var cfg C
		errs, ok := decodeConfig(name, spec, own, unused, &cfg, func(field string) []string { return r.owners(field, name) })
		if !ok {
			return nil, joinErrors(errs)
		}
		p, err := build(cfg, spec, env)
		if err != nil {
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				return nil, joinErrors(append(errs, j.Unwrap()...))
			}
			return nil, joinErrors(append(errs, err))
		}
		if len(errs) > 0 {
			if c, ok := any(p).(io.Closer); ok {
				c.Close()
			}
			return nil, joinErrors(errs)
		}
		return p, nil
	}}
}

// Names returns the registered provider names, sorted.
func (r *Registry) Names() []string {
	return slices.Sorted(maps.Keys(r.entries))
}

// New builds the provider spec names, reading the environment through env.
func (r *Registry) New(spec evals.TargetSpec, env Env) (evals.Provider, error) {
	if spec.Provider == "" {
		return nil, evals.FieldErrorf("provider", "missing: expected one of %s", strings.Join(r.Names(), ", "))
	}
	e, ok := r.entries[spec.Provider]
	if !ok {
		return nil, evals.FieldErrorf("provider", "unknown provider %q: expected one of %s",
			spec.Provider, strings.Join(r.Names(), ", "))
	}
	return e.build(spec, env)
}

// Endpoint builds the endpoint of spec: its provider from r, decorated as
// Decorate says.
func (r *Registry) Endpoint(spec evals.TargetSpec, opts Options) (*evals.Endpoint, error) {
	base, err := r.New(spec, opts.Env)
	if err != nil {
		return nil, err
	}
	return Decorate(base, spec, opts), nil
}

// Names returns the names of the Default providers, sorted.
func Names() []string { return Default().Names() }

// New builds the provider spec names from the Default registry, reading
// the process's environment.
func New(spec evals.TargetSpec) (evals.Provider, error) { return Default().New(spec, Env{}) }

// Endpoint builds the endpoint of spec from the Default registry.
func Endpoint(spec evals.TargetSpec, opts Options) (*evals.Endpoint, error) {
	return Default().Endpoint(spec, opts)
}

// commonFields are the JSON names of the fields every target has, which
// evals.TargetSpec decodes and the engine reads.
var commonFields = jsonFields(reflect.TypeFor[evals.TargetSpec]())

// jsonFields returns the JSON names of a struct type's fields, in order.
func jsonFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// jsonName is the name of a struct field in JSON, "" when it has none.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch {
	case name == "-" || !f.IsExported():
		return ""
	case name == "":
		return f.Name
	}
	return name
}

// decodeConfig decodes the provider's own fields of spec.Config into cfg,
// strictly, and reports each field that does not apply to the provider
// (see Register), with the providers owners says it belongs to. ok is
// false when cfg could not be decoded.
func decodeConfig(provider string, spec evals.TargetSpec, own, unused []string, cfg any, owners func(field string) []string) (errs []error, ok bool) {
	notFor := func(field string) error {
		return evals.FieldErrorf(field, "field does not apply to provider %q%s", provider, belongsTo(owners(field)))
	}
	keys, values, err := objectFields(spec.Config)
	if err != nil {
		return []error{fmt.Errorf("the target is not a JSON object: %w", err)}, false
	}
	mine := map[string]json.RawMessage{}
	for _, k := range keys {
		switch {
		case slices.Contains(own, k):
			mine[k] = values[k]
		case slices.Contains(commonFields, k) && !slices.Contains(unused, k):
		default:
			errs = append(errs, notFor(k))
		}
	}
	// A target built in Go may set a common field without it being in
	// its object.
	sv := reflect.ValueOf(spec)
	for i := range sv.NumField() {
		name := jsonName(sv.Type().Field(i))
		if slices.Contains(unused, name) && !slices.Contains(keys, name) && !sv.Field(i).IsZero() {
			errs = append(errs, notFor(name))
		}
	}
	if len(mine) == 0 {
		return errs, true
	}
	b, err := json.Marshal(mine)
	if err != nil {
		return append(errs, err), false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			err = evals.FieldErrorf(te.Field, "expected %s, got %s", jsonKind(te.Type), te.Value)
		}
		return append(errs, err), false
	}
	return errs, true
}

// belongsTo says which providers a field is for: "" when none is.
func belongsTo(providers []string) string {
	switch len(providers) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(" (it is a field of provider %q)", providers[0])
	}
	quoted := make([]string, len(providers))
	for i, p := range providers {
		quoted[i] = strconv.Quote(p)
	}
	return " (it is a field of providers " + strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1] + ")"
}

// objectFields returns the members of a JSON object, their names in the
// order given. An empty raw is an empty object.
func objectFields(raw json.RawMessage) ([]string, map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("expected an object, got %.20s", raw)
	}
	var keys []string
	values := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := values[k]; !dup {
			keys = append(keys, k)
		}
		values[k] = v
	}
	return keys, values, nil
}

// joinErrors returns nil for no errors, the error itself for one (so that the
// caller sees an *evals.FieldError), and errors.Join otherwise; errors.As then
// finds the first, and a caller wanting all of them unwraps the join.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}
