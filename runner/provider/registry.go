package provider

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// Factory builds a provider from a target. It checks the target's fields and
// returns every problem as an *evals.FieldError naming the JSON field.
type Factory func(spec evals.TargetSpec) (evals.Provider, error)

// Registry returns the providers by the name a target gives in "provider". It
// returns a new map on each call, so callers may add to it (a test double) or
// remove from it without affecting anyone else.
func Registry() map[string]Factory {
	return map[string]Factory{
		"openai": factory(NewOpenAI),
		"replay": factory(NewReplay),
	}
}

// Names returns the registered provider names, sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(Registry()))
}

// New builds the provider spec names.
func New(spec evals.TargetSpec) (evals.Provider, error) {
	if spec.Provider == "" {
		return nil, evals.FieldErrorf("provider", "missing: expected one of %s", strings.Join(Names(), ", "))
	}
	f, ok := Registry()[spec.Provider]
	if !ok {
		return nil, evals.FieldErrorf("provider", "unknown provider %q: expected one of %s",
			spec.Provider, strings.Join(Names(), ", "))
	}
	return f(spec)
}

// factory adapts a constructor returning a concrete type, so that a failed
// construction yields a nil evals.Provider rather than a non-nil interface
// holding a nil pointer.
func factory[P evals.Provider](newP func(evals.TargetSpec) (P, error)) Factory {
	return func(spec evals.TargetSpec) (evals.Provider, error) {
		p, err := newP(spec)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// commonFields are the TargetSpec fields every provider accepts.
// retry, rate_limit and cache configure the decorators Wrap composes; price
// is read by the runner for each result's cost.
var commonFields = []string{"name", "provider", "concurrency", "timeout", "retry", "rate_limit", "cache", "price"}

// specFields are the provider-specific TargetSpec fields, by JSON name, in the
// order of the struct. A provider rejects those it does not use, so a field
// meant for another provider fails loudly instead of being ignored.
var specFields = []struct {
	name string
	set  func(*evals.TargetSpec) bool
}{
	{"base_url", func(s *evals.TargetSpec) bool { return s.BaseURL != "" }},
	{"model", func(s *evals.TargetSpec) bool { return s.Model != "" }},
	{"api_key_env", func(s *evals.TargetSpec) bool { return s.APIKeyEnv != "" }},
	{"headers", func(s *evals.TargetSpec) bool { return len(s.Headers) > 0 }},
	{"params", func(s *evals.TargetSpec) bool { return s.Params != nil }},
	{"extra_body", func(s *evals.TargetSpec) bool { return len(s.ExtraBody) > 0 }},
	{"path", func(s *evals.TargetSpec) bool { return s.Path != "" }},
	{"replay_as", func(s *evals.TargetSpec) bool { return s.ReplayAs != "" }},
}

// unusedFields returns an error for each provider-specific field spec sets
// that the provider does not list in uses.
func unusedFields(spec *evals.TargetSpec, provider string, uses ...string) []error {
	var errs []error
	for _, f := range specFields {
		if f.set(spec) && !slices.Contains(uses, f.name) {
			errs = append(errs, evals.FieldErrorf(f.name, "field does not apply to provider %q", provider))
		}
	}
	return errs
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
