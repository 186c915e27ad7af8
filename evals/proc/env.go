package proc

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// secretWords mark environment variables that hold credentials, by name.
var secretWords = []string{"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "COOKIE"}

// SecretName reports whether an environment variable's name says it holds
// a credential, so that a command does not get it unless told to.
func SecretName(name string) bool {
	up := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}

// LookupEnv finds a variable in an environment as os.Environ lists it; the
// last of several settings wins, as it does for a process.
func LookupEnv(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// Environ builds a command's environment from its inherit_env and env
// fields: all of rubric's environment (environ) but the variables that look
// like credentials (the default, true), none of it (false), or the
// variables named (an array); then env, which adds or overrides. Problems
// are *evals.FieldError at inherit_env or env.
func Environ(inherit json.RawMessage, extra map[string]string, environ []string) ([]string, error) {
	var out []string
	inherit = bytes.TrimSpace(inherit)
	switch {
	case len(inherit) == 0 || string(inherit) == "true":
		for _, kv := range environ {
			if name, _, _ := strings.Cut(kv, "="); !SecretName(name) {
				out = append(out, kv)
			}
		}
	case string(inherit) == "false":
	case inherit[0] == '[':
		names, err := InheritNames(inherit)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			if v, ok := LookupEnv(environ, name); ok {
				out = append(out, name+"="+v)
			}
		}
	default:
		return nil, evals.FieldErrorf("inherit_env", "expected true, false or an array of variable names, got %s", evals.JSONKind(inherit))
	}
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		if !evals.ValidEnvName(name) {
			return nil, evals.FieldErrorf("env."+name, "%q is not an environment variable name: expected letters, digits and '_'", name)
		}
		if strings.IndexByte(extra[name], 0) >= 0 {
			return nil, evals.FieldErrorf("env."+name, "holds a NUL character, which no environment variable can")
		}
		out = append(out, name+"="+extra[name])
	}
	return out, nil
}

// InheritNames returns the variables an inherit_env array names; nil for
// true, false or nothing.
func InheritNames(inherit json.RawMessage) ([]string, error) {
	inherit = bytes.TrimSpace(inherit)
	if len(inherit) == 0 || inherit[0] != '[' {
		return nil, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(inherit, &elems); err != nil {
		return nil, evals.FieldErrorf("inherit_env", "%v", err)
	}
	names := make([]string, 0, len(elems))
	for i, el := range elems {
		field := "inherit_env." + strconv.Itoa(i)
		var name string
		if len(el) == 0 || el[0] != '"' || json.Unmarshal(el, &name) != nil {
			return nil, evals.FieldErrorf(field, "expected the name of an environment variable, got %s", evals.JSONKind(el))
		}
		if !evals.ValidEnvName(name) {
			return nil, evals.FieldErrorf(field, "%q is not an environment variable name: expected letters, digits and '_'", name)
		}
		names = append(names, name)
	}
	return names, nil
}
