package evals

import (
	"slices"
	"strings"
	"testing"
)

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"api_key": true, "X-Api-Key": true, "apiKey": true, "apikey": true, "access_token": true,
		"accessToken": true, "client_secret": true, "password": true, "Authorization": true,
		"Proxy-Authorization": true, "Cookie": true, "X-Auth-Token": true, "credentials": true,
		"top_k": false, "max_tokens": false, "max_new_tokens": false, "skip_special_tokens": false,
		"chat_template_kwargs": false, "keep_alive": false, "monkey": false, "": false,
	} {
		if got := SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRedactOverride(t *testing.T) {
	for _, tc := range []struct {
		arg, shown string
		secret     bool
	}{
		{"x.model=gpt-4o", "x.model=gpt-4o", false},
		{"*.params.temperature=0", "*.params.temperature=0", false},
		{"x.base_url=http://localhost:8000/v1", "x.base_url=http://localhost:8000/v1", false},
		{"x.api_key_env=OPENAI_API_KEY", "x.api_key_env=OPENAI_API_KEY", false},
		{"x.extra_body.top_k=20", "x.extra_body.top_k=20", false},
		{`x.extra_body={"min_tokens":2}`, `x.extra_body={"min_tokens":2}`, false},
		// Every header value.
		{"x.headers.X-Org=acme", "x.headers.X-Org=[REDACTED]", true},
		{"x.headers.Authorization=Bearer sk-1234", "x.headers.Authorization=[REDACTED]", true},
		{`x.headers={"A":"sk-1234","B":"b"}`, `x.headers={"A":"[REDACTED]","B":"[REDACTED]"}`, true},
		{`x.headers="oops"`, `x.headers=[REDACTED]`, true},
		// A URL's user and password, wherever the URL is.
		{"x.base_url=https://bob:pw1234@gw.example/v1", "x.base_url=https://[REDACTED]@gw.example/v1", true},
		{"x.base_url=https://sk-1234@gw.example/v1?a=1&b=2", "x.base_url=https://[REDACTED]@gw.example/v1?a=1&b=2", true},
		{`x.extra_body={"callback":"https://u:p@cb.example/x"}`, `x.extra_body={"callback":"https://[REDACTED]@cb.example/x"}`, true},
		{`x.base_url="https://bob:pw@gw/v1"`, `x.base_url="https://[REDACTED]@gw/v1"`, true},
		{"x.base_url=mailto:bob@example.com", "x.base_url=mailto:bob@example.com", false},
		// extra_body keys that name a credential.
		{"x.extra_body.api_key=sk-1234", "x.extra_body.api_key=[REDACTED]", true},
		{"x.extra_body.auth.token=42", "x.extra_body.auth.token=[REDACTED]", true},
		{`x.extra_body={"top_k":5,"api_key":"sk-1234"}`, `x.extra_body={"api_key":"[REDACTED]","top_k":5}`, true},
		// An http target's body keys that name a credential.
		{"x.body.api_key=sk-1234", "x.body.api_key=[REDACTED]", true},
		{"x.body.input={{ prompt }}", "x.body.input={{ prompt }}", false},
		{`x.body={"input":"{{ prompt }}","client_secret":"sk-1234"}`, `x.body={"client_secret":"[REDACTED]","input":"{{ prompt }}"}`, true},
		// A field named as a credential, which no target has.
		{"x.api_key=sk-1234", "x.api_key=[REDACTED]", true},
		{"x.params.access_token=sk-1234", "x.params.access_token=[REDACTED]", true},
		{"x.params.max_tokens=20", "x.params.max_tokens=20", false},
		// An api_key_env that is no variable's name: a key.
		{"x.api_key_env=sk-1234", "x.api_key_env=[REDACTED]", true},
		// Arguments that do not parse.
		{"sk-1234", "[REDACTED]", true},
		{"x.model", "x.model", true},
		{"Authorization=Bearer sk-1234", "Authorization=[REDACTED]", true},
	} {
		shown, secret := RedactOverride(tc.arg)
		if shown != tc.shown || secret != tc.secret {
			t.Errorf("RedactOverride(%q) = %q, %v; want %q, %v", tc.arg, shown, secret, tc.shown, tc.secret)
		}
		// What is shown is stored, and redacts to itself.
		if again, _ := RedactOverride(shown); again != shown {
			t.Errorf("RedactOverride(%q) = %q: not stable", shown, again)
		}
	}
}

func TestSecretRedactor(t *testing.T) {
	o, err := parseOverride(`x.headers.A=pw<&>"1234`)
	if err != nil {
		t.Fatal(err)
	}
	r := newSecretRedactor(append(o.secrets, "abc"))
	for _, msg := range []string{`got "pw\u003c\u0026\u003e\"1234"`, `got "pw<&>\"1234"`, `pw<&>"1234`} {
		if got := r.Replace(msg); strings.Contains(got, "1234") || !strings.Contains(got, Redacted) {
			t.Errorf("redacting %s gave %s", msg, got)
		}
	}
	if got := r.Replace("abc"); got != "abc" {
		t.Errorf("a secret shorter than %d characters was replaced: %s", minSecret, got)
	}
	if newSecretRedactor(nil) != nil || !slices.Equal(o.secrets, []string{`pw<&>"1234`}) {
		t.Errorf("secrets %q", o.secrets)
	}
}
