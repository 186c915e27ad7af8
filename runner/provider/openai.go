package provider

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// OpenAI sends prompts to an OpenAI-compatible chat completions endpoint:
// OpenAI itself, Azure-style gateways, vLLM, llama.cpp's server, Ollama's /v1,
// TGI and the like. It is safe for concurrent use.
type OpenAI struct {
	baseURL   string      // as the target gives it, password and all
	keyEnv    string      // api_key_env, "" when none
	endpoint  *url.URL    // {base_url}/chat/completions; shared, never modified
	sentURL   string      // endpoint without any password, as recorded
	embedURL  *url.URL    // {base_url}/embeddings, for Embed
	embedSent string      // embedURL as recorded
	host      string      // the Host header
	header    http.Header // shared by every chat request, never modified
	// embedHeader is the header of embeddings requests: header, but for
	// Accept when chat completions stream.
	embedHeader http.Header
	prefix      []byte         // {"model":"…","messages":
	suffix      []byte         // ,"temperature":…,"extra":…}
	params      *evals.Params  // the target's, for requests that add their own
	extra       map[string]any // the target's extra_body, likewise
	// recExtra is extra_body as recorded, its credentials redacted, and
	// recSuffix the suffix with it; both nil when extra_body holds none.
	recExtra  map[string]any
	recSuffix []byte
	model     string
	// sendModel: the body names the model (not to an Azure deployment,
	// whose URL does).
	sendModel bool
	// stream: chat completions are asked for as server-sent events
	// (openai_stream.go).
	stream    bool
	timeout   time.Duration
	transport *http.Transport
	redactor  *strings.Replacer // nil when nothing is secret
}

var (
	_ evals.Provider      = (*OpenAI)(nil)
	_ Cacheable           = (*OpenAI)(nil)
	_ StructuredOutputter = (*OpenAI)(nil)
	_ SecretHolder        = (*OpenAI)(nil)
	_ io.Closer           = (*OpenAI)(nil)
)

// Response size limits: a completion larger than maxResponseBody is reported
// as a decode error; only the first maxErrorBody bytes of an error response
// are read for its message.
const (
	maxResponseBody = 16 << 20
	maxErrorBody    = 64 << 10
)

// OpenAIConfig is an openai target's own fields; model and params are
// every target's (evals.TargetSpec).
type OpenAIConfig struct {
	// BaseURL is the API's base URL, up to and including /v1.
	BaseURL string `json:"base_url,omitempty"`
	// APIKeyEnv names the environment variable holding the API key, sent
	// as a Bearer token.
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// Headers are sent with every request; ${NAME} in a value is the
	// environment variable NAME.
	Headers map[string]string `json:"headers,omitempty"`
	// ExtraBody's keys are added to every request body as they are.
	ExtraBody map[string]any `json:"extra_body,omitempty"`
	// Stream asks for each answer as server-sent events, and records when
	// its tokens came (evals.StreamTiming).
	Stream bool `json:"stream,omitempty"`
}

// NewOpenAI builds an OpenAI-compatible provider. It reads the API key and
// any environment variables the headers refer to now, through env, so a
// missing variable fails before the run starts.
func NewOpenAI(cfg OpenAIConfig, spec evals.TargetSpec, env Env) (*OpenAI, error) {
	const name = "openai"
	var errs []error
	var chat *url.URL
	if cfg.BaseURL == "" {
		errs = append(errs, evals.FieldErrorf("base_url", "required by provider %q (for example http://localhost:8000/v1)", name))
	} else if u, err := chatURL(cfg.BaseURL); err != nil {
		errs = append(errs, err)
	} else {
		chat = u
	}
	if spec.Model == "" {
		errs = append(errs, evals.FieldErrorf("model", "required by provider %q", name))
	}
	return newCompatible(compatible{
		base: cfg.BaseURL, chat: chat,
		keyHeader: "Authorization", keyPrefix: "Bearer ", sendModel: true,
		apiKeyEnv: cfg.APIKeyEnv, headers: cfg.Headers, extraBody: cfg.ExtraBody, stream: cfg.Stream,
	}, errs, spec, env)
}

// compatible is what differs between the providers of OpenAI's chat
// completions protocol (openai, azure): where requests go, how the API key
// is sent, whether the body names the model; and the fields of the target
// they share.
type compatible struct {
	// base is the address as the target gives it (BaseURL); chat the chat
	// completions URL made from it, nil when it could not be made (the
	// caller has the problem). Embeddings go next to it (embeddingsURL).
	base string
	chat *url.URL
	// keyHeader carries the API key, after keyPrefix: Authorization:
	// Bearer KEY, or Api-Key: KEY.
	keyHeader, keyPrefix string
	// sendModel: the body starts with the target's model (an Azure
	// deployment's URL names the model instead).
	sendModel bool

	apiKeyEnv string
	headers   map[string]string
	extraBody map[string]any
	stream    bool
}

// newCompatible builds the provider c describes for spec; errs are the
// caller's problems with the target, reported with the rest.
func newCompatible(c compatible, errs []error, spec evals.TargetSpec, env Env) (*OpenAI, error) {
	p := &OpenAI{timeout: spec.TimeoutOr(), stream: c.stream, sendModel: c.sendModel}
	var secrets []string
	if u := c.chat; u != nil {
		p.endpoint, p.host, p.sentURL = u, u.Host, redactedURL(u)
		p.embedURL = embeddingsURL(u)
		p.embedSent = redactedURL(p.embedURL)
	}

	p.header = http.Header{
		"Content-Type": {"application/json"},
		"Accept":       {"application/json"},
		"User-Agent":   {"rubric"},
		// A zero-length Idempotency-Key is not sent, but it tells
		// http.Transport that the POST may be sent again when a reused
		// keep-alive connection turns out to have been closed by the server
		// (uvicorn's 5s keep-alive, llama.cpp), instead of failing the case.
		"Idempotency-Key": nil,
	}
	keyHeader := ""
	if c.apiKeyEnv != "" {
		keyHeader = c.keyHeader
		key, err := apiKey(env, c.apiKeyEnv)
		if err != nil {
			errs = append(errs, err)
		} else {
			p.header[c.keyHeader] = []string{c.keyPrefix + key}
			secrets = append(secrets, key)
		}
	}
	host, hsecrets, herrs := addHeadersFor(env, p.header, c.headers, keyHeader)
	if host != "" {
		p.host = host
	}
	secrets = append(secrets, hsecrets...)
	errs = append(errs, herrs...)
	if u := p.endpoint; u != nil && u.User != nil {
		// Credentials in the URL, as http.Client would send them.
		pw, _ := u.User.Password()
		if p.header.Get("Authorization") == "" && p.header.Get(c.keyHeader) == "" {
			creds := base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pw))
			p.header["Authorization"] = []string{"Basic " + creds}
			secrets = append(secrets, creds)
		}
		secrets = append(secrets, pw)
		p.endpoint = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
		p.embedURL = embeddingsURL(p.endpoint)
	}
	// Embeddings never stream; a streamed chat completion is asked for as
	// server-sent events.
	p.embedHeader = p.header
	if c.stream {
		p.embedHeader = p.header.Clone()
		p.header["Accept"] = []string{"text/event-stream"}
	}

	suffix, serrs := bodyTail(spec.Params, c.extraBody, c.stream)
	errs = append(errs, serrs...)
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	// An extra_body key naming a credential (api_key, access_token) is sent,
	// but recorded as [REDACTED], like a header.
	if shown, hidden := evals.RedactCredentials(c.extraBody); len(hidden) > 0 {
		p.recExtra = shown.(map[string]any)
		p.recSuffix, _ = bodyTail(spec.Params, p.recExtra, c.stream)
		secrets = append(secrets, hidden...)
	}

	p.prefix = []byte(`{`)
	if c.sendModel {
		p.prefix = append([]byte(`{"model":`), appendString(nil, spec.Model)...)
		p.prefix = append(p.prefix, ',')
	}
	p.prefix = append(p.prefix, `"messages":`...)
	p.suffix = suffix
	p.params, p.extra, p.model = spec.Params, c.extraBody, spec.Model
	p.baseURL, p.keyEnv = c.base, c.apiKeyEnv
	p.transport = newTransport(spec.ConcurrencyOr())
	p.redactor = newRedactor(secrets)
	return p, nil
}

// BaseURL returns base_url as the target gives it.
func (p *OpenAI) BaseURL() string { return p.baseURL }

// StructuredOutputs reports that the endpoint takes a response_format with
// a JSON Schema.
func (p *OpenAI) StructuredOutputs() bool { return true }

// SecretEnv returns api_key_env, when the target sets it.
func (p *OpenAI) SecretEnv() []string {
	if p.keyEnv == "" {
		return nil
	}
	return []string{p.keyEnv}
}

// Close closes idle connections to the endpoint.
func (p *OpenAI) Close() error {
	p.transport.CloseIdleConnections()
	return nil
}

// Complete sends one chat completion request and waits for the answer.
func (p *OpenAI) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	if ctx.Err() != nil {
		return nil, canceledError(ctx, nil, "canceled before the request was sent")
	}
	body, recorded, err := p.body(req)
	if err != nil {
		return nil, err
	}
	sent := &evals.SentRequest{URL: p.sentURL, Body: recorded}
	if p.stream {
		out, perr := p.completeStream(ctx, body, sent)
		if perr != nil {
			perr.Sent = sent
			return nil, perr
		}
		out.Sent = sent
		return out, nil
	}
	rr, perr := p.post(ctx, p.endpoint, p.header, body, sent)
	if perr != nil {
		return nil, perr
	}
	defer putReader(rr)
	out, perr := p.decode(rr.buf.Bytes())
	if perr != nil {
		perr = rr.cutShort(perr)
		perr.Sent = sent
		return nil, perr
	}
	out.Sent = sent
	return out, nil
}

// post sends body to u with the header h and returns the reader holding the
// body of a 2xx response, which the caller passes to putReader when done
// with it. sent is the request as recorded, for errors.
func (p *OpenAI) post(ctx context.Context, u *url.URL, h http.Header, body []byte, sent *evals.SentRequest) (*responseReader, *evals.ProviderError) {
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	resp, err := p.roundTrip(rctx, u, h, body)
	if err != nil {
		return nil, p.failed(ctx, rctx, sent, err, "")
	}
	defer resp.Body.Close()
	return p.readBody(ctx, rctx, resp, sent)
}

// roundTrip sends body to u with the header h, within rctx.
func (p *OpenAI) roundTrip(rctx context.Context, u *url.URL, h http.Header, body []byte) (*http.Response, error) {
	rb := &requestBody{body: body}
	rb.Reset(body)
	hreq := (&http.Request{
		Method:        http.MethodPost,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          rb,
		GetBody:       rb.get,
		ContentLength: int64(len(body)),
		Host:          p.host,
	}).WithContext(rctx)
	return p.transport.RoundTrip(hreq)
}

// readBody reads resp's body, within rctx, into a pooled reader: the whole
// body of a 2xx response, up to maxResponseBody, which the caller passes to
// putReader when done with it; for another status, the error it stands for.
// The caller closes resp.Body.
func (p *OpenAI) readBody(ctx, rctx context.Context, resp *http.Response, sent *evals.SentRequest) (*responseReader, *evals.ProviderError) {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	limit := int64(maxErrorBody)
	if ok {
		limit = maxResponseBody
	}
	rr := getReader(resp.Body, limit+1)
	rr.unframed = unframed(resp)
	buf := &rr.buf
	_, err := buf.ReadFrom(&rr.limited)
	// An error status stands on whatever part of its body arrived, unless
	// the read failed because the request's context ended.
	var perr *evals.ProviderError
	switch {
	case err != nil && (ok || rctx.Err() != nil):
		perr = p.failed(ctx, rctx, sent, err, "reading the response body: ")
	case !ok:
		perr = p.statusError(resp, buf.Bytes(), sent)
	case buf.Len() > maxResponseBody:
		perr = &evals.ProviderError{Kind: evals.ErrKindDecode, Sent: sent,
			Message: fmt.Sprintf("response body larger than %d MiB", maxResponseBody>>20)}
	}
	if perr != nil {
		putReader(rr)
		return nil, perr
	}
	return rr, nil
}

// chatResponse is the part of a chat completion that is read.
type chatResponse struct {
	Choices []struct {
		Message *struct {
			Content content `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage usageJSON `json:"usage"`
	// Error is set by the servers that answer 200 with an error body.
	Error json.RawMessage `json:"error"`
}

// content is a message's content: a string, null (a tool call), or an array
// of parts, whose text parts are joined.
type content string

func (c *content) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 1 && b[0] == '"':
		// The decoder has checked the string; without escapes or invalid
		// UTF-8 (which it would replace) it is its own text.
		if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			*c = content(inner)
			return nil
		}
		return json.Unmarshal(b, (*string)(c))
	case string(b) == "null":
		*c = ""
		return nil
	case len(b) > 0 && b[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var s strings.Builder
		for _, part := range parts {
			if part.Type == "text" || part.Type == "" {
				s.WriteString(part.Text)
			}
		}
		*c = content(s.String())
		return nil
	}
	return fmt.Errorf("message content is %.20s, not a string", b)
}

// usageJSON is token usage as endpoints report it: any count, or the whole
// object, may be missing or null. Decode into the value newUsage returns, so
// that a missing total can be told from a zero one.
type usageJSON struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// noTotal marks a total the endpoint did not report; the decoder leaves a
// field as it is when its key is missing or null.
const noTotal = -1

func newUsage() usageJSON { return usageJSON{TotalTokens: noTotal} }

// usage returns the counts, with the total computed when it is missing.
func (u usageJSON) usage() evals.Usage {
	total := u.TotalTokens
	if total == noTotal {
		total = u.PromptTokens + u.CompletionTokens
	}
	return evals.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: total}
}

func (p *OpenAI) decode(b []byte) (*evals.Response, *evals.ProviderError) {
	cr := chatResponse{Usage: newUsage()}
	if err := json.Unmarshal(b, &cr); err != nil {
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode, Err: err,
			Message: p.redact("malformed response: "+err.Error()) + "; " + p.bodySnippet(b)}
	}
	if len(cr.Choices) == 0 {
		msg := "response has no choices"
		if len(cr.Error) > 0 && string(cr.Error) != "null" {
			if m := serverMessage(b); m != "" {
				return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
					Message: msg + "; the server said: " + clip(p.redact(m))}
			}
		}
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: msg + "; " + p.bodySnippet(b)}
	}
	ch := cr.Choices[0]
	if ch.Message == nil {
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: "choices[0] has no message; " + p.bodySnippet(b)}
	}
	return &evals.Response{
		Text:   string(ch.Message.Content),
		Finish: ch.FinishReason,
		Usage:  cr.Usage.usage(),
	}, nil
}

// bodySnippet quotes the start of a body for a message.
func (p *OpenAI) bodySnippet(b []byte) string {
	if s := snippet(p.redact(string(b))); s != "" {
		return "body: " + s
	}
	return "empty body"
}

// statusError describes a non-2xx answer.
func (p *OpenAI) statusError(resp *http.Response, body []byte, sent *evals.SentRequest) *evals.ProviderError {
	var msg string
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		msg = clip(p.redact("the endpoint redirects to " + loc + "; set base_url to the final address"))
	} else {
		msg = errorMessage(resp.StatusCode, body, p.redact)
	}
	return &evals.ProviderError{
		Kind:       evals.ErrKindHTTP,
		Status:     resp.StatusCode,
		Message:    msg,
		Sent:       sent,
		RetryAfter: retryAfterStatus(resp.StatusCode, resp.Header, time.Now()),
	}
}

// failed classifies an error from sending the request or reading the answer:
// the run's context ended, the request's own timeout struck, or the
// connection failed.
func (p *OpenAI) failed(ctx, rctx context.Context, sent *evals.SentRequest, err error, during string) *evals.ProviderError {
	return requestFailed(ctx, rctx, sent, err, during, p.timeout, p.redact)
}

// requestFailed classifies an error from sending a request or reading its
// answer, for any HTTP provider: ctx (the run's) ended, rctx (the request's,
// whose deadline is timeout) ended, or the connection failed, described
// by redact's version of the error.
func requestFailed(ctx, rctx context.Context, sent *evals.SentRequest, err error, during string, timeout time.Duration, redact func(string) string) *evals.ProviderError {
	if ctx.Err() != nil {
		return canceledError(ctx, sent, "canceled while the request was in flight")
	}
	if rctx.Err() != nil {
		return &evals.ProviderError{Kind: evals.ErrKindTimeout, Sent: sent, Err: context.DeadlineExceeded,
			Message: fmt.Sprintf("no response within %v", timeout)}
	}
	return &evals.ProviderError{Kind: evals.ErrKindTransport, Sent: sent, Err: err,
		Message: redact(during + transportMessage(err, during != ""))}
}

// transportMessage words a connection failure; inBody says whether the
// response had begun.
func transportMessage(err error, inBody bool) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // the URL is recorded in Sent already
	}
	switch {
	case inBody && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		return "truncated: the server closed the connection before the end of the body"
	case errors.Is(err, io.EOF):
		return "the server closed the connection without a response"
	}
	return err.Error()
}

// canceledError reports that ctx ended; it wraps ctx.Err(), so errors.Is finds
// context.Canceled (or DeadlineExceeded when the run had a deadline).
func canceledError(ctx context.Context, sent *evals.SentRequest, msg string) *evals.ProviderError {
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		msg += ": " + cause.Error()
	}
	return &evals.ProviderError{Kind: evals.ErrKindCanceled, Message: msg, Sent: sent, Err: ctx.Err()}
}

func (p *OpenAI) redact(s string) string {
	if p.redactor == nil {
		return s
	}
	return p.redactor.Replace(s)
}

// newRedactor returns a replacer of every secret with "[REDACTED]", longest
// first, or nil when there are none.
func newRedactor(secrets []string) *strings.Replacer {
	secrets = slices.DeleteFunc(slices.Clone(secrets), func(s string) bool { return s == "" })
	if len(secrets) == 0 {
		return nil
	}
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	secrets = slices.Compact(secrets)
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, "[REDACTED]")
	}
	return strings.NewReplacer(pairs...)
}

// requestBody is a request's body, readable again for the transport's retry
// on a stale connection.
type requestBody struct {
	bytes.Reader
	body []byte
}

func (*requestBody) Close() error { return nil }

func (b *requestBody) get() (io.ReadCloser, error) {
	return &requestBody{Reader: *bytes.NewReader(b.body), body: b.body}, nil
}

// responseReader reads a response body, up to a limit, into a buffer; it is
// pooled, so reading a response allocates nothing once the pool is warm.
type responseReader struct {
	buf     bytes.Buffer
	limited io.LimitedReader
	// unframed is set when the body has no declared end: it ends when the
	// server closes the connection.
	unframed bool
}

// unframed reports whether resp's body ends only when the connection closes:
// HTTP/1 without Content-Length or chunked encoding. A body with either
// framing that the connection cuts short fails to read (io.ErrUnexpectedEOF),
// and so does a gzip stream the transport decompresses; an unframed one reads
// to its end without an error, however short.
func unframed(resp *http.Response) bool {
	return resp.ProtoMajor == 1 && resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 && !resp.Uncompressed
}

// cutShort returns decodeErr, the failure to decode a 2xx body, or a
// transport error in its place when the body was cut short: it had no
// declared end and stops in the middle of a JSON value (or before its
// first byte). That is the server closing the connection early, a fault
// that sending again may not meet, as a Content-Length not reached is. A
// body that ends where it says it does but does not decode is the server's
// answer, and stays a decode error.
func (rr *responseReader) cutShort(decodeErr *evals.ProviderError) *evals.ProviderError {
	if !rr.unframed {
		return decodeErr
	}
	var v json.RawMessage
	err := json.NewDecoder(bytes.NewReader(rr.buf.Bytes())).Decode(&v)
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return decodeErr
	}
	const during = "reading the response body: "
	return &evals.ProviderError{Kind: evals.ErrKindTransport, Err: io.ErrUnexpectedEOF,
		Message: during + transportMessage(io.ErrUnexpectedEOF, true)}
}

var readerPool = sync.Pool{New: func() any { return new(responseReader) }}

func getReader(r io.Reader, limit int64) *responseReader {
	rr := readerPool.Get().(*responseReader)
	rr.limited = io.LimitedReader{R: r, N: limit}
	return rr
}

func putReader(rr *responseReader) {
	if rr.buf.Cap() > 1<<20 {
		return // let a rare huge response's buffer go
	}
	rr.buf.Reset()
	rr.limited = io.LimitedReader{}
	rr.unframed = false
	readerPool.Put(rr)
}

// newTransport returns a transport whose pool keeps one idle connection per
// request in flight, so keep-alive holds at the target's concurrency (the
// default keeps two). Requests go to the transport directly rather than
// through an http.Client: a client would copy the headers of every request
// to follow redirects, and redirects are not followed here (a redirected POST
// becomes a GET, and the key would go along). Nor is there an overall
// timeout: each request carries its own deadline, so that a timeout can be
// told from the run being canceled.
func newTransport(concurrency int) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(100, concurrency),
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// chatURL returns the chat completions URL under base, keeping any query
// (Azure's ?api-version=).
func chatURL(base string) (*url.URL, error) {
	u, err := parseBaseURL(base, "http://localhost:8000/v1")
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/chat/completions") {
		return nil, evals.FieldErrorf("base_url", "%q ends in /chat/completions: give the base URL (such as https://api.openai.com/v1); the provider appends /chat/completions", redactedURL(u))
	}
	u = u.JoinPath("chat", "completions")
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// parseBaseURL parses a target's base_url: an http or https URL with a
// host, such as example.
func parseBaseURL(base, example string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, evals.FieldErrorf("base_url", "not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, evals.FieldErrorf("base_url", "%q is not an http or https URL such as %s", redactedURL(u), example)
	}
	if u.Host == "" {
		return nil, evals.FieldErrorf("base_url", "%q has no host", redactedURL(u))
	}
	return u, nil
}

// redactedURL is u as recorded and shown: with its user and password, if
// it has either, replaced by xxxxx (url.URL.Redacted keeps the user, which
// may be a token).
func redactedURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User("xxxxx")
	return c.String()
}

// embeddingsURL returns the embeddings URL next to the chat completions URL
// u, keeping its query.
func embeddingsURL(u *url.URL) *url.URL {
	e := *u
	e.Path = strings.TrimSuffix(u.Path, "/chat/completions") + "/embeddings"
	e.RawPath = ""
	return &e
}

// apiKey reads the API key from the environment variable name.
func apiKey(env Env, name string) (string, error) {
	key := strings.TrimSpace(env.Getenv(name))
	if key == "" {
		return "", evals.FieldErrorf("api_key_env", "environment variable %s is not set", name)
	}
	if !validHeaderValue(key) {
		return "", evals.FieldErrorf("api_key_env", "environment variable %s holds a control character", name)
	}
	return key, nil
}

// addHeaders adds the target's headers to h, expanding ${VAR} references. It
// returns the Host override if one was given, the values to keep out of
// messages, and the problems found. haveKey says that api_key_env sets
// Authorization, which the headers may then not give.
func addHeaders(env Env, h http.Header, headers map[string]string, haveKey bool) (host string, secrets []string, errs []error) {
	keyHeader := ""
	if haveKey {
		keyHeader = "Authorization"
	}
	return addHeadersFor(env, h, headers, keyHeader)
}

// addHeadersFor is addHeaders for a provider whose API key goes in the
// header keyHeader (canonical), "" when the target gives no key.
func addHeadersFor(env Env, h http.Header, headers map[string]string, keyHeader string) (host string, secrets []string, errs []error) {
	seen := make(map[string]bool, len(headers))
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		field := "headers." + name
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			errs = append(errs, evals.FieldErrorf(field, "%q is not a valid header name", name))
			continue
		case canon == "Content-Type" || canon == "Content-Length" || canon == "Transfer-Encoding" || canon == "Connection":
			errs = append(errs, evals.FieldErrorf(field, "header %s is set by the provider", canon))
			continue
		case keyHeader != "" && canon == keyHeader:
			errs = append(errs, evals.FieldErrorf(field, "header %s conflicts with api_key_env, which sets it", canon))
			continue
		case seen[canon]:
			errs = append(errs, evals.FieldErrorf(field, "header %s is given twice", canon))
			continue
		}
		seen[canon] = true
		value, refs, err := expandEnv(env, headers[name])
		if err != nil {
			errs = append(errs, &evals.FieldError{Field: field, Err: err})
			continue
		}
		if !validHeaderValue(value) {
			errs = append(errs, evals.FieldErrorf(field, "value holds a line break or control character"))
			continue
		}
		if len(refs) > 0 || credentialHeader(canon) {
			secrets = append(secrets, value)
			secrets = append(secrets, refs...)
		}
		if canon == "Host" {
			host = value
			continue
		}
		h[canon] = []string{value}
	}
	return host, secrets, errs
}

// credentialHeader reports whether a header's name says it carries a
// credential, so its value is kept out of messages even when written in the
// config literally.
func credentialHeader(canon string) bool {
	lower := strings.ToLower(canon)
	for _, word := range []string{"auth", "key", "token", "secret", "cookie", "password"} {
		if strings.Contains(lower, word) {
			return true
		}
	}
	return false
}

// expandEnv replaces each ${NAME} in s with the environment variable's value
// and returns the values substituted. A variable that is unset or empty is an
// error; "$" not followed by "{" is kept as it is.
func expandEnv(env Env, s string) (string, []string, error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	var values []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), values, nil
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", nil, errors.New("unterminated ${ in value")
		}
		name := s[i+2 : i+end]
		if !evals.ValidEnvName(name) {
			return "", nil, fmt.Errorf("${%s} is not a valid environment variable reference", name)
		}
		v := env.Getenv(name)
		if v == "" {
			return "", nil, fmt.Errorf("environment variable %s is not set", name)
		}
		b.WriteString(v)
		values = append(values, v)
		s = s[i+end+1:]
	}
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validHeaderValue reports whether s has no control characters but tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// bodyReserved are the body keys the provider sets itself.
var bodyReserved = map[string]string{
	"model":    "the target's model",
	"messages": "the suite's messages",
}

// bodySuffix encodes the set params, then extra_body's keys in sorted order,
// as the tail of the request body: `,"temperature":0,"top_k":5}`.
func bodySuffix(params *evals.Params, extra map[string]any) ([]byte, []error) {
	return bodyTail(params, extra, false)
}

// streamFields ask an OpenAI-compatible server for server-sent events, with
// the usage in a last event.
const streamFields = `,"stream":true,"stream_options":{"include_usage":true}`

// bodyTail is bodySuffix for a target that streams or not: with stream, the
// params are followed by streamFields, and extra_body may not set stream or
// stream_options.
func bodyTail(params *evals.Params, extra map[string]any, stream bool) ([]byte, []error) {
	var errs []error
	var b []byte
	pt := reflect.TypeFor[evals.Params]()
	paramNames := make(map[string]bool, pt.NumField())
	var pv reflect.Value
	if params != nil {
		pv = reflect.ValueOf(params).Elem()
	}
	for i := range pt.NumField() {
		name, _, _ := strings.Cut(pt.Field(i).Tag.Get("json"), ",")
		paramNames[name] = true
		if !pv.IsValid() {
			continue
		}
		f := pv.Field(i)
		if f.IsZero() {
			continue
		}
		var v any
		if f.Kind() == reflect.Pointer {
			v = f.Elem().Interface()
		} else {
			v = f.Interface()
		}
		if raw, ok := v.(json.RawMessage); ok && string(bytes.TrimSpace(raw)) == "null" {
			continue
		}
		enc, err := marshalValue(v)
		if err != nil {
			errs = append(errs, evals.FieldErrorf("params."+name, "cannot encode as JSON: %v", err))
			continue
		}
		b = append(b, ',')
		b = appendString(b, name)
		b = append(b, ':')
		b = append(b, enc...)
	}
	if stream {
		b = append(b, streamFields...)
	}
	for _, key := range slices.Sorted(maps.Keys(extra)) {
		field := "extra_body." + key
		if what, ok := bodyReserved[key]; ok {
			errs = append(errs, evals.FieldErrorf(field, "%q is set by the provider from %s", key, what))
			continue
		}
		if paramNames[key] {
			errs = append(errs, evals.FieldErrorf(field, "%q is a params field: set params.%s instead", key, key))
			continue
		}
		switch {
		case key == "stream" && stream:
			errs = append(errs, evals.FieldErrorf(field, "set by the provider from the target's \"stream\": true"))
			continue
		case key == "stream" && extra[key] != false:
			errs = append(errs, evals.FieldErrorf(field, "to stream, set \"stream\": true on the target (not in extra_body), which reads the events"))
			continue
		case key == "stream_options" && stream:
			errs = append(errs, evals.FieldErrorf(field, "set by the provider when the target streams: %s", streamFields[1:]))
			continue
		}
		enc, err := marshalValue(extra[key])
		if err != nil {
			errs = append(errs, evals.FieldErrorf(field, "cannot encode as JSON: %v", err))
			continue
		}
		b = append(b, ',')
		b = appendString(b, key)
		b = append(b, ':')
		b = append(b, enc...)
	}
	return append(b, '}'), errs
}
