package provider

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// azureServer answers as Azure OpenAI documents it: chat completions and
// embeddings at a deployment's path, with ?api-version=, or at the v1 API's,
// with the deployment's name as the model; the key in api-key; errors as
// {"error": {"code", "message"}}: 401 for a wrong key, 404 for a deployment
// that does not exist. A request whose last message is "fail" is refused
// with a 400 that echoes the key, as a misbehaving gateway might. It records
// each request.
type azureServer struct {
	*httptest.Server
	key, deployment, version string

	mu   sync.Mutex
	reqs []azureRequest
}

type azureRequest struct {
	path, query, body string
	header            http.Header
}

func newAzureServer(t *testing.T, key, deployment, version string) *azureServer {
	s := &azureServer{key: key, deployment: deployment, version: version}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *azureServer) requests() []azureRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func (s *azureServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, azureRequest{r.URL.Path, r.URL.RawQuery, string(raw), r.Header.Clone()})
	s.mu.Unlock()
	var body struct {
		Model    *string         `json:"model"`
		Messages []evals.Message `json:"messages"`
		Input    []string        `json:"input"`
		Stream   bool            `json:"stream"`
	}
	if r.Method != http.MethodPost || json.Unmarshal(raw, &body) != nil {
		answer(400, `{"error":{"code":"BadRequest","message":"Invalid request."}}`)(w, r)
		return
	}
	if r.Header.Get("Api-Key") != s.key {
		answer(401, `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`)(w, r)
		return
	}
	deployments := "/openai/deployments/" + s.deployment + "/"
	var op string
	switch {
	case strings.HasPrefix(r.URL.Path, deployments) && r.URL.Query().Get("api-version") == s.version && body.Model == nil:
		op = strings.TrimPrefix(r.URL.Path, deployments)
	case strings.HasPrefix(r.URL.Path, "/openai/v1/") && body.Model != nil && *body.Model == s.deployment:
		op = strings.TrimPrefix(r.URL.Path, "/openai/v1/")
	default:
		answer(404, `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}`)(w, r)
		return
	}
	switch {
	case op == "embeddings":
		answer(200, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,0.25]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":3,"total_tokens":3}}`)(w, r)
	case op != "chat/completions":
		answer(404, `{"error":{"code":"404","message":"Resource not found"}}`)(w, r)
	case len(body.Messages) > 0 && body.Messages[len(body.Messages)-1].Content == "fail":
		answer(400, `{"error":{"message":"The response was filtered (key `+r.Header.Get("Api-Key")+`)","type":null,"param":"prompt","code":"content_filter","status":400}}`)(w, r)
	case body.Stream:
		streamEvents(0, append([]string{`data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}` + "\n\n"}, okStream...)...)(w, r)
	default:
		answer(200, `{"choices":[{"content_filter_results":{},"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"billing","refusal":null,"role":"assistant"}}],"created":1700000000,"id":"chatcmpl-1","model":"gpt-4o-mini-2024-07-18","object":"chat.completion","prompt_filter_results":[],"system_fingerprint":"fp_1","usage":{"completion_tokens":1,"prompt_tokens":12,"total_tokens":13}}`)(w, r)
	}
}

// azureTarget is an azure target as the loader gives it.
func azureTarget(name string, cfg AzureConfig, model string) evals.TargetSpec {
	return withConfig(evals.TargetSpec{Name: name, Provider: "azure", Model: model}, cfg)
}

// TestAzure sends to a deployment and to the v1 API, streaming or not, and
// checks each request against what Azure documents, byte for byte.
func TestAzure(t *testing.T) {
	const key = "azure-key-0123456789"
	t.Setenv("RUBRIC_AZURE_KEY", key)
	srv := newAzureServer(t, key, "gpt4o-mini", "2024-10-21")
	msgs := testMessagesJSON
	tests := []struct {
		name  string
		cfg   AzureConfig
		model string
		url   string // as requested and recorded
		body  string
	}{
		{"deployment", AzureConfig{Endpoint: srv.URL, Deployment: "gpt4o-mini", APIVersion: "2024-10-21"}, "",
			"/openai/deployments/gpt4o-mini/chat/completions?api-version=2024-10-21",
			`{"messages":` + msgs + `,"temperature":0}`},
		{"deployment, the model reported", AzureConfig{Endpoint: srv.URL + "/", Deployment: "gpt4o-mini", APIVersion: "2024-10-21", Stream: true}, "gpt-4o-mini",
			"/openai/deployments/gpt4o-mini/chat/completions?api-version=2024-10-21",
			`{"messages":` + msgs + `,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`},
		{"v1", AzureConfig{Endpoint: srv.URL}, "gpt4o-mini",
			"/openai/v1/chat/completions",
			`{"model":"gpt4o-mini","messages":` + msgs + `,"temperature":0}`},
		{"v1 preview, streaming", AzureConfig{Endpoint: srv.URL, APIVersion: "preview", Stream: true, ExtraBody: map[string]any{"user": "rubric"}}, "gpt4o-mini",
			"/openai/v1/chat/completions?api-version=preview",
			`{"model":"gpt4o-mini","messages":` + msgs + `,"temperature":0,"stream":true,"stream_options":{"include_usage":true},"user":"rubric"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.APIKeyEnv = "RUBRIC_AZURE_KEY"
			spec := azureTarget("az", tt.cfg, tt.model)
			spec.Params = &evals.Params{Temperature: ptr(0.0)}
			spec = withConfig(spec, tt.cfg)
			p, err := New(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer p.(io.Closer).Close()
			before := len(srv.requests())
			resp, err := p.Complete(t.Context(), testRequest)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != "billing" || resp.Finish != "stop" || (resp.Stream != nil) != tt.cfg.Stream {
				t.Errorf("got %q, %q, stream %+v", resp.Text, resp.Finish, resp.Stream)
			}
			got := srv.requests()[before]
			if u := got.path + "?" + got.query; strings.TrimSuffix(u, "?") != tt.url || got.body != tt.body {
				t.Errorf("sent %s\n%s\nwant %s\n%s", u, got.body, tt.url, tt.body)
			}
			if got.header.Get("Api-Key") != key || got.header.Get("Authorization") != "" {
				t.Errorf("api-key %q, Authorization %q: want the key in api-key only", got.header.Get("Api-Key"), got.header.Get("Authorization"))
			}
			if resp.Sent.URL != srv.URL+tt.url || string(resp.Sent.Body) != tt.body {
				t.Errorf("recorded %s %s", resp.Sent.URL, resp.Sent.Body)
			}
			// Embeddings go to the same deployment, or the same API.
			e := p.(evals.Embedder)
			if _, err := e.Embed(t.Context(), &evals.EmbedRequest{Input: []string{"x"}}); err != nil {
				t.Fatal(err)
			}
			emb := srv.requests()[before+1]
			if want := strings.Replace(tt.url, "chat/completions", "embeddings", 1); strings.TrimSuffix(emb.path+"?"+emb.query, "?") != want {
				t.Errorf("embeddings sent to %s?%s, want %s", emb.path, emb.query, want)
			}
			if emb.header.Get("Accept") != "application/json" {
				t.Errorf("embeddings Accept %q", emb.header.Get("Accept"))
			}
		})
	}
}

// TestAzureErrors: Azure's errors, with the server's message, and no key.
func TestAzureErrors(t *testing.T) {
	const key = "azure-key-0123456789"
	t.Setenv("RUBRIC_AZURE_KEY", key)
	t.Setenv("RUBRIC_AZURE_WRONG", "not-the-key")
	srv := newAzureServer(t, key, "gpt4o-mini", "2024-10-21")
	for _, tc := range []struct {
		name   string
		cfg    AzureConfig
		req    *evals.Request
		status int
		msg    string
	}{
		{"wrong key", AzureConfig{Endpoint: srv.URL, Deployment: "gpt4o-mini", APIVersion: "2024-10-21", APIKeyEnv: "RUBRIC_AZURE_WRONG"}, testRequest, 401,
			"http_status 401: Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."},
		{"no such deployment", AzureConfig{Endpoint: srv.URL, Deployment: "gpt5", APIVersion: "2024-10-21", APIKeyEnv: "RUBRIC_AZURE_KEY"}, testRequest, 404,
			"http_status 404: The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."},
		{"filtered, the key echoed", AzureConfig{Endpoint: srv.URL, Deployment: "gpt4o-mini", APIVersion: "2024-10-21", APIKeyEnv: "RUBRIC_AZURE_KEY", Stream: true},
			&evals.Request{Messages: []evals.Message{{Role: "user", Content: "fail"}}}, 400,
			"http_status 400: The response was filtered (key [REDACTED])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(azureTarget("az", tc.cfg, ""))
			if err != nil {
				t.Fatal(err)
			}
			defer p.(io.Closer).Close()
			_, err = p.Complete(t.Context(), tc.req)
			if pe := providerError(t, err); pe.Status != tc.status || err.Error() != tc.msg {
				t.Errorf("error %q, want %q", err, tc.msg)
			}
		})
	}
}

// TestAzureConstructionErrors: a target that cannot work is refused when it
// loads, each problem with its field.
func TestAzureConstructionErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		obj   string
		want  string
		field []string
	}{
		{"nothing", `{"name":"a","provider":"azure"}`,
			"endpoint: required by provider \"azure\" (for example https://NAME.openai.azure.com)\nmodel: required by provider \"azure\" without a deployment: the name of the deployment, which the v1 API takes as the model",
			[]string{"endpoint", "model"}},
		{"deployment without api_version", `{"name":"a","provider":"azure","endpoint":"https://x.openai.azure.com","deployment":"d"}`,
			"api_version: required with deployment: the API version of the deployments path, such as 2024-10-21", []string{"api_version"}},
		{"endpoint with the API's path", `{"name":"a","provider":"azure","endpoint":"https://x.openai.azure.com/openai/deployments/d","deployment":"d","api_version":"v"}`,
			`endpoint: "https://x.openai.azure.com/openai/deployments/d" goes into the API: give the resource's endpoint, such as https://NAME.openai.azure.com, and the deployment in deployment; the provider adds /openai/deployments/… or /openai/v1/…`,
			[]string{"endpoint"}},
		{"endpoint with a query", `{"name":"a","provider":"azure","endpoint":"https://x.openai.azure.com?api-version=1","model":"m"}`,
			`endpoint: "https://x.openai.azure.com?api-version=1" has a query or fragment: give the api-version in api_version`, []string{"endpoint"}},
		{"not http", `{"name":"a","provider":"azure","endpoint":"x.openai.azure.com","model":"m"}`,
			`endpoint: "x.openai.azure.com" is not an http or https URL such as https://NAME.openai.azure.com`, []string{"endpoint"}},
		{"a path as the deployment", `{"name":"a","provider":"azure","endpoint":"https://x.openai.azure.com","deployment":"../d","api_version":"v"}`,
			`deployment: "../d" is not a deployment name: letters, digits, '-', '_' and '.'`, []string{"deployment"}},
		{"Api-Key header and api_key_env", `{"name":"a","provider":"azure","endpoint":"https://x.openai.azure.com","model":"m","api_key_env":"RUBRIC_AZURE_KEY","headers":{"api-key":"k"}}`,
			`headers.api-key: header Api-Key conflicts with api_key_env, which sets it`, []string{"headers.api-key"}},
		{"openai's field", `{"name":"a","provider":"azure","endpoint":"https://x.openai.azure.com","model":"m","base_url":"http://h/v1"}`,
			`base_url: field does not apply to provider "azure" (it is a field of providers "anthropic" and "openai")`, []string{"base_url"}},
		{"azure's field on openai", `{"name":"a","provider":"openai","base_url":"http://h/v1","model":"m","deployment":"d"}`,
			`deployment: field does not apply to provider "openai" (it is a field of provider "azure")`, []string{"deployment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("RUBRIC_AZURE_KEY", "k")
			p, err := New(targetOf(t, tc.obj))
			if p != nil || err == nil || err.Error() != tc.want {
				t.Fatalf("New = %v, %v\nwant the error\n%s", p, err, tc.want)
			}
			if got := fieldsOf(err); !slices.Equal(got, tc.field) {
				t.Errorf("fields %q, want %q", got, tc.field)
			}
		})
	}
}

// TestAzureBaseURL: what the cache keys on and an unreachable endpoint is
// reported by names the deployment and the API version, so that two
// deployments of one resource never share cached answers.
func TestAzureBaseURL(t *testing.T) {
	for _, tc := range []struct {
		cfg  AzureConfig
		want string
	}{
		{AzureConfig{Endpoint: "https://x.openai.azure.com/", Deployment: "a", APIVersion: "2024-10-21"}, "https://x.openai.azure.com/openai/deployments/a?api-version=2024-10-21"},
		{AzureConfig{Endpoint: "https://x.openai.azure.com", Deployment: "b", APIVersion: "2024-10-21"}, "https://x.openai.azure.com/openai/deployments/b?api-version=2024-10-21"},
		{AzureConfig{Endpoint: "https://apim.example.com/llm"}, "https://apim.example.com/llm/openai/v1"},
	} {
		p, err := NewAzure(tc.cfg, evals.TargetSpec{Name: "a", Provider: "azure", Model: "m"}, Env{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.BaseURL(); got != tc.want {
			t.Errorf("BaseURL() = %q, want %q", got, tc.want)
		}
		p.Close()
	}
}
