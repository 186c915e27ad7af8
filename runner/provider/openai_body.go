package provider

import (
	"errors"
	"reflect"

	"github.com/rubric-eval/rubric/evals"
)

var _ evals.BodyBuilder = (*OpenAI)(nil)

// RequestBody returns the body Complete would record as sent for req (its
// Response.Sent.Body), without sending anything: the bytes it sends, byte for
// byte, but for the values of extra_body keys that name a credential, which
// are [REDACTED]. It never fails: every part of the body but the messages was
// encoded when the provider was built.
func (p *OpenAI) RequestBody(req *evals.Request) ([]byte, error) {
	// Complete sends what body returns; TestOpenAIRequestBodyIsSent compares
	// the two on the wire.
	_, recorded, err := p.body(req)
	if err != nil {
		return nil, err
	}
	return recorded, nil
}

// body returns the request body for req, and the body as recorded: the
// same slice, unless extra_body holds a credential. The request's tools,
// when it has any, follow the messages (appendTools); a request without
// them costs nothing more than before they existed.
func (p *OpenAI) body(req *evals.Request) (body, recorded []byte, perr *evals.ProviderError) {
	suffix, recSuffix := p.suffix, p.recSuffix
	if req.Params != nil {
		merged := mergeParams(p.params, req.Params)
		var errs []error
		if suffix, errs = bodyTail(merged, p.extra, p.stream); len(errs) > 0 {
			return nil, nil, &evals.ProviderError{Kind: evals.ErrKindRender, Err: errors.Join(errs...),
				Message: "the request's params: " + errors.Join(errs...).Error()}
		}
		if p.recExtra != nil {
			recSuffix, _ = bodyTail(merged, p.recExtra, p.stream)
		}
	}
	size := len(p.prefix) + messagesSize(req.Messages) + len(suffix)
	if len(req.Tools) > 0 {
		size += toolsSize(req.Tools, req.ToolChoice)
	}
	body = make([]byte, 0, size)
	body = append(body, p.prefix...)
	body = appendMessages(body, req.Messages)
	if len(req.Tools) > 0 {
		var err error
		if body, err = appendTools(body, req.Tools, req.ToolChoice); err != nil {
			return nil, nil, &evals.ProviderError{Kind: evals.ErrKindRender, Err: err, Message: "the request's tools: " + err.Error()}
		}
	}
	head := len(body)
	body = append(body, suffix...)
	if recSuffix == nil {
		return body, body, nil
	}
	recorded = append(body[:head:head], recSuffix...)
	return body, recorded, nil
}

// mergeParams returns target's params with each field it leaves unset taken
// from req: the target's own settings win.
func mergeParams(target, req *evals.Params) *evals.Params {
	out := *req
	if target == nil {
		return &out
	}
	tv, ov := reflect.ValueOf(target).Elem(), reflect.ValueOf(&out).Elem()
	for i := range tv.NumField() {
		if f := tv.Field(i); !f.IsZero() {
			ov.Field(i).Set(f)
		}
	}
	return &out
}

// SentURL returns the URL requests go to, as recorded in Response.Sent:
// without a password, if the base URL held one.
func (p *OpenAI) SentURL() string { return p.sentURL }
