package provider

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/store"
)

// Batch APIs: OpenAI's (and Azure's) Files and Batches, Anthropic's Message
// Batches. A target that sets "batch": true sends its requests as batches,
// at half the price, answered within a day: the provider says so by
// returning its BatchAPI from Batch, and Decorate records it in the
// endpoint (evals.Endpoint.Batch). The bodies are those the provider sends
// live, and the answers decode as live ones do, so that a batch answer is
// the answer a live request would have had (usage, tool calls, cost).

// Batcher is a provider that may send its requests as batches.
type Batcher interface {
	// Batch returns the provider's batch API, nil when the target does
	// not set batch.
	Batch() BatchAPI
}

// BatchAPI is one target's batch API. Its methods are safe for concurrent
// use; none of their errors or answers holds the API key.
type BatchAPI interface {
	Cacheable
	// API names the batch API: "openai" (Files and Batches, which azure
	// speaks too) or "anthropic" (Message Batches).
	API() string
	// BatchBody returns the body req is sent with, in a batch as live,
	// and the body as recorded (Cacheable.RequestBody's).
	BatchBody(req *evals.Request) (body, recorded []byte, err error)
	// Limits are what one batch may hold, as the API documents them.
	Limits() BatchLimits
	// Size is the bytes item adds to a batch's input.
	Size(item BatchItem) int64
	// Submit sends items as one batch, within Limits, and returns its id.
	Submit(ctx context.Context, items []BatchItem) (id string, err error)
	// Status returns what the API says of batch id now.
	Status(ctx context.Context, id string) (*BatchStatus, error)
	// Results reads the results of an ended batch, calling yield for each
	// line: an answer, or why a request has none. A line that cannot be
	// read is yielded with Malformed set (and its custom id, when that
	// much could be read).
	Results(ctx context.Context, st *BatchStatus, yield func(BatchAnswer) error) error
}

// BatchItem is one request of a batch: its custom id, unique within the
// batch and matching ^[a-zA-Z0-9_-]{1,64}$, and the body the live API takes.
type BatchItem struct {
	CustomID string
	Body     []byte
}

// BatchLimits are the most one batch may hold: requests, and bytes of input
// (Size summed over the items, and what wraps them).
type BatchLimits struct {
	Requests int
	Bytes    int64
}

// The documented limits: OpenAI's per input file, Anthropic's per batch.
var (
	OpenAIBatchLimits    = BatchLimits{Requests: 50_000, Bytes: 200 << 20}
	AnthropicBatchLimits = BatchLimits{Requests: 100_000, Bytes: 256 << 20}
)

// BatchStatus is a batch as the API last described it.
type BatchStatus struct {
	ID string
	// State is the API's own word: validating, in_progress, finalizing,
	// completed, expired, cancelling, cancelled, failed (openai);
	// in_progress, canceling, ended (anthropic).
	State string
	// Ended says no answer will be added: its results may be read.
	Ended bool
	// Succeeded and Failed count its requests, as far as the API says
	// (Failed: errored, expired or canceled).
	Succeeded, Failed int
	// Error is why the whole batch failed (openai's failed validation).
	Error string

	// files are where the results are: openai's output and error files,
	// anthropic's results URL.
	files []string
}

// BatchAnswer is one line of a batch's results.
type BatchAnswer struct {
	CustomID string
	// Response is the answer, decoded as the live API's; nil when the
	// request has none.
	Response *evals.Response
	// Reason says, when there is no answer, why: "expired", "canceled",
	// "errored: MESSAGE", "malformed line: …".
	Reason    string
	Malformed bool
}

// Answered wraps p, the endpoint of a target whose batches were collected in
// db (keyed as the response cache keys, store.CacheKey): a request a batch
// answered is answered from db, as sent (neither cached nor sent again);
// any other goes to p.
func Answered(p evals.Provider, api BatchAPI, db *store.DB, spec evals.TargetSpec) evals.Provider {
	return &fromBatch{p: p, api: api, db: db, spec: spec}
}

type fromBatch struct {
	p    evals.Provider
	api  BatchAPI
	db   *store.DB
	spec evals.TargetSpec
}

func (a *fromBatch) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	body, err := a.api.RequestBody(req)
	if err != nil {
		return a.p.Complete(ctx, req)
	}
	cr, ok, err := a.db.GetResponse(ctx, BatchKey(a.api, a.spec, body, req.Repeat))
	if err != nil || !ok {
		return a.p.Complete(ctx, req)
	}
	return &evals.Response{
		Text: cr.Text, Finish: cr.Finish, Usage: cr.Usage, ToolCalls: cr.ToolCalls,
		Sent:     &evals.SentRequest{URL: a.api.SentURL(), Body: body},
		Latency:  cr.Latency,
		Attempts: 1,
		Batch:    true,
	}, nil
}

// BatchKey is the key of a request whose recorded body is body: the
// response cache's (store.CacheKey).
func BatchKey(api BatchAPI, spec evals.TargetSpec, body []byte, repeat int) [32]byte {
	return store.CacheKey(spec.Provider, api.BaseURL(), spec.Model, body, repeat)
}

// StoredAnswer is an answer as db keeps it.
func StoredAnswer(r *evals.Response) store.CachedResponse {
	return store.CachedResponse{Text: r.Text, Finish: r.Finish, Usage: r.Usage, Latency: r.Latency, ToolCalls: r.ToolCalls}
}

// batchTimeout bounds one request of a batch API: an upload or a download
// of results may be far larger than an answer.
const batchTimeout = 10 * time.Minute

// sendJSON sends body to u with method and the header h, and decodes the
// JSON of the 2xx answer into v.
func (c *client) sendJSON(ctx context.Context, method string, u *url.URL, h http.Header, body []byte, v any) error {
	sent := &evals.SentRequest{URL: redactedURL(u)}
	rr, perr := c.send(ctx, method, u, h, body, sent)
	if perr != nil {
		return perr
	}
	defer putReader(rr)
	if err := json.Unmarshal(rr.buf.Bytes(), v); err != nil {
		return &evals.ProviderError{Kind: evals.ErrKindDecode, Err: err, Sent: sent,
			Message: c.redact("malformed response: "+err.Error()) + "; " + c.bodySnippet(rr.buf.Bytes())}
	}
	return nil
}

// lines reads the JSONL body of a GET of u, calling yield for each line
// that is not blank; a line longer than maxResponseBody is yielded cut,
// with long set. The read is bounded in time by batchTimeout.
func (c *client) lines(ctx context.Context, u *url.URL, h http.Header, yield func(line []byte, long bool) error) error {
	sent := &evals.SentRequest{URL: redactedURL(u)}
	rctx, cancel := context.WithTimeout(ctx, max(c.timeout, batchTimeout))
	defer cancel()
	resp, err := c.roundTrip(rctx, http.MethodGet, u, h, nil)
	if err != nil {
		return c.failed(ctx, rctx, sent, err, "")
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return c.statusError(resp, b, sent)
	}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		long := false
		if len(line)+len(chunk) > maxResponseBody {
			long = true
		} else {
			line = append(line, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			if long {
				// Skip to the end of the line, keeping what was read.
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = br.ReadSlice('\n')
				}
			} else {
				continue
			}
		}
		if t := bytes.Trim(line, " \t\r\n"); len(t) > 0 {
			if yerr := yield(t, long); yerr != nil {
				return yerr
			}
		}
		line = line[:0]
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return c.failed(ctx, rctx, sent, err, "reading the batch's results: ")
		}
	}
}

// malformed is the answer of a results line that cannot be read.
func malformed(id string, why string, line []byte, redact func(string) string) BatchAnswer {
	return BatchAnswer{CustomID: id, Malformed: true, Reason: "malformed line: " + why + "; " + snippet(redact(string(line)))}
}

// sameOrigin reports whether u has the scheme and host of base: where the
// API key may be sent.
func sameOrigin(u, base *url.URL) bool {
	return u.Scheme == base.Scheme && u.Host == base.Host
}
