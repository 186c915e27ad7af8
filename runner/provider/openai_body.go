package provider

import "github.com/rubric-eval/rubric/runner"

var _ runner.BodyBuilder = (*OpenAI)(nil)

// RequestBody returns the body Complete would send for req, byte for byte,
// without sending anything. It never fails: every part of the body but the
// messages was encoded when the provider was built.
func (p *OpenAI) RequestBody(req *runner.Request) ([]byte, error) {
	// The same steps as Complete; TestOpenAIRequestBodyIsSent compares the
	// two on the wire.
	body := make([]byte, 0, len(p.prefix)+messagesSize(req.Messages)+len(p.suffix))
	body = append(body, p.prefix...)
	body = appendMessages(body, req.Messages)
	body = append(body, p.suffix...)
	return body, nil
}

// SentURL returns the URL requests go to, as recorded in Response.Sent:
// without a password, if the base URL held one.
func (p *OpenAI) SentURL() string { return p.sentURL }
