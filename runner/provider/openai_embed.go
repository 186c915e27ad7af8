package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/rubric-eval/rubric/evals"
)

var _ evals.Embedder = (*OpenAI)(nil)

// Embed sends texts to the OpenAI-compatible embeddings endpoint next to the
// chat completions one ({base_url}/embeddings), with the target's model and
// extra_body (its params are for completions and are not sent). The vectors
// come back in the order of req.Input, whatever order the server lists them
// in; a response without exactly one vector per text is a decode error.
func (p *OpenAI) Embed(ctx context.Context, req *evals.EmbedRequest) (*evals.EmbedResponse, error) {
	if ctx.Err() != nil {
		return nil, canceledError(ctx, nil, "canceled before the request was sent")
	}
	body, err := p.embedBody(req, p.extra)
	if err != nil {
		return nil, err
	}
	sent := &evals.SentRequest{URL: p.embedSent, Body: body}
	if p.recExtra != nil {
		sent.Body, _ = p.embedBody(req, p.recExtra)
	}
	rr, perr := p.send(ctx, http.MethodPost, p.embedURL, p.embedHeader, body, sent)
	if perr != nil {
		return nil, perr
	}
	defer putReader(rr)
	out, perr := p.decodeEmbeddings(rr.buf.Bytes(), len(req.Input))
	if perr != nil {
		perr = rr.cutShort(perr)
		perr.Sent = sent
		return nil, perr
	}
	out.Sent = sent
	return out, nil
}

// embedBody returns {"model":…,"input":[…], and extra's keys}, without
// the model when the provider does not send it.
func (p *OpenAI) embedBody(req *evals.EmbedRequest, extra map[string]any) ([]byte, *evals.ProviderError) {
	suffix, errs := bodySuffix(nil, extra)
	if len(errs) > 0 { // NewOpenAI checked extra_body already
		return nil, &evals.ProviderError{Kind: evals.ErrKindRender, Message: "extra_body: " + errs[0].Error()}
	}
	n := len(`{"model":,"input":[]`) + len(p.model) + 2 + len(suffix)
	for _, s := range req.Input {
		n += len(s) + len(s)/16 + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	if p.sendModel {
		b = append(b, `"model":`...)
		b = appendString(b, p.model)
		b = append(b, ',')
	}
	b = append(b, `"input":[`...)
	for i, s := range req.Input {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	b = append(b, ']')
	return append(b, suffix...), nil
}

// embeddingsResponse is the part of an embeddings response that is read.
type embeddingsResponse struct {
	Data []struct {
		Embedding []float64 `json:"embedding"`
		Index     *int      `json:"index"`
	} `json:"data"`
	Usage usageJSON       `json:"usage"`
	Error json.RawMessage `json:"error"`
}

func (p *OpenAI) decodeEmbeddings(b []byte, n int) (*evals.EmbedResponse, *evals.ProviderError) {
	er := embeddingsResponse{Usage: newUsage()}
	if err := json.Unmarshal(b, &er); err != nil {
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode, Err: err,
			Message: p.redact("malformed embeddings response: "+err.Error()) + "; " + p.bodySnippet(b)}
	}
	if len(er.Data) != n {
		msg := fmt.Sprintf("embeddings response has %d vectors for %d texts", len(er.Data), n)
		if len(er.Data) == 0 && len(er.Error) > 0 && string(er.Error) != "null" {
			if m := serverMessage(b); m != "" {
				return nil, &evals.ProviderError{Kind: evals.ErrKindDecode, Message: msg + "; the server said: " + clip(p.redact(m))}
			}
		}
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode, Message: msg + "; " + p.bodySnippet(b)}
	}
	vecs := make([][]float64, n)
	for i, d := range er.Data {
		at := i
		if d.Index != nil {
			at = *d.Index
		}
		if at < 0 || at >= n || vecs[at] != nil {
			return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
				Message: fmt.Sprintf("embeddings response: data[%d] has index %d, expected each of 0 to %d once", i, at, n-1)}
		}
		if d.Embedding == nil {
			return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
				Message: fmt.Sprintf("embeddings response: data[%d] has no embedding", i)}
		}
		vecs[at] = d.Embedding
	}
	return &evals.EmbedResponse{Vectors: vecs, Usage: er.Usage.usage()}, nil
}
