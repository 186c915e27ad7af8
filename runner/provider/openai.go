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
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// OpenAI sends prompts to an OpenAI-compatible chat completions endpoint:
// OpenAI itself, Azure-style gateways, vLLM, llama.cpp's server, Ollama's /v1,
// TGI and the like. It is safe for concurrent use.
type OpenAI struct {
	client
	baseURL   string      // as the target gives it, password and all
	keyEnv    string      // api_key_env, "" when none
	endpoint  *url.URL    // {base_url}/chat/completions; shared, never modified
	sentURL   string      // endpoint without any password, as recorded
	embedURL  *url.URL    // {base_url}/embeddings, for Embed
	embedSent string      // embedURL as recorded
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
	stream bool
	// batch is the target's Batch API, nil when it does not set batch
	// (openai_batch.go).
	batch *openaiBatch
}

var (
	_ evals.Provider      = (*OpenAI)(nil)
	_ Cacheable           = (*OpenAI)(nil)
	_ StructuredOutputter = (*OpenAI)(nil)
	_ SecretHolder        = (*OpenAI)(nil)
	_ io.Closer           = (*OpenAI)(nil)
	_ Batcher             = (*OpenAI)(nil)
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
	// Batch sends the requests through the Batch API (docs/batch.md).
	Batch bool `json:"batch,omitempty"`
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
		batch: cfg.Batch, batchTrim: "/chat/completions", batchLine: "/v1/chat/completions",
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
	// batch: the target sends its requests as batches, to the files and
	// batches under the chat completions URL without batchTrim; each
	// line's url is batchLine.
	batch                bool
	batchTrim, batchLine string
	// model is the body's model when not the target's ("" for it).
	model string
}

// newCompatible builds the provider c describes for spec; errs are the
// caller's problems with the target, reported with the rest.
func newCompatible(c compatible, errs []error, spec evals.TargetSpec, env Env) (*OpenAI, error) {
	p := &OpenAI{stream: c.stream, sendModel: c.sendModel}
	var host string // the Host header
	var secrets []string
	if u := c.chat; u != nil {
		p.endpoint, p.sentURL, host = u, redactedURL(u), u.Host
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
	hostHeader, hsecrets, herrs := addHeadersFor(env, p.header, c.headers, keyHeader)
	if hostHeader != "" {
		host = hostHeader
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
	if c.batch && c.stream {
		errs = append(errs, evals.FieldErrorf("batch", "cannot be set with stream: a batch's answers do not stream; set one of them"))
	}
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
		model := spec.Model
		if c.model != "" {
			model = c.model
		}
		p.prefix = append([]byte(`{"model":`), appendString(nil, model)...)
		p.prefix = append(p.prefix, ',')
	}
	p.prefix = append(p.prefix, `"messages":`...)
	p.suffix = suffix
	p.params, p.extra, p.model = spec.Params, c.extraBody, spec.Model
	p.baseURL, p.keyEnv = c.base, c.apiKeyEnv
	p.client = newClient(spec, host, secrets, "the endpoint redirects to %s; set base_url to the final address")
	if c.batch {
		p.batch = newOpenAIBatch(p, c.batchTrim, c.batchLine)
	}
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
	var out *evals.Response
	var perr *evals.ProviderError
	if p.stream {
		out, perr = p.completeStream(ctx, body, sent)
	} else {
		out, perr = p.complete(ctx, http.MethodPost, p.endpoint, p.header, body, sent, p.decode)
	}
	return answered(out, perr, sent)
}

// chatResponse is the part of a chat completion that is read.
type chatResponse struct {
	Choices []struct {
		Message *struct {
			Content   content        `json:"content"`
			ToolCalls []wireToolCall `json:"tool_calls"`
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

// wireToolCall is a tool call as a chat completion's message gives it.
type wireToolCall struct {
	ID       string `json:"id"`
	Function struct {
		Name      string        `json:"name"`
		Arguments argumentsText `json:"arguments"`
	} `json:"function"`
}

// argumentsText is a tool call's arguments as the model wrote them: OpenAI
// sends a string, which may not be JSON; a server that sends the arguments
// as a JSON object (or null) has them taken as their text.
type argumentsText string

func (a *argumentsText) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, (*string)(a))
	case string(b) == "null":
		*a = ""
	default:
		*a = argumentsText(b)
	}
	return nil
}

// toolCalls returns the calls of a message, in order.
func toolCalls(wire []wireToolCall) []evals.ToolCall {
	if len(wire) == 0 {
		return nil
	}
	calls := make([]evals.ToolCall, len(wire))
	for i, w := range wire {
		calls[i] = evals.NewToolCall(w.ID, w.Function.Name, string(w.Function.Arguments))
	}
	return calls
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
		Text:      string(ch.Message.Content),
		Finish:    ch.FinishReason,
		Usage:     cr.Usage.usage(),
		ToolCalls: toolCalls(ch.Message.ToolCalls),
	}, nil
}

// canceledError reports that ctx ended; it wraps ctx.Err(), so errors.Is finds
// context.Canceled (or DeadlineExceeded when the run had a deadline).
func canceledError(ctx context.Context, sent *evals.SentRequest, msg string) *evals.ProviderError {
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		msg += ": " + cause.Error()
	}
	return &evals.ProviderError{Kind: evals.ErrKindCanceled, Message: msg, Sent: sent, Err: ctx.Err()}
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
	"model":       "the target's model",
	"messages":    "the suite's messages",
	"tools":       "the suite's (or the case's) tools",
	"tool_choice": "the suite's tool_choice",
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
	if params != nil {
		pt, pv := reflect.TypeFor[evals.Params](), reflect.ValueOf(params).Elem()
		for i := range pt.NumField() {
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
			name, _, _ := strings.Cut(pt.Field(i).Tag.Get("json"), ",")
			var err error
			if b, err = appendMember(b, name, v); err != nil {
				errs = append(errs, evals.FieldErrorf("params."+name, "cannot encode as JSON: %v", err))
			}
		}
	}
	if stream {
		b = append(b, streamFields...)
	}
	b, xerrs := appendExtraBody(b, extra, func(key string, v any) string { return reservedKey(key, v, stream) })
	return append(b, '}'), append(errs, xerrs...)
}

// reservedKey says why extra_body may not set key to v, "" when it may: the
// provider sets it from the target's model, the messages, the tools or
// stream.
func reservedKey(key string, v any, stream bool) string {
	if what, ok := bodyReserved[key]; ok {
		return fmt.Sprintf("%q is set by the provider from %s", key, what)
	}
	switch {
	case key == "stream" && stream:
		return `set by the provider from the target's "stream": true`
	case key == "stream" && v != false:
		return `to stream, set "stream": true on the target (not in extra_body), which reads the events`
	case key == "stream_options" && stream:
		return "set by the provider when the target streams: " + streamFields[1:]
	}
	return ""
}
