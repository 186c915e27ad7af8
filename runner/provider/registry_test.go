package provider

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

func TestNames(t *testing.T) {
	if got, want := Names(), []string{"openai", "replay"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	r := Registry()
	delete(r, "openai")
	if _, ok := Registry()["openai"]; !ok {
		t.Errorf("changing the map Registry returned changed the registry")
	}
}

func TestNewUnknownProvider(t *testing.T) {
	tests := []struct{ provider, want string }{
		{"antropic", `provider: unknown provider "antropic": expected one of openai, replay`},
		{"OpenAI", `provider: unknown provider "OpenAI": expected one of openai, replay`},
		{"", `provider: missing: expected one of openai, replay`},
	}
	for _, tt := range tests {
		p, err := New(evals.TargetSpec{Name: "t", Provider: tt.provider})
		var fe *evals.FieldError
		if p != nil || err == nil || err.Error() != tt.want || !errors.As(err, &fe) || fe.Field != "provider" {
			t.Errorf("New(provider %q) = %v, %v; want nil, FieldError %q", tt.provider, p, err, tt.want)
		}
	}
}

// TestSpecFieldsCoverTargetSpec fails when evals.TargetSpec gains a field the
// factories do not know about, so that it is neither silently ignored by
// providers that do not use it nor silently accepted.
func TestSpecFieldsCoverTargetSpec(t *testing.T) {
	known := slices.Clone(commonFields)
	for _, f := range specFields {
		known = append(known, f.name)
	}
	typ := reflect.TypeFor[evals.TargetSpec]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name == "-" || !typ.Field(i).IsExported() {
			continue
		}
		if !slices.Contains(known, name) {
			t.Errorf("evals.TargetSpec field %q is in neither commonFields nor specFields", name)
		}
	}
}

// conformance gives, for each registered provider, a minimal valid target
// that answers case "ok" and fails case "fail", and the secrets it uses.
var conformance = map[string]func(t *testing.T) (spec evals.TargetSpec, secrets []string){
	"openai": func(t *testing.T) (evals.TargetSpec, []string) {
		const key, header = "sk-conformance-0123456789", "hdr-conformance-secret"
		t.Setenv("RUBRIC_CONFORMANCE_KEY", key)
		t.Setenv("RUBRIC_CONFORMANCE_HEADER", header)
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), `"fail`) {
				// Echo the credentials, as a misbehaving gateway might.
				answer(400, `{"error":{"message":"rejected `+r.Header.Get("Authorization")+` `+r.Header.Get("X-Gateway-Key")+`"}}`)(w, r)
				return
			}
			answer(200, okBody)(w, r)
		})
		spec := openaiSpec(srv)
		spec.APIKeyEnv = "RUBRIC_CONFORMANCE_KEY"
		spec.Headers = map[string]string{"X-Gateway-Key": "${RUBRIC_CONFORMANCE_HEADER}"}
		return spec, []string{key, header}
	},
	"replay": func(t *testing.T) (evals.TargetSpec, []string) {
		dir := writeFile(t, "r.jsonl", `{"case_id":"ok","output":"billing"}`+"\n")
		return evals.TargetSpec{Name: "t", Provider: "replay", Path: "r.jsonl", Dir: dir}, nil
	},
}

// TestConformance runs every registered provider through the behaviour the
// runner relies on.
func TestConformance(t *testing.T) {
	for _, name := range Names() {
		if conformance[name] == nil {
			t.Errorf("provider %q has no conformance entry", name)
		}
	}
	for name := range conformance {
		if _, ok := Registry()[name]; !ok {
			t.Errorf("conformance entry %q is not a registered provider", name)
		}
	}
	for _, name := range Names() {
		setup := conformance[name]
		if setup == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			spec, secrets := setup(t)
			p, err := New(spec)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c, ok := p.(io.Closer); ok {
				t.Cleanup(func() { c.Close() })
			}
			request := func(caseID string) *evals.Request {
				return &evals.Request{Target: spec.Name, CaseID: caseID, Messages: []evals.Message{
					{Role: "system", Content: "Classify."}, {Role: "user", Content: caseID},
				}}
			}
			noSecrets := func(what, s string) {
				t.Helper()
				for _, secret := range secrets {
					if strings.Contains(s, secret) {
						t.Errorf("%s contains secret %q: %s", what, secret, s)
					}
				}
			}
			checkSent := func(what, caseID string, sent *evals.SentRequest) {
				t.Helper()
				if sent == nil {
					t.Errorf("%s: Sent is nil", what)
					return
				}
				if sent.URL == "" || !json.Valid(sent.Body) {
					t.Errorf("%s: Sent = %q %s, want a URL and a JSON body", what, sent.URL, sent.Body)
				}
				var body struct{ Messages []evals.Message }
				json.Unmarshal(sent.Body, &body)
				if len(body.Messages) != 2 || body.Messages[1].Content != caseID {
					t.Errorf("%s: Sent body %s does not hold the messages", what, sent.Body)
				}
				noSecrets(what+": Sent", sent.URL+string(sent.Body))
			}

			t.Run("answers", func(t *testing.T) {
				resp, err := p.Complete(t.Context(), request("ok"))
				if err != nil {
					t.Fatal(err)
				}
				if resp.Text != "billing" {
					t.Errorf("Text = %q, want billing", resp.Text)
				}
				checkSent("response", "ok", resp.Sent)
			})

			t.Run("fails as a ProviderError", func(t *testing.T) {
				_, err := p.Complete(t.Context(), request("fail"))
				var pe *evals.ProviderError
				if !errors.As(err, &pe) {
					t.Fatalf("error %v (%T) is not a *evals.ProviderError", err, err)
				}
				noSecrets("error", err.Error()+" "+pe.Message)
				checkSent("error", "fail", pe.Sent)
			})

			t.Run("honours a canceled context", func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				start := time.Now()
				resp, err := p.Complete(ctx, request("ok"))
				if resp != nil || !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
					t.Errorf("got %v, %v after %v; want an error wrapping context.Canceled at once", resp, err, time.Since(start))
				}
				if got := evals.AsResultError(err); got.Kind != evals.ErrKindCanceled {
					t.Errorf("recorded as %q, want canceled", got.Kind)
				}
			})

			t.Run("concurrent use", func(t *testing.T) {
				var wg sync.WaitGroup
				for range 8 {
					wg.Go(func() {
						if resp, err := p.Complete(t.Context(), request("ok")); err != nil || resp.Text != "billing" {
							t.Errorf("got %v, %v", resp, err)
						}
					})
				}
				wg.Wait()
			})
		})
	}
}
