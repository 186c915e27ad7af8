package provider

import (
	"errors"
	"reflect"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
)

var _ runner.BodyBuilder = (*OpenAI)(nil)

// RequestBody returns the body Complete would send for req, byte for byte,
// without sending anything. It never fails: every part of the body but the
// messages was encoded when the provider was built.
func (p *OpenAI) RequestBody(req *runner.Request) ([]byte, error) {
	// Complete sends what body returns; TestOpenAIRequestBodyIsSent compares
	// the two on the wire.
	b, err := p.body(req)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// body returns the request body for req.
func (p *OpenAI) body(req *runner.Request) ([]byte, *runner.ProviderError) {
	suffix := p.suffix
	if req.Params != nil {
		var errs []error
		if suffix, errs = bodySuffix(mergeParams(p.params, req.Params), p.extra); len(errs) > 0 {
			return nil, &runner.ProviderError{Kind: evals.ErrKindRender, Err: errors.Join(errs...),
				Message: "the request's params: " + errors.Join(errs...).Error()}
		}
	}
	body := make([]byte, 0, len(p.prefix)+messagesSize(req.Messages)+len(suffix))
	body = append(body, p.prefix...)
	body = appendMessages(body, req.Messages)
	return append(body, suffix...), nil
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
