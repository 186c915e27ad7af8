package provider

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
	"github.com/rubric-eval/rubric/runner/store"
)

var testEmbed = &evals.EmbedRequest{Target: "t", CaseID: "c1", Input: []string{"Grüße \"x\"", "b"}}

func TestOpenAIEmbed(t *testing.T) {
	var gotPath, gotBody, gotAuth string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotPath, gotBody, gotAuth = r.URL.Path+"?"+r.URL.RawQuery, string(b), r.Header.Get("Authorization")
		// Listed out of order: the index decides.
		io.WriteString(w, `{"object":"list","data":[{"index":1,"embedding":[0,1]},{"index":0,"embedding":[1,0.5]}],"usage":{"prompt_tokens":7,"total_tokens":7}}`)
	})
	t.Setenv("EMBED_KEY", "sk-embed-secret")
	spec := openaiSpec(srv)
	spec.BaseURL += "?api-version=1"
	spec.APIKeyEnv = "EMBED_KEY"
	spec.Params = &evals.Params{Temperature: ptr(0.5)} // for completions: not sent
	spec.ExtraBody = map[string]any{"dimensions": 2}
	p := newOpenAI(t, spec)
	resp, err := p.Embed(context.Background(), testEmbed)
	if err != nil {
		t.Fatal(err)
	}
	if gotPath != "/v1/embeddings?api-version=1" {
		t.Errorf("path %q", gotPath)
	}
	if want := `{"model":"m","input":["Grüße \"x\"","b"],"dimensions":2}`; gotBody != want {
		t.Errorf("body\n got %s\nwant %s", gotBody, want)
	}
	if gotAuth != "Bearer sk-embed-secret" {
		t.Errorf("auth %q", gotAuth)
	}
	if len(resp.Vectors) != 2 || resp.Vectors[0][1] != 0.5 || resp.Vectors[1][1] != 1 {
		t.Errorf("vectors %v", resp.Vectors)
	}
	if resp.Usage.TotalTokens != 7 || resp.Sent == nil || string(resp.Sent.Body) != gotBody || !strings.HasSuffix(resp.Sent.URL, "/v1/embeddings?api-version=1") {
		t.Errorf("usage %+v, sent %+v", resp.Usage, resp.Sent)
	}
}

func TestOpenAIEmbedErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		kind   string
		msg    string
	}{
		{"too few vectors", 200, `{"data":[{"index":0,"embedding":[1]}]}`, evals.ErrKindDecode, "embeddings response has 1 vectors for 2 texts; body: "},
		{"no data, server error", 200, `{"error":{"message":"model not found"}}`, evals.ErrKindDecode, "embeddings response has 0 vectors for 2 texts; the server said: model not found"},
		{"repeated index", 200, `{"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]}`, evals.ErrKindDecode, "embeddings response: data[1] has index 0, expected each of 0 to 1 once"},
		{"index out of range", 200, `{"data":[{"index":0,"embedding":[1]},{"index":5,"embedding":[2]}]}`, evals.ErrKindDecode, "embeddings response: data[1] has index 5, expected each of 0 to 1 once"},
		{"missing embedding", 200, `{"data":[{"index":0,"embedding":[1]},{"index":1}]}`, evals.ErrKindDecode, "embeddings response: data[1] has no embedding"},
		{"base64", 200, `{"data":[{"index":0,"embedding":"AAAA"},{"index":1,"embedding":"AAAA"}]}`, evals.ErrKindDecode, "malformed embeddings response: json: cannot unmarshal string"},
		{"not JSON", 200, `<html>`, evals.ErrKindDecode, "malformed embeddings response"},
		{"status", 404, `{"error":{"message":"no such route"}}`, evals.ErrKindHTTP, "no such route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newOpenAI(t, openaiSpec(serve(t, answer(tt.status, tt.body))))
			_, err := p.Embed(context.Background(), testEmbed)
			pe := providerError(t, err)
			if pe.Kind != tt.kind || !strings.HasPrefix(pe.Message, tt.msg) {
				t.Errorf("got %s %q, want %s %q...", pe.Kind, pe.Message, tt.kind, tt.msg)
			}
			if pe.Sent == nil || !strings.Contains(string(pe.Sent.Body), `"input":`) {
				t.Errorf("sent %+v, want the request recorded", pe.Sent)
			}
		})
	}

	t.Run("body without a length cut mid-JSON", func(t *testing.T) {
		srv := rawServer(t, func(conn net.Conn, rw *bufio.ReadWriter) {
			rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + `{"data":[{"index":0,"embedding":[1`)
			rw.Flush()
			conn.Close()
		})
		_, err := newOpenAI(t, openaiSpec(srv)).Embed(context.Background(), testEmbed)
		pe := providerError(t, err)
		if pe.Kind != evals.ErrKindTransport || !pe.Retryable() || pe.Sent == nil {
			t.Errorf("got %s %q (retryable %v, sent %v), want a retryable transport error", pe.Kind, pe.Message, pe.Retryable(), pe.Sent)
		}
	})
}

// TestOpenAIRequestParams checks that a request's own params fill in what
// the target leaves unset, and that the target's win.
func TestOpenAIRequestParams(t *testing.T) {
	judge := &evals.Params{Temperature: ptr(0.0), Seed: ptr(int64(42)), ResponseFormat: json.RawMessage(`{"type":"json_object"}`)}
	tests := []struct {
		name   string
		target *evals.Params
		extra  map[string]any
		want   string
	}{
		{"target sets none", nil, nil, `,"temperature":0,"seed":42,"response_format":{"type":"json_object"}}`},
		{"target's temperature wins", &evals.Params{Temperature: ptr(0.7), MaxTokens: ptr(9)}, nil,
			`,"temperature":0.7,"max_tokens":9,"seed":42,"response_format":{"type":"json_object"}}`},
		{"extra_body kept", &evals.Params{Seed: ptr(int64(1))}, map[string]any{"top_k": 3},
			`,"temperature":0,"seed":1,"response_format":{"type":"json_object"},"top_k":3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = string(b)
				io.WriteString(w, okBody)
			})
			spec := openaiSpec(srv)
			spec.Params, spec.ExtraBody = tt.target, tt.extra
			p := newOpenAI(t, spec)
			req := *testRequest
			req.Params = judge
			resp, err := p.Complete(context.Background(), &req)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"model":"m","messages":` + testMessagesJSON + tt.want
			if got != want || string(resp.Sent.Body) != want {
				t.Errorf("body\n got %s\nwant %s", got, want)
			}
			if b, _ := p.RequestBody(&req); string(b) != want {
				t.Errorf("RequestBody\n got %s\nwant %s", b, want)
			}
			// The target's own requests are unchanged.
			if b, _ := p.RequestBody(testRequest); strings.Contains(string(b), `"seed":42`) {
				t.Errorf("a request without params got the judge's: %s", b)
			}
		})
	}
}

// TestEndpointEmbed sends embeddings through the endpoint's decorators: a
// 500 is retried, the rate limit and the cap on requests in flight let them
// through, and the cache, around completions only, is no obstacle.
func TestEndpointEmbed(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(500)
			io.WriteString(w, `{"error":{"message":"busy"}}`)
			return
		}
		io.WriteString(w, `{"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[2]}],"usage":{"total_tokens":3}}`)
	})
	spec := openaiSpec(srv)
	spec.RateLimit = &evals.RateLimitSpec{RequestsPerMinute: 6000, TokensPerMinute: 60000, Adaptive: true}
	db := openCacheDB(t, t.TempDir()+"/c.db")
	noWait := RetrySleep(func(context.Context, time.Duration) error { return nil })
	for name, opts := range map[string]Options{
		"decorators":      {Retry: []RetryOption{noWait}},
		"cache and a cap": {Retry: []RetryOption{noWait}, Limit: true, Cache: func() *store.DB { return db }},
	} {
		ep := Decorate(newOpenAI(t, spec), spec.TargetSpec, opts)
		if ep.Embedder == nil {
			t.Fatalf("%s: no Embedder for openai", name)
		}
		calls.Store(0)
		resp, err := ep.Embedder.Embed(context.Background(), testEmbed)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Attempts != 2 || calls.Load() != 2 || resp.Vectors[1][0] != 2 {
			t.Errorf("%s: attempts %d, calls %d, vectors %v", name, resp.Attempts, calls.Load(), resp.Vectors)
		}
	}
}

// TestEndpointEmbedder checks that an endpoint has an Embedder exactly when
// its provider embeds, whatever decorators its target asks for.
func TestEndpointEmbedder(t *testing.T) {
	spec := evals.TargetSpec{Name: "t", RateLimit: &evals.RateLimitSpec{RequestsPerMinute: 60, Adaptive: true}}
	for _, opts := range []Options{{}, {Limit: true}} {
		if ep := Decorate((&evalstest.Provider{}).WithoutEmbed(), spec, opts); ep.Embedder != nil {
			t.Errorf("Limit %v: Embedder %T for a provider without embeddings", opts.Limit, ep.Embedder)
		}
		p, err := NewOpenAI(OpenAIConfig{BaseURL: "http://127.0.0.1:1/v1"}, evals.TargetSpec{Name: "t", Provider: "openai", Model: "m"}, Env{})
		if err != nil {
			t.Fatal(err)
		}
		if ep := Decorate(p, spec, opts); ep.Embedder == nil {
			t.Errorf("Limit %v: no Embedder for openai", opts.Limit)
		}
	}
}
