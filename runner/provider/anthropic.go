package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// Anthropic sends prompts to Anthropic's Messages API ({base_url}/v1/messages),
// whole or, with stream set, as server-sent events whose timings it records.
// It is safe for concurrent use.
type Anthropic struct {
	client
	baseURL   string         // base_url, or DefaultAnthropicURL
	keyEnv    string         // api_key_env, "" when none
	endpoint  *url.URL       // {base_url}/v1/messages; shared, never modified
	sentURL   string         // endpoint as recorded
	header    http.Header    // shared by every request, never modified
	prefix    []byte         // {"model":"…","max_tokens":N
	suffix    []byte         // ,"temperature":…,"stream":true,"top_k":…}
	params    *evals.Params  // the target's, for requests that add their own
	extra     map[string]any // the target's extra_body, likewise
	recExtra  map[string]any // extra_body as recorded, nil when it holds no credential
	recSuffix []byte         // suffix with recExtra, nil likewise
	stream    bool
}

var (
	_ evals.Provider = (*Anthropic)(nil)
	_ Cacheable      = (*Anthropic)(nil)
	_ SecretHolder   = (*Anthropic)(nil)
	_ io.Closer      = (*Anthropic)(nil)
)

// Defaults of an anthropic target.
const (
	DefaultAnthropicURL     = "https://api.anthropic.com"
	DefaultAnthropicVersion = "2023-06-01"
)

// AnthropicConfig is an anthropic target's own fields; model and params are
// every target's (evals.TargetSpec).
type AnthropicConfig struct {
	// BaseURL is the API's base URL, without /v1; DefaultAnthropicURL when
	// empty.
	BaseURL string `json:"base_url,omitempty"`
	// APIKeyEnv names the environment variable holding the API key, sent
	// as the x-api-key header.
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// AnthropicVersion is the anthropic-version header;
	// DefaultAnthropicVersion when empty.
	AnthropicVersion string `json:"anthropic_version,omitempty"`
	// Headers are sent with every request; ${NAME} in a value is the
	// environment variable NAME.
	Headers map[string]string `json:"headers,omitempty"`
	// ExtraBody's keys are added to every request body as they are.
	ExtraBody map[string]any `json:"extra_body,omitempty"`
	// Stream asks for the answer as server-sent events and records when
	// its tokens came (evals.StreamTiming).
	Stream bool `json:"stream,omitempty"`
}

// NewAnthropic builds a provider of Anthropic's Messages API. It reads the
// API key and any environment variables the headers refer to now, through
// env, so a missing variable fails before the run starts; and it checks the
// target's params against what the API takes: max_tokens is required, and
// the parameters the API lacks are errors rather than dropped.
func NewAnthropic(cfg AnthropicConfig, spec evals.TargetSpec, env Env) (*Anthropic, error) {
	const name = "anthropic"
	var errs []error
	p := &Anthropic{stream: cfg.Stream, baseURL: cfg.BaseURL}
	var host string // the Host header
	var secrets []string

	if p.baseURL == "" {
		p.baseURL = DefaultAnthropicURL
	}
	if u, err := messagesURL(p.baseURL); err != nil {
		errs = append(errs, err)
	} else {
		p.endpoint, p.sentURL, host = u, u.String(), u.Host
	}
	if spec.Model == "" {
		errs = append(errs, evals.FieldErrorf("model", "required by provider %q (for example claude-sonnet-4-5)", name))
	}
	version := cfg.AnthropicVersion
	if version == "" {
		version = DefaultAnthropicVersion
	} else if !validHeaderValue(version) {
		errs = append(errs, evals.FieldErrorf("anthropic_version", "holds a line break or control character"))
	}

	accept := "application/json"
	if cfg.Stream {
		accept = "text/event-stream"
	}
	p.header = http.Header{
		"Content-Type":      {"application/json"},
		"Accept":            {accept},
		"User-Agent":        {"rubric"},
		"Anthropic-Version": {version},
		// As for openai: lets http.Transport send the POST again on a
		// kept-alive connection the server had closed.
		"Idempotency-Key": nil,
	}
	if cfg.APIKeyEnv != "" {
		key, err := apiKey(env, cfg.APIKeyEnv)
		if err != nil {
			errs = append(errs, err)
		} else {
			p.header["X-Api-Key"] = []string{key}
			secrets = append(secrets, key)
		}
	}
	headers := maps.Clone(cfg.Headers)
	for _, h := range slices.Sorted(maps.Keys(cfg.Headers)) {
		switch canon := http.CanonicalHeaderKey(h); {
		case canon == "X-Api-Key" && cfg.APIKeyEnv != "":
			errs = append(errs, evals.FieldErrorf("headers."+h, "header %s conflicts with api_key_env, which sets it", canon))
			delete(headers, h)
		case canon == "Anthropic-Version":
			errs = append(errs, evals.FieldErrorf("headers."+h, "set anthropic_version instead of the header %s", canon))
			delete(headers, h)
		}
	}
	hostHeader, hsecrets, herrs := addHeaders(env, p.header, headers, false)
	if hostHeader != "" {
		host = hostHeader
	}
	secrets = append(secrets, hsecrets...)
	errs = append(errs, herrs...)

	errs = append(errs, anthropicParamErrors(spec.Params)...)
	suffix, serrs := anthropicSuffix(spec.Params, cfg.Stream, cfg.ExtraBody)
	errs = append(errs, serrs...)
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	if shown, hidden := evals.RedactCredentials(cfg.ExtraBody); len(hidden) > 0 {
		p.recExtra = shown.(map[string]any)
		p.recSuffix, _ = anthropicSuffix(spec.Params, cfg.Stream, p.recExtra)
		secrets = append(secrets, hidden...)
	}

	p.prefix = append([]byte(`{"model":`), appendString(nil, spec.Model)...)
	p.prefix = fmt.Appendf(p.prefix, `,"max_tokens":%d`, *spec.Params.MaxTokens)
	p.suffix = suffix
	p.params, p.extra, p.keyEnv = spec.Params, cfg.ExtraBody, cfg.APIKeyEnv
	p.client = newClient(spec, host, secrets, "the endpoint redirects to %s; set base_url to the final address")
	p.apiError = func(body []byte) (string, bool) {
		var e anthropicError
		return e.parse(body)
	}
	return p, nil
}

// messagesURL returns {base}/v1/messages, keeping any query.
func messagesURL(base string) (*url.URL, error) {
	const example = DefaultAnthropicURL
	u, err := parseBaseURL(base, example)
	if err != nil {
		return nil, err
	}
	if u.User != nil {
		return nil, evals.FieldErrorf("base_url", "%q holds a user or password, which the Messages API does not take: give the key in api_key_env (sent as x-api-key) or in headers", redactedURL(u))
	}
	path := strings.TrimRight(u.Path, "/")
	for _, tail := range []string{"/v1", "/v1/messages", "/messages"} {
		if strings.HasSuffix(path, tail) {
			return nil, evals.FieldErrorf("base_url", "%q ends in %s: give the base URL without it (such as %s); the provider appends /v1/messages", u, tail, example)
		}
	}
	u = u.JoinPath("v1", "messages")
	if !strings.HasPrefix(u.Path, "/") { // a base URL without a path
		u.Path, u.RawPath = "/"+u.Path, ""
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// anthropicParamErrors checks a target's params against the Messages API:
// max_tokens is required; temperature goes up to 1; seed, the penalties and
// response_format do not exist there, and are errors rather than dropped
// without a word.
func anthropicParamErrors(params *evals.Params) []error {
	const name = "anthropic"
	if params == nil {
		params = &evals.Params{}
	}
	var errs []error
	if params.MaxTokens == nil {
		errs = append(errs, evals.FieldErrorf("params.max_tokens", "required by provider %q: the Messages API needs the most tokens an answer may have (for example 1024)", name))
	}
	if t := params.Temperature; t != nil && *t > 1 {
		errs = append(errs, evals.FieldErrorf("params.temperature", "%v is above 1, the highest temperature the Messages API takes", *t))
	}
	unsupported := func(field, what string) {
		errs = append(errs, evals.FieldErrorf("params."+field, "not supported by provider %q: the Messages API has no %s; remove it", name, what))
	}
	if params.Seed != nil {
		unsupported("seed", "seed")
	}
	if params.PresencePenalty != nil {
		unsupported("presence_penalty", "presence penalty")
	}
	if params.FrequencyPenalty != nil {
		unsupported("frequency_penalty", "frequency penalty")
	}
	if isSet(params.ResponseFormat) {
		unsupported("response_format", "response_format (ask for JSON in the prompt, and check it with a json-valid or json-schema criterion)")
	}
	return errs
}

// anthropicReserved are the body keys extra_body may not set, and why.
var anthropicReserved = map[string]string{
	"model":          "it is the target's model",
	"messages":       "it holds the suite's messages",
	"system":         "it holds the suite's system messages",
	"max_tokens":     "set params.max_tokens instead",
	"temperature":    "set params.temperature instead",
	"top_p":          "set params.top_p instead",
	"stop_sequences": "set params.stop instead",
	"stream":         `set "stream" on the target instead`,
}

// anthropicSuffix encodes the tail of a request body, after the messages:
// the params that are set (but max_tokens, in the prefix), stream, then
// extra_body's keys in sorted order.
func anthropicSuffix(params *evals.Params, stream bool, extra map[string]any) ([]byte, []error) {
	var b []byte
	var errs []error
	field := func(name string, v any) {
		var err error
		if b, err = appendMember(b, name, v); err != nil {
			errs = append(errs, evals.FieldErrorf("params."+name, "cannot encode as JSON: %v", err))
		}
	}
	if params != nil {
		if params.Temperature != nil {
			field("temperature", *params.Temperature)
		}
		if params.TopP != nil {
			field("top_p", *params.TopP)
		}
		if isSet(params.Stop) {
			seqs, err := stopSequences(params.Stop)
			if err != nil {
				errs = append(errs, evals.FieldErrorf("params.stop", "%v", err))
			} else if len(seqs) > 0 {
				b = append(b, `,"stop_sequences":[`...)
				for i, s := range seqs {
					if i > 0 {
						b = append(b, ',')
					}
					b = appendString(b, s)
				}
				b = append(b, ']')
			}
		}
	}
	if stream {
		b = append(b, `,"stream":true`...)
	}
	b, xerrs := appendExtraBody(b, extra, func(key string, _ any) string {
		if why, ok := anthropicReserved[key]; ok {
			return fmt.Sprintf("%q is set by the provider: %s", key, why)
		}
		return ""
	})
	errs = append(errs, xerrs...)
	return append(b, '}'), errs
}

// stopSequences decodes params.stop: a string, or an array of strings.
func stopSequences(raw json.RawMessage) ([]string, error) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("expected a string or an array of strings, got %.40s", raw)
	}
	return many, nil
}

// BaseURL returns base_url as the target gives it, or the default.
func (p *Anthropic) BaseURL() string { return p.baseURL }

// SentURL returns the URL requests go to, as recorded in Response.Sent.
func (p *Anthropic) SentURL() string { return p.sentURL }

// SecretEnv returns api_key_env, when the target sets it.
func (p *Anthropic) SecretEnv() []string {
	if p.keyEnv == "" {
		return nil
	}
	return []string{p.keyEnv}
}

// RequestBody returns the body Complete would record as sent for req,
// without sending anything: the bytes it sends, but for the values of
// extra_body keys that name a credential, which are [REDACTED].
func (p *Anthropic) RequestBody(req *evals.Request) ([]byte, error) {
	_, recorded, err := p.body(req)
	if err != nil {
		return nil, err
	}
	return recorded, nil
}

// body returns the request body for req, and the body as recorded: the same
// slice, unless extra_body holds a credential.
//
// A request's own params (a judge's temperature and seed) fill in what the
// target's leave unset, as for openai; a seed is dropped, since the
// Messages API has none, and a penalty or a response_format is an error.
func (p *Anthropic) body(req *evals.Request) (body, recorded []byte, perr *evals.ProviderError) {
	renderErr := func(err error) *evals.ProviderError {
		return &evals.ProviderError{Kind: evals.ErrKindRender, Err: err, Message: err.Error()}
	}
	suffix, recSuffix := p.suffix, p.recSuffix
	if req.Params != nil {
		merged := mergeParams(p.params, req.Params)
		merged.Seed = nil
		var errs []error
		for _, err := range anthropicParamErrors(merged) {
			var fe *evals.FieldError
			if errors.As(err, &fe) && fe.Field != "params.max_tokens" && fe.Field != "params.temperature" {
				errs = append(errs, err)
			}
		}
		if len(errs) == 0 {
			suffix, errs = anthropicSuffix(merged, p.stream, p.extra)
		}
		if len(errs) > 0 {
			return nil, nil, renderErr(fmt.Errorf("the request's params: %w", errors.Join(errs...)))
		}
		if p.recExtra != nil {
			recSuffix, _ = anthropicSuffix(merged, p.stream, p.recExtra)
		}
	}
	body = make([]byte, 0, len(p.prefix)+len(`,"system":,"messages":`)+messagesSize(req.Messages)+len(suffix))
	body = append(body, p.prefix...)
	body, err := appendAnthropicMessages(body, req.Messages)
	if err != nil {
		return nil, nil, renderErr(err)
	}
	head := len(body)
	body = append(body, suffix...)
	if recSuffix == nil {
		return body, body, nil
	}
	return body, append(body[:head:head], recSuffix...), nil
}

// systemRole reports whether a message of role goes to the top-level
// system field: system, and OpenAI's developer, its name for the same.
func systemRole(role string) bool { return role == "system" || role == "developer" }

// appendAnthropicMessages appends ,"system":…,"messages":[…] for msgs. The
// system (and developer) messages, wherever they are, make the top-level
// system field: a string for one, an array of text blocks for several. The
// others make messages; consecutive messages of one role (a system
// message between them aside) make one turn whose content is an array of
// text blocks, one per message, as the API would combine them itself.
func appendAnthropicMessages(b []byte, msgs []evals.Message) ([]byte, error) {
	nsys, nconv := 0, 0
	for i, m := range msgs {
		switch {
		case systemRole(m.Role):
			nsys++
		case m.Role == "user" || m.Role == "assistant":
			nconv++
		default:
			return nil, fmt.Errorf("message %d has role %q: the Messages API takes system, user and assistant messages", i+1, m.Role)
		}
	}
	if nconv == 0 {
		return nil, errors.New("the Messages API needs a user or assistant message, and the request has only system messages")
	}
	if nsys > 0 {
		b = append(b, `,"system":`...)
		if nsys == 1 {
			for _, m := range msgs {
				if systemRole(m.Role) {
					b = appendString(b, m.Content)
				}
			}
		} else {
			b = append(b, '[')
			first := true
			for _, m := range msgs {
				if systemRole(m.Role) {
					b = appendTextBlock(b, m.Content, first)
					first = false
				}
			}
			b = append(b, ']')
		}
	}
	b = append(b, `,"messages":[`...)
	turns := 0
	for i := 0; i < len(msgs); {
		if systemRole(msgs[i].Role) {
			i++
			continue
		}
		role := msgs[i].Role
		// The turn runs to the next message of another role.
		end, n := i, 0
		for end < len(msgs) && (systemRole(msgs[end].Role) || msgs[end].Role == role) {
			if !systemRole(msgs[end].Role) {
				n++
			}
			end++
		}
		if turns > 0 {
			b = append(b, ',')
		}
		turns++
		b = append(b, `{"role":`...)
		b = appendString(b, role)
		b = append(b, `,"content":`...)
		if n == 1 {
			b = appendString(b, msgs[i].Content)
		} else {
			b = append(b, '[')
			first := true
			for _, m := range msgs[i:end] {
				if !systemRole(m.Role) {
					b = appendTextBlock(b, m.Content, first)
					first = false
				}
			}
			b = append(b, ']')
		}
		b = append(b, '}')
		i = end
	}
	return append(b, ']'), nil
}

// appendTextBlock appends {"type":"text","text":s}, after a comma unless
// first.
func appendTextBlock(b []byte, s string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, `{"type":"text","text":`...)
	b = appendString(b, s)
	return append(b, '}')
}

// Complete sends one Messages request and waits for the whole answer, or
// reads it as it streams.
func (p *Anthropic) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	if ctx.Err() != nil {
		return nil, canceledError(ctx, nil, "canceled before the request was sent")
	}
	body, recorded, perr := p.body(req)
	if perr != nil {
		return nil, perr
	}
	sent := &evals.SentRequest{URL: p.sentURL, Body: recorded}
	var out *evals.Response
	if p.stream {
		out, perr = p.completeStream(ctx, body, sent)
	} else {
		out, perr = p.complete(ctx, http.MethodPost, p.endpoint, p.header, body, sent, p.decode)
	}
	return answered(out, perr, sent)
}

// anthropicError is the error object of the API's error bodies and of a
// stream's error event: {"type": "error", "error": {"type", "message"},
// "request_id"}.
type anthropicError struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// parse decodes b into e and words the error as "type: message
// (request_id …)"; ok is false when b is not in the API's shape.
func (e *anthropicError) parse(b []byte) (msg string, ok bool) {
	if json.Unmarshal(b, e) != nil || e.Error == nil || e.Error.Type == "" && e.Error.Message == "" {
		return "", false
	}
	msg = e.Error.Type
	if e.Error.Message != "" {
		if msg != "" {
			msg += ": "
		}
		msg += e.Error.Message
	}
	if e.RequestID != "" {
		msg += " (request_id " + e.RequestID + ")"
	}
	return msg, true
}

// anthropicMessage is the part of a Message (the API's response, and the
// message of a stream's message_start) that is read.
type anthropicMessage struct {
	Type       string           `json:"type"`
	Content    []anthropicBlock `json:"content"`
	StopReason string           `json:"stop_reason"`
	Usage      anthropicUsage   `json:"usage"`
	Error      json.RawMessage  `json:"error"`
}

// anthropicBlock is a content block; only text blocks make the answer
// (not thinking, redacted_thinking or tool_use).
type anthropicBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// anthropicUsage is the usage object. Every count may be missing: a
// stream's message_delta gives output_tokens, and may give the others.
type anthropicUsage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
}

// update sets each count o gives.
func (u *anthropicUsage) update(o anthropicUsage) {
	for _, f := range []struct{ dst, src **int }{
		{&u.InputTokens, &o.InputTokens}, {&u.OutputTokens, &o.OutputTokens},
		{&u.CacheCreationInputTokens, &o.CacheCreationInputTokens}, {&u.CacheReadInputTokens, &o.CacheReadInputTokens},
	} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
}

// usage returns the counts as rubric records them: the prompt tokens are
// every input token, input_tokens (those after the last cache breakpoint)
// plus those written to and read from the prompt cache, as the API
// documents the total input; the completion tokens are output_tokens.
func (u anthropicUsage) usage() evals.Usage {
	n := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	prompt := n(u.InputTokens) + n(u.CacheCreationInputTokens) + n(u.CacheReadInputTokens)
	out := n(u.OutputTokens)
	return evals.Usage{PromptTokens: prompt, CompletionTokens: out, TotalTokens: prompt + out}
}

func (p *Anthropic) decode(b []byte) (*evals.Response, *evals.ProviderError) {
	var m anthropicMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode, Err: err,
			Message: p.redact("malformed response: "+err.Error()) + "; " + p.bodySnippet(b)}
	}
	if m.Type == "error" || isSet(m.Error) {
		var e anthropicError
		if msg, ok := e.parse(b); ok {
			return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
				Message: "a 2xx response holding an error: " + clip(p.redact(msg))}
		}
	}
	if m.Content == nil {
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: "response has no content; " + p.bodySnippet(b)}
	}
	var text strings.Builder
	for _, c := range m.Content {
		if c.Type == "text" {
			text.WriteString(c.Text)
		}
	}
	return &evals.Response{Text: text.String(), Finish: m.StopReason, Usage: m.Usage.usage()}, nil
}
