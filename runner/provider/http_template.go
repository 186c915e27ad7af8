package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// An http target's url and body are templates in the language of the
// suite's messages (evals.Template). What they may name is httpScope's:
//
//	messages     the conversation, an array of OpenAI's chat messages:
//	             {"role", "content"}, with "tool_calls" on an assistant
//	             message that calls tools and "tool_call_id" on a tool
//	             message (chatMessageValues)
//	prompt       the content of the last user message
//	system       the content of the system messages, joined by a blank line
//	id           the case's id
//	model        the target's model, when it sets one
//	params       the target's params, an object, with those a request adds
//	             (a judge's temperature and seed) where the target sets none
//	tools        the tools offered, as OpenAI's tools field writes them
//	             (without their mocks); [] when the request offers none
//	tool_choice  the suite's tool_choice, "auto" when it sets none, "none"
//	             when the request offers no tools
//	NAME         the case's variable NAME
//
// The first eight come first: a case variable of one of their names is not
// reachable. The case's expected answer, tags and metadata are not given.

// httpScope resolves the names of an http target's templates for one
// request.
type httpScope struct {
	req   *evals.Request
	p     *HTTP
	msgs  []any // messages as values, built on first use
	tools any   // tools as values, built on first use
}

func (p *HTTP) scope(req *evals.Request) *httpScope { return &httpScope{req: req, p: p} }

// Lookup implements evals.Scope.
func (s *httpScope) Lookup(name string) (any, bool) {
	switch name {
	case "messages":
		if s.msgs == nil {
			s.msgs = chatMessageValues(s.req.Messages)
		}
		return s.msgs, true
	case "tools":
		if s.tools == nil {
			raw, err := toolDefs(s.req.Tools)
			if err != nil {
				return nil, false
			}
			if s.tools, err = jsonValue(raw); err != nil {
				return nil, false
			}
		}
		return s.tools, true
	case "tool_choice":
		raw, err := toolChoice(s.req)
		if err != nil {
			return nil, false
		}
		v, err := jsonValue(raw)
		return v, err == nil
	case "prompt":
		for i := len(s.req.Messages) - 1; i >= 0; i-- {
			if s.req.Messages[i].Role == "user" {
				return s.req.Messages[i].Content, true
			}
		}
		return nil, false
	case "system":
		var parts []string
		for _, m := range s.req.Messages {
			if m.Role == "system" {
				parts = append(parts, m.Content)
			}
		}
		return strings.Join(parts, "\n\n"), len(parts) > 0
	case "id":
		return s.req.CaseID, true
	case "model":
		return s.p.model, s.p.model != ""
	case "params":
		if s.req.Params == nil {
			return s.p.paramVals, true
		}
		v, err := paramValues(mergeParams(s.p.params, s.req.Params))
		return v, err == nil
	}
	v, ok := s.req.Vars[name]
	return v, ok
}

// renderError is a template of field that could not be rendered for req.
func renderError(field string, err error, req *evals.Request) *evals.ProviderError {
	msg := err.Error()
	var mv *evals.MissingVarError
	if errors.As(err, &mv) {
		top, _, _ := strings.Cut(mv.Path, ".")
		switch top {
		case "prompt":
			msg = "{{ prompt }}: the request has no user message"
		case "system":
			msg = "{{ system }}: the request has no system message"
		case "messages", "params", "tools", "tool_choice":
			msg = fmt.Sprintf("{{ %s }} is not in the request", mv.Path)
		default:
			names := "no variables"
			if len(req.Vars) > 0 {
				names = strings.Join(slices.Sorted(maps.Keys(req.Vars)), ", ")
			}
			msg = fmt.Sprintf("{{ %s }}: the case does not define %s (it has: %s)", mv.Path, mv.Path, names)
		}
	}
	return &evals.ProviderError{Kind: evals.ErrKindRender, Err: err, Message: field + ": " + msg}
}

// paramNames are the JSON names of evals.Params' fields, in order.
var paramNames = func() []string {
	t := reflect.TypeFor[evals.Params]()
	names := make([]string, t.NumField())
	for i := range t.NumField() {
		names[i] = jsonName(t.Field(i))
	}
	return names
}()

// paramValues returns params as a template sees them: an object of the
// params set, numbers as written. Nil params give an empty object.
func paramValues(params *evals.Params) (map[string]any, error) {
	out := map[string]any{}
	if params == nil {
		return out, nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	for k, v := range out {
		if v == nil { // a raw param given as null: not set
			delete(out, k)
		}
	}
	return out, nil
}

// httpNames checks, when the target is built, what its templates name, and
// remembers what a check further on needs.
type httpNames struct {
	model  bool           // the target sets a model
	params map[string]any // the target's params
	// named are the params named, "" standing for the whole object;
	// caseSpecific is set when a template names something that changes
	// from case to case.
	named        map[string]bool
	caseSpecific bool
}

// check returns the problems of template t, found in field: names a
// request does not give, and paths into them that cannot exist.
func (n *httpNames) check(field string, t *evals.Template) []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, evals.FieldErrorf(field, "{{ %s }}: %s", path, fmt.Sprintf(format, args...)))
	}
	for _, path := range t.Paths() {
		segs := strings.Split(path, ".")
		switch top := segs[0]; top {
		case "messages":
			n.caseSpecific = true
			if len(segs) > 1 {
				if i, err := strconv.Atoi(segs[1]); err != nil || i < 0 {
					bad(path, "messages is an array: expected an index (messages.0), got %q", segs[1])
					continue
				}
			}
			switch {
			case len(segs) <= 2, segs[2] == "tool_calls": // an array of objects
			case segs[2] != "role" && segs[2] != "content" && segs[2] != "tool_call_id":
				bad(path, "a message has role, content, tool_calls and tool_call_id, not %q", segs[2])
			case len(segs) > 3:
				bad(path, "a message's %s is a string", segs[2])
			}
		case "tools":
			if len(segs) > 1 {
				if i, err := strconv.Atoi(segs[1]); err != nil || i < 0 {
					bad(path, "tools is an array: expected an index (tools.0), got %q", segs[1])
				}
			}
		case "tool_choice": // a string, or an object naming a function
		case "prompt", "system", "id", "model":
			if top != "model" {
				n.caseSpecific = true
			} else if !n.model {
				bad(path, "the target sets no model")
				continue
			}
			if len(segs) > 1 {
				bad(path, "%s is a string, with no field %q", top, segs[1])
			}
		case "params":
			if len(segs) == 1 {
				n.named[""] = true
				continue
			}
			name := segs[1]
			switch _, set := n.params[name]; {
			case !slices.Contains(paramNames, name):
				bad(path, "unknown param %q: expected one of %s", name, strings.Join(paramNames, ", "))
			case !set:
				bad(path, "the target's params do not set %s", name)
			default:
				n.named[name] = true
			}
		case "expected":
			bad(path, "the case's expected answer is not given to the model: a request may name messages, prompt, system, id, model, params, tools, tool_choice and the case's variables")
		case "tags", "metadata", "output":
			bad(path, "a request may name messages, prompt, system, id, model, params, tools, tool_choice and the case's variables, not the case's %s", top)
		default: // a case variable: the dataset has it or the case fails
			n.caseSpecific = true
		}
	}
	return errs
}

// unusedParams reports each param the target sets that no template names:
// it would never be sent.
func (n *httpNames) unusedParams() []error {
	if n.named[""] {
		return nil
	}
	var errs []error
	for _, name := range paramNames {
		if _, set := n.params[name]; set && !n.named[name] {
			errs = append(errs, evals.FieldErrorf("params."+name, "set, but neither the url nor the body names {{ params.%s }} or {{ params | json }}, so it would never be sent", name))
		}
	}
	return errs
}

// urlTemplate is an http target's url: fixed, or a template whose values
// are escaped for the part they are in, the path or the query.
type urlTemplate struct {
	base  string   // the fixed start, up to the query or the first template, as given
	fixed *url.URL // the URL when it has no template, without user and password
	sent  string   // fixed as recorded, or the template's text
	path  *evals.Template
	query *evals.Template // nil when the url has no "?"
}

// parseURLTemplate parses an http target's url. The scheme and host must be
// fixed; user and password, if given, are returned and taken out of the
// URL.
func parseURLTemplate(src string, names *httpNames) (*urlTemplate, *url.Userinfo, []error) {
	bad := func(format string, args ...any) []error {
		return []error{evals.FieldErrorf("url", format, args...)}
	}
	t, err := evals.ParseTemplate(src)
	if err != nil {
		return nil, nil, bad("%v", err)
	}
	if strings.Contains(src, "#") {
		return nil, nil, bad("has a fragment (#...), which is never sent to the server")
	}
	scheme, rest, ok := strings.Cut(src, "://")
	if lower := strings.ToLower(scheme); !ok || lower != "http" && lower != "https" {
		return nil, nil, bad("%q is not an http or https URL such as http://localhost:8080/classify", clip(src))
	}
	hostEnd := strings.IndexAny(rest, "/?")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	if strings.Contains(rest[:hostEnd], "{{") {
		return nil, nil, bad("the scheme and host must be fixed: a template may be in the path or the query")
	}
	hu, err := url.Parse(scheme + "://" + rest[:hostEnd])
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, nil, bad("not a URL: %v", err)
	}
	if hu.Host == "" {
		return nil, nil, bad("has no host")
	}
	creds := hu.User
	if at := strings.LastIndexByte(rest[:hostEnd], '@'); at >= 0 {
		rest = rest[at+1:]
	}
	plain := scheme + "://" + rest // without user and password
	u := &urlTemplate{base: src}
	if i := strings.IndexAny(src, "?"); i >= 0 {
		u.base = src[:i]
	}
	if i := strings.Index(u.base, "{{"); i >= 0 {
		u.base = u.base[:i]
	}
	if t.Static() {
		fixed, err := url.Parse(plain)
		if err != nil {
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			return nil, nil, bad("not a URL: %v", err)
		}
		u.fixed, u.sent = fixed, fixed.String()
		return u, creds, nil
	}
	u.sent = plain
	pathSrc, querySrc, hasQuery := strings.Cut(plain, "?")
	u.path = evals.MustParseTemplate(pathSrc) // parts of a template that parsed
	if hasQuery {
		u.query = evals.MustParseTemplate(querySrc)
	}
	return u, creds, names.check("url", t)
}

// render returns the URL of a request, and the URL as recorded.
func (u *urlTemplate) render(scope *httpScope) (*url.URL, string, *evals.ProviderError) {
	if u.fixed != nil {
		return u.fixed, u.sent, nil
	}
	escape := func(esc func(string) string) func(b *strings.Builder, _, text string) {
		return func(b *strings.Builder, _, text string) { b.WriteString(esc(text)) }
	}
	s, err := u.path.RenderQuoted(scope, escape(url.PathEscape))
	if err != nil {
		return nil, "", renderError("url", err, scope.req)
	}
	if u.query != nil {
		q, err := u.query.RenderQuoted(scope, escape(url.QueryEscape))
		if err != nil {
			return nil, "", renderError("url", err, scope.req)
		}
		s += "?" + q
	}
	parsed, err := url.Parse(s)
	if err != nil {
		return nil, "", &evals.ProviderError{Kind: evals.ErrKindRender, Err: err, Message: "url: rendered to an invalid URL: " + err.Error()}
	}
	return parsed, parsed.String(), nil
}

// bodyPlan is an http target's body, compiled: literal JSON to send as it
// is, between the templates rendered for each request.
type bodyPlan struct {
	segs []bodySeg
	// secret is set when a value is recorded as [REDACTED]: the value of a
	// key whose name says it is a credential (evals.SecretName).
	secret bool
	size   int // bytes of literal JSON
}

// bodySeg is one part of a body: literal JSON, a template, or a
// credential's value.
type bodySeg struct {
	lit    []byte
	tmpl   *evals.Template
	asJSON bool   // tmpl is one {{ x | json }}: x's JSON value, not a string
	field  string // where tmpl is: "body.input.0"
	secret *bodyPlan
}

// literal adds JSON text to send as it is.
func (p *bodyPlan) literal(s string) {
	p.size += len(s)
	if n := len(p.segs); n > 0 && p.segs[n-1].tmpl == nil && p.segs[n-1].secret == nil {
		p.segs[n-1].lit = append(p.segs[n-1].lit, s...)
		return
	}
	p.segs = append(p.segs, bodySeg{lit: []byte(s)})
}

// bodyWriter writes a body as sent and, when both is set, as recorded.
type bodyWriter struct {
	sent, rec []byte
	both      bool
}

func (w *bodyWriter) write(b []byte) {
	w.sent = append(w.sent, b...)
	if w.both {
		w.rec = append(w.rec, b...)
	}
}

func (w *bodyWriter) writeString(s string) {
	n := len(w.sent)
	w.sent = appendString(w.sent, s)
	if w.both {
		w.rec = append(w.rec, w.sent[n:]...)
	}
}

// render returns the body for a request, and the body as recorded: the same
// slice unless the body holds a credential.
func (p *bodyPlan) render(scope *httpScope) (sent, recorded []byte, perr *evals.ProviderError) {
	w := &bodyWriter{sent: make([]byte, 0, p.size+512), both: p.secret}
	if p.secret {
		w.rec = make([]byte, 0, p.size+512)
	}
	if perr := p.write(w, scope); perr != nil {
		return nil, nil, perr
	}
	if !p.secret {
		return w.sent, w.sent, nil
	}
	return w.sent, w.rec, nil
}

func (p *bodyPlan) write(w *bodyWriter, scope *httpScope) *evals.ProviderError {
	for _, s := range p.segs {
		switch {
		case s.secret != nil:
			both := w.both
			w.both = false
			perr := s.secret.write(w, scope)
			w.both = both
			if perr != nil {
				return perr
			}
			if both {
				w.rec = appendString(w.rec, evals.Redacted)
			}
		case s.tmpl != nil:
			text, err := s.tmpl.Render(scope)
			if err != nil {
				return renderError(s.field, err, scope.req)
			}
			if s.asJSON {
				w.write([]byte(text))
			} else {
				w.writeString(text)
			}
		default:
			w.write(s.lit)
		}
	}
	return nil
}

// bodyCompiler compiles a body.
type bodyCompiler struct {
	names   *httpNames
	errs    []error
	secrets []string // the literal values of credentials, for redaction
}

// compileBody compiles raw, a JSON object, checking each template in it.
// Its objects are written with their keys sorted, as every JSON object
// rubric writes (a {{ x | json }} object, the messages); its numbers as
// they are written.
func compileBody(raw json.RawMessage, names *httpNames) (*bodyPlan, []string, []error) {
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return nil, nil, []error{evals.FieldErrorf("body", "expected a JSON object, got %s", clip(string(raw)))}
	}
	c := &bodyCompiler{names: names}
	plan := &bodyPlan{}
	if err := c.value(plan, raw, "body", false); err != nil {
		return nil, nil, []error{evals.FieldErrorf("body", "%v", err)}
	}
	return plan, c.secrets, c.errs
}

// value compiles raw, a valid JSON value, found at field, into p; secret
// says it is (part of) a credential's value.
func (c *bodyCompiler) value(p *bodyPlan, raw json.RawMessage, field string, secret bool) error {
	raw = bytes.TrimSpace(raw)
	switch raw[0] {
	case '{':
		keys, values, err := objectFields(raw)
		if err != nil {
			return err
		}
		slices.Sort(keys)
		p.literal("{")
		for i, key := range keys {
			if i > 0 {
				p.literal(",")
			}
			p.literal(string(appendString(nil, key)) + ":")
			if !secret && evals.SecretName(key) {
				sub := &bodyPlan{}
				if err := c.value(sub, values[key], field+"."+key, true); err != nil {
					return err
				}
				p.segs = append(p.segs, bodySeg{secret: sub})
				p.secret = true
				continue
			}
			if err := c.value(p, values[key], field+"."+key, secret); err != nil {
				return err
			}
		}
		p.literal("}")
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return err
		}
		p.literal("[")
		for i, e := range elems {
			if i > 0 {
				p.literal(",")
			}
			if err := c.value(p, e, field+"."+strconv.Itoa(i), secret); err != nil {
				return err
			}
		}
		p.literal("]")
	case '"':
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		t, err := evals.ParseTemplate(v)
		if err != nil {
			c.errs = append(c.errs, evals.FieldErrorf(field, "%v", err))
			return nil
		}
		if t.Static() {
			text, _ := t.Render(nil) // "\{{" is "{{"
			if secret && text != "" {
				c.secrets = append(c.secrets, text)
			}
			p.literal(string(appendString(nil, text)))
			return nil
		}
		c.errs = append(c.errs, c.names.check(field, t)...)
		filter, single := t.Single()
		p.segs = append(p.segs, bodySeg{tmpl: t, asJSON: single && filter == "json", field: field})
	default: // a number as written, true, false, null
		p.literal(string(raw))
	}
	return nil
}
