package provider

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/rubric-eval/rubric/evals"
)

// HTTP sends each case to an in-house HTTP service whose request and
// response have shapes of their own: the target gives the URL, the method,
// the headers, the body as a JSON template, and gjson paths to the answer in
// the response. It is safe for concurrent use.
type HTTP struct {
	client
	method    string
	url       *urlTemplate
	baseURL   string      // the url's fixed start, as given, password and all
	header    http.Header // shared by every request, never modified
	body      *bodyPlan   // nil for GET
	model     string
	params    *evals.Params  // the target's
	paramVals map[string]any // params as the templates see them
	answer    answerPaths
	answerKey string // the method and the response paths, for the cache key
	secretEnv []string
}

var (
	_ evals.Provider = (*HTTP)(nil)
	_ Cacheable      = (*HTTP)(nil)
	_ Routed         = (*HTTP)(nil)
	_ SecretHolder   = (*HTTP)(nil)
	_ io.Closer      = (*HTTP)(nil)
)

// HTTPConfig is an http target's own fields; model and params are every
// target's (evals.TargetSpec), sent where the templates name them.
type HTTPConfig struct {
	// URL is where requests go. It may hold templates, whose values are
	// escaped for the part of the URL they are in.
	URL string `json:"url,omitempty"`
	// Method is GET, POST (the default), PUT or PATCH. GET sends no body.
	Method string `json:"method,omitempty"`
	// Headers are sent with every request; ${NAME} in a value is the
	// environment variable NAME.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the request body: a JSON object whose strings are templates.
	Body *HTTPBody `json:"body,omitempty"`
	// Response says where the answer is in the response.
	Response *HTTPResponse `json:"response,omitempty"`
}

// HTTPBody is an http target's body, a JSON object kept as written: the
// order of its keys and its numbers are sent as they are.
type HTTPBody struct {
	raw json.RawMessage
}

// UnmarshalJSON keeps b as it is.
func (b *HTTPBody) UnmarshalJSON(raw []byte) error {
	b.raw = append(json.RawMessage(nil), raw...)
	return nil
}

// MarshalJSON writes the body as it was given.
func (b HTTPBody) MarshalJSON() ([]byte, error) {
	if b.raw == nil {
		return []byte("null"), nil
	}
	return b.raw, nil
}

// NewHTTPBody returns the body raw, a JSON object; for targets built in Go.
func NewHTTPBody(raw string) *HTTPBody { return &HTTPBody{raw: json.RawMessage(raw)} }

// HTTPResponse says how an http target's answer is read from a response.
type HTTPResponse struct {
	// Format is "json" (the default): Text, Finish and Usage are gjson
	// paths into the JSON body; or "text": the whole body is the answer.
	Format string `json:"format,omitempty"`
	// Text is the path of the answer.
	Text string `json:"text,omitempty"`
	// Finish is the path of the finish reason, when the service gives one.
	Finish string `json:"finish,omitempty"`
	// Usage gives the paths of the token counts, when the service reports
	// them.
	Usage *HTTPUsage `json:"usage,omitempty"`
	// ToolCalls is the path of the answer's tool calls, when the service
	// calls tools: an array of OpenAI's {"id", "function": {"name",
	// "arguments"}} or of {"id", "name", "arguments"} (parseToolCalls). A
	// path missing or null is no call; with a call, Text may be missing or
	// null.
	ToolCalls string `json:"tool_calls,omitempty"`
}

// HTTPUsage gives the gjson paths of an http target's token counts; each
// may be left out. A missing total is the sum of the other two.
type HTTPUsage struct {
	PromptTokens     string `json:"prompt_tokens,omitempty"`
	CompletionTokens string `json:"completion_tokens,omitempty"`
	TotalTokens      string `json:"total_tokens,omitempty"`
}

// Response formats of an http target.
const (
	formatJSON = "json"
	formatText = "text"
)

// httpMethods are the methods an http target may use.
var httpMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch}

// NewHTTP builds an http provider. It reads the environment variables the
// headers refer to now, through env, and checks every template of the url
// and the body: each must parse and name only what a request gives (see
// httpNames).
func NewHTTP(cfg HTTPConfig, spec evals.TargetSpec, env Env) (*HTTP, error) {
	const name = "http"
	var errs []error
	var secrets []string
	p := &HTTP{model: spec.Model, params: spec.Params}

	p.method = cmp.Or(cfg.Method, http.MethodPost)
	if !slices.Contains(httpMethods, p.method) {
		errs = append(errs, evals.FieldErrorf("method", "%q is not a method an http target may use: expected one of %s", cfg.Method, strings.Join(httpMethods, ", ")))
	}

	pv, err := paramValues(spec.Params)
	if err != nil {
		errs = append(errs, evals.FieldErrorf("params", "cannot encode as JSON: %v", err))
	}
	p.paramVals = pv
	names := &httpNames{model: spec.Model != "", params: pv, named: map[string]bool{}}

	var creds *url.Userinfo
	if cfg.URL == "" {
		errs = append(errs, evals.FieldErrorf("url", "required by provider %q: the service's URL, such as http://localhost:8080/classify", name))
	} else {
		u, c, uerrs := parseURLTemplate(cfg.URL, names)
		errs = append(errs, uerrs...)
		if u != nil {
			p.url, p.baseURL, creds = u, u.base, c
		}
	}

	switch {
	case p.method == http.MethodGet && cfg.Body != nil:
		errs = append(errs, evals.FieldErrorf("body", "a GET request sends no body: give the values in the url's query, as in ?q={{ prompt }}"))
	case p.method != http.MethodGet && cfg.Body == nil:
		errs = append(errs, evals.FieldErrorf("body", "required by method %s: the JSON object the service takes, such as {\"input\": \"{{ prompt }}\"}", p.method))
	case cfg.Body != nil:
		plan, bsecrets, berrs := compileBody(cfg.Body.raw, names)
		errs = append(errs, berrs...)
		p.body = plan
		secrets = append(secrets, bsecrets...)
	}
	if p.url != nil && len(errs) == 0 && !names.caseSpecific {
		field := "body"
		if p.body == nil {
			field = "url"
		}
		errs = append(errs, evals.FieldErrorf(field, "names nothing of the case, so every case would send the same request: name {{ prompt }}, {{ messages | json }}, {{ id }} or a case variable"))
	}
	errs = append(errs, names.unusedParams()...)

	answer, aerrs := compileAnswer(cfg.Response)
	errs = append(errs, aerrs...)
	p.answer = answer
	if key, err := json.Marshal(struct {
		Method   string        `json:"method"`
		Response *HTTPResponse `json:"response"`
	}{p.method, cfg.Response}); err == nil {
		p.answerKey = string(key)
	}

	p.header = http.Header{"User-Agent": {"rubric"}, "Accept": {"application/json"}}
	if answer.text {
		p.header["Accept"] = []string{"*/*"}
	}
	if p.method != http.MethodGet {
		p.header["Content-Type"] = []string{"application/json"}
		// As openai's: a POST may be sent again on a kept-alive connection
		// that the server closed before answering.
		p.header["Idempotency-Key"] = nil
	}
	host, hsecrets, herrs := addHeaders(env, p.header, cfg.Headers, false)
	if creds != nil {
		pw, hasPW := creds.Password()
		secrets = append(secrets, pw)
		if !hasPW {
			secrets = append(secrets, creds.Username()) // a token given as the user
		}
		if p.header.Get("Authorization") == "" {
			// Credentials in the URL, as http.Client would send them.
			basic := base64.StdEncoding.EncodeToString([]byte(creds.Username() + ":" + pw))
			p.header["Authorization"] = []string{"Basic " + basic}
			secrets = append(secrets, basic)
		}
	}
	secrets = append(secrets, hsecrets...)
	errs = append(errs, herrs...)
	for _, v := range cfg.Headers {
		p.secretEnv = append(p.secretEnv, envRefs(v)...)
	}
	slices.Sort(p.secretEnv)
	p.secretEnv = slices.Compact(p.secretEnv)

	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	p.client = newClient(spec, host, secrets, "the service redirects to %s; set url to the final address")
	return p, nil
}

// envRefs returns the names of the environment variables s refers to as
// ${NAME}; s has been expanded already, so every reference is well formed.
func envRefs(s string) []string {
	var names []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return names
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return names
		}
		names = append(names, s[i+2:i+end])
		s = s[i+end+1:]
	}
}

// BaseURL returns the url's fixed start, up to its query or its first
// template, as the target gives it.
func (p *HTTP) BaseURL() string { return p.baseURL }

// SentURL returns the url as recorded when it holds no template; the
// cache records each request's own URL (Route).
func (p *HTTP) SentURL() string { return p.url.sent }

// SecretEnv returns the environment variables the headers refer to.
func (p *HTTP) SecretEnv() []string { return p.secretEnv }

// RequestBody returns the body Complete would record as sent for req: the
// rendered body, byte for byte, but for the values of keys that name a
// credential, which are [REDACTED]. A GET request has none.
func (p *HTTP) RequestBody(req *evals.Request) ([]byte, error) {
	if p.body == nil {
		return nil, nil
	}
	_, recorded, perr := p.body.render(p.scope(req))
	if perr != nil {
		return nil, perr
	}
	return recorded, nil
}

// Route returns the URL req goes to, as recorded, and what the cache keys
// on in place of the base URL: that URL, the method, and how the answer is
// read from the response, so that changing a response path does not serve
// answers read the old way.
func (p *HTTP) Route(req *evals.Request) (sentURL, key string, err error) {
	_, sentURL, perr := p.url.render(p.scope(req))
	if perr != nil {
		return "", "", perr
	}
	return sentURL, p.method + " " + sentURL + "\n" + p.answerKey, nil
}

// Complete renders the request for req, sends it and reads the answer.
func (p *HTTP) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	if ctx.Err() != nil {
		return nil, canceledError(ctx, nil, "canceled before the request was sent")
	}
	scope := p.scope(req)
	u, sentURL, perr := p.url.render(scope)
	if perr != nil {
		return nil, perr
	}
	var body, recorded []byte
	if p.body != nil {
		if body, recorded, perr = p.body.render(scope); perr != nil {
			return nil, perr
		}
	}
	sent := &evals.SentRequest{URL: sentURL, Body: recorded}
	// A plain-text answer never fails to decode, so it is never taken for
	// one cut short.
	decode := func(b []byte) (*evals.Response, *evals.ProviderError) { return p.decode(b, req.Step) }
	out, perr := p.complete(ctx, p.method, u, p.header, body, sent, decode)
	return answered(out, perr, sent)
}

// answerPaths is an http target's response field, checked.
type answerPaths struct {
	text      bool   // the whole body is the answer
	path      string // the answer's gjson path
	finish    string // "" when not read
	usage     HTTPUsage
	toolCalls string // "" when not read
}

// compileAnswer checks the response field.
func compileAnswer(r *HTTPResponse) (answerPaths, []error) {
	if r == nil {
		return answerPaths{}, []error{evals.FieldErrorf("response", `required by provider "http": where the answer is, such as {"text": "output"} (a gjson path into the JSON response) or {"format": "text"}`)}
	}
	var errs []error
	a := answerPaths{path: r.Text, finish: r.Finish, toolCalls: r.ToolCalls}
	if r.Usage != nil {
		a.usage = *r.Usage
	}
	switch r.Format {
	case "", formatJSON:
		if r.Text == "" {
			errs = append(errs, evals.FieldErrorf("response.text", `required: the gjson path of the answer in the JSON response, such as "output" or "choices.0.message.content" (or set "format": "text" for a plain-text answer)`))
		}
		if u := r.Usage; u != nil && *u == (HTTPUsage{}) {
			errs = append(errs, evals.FieldErrorf("response.usage", "gives no path: expected prompt_tokens, completion_tokens or total_tokens"))
		}
	case formatText:
		a.text = true
		for field, set := range map[string]bool{"text": r.Text != "", "finish": r.Finish != "", "usage": r.Usage != nil, "tool_calls": r.ToolCalls != ""} {
			if set {
				errs = append(errs, evals.FieldErrorf("response."+field, `does not apply to format "text": the whole body is the answer`))
			}
		}
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	default:
		errs = append(errs, evals.FieldErrorf("response.format", "%q: expected json or text", r.Format))
	}
	return a, errs
}

// decode reads the answer from a 2xx body, sent for the request of step
// step.
func (p *HTTP) decode(b []byte, step int) (*evals.Response, *evals.ProviderError) {
	if p.answer.text {
		return &evals.Response{Text: strings.ToValidUTF8(string(b), "\uFFFD")}, nil
	}
	if !gjson.ValidBytes(b) {
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: `response is not JSON (for a plain-text answer, set the target's response.format to "text"); ` + p.bodySnippet(b)}
	}
	fail := func(field, path, what string) *evals.ProviderError {
		return &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: fmt.Sprintf("response.%s: path %q %s; %s", field, path, what, p.bodySnippet(b))}
	}
	a := &p.answer
	var calls []evals.ToolCall
	if a.toolCalls != "" {
		tc := gjson.GetBytes(b, a.toolCalls)
		if tc.Exists() && tc.Type != gjson.Null {
			var err error
			if calls, err = parseToolCalls([]byte(tc.Raw), step); err != nil {
				return nil, fail("tool_calls", a.toolCalls, "is not the tool calls: "+err.Error())
			}
		}
	}
	text := gjson.GetBytes(b, a.path)
	switch {
	case len(calls) > 0 && (!text.Exists() || text.Type == gjson.Null):
		// An answer that calls tools may say nothing.
	case !text.Exists():
		return nil, fail("text", a.path, "is not in the response")
	case text.Type == gjson.Null:
		return nil, fail("text", a.path, "is null")
	}
	out := &evals.Response{ToolCalls: calls}
	if text.Exists() && text.Type != gjson.Null {
		out.Text = resultText(text)
	}
	if a.finish != "" {
		f := gjson.GetBytes(b, a.finish)
		if !f.Exists() {
			return nil, fail("finish", a.finish, "is not in the response")
		}
		if f.Type != gjson.Null {
			out.Finish = resultText(f)
		}
	}
	total := -1
	for _, c := range []struct {
		field, path string
		n           *int
	}{
		{"prompt_tokens", a.usage.PromptTokens, &out.Usage.PromptTokens},
		{"completion_tokens", a.usage.CompletionTokens, &out.Usage.CompletionTokens},
		{"total_tokens", a.usage.TotalTokens, &total},
	} {
		if c.path == "" {
			continue
		}
		v := gjson.GetBytes(b, c.path)
		if !v.Exists() {
			return nil, fail("usage."+c.field, c.path, "is not in the response")
		}
		n, err := strconv.Atoi(v.Raw)
		if v.Type != gjson.Number || err != nil || n < 0 {
			return nil, fail("usage."+c.field, c.path, "is "+clip(v.Raw)+", not a count of tokens")
		}
		*c.n = n
	}
	if total < 0 {
		total = out.Usage.PromptTokens + out.Usage.CompletionTokens
	}
	out.Usage.TotalTokens = total
	return out, nil
}

// resultText is a value found in a response as text: a string as it is,
// anything else (a number, an object) as its JSON.
func resultText(r gjson.Result) string {
	if r.Type == gjson.String {
		return r.Str
	}
	return r.Raw
}
