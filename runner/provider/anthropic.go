package provider

import (
	"bytes"
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
	batch     *anthropicBatch // nil unless the target sets batch
}

var (
	_ evals.Provider = (*Anthropic)(nil)
	_ Cacheable      = (*Anthropic)(nil)
	_ SecretHolder   = (*Anthropic)(nil)
	_ io.Closer      = (*Anthropic)(nil)
	_ Batcher        = (*Anthropic)(nil)
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
	// Batch sends the requests through the Message Batches API
	// (docs/batch.md).
	Batch bool `json:"batch,omitempty"`
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

	if cfg.Batch && cfg.Stream {
		errs = append(errs, evals.FieldErrorf("batch", "cannot be set with stream: a batch's answers do not stream; set one of them"))
	}
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
	if cfg.Batch {
		p.batch = newAnthropicBatch(p)
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
	if len(req.Tools) > 0 {
		// extra_body's keys follow: one the tools set too would be there twice.
		conflict := func(key string) *evals.ProviderError {
			return renderErr(fmt.Errorf("extra_body sets %q, and so does the suite: give %s in one place", key, key))
		}
		if _, set := p.extra["tools"]; set {
			return nil, nil, conflict("tools")
		}
		if _, set := p.extra["tool_choice"]; set && len(req.ToolChoice) > 0 {
			return nil, nil, conflict("tool_choice")
		}
		if body, err = appendAnthropicTools(body, req.Tools, req.ToolChoice); err != nil {
			return nil, nil, renderErr(err)
		}
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
// others make messages, a tool message being a user message that holds a
// tool_result; consecutive messages of one role (a system message between
// them aside) make one turn (appendTurnContent), as the API would combine
// them itself, and as it requires of the results of parallel tool calls.
func appendAnthropicMessages(b []byte, msgs []evals.Message) ([]byte, error) {
	msgs = dropEmptyAnswers(msgs)
	nsys, nconv := 0, 0
	for i, m := range msgs {
		switch {
		case systemRole(m.Role):
			nsys++
		case m.Role == evals.RoleUser || m.Role == evals.RoleAssistant:
			nconv++
		case m.Role == evals.RoleTool:
			if m.ToolCallID == "" {
				return nil, fmt.Errorf("message %d is a tool message without tool_call_id: the Messages API needs the id of the tool_use it answers", i+1)
			}
			nconv++
		default:
			return nil, fmt.Errorf("message %d has role %q: the Messages API takes system, user, assistant and tool messages", i+1, m.Role)
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
		role := anthropicRole(msgs[i].Role)
		// The turn runs to the next message of another role.
		end := i
		for end < len(msgs) && (systemRole(msgs[end].Role) || anthropicRole(msgs[end].Role) == role) {
			end++
		}
		if turns > 0 {
			b = append(b, ',')
		}
		turns++
		b = append(b, `{"role":`...)
		b = appendString(b, role)
		b = append(b, `,"content":`...)
		b = appendTurnContent(b, msgs[i:end])
		b = append(b, '}')
		i = end
	}
	return append(b, ']'), nil
}

// anthropicRole is the role of a message's turn in the Messages API: a tool
// result is the user's.
func anthropicRole(role string) string {
	if role == evals.RoleTool {
		return evals.RoleUser
	}
	return role
}

// appendTurnContent appends the content of one turn, msgs (their system
// messages skipped). One user or assistant message without tool calls is a
// string. Otherwise it is an array of blocks: first a tool_result per tool
// message, in order (the API takes a user's text only after the results),
// then for each other message a text block, and for an assistant message
// with tool calls a text block only when it has text (the API rejects an
// empty one), then a tool_use block per call.
// dropEmptyAnswers leaves out the assistant messages with neither text nor
// a tool call (a model that answered nothing, sent back in a later turn of
// a conversation): the Messages API refuses empty content, and takes the
// user messages around one as one turn. msgs is returned as it is when it
// has none.
func dropEmptyAnswers(msgs []evals.Message) []evals.Message {
	empty := func(m *evals.Message) bool {
		return m.Role == evals.RoleAssistant && len(m.ToolCalls) == 0 && strings.TrimSpace(m.Content) == ""
	}
	if !slices.ContainsFunc(msgs, func(m evals.Message) bool { return empty(&m) }) {
		return msgs
	}
	out := make([]evals.Message, 0, len(msgs))
	for i := range msgs {
		if !empty(&msgs[i]) {
			out = append(out, msgs[i])
		}
	}
	return out
}

func appendTurnContent(b []byte, msgs []evals.Message) []byte {
	n, plain := 0, true
	var one *evals.Message
	for k := range msgs {
		m := &msgs[k]
		if systemRole(m.Role) {
			continue
		}
		n, one = n+1, m
		if m.Role == evals.RoleTool || calls(m) {
			plain = false
		}
	}
	if n == 1 && plain {
		return appendString(b, one.Content)
	}
	b = append(b, '[')
	first := true
	for _, m := range msgs {
		if m.Role == evals.RoleTool {
			b = appendToolResult(b, m, first)
			first = false
		}
	}
	for _, m := range msgs {
		switch {
		case systemRole(m.Role) || m.Role == evals.RoleTool:
		case calls(&m):
			if strings.TrimSpace(m.Content) != "" {
				b = appendTextBlock(b, m.Content, first)
				first = false
			}
			for _, tc := range m.ToolCalls {
				b = appendToolUse(b, tc, first)
				first = false
			}
		default:
			b = appendTextBlock(b, m.Content, first)
			first = false
		}
	}
	return append(b, ']')
}

// calls reports whether m is an assistant message that calls tools.
func calls(m *evals.Message) bool { return m.Role == evals.RoleAssistant && len(m.ToolCalls) > 0 }

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

// appendToolUse appends the tool_use block of a call, after a comma unless
// first: {"type":"tool_use","id","name","input"}. The input is the call's
// arguments when they are a JSON object; the API takes nothing else, so a
// call whose arguments are not one (malformed, kept as the model's text)
// goes back as input {}, the tool message that answers it saying what was
// wrong.
func appendToolUse(b []byte, tc evals.ToolCall, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, `{"type":"tool_use","id":`...)
	b = appendString(b, tc.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, tc.Name)
	b = append(b, `,"input":`...)
	input := []byte(`{}`)
	if tc.ArgumentsError == "" && jsonObject(tc.Arguments) {
		if enc, err := marshalValue(tc.Arguments); err == nil {
			input = enc
		}
	}
	b = append(b, input...)
	return append(b, '}')
}

// jsonObject reports whether raw is a JSON object.
func jsonObject(raw []byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{' && json.Valid(raw)
}

// appendToolResult appends the tool_result block of a tool message, after a
// comma unless first: {"type":"tool_result","tool_use_id","content"}, with
// "is_error": true when the call failed. An empty result has no content,
// which the API allows.
func appendToolResult(b []byte, m evals.Message, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, `{"type":"tool_result","tool_use_id":`...)
	b = appendString(b, m.ToolCallID)
	if m.Content != "" {
		b = append(b, `,"content":`...)
		b = appendString(b, m.Content)
	}
	if m.Error != "" {
		b = append(b, `,"is_error":true`...)
	}
	return append(b, '}')
}

// appendAnthropicTools appends ,"tools":[…] for tools, as the Messages API
// takes them: {"name","description","input_schema"}, the schema being the
// tool's parameters (with "type": "object" added when they leave it out, as
// the API requires it) or {"type":"object"} for a tool without any; OpenAI's
// strict and the tool's mock are not sent. Then ,"tool_choice":{…} when
// choice is set (anthropicToolChoice).
func appendAnthropicTools(b []byte, tools []evals.Tool, choice json.RawMessage) ([]byte, error) {
	b = append(b, `,"tools":[`...)
	for i, t := range tools {
		if t.Type != "function" {
			return nil, fmt.Errorf("tool %d (%s) has type %q: the Messages API takes function tools", i+1, t.Function.Name, t.Type)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, t.Function.Name)
		if t.Function.Description != "" {
			b = append(b, `,"description":`...)
			b = appendString(b, t.Function.Description)
		}
		b = append(b, `,"input_schema":`...)
		schema, err := inputSchema(t.Function.Parameters)
		if err != nil {
			return nil, fmt.Errorf("tool %q: parameters: %v", t.Function.Name, err)
		}
		b = append(b, schema...)
		b = append(b, '}')
	}
	b = append(b, ']')
	if len(choice) > 0 {
		tc, err := anthropicToolChoice(choice)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"tool_choice":`...)
		b = append(b, tc...)
	}
	return b, nil
}

// inputSchema returns a tool's input_schema, compact: its parameters, an
// object, with "type":"object" put first when they have no type; or
// {"type":"object"} when there are none.
func inputSchema(params json.RawMessage) ([]byte, error) {
	if len(params) == 0 {
		return []byte(`{"type":"object"}`), nil
	}
	if !jsonObject(params) {
		return nil, fmt.Errorf("expected a JSON Schema object, got %s", evals.JSONKind(params))
	}
	schema, err := marshalValue(params)
	if err != nil {
		return nil, err
	}
	var top struct {
		Type json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal(schema, &top); err != nil {
		return nil, err
	}
	if top.Type == nil {
		rest := schema[1:] // after the {
		head := `{"type":"object"`
		if string(rest) != "}" {
			head += ","
		}
		schema = append([]byte(head), rest...)
	}
	return schema, nil
}

// anthropicToolChoice returns the Messages API's tool_choice for OpenAI's:
// "auto" is {"type":"auto"}, "required" {"type":"any"}, "none"
// {"type":"none"}, and {"type":"function","function":{"name":N}}
// {"type":"tool","name":N}.
func anthropicToolChoice(choice json.RawMessage) ([]byte, error) {
	var s string
	if json.Unmarshal(choice, &s) == nil {
		switch s {
		case "auto":
			return []byte(`{"type":"auto"}`), nil
		case "required":
			return []byte(`{"type":"any"}`), nil
		case "none":
			return []byte(`{"type":"none"}`), nil
		}
	} else {
		var named struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if json.Unmarshal(choice, &named) == nil && named.Type == "function" && named.Function.Name != "" {
			b := append([]byte(`{"type":"tool","name":`), appendString(nil, named.Function.Name)...)
			return append(b, '}'), nil
		}
	}
	return nil, fmt.Errorf(`tool_choice: expected "auto", "none", "required" or {"type": "function", "function": {"name": NAME}}, got %s`, clip(string(choice)))
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

// anthropicBlock is a content block: text blocks make the answer, tool_use
// blocks its tool calls; thinking and redacted_thinking are not read.
type anthropicBlock struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	ID    string          `json:"id"`    // tool_use
	Name  string          `json:"name"`  // tool_use
	Input json.RawMessage `json:"input"` // tool_use
}

// anthropicToolCall is the call of a tool_use block whose input is the JSON
// text input (a Message's input object, or a stream's partial_json joined):
// compact JSON, {} when there is none, and text that is not JSON kept and
// marked as evals.NewToolCall does, so that the loop answers it with an error.
func anthropicToolCall(id, name string, input []byte) evals.ToolCall {
	if string(bytes.TrimSpace(input)) == "null" {
		input = nil
	}
	tc := evals.NewToolCall(id, name, string(input))
	if tc.ArgumentsError == "" {
		if enc, err := marshalValue(tc.Arguments); err == nil {
			tc.Arguments = enc
		}
	}
	return tc
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
	var calls []evals.ToolCall
	for _, c := range m.Content {
		switch c.Type {
		case "text":
			text.WriteString(c.Text)
		case "tool_use":
			calls = append(calls, anthropicToolCall(c.ID, c.Name, c.Input))
		}
	}
	return &evals.Response{Text: text.String(), Finish: m.StopReason, Usage: m.Usage.usage(), ToolCalls: calls}, nil
}
