package provider

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// TestOpenAIRequestBodyIsSent checks that RequestBody returns exactly the
// bytes an endpoint receives, for bodies with every kind of part.
func TestOpenAIRequestBodyIsSent(t *testing.T) {
	var mu sync.Mutex
	var got []byte
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = b
		mu.Unlock()
		answer(200, okBody)(w, r)
	})
	tests := []struct {
		name string
		spec func(*openaiTarget)
		msgs []evals.Message
	}{
		{"plain", func(*openaiTarget) {}, testRequest.Messages},
		{"params and extra_body", func(s *openaiTarget) {
			s.Params = &evals.Params{Temperature: ptr(0.0), MaxTokens: ptr(64), Seed: ptr(int64(7)),
				Stop: json.RawMessage(` ["\n", "END"] `), ResponseFormat: json.RawMessage(`{"type": "json_object"}`)}
			s.ExtraBody = map[string]any{"top_k": 5, "chat_template_kwargs": map[string]any{"enable_thinking": false}, "html": "<a&b>"}
		}, testRequest.Messages},
		{"model needing escapes", func(s *openaiTarget) { s.Model = `org/"m"\v1` }, testRequest.Messages},
		{"odd text", func(*openaiTarget) {}, []evals.Message{
			{Role: "system", Content: "tab\there, nul \x00, bell \a, del \x7f"},
			{Role: "user", Content: "ünïcødé 日本語 🎉 \u2028\u2029 invalid \xff\xfe end"},
			{Role: "assistant", Content: ""},
		}},
		{"no messages", func(*openaiTarget) {}, nil},
		{"long", func(*openaiTarget) {}, []evals.Message{{Role: "user", Content: strings.Repeat("x\"y\\z\n", 5000)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := openaiSpec(srv)
			tt.spec(&spec)
			p := newOpenAI(t, spec)
			req := &evals.Request{Target: "t", CaseID: "c", Messages: tt.msgs}
			want, err := p.RequestBody(req)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.Complete(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !bytes.Equal(got, want) {
				t.Errorf("the server received\n%s\nRequestBody returned\n%s", got, want)
			}
			if !bytes.Equal(resp.Sent.Body, want) {
				t.Errorf("Sent.Body = %s, RequestBody = %s", resp.Sent.Body, want)
			}
			if !json.Valid(want) {
				t.Errorf("body is not JSON: %s", want)
			}
			if resp.Sent.URL != p.SentURL() {
				t.Errorf("Sent.URL = %q, SentURL() = %q", resp.Sent.URL, p.SentURL())
			}
		})
	}
}

func TestOpenAISentURLHidesPassword(t *testing.T) {
	srv := serve(t, answer(200, okBody))
	spec := openaiSpec(srv)
	spec.BaseURL = strings.Replace(srv.URL, "http://", "http://me:hunter2@", 1) + "/v1?api-version=1"
	p := newOpenAI(t, spec)
	if u := p.SentURL(); strings.Contains(u, "hunter2") || !strings.HasSuffix(u, "/v1/chat/completions?api-version=1") {
		t.Errorf("SentURL() = %q", u)
	}
}

// TestOpenAIExtraBodyCredentials sends an extra_body credential as given and
// records it, in Sent.Body and RequestBody (which the cache keys on), as
// [REDACTED]; a server echoing it has it redacted from its message.
func TestOpenAIExtraBodyCredentials(t *testing.T) {
	var mu sync.Mutex
	var got []byte
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = b
		mu.Unlock()
		answer(200, okBody)(w, r)
	})
	spec := openaiSpec(srv)
	spec.ExtraBody = map[string]any{"api_key": "sk-body-0123456789", "top_k": 5.0,
		"meta": map[string]any{"access_token": "at-body-0123456789", "team": "qa"}}
	p := newOpenAI(t, spec)
	for _, req := range []*evals.Request{
		{Target: "t", CaseID: "c", Messages: testRequest.Messages},
		{Target: "t", CaseID: "c", Messages: testRequest.Messages, Params: &evals.Params{MaxTokens: ptr(9)}},
	} {
		resp, err := p.Complete(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := p.RequestBody(req)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		var sent, recorded map[string]any
		if err := json.Unmarshal(got, &sent); err != nil {
			t.Fatal(err)
		}
		mu.Unlock()
		if err := json.Unmarshal(resp.Sent.Body, &recorded); err != nil {
			t.Fatal(err)
		}
		if sent["api_key"] != "sk-body-0123456789" || sent["meta"].(map[string]any)["access_token"] != "at-body-0123456789" {
			t.Errorf("the server received %s: want the credentials as given", got)
		}
		if !bytes.Equal(rec, resp.Sent.Body) || bytes.Contains(rec, []byte("0123456789")) {
			t.Errorf("Sent.Body %s, RequestBody %s: want both the same, without the credentials", resp.Sent.Body, rec)
		}
		want := map[string]any{"api_key": evals.Redacted, "meta": map[string]any{"access_token": evals.Redacted, "team": "qa"}}
		if recorded["api_key"] != want["api_key"] || !reflect.DeepEqual(recorded["meta"], want["meta"]) || recorded["top_k"] != 5.0 || recorded["model"] != sent["model"] {
			t.Errorf("recorded body %s", resp.Sent.Body)
		}
		if req.Params != nil && recorded["max_tokens"] != 9.0 {
			t.Errorf("recorded body %s lacks the request's params", resp.Sent.Body)
		}
	}

	echo := serve(t, answer(400, `{"error":{"message":"bad key sk-body-0123456789"}}`))
	spec.BaseURL = openaiSpec(echo).BaseURL
	_, err := newOpenAI(t, spec).Complete(t.Context(), testRequest)
	if pe := providerError(t, err); strings.Contains(pe.Message, "0123456789") || bytes.Contains(pe.Sent.Body, []byte("0123456789")) {
		t.Errorf("error message %q, Sent.Body %s: want the credential redacted", pe.Message, pe.Sent.Body)
	}
}
