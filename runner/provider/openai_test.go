package provider

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

const okBody = `{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"billing"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}}`

var testRequest = &evals.Request{
	Target: "t",
	CaseID: "c1",
	Messages: []evals.Message{
		{Role: "system", Content: "Classify the ticket."},
		{Role: "user", Content: "Say \"hi\" <b>\n"},
	},
}

const testMessagesJSON = `[{"role":"system","content":"Classify the ticket."},{"role":"user","content":"Say \"hi\" <b>\n"}]`

// openaiTarget is an openai target as a test writes it: the fields every
// target has, and the provider's own.
type openaiTarget struct {
	evals.TargetSpec
	OpenAIConfig
}

// spec returns the target as the loader gives it to the registry, its
// object in Config.
func (o openaiTarget) spec() evals.TargetSpec { return withConfig(o.TargetSpec, o.OpenAIConfig) }

// withConfig returns spec with its Config the object of spec's fields and
// cfg's, as a target file would hold them.
func withConfig(spec evals.TargetSpec, cfg any) evals.TargetSpec {
	var obj map[string]json.RawMessage
	for _, v := range []any{spec, cfg} {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			panic(err)
		}
	}
	spec.Config, _ = json.Marshal(obj)
	return spec
}

// targetOf decodes a target object as the loader does: the common fields,
// and the whole object in Config.
func targetOf(t testing.TB, obj string) evals.TargetSpec {
	t.Helper()
	var spec evals.TargetSpec
	if err := json.Unmarshal([]byte(obj), &spec); err != nil {
		t.Fatal(err)
	}
	spec.Config = json.RawMessage(obj)
	return spec
}

// openaiSpec returns a minimal valid target for a server.
func openaiSpec(srv *httptest.Server) openaiTarget {
	return openaiTarget{evals.TargetSpec{Name: "t", Provider: "openai", Model: "m"}, OpenAIConfig{BaseURL: srv.URL + "/v1"}}
}

func newOpenAI(t testing.TB, o openaiTarget) *OpenAI {
	t.Helper()
	p, err := NewOpenAI(o.OpenAIConfig, o.TargetSpec, Env{})
	if err != nil {
		t.Fatalf("NewOpenAI: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// serve starts a server answering every request with handler.
func serve(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

// answer returns a handler writing status and body as JSON.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// providerError asserts err is a *evals.ProviderError and returns it.
func providerError(t *testing.T, err error) *evals.ProviderError {
	t.Helper()
	var pe *evals.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *evals.ProviderError", err, err)
	}
	return pe
}

func ptr[T any](v T) *T { return &v }

func TestOpenAIRequestBody(t *testing.T) {
	tests := []struct {
		name   string
		params *evals.Params
		extra  map[string]any
		want   string
	}{
		{
			name: "no params",
			want: `{"model":"m","messages":` + testMessagesJSON + `}`,
		},
		{
			name:   "one param, zero value sent",
			params: &evals.Params{Temperature: ptr(0.0)},
			want:   `{"model":"m","messages":` + testMessagesJSON + `,"temperature":0}`,
		},
		{
			name: "every param",
			params: &evals.Params{
				Temperature:      ptr(0.2),
				TopP:             ptr(0.9),
				MaxTokens:        ptr(64),
				Seed:             ptr(int64(7)),
				Stop:             json.RawMessage(`[ "\n\n", "END" ]`),
				PresencePenalty:  ptr(0.5),
				FrequencyPenalty: ptr(-0.5),
				ResponseFormat:   json.RawMessage(`{"type": "json_object"}`),
			},
			want: `{"model":"m","messages":` + testMessagesJSON +
				`,"temperature":0.2,"top_p":0.9,"max_tokens":64,"seed":7,"stop":["\n\n","END"]` +
				`,"presence_penalty":0.5,"frequency_penalty":-0.5,"response_format":{"type":"json_object"}}`,
		},
		{
			name:   "null raw params omitted",
			params: &evals.Params{MaxTokens: ptr(5), Stop: json.RawMessage(`null`)},
			want:   `{"model":"m","messages":` + testMessagesJSON + `,"max_tokens":5}`,
		},
		{
			name:   "extra_body after params, keys sorted, values untouched",
			params: &evals.Params{MaxTokens: ptr(5)},
			extra: map[string]any{
				"top_k":                5,
				"chat_template_kwargs": map[string]any{"enable_thinking": false},
				"stream":               false,
				"guided_regex":         "<a>&[0-9]+",
			},
			want: `{"model":"m","messages":` + testMessagesJSON +
				`,"max_tokens":5,"chat_template_kwargs":{"enable_thinking":false},"guided_regex":"<a>&[0-9]+","stream":false,"top_k":5}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var method, path string
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				method, path = r.Method, r.URL.Path
				got, _ = io.ReadAll(r.Body)
				answer(200, okBody)(w, r)
			})
			spec := openaiSpec(srv)
			spec.Params, spec.ExtraBody = tt.params, tt.extra
			resp, err := newOpenAI(t, spec).Complete(t.Context(), testRequest)
			if err != nil {
				t.Fatal(err)
			}
			if method != http.MethodPost || path != "/v1/chat/completions" {
				t.Errorf("request %s %s, want POST /v1/chat/completions", method, path)
			}
			if string(got) != tt.want {
				t.Errorf("body sent\n got %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("body sent is not valid JSON")
			}
			if resp.Sent == nil || string(resp.Sent.Body) != string(got) {
				t.Errorf("Sent.Body = %s, want the body sent %s", resp.Sent.Body, got)
			}
			if want := srv.URL + "/v1/chat/completions"; resp.Sent.URL != want {
				t.Errorf("Sent.URL = %q, want %q", resp.Sent.URL, want)
			}
		})
	}
}

func TestOpenAIMessagesMatchEncodingJSON(t *testing.T) {
	msgs := []evals.Message{
		{Role: "user", Content: "tab\t nl\n cr\r quote\" bs\\ ctl\x01\x1f del\x7f <>& \u2028\u2029 é 日本 🎉 bad\xff\xfe utf8"},
		{Role: "", Content: ""},
	}
	got := appendMessages(nil, msgs)
	var decoded, want []evals.Message
	if err := json.Unmarshal(got, &decoded); err != nil {
		t.Fatalf("appendMessages wrote invalid JSON %s: %v", got, err)
	}
	ref, _ := json.Marshal(msgs)
	json.Unmarshal(ref, &want)
	if fmt.Sprint(decoded) != fmt.Sprint(want) {
		t.Errorf("decoded %q, encoding/json round trip gives %q", decoded, want)
	}
	if got := string(appendMessages(nil, nil)); got != "[]" {
		t.Errorf("no messages encode as %s, want []", got)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n\r\t\x00\x1f", "<>&\u2028\u2029", "\xff\xfe\xc3", "日本🎉"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendString(%q) = %s, invalid JSON: %v", s, b, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("appendString(%q) decodes to %q, encoding/json's to %q", s, got, want)
		}
	})
}

func TestOpenAIHeaders(t *testing.T) {
	t.Setenv("RUBRIC_TEST_KEY", " sk-test-123\n") // surrounding space is trimmed
	t.Setenv("RUBRIC_TEST_AZURE", "az-secret-456")
	var got http.Header
	var host, query string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got, host, query = r.Header.Clone(), r.Host, r.URL.RawQuery
		answer(200, okBody)(w, r)
	})
	spec := openaiSpec(srv)
	spec.BaseURL += "/?api-version=2024-06-01"
	spec.APIKeyEnv = "RUBRIC_TEST_KEY"
	spec.Headers = map[string]string{
		"api-key":    "${RUBRIC_TEST_AZURE}",
		"X-Org":      "org-1",
		"x-wrapped":  "pre-${RUBRIC_TEST_AZURE}-$post",
		"Host":       "gateway.internal",
		"User-Agent": "rubric-ci",
	}
	if _, err := newOpenAI(t, spec).Complete(t.Context(), testRequest); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Authorization": "Bearer sk-test-123",
		"Api-Key":       "az-secret-456",
		"X-Org":         "org-1",
		"X-Wrapped":     "pre-az-secret-456-$post",
		"Content-Type":  "application/json",
		"Accept":        "application/json",
		"User-Agent":    "rubric-ci",
	}
	for name, value := range want {
		if g := got.Values(name); len(g) != 1 || g[0] != value {
			t.Errorf("header %s = %q, want [%q]", name, g, value)
		}
	}
	if v, ok := got["Idempotency-Key"]; ok {
		t.Errorf("Idempotency-Key sent on the wire: %q", v)
	}
	if host != "gateway.internal" {
		t.Errorf("Host = %q, want gateway.internal", host)
	}
	if query != "api-version=2024-06-01" {
		t.Errorf("query = %q, want api-version=2024-06-01", query)
	}
}

func TestOpenAIDefaultHeaders(t *testing.T) {
	var got http.Header
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		answer(200, okBody)(w, r)
	})
	if _, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest); err != nil {
		t.Fatal(err)
	}
	if v, ok := got["Authorization"]; ok {
		t.Errorf("Authorization sent without api_key_env: %q", v)
	}
	if got.Get("User-Agent") != "rubric" || got.Get("Content-Type") != "application/json" {
		t.Errorf("User-Agent %q, Content-Type %q; want rubric, application/json", got.Get("User-Agent"), got.Get("Content-Type"))
	}
}

func TestOpenAIURLCredentials(t *testing.T) {
	var user, pass string
	var ok bool
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok = r.BasicAuth()
		answer(500, `{"error":"bad password hunter2-pw"}`)(w, r)
	})
	spec := openaiSpec(srv)
	spec.BaseURL = strings.Replace(spec.BaseURL, "http://", "http://bob:hunter2-pw@", 1)
	_, err := newOpenAI(t, spec).Complete(t.Context(), testRequest)
	pe := providerError(t, err)
	if !ok || user != "bob" || pass != "hunter2-pw" {
		t.Errorf("basic auth %q %q %v, want bob hunter2-pw", user, pass, ok)
	}
	// The user too: it may be a token.
	if want := strings.Replace(srv.URL, "http://", "http://xxxxx@", 1) + "/v1/chat/completions"; pe.Sent.URL != want {
		t.Errorf("Sent.URL = %q, want %q", pe.Sent.URL, want)
	}
	if pe.Message != "bad password [REDACTED]" {
		t.Errorf("Message = %q, want the password redacted", pe.Message)
	}
}

func TestChatURL(t *testing.T) {
	tests := []struct{ base, want, sent string }{
		{"http://localhost:8000/v1", "http://localhost:8000/v1/chat/completions", ""},
		{"http://localhost:8000/v1/", "http://localhost:8000/v1/chat/completions", ""},
		{"http://localhost:11434/v1//", "http://localhost:11434/v1/chat/completions", ""},
		{"https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/chat/completions", ""},
		{"https://x.openai.azure.com/openai/deployments/gpt4o?api-version=2024-06-01",
			"https://x.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01", ""},
		{"http://user:pw@gw/v1#frag", "http://user:pw@gw/v1/chat/completions", "http://xxxxx@gw/v1/chat/completions"},
		{"https://sk-token@gw/v1", "https://sk-token@gw/v1/chat/completions", "https://xxxxx@gw/v1/chat/completions"},
	}
	for _, tt := range tests {
		u, err := chatURL(tt.base)
		if err != nil {
			t.Errorf("chatURL(%q): %v", tt.base, err)
			continue
		}
		if u.String() != tt.want {
			t.Errorf("chatURL(%q) = %q, want %q", tt.base, u, tt.want)
		}
		if tt.sent != "" && redactedURL(u) != tt.sent {
			t.Errorf("redactedURL(chatURL(%q)) = %q, want %q", tt.base, redactedURL(u), tt.sent)
		}
	}
}

func TestOpenAIResponse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want evals.Response
	}{
		{"full", okBody, evals.Response{Text: "billing", Finish: "stop", Usage: evals.Usage{PromptTokens: 12, CompletionTokens: 1, TotalTokens: 13}}},
		{"no usage", `{"choices":[{"message":{"content":"a"},"finish_reason":"length"}]}`,
			evals.Response{Text: "a", Finish: "length"}},
		{"null usage", `{"choices":[{"message":{"content":"a"},"finish_reason":"stop"}],"usage":null}`,
			evals.Response{Text: "a", Finish: "stop"}},
		{"usage without total", `{"choices":[{"message":{"content":"a"}}],"usage":{"prompt_tokens":7,"completion_tokens":3}}`,
			evals.Response{Text: "a", Usage: evals.Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}}},
		{"usage with total only", `{"choices":[{"message":{"content":"a"}}],"usage":{"total_tokens":9}}`,
			evals.Response{Text: "a", Usage: evals.Usage{TotalTokens: 9}}},
		{"null content (tool call)", `{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"x"}]},"finish_reason":"tool_calls"}]}`,
			evals.Response{Finish: "tool_calls"}},
		{"missing content", `{"choices":[{"message":{"role":"assistant"},"finish_reason":"stop"}]}`,
			evals.Response{Finish: "stop"}},
		{"content parts", `{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}]}}]}`,
			evals.Response{Text: "ab"}},
		{"first of several choices", `{"choices":[{"message":{"content":"one"}},{"message":{"content":"two"}}]}`,
			evals.Response{Text: "one"}},
		{"escapes and unicode", `{"choices":[{"message":{"content":"line\nnext \"q\" \u00e9"}}]}`,
			evals.Response{Text: "line\nnext \"q\" é"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, answer(200, tt.body))
			resp, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != tt.want.Text || resp.Finish != tt.want.Finish || resp.Usage != tt.want.Usage || resp.Latency != 0 {
				t.Errorf("got Text %q Finish %q Usage %+v Latency %v\nwant Text %q Finish %q Usage %+v Latency 0",
					resp.Text, resp.Finish, resp.Usage, resp.Latency, tt.want.Text, tt.want.Finish, tt.want.Usage)
			}
		})
	}
}

func TestOpenAIStatusErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        string
	}{
		{"openai", 401, "application/json",
			`{"error":{"message":"Incorrect API key provided: sk-ab***yz.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			"Incorrect API key provided: sk-ab***yz."},
		{"vllm current", 400, "application/json",
			`{"error":{"message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","param":null,"code":400}}`,
			"This model's maximum context length is 4096 tokens."},
		{"vllm old, top-level message", 400, "application/json",
			`{"object":"error","message":"The model ` + "`x`" + ` does not exist.","type":"NotFoundError","param":null,"code":404}`,
			"The model `x` does not exist."},
		{"llama.cpp", 503, "application/json",
			`{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`,
			"Loading model"},
		{"error string (TGI, Ollama native)", 422, "application/json",
			`{"error":"Input validation error: inputs tokens + max_new_tokens must be <= 2048","error_type":"validation"}`,
			"Input validation error: inputs tokens + max_new_tokens must be <= 2048"},
		{"FastAPI detail string", 404, "application/json", `{"detail":"Not Found"}`, "Not Found"},
		{"FastAPI validation list", 422, "application/json",
			`{"detail":[{"loc":["body","messages",0,"content"],"msg":"field required","type":"value_error.missing"},{"loc":["body","model"],"msg":"str type expected","type":"type_error.str"}]}`,
			"body.messages.0.content: field required; body.model: str type expected"},
		{"array of errors (Gemini)", 429, "application/json",
			`[{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}]`,
			"Resource has been exhausted"},
		{"error object without message", 500, "application/json", `{"error":{"code":500}}`, `{"error":{"code":500}}`},
		{"plain text", 502, "text/plain", "  upstream connect error or disconnect/reset before headers\n", "upstream connect error or disconnect/reset before headers"},
		{"HTML page", 502, "text/html",
			"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
			"502 Bad Gateway"},
		{"long text cut at 200 bytes", 500, "text/plain", strings.Repeat("x", 150) + "\n\n" + strings.Repeat("é", 100),
			strings.Repeat("x", 150) + " " + strings.Repeat("é", 24) + "…"},
		{"empty body", 503, "", "", "Service Unavailable (empty body)"},
		{"JSON without a message", 500, "application/json", `{"status":"down"}`, `{"status":"down"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			_, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
			pe := providerError(t, err)
			if pe.Kind != evals.ErrKindHTTP || pe.Status != tt.status || pe.Message != tt.want {
				t.Errorf("got Kind %q Status %d Message %q\nwant Kind %q Status %d Message %q",
					pe.Kind, pe.Status, pe.Message, evals.ErrKindHTTP, tt.status, tt.want)
			}
			if want := fmt.Sprintf("http_status %d: %s", tt.status, tt.want); err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
			if pe.Sent == nil || !strings.HasPrefix(string(pe.Sent.Body), `{"model":"m"`) {
				t.Errorf("Sent = %+v, want the request", pe.Sent)
			}
		})
	}
}

func TestOpenAIRedirectNotFollowed(t *testing.T) {
	hits := 0
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Redirect(w, r, "https://elsewhere.example/v1/chat/completions", http.StatusMovedPermanently)
	})
	_, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
	pe := providerError(t, err)
	want := "the endpoint redirects to https://elsewhere.example/v1/chat/completions; set base_url to the final address"
	if pe.Kind != evals.ErrKindHTTP || pe.Status != 301 || pe.Message != want || hits != 1 {
		t.Errorf("got %q %d %q after %d requests, want http_status 301 %q after 1", pe.Kind, pe.Status, pe.Message, hits, want)
	}
}

func TestOpenAIRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		status int
		want   time.Duration
	}{
		{"seconds", http.Header{"Retry-After": {"7"}}, 429, 7 * time.Second},
		{"seconds on 503", http.Header{"Retry-After": {"120"}}, 503, 2 * time.Minute},
		{"fraction", http.Header{"Retry-After": {"0.5"}}, 429, 500 * time.Millisecond},
		{"milliseconds header wins", http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"2"}}, 429, 1500 * time.Millisecond},
		{"zero", http.Header{"Retry-After": {"0"}}, 429, 0},
		{"negative", http.Header{"Retry-After": {"-3"}}, 429, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 429, 0},
		{"absent", http.Header{}, 429, 0},
		{"huge", http.Header{"Retry-After": {"1e30"}}, 429, maxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				answer(tt.status, `{"error":{"message":"slow down"}}`)(w, r)
			})
			_, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
			pe := providerError(t, err)
			if pe.RetryAfter != tt.want || pe.Status != tt.status || pe.Message != "slow down" {
				t.Errorf("RetryAfter %v Status %d Message %q, want %v %d %q", pe.RetryAfter, pe.Status, pe.Message, tt.want, tt.status, "slow down")
			}
		})
	}

	t.Run("HTTP date", func(t *testing.T) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		h := http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}
		if got := retryAfter(h, now); got != 90*time.Second {
			t.Errorf("retryAfter = %v, want 1m30s", got)
		}
		h = http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}
		if got := retryAfter(h, now); got != 0 {
			t.Errorf("retryAfter of a past date = %v, want 0", got)
		}
	})

	t.Run("HTTP date end to end", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat))
			answer(429, `{"error":"rate limited"}`)(w, r)
		})
		_, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
		pe := providerError(t, err)
		// The date has whole seconds: 29s < wait <= 30s.
		if pe.RetryAfter <= 28*time.Second || pe.RetryAfter > 30*time.Second || !pe.Retryable() {
			t.Errorf("RetryAfter = %v, Retryable %v; want about 30s, true", pe.RetryAfter, pe.Retryable())
		}
	})
}

func TestOpenAIDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"malformed JSON", `{"choices": [`, `malformed response: unexpected end of JSON input; body: {"choices": [`},
		{"HTML with 200", "<html>\n<body>Login required</body></html>",
			"malformed response: invalid character '<' looking for beginning of value; body: <html> <body>Login required</body></html>"},
		{"empty body", "", "malformed response: unexpected end of JSON input; empty body"},
		{"empty choices", `{"choices":[],"usage":{"prompt_tokens":1}}`, `response has no choices; body: {"choices":[],"usage":{"prompt_tokens":1}}`},
		{"no choices field", `{"id":"x"}`, `response has no choices; body: {"id":"x"}`},
		{"error with status 200", `{"error":{"message":"model overloaded","code":503}}`, "response has no choices; the server said: model overloaded"},
		{"completions-style choice", `{"choices":[{"text":"hi","index":0}]}`, `choices[0] has no message; body: {"choices":[{"text":"hi","index":0}]}`},
		{"content of wrong type", `{"choices":[{"message":{"content":5}}]}`,
			`malformed response: message content is 5, not a string; body: {"choices":[{"message":{"content":5}}]}`},
		{"long body cut", `{"choices":[` + strings.Repeat(" ", 300),
			`malformed response: unexpected end of JSON input; body: {"choices":[…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, answer(200, tt.body))
			_, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
			pe := providerError(t, err)
			if pe.Kind != evals.ErrKindDecode || pe.Status != 0 || pe.Message != tt.want {
				t.Errorf("got Kind %q Status %d Message %q\nwant Kind %q Status 0 Message %q", pe.Kind, pe.Status, pe.Message, evals.ErrKindDecode, tt.want)
			}
			if pe.Sent == nil || pe.Retryable() {
				t.Errorf("Sent %v, Retryable %v; want the request, false", pe.Sent, pe.Retryable())
			}
		})
	}

	t.Run("body over the limit", func(t *testing.T) {
		big := strings.Repeat("a", maxResponseBody)
		srv := serve(t, answer(200, `{"choices":[{"message":{"content":"`+big+`"}}]}`))
		_, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
		pe := providerError(t, err)
		if pe.Kind != evals.ErrKindDecode || pe.Message != "response body larger than 16 MiB" {
			t.Errorf("got %q %q, want decode %q", pe.Kind, pe.Message, "response body larger than 16 MiB")
		}
	})
}

// rawServer answers each connection by calling handle with it; the request
// has been read.
func rawServer(t *testing.T, handle func(conn net.Conn, rw *bufio.ReadWriter)) *httptest.Server {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		handle(conn, rw)
	})
}

func TestOpenAITransportErrors(t *testing.T) {
	t.Run("closed without a response", func(t *testing.T) {
		srv := rawServer(t, func(conn net.Conn, _ *bufio.ReadWriter) { conn.Close() })
		_, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
		pe := providerError(t, err)
		if pe.Kind != evals.ErrKindTransport || pe.Message != "the server closed the connection without a response" ||
			pe.Sent == nil || !pe.Retryable() || !errors.Is(err, io.EOF) {
			t.Errorf("got Kind %q Message %q Sent %v Retryable %v Err %v", pe.Kind, pe.Message, pe.Sent, pe.Retryable(), pe.Err)
		}
	})

	t.Run("truncated body", func(t *testing.T) {
		srv := rawServer(t, func(conn net.Conn, rw *bufio.ReadWriter) {
			rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + okBody[:40])
			rw.Flush()
			conn.Close()
		})
		_, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
		pe := providerError(t, err)
		want := "reading the response body: truncated: the server closed the connection before the end of the body"
		if pe.Kind != evals.ErrKindTransport || pe.Message != want || pe.Sent == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got Kind %q Message %q Sent %v Err %v\nwant transport %q", pe.Kind, pe.Message, pe.Sent, pe.Err, want)
		}
	})

	t.Run("truncated chunked body", func(t *testing.T) {
		srv := rawServer(t, func(conn net.Conn, rw *bufio.ReadWriter) {
			rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"choices\":[{\"me\r\n")
			rw.Flush()
			conn.Close()
		})
		_, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
		pe := providerError(t, err)
		if pe.Kind != evals.ErrKindTransport || !strings.HasPrefix(pe.Message, "reading the response body: ") {
			t.Errorf("got Kind %q Message %q, want a transport error reading the body", pe.Kind, pe.Message)
		}
	})

	// Without Content-Length or chunked encoding, a body ends when the
	// server closes the connection: one that stops in the middle of the JSON
	// was cut short, as a body shorter than its Content-Length is.
	for _, tt := range []struct{ name, body string }{
		{"body without a length cut mid-JSON", okBody[:40]},
		{"body without a length cut before any byte", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := rawServer(t, func(conn net.Conn, rw *bufio.ReadWriter) {
				rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + tt.body)
				rw.Flush()
				conn.Close()
			})
			_, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
			pe := providerError(t, err)
			want := "reading the response body: truncated: the server closed the connection before the end of the body"
			if pe.Kind != evals.ErrKindTransport || pe.Message != want || pe.Sent == nil || !pe.Retryable() || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("got Kind %q Message %q Sent %v Retryable %v Err %v\nwant transport %q", pe.Kind, pe.Message, pe.Sent, pe.Retryable(), pe.Err, want)
			}
		})
	}

	t.Run("body without a length, complete", func(t *testing.T) {
		srv := rawServer(t, func(conn net.Conn, rw *bufio.ReadWriter) {
			rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + okBody)
			rw.Flush()
			conn.Close()
		})
		resp, err := newOpenAI(t, openaiSpec(srv)).Complete(t.Context(), testRequest)
		if err != nil || resp.Text != "billing" {
			t.Errorf("got %v, %v; want the completion", resp, err)
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		spec := openaiTarget{evals.TargetSpec{Name: "t", Provider: "openai", Model: "m"}, OpenAIConfig{BaseURL: "http://" + addr + "/v1"}}
		_, err = newOpenAI(t, spec).Complete(t.Context(), testRequest)
		pe := providerError(t, err)
		if pe.Kind != evals.ErrKindTransport || !strings.Contains(pe.Message, "connection refused") || strings.Contains(pe.Message, "http://") {
			t.Errorf("got Kind %q Message %q, want transport, connection refused, without the URL", pe.Kind, pe.Message)
		}
	})
}

// hang returns a handler that blocks until the client goes away or the test
// ends; withHeaders sends the status line and headers first.
func hang(t *testing.T, withHeaders bool) http.HandlerFunc {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) }) // runs before the server's Close
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if withHeaders {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			io.WriteString(w, `{"choices":`)
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

func TestOpenAITimeout(t *testing.T) {
	for _, withHeaders := range []bool{false, true} {
		t.Run(fmt.Sprintf("headers sent %v", withHeaders), func(t *testing.T) {
			srv := httptest.NewServer(hang(t, withHeaders))
			t.Cleanup(srv.Close)
			spec := openaiSpec(srv)
			spec.Timeout = evals.Duration(100 * time.Millisecond)
			p := newOpenAI(t, spec)
			start := time.Now()
			_, err := p.Complete(t.Context(), testRequest)
			elapsed := time.Since(start)
			pe := providerError(t, err)
			if pe.Kind != evals.ErrKindTimeout || pe.Message != "no response within 100ms" || pe.Sent == nil ||
				!pe.Retryable() || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				t.Errorf("got Kind %q Message %q Sent %v Retryable %v Err %v", pe.Kind, pe.Message, pe.Sent, pe.Retryable(), pe.Err)
			}
			if elapsed > 2*time.Second {
				t.Errorf("returned after %v, want about 100ms", elapsed)
			}
		})
	}
}

func TestOpenAICancel(t *testing.T) {
	for _, withHeaders := range []bool{false, true} {
		t.Run(fmt.Sprintf("headers sent %v", withHeaders), func(t *testing.T) {
			srv := httptest.NewServer(hang(t, withHeaders))
			t.Cleanup(srv.Close)
			p := newOpenAI(t, openaiSpec(srv))
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(50*time.Millisecond, cancel)
			start := time.Now()
			_, err := p.Complete(ctx, testRequest)
			elapsed := time.Since(start)
			pe := providerError(t, err)
			if pe.Kind != evals.ErrKindCanceled || pe.Message != "canceled while the request was in flight" ||
				pe.Sent == nil || pe.Retryable() || !errors.Is(err, context.Canceled) {
				t.Errorf("got Kind %q Message %q Sent %v Retryable %v Err %v", pe.Kind, pe.Message, pe.Sent, pe.Retryable(), pe.Err)
			}
			if elapsed > 2*time.Second {
				t.Errorf("returned after %v, want about 50ms", elapsed)
			}
			if got := evals.AsResultError(err); got.Kind != evals.ErrKindCanceled {
				t.Errorf("AsResultError kind %q, want canceled", got.Kind)
			}
		})
	}

	t.Run("already canceled", func(t *testing.T) {
		var hits atomic.Int32
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1); answer(200, okBody)(w, r) })
		p := newOpenAI(t, openaiSpec(srv))
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(errors.New("interrupted"))
		_, err := p.Complete(ctx, testRequest)
		pe := providerError(t, err)
		if pe.Kind != evals.ErrKindCanceled || pe.Message != "canceled before the request was sent: interrupted" ||
			pe.Sent != nil || !errors.Is(err, context.Canceled) || hits.Load() != 0 {
			t.Errorf("got Kind %q Message %q Sent %v Err %v after %d requests", pe.Kind, pe.Message, pe.Sent, pe.Err, hits.Load())
		}
	})

	t.Run("run deadline is not the request timeout", func(t *testing.T) {
		srv := httptest.NewServer(hang(t, false))
		t.Cleanup(srv.Close)
		p := newOpenAI(t, openaiSpec(srv)) // 60s request timeout
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := p.Complete(ctx, testRequest)
		pe := providerError(t, err)
		if pe.Kind != evals.ErrKindCanceled || !errors.Is(err, context.DeadlineExceeded) || pe.Retryable() {
			t.Errorf("got Kind %q Err %v Retryable %v; want canceled wrapping the deadline, not retryable", pe.Kind, pe.Err, pe.Retryable())
		}
	})
}

func TestOpenAISecretsRedacted(t *testing.T) {
	const key, azure, literal = "sk-live-0123456789abcdef", "az-0123456789", "tok-literal-987"
	t.Setenv("RUBRIC_TEST_KEY", key)
	t.Setenv("RUBRIC_TEST_AZURE", azure)
	echo := func(r *http.Request) string {
		return fmt.Sprintf("auth=%s api-key=%s x-token=%s", r.Header.Get("Authorization"), r.Header.Get("Api-Key"), r.Header.Get("X-Token"))
	}
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		want    string
	}{
		{"JSON error message", func(w http.ResponseWriter, r *http.Request) {
			b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": "bad credentials: " + echo(r)}})
			answer(401, string(b))(w, r)
		}, "bad credentials: auth=Bearer [REDACTED] api-key=[REDACTED] x-token=[REDACTED]"},
		{"plain text", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(403)
			io.WriteString(w, echo(r))
		}, "auth=Bearer [REDACTED] api-key=[REDACTED] x-token=[REDACTED]"},
		{"key across the cut", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, strings.Repeat("-", 190)+r.Header.Get("Authorization")[len("Bearer "):])
		}, strings.Repeat("-", 190) + "[REDACTED]"},
		{"decode error snippet", func(w http.ResponseWriter, r *http.Request) {
			answer(200, "not json "+echo(r))(w, r)
		}, "malformed response: invalid character 'o' in literal null (expecting 'u'); body: not json auth=Bearer [REDACTED] api-key=[REDACTED] x-token=[REDACTED]"},
		{"HTML title", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			io.WriteString(w, "<html><title>denied "+r.Header.Get("Api-Key")+"</title></html>")
		}, "denied [REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.handler)
			spec := openaiSpec(srv)
			spec.APIKeyEnv = "RUBRIC_TEST_KEY"
			spec.Headers = map[string]string{"api-key": "${RUBRIC_TEST_AZURE}", "X-Token": literal}
			_, err := newOpenAI(t, spec).Complete(t.Context(), testRequest)
			pe := providerError(t, err)
			if pe.Message != tt.want {
				t.Errorf("Message\n got %q\nwant %q", pe.Message, tt.want)
			}
			all := fmt.Sprintf("%v %+v %s %s", err, pe, pe.Sent.URL, pe.Sent.Body)
			for _, secret := range []string{key, key[:12], key[12:], azure, literal} {
				if strings.Contains(all, secret) {
					t.Errorf("error or Sent contains secret %q: %s", secret, all)
				}
			}
		})
	}
}

func TestOpenAIConstructionErrors(t *testing.T) {
	t.Setenv("RUBRIC_TEST_KEY", "sk-x")
	t.Setenv("RUBRIC_TEST_NEWLINE", "a\nb")
	base := func(mod func(*openaiTarget)) openaiTarget {
		s := openaiTarget{evals.TargetSpec{Name: "t", Provider: "openai", Model: "m"}, OpenAIConfig{BaseURL: "http://localhost:8000/v1"}}
		mod(&s)
		return s
	}
	// other is a valid target with a field of another provider.
	other := func(field string) openaiTarget {
		s := base(func(*openaiTarget) {})
		s.Config = json.RawMessage(`{"name": "t", "provider": "openai", "base_url": "http://localhost:8000/v1", "model": "m", ` + field + `}`)
		return s
	}
	tests := []struct {
		name   string
		spec   openaiTarget
		fields []string
		want   string
	}{
		{"missing base_url", base(func(s *openaiTarget) { s.BaseURL = "" }), []string{"base_url"},
			`base_url: required by provider "openai" (for example http://localhost:8000/v1)`},
		{"missing model", base(func(s *openaiTarget) { s.Model = "" }), []string{"model"},
			`model: required by provider "openai"`},
		{"missing both", openaiTarget{TargetSpec: evals.TargetSpec{Name: "t", Provider: "openai"}}, []string{"base_url", "model"},
			"base_url: required by provider \"openai\" (for example http://localhost:8000/v1)\nmodel: required by provider \"openai\""},
		{"path is replay's", other(`"path": "r.jsonl"`), []string{"path"},
			`path: field does not apply to provider "openai" (it is a field of provider "replay")`},
		{"replay_as is replay's", other(`"replay_as": "x"`), []string{"replay_as"},
			`replay_as: field does not apply to provider "openai" (it is a field of provider "replay")`},
		{"no scheme", base(func(s *openaiTarget) { s.BaseURL = "localhost:8000/v1" }), []string{"base_url"},
			`base_url: "localhost:8000/v1" is not an http or https URL such as http://localhost:8000/v1`},
		{"not a URL", base(func(s *openaiTarget) { s.BaseURL = "http://a b/v1" }), []string{"base_url"},
			`base_url: not a URL: invalid character " " in host name`},
		{"full endpoint", base(func(s *openaiTarget) { s.BaseURL = "https://api.openai.com/v1/chat/completions" }), []string{"base_url"},
			`base_url: "https://api.openai.com/v1/chat/completions" ends in /chat/completions: give the base URL (such as https://api.openai.com/v1); the provider appends /chat/completions`},
		{"password hidden", base(func(s *openaiTarget) { s.BaseURL = "ftp://u:hunter2@h/v1" }), []string{"base_url"},
			`base_url: "ftp://xxxxx@h/v1" is not an http or https URL such as http://localhost:8000/v1`},
		{"extra_body model", base(func(s *openaiTarget) { s.ExtraBody = map[string]any{"model": "other"} }), []string{"extra_body.model"},
			`extra_body.model: "model" is set by the provider from the target's model`},
		{"extra_body messages", base(func(s *openaiTarget) { s.ExtraBody = map[string]any{"messages": []any{}} }), []string{"extra_body.messages"},
			`extra_body.messages: "messages" is set by the provider from the suite's messages`},
		{"extra_body tools", base(func(s *openaiTarget) { s.ExtraBody = map[string]any{"tools": []any{}} }), []string{"extra_body.tools"},
			`extra_body.tools: "tools" is set by the provider from the suite's (or the case's) tools`},
		{"extra_body tool_choice", base(func(s *openaiTarget) { s.ExtraBody = map[string]any{"tool_choice": "auto"} }), []string{"extra_body.tool_choice"},
			`extra_body.tool_choice: "tool_choice" is set by the provider from the suite's tool_choice`},
		{"extra_body param", base(func(s *openaiTarget) { s.ExtraBody = map[string]any{"temperature": 0} }), []string{"extra_body.temperature"},
			`extra_body.temperature: "temperature" is a params field: set params.temperature instead`},
		{"extra_body stream", base(func(s *openaiTarget) { s.ExtraBody = map[string]any{"stream": true} }), []string{"extra_body.stream"},
			`extra_body.stream: to stream, set "stream": true on the target (not in extra_body), which reads the events`},
		{"extra_body stream with stream", base(func(s *openaiTarget) { s.Stream = true; s.ExtraBody = map[string]any{"stream": false} }), []string{"extra_body.stream"},
			`extra_body.stream: set by the provider from the target's "stream": true`},
		{"extra_body stream_options with stream", base(func(s *openaiTarget) {
			s.Stream = true
			s.ExtraBody = map[string]any{"stream_options": map[string]any{"include_usage": false}}
		}), []string{"extra_body.stream_options"},
			`extra_body.stream_options: set by the provider when the target streams: "stream":true,"stream_options":{"include_usage":true}`},
		{"extra_body unencodable", base(func(s *openaiTarget) { s.ExtraBody = map[string]any{"x": math.Inf(1)} }), []string{"extra_body.x"},
			`extra_body.x: cannot encode as JSON: json: unsupported value: +Inf`},
		{"params unencodable", base(func(s *openaiTarget) { s.Params = &evals.Params{Temperature: ptr(math.NaN())} }), []string{"params.temperature"},
			`params.temperature: cannot encode as JSON: json: unsupported value: NaN`},
		{"params invalid raw", base(func(s *openaiTarget) { s.Params = &evals.Params{Stop: json.RawMessage(`["a"`)} }), []string{"params.stop"},
			`params.stop: cannot encode as JSON: unexpected end of JSON input`},
		{"api key unset", base(func(s *openaiTarget) { s.APIKeyEnv = "RUBRIC_TEST_UNSET" }), []string{"api_key_env"},
			`api_key_env: environment variable RUBRIC_TEST_UNSET is not set`},
		{"api key with a line break", base(func(s *openaiTarget) { s.APIKeyEnv = "RUBRIC_TEST_NEWLINE" }), []string{"api_key_env"},
			`api_key_env: environment variable RUBRIC_TEST_NEWLINE holds a control character`},
		{"Authorization and api_key_env", base(func(s *openaiTarget) {
			s.APIKeyEnv = "RUBRIC_TEST_KEY"
			s.Headers = map[string]string{"authorization": "Bearer x"}
		}), []string{"headers.authorization"},
			`headers.authorization: header Authorization conflicts with api_key_env, which sets it`},
		{"Content-Type header", base(func(s *openaiTarget) { s.Headers = map[string]string{"content-type": "text/plain"} }), []string{"headers.content-type"},
			`headers.content-type: header Content-Type is set by the provider`},
		{"bad header name", base(func(s *openaiTarget) { s.Headers = map[string]string{"X Org": "a"} }), []string{"headers.X Org"},
			`headers.X Org: "X Org" is not a valid header name`},
		{"header twice", base(func(s *openaiTarget) { s.Headers = map[string]string{"X-Org": "a", "x-org": "b"} }), []string{"headers.x-org"},
			`headers.x-org: header X-Org is given twice`},
		{"header env unset", base(func(s *openaiTarget) { s.Headers = map[string]string{"api-key": "${RUBRIC_TEST_UNSET}"} }), []string{"headers.api-key"},
			`headers.api-key: environment variable RUBRIC_TEST_UNSET is not set`},
		{"header env unterminated", base(func(s *openaiTarget) { s.Headers = map[string]string{"api-key": "${RUBRIC_TEST_KEY"} }), []string{"headers.api-key"},
			`headers.api-key: unterminated ${ in value`},
		{"header env bad name", base(func(s *openaiTarget) { s.Headers = map[string]string{"api-key": "${1X}"} }), []string{"headers.api-key"},
			`headers.api-key: ${1X} is not a valid environment variable reference`},
		{"header value line break from env", base(func(s *openaiTarget) { s.Headers = map[string]string{"api-key": "${RUBRIC_TEST_NEWLINE}"} }), []string{"headers.api-key"},
			`headers.api-key: value holds a line break or control character`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The target as the loader gives it, when it can be written as
			// JSON: a value such as +Inf comes only from Go.
			spec := tt.spec.TargetSpec
			if spec.Config == nil {
				if _, err := json.Marshal(tt.spec); err == nil {
					spec = tt.spec.spec()
				}
			}
			p, err := New(spec)
			if p != nil || err == nil {
				t.Fatalf("New returned %#v, %v; want a nil Provider and the error", p, err)
			}
			if spec.Config == nil { // the provider's own checks
				_, err = NewOpenAI(tt.spec.OpenAIConfig, tt.spec.TargetSpec, Env{})
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tt.want)
			}
			if got := fieldsOf(err); strings.Join(got, " ") != strings.Join(tt.fields, " ") {
				t.Errorf("FieldError fields %q, want %q", got, tt.fields)
			}
		})
	}
}

// fieldsOf returns the fields of the *evals.FieldError err is or joins.
func fieldsOf(err error) []string {
	var fe *evals.FieldError
	if errors.As(err, &fe) && fe == err {
		return []string{fe.Field}
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil
	}
	var fields []string
	for _, e := range joined.Unwrap() {
		if errors.As(e, &fe) && fe == e {
			fields = append(fields, fe.Field)
		} else {
			fields = append(fields, fmt.Sprintf("(not a FieldError: %T)", e))
		}
	}
	return fields
}

// TestOpenAIKeepAlive checks that the pool keeps a connection per request in
// flight: rounds of requests all in flight at once reuse the connections of
// the first round. (With net/http's default of 2 idle connections per host,
// every round after the first would dial 2 new ones.)
func TestOpenAIKeepAlive(t *testing.T) {
	const workers, rounds = 6, 5
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // keep every worker's request in flight at once
		answer(200, okBody)(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	spec := openaiSpec(srv)
	spec.Concurrency = workers
	p := newOpenAI(t, spec)
	for range rounds {
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				if _, err := p.Complete(t.Context(), testRequest); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		time.Sleep(10 * time.Millisecond) // let the connections return to the pool
	}
	if n := conns.Load(); n != workers {
		t.Errorf("%d rounds of %d requests opened %d connections, want %d", rounds, workers, n, workers)
	}
}

func TestOpenAIServerClosingConnections(t *testing.T) {
	t.Run("Connection: close on every response", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			answer(200, okBody)(w, r)
		})
		p := newOpenAI(t, openaiSpec(srv))
		for i := range 5 {
			if _, err := p.Complete(t.Context(), testRequest); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
	})

	// The server keeps the connection open after answering, then closes it
	// without reading the next request, as a server whose keep-alive timer
	// fires just as the client reuses the connection. The transport sends the
	// request again on a new connection rather than failing the case.
	t.Run("idle connection closed under a new request", func(t *testing.T) {
		srv := rawServer(t, func(conn net.Conn, rw *bufio.ReadWriter) {
			fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(okBody), okBody)
			rw.Flush()
			time.Sleep(100 * time.Millisecond)
			conn.Close()
		})
		p := newOpenAI(t, openaiSpec(srv))
		for i := range 3 {
			resp, err := p.Complete(t.Context(), testRequest)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			if resp.Text != "billing" {
				t.Fatalf("request %d: text %q", i, resp.Text)
			}
		}
	})
}

func TestOpenAIConcurrentUse(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []evals.Message `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"content": body.Messages[0].Content}}}})
		w.Write(b)
	})
	p := newOpenAI(t, openaiSpec(srv))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			want := fmt.Sprintf("case %d", i)
			resp, err := p.Complete(t.Context(), &evals.Request{CaseID: want, Messages: []evals.Message{{Role: "user", Content: want}}})
			if err != nil {
				t.Error(err)
				return
			}
			if resp.Text != want || !strings.Contains(string(resp.Sent.Body), want) {
				t.Errorf("got %q, Sent %s; want %q", resp.Text, resp.Sent.Body, want)
			}
		})
	}
	wg.Wait()
}
