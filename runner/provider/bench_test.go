package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// completion300 is a chat completion of exactly 300 bytes.
var completion300 = func() string {
	const head = `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"`
	const tail = `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":48,"completion_tokens":20,"total_tokens":68}}`
	return head + strings.Repeat("x", 300-len(head)-len(tail)) + tail
}()

// benchMessages is the prompt of the request benchmarks: a system message
// and a ticket.
var benchMessages = []evals.Message{
	{Role: "system", Content: "Classify the support ticket into billing, bug, or other. Answer with one word."},
	{Role: "user", Content: "I was charged twice for my subscription this month, please refund one of the charges."},
}

// benchServer answers every request with the events, each written and
// flushed on its own, after reading the request's body.
func benchServer(b *testing.B, contentType string, events ...string) *httptest.Server {
	chunks := make([][]byte, len(events))
	for i, ev := range events {
		chunks[i] = []byte(ev)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		f := w.(http.Flusher)
		for _, c := range chunks {
			w.Write(c)
			if len(chunks) > 1 {
				f.Flush()
			}
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchComplete measures p's whole request path with concurrency requests in
// flight; ok checks each answer.
func benchComplete(b *testing.B, p evals.Provider, concurrency int, ok func(*evals.Response) bool) {
	req := &evals.Request{Target: "t", CaseID: "c1", Messages: benchMessages}
	b.SetParallelism(max(1, concurrency/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := p.Complete(b.Context(), req)
			if err != nil || !ok(resp) {
				b.Errorf("%v, %v", resp, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// benchSpec is the target of the request benchmarks.
func benchSpec(provider string, concurrency int) evals.TargetSpec {
	return evals.TargetSpec{Name: "t", Provider: provider, Model: "m", Concurrency: concurrency,
		Params: &evals.Params{Temperature: ptr(0.0), MaxTokens: ptr(64)}}
}

// BenchmarkOpenAIComplete measures the whole request path against a local
// server that answers at once, with 8 requests in flight.
func BenchmarkOpenAIComplete(b *testing.B) {
	const concurrency = 8
	if len(completion300) != 300 {
		b.Fatalf("completion is %d bytes, want 300", len(completion300))
	}
	srv := benchServer(b, "application/json", completion300)
	p, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1"}, benchSpec("openai", concurrency), Env{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	benchComplete(b, p, concurrency, func(*evals.Response) bool { return true })
}

// BenchmarkOpenAICompleteStream measures the request path of a target that
// streams, against a local server that streams the answer at once, as
// OpenAI does: the role, two pieces of content, the finish, the usage and
// [DONE], each event flushed on its own.
func BenchmarkOpenAICompleteStream(b *testing.B) {
	const concurrency = 8
	srv := benchServer(b, "text/event-stream", okStream...)
	p, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Stream: true}, benchSpec("openai", concurrency), Env{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	benchComplete(b, p, concurrency, func(resp *evals.Response) bool { return resp.Text == "billing" && resp.Stream != nil })
}

// BenchmarkAnthropicComplete measures the request path of an anthropic
// target, whole and streamed (the documentation's stream, each event
// flushed on its own), with 8 requests in flight.
func BenchmarkAnthropicComplete(b *testing.B) {
	const concurrency = 8
	for _, stream := range []bool{false, true} {
		b.Run(map[bool]string{false: "whole", true: "stream"}[stream], func(b *testing.B) {
			srv := benchServer(b, "application/json", anthropicBody("billing"))
			if stream {
				srv = benchServer(b, "text/event-stream; charset=utf-8", documentedStream("bill", "ing")...)
			}
			p, err := NewAnthropic(AnthropicConfig{BaseURL: srv.URL, Stream: stream}, benchSpec("anthropic", concurrency), Env{})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			benchComplete(b, p, concurrency, func(resp *evals.Response) bool { return resp.Text == "billing" && (resp.Stream != nil) == stream })
		})
	}
}

// BenchmarkHTTPComplete measures the request path of an http target whose
// body template names the messages, with 8 requests in flight.
func BenchmarkHTTPComplete(b *testing.B) {
	const concurrency = 8
	srv := benchServer(b, "application/json", `{"output": "billing", "usage": {"in": 48, "out": 1}}`)
	p, err := NewHTTP(HTTPConfig{
		URL:      srv.URL + "/classify",
		Body:     NewHTTPBody(`{"conversation": "{{ messages | json }}", "options": {"max_tokens": "{{ params.max_tokens | json }}", "temperature": "{{ params.temperature | json }}"}}`),
		Response: &HTTPResponse{Text: "output", Usage: &HTTPUsage{PromptTokens: "usage.in", CompletionTokens: "usage.out"}},
	}, benchSpec("http", concurrency), Env{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	benchComplete(b, p, concurrency, func(resp *evals.Response) bool { return resp.Text == "billing" })
}

// BenchmarkOpenAIStreamRead measures reading one stream's events, without
// the network: the events of okStream, one byte split from the next.
func BenchmarkOpenAIStreamRead(b *testing.B) {
	body := strings.Join(okStream, "")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var r strings.Reader
	for b.Loop() {
		r.Reset(body)
		l := getSSE(&r)
		n := 0
		for {
			ev, err := l.sse.Next()
			if err != nil {
				break
			}
			if string(ev.Data) != "[DONE]" {
				if _, err := decodeChunk(ev.Data); err != nil {
					b.Fatal(err)
				}
			}
			n++
		}
		putSSE(l)
		if n != len(okStream) {
			b.Fatalf("%d events", n)
		}
	}
}

// BenchmarkOpenAIBody measures building one request body.
func BenchmarkOpenAIBody(b *testing.B) {
	msgs := []evals.Message{
		{Role: "system", Content: "Classify the support ticket into billing, bug, or other. Answer with one word."},
		{Role: "user", Content: strings.Repeat("I was charged twice.\n", 50)},
	}
	prefix := []byte(`{"model":"m","messages":`)
	suffix := []byte(`,"temperature":0}`)
	b.ReportAllocs()
	for b.Loop() {
		body := make([]byte, 0, len(prefix)+messagesSize(msgs)+len(suffix))
		body = append(body, prefix...)
		body = appendMessages(body, msgs)
		body = append(body, suffix...)
		if len(body) == 0 {
			b.Fatal(fmt.Sprint(len(body)))
		}
	}
}

// BenchmarkWrap measures what Wrap's decorators (retry, with the target's
// reachability) add to a request that succeeds at once.
func BenchmarkWrap(b *testing.B) {
	resp := &evals.Response{Text: "x"}
	inner := remoteFunc(func(context.Context, *evals.Request) (*evals.Response, error) { return resp, nil })
	spec := evals.TargetSpec{Name: "t", Provider: "openai", Model: "m", Concurrency: 32}
	p := Wrap(inner, spec)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Complete(b.Context(), testRequest); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// remoteFunc is a providerFunc that is Remote, as the provider of a real
// target is, so that its reachability is tracked.
type remoteFunc func(ctx context.Context, req *evals.Request) (*evals.Response, error)

func (f remoteFunc) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	return f(ctx, req)
}

func (remoteFunc) BaseURL() string { return "http://127.0.0.1:1/v1" }

// BenchmarkOpenAIDecode measures reading a chat completion's body: a
// 300-byte one, and one whose content has escapes, as most answers do.
func BenchmarkOpenAIDecode(b *testing.B) {
	p := &OpenAI{}
	escaped := strings.Replace(completion300, strings.Repeat("x", 40), `line one\nline \"two\"\u00e9\ttab\nx`, 1)
	for name, body := range map[string]string{"plain": completion300, "escaped": escaped} {
		b.Run(name, func(b *testing.B) {
			raw := []byte(body)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenAIToolsBody measures building the body of a tool loop's
// third step: the tools, two assistant messages with calls and three tool
// results.
func BenchmarkOpenAIToolsBody(b *testing.B) {
	p, err := NewOpenAI(OpenAIConfig{BaseURL: "http://127.0.0.1:1/v1"}, benchSpec("openai", 1), Env{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	req := &evals.Request{Messages: loopMessages, Tools: []evals.Tool{lookupTool, refundTool}, ToolChoice: json.RawMessage(`"auto"`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, perr := p.body(req); perr != nil {
			b.Fatal(perr)
		}
	}
}
