package provider

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

func TestNames(t *testing.T) {
	if got, want := Names(), []string{"anthropic", "azure", "exec", "http", "openai", "replay"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	r := Default()
	Register(r, "fake", func(struct{}, evals.TargetSpec, Env) (*evalstest.Provider, error) { return &evalstest.Provider{}, nil })
	if got := Default().Names(); slices.Contains(got, "fake") {
		t.Errorf("adding to the registry Default returned changed the next one: %q", got)
	}
}

func TestNewUnknownProvider(t *testing.T) {
	tests := []struct{ provider, want string }{
		{"antropic", `provider: unknown provider "antropic": expected one of anthropic, azure, exec, http, openai, replay`},
		{"OpenAI", `provider: unknown provider "OpenAI": expected one of anthropic, azure, exec, http, openai, replay`},
		{"", `provider: missing: expected one of anthropic, azure, exec, http, openai, replay`},
	}
	for _, tt := range tests {
		p, err := New(evals.TargetSpec{Name: "t", Provider: tt.provider})
		var fe *evals.FieldError
		if p != nil || err == nil || err.Error() != tt.want || !errors.As(err, &fe) || fe.Field != "provider" {
			t.Errorf("New(provider %q) = %v, %v; want nil, FieldError %q", tt.provider, p, err, tt.want)
		}
	}
}

// conformance gives, for each registered provider, a minimal valid target
// that answers case "ok" and fails case "fail", and the secrets it uses. An
// entry "NAME/VARIANT" runs the provider NAME once more, set up otherwise
// (streaming, another address).
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
		return spec.spec(), []string{key, header}
	},
	"anthropic": func(t *testing.T) (evals.TargetSpec, []string) {
		const key, header = "sk-ant-conformance-0123456789", "hdr-anthropic-conformance-secret"
		t.Setenv("RUBRIC_CONFORMANCE_ANTHROPIC_KEY", key)
		t.Setenv("RUBRIC_CONFORMANCE_HEADER", header)
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), `"fail`) {
				// Echo the credentials, as a misbehaving gateway might.
				answer(400, anthropicErrorBody("invalid_request_error", "rejected "+r.Header.Get("X-Api-Key")+" "+r.Header.Get("X-Gateway-Key")))(w, r)
				return
			}
			answer(200, anthropicBody("billing"))(w, r)
		})
		spec := anthropicSpec(srv)
		spec.APIKeyEnv = "RUBRIC_CONFORMANCE_ANTHROPIC_KEY"
		spec.Headers = map[string]string{"X-Gateway-Key": "${RUBRIC_CONFORMANCE_HEADER}"}
		return spec.spec(), []string{key, header}
	},
	"http": func(t *testing.T) (evals.TargetSpec, []string) {
		const header, field = "hdr-conformance-http-secret", "body-conformance-http-secret"
		t.Setenv("RUBRIC_CONFORMANCE_HTTP_KEY", header)
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), `"fail`) {
				// Echo the credentials, as a misbehaving service might.
				answer(400, `{"error":"rejected `+r.Header.Get("X-Service-Key")+` `+string(body)+`"}`)(w, r)
				return
			}
			answer(200, `{"output":"billing"}`)(w, r)
		})
		return httpTarget{evals.TargetSpec{Name: "t", Provider: "http"}, HTTPConfig{
			URL:      srv.URL + "/classify",
			Headers:  map[string]string{"X-Service-Key": "${RUBRIC_CONFORMANCE_HTTP_KEY}"},
			Body:     NewHTTPBody(`{"messages": "{{ messages | json }}", "api_key": "` + field + `"}`),
			Response: &HTTPResponse{Text: "output"},
		}}.spec(), []string{header, field}
	},
	"exec": func(t *testing.T) (evals.TargetSpec, []string) {
		// The test binary as the model, kept running; it inherits a
		// key, which it says on stderr when it fails.
		const key = "sk-conformance-exec-0123456789"
		t.Setenv("RUBRIC_EXEC_SECRET", key)
		spec := modelSpec(t, "lines")
		spec.Protocol = ptr("lines")
		spec.InheritEnv = json.RawMessage(`["RUBRIC_EXEC_SECRET"]`)
		return spec.spec(), []string{key}
	},
	"openai/stream": func(t *testing.T) (evals.TargetSpec, []string) {
		const key = "sk-conformance-0123456789"
		t.Setenv("RUBRIC_CONFORMANCE_KEY", key)
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), `"fail`) {
				answer(400, `{"error":{"message":"rejected `+r.Header.Get("Authorization")+`"}}`)(w, r)
				return
			}
			streamEvents(0, okStream...)(w, r)
		})
		spec := streamTarget(srv.URL)
		spec.APIKeyEnv = "RUBRIC_CONFORMANCE_KEY"
		return spec.spec(), []string{key}
	},
	"azure": func(t *testing.T) (evals.TargetSpec, []string) {
		const key = "az-conformance-0123456789"
		t.Setenv("RUBRIC_CONFORMANCE_KEY", key)
		srv := newAzureServer(t, key, "gpt4o-mini", "2024-10-21")
		return azureTarget("t", AzureConfig{Endpoint: srv.URL, Deployment: "gpt4o-mini", APIVersion: "2024-10-21", APIKeyEnv: "RUBRIC_CONFORMANCE_KEY"}, "gpt-4o-mini"), []string{key}
	},
	"azure/v1-stream": func(t *testing.T) (evals.TargetSpec, []string) {
		const key = "az-conformance-0123456789"
		t.Setenv("RUBRIC_CONFORMANCE_KEY", key)
		srv := newAzureServer(t, key, "gpt4o-mini", "2024-10-21")
		return azureTarget("t", AzureConfig{Endpoint: srv.URL, APIKeyEnv: "RUBRIC_CONFORMANCE_KEY", Stream: true}, "gpt4o-mini"), []string{key}
	},
	"replay": func(t *testing.T) (evals.TargetSpec, []string) {
		dir := writeFile(t, "r.jsonl", `{"case_id":"ok","output":"billing"}`+"\n")
		return replayTarget{evals.TargetSpec{Name: "t", Provider: "replay", Dir: dir}, ReplayConfig{Path: "r.jsonl"}}.spec(), nil
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
		if provider, _, _ := strings.Cut(name, "/"); !slices.Contains(Names(), provider) {
			t.Errorf("conformance entry %q is not a registered provider", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(conformance)) {
		setup := conformance[name]
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
				// The last message is the user's: the system message may
				// have a field of its own (anthropic's system).
				var body struct{ Messages []evals.Message }
				json.Unmarshal(sent.Body, &body)
				if n := len(body.Messages); n == 0 || body.Messages[n-1].Content != caseID {
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

// fakeConfig is the config of a provider registered by a test.
type fakeConfig struct {
	Endpoint string `json:"endpoint"`
	Depth    int    `json:"depth"`
}

// offlineConfig is the config of a provider with no use for a model.
type offlineConfig struct {
	File string `json:"file"`
}

func (offlineConfig) Unused() []string { return []string{"model", "params"} }

// TestRegisterDecodesConfig checks what Register does with a target before
// its provider's factory sees it: the provider's own fields decoded into its
// config, the common ones left alone, and every other field reported where
// the target gives it, before the factory's own problems.
func TestRegisterDecodesConfig(t *testing.T) {
	r := NewRegistry()
	var got fakeConfig
	Register(r, "fake", func(cfg fakeConfig, spec evals.TargetSpec, _ Env) (*evalstest.Provider, error) {
		got = cfg
		if cfg.Depth == 0 {
			return nil, evals.FieldErrorf("depth", "required by provider %q", "fake")
		}
		return &evalstest.Provider{}, nil
	})
	Register(r, "offline", func(cfg offlineConfig, spec evals.TargetSpec, _ Env) (*evalstest.Provider, error) {
		return &evalstest.Provider{}, nil
	})
	tests := []struct {
		name   string
		spec   evals.TargetSpec
		want   fakeConfig
		fields []string
		err    string
	}{
		{"own and common fields", targetOf(t, `{"name": "t", "provider": "fake", "endpoint": "e", "depth": 2, "model": "m", "params": {"seed": 1}, "concurrency": 3, "timeout": "1s", "retry": {"attempts": 1}, "rate_limit": {"adaptive": true}, "cache": false, "price": {"input": 1, "output": 2}}`),
			fakeConfig{"e", 2}, nil, ""},
		{"unknown fields, in the target's order, then the factory's", targetOf(t, `{"name": "t", "provider": "fake", "replay_as": "a", "endpoint": "e", "base_url": "b"}`),
			fakeConfig{Endpoint: "e"}, []string{"replay_as", "base_url", "depth"},
			"replay_as: field does not apply to provider \"fake\"\nbase_url: field does not apply to provider \"fake\"\ndepth: required by provider \"fake\""},
		{"another provider's field names it", targetOf(t, `{"name": "t", "provider": "fake", "depth": 1, "file": "f"}`),
			fakeConfig{Depth: 1}, []string{"file"},
			`file: field does not apply to provider "fake" (it is a field of provider "offline")`},
		{"a value of the wrong type", targetOf(t, `{"provider": "fake", "depth": "deep"}`),
			fakeConfig{}, []string{"depth"}, `depth: expected an integer, got string`},
		{"no object", evals.TargetSpec{Name: "t", Provider: "fake"},
			fakeConfig{}, []string{"depth"}, `depth: required by provider "fake"`},
		{"model unused", targetOf(t, `{"provider": "offline", "file": "f", "params": {}, "model": "m"}`),
			fakeConfig{}, []string{"params", "model"},
			"params: field does not apply to provider \"offline\" (it is a field of provider \"fake\")\nmodel: field does not apply to provider \"offline\" (it is a field of provider \"fake\")"},
		{"model unused, set in Go", evals.TargetSpec{Provider: "offline", Model: "m"},
			fakeConfig{}, []string{"model"}, `model: field does not apply to provider "offline" (it is a field of provider "fake")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = fakeConfig{}
			p, err := r.New(tt.spec, Env{})
			if tt.err == "" {
				if err != nil || p == nil {
					t.Fatalf("New: %v, %v", p, err)
				}
			} else if p != nil || err == nil || err.Error() != tt.err {
				t.Fatalf("New = %#v, %v; want a nil Provider and\n%s", p, err, tt.err)
			}
			if fields := fieldsOf(err); !slices.Equal(fields, tt.fields) {
				t.Errorf("FieldError fields %q, want %q", fields, tt.fields)
			}
			if got != tt.want {
				t.Errorf("config %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestOpenAIEnv checks that the openai provider reads the API key and the
// variables its headers refer to through the Env it is given, not from the
// process.
func TestOpenAIEnv(t *testing.T) {
	var gotAuth, gotToken string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotToken = r.Header.Get("Authorization"), r.Header.Get("X-Token")
		answer(200, okBody)(w, r)
	})
	t.Setenv("RUBRIC_ENV_KEY", "sk-from-the-process")
	vars := map[string]string{"RUBRIC_ENV_KEY": "sk-injected", "RUBRIC_ENV_TOKEN": "tok-injected"}
	env := Env{LookupEnv: func(name string) (string, bool) { v, ok := vars[name]; return v, ok }}
	spec := openaiSpec(srv)
	spec.APIKeyEnv = "RUBRIC_ENV_KEY"
	spec.Headers = map[string]string{"X-Token": "${RUBRIC_ENV_TOKEN}"}
	ep, err := Default().Endpoint(spec.spec(), Options{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	if _, err := ep.Provider.Complete(t.Context(), testRequest); err != nil {
		t.Fatal(err)
	}
	if gotAuth != "Bearer sk-injected" || gotToken != "tok-injected" {
		t.Errorf("sent Authorization %q, X-Token %q; want the injected values", gotAuth, gotToken)
	}
	delete(vars, "RUBRIC_ENV_KEY")
	if _, err := Default().New(spec.spec(), env); err == nil || err.Error() != "api_key_env: environment variable RUBRIC_ENV_KEY is not set" {
		t.Errorf("New without the key in its Env: %v; want it unset, whatever the process has", err)
	}
}
