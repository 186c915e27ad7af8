package criteria

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
)

// Env is what factories need from the suite being loaded.
type Env struct {
	// Dir is the folder against which relative file paths (schema_file) resolve.
	Dir string
	// Target resolves a reference to a target that a criterion calls (an LLM
	// judge, an embeddings endpoint), found in the criterion's field (a dotted
	// path, "judge" or "judges.1"): a target's name or an inline target. The
	// provider it returns goes through the same retries, rate limits and
	// cache as the targets under test once the run starts. Nil when criteria
	// are built alone (tests); a factory then reports that it cannot resolve.
	Target func(field string, ref json.RawMessage) (runner.Provider, *evals.TargetSpec, error)
}

// Factory builds the scorer of one criterion from its spec. Errors about a
// field are *evals.FieldError.
type Factory func(spec evals.CriterionSpec, env Env) (runner.Scorer, error)

// Registry returns the criterion types and their factories.
func Registry() map[string]Factory {
	return map[string]Factory{
		"equals":       newEquals,
		"starts-with":  newStartsWith,
		"contains":     newContains,
		"embedding":    newEmbedding,
		"not-contains": newNotContains,
		"regex":        newRegex,
		"json-valid":   newJSONValid,
		"json-schema":  newJSONSchema,
		"judge":        newJudge,
	}
}

// configs lists the config struct of every criterion type, so that a field one
// type accepts is reported as not applying to another rather than as unknown.
var configs = []any{
	equalsConfig{},
	labelConfig{},
	containsConfig{},
	regexConfig{},
	jsonValidConfig{},
	jsonSchemaConfig{},
	judgeConfig{},
	embeddingConfig{},
}

// registry is Registry's map, built once for New.
var registry = Registry()

// Names returns the registered criterion types, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// New builds the scorer for spec.
func New(spec evals.CriterionSpec, env Env) (runner.Scorer, error) {
	f, ok := registry[spec.Type]
	if !ok {
		if spec.Type == "" {
			return nil, evals.FieldErrorf("type", "missing: expected one of %s", strings.Join(Names(), ", "))
		}
		return nil, evals.FieldErrorf("type", "unknown criterion type %q: expected one of %s", spec.Type, strings.Join(Names(), ", "))
	}
	return f(spec, env)
}
