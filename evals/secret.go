package evals

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// Redacted stands for a secret in what rubric shows or stores.
const Redacted = "[REDACTED]"

// secretWords are the words of a field name that say its value is a
// credential. Whole words, so that extra_body's max_new_tokens or
// skip_special_tokens are not taken for one.
var secretWords = map[string]bool{
	"auth": true, "authorization": true, "bearer": true, "cookie": true,
	"credential": true, "credentials": true, "key": true, "apikey": true,
	"passwd": true, "password": true, "pwd": true, "secret": true,
	"token": true, "accesstoken": true, "sessionid": true,
}

// SecretName reports whether a field's name says its value is a credential:
// one of its words (split at '_', '-', '.' and lower-to-upper case changes)
// is such as key, token, secret, password or auth. api_key, X-Api-Key,
// accessToken and client_secret are; top_k and max_tokens are not.
func SecretName(name string) bool {
	var word []rune
	prevLower := false
	found := false
	flush := func() {
		if len(word) > 0 && secretWords[strings.ToLower(string(word))] {
			found = true
		}
		word = word[:0]
	}
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			flush()
		}
		word = append(word, r)
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	flush()
	return found
}

// Which --set values are secrets, and so never shown in an error nor stored
// in run.json:
//   - every value under headers (an Authorization header, an API key);
//   - the user and password of any URL in the value (base_url's, or any
//     string that is a URL);
//   - under extra_body or an http target's body, the value of a key
//     SecretName takes for a credential (api_key, access_token);
//   - an api_key_env that is not the name of a variable: a key given by
//     mistake where its variable's name was expected.
//
// Everything else is shown and stored as given: the rest of a --set is
// what a user needs to see to correct it.

// redact sets o.shown, the argument as it may be shown or stored,
// and o.secrets, the values it hides.
func (o *override) redact() {
	o.shown = o.arg
	var secrets []string
	var v any
	switch top := o.field[0]; {
	case top == "headers":
		v = redactAll(o.value, &secrets)
		if m, ok := o.value.(map[string]any); ok && len(o.field) == 1 {
			shown := make(map[string]any, len(m))
			for k, x := range m {
				shown[k] = redactAll(x, &secrets)
			}
			v = shown
		}
	case top == "api_key_env" && len(o.field) == 1:
		v = o.value
		if s, ok := o.value.(string); ok && !ValidEnvName(s) {
			v = redactAll(s, &secrets)
		}
	case (top == "extra_body" || top == "body") && slices.ContainsFunc(o.field[1:], SecretName):
		v = redactAll(o.value, &secrets)
	case SecretName(o.field[len(o.field)-1]):
		// A field that targets do not have, named as a credential (a key
		// typed in place of api_key_env): its value is one.
		v = redactAll(o.value, &secrets)
	default:
		v = redactTree(o.value, &secrets)
	}
	if len(secrets) == 0 {
		return
	}
	lhs, _, _ := strings.Cut(o.arg, "=")
	if s, ok := v.(string); ok && (o.plain || s == Redacted) {
		o.shown = lhs + "=" + s
	} else {
		o.shown = lhs + "=" + compactJSON(v)
	}
	o.secrets = secrets
}

// redactAll returns Redacted for v, and adds to secrets each value it hides.
func redactAll(v any, secrets *[]string) any {
	switch v := v.(type) {
	case string:
		*secrets = append(*secrets, v)
	case json.Number:
		*secrets = append(*secrets, v.String())
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			redactAll(v[k], secrets)
		}
	case []any:
		for _, x := range v {
			redactAll(x, secrets)
		}
	}
	return Redacted
}

// redactTree returns v with the value of each key that names a credential
// redacted, and the user and password of each URL in it.
func redactTree(v any, secrets *[]string) any {
	switch v := v.(type) {
	case string:
		return redactUserinfo(v, secrets)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if SecretName(k) {
				out[k] = redactAll(x, secrets)
			} else {
				out[k] = redactTree(x, secrets)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redactTree(x, secrets)
		}
		return out
	}
	return v
}

// redactUserinfo returns s with the user and password of the URL it is
// replaced by Redacted, and adds them to secrets; other strings are
// returned as they are.
func redactUserinfo(s string, secrets *[]string) string {
	scheme := strings.Index(s, "://")
	if scheme <= 0 || strings.ContainsAny(s[:scheme], " \t/") {
		return s
	}
	host := s[scheme+3:]
	if end := strings.IndexAny(host, "/?#"); end >= 0 {
		host = host[:end]
	}
	at := strings.LastIndexByte(host, '@')
	if at < 0 {
		return s
	}
	info := host[:at]
	*secrets = append(*secrets, info)
	for _, part := range strings.SplitN(info, ":", 2) {
		*secrets = append(*secrets, part)
		if u, err := url.PathUnescape(part); err == nil && u != part {
			*secrets = append(*secrets, u)
		}
	}
	return s[:scheme+3] + Redacted + s[scheme+3+at:]
}

// compactJSON encodes v as compact JSON, without escaping HTML characters.
func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Redacted
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// newSecretRedactor returns a replacer of each secret, as given and as JSON
// writes it inside a string (with HTML characters escaped, as the schema's
// messages do, or not), by Redacted; nil when there is nothing to hide.
// Secrets shorter than minSecret are left: replacing every "a" would make a
// message unreadable, and hide little.
func newSecretRedactor(secrets []string) *strings.Replacer {
	var all []string
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		all = append(all, s)
		for _, q := range []string{jsonText(s), compactJSON(s)} {
			if len(q) > 2 && q[1:len(q)-1] != s {
				all = append(all, q[1:len(q)-1])
			}
		}
	}
	if len(all) == 0 {
		return nil
	}
	slices.SortFunc(all, func(a, b string) int { return len(b) - len(a) })
	all = slices.Compact(all)
	pairs := make([]string, 0, 2*len(all))
	for _, s := range all {
		pairs = append(pairs, s, Redacted)
	}
	return strings.NewReplacer(pairs...)
}

const minSecret = 4

// RedactOverride returns a --set argument as it may be shown in a message or
// stored: its secrets (see above) replaced by Redacted. secret reports
// whether it held any. An argument that does not parse is shown as its
// TARGET.FIELD alone, or not at all when it does not look like one.
func RedactOverride(arg string) (shown string, secret bool) {
	o, err := parseOverride(arg)
	if err != nil {
		return o.shown, true
	}
	return o.shown, len(o.secrets) > 0
}

// RedactCredentials returns v (a decoded JSON value, such as extra_body)
// with the value of each key that names a credential (SecretName) replaced
// by Redacted, and the user and password of each URL in it; secrets are the
// values it replaced. v itself is not changed.
func RedactCredentials(v any) (shown any, secrets []string) {
	shown = redactTree(v, &secrets)
	return shown, secrets
}

// OverrideField returns the TARGET.FIELD a --set argument sets.
func OverrideField(arg string) string {
	lhs, _, _ := strings.Cut(arg, "=")
	return lhs
}
