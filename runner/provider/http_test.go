package provider

import (
	"bufio"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/store"
)

// httpTarget is an http target as a test writes it.
type httpTarget struct {
	evals.TargetSpec
	HTTPConfig
}

func (h httpTarget) spec() evals.TargetSpec { return withConfig(h.TargetSpec, h.HTTPConfig) }

// httpSpec returns a target POSTing body to the server's /api, reading the
// answer at the path "output".
func httpSpec(srv *httptest.Server, body string) httpTarget {
	return httpTarget{evals.TargetSpec{Name: "t", Provider: "http"}, HTTPConfig{
		URL: srv.URL + "/api", Body: NewHTTPBody(body), Response: &HTTPResponse{Text: "output"},
	}}
}

// newHTTP builds the target through the registry, as a run does.
func newHTTP(t testing.TB, h httpTarget) *HTTP {
	t.Helper()
	p, err := Default().New(h.spec(), Env{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.(*HTTP).Close() })
	return p.(*HTTP)
}

// recorder is a server that records what it is sent and answers with
// handler.
type recorder struct {
	mu      sync.Mutex
	reqs    []recorded
	handler http.HandlerFunc
	srv     *httptest.Server
}

type recorded struct {
	method, uri string
	header      http.Header
	body        string
}

func newRecorder(t *testing.T, handler http.HandlerFunc) *recorder {
	rec := &recorder{handler: handler}
	rec.srv = serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.RequestURI, r.Header.Clone(), string(b)})
		h := rec.handler
		rec.mu.Unlock()
		h(w, r)
	})
	return rec
}

func (rec *recorder) got() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

// caseRequest is testRequest with case variables.
var caseRequest = &evals.Request{
	Target:   "t",
	CaseID:   "c1",
	Messages: testRequest.Messages,
	Vars: map[string]any{
		"ticket": "Disk \"full\"\tagain",
		"n":      float64(3),
		"meta":   map[string]any{"plan": "pro", "seats": json.Number("12")},
		"list":   []any{"a", 2.5, nil},
	},
}

// TestHTTPBody renders bodies and checks the bytes sent, which the
// server gets, and those recorded.
func TestHTTPBody(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		params   *evals.Params
		model    string
		req      *evals.Request
		want     string // sent, and recorded unless rec is set
		recorded string
	}{
		{name: "messages as JSON", body: `{"messages": "{{ messages | json }}"}`,
			want: `{"messages":[{"content":"Classify the ticket.","role":"system"},{"content":"Say \"hi\" <b>\n","role":"user"}]}`},
		{name: "prompt escaped in a string", body: `{"input": "{{ prompt }}"}`,
			want: `{"input":"Say \"hi\" <b>\n"}`},
		{name: "prompt with json is the same string", body: `{"input": "{{ prompt | json }}"}`,
			want: `{"input":"Say \"hi\" <b>\n"}`},
		{name: "text around a placeholder", body: `{"q": "Ticket {{ id }}: {{ ticket }}!"}`,
			want: `{"q":"Ticket c1: Disk \"full\"\tagain!"}`},
		{name: "json filter with text around writes a string", body: `{"q": "n={{ n | json }}, meta={{ meta | json }}"}`,
			want: `{"q":"n=3, meta={\"plan\":\"pro\",\"seats\":12}"}`},
		{name: "case variables as JSON values", body: `{"n": "{{ n | json }}", "meta": "{{ meta | json }}", "list": "{{ list | json }}", "seats": "{{ meta.seats | json }}"}`,
			want: `{"list":["a",2.5,null],"meta":{"plan":"pro","seats":12},"n":3,"seats":12}`},
		{name: "a number without json is a string", body: `{"n": "{{ n }}"}`,
			want: `{"n":"3"}`},
		{name: "nested objects and arrays, keys sorted, numbers as written",
			body: `{"z": 1.50, "a": {"inner": ["{{ prompt }}", {"deep": "{{ id }}", "b": [ ]}, 1e3, 12345678901234567890]}, "t": true, "f": false, "n": null, "é": "ü"}`,
			want: `{"a":{"inner":["Say \"hi\" <b>\n",{"b":[],"deep":"c1"},1e3,12345678901234567890]},"f":false,"n":null,"t":true,"z":1.50,"é":"ü"}`},
		{name: "escaped braces are literal", body: `{"tmpl": "\\{{ not }} {{ id }}", "fixed": "\\{{ x }}"}`,
			want: `{"fixed":"{{ x }}","tmpl":"{{ not }} c1"}`},
		{name: "system, model and params", body: `{"system": "{{ system }}", "model": "{{ model }}", "max_tokens": "{{ params.max_tokens | json }}", "options": "{{ params | json }}", "input": "{{ prompt }}"}`,
			model: "svc-2", params: &evals.Params{MaxTokens: ptr(64), Temperature: ptr(0.0), Stop: json.RawMessage(`["\n"]`)},
			want: `{"input":"Say \"hi\" <b>\n","max_tokens":64,"model":"svc-2","options":{"max_tokens":64,"stop":["\n"],"temperature":0},"system":"Classify the ticket."}`},
		{name: "a request's params fill those the target leaves unset", body: `{"options": "{{ params | json }}", "input": "{{ prompt }}"}`,
			params: &evals.Params{Temperature: ptr(0.5)},
			req:    &evals.Request{CaseID: "j", Messages: testRequest.Messages, Params: &evals.Params{Temperature: ptr(0.0), Seed: ptr(int64(7))}},
			want:   `{"input":"Say \"hi\" <b>\n","options":{"seed":7,"temperature":0.5}}`},
		{name: "a credential's value is sent and recorded as [REDACTED]", body: `{"api_key": "k-123", "auth": {"token": "{{ id }}"}, "input": "{{ prompt }}"}`,
			want:     `{"api_key":"k-123","auth":{"token":"c1"},"input":"Say \"hi\" <b>\n"}`,
			recorded: `{"api_key":"[REDACTED]","auth":"[REDACTED]","input":"Say \"hi\" <b>\n"}`},
		{name: "max_tokens is no credential", body: `{"max_tokens": 5, "input": "{{ prompt }}"}`,
			want: `{"input":"Say \"hi\" <b>\n","max_tokens":5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, answer(200, `{"output":"ok"}`))
			h := httpSpec(rec.srv, tt.body)
			h.Model, h.Params = tt.model, tt.params
			p := newHTTP(t, h)
			req := cmpReq(tt.req, caseRequest)
			resp, err := p.Complete(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			wantRec := cmp.Or(tt.recorded, tt.want)
			if got := rec.got(); len(got) != 1 || got[0].body != tt.want {
				t.Errorf("sent %q\nwant %q", got, tt.want)
			}
			if string(resp.Sent.Body) != wantRec || resp.Sent.URL != rec.srv.URL+"/api" {
				t.Errorf("recorded %s %s\n     want %s %s", resp.Sent.URL, resp.Sent.Body, rec.srv.URL+"/api", wantRec)
			}
			if !json.Valid(resp.Sent.Body) {
				t.Errorf("recorded body is not JSON: %s", resp.Sent.Body)
			}
			body, err := p.RequestBody(req)
			if err != nil || string(body) != wantRec {
				t.Errorf("RequestBody = %s, %v; want what is recorded, %s", body, err, wantRec)
			}
		})
	}
}

func cmpReq(a, b *evals.Request) *evals.Request {
	if a != nil {
		return a
	}
	return b
}

// TestHTTPURL checks templates in the url: values escaped for the path or
// the query, GET without a body, the URL recorded as sent.
func TestHTTPURL(t *testing.T) {
	req := &evals.Request{CaseID: "a/b c", Messages: []evals.Message{{Role: "user", Content: "rock & roll? 100%"}},
		Vars: map[string]any{"lang": "de"}}
	tests := []struct {
		name, url, method, body string
		wantURI                 string
	}{
		{"query values escaped", "/search?q={{ prompt }}&lang={{ lang }}", "GET", "",
			"/search?q=rock+%26+roll%3F+100%25&lang=de"},
		{"path values escaped, slash included", "/items/{{ id }}/answer", "GET", "",
			"/items/a%2Fb%20c/answer"},
		{"fixed query kept, template in the path", "/v2/{{ lang }}/classify?api-version=3", "POST", `{"input": "{{ prompt }}"}`,
			"/v2/de/classify?api-version=3"},
		{"json value in the query", "/q?m={{ messages | json }}", "GET", "",
			"/q?m=%5B%7B%22content%22%3A%22rock+%26+roll%3F+100%25%22%2C%22role%22%3A%22user%22%7D%5D"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, answer(200, `{"output":"ok"}`))
			h := httpTarget{evals.TargetSpec{Name: "t", Provider: "http"}, HTTPConfig{
				URL: rec.srv.URL + tt.url, Method: tt.method, Response: &HTTPResponse{Text: "output"}}}
			if tt.body != "" {
				h.Body = NewHTTPBody(tt.body)
			}
			p := newHTTP(t, h)
			resp, err := p.Complete(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			got := rec.got()
			if len(got) != 1 || got[0].method != tt.method || got[0].uri != tt.wantURI {
				t.Fatalf("sent %+v, want %s %s", got, tt.method, tt.wantURI)
			}
			if resp.Sent.URL != rec.srv.URL+tt.wantURI {
				t.Errorf("recorded URL %q, want %q", resp.Sent.URL, rec.srv.URL+tt.wantURI)
			}
			if tt.method == "GET" {
				if got[0].body != "" || got[0].header.Get("Content-Type") != "" || resp.Sent.Body != nil {
					t.Errorf("GET sent body %q, Content-Type %q, recorded body %s; want none", got[0].body, got[0].header.Get("Content-Type"), resp.Sent.Body)
				}
			} else if got[0].header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", got[0].header.Get("Content-Type"))
			}
			url, key, err := p.Route(req)
			if err != nil || url != resp.Sent.URL || !strings.HasPrefix(key, tt.method+" "+url+"\n") {
				t.Errorf("Route = %q, %q, %v; want the URL recorded and a key on method and URL", url, key, err)
			}
		})
	}

	t.Run("credentials in the url", func(t *testing.T) {
		rec := newRecorder(t, answer(200, `{"output":"ok"}`))
		h := httpSpec(rec.srv, `{"input": "{{ prompt }}"}`)
		h.URL = strings.Replace(rec.srv.URL, "http://", "http://bob:s3cret-pw@", 1) + "/api?id={{ id }}"
		p := newHTTP(t, h)
		resp, err := p.Complete(t.Context(), testRequest)
		if err != nil {
			t.Fatal(err)
		}
		got := rec.got()
		if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:s3cret-pw")); got[0].header.Get("Authorization") != want {
			t.Errorf("Authorization %q, want %q", got[0].header.Get("Authorization"), want)
		}
		if resp.Sent.URL != rec.srv.URL+"/api?id=c1" || p.BaseURL() != strings.Replace(rec.srv.URL, "http://", "http://bob:s3cret-pw@", 1)+"/api" {
			t.Errorf("recorded %q, BaseURL %q", resp.Sent.URL, p.BaseURL())
		}
	})
}

// TestHTTPConstructionErrors checks that every problem of a target is
// found when it is built, at its field.
func TestHTTPConstructionErrors(t *testing.T) {
	t.Setenv("RUBRIC_HTTP_SET", "v")
	const url = "http://localhost:8080/api"
	tests := []struct {
		name   string
		target string // the target object's own fields
		want   string
	}{
		{"nothing", `{}`,
			"url: required by provider \"http\": the service's URL, such as http://localhost:8080/classify\n" +
				"body: required by method POST: the JSON object the service takes, such as {\"input\": \"{{ prompt }}\"}\n" +
				"response: required by provider \"http\": where the answer is, such as {\"text\": \"output\"} (a gjson path into the JSON response) or {\"format\": \"text\"}"},
		{"a template that does not parse", `{"url": "` + url + `", "body": {"input": ["{{ prompt }}", "{{ prompt"]}, "response": {"text": "output"}}`,
			`body.input.1: template: "{{" is never closed by "}}" at character 1`},
		{"the expected answer", `{"url": "` + url + `", "body": {"input": "{{ prompt }}", "gold": "{{ expected.label }}"}, "response": {"text": "output"}}`,
			`body.gold: {{ expected.label }}: the case's expected answer is not given to the model: a request may name messages, prompt, system, id, model, params, tools, tool_choice and the case's variables`},
		{"tags", `{"url": "` + url + `", "body": {"input": "{{ prompt }} {{ tags }}"}, "response": {"text": "output"}}`,
			`body.input: {{ tags }}: a request may name messages, prompt, system, id, model, params, tools, tool_choice and the case's variables, not the case's tags`},
		{"paths that cannot exist", `{"url": "` + url + `", "body": {"a": "{{ prompt.text }}", "b": "{{ messages.first }}", "c": "{{ messages.0.name }}", "d": "{{ messages.0.content.x }}"}, "response": {"text": "output"}}`,
			"body.a: {{ prompt.text }}: prompt is a string, with no field \"text\"\n" +
				"body.b: {{ messages.first }}: messages is an array: expected an index (messages.0), got \"first\"\n" +
				"body.c: {{ messages.0.name }}: a message has role, content, tool_calls and tool_call_id, not \"name\"\n" +
				"body.d: {{ messages.0.content.x }}: a message's content is a string"},
		{"paths into tools and messages that cannot exist", `{"url": "` + url + `", "body": {"a": "{{ tools.first }}", "b": "{{ messages.0.tool_call_id.x }}", "c": "{{ messages.0.tool_calls.0.id }}", "q": "{{ prompt }}"}, "response": {"text": "output"}}`,
			"body.a: {{ tools.first }}: tools is an array: expected an index (tools.0), got \"first\"\n" +
				"body.b: {{ messages.0.tool_call_id.x }}: a message's tool_call_id is a string"},
		{"model without one", `{"url": "` + url + `", "body": {"input": "{{ prompt }}", "m": "{{ model }}"}, "response": {"text": "output"}}`,
			`body.m: {{ model }}: the target sets no model`},
		{"unknown param", `{"url": "` + url + `", "body": {"input": "{{ prompt }}", "m": "{{ params.max_token | json }}"}, "response": {"text": "output"}}`,
			`body.m: {{ params.max_token }}: unknown param "max_token": expected one of temperature, top_p, max_tokens, seed, stop, presence_penalty, frequency_penalty, response_format`},
		{"param not set", `{"url": "` + url + `", "params": {"seed": 1}, "body": {"input": "{{ prompt }}", "t": "{{ params.temperature | json }}", "s": "{{ params.seed }}"}, "response": {"text": "output"}}`,
			`body.t: {{ params.temperature }}: the target's params do not set temperature`},
		{"param set but never sent", `{"url": "` + url + `", "params": {"temperature": 0, "max_tokens": 5}, "body": {"input": "{{ prompt }}", "n": "{{ params.max_tokens | json }}"}, "response": {"text": "output"}}`,
			`params.temperature: set, but neither the url nor the body names {{ params.temperature }} or {{ params | json }}, so it would never be sent`},
		{"the same for every case", `{"url": "` + url + `", "model": "m", "body": {"input": "hello", "m": "{{ model }}"}, "response": {"text": "output"}}`,
			`body: names nothing of the case, so every case would send the same request: name {{ prompt }}, {{ messages | json }}, {{ id }} or a case variable`},
		{"GET the same for every case", `{"url": "` + url + `", "method": "GET", "response": {"text": "output"}}`,
			`url: names nothing of the case, so every case would send the same request: name {{ prompt }}, {{ messages | json }}, {{ id }} or a case variable`},
		{"GET with a body", `{"url": "` + url + `?q={{ prompt }}", "method": "GET", "body": {"q": "{{ prompt }}"}, "response": {"text": "output"}}`,
			`body: a GET request sends no body: give the values in the url's query, as in ?q={{ prompt }}`},
		{"method", `{"url": "` + url + `", "method": "DELETE", "body": {"q": "{{ prompt }}"}, "response": {"text": "output"}}`,
			`method: "DELETE" is not a method an http target may use: expected one of GET, POST, PUT, PATCH`},
		{"template in the host", `{"url": "http://{{ host }}/api", "body": {"q": "{{ prompt }}"}, "response": {"text": "output"}}`,
			`url: the scheme and host must be fixed: a template may be in the path or the query`},
		{"not http", `{"url": "ftp://x/api", "body": {"q": "{{ prompt }}"}, "response": {"text": "output"}}`,
			`url: "ftp://x/api" is not an http or https URL such as http://localhost:8080/classify`},
		{"fragment", `{"url": "` + url + `#top", "body": {"q": "{{ prompt }}"}, "response": {"text": "output"}}`,
			`url: has a fragment (#...), which is never sent to the server`},
		{"url template names the expected answer", `{"url": "` + url + `?x={{ expected }}", "body": {"q": "{{ prompt }}"}, "response": {"text": "output"}}`,
			`url: {{ expected }}: the case's expected answer is not given to the model: a request may name messages, prompt, system, id, model, params, tools, tool_choice and the case's variables`},
		{"no text path", `{"url": "` + url + `", "body": {"q": "{{ prompt }}"}, "response": {"finish": "done"}}`,
			`response.text: required: the gjson path of the answer in the JSON response, such as "output" or "choices.0.message.content" (or set "format": "text" for a plain-text answer)`},
		{"paths with format text", `{"url": "` + url + `", "body": {"q": "{{ prompt }}"}, "response": {"format": "text", "text": "a", "usage": {"total_tokens": "n"}}}`,
			"response.text: does not apply to format \"text\": the whole body is the answer\n" +
				"response.usage: does not apply to format \"text\": the whole body is the answer"},
		{"tool calls with format text", `{"url": "` + url + `", "body": {"q": "{{ prompt }}"}, "response": {"format": "text", "tool_calls": "calls"}}`,
			`response.tool_calls: does not apply to format "text": the whole body is the answer`},
		{"unknown format", `{"url": "` + url + `", "body": {"q": "{{ prompt }}"}, "response": {"format": "xml", "text": "a"}}`,
			`response.format: "xml": expected json or text`},
		{"empty usage", `{"url": "` + url + `", "body": {"q": "{{ prompt }}"}, "response": {"text": "a", "usage": {}}}`,
			`response.usage: gives no path: expected prompt_tokens, completion_tokens or total_tokens`},
		{"unknown response field", `{"url": "` + url + `", "body": {"q": "{{ prompt }}"}, "response": {"txt": "a"}}`,
			`json: unknown field "txt"`},
		{"header variable unset", `{"url": "` + url + `", "headers": {"X-Key": "${RUBRIC_HTTP_UNSET}"}, "body": {"q": "{{ prompt }}"}, "response": {"text": "a"}}`,
			`headers.X-Key: environment variable RUBRIC_HTTP_UNSET is not set`},
		{"another provider's field", `{"url": "` + url + `", "base_url": "` + url + `", "body": {"q": "{{ prompt }}"}, "response": {"text": "a"}}`,
			`base_url: field does not apply to provider "http" (it is a field of providers "anthropic" and "openai")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := `{"name": "t", "provider": "http"` + strings.TrimPrefix(tt.target, "{")
			if tt.target != "{}" {
				obj = `{"name": "t", "provider": "http", ` + strings.TrimPrefix(tt.target, "{")
			}
			spec := targetOf(t, obj)
			p, err := Default().New(spec, Env{})
			if p != nil || err == nil {
				t.Fatalf("New = %v, %v; want an error", p, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}

	t.Run("valid", func(t *testing.T) {
		for _, obj := range []string{
			`{"url": "` + url + `?q={{ prompt }}", "method": "GET", "response": {"format": "text"}}`,
			`{"url": "` + url + `", "model": "m", "params": {"temperature": 0, "seed": 1}, "headers": {"X-Key": "${RUBRIC_HTTP_SET}"}, "body": {"m": "{{ model }}", "p": "{{ params | json }}", "t": "{{ ticket }}"}, "response": {"text": "a.b", "finish": "f", "usage": {"completion_tokens": "u.out"}}}`,
			`{"url": "` + url + `", "body": {"m": "{{ messages | json }}", "t": "{{ tools | json }}", "n": "{{ tools.0.function.name }}", "c": "{{ tool_choice.function.name }}", "a": "{{ messages.2.tool_calls.0.function.arguments }}", "i": "{{ messages.3.tool_call_id }}"}, "response": {"text": "a.b", "tool_calls": "a.calls"}}`,
		} {
			p, err := Default().New(targetOf(t, `{"name": "t", "provider": "http", `+strings.TrimPrefix(obj, "{")), Env{})
			if err != nil {
				t.Errorf("%s: %v", obj, err)
				continue
			}
			p.(*HTTP).Close()
		}
	})
}

// TestHTTPResponse reads answers from 2xx bodies.
func TestHTTPResponse(t *testing.T) {
	full := &HTTPResponse{Text: "choices.0.message.content", Finish: "choices.0.finish_reason",
		Usage: &HTTPUsage{PromptTokens: "usage.in", CompletionTokens: "usage.out"}}
	tests := []struct {
		name     string
		response *HTTPResponse
		body     string
		want     evals.Response
		err      string // the decode error's message
	}{
		{"a string", &HTTPResponse{Text: "output"}, `{"output": "bill\u0069ng"}`,
			evals.Response{Text: "billing"}, ""},
		{"paths present", full, `{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"in":12,"out":3}}`,
			evals.Response{Text: "hi", Finish: "stop", Usage: evals.Usage{PromptTokens: 12, CompletionTokens: 3, TotalTokens: 15}}, ""},
		{"total given", &HTTPResponse{Text: "o", Usage: &HTTPUsage{TotalTokens: "n"}}, `{"o":"x","n":40}`,
			evals.Response{Text: "x", Usage: evals.Usage{TotalTokens: 40}}, ""},
		{"a number as its text", &HTTPResponse{Text: "score"}, `{"score": 4.50}`,
			evals.Response{Text: "4.50"}, ""},
		{"an object as its JSON", &HTTPResponse{Text: "result"}, `{"result": {"category": "billing", "priority": "low"}}`,
			evals.Response{Text: `{"category": "billing", "priority": "low"}`}, ""},
		{"gjson query", &HTTPResponse{Text: `content.#(type=="text").text`}, `{"content":[{"type":"thinking","text":"hm"},{"type":"text","text":"yes"}]}`,
			evals.Response{Text: "yes"}, ""},
		{"empty string", &HTTPResponse{Text: "output"}, `{"output": ""}`, evals.Response{}, ""},
		{"finish null", &HTTPResponse{Text: "o", Finish: "f"}, `{"o":"x","f":null}`, evals.Response{Text: "x"}, ""},
		{"text missing", full, `{"error": "model not loaded"}`, evals.Response{},
			`response.text: path "choices.0.message.content" is not in the response; body: {"error": "model not loaded"}`},
		{"text null", &HTTPResponse{Text: "output"}, `{"output": null}`, evals.Response{},
			`response.text: path "output" is null; body: {"output": null}`},
		{"finish missing", full, `{"choices":[{"message":{"content":"hi"}}],"usage":{"in":1,"out":1}}`, evals.Response{},
			`response.finish: path "choices.0.finish_reason" is not in the response; body: {"choices":[{"message":{"content":"hi"}}],"usage":{"in":1,"out":1}}`},
		{"usage missing", full, `{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}`, evals.Response{},
			`response.usage.prompt_tokens: path "usage.in" is not in the response; body: {"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}`},
		{"usage not a count", &HTTPResponse{Text: "o", Usage: &HTTPUsage{PromptTokens: "n"}}, `{"o":"x","n":"12"}`, evals.Response{},
			`response.usage.prompt_tokens: path "n" is "12", not a count of tokens; body: {"o":"x","n":"12"}`},
		{"usage negative", &HTTPResponse{Text: "o", Usage: &HTTPUsage{PromptTokens: "n"}}, `{"o":"x","n":-1}`, evals.Response{},
			`response.usage.prompt_tokens: path "n" is -1, not a count of tokens; body: {"o":"x","n":-1}`},
		{"not JSON", &HTTPResponse{Text: "output"}, "billing\n", evals.Response{},
			`response is not JSON (for a plain-text answer, set the target's response.format to "text"); body: billing`},
		{"empty body", &HTTPResponse{Text: "output"}, "", evals.Response{},
			`response is not JSON (for a plain-text answer, set the target's response.format to "text"); empty body`},
		{"plain text", &HTTPResponse{Format: "text"}, "billing\n", evals.Response{Text: "billing\n"}, ""},
		{"plain text that looks like JSON", &HTTPResponse{Format: "text"}, `{"a": 1}`, evals.Response{Text: `{"a": 1}`}, ""},
		{"plain text, invalid UTF-8", &HTTPResponse{Format: "text"}, "caf\xe9", evals.Response{Text: "caf\uFFFD"}, ""},
		{"plain text, empty", &HTTPResponse{Format: "text"}, "", evals.Response{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, answer(200, tt.body))
			h := httpSpec(srv, `{"input": "{{ prompt }}"}`)
			h.Response = tt.response
			resp, err := newHTTP(t, h).Complete(t.Context(), testRequest)
			if tt.err != "" {
				pe := providerError(t, err)
				if pe.Kind != evals.ErrKindDecode || pe.Message != tt.err || pe.Sent == nil || pe.Retryable() {
					t.Errorf("got %s %q (Sent %v, retryable %v)\nwant decode %q", pe.Kind, pe.Message, pe.Sent, pe.Retryable(), tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != tt.want.Text || resp.Finish != tt.want.Finish || resp.Usage != tt.want.Usage {
				t.Errorf("got %q %q %+v, want %q %q %+v", resp.Text, resp.Finish, resp.Usage, tt.want.Text, tt.want.Finish, tt.want.Usage)
			}
		})
	}
}

// TestHTTPMisbehavingServer checks the errors of a service that fails on
// purpose.
func TestHTTPMisbehavingServer(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		timeout   time.Duration
		kind      string
		status    int
		message   string
		retryable bool
	}{
		{"500 with a body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, "Traceback (most recent call last):\n  File \"app.py\", line 12\nKeyError: 'input'")
		}, 0, evals.ErrKindHTTP, 500, `Traceback (most recent call last): File "app.py", line 12 KeyError: 'input'`, true},
		{"422 with the service's message", answer(422, `{"detail": [{"loc": ["body", "input"], "msg": "field required"}]}`),
			0, evals.ErrKindHTTP, 422, "body.input: field required", false},
		{"500 with an empty body", answer(500, ""), 0, evals.ErrKindHTTP, 500, "Internal Server Error (empty body)", true},
		{"200 without the path", answer(200, `{"status": "queued", "job": 7}`),
			0, evals.ErrKindDecode, 0, `response.text: path "output" is not in the response; body: {"status": "queued", "job": 7}`, false},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, 100 * time.Millisecond, evals.ErrKindTimeout, 0, "no response within 100ms", true},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/v2/api", http.StatusMovedPermanently)
		}, 0, evals.ErrKindHTTP, 301, "the service redirects to /v2/api; set url to the final address", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.handler)
			h := httpSpec(srv, `{"input": "{{ prompt }}"}`)
			h.Timeout = evals.Duration(tt.timeout)
			start := time.Now()
			_, err := newHTTP(t, h).Complete(t.Context(), testRequest)
			pe := providerError(t, err)
			if pe.Kind != tt.kind || pe.Status != tt.status || pe.Message != tt.message || pe.Retryable() != tt.retryable {
				t.Errorf("got %s %d %q retryable %v\nwant %s %d %q retryable %v", pe.Kind, pe.Status, pe.Message, pe.Retryable(), tt.kind, tt.status, tt.message, tt.retryable)
			}
			if pe.Sent == nil || string(pe.Sent.Body) != `{"input":"Say \"hi\" <b>\n"}` {
				t.Errorf("Sent %+v, want the request", pe.Sent)
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}

	t.Run("429 with Retry-After", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			answer(429, `{"error": "slow down"}`)(w, r)
		})
		_, err := newHTTP(t, httpSpec(srv, `{"input": "{{ prompt }}"}`)).Complete(t.Context(), testRequest)
		pe := providerError(t, err)
		if pe.Status != 429 || pe.RetryAfter != 7*time.Second || pe.Message != "slow down" || !pe.Retryable() {
			t.Errorf("got %d %q RetryAfter %v", pe.Status, pe.Message, pe.RetryAfter)
		}
	})

	t.Run("body cut short", func(t *testing.T) {
		srv := rawServer(t, func(conn net.Conn, rw *bufio.ReadWriter) {
			rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"output\": \"bil")
			rw.Flush()
			conn.Close()
		})
		_, err := newHTTP(t, httpSpec(srv, `{"input": "{{ prompt }}"}`)).Complete(t.Context(), testRequest)
		pe := providerError(t, err)
		if pe.Kind != evals.ErrKindTransport || !pe.Retryable() || pe.Sent == nil {
			t.Errorf("got %s %q retryable %v; want a retryable transport error", pe.Kind, pe.Message, pe.Retryable())
		}
	})

	t.Run("retried through the decorators", func(t *testing.T) {
		var n atomic.Int32
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) < 3 {
				answer(503, `{"error": "warming up"}`)(w, r)
				return
			}
			answer(200, `{"output": "billing"}`)(w, r)
		})
		h := httpSpec(srv, `{"input": "{{ prompt }}"}`)
		noWait := RetrySleep(func(ctx context.Context, d time.Duration) error { return nil })
		ep, err := Default().Endpoint(h.spec(), Options{Retry: []RetryOption{noWait}})
		if err != nil {
			t.Fatal(err)
		}
		defer ep.Close()
		resp, err := ep.Provider.Complete(t.Context(), testRequest)
		if err != nil || resp.Text != "billing" || resp.Attempts != 3 {
			t.Errorf("got %+v, %v; want billing after 3 attempts", resp, err)
		}
	})
}

// TestHTTPRenderErrors checks a request that cannot be rendered for its
// case: a render error, and nothing sent.
func TestHTTPRenderErrors(t *testing.T) {
	tests := []struct {
		name, body string
		req        *evals.Request
		want       string
	}{
		{"a case variable the case lacks", `{"t": "{{ ticket }}", "c": "{{ customer }}"}`, caseRequest,
			`body.c: {{ customer }}: the case does not define customer (it has: list, meta, n, ticket)`},
		{"a path into a case variable", `{"t": "{{ meta.tier }}"}`, caseRequest,
			`body.t: {{ meta.tier }}: the case does not define meta.tier (it has: list, meta, n, ticket)`},
		{"no user message", `{"p": "{{ prompt }}"}`, &evals.Request{CaseID: "c", Messages: []evals.Message{{Role: "system", Content: "s"}}},
			`body.p: {{ prompt }}: the request has no user message`},
		{"no system message", `{"s": "{{ system }}", "p": "{{ prompt }}"}`, &evals.Request{CaseID: "c", Messages: []evals.Message{{Role: "user", Content: "u"}}},
			`body.s: {{ system }}: the request has no system message`},
		{"a message past the end", `{"m": "{{ messages.3.content }}"}`, testRequest,
			`body.m: {{ messages.3 }} is not in the request`},
		{"a judge's request has no case variables", `{"t": "{{ ticket }}"}`, testRequest,
			`body.t: {{ ticket }}: the case does not define ticket (it has: no variables)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1); answer(200, `{"output":"x"}`)(w, r) })
			p := newHTTP(t, httpSpec(srv, tt.body))
			_, err := p.Complete(t.Context(), tt.req)
			pe := providerError(t, err)
			if pe.Kind != evals.ErrKindRender || pe.Message != tt.want || pe.Retryable() || pe.Sent != nil || hits.Load() != 0 {
				t.Errorf("got %s %q (retryable %v, Sent %v) after %d requests\nwant render %q, nothing sent", pe.Kind, pe.Message, pe.Retryable(), pe.Sent, hits.Load(), tt.want)
			}
			if _, err := p.RequestBody(tt.req); err == nil || err.Error() != pe.Error() {
				t.Errorf("RequestBody: %v, want the same error", err)
			}
		})
	}
}

// TestHTTPCache checks the response cache in front of an http target: it
// keys on the rendered body and URL and on how the answer is read, and a
// request that cannot be rendered is no failure of the cache.
func TestHTTPCache(t *testing.T) {
	db := openCacheDB(t, "")
	rec := newRecorder(t, answer(200, `{"output":"billing","alt":"other"}`))
	endpoint := func(h httpTarget) *evals.Endpoint {
		ep, err := Default().Endpoint(h.spec(), Options{Cache: func() *store.DB { return db }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ep.Close() })
		return ep
	}
	ask := func(ep *evals.Endpoint, req *evals.Request) *evals.Response {
		t.Helper()
		resp, err := ep.Provider.Complete(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	base := httpSpec(rec.srv, `{"input": "{{ prompt }}"}`)
	first := ask(endpoint(base), testRequest)
	again := ask(endpoint(base), testRequest)
	if first.Cached || !again.Cached || again.Text != "billing" || len(rec.got()) != 1 {
		t.Fatalf("cached %v then %v (%q), %d requests sent; want one sent, then a hit", first.Cached, again.Cached, again.Text, len(rec.got()))
	}
	if string(again.Sent.Body) != string(first.Sent.Body) || again.Sent.URL != first.Sent.URL {
		t.Errorf("hit recorded %s %s, want %s %s", again.Sent.URL, again.Sent.Body, first.Sent.URL, first.Sent.Body)
	}

	changed := httpSpec(rec.srv, `{"input": "Q: {{ prompt }}"}`)
	if ask(endpoint(changed), testRequest).Cached {
		t.Error("a changed body template was answered from the cache")
	}
	path := base
	path.Response = &HTTPResponse{Text: "alt"}
	if resp := ask(endpoint(path), testRequest); resp.Cached || resp.Text != "other" {
		t.Errorf("a changed response path: cached %v, text %q; want the answer read the new way", resp.Cached, resp.Text)
	}

	get := httpTarget{base.TargetSpec, HTTPConfig{URL: rec.srv.URL + "/q?id={{ id }}", Method: "GET", Response: &HTTPResponse{Text: "output"}}}
	ep := endpoint(get)
	a := ask(ep, &evals.Request{CaseID: "a", Messages: testRequest.Messages})
	b := ask(ep, &evals.Request{CaseID: "b", Messages: testRequest.Messages})
	a2 := ask(ep, &evals.Request{CaseID: "a", Messages: testRequest.Messages})
	if a.Cached || b.Cached || !a2.Cached || a2.Sent.URL != rec.srv.URL+"/q?id=a" || b.Sent.URL != rec.srv.URL+"/q?id=b" {
		t.Errorf("GET by URL: cached %v %v %v, URLs %q %q; want a and b sent, a again a hit recording its URL", a.Cached, b.Cached, a2.Cached, b.Sent.URL, a2.Sent.URL)
	}

	ep = endpoint(httpSpec(rec.srv, `{"t": "{{ ticket }}"}`))
	_, err := ep.Provider.Complete(t.Context(), testRequest)
	if pe := providerError(t, err); pe.Kind != evals.ErrKindRender {
		t.Errorf("got %v, want a render error", err)
	}
	if c := ep.Provider.(*Cached).Counts(); c.Errors != 0 || c.Misses != 0 {
		t.Errorf("cache counts %+v after a render error, want none", c)
	}
}

// TestHTTPSecrets checks that header values from the environment and
// credentials in the body reach the service and nothing else.
func TestHTTPSecrets(t *testing.T) {
	const key, literal, field = "svc-key-0123456789", "tok-literal-987", "body-secret-4567"
	env := Env{LookupEnv: func(name string) (string, bool) {
		if name == "RUBRIC_HTTP_KEY" {
			return key, true
		}
		return "", false
	}}
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_ = b
		answer(401, fmt.Sprintf(`{"error": "denied key=%s token=%s"}`, r.Header.Get("X-Service-Key"), r.Header.Get("X-Token")))(w, r)
	})
	h := httpSpec(rec.srv, `{"input": "{{ prompt }}", "client_secret": "`+field+`"}`)
	h.Headers = map[string]string{"X-Service-Key": "Key ${RUBRIC_HTTP_KEY}", "X-Token": literal, "X-Team": "search"}
	p, err := Default().New(h.spec(), env)
	if err != nil {
		t.Fatal(err)
	}
	defer p.(io.Closer).Close()
	_, err = p.Complete(t.Context(), testRequest)
	pe := providerError(t, err)
	got := rec.got()
	if len(got) != 1 || got[0].header.Get("X-Service-Key") != "Key "+key || got[0].header.Get("X-Token") != literal ||
		got[0].header.Get("X-Team") != "search" || !strings.Contains(got[0].body, field) {
		t.Fatalf("sent %+v; want the headers and the body's credential", got)
	}
	if pe.Message != "denied key=[REDACTED] token=[REDACTED]" {
		t.Errorf("message %q", pe.Message)
	}
	all := fmt.Sprintf("%v %+v %s %s", err, pe, pe.Sent.URL, pe.Sent.Body)
	for _, s := range []string{key, literal, field} {
		if strings.Contains(all, s) {
			t.Errorf("error or Sent holds %q: %s", s, all)
		}
	}
	if got := p.(SecretHolder).SecretEnv(); !slices.Equal(got, []string{"RUBRIC_HTTP_KEY"}) {
		t.Errorf("SecretEnv = %q", got)
	}
}

// TestHTTPCapabilities checks what an http endpoint says it can do.
func TestHTTPCapabilities(t *testing.T) {
	srv := serve(t, answer(200, `{"output":"x"}`))
	h := httpSpec(srv, `{"input": "{{ prompt }}"}`)
	h.Model = "svc-1"
	h.URL = srv.URL + "/v1/{{ id }}/classify?x=1"
	ep, err := Default().Endpoint(h.spec(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	p := newHTTP(t, h)
	if ep.Embedder != nil || ep.StructuredOutputs || ep.Closer == nil || ep.Model != "svc-1" {
		t.Errorf("endpoint %+v: want no embeddings, no structured outputs, a closer and the model", ep)
	}
	if p.BaseURL() != srv.URL+"/v1/" {
		t.Errorf("BaseURL %q, want the url's fixed start %q", p.BaseURL(), srv.URL+"/v1/")
	}
}

// TestHTTPDocsExamples checks what docs/suite.md says the examples of its
// http section send and read.
func TestHTTPDocsExamples(t *testing.T) {
	t.Run("chat-style service", func(t *testing.T) {
		rec := newRecorder(t, answer(200, `{"reply": {"text": "Under Billing.", "stop_reason": "end"}, "usage": {"input": 31, "output": 4}}`))
		spec := targetOf(t, `{"name": "assistant-v7", "provider": "http",
			"url": "`+rec.srv.URL+`/assistant/v7/chat?tenant={{ tenant }}",
			"model": "assistant-v7",
			"params": {"temperature": 0, "max_tokens": 300},
			"body": {
				"conversation": "{{ messages | json }}",
				"options": {"temperature": "{{ params.temperature | json }}", "max_new_tokens": "{{ params.max_tokens | json }}"},
				"request_id": "{{ id }}"
			},
			"response": {"text": "reply.text", "finish": "reply.stop_reason", "usage": {"prompt_tokens": "usage.input", "completion_tokens": "usage.output"}}}`)
		p, err := Default().New(spec, Env{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.(io.Closer).Close()
		resp, err := p.Complete(t.Context(), &evals.Request{CaseID: "c1", Vars: map[string]any{"tenant": "acme"}, Messages: []evals.Message{
			{Role: "system", Content: "You are Acme's assistant."}, {Role: "user", Content: "Where is my invoice?"}}})
		if err != nil {
			t.Fatal(err)
		}
		const want = `{"conversation":[{"content":"You are Acme's assistant.","role":"system"},{"content":"Where is my invoice?","role":"user"}],"options":{"max_new_tokens":300,"temperature":0},"request_id":"c1"}`
		if got := rec.got(); len(got) != 1 || got[0].body != want || got[0].uri != "/assistant/v7/chat?tenant=acme" {
			t.Errorf("sent %+v\nwant %s", got, want)
		}
		if resp.Text != "Under Billing." || resp.Finish != "end" || resp.Usage != (evals.Usage{PromptTokens: 31, CompletionTokens: 4, TotalTokens: 35}) {
			t.Errorf("read %q %q %+v", resp.Text, resp.Finish, resp.Usage)
		}
	})

	t.Run("tools", func(t *testing.T) {
		rec := newRecorder(t, answer(200, `{"choices": [{"message": {"content": "It has shipped."}, "finish_reason": "stop"}]}`))
		spec := targetOf(t, `{"name": "support-bot", "provider": "http",
			"url": "`+rec.srv.URL+`/support-bot/v3/chat",
			"model": "support-bot-v3",
			"body": {
				"model": "{{ model }}",
				"messages": "{{ messages | json }}",
				"tools": "{{ tools | json }}",
				"tool_choice": "{{ tool_choice | json }}"
			},
			"response": {"text": "choices.0.message.content", "finish": "choices.0.finish_reason", "tool_calls": "choices.0.message.tool_calls"}}`)
		p, err := Default().New(spec, Env{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.(io.Closer).Close()
		// The order-support suite of docs/suite.md, its second request.
		tools := []evals.Tool{{Type: "function", Function: evals.ToolFunction{Name: "lookup_order", Description: "Find an order by id",
			Parameters: json.RawMessage(`{"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string"}}}`)},
			Mock: &evals.ToolMock{Error: "no such order"}}}
		resp, err := p.Complete(t.Context(), &evals.Request{CaseID: "where-is-a1", Step: 1, Tools: tools, Messages: []evals.Message{
			{Role: "system", Content: "You are ACME's support assistant. Use the tools."},
			{Role: "user", Content: "Where is my order A1?"},
			{Role: "assistant", ToolCalls: []evals.ToolCall{evals.NewToolCall("call_1", "lookup_order", `{"order_id": "A1"}`)}},
			{Role: "tool", ToolCallID: "call_1", Name: "lookup_order", Content: `{"status":"shipped","eta":"2026-12-09"}`},
		}})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := os.ReadFile("../../docs/suite.md")
		if err != nil {
			t.Fatal(err)
		}
		var want string
		for _, line := range strings.Split(string(doc), "\n") {
			if strings.Contains(line, `"model":"support-bot-v3"`) {
				want = strings.Replace(line, `"parameters":{…}`, `"parameters":{"properties":{"order_id":{"type":"string"}},"required":["order_id"],"type":"object"}`, 1)
			}
		}
		if got := rec.got(); len(got) != 1 || got[0].body != want {
			t.Errorf("sent %+v\nwant (docs/suite.md) %s", got, want)
		}
		if resp.Text != "It has shipped." || resp.ToolCalls != nil {
			t.Errorf("read %q %+v", resp.Text, resp.ToolCalls)
		}
	})

	t.Run("GET speller", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "the cat & dog\n") })
		spec := targetOf(t, `{"name": "speller", "provider": "http", "method": "GET",
			"url": "`+rec.srv.URL+`/correct?text={{ prompt }}&lang={{ lang }}", "response": {"format": "text"}}`)
		p, err := Default().New(spec, Env{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.(io.Closer).Close()
		resp, err := p.Complete(t.Context(), &evals.Request{CaseID: "c1", Vars: map[string]any{"lang": "en"},
			Messages: []evals.Message{{Role: "user", Content: "teh cat & dog"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.got(); len(got) != 1 || got[0].method != "GET" || got[0].uri != "/correct?text=teh+cat+%26+dog&lang=en" || resp.Text != "the cat & dog\n" {
			t.Errorf("sent %+v, read %q", got, resp.Text)
		}
	})
}

// FuzzHTTPBody compiles and renders arbitrary bodies: it never panics, a
// body it accepts always renders to valid JSON, and a body without
// templates renders to the value it was given.
func FuzzHTTPBody(f *testing.F) {
	for _, s := range []string{
		`{"input": "{{ prompt }}"}`,
		`{"m": "{{ messages | json }}", "n": [1.50, true, null, {"b": "{{ a | json }}", "a": "x {{ b }}"}]}`,
		`{"api_key": "k", "auth": {"t": "{{ id }}"}, "q": "\\{{ x }}"}`,
		`{"a": "{{ x.0 | json }}", "é": "\u2028{{ b }}"}`,
		`{"a": "{{"}`,
	} {
		f.Add(s)
	}
	req := &evals.Request{CaseID: "c\"1", Messages: []evals.Message{{Role: "system", Content: "s\n"}, {Role: "user", Content: "u<&>\u2028"}},
		Vars: map[string]any{"a": map[string]any{"k": []any{1.5, "v"}}, "b": "b\"\\", "x": []any{"\x01", nil}}}
	p := &HTTP{paramVals: map[string]any{}}
	f.Fuzz(func(t *testing.T, body string) {
		if !json.Valid([]byte(body)) {
			return
		}
		names := &httpNames{params: map[string]any{}, named: map[string]bool{}}
		plan, _, errs := compileBody(json.RawMessage(body), names)
		if len(errs) > 0 || plan == nil {
			return
		}
		sent, rec, perr := plan.render(p.scope(req))
		if perr != nil {
			return
		}
		if !json.Valid(sent) || !json.Valid(rec) {
			t.Fatalf("body %s renders to invalid JSON %s / %s", body, sent, rec)
		}
		if !strings.Contains(body, "{{") {
			var want, got any
			json.Unmarshal([]byte(body), &want)
			json.Unmarshal(sent, &got)
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("body %s without templates sent as %s", body, sent)
			}
		}
	})
}

// BenchmarkHTTPBody renders a chat-style body with case variables, as each
// request does (twice more with the cache: its key and its record).
func BenchmarkHTTPBody(b *testing.B) {
	names := &httpNames{params: map[string]any{"max_tokens": json.Number("300")}, named: map[string]bool{}}
	plan, _, errs := compileBody(json.RawMessage(`{"conversation": "{{ messages | json }}", "ticket": "{{ ticket }}", "options": {"max_tokens": "{{ params.max_tokens | json }}", "explain": false}, "request_id": "{{ id }}"}`), names)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	p := &HTTP{paramVals: names.params}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, perr := plan.render(p.scope(caseRequest)); perr != nil {
			b.Fatal(perr)
		}
	}
}
