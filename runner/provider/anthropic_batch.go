package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/rubric-eval/rubric/evals"
)

// anthropicBatch is the Message Batches API of an anthropic target: the
// requests sent as one body (POST {base}/v1/messages/batches), the batch
// polled (GET …/batches/{id}) until it has ended, and its results read
// from its results_url as JSONL.
type anthropicBatch struct {
	*Anthropic
	batches *url.URL // {base}/v1/messages/batches
}

var _ BatchAPI = (*anthropicBatch)(nil)

// Batch returns the target's batch API, nil when it does not set batch.
func (p *Anthropic) Batch() BatchAPI {
	if p.batch == nil {
		return nil
	}
	return p.batch
}

func newAnthropicBatch(p *Anthropic) *anthropicBatch {
	u := *p.endpoint
	u.Path += "/batches"
	u.RawPath = ""
	return &anthropicBatch{Anthropic: p, batches: &u}
}

func (b *anthropicBatch) API() string { return "anthropic" }

func (b *anthropicBatch) Limits() BatchLimits { return AnthropicBatchLimits }

func (b *anthropicBatch) BatchBody(req *evals.Request) (body, recorded []byte, err error) {
	body, recorded, perr := b.body(req)
	if perr != nil {
		return nil, nil, perr
	}
	return body, recorded, nil
}

func (b *anthropicBatch) Size(item BatchItem) int64 {
	return int64(len(`{"custom_id":"","params":},`) + len(item.CustomID) + len(item.Body))
}

func (b *anthropicBatch) Submit(ctx context.Context, items []BatchItem) (string, error) {
	body := []byte(`{"requests":[`)
	for i, it := range items {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"custom_id":`...)
		body = appendString(body, it.CustomID)
		body = append(body, `,"params":`...)
		body = append(body, it.Body...)
		body = append(body, '}')
	}
	body = append(body, "]}"...)
	var o anthropicBatchObject
	if err := b.sendJSON(ctx, http.MethodPost, b.batches, b.header, body, &o); err != nil {
		return "", fmt.Errorf("creating the message batch: %w", err)
	}
	if err := checkID("batch", o.ID); err != nil {
		return "", err
	}
	return o.ID, nil
}

// anthropicBatchObject is the part of a Message Batch that is read.
type anthropicBatchObject struct {
	ID               string `json:"id"`
	ProcessingStatus string `json:"processing_status"`
	RequestCounts    struct {
		Succeeded int `json:"succeeded"`
		Errored   int `json:"errored"`
		Canceled  int `json:"canceled"`
		Expired   int `json:"expired"`
	} `json:"request_counts"`
	ResultsURL string `json:"results_url"`
}

func (b *anthropicBatch) Status(ctx context.Context, id string) (*BatchStatus, error) {
	if err := checkID("batch", id); err != nil {
		return nil, err
	}
	var o anthropicBatchObject
	if err := b.sendJSON(ctx, http.MethodGet, under(b.batches, id), b.header, nil, &o); err != nil {
		return nil, fmt.Errorf("message batch %s: %w", id, err)
	}
	c := o.RequestCounts
	failed := c.Errored + c.Canceled + c.Expired
	st := &BatchStatus{ID: id, State: o.ProcessingStatus, Succeeded: c.Succeeded, Failed: failed}
	switch o.ProcessingStatus {
	case "ended":
		st.Ended = true
	case "in_progress", "canceling":
	default:
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: fmt.Sprintf("message batch %s has the processing_status %q: expected in_progress, canceling or ended", id, clip(o.ProcessingStatus))}
	}
	// The results are read with the API key: from results_url when it is
	// the API's own address, else from where the API documents them.
	results := under(b.batches, id, "results")
	if o.ResultsURL != "" {
		if u, err := url.Parse(o.ResultsURL); err == nil && sameOrigin(u, b.batches) {
			results = u
		}
	}
	st.files = []string{results.String()}
	return st, nil
}

// anthropicBatchLine is a line of a batch's results.
type anthropicBatchLine struct {
	CustomID string `json:"custom_id"`
	Result   *struct {
		Type    string          `json:"type"`
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	} `json:"result"`
}

func (b *anthropicBatch) Results(ctx context.Context, st *BatchStatus, yield func(BatchAnswer) error) error {
	h := b.header.Clone()
	h.Set("Accept", "*/*")
	for _, f := range st.files {
		u, err := url.Parse(f)
		if err != nil {
			return err
		}
		err = b.lines(ctx, u, h, func(line []byte, long bool) error {
			return yield(b.answer(line, long))
		})
		if err != nil {
			return fmt.Errorf("message batch %s: reading its results: %w", st.ID, err)
		}
	}
	return nil
}

// answer reads one line of a batch's results.
func (b *anthropicBatch) answer(line []byte, long bool) BatchAnswer {
	if long {
		return malformed("", fmt.Sprintf("longer than %d MiB", maxResponseBody>>20), line, b.redact)
	}
	var l anthropicBatchLine
	if err := json.Unmarshal(line, &l); err != nil {
		return malformed("", err.Error(), line, b.redact)
	}
	switch {
	case l.CustomID == "":
		return malformed("", "no custom_id", line, b.redact)
	case l.Result == nil:
		return malformed(l.CustomID, "no result", line, b.redact)
	}
	switch l.Result.Type {
	case "succeeded":
		resp, perr := b.decode(l.Result.Message)
		if perr != nil {
			return BatchAnswer{CustomID: l.CustomID, Malformed: true, Reason: "malformed answer: " + perr.Message}
		}
		return BatchAnswer{CustomID: l.CustomID, Response: resp}
	case "errored":
		var e anthropicError
		msg, ok := e.parse(l.Result.Error)
		if !ok {
			msg = snippet(string(l.Result.Error))
		}
		return BatchAnswer{CustomID: l.CustomID, Reason: clip(b.redact("errored: " + msg))}
	case "canceled", "expired":
		return BatchAnswer{CustomID: l.CustomID, Reason: l.Result.Type}
	}
	return malformed(l.CustomID, fmt.Sprintf("result type %q: expected succeeded, errored, canceled or expired", clip(l.Result.Type)), line, b.redact)
}
