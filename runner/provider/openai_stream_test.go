package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// chunkEvent is one event of a chat completion stream as OpenAI documents
// it: delta and finish_reason as JSON.
func chunkEvent(delta, finish string) string {
	return `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":` +
		delta + `,"logprobs":null,"finish_reason":` + finish + `}],"usage":null}` + "\n\n"
}

// usageEvent is the last chunk of a stream with include_usage.
func usageEvent(prompt, completion int) string {
	return fmt.Sprintf(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n",
		prompt, completion, prompt+completion)
}

const doneEvent = "data: [DONE]\n\n"

// okStream answers "billing" as OpenAI streams it: the role, two pieces of
// content, the finish, the usage, [DONE].
var okStream = []string{
	chunkEvent(`{"role":"assistant","content":""}`, "null"),
	chunkEvent(`{"content":"bill"}`, "null"),
	chunkEvent(`{"content":"ing"}`, "null"),
	chunkEvent(`{}`, `"stop"`),
	usageEvent(12, 2),
	doneEvent,
}

// streamEvents answers with the events, flushing after each, waiting pause
// before each but the first.
func streamEvents(pause time.Duration, events ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		for i, ev := range events {
			if i > 0 && pause > 0 {
				time.Sleep(pause)
			}
			io.WriteString(w, ev)
			w.(http.Flusher).Flush()
		}
	}
}

// streamAndClose answers with the events on a response without length or
// chunking, and closes the connection after them, as llama.cpp's server
// ends a stream.
func streamAndClose(events ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n")
		rw.Flush()
		for _, ev := range events {
			rw.WriteString(ev)
			rw.Flush()
		}
	}
}

// streamSpec is a minimal streaming target for srv.
func streamTarget(url string) openaiTarget {
	return openaiTarget{evals.TargetSpec{Name: "t", Provider: "openai", Model: "m"}, OpenAIConfig{BaseURL: url + "/v1", Stream: true}}
}

// TestOpenAIStream reads streams as servers send them. Every complete one
// gives the same answer; every one cut short is a transport error, which is
// retried, and never an answer.
func TestOpenAIStream(t *testing.T) {
	crlf := func(evs []string) []string {
		out := make([]string, len(evs))
		for i, e := range evs {
			out[i] = strings.ReplaceAll(e, "\n", "\r\n")
		}
		return out
	}
	noDone := okStream[:len(okStream)-1]
	tests := []struct {
		name    string
		handler http.HandlerFunc
		usage   evals.Usage // of a complete answer
		kind    string      // of an error
		status  int
		msg     string
	}{
		{name: "as OpenAI streams", handler: streamEvents(0, okStream...), usage: evals.Usage{PromptTokens: 12, CompletionTokens: 2, TotalTokens: 14}},
		{name: "CRLF, comments and blank lines", usage: evals.Usage{PromptTokens: 12, CompletionTokens: 2, TotalTokens: 14},
			handler: streamEvents(0, append([]string{": ping\r\n\r\n", "\r\n"}, crlf(okStream)...)...)},
		{name: "split across reads", usage: evals.Usage{PromptTokens: 12, CompletionTokens: 2, TotalTokens: 14},
			handler: streamEvents(0, strings.Split(strings.Join(okStream, ""), "")...)},
		{name: "no [DONE], the connection closed", handler: streamAndClose(noDone...), usage: evals.Usage{PromptTokens: 12, CompletionTokens: 2, TotalTokens: 14}},
		{name: "no [DONE] nor usage", handler: streamEvents(0, okStream[:4]...)},
		{name: "reasoning first, as vLLM and DeepSeek", usage: evals.Usage{PromptTokens: 12, CompletionTokens: 2, TotalTokens: 14},
			handler: streamEvents(0, chunkEvent(`{"role":"assistant","reasoning_content":"The ticket"}`, "null"),
				chunkEvent(`{"reasoning":" is about money."}`, "null"), okStream[1], okStream[2], okStream[3], okStream[4], doneEvent)},
		{name: "usage in every chunk, the last counts", usage: evals.Usage{PromptTokens: 12, CompletionTokens: 2, TotalTokens: 14},
			handler: streamEvents(0, strings.Replace(okStream[1], `"usage":null`, `"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}`, 1),
				strings.Replace(okStream[2], `"usage":null`, `"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}`, 1),
				okStream[3], doneEvent)},
		{name: "other choices ignored", usage: evals.Usage{PromptTokens: 12, CompletionTokens: 2, TotalTokens: 14},
			handler: streamEvents(0, okStream[1], strings.Replace(okStream[2], `"index":0,"delta":{"content":"ing"}`, `"index":1,"delta":{"content":"XX"}`, 1),
				okStream[2], okStream[3], okStream[4], doneEvent)},
		{name: "Azure's empty first chunk", usage: evals.Usage{PromptTokens: 12, CompletionTokens: 2, TotalTokens: 14},
			handler: streamEvents(0, append([]string{`data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}` + "\n\n"}, okStream...)...)},

		{name: "cut inside an event", handler: streamAndClose(okStream[0], okStream[1], okStream[2][:40]), kind: evals.ErrKindTransport,
			msg: "transport: the stream was cut off: it ended inside an event"},
		{name: "cut between events", handler: streamAndClose(okStream[0], okStream[1]), kind: evals.ErrKindTransport,
			msg: "transport: the stream was cut off: it ended before a chunk with a finish_reason, and without [DONE]"},
		{name: "chunked body cut short", kind: evals.ErrKindTransport,
			msg: "transport: reading the stream: truncated: the server closed the connection before the end of the body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // else the close resets the connection
				conn, rw, _ := w.(http.Hijacker).Hijack()
				defer conn.Close()
				rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
				fmt.Fprintf(rw, "%x\r\n%s\r\n", len(okStream[1]), okStream[1])
				rw.Flush()
			}},
		{name: "empty 200", handler: streamAndClose(), kind: evals.ErrKindTransport,
			msg: "transport: the stream was cut off: it ended before a chunk with a finish_reason, and without [DONE]"},
		{name: "no events", handler: streamAndClose("hello\n"), kind: evals.ErrKindDecode,
			msg: `decode: the response holds no server-sent events (Content-Type "text/event-stream")`},
		{name: "one JSON body instead", handler: answer(200, okBody), kind: evals.ErrKindDecode,
			msg: `decode: the target streams ("stream": true), but the server answered with one JSON body, not server-sent events: it does not stream; remove "stream" from the target; body: ` + okBody[:200] + "…"},
		{name: "an error with status 200", handler: answer(200, `{"error":{"message":"model is loading"}}`), kind: evals.ErrKindDecode,
			msg: `decode: the server answered with an error instead of a stream: model is loading`},
		{name: "error status", handler: answer(429, `{"error":{"message":"Rate limit reached","type":"requests"}}`), kind: evals.ErrKindHTTP, status: 429,
			msg: "http_status 429: Rate limit reached"},
		{name: "an error in the stream", kind: evals.ErrKindHTTP, status: 500,
			handler: streamEvents(0, okStream[0], `data: {"error":{"object":"error","message":"engine died","type":"InternalServerError","code":500}}`+"\n\n"),
			msg:     "http_status 500: the stream reported an error: engine died"},
		{name: "an error event", kind: evals.ErrKindDecode,
			handler: streamEvents(0, okStream[0], "event: error\ndata: {\"error\":{\"message\":\"content filtered\",\"code\":\"content_filter\"}}\n\n"),
			msg:     "decode: the stream reported an error: content filtered"},
		{name: "malformed chunk", handler: streamEvents(0, okStream[0], "data: {\"choices\":[\n\n"), kind: evals.ErrKindDecode,
			msg: `decode: malformed chunk in the stream: unexpected end of JSON input; body: {"choices":[`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.handler)
			p := newOpenAI(t, streamTarget(srv.URL))
			for i := range 2 { // twice: a connection closed or kept serves the next request
				resp, err := p.Complete(t.Context(), testRequest)
				if tt.kind != "" {
					pe := providerError(t, err)
					if pe.Kind != tt.kind || pe.Status != tt.status || err.Error() != tt.msg {
						t.Fatalf("error %q (kind %s, status %d); want %q", err, pe.Kind, pe.Status, tt.msg)
					}
					if retry := tt.kind == evals.ErrKindTransport || tt.status == 429 || tt.status >= 500; pe.Retryable() != retry {
						t.Errorf("Retryable() = %v, want %v", pe.Retryable(), retry)
					}
					if pe.Sent == nil || !strings.Contains(string(pe.Sent.Body), `"stream":true`) {
						t.Errorf("the error records the request %v", pe.Sent)
					}
					continue
				}
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if resp.Text != "billing" || resp.Finish != "stop" || resp.Usage != tt.usage {
					t.Errorf("got %q, finish %q, usage %+v; want billing, stop, %+v", resp.Text, resp.Finish, resp.Usage, tt.usage)
				}
				st := resp.Stream
				if st == nil || st.FirstTokenMS <= 0 || st.FirstContentMS < st.FirstTokenMS {
					t.Errorf("stream timing %+v: want a first token, and the first content no earlier", st)
				}
			}
		})
	}
}

// TestOpenAIStreamRequest: a streaming target asks for events, with the
// usage, in the body it records and sends, byte for byte.
func TestOpenAIStreamRequest(t *testing.T) {
	var body, accept string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body, accept = string(b), r.Header.Get("Accept")
		streamEvents(0, okStream...)(w, r)
	})
	o := streamTarget(srv.URL)
	o.Params = &evals.Params{Temperature: ptr(0.0)}
	o.ExtraBody = map[string]any{"top_k": 5}
	p := newOpenAI(t, o)
	resp, err := p.Complete(t.Context(), testRequest)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"m","messages":` + testMessagesJSON + `,"temperature":0,"stream":true,"stream_options":{"include_usage":true},"top_k":5}`
	if body != want || string(resp.Sent.Body) != want {
		t.Errorf("sent\n%s\nrecorded\n%s\nwant\n%s", body, resp.Sent.Body, want)
	}
	if rb, _ := p.RequestBody(testRequest); string(rb) != want {
		t.Errorf("RequestBody (the cache's key) = %s", rb)
	}
	if accept != "text/event-stream" {
		t.Errorf("Accept: %q, want text/event-stream", accept)
	}
}

// TestOpenAIStreamTiming checks the timings against a server that paces its
// events: reasoning first, then the answer, the usage counting 11 tokens.
func TestOpenAIStreamTiming(t *testing.T) {
	const pause = 40 * time.Millisecond
	srv := serve(t, streamEvents(pause,
		chunkEvent(`{"role":"assistant","content":""}`, "null"), // no token
		chunkEvent(`{"reasoning_content":"Money."}`, "null"),    // first token, at 1 pause
		chunkEvent(`{"content":"bill"}`, "null"),                // first content, at 2
		chunkEvent(`{"content":"ing"}`, "null"),                 // last token, at 3
		chunkEvent(`{}`, `"stop"`),
		usageEvent(12, 11),
		doneEvent))
	start := time.Now()
	resp, err := newOpenAI(t, streamTarget(srv.URL)).Complete(t.Context(), testRequest)
	total := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	st := resp.Stream
	if st == nil {
		t.Fatal("no stream timing")
	}
	p := float64(pause / time.Millisecond)
	if st.FirstTokenMS < p || st.FirstTokenMS > 2*p {
		t.Errorf("first token at %v ms, want about %v", st.FirstTokenMS, p)
	}
	if d := st.FirstContentMS - st.FirstTokenMS; d < 0.9*p || d > 2*p {
		t.Errorf("first content %v ms after the first token, want about %v", d, p)
	}
	if float64(total/time.Millisecond) < st.FirstContentMS {
		t.Errorf("first content at %v ms, after the whole call (%v)", st.FirstContentMS, total)
	}
	// 10 tokens after the first, over the two pauses from first to last.
	if want := 10 / (2 * pause.Seconds()); st.TokensPerSecond > want*1.05 || st.TokensPerSecond < want/2 {
		t.Errorf("%v tokens/s, want about %.0f", st.TokensPerSecond, want)
	}
}

// TestOpenAIStreamTimeout: a stream that stops mid-way until the target's
// timeout is a timeout, not an answer.
func TestOpenAIStreamTimeout(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, okStream[0]+okStream[1])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	o := streamTarget(srv.URL)
	o.Timeout = evals.Duration(200 * time.Millisecond)
	_, err := newOpenAI(t, o).Complete(t.Context(), testRequest)
	if pe := providerError(t, err); pe.Kind != evals.ErrKindTimeout {
		t.Errorf("error %v, want a timeout", err)
	}
}

// TestOpenAIStreamRetried: through the target's decorators, a stream cut off
// is sent again, and the complete answer is the result.
func TestOpenAIStreamRetried(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			streamAndClose(okStream[0], okStream[1][:30])(w, r)
			return
		}
		streamEvents(0, okStream...)(w, r)
	})
	spec := streamTarget(srv.URL).spec()
	ep, err := Default().Endpoint(spec, Options{Retry: []RetryOption{RetrySleep(func(context.Context, time.Duration) error { return nil })}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	resp, err := ep.Provider.Complete(t.Context(), testRequest)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "billing" || resp.Attempts != 2 || calls.Load() != 2 {
		t.Errorf("got %q after %d attempts (%d calls); want billing after 2", resp.Text, resp.Attempts, calls.Load())
	}
}

// TestSSEPoolReuse: a pooled reader starts each stream afresh, whatever the
// last one left unread in its buffer.
func TestSSEPoolReuse(t *testing.T) {
	l := getSSE(strings.NewReader("data: a\n\ndata: left over\n\nevent: x\n"))
	if ev, err := l.sse.Next(); err != nil || string(ev.Data) != "a" {
		t.Fatalf("got %q, %v", ev.Data, err)
	}
	putSSE(l)
	for range 2 {
		l = getSSE(iotest.OneByteReader(strings.NewReader("data: b\n\n")))
		var got []string
		var err error
		for {
			var ev sseEvent
			if ev, err = l.sse.Next(); err != nil {
				break
			}
			got = append(got, ev.Type+"|"+string(ev.Data))
		}
		putSSE(l)
		if strings.Join(got, ",") != "|b" || err != io.EOF {
			t.Errorf("events %q, end %v; want |b and EOF", got, err)
		}
	}
}

// TestReplayOfAStream records the answers of the streaming test servers (an
// openai target and an azure one) as results.jsonl holds them, and replays
// them: the same text, finish, usage, latency and stream timings.
func TestReplayOfAStream(t *testing.T) {
	const key = "azure-key-0123456789"
	t.Setenv("RUBRIC_AZURE_KEY", key)
	openaiSrv := serve(t, streamEvents(5*time.Millisecond, okStream...))
	azureSrv := newAzureServer(t, key, "gpt4o-mini", "2024-10-21")
	targets := map[string]evals.TargetSpec{
		"streamed":       streamTarget(openaiSrv.URL).spec(),
		"azure-streamed": azureTarget("azure-streamed", AzureConfig{Endpoint: azureSrv.URL, APIKeyEnv: "RUBRIC_AZURE_KEY", Stream: true}, "gpt4o-mini"),
	}
	var lines []string
	recorded := map[string]*evals.Response{}
	for name, spec := range targets {
		p, err := New(spec)
		if err != nil {
			t.Fatal(err)
		}
		defer p.(io.Closer).Close()
		start := time.Now()
		resp, err := p.Complete(t.Context(), testRequest)
		if err != nil {
			t.Fatal(err)
		}
		resp.Latency = time.Since(start).Round(time.Microsecond)
		recorded[name] = resp
		b, err := json.Marshal(evals.Result{RunID: "r", CaseID: "c1", Target: name, Request: resp.Sent, Output: resp.Text, Finish: resp.Finish,
			Usage: resp.Usage, LatencyMS: float64(resp.Latency) / 1e6, Stream: resp.Stream, Status: evals.StatusPassed})
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	dir := writeFile(t, "results.jsonl", strings.Join(lines, "\n")+"\n")
	for name, rec := range recorded {
		r := replaySpec(dir, "results.jsonl")
		r.ReplayAs = name
		p, err := newReplay(r)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.Complete(t.Context(), &evals.Request{CaseID: "c1", Messages: testRequest.Messages})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Text != rec.Text || resp.Finish != rec.Finish || resp.Usage != rec.Usage || resp.Latency != rec.Latency ||
			resp.Stream == nil || *resp.Stream != *rec.Stream {
			t.Errorf("%s: replayed %+v, stream %+v\nrecorded %+v, stream %+v", name, resp, resp.Stream, rec, rec.Stream)
		}
	}
}

// TestDecodeChunk reads chunks in every shape the servers send, and refuses
// the ones that are not chunks.
func TestDecodeChunk(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       chunk
		err        string
	}{
		{"content", `{"choices":[{"index":0,"delta":{"content":"bill"},"finish_reason":null}],"usage":null}`, chunk{content: "bill"}, ""},
		{"escapes", `{"choices":[{"delta":{"content":"a\n\"b\" \u00e9"}}]}`, chunk{content: "a\n\"b\" é"}, ""},
		{"content parts", `{"choices":[{"delta":{"content":[{"type":"text","text":"a"},{"type":"image_url"},{"text":"b"}]}}]}`, chunk{content: "ab"}, ""},
		{"null content, role", `{"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}`, chunk{}, ""},
		{"reasoning_content", `{"choices":[{"delta":{"reasoning_content":"hm"}}]}`, chunk{reasoning: true}, ""},
		{"reasoning", `{"choices":[{"delta":{"content":"","reasoning":"hm"}}]}`, chunk{reasoning: true}, ""},
		{"finish", `{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`, chunk{finish: "length"}, ""},
		{"another choice", `{"choices":[{"index":1,"delta":{"content":"x"},"finish_reason":"stop"}]}`, chunk{}, ""},
		{"usage", `{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}`, chunk{usage: `{"prompt_tokens":1,"completion_tokens":2}`}, ""},
		{"error", `{"error":{"message":"x"}}`, chunk{err: true}, ""},
		{"null error", `{"choices":[],"error":null}`, chunk{}, ""},
		{"cut", `{"choices":[`, chunk{}, "unexpected end of JSON input"},
		{"not an object", `[1]`, chunk{}, "expected an object, got [1]"},
		{"choices not an array", `{"choices":{"a":1}}`, chunk{}, "choices is not an array"},
		{"content a number", `{"choices":[{"delta":{"content":5}}]}`, chunk{}, "delta.content is 5, not a string"},
		{"finish a number", `{"choices":[{"delta":{},"finish_reason":1}]}`, chunk{}, "finish_reason is 1, not a string"},
		{"tool call, first piece", `{"choices":[{"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":""}}]}}]}`,
			chunk{calls: []callPiece{{index: 0, hasIndex: true, id: "call_1", name: "lookup"}}}, ""},
		{"tool call, arguments piece", `{"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"a\":"}}]}}]}`,
			chunk{calls: []callPiece{{index: 1, hasIndex: true, args: `{"a":`}}}, ""},
		{"tool call without index, arguments as JSON", `{"choices":[{"delta":{"tool_calls":[{"id":"x","function":{"name":"f","arguments":{"a":1}}}]}}]}`,
			chunk{calls: []callPiece{{id: "x", name: "f", args: `{"a":1}`}}}, ""},
		{"null tool_calls", `{"choices":[{"delta":{"content":"a","tool_calls":null}}]}`, chunk{content: "a"}, ""},
		{"tool_calls not an array", `{"choices":[{"delta":{"tool_calls":{"index":0}}}]}`, chunk{}, `delta.tool_calls is {"index":0}, not an array`},
		{"tool call not an object", `{"choices":[{"delta":{"tool_calls":[7]}}]}`, chunk{}, `delta.tool_calls holds 7, not an object`},
		{"tool call index negative", `{"choices":[{"delta":{"tool_calls":[{"index":-1}]}}]}`, chunk{}, `delta.tool_calls index is -1, not an integer from 0 to 1023`},
		{"tool call index huge", `{"choices":[{"delta":{"tool_calls":[{"index":1e9}]}}]}`, chunk{}, `delta.tool_calls index is 1e9, not an integer from 0 to 1023`},
		{"tool call index a string", `{"choices":[{"delta":{"tool_calls":[{"index":"0"}]}}]}`, chunk{}, `delta.tool_calls index is "0", not an integer from 0 to 1023`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeChunk([]byte(tc.data))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestOpenAIStreamAnswersAtDone: the answer is complete at [DONE], whatever
// the server does after it; a server that keeps the body open does not hold
// the answer up until the timeout (the rest is read in the background, and
// cut off at the timeout).
func TestOpenAIStreamAnswersAtDone(t *testing.T) {
	release := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		streamEvents(0, okStream...)(w, r)
		select { // the body stays open
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	o := streamTarget(srv.URL)
	o.Timeout = evals.Duration(5 * time.Second)
	start := time.Now()
	resp, err := newOpenAI(t, o).Complete(t.Context(), testRequest)
	if err != nil || resp.Text != "billing" {
		t.Fatalf("%v, %v", resp, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the answer took %v: it waited for the body to end after [DONE]", d)
	}
}
