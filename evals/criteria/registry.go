package criteria

import (
	"encoding/json"
	"os"
	"sort"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// Env is what factories need from the suite being loaded.
type Env struct {
	// Dir is the folder against which relative file paths (schema_file) resolve.
	Dir string
	// Target resolves a reference to a target that a criterion calls (an LLM
	// judge, an embeddings endpoint), found in the criterion's field (a dotted
	// path, "judge" or "judges.1"): a target's name or an inline target. The
	// endpoint it returns is built once per run and goes through the same
	// retries, rate limits and cache as the targets under test. Nil when
	// criteria are built alone (tests); a factory then reports that it
	// cannot resolve.
	Target func(field string, ref json.RawMessage) (*evals.Endpoint, error)
	// Environ is the environment a scorer process (exec) inherits from, as
	// os.Environ lists it; nil means the process's own.
	Environ func() []string
}

// environ returns the environment scorer processes inherit from.
func (e Env) environ() []string {
	if e.Environ != nil {
		return e.Environ()
	}
	return os.Environ()
}

// Factory builds the scorer of one criterion from its spec. Errors about a
// field are *evals.FieldError.
type Factory func(spec evals.CriterionSpec, env Env) (evals.Scorer, error)

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
		"levenshtein":  newLevenshtein,
		"jaccard":      newJaccard,
		"exact-match":  newExactMatch,
		"f1":           newF1,
		"rouge":        newRouge,
		"bleu":         newBLEU,
		"numeric":      newNumeric,
		"ends-with":    newEndsWith,
		"one-of":       newOneOf,
		"length":       newLength,
		"not":          newNot,
		"all":          newAll,
		"any":          newAny,
		"weighted":     newWeighted,
		"json-match":   newJSONMatch,
		"json-field":   newJSONField,
		"latency":      newLatency,
		"tokens":       newTokens,
		"cost":         newCost,
		"exec":         newExec,
		"judge":        newJudge,
		"tool-call":    newToolCall,
		"trajectory":   newTrajectory,
		"no-tool-call": newNoToolCall,
		"steps":        newSteps,
		"tool-errors":  newToolErrors,
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
	textMetricConfig{},
	jaccardConfig{},
	bleuConfig{},
	rougeConfig{},
	numericConfig{},
	oneOfConfig{},
	lengthConfig{},
	notConfig{},
	groupConfig{},
	jsonMatchConfig{},
	jsonFieldConfig{},
	latencyConfig{},
	tokensConfig{},
	costConfig{},
	execConfig{},
	judgeConfig{},
	embeddingConfig{},
	toolCallConfig{},
	trajectoryConfig{},
	noToolCallConfig{},
	stepsConfig{},
	toolErrorsConfig{},
}

// registry is Registry's map, built once for New.
var registry = Registry()

// Names returns the registered criterion types, sorted.
func Names() []string { return namesOf(registry) }

func namesOf(reg map[string]Factory) []string {
	names := make([]string, 0, len(reg))
	for name := range reg {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// New builds the scorer for spec.
func New(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	return build(registry, spec, env)
}

// build is New with the registry given: the factories of criteria that hold
// others (not, the groups, json-field) build them through it with a registry
// of their own, since Go forbids a package variable, registry, whose
// initialiser leads back to itself.
func build(reg map[string]Factory, spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	f, ok := reg[spec.Type]
	if !ok {
		if spec.Type == "" {
			return nil, evals.FieldErrorf("type", "missing: expected one of %s", strings.Join(namesOf(reg), ", "))
		}
		if c := evals.Closest(spec.Type, namesOf(reg)); c != "" {
			return nil, evals.FieldErrorf("type", "unknown criterion type %q: did you mean %q?", spec.Type, c)
		}
		return nil, evals.FieldErrorf("type", "unknown criterion type %q: expected one of %s", spec.Type, strings.Join(namesOf(reg), ", "))
	}
	return f(spec, env)
}
