package evals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Provider sends one rendered prompt to a model endpoint.
type Provider interface {
	Complete(ctx context.Context, req *Request) (*Response, error)
}

// Request is one prompt for one case, rendered and ready to send.
type Request struct {
	Target   string
	CaseID   string
	Repeat   int
	Messages []Message
	// Params, when set, are generation parameters this request asks for on
	// top of the target's (an LLM judge's temperature 0 and seed): the
	// provider sends each one the target's own params leave unset. Nil for
	// the requests of the targets under test.
	Params *Params
	// Vars are the case's variables, for a provider whose request names
	// them (an http target's body template: {{ ticket }}). Nil for the
	// requests of an LLM judge, which have no case variables of their own.
	Vars map[string]any
	// Tools are the functions the model may call, and ToolChoice OpenAI's
	// tool_choice; nil when the suite has none.
	Tools      []Tool
	ToolChoice json.RawMessage
	// Step is the request's index in its case's conversation: 0 for the
	// first (and only, without tools or turns), 1 for the next, and so on.
	Step int
}

// CaseRequest is the request of a case's single answer from target: msgs,
// rendered from c, sent as its repeat. The pipeline sends it and a batch
// writes it; an answer from a batch is found by this request's body, so
// both build it here.
func CaseRequest(target string, c *Case, repeat int, msgs []Message) *Request {
	return &Request{Target: target, CaseID: c.ID, Repeat: repeat, Messages: msgs, Vars: c.Vars}
}

// Response is what the endpoint answered.
type Response struct {
	Text   string
	Finish string
	Usage  Usage
	// ToolCalls are the tools the model called, in order.
	ToolCalls []ToolCall
	// Sent is the exact request as sent, without secrets.
	Sent *SentRequest
	// Latency, when set, is the latency to record instead of the measured one
	// (a replayed response keeps the latency of the recorded call).
	Latency time.Duration
	// Attempts is how many times the request was sent; 0 means once.
	Attempts int
	// Cached marks a response served from the cache; OriginalLatency is then
	// the latency of the call that was cached.
	Cached          bool
	OriginalLatency time.Duration
	// Batch marks an answer that came from a batch API (batch: true), which
	// bills it at BatchPriceFactor of the live price.
	Batch bool
	// Stream holds the timings of a streamed response; nil when the response
	// came whole.
	Stream *StreamTiming
}

// BodyBuilder is a Provider that can say, without sending anything, the exact
// request body it would send for req. The response cache keys on it.
type BodyBuilder interface {
	RequestBody(req *Request) ([]byte, error)
}

// ProviderError is a failed request, classified for the report and for retries.
type ProviderError struct {
	Kind    string // one of the ErrKind* constants
	Status  int    // HTTP status, when the endpoint answered
	Message string // the server's own message where it gave one
	// Sent is the request that failed, without secrets, when one was sent.
	Sent *SentRequest
	// RetryAfter is the wait the server asked for, zero when it did not say.
	RetryAfter time.Duration
	// Attempts is how many times the request was sent before giving up.
	Attempts int
	Err      error
}

func (e *ProviderError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s %d: %s", e.Kind, e.Status, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *ProviderError) Unwrap() error { return e.Err }

// Retryable reports whether sending the same request again may succeed: not
// when the endpoint was found unreachable (an *UnreachableError).
func (e *ProviderError) Retryable() bool {
	var ue *UnreachableError
	if errors.As(e.Err, &ue) {
		return false
	}
	switch e.Kind {
	case ErrKindTransport, ErrKindTimeout:
		return true
	case ErrKindHTTP:
		return e.Status == 408 || e.Status == 409 || e.Status == 429 || e.Status >= 500
	}
	return false
}

// UnreachableError says that a target's endpoint is not reachable: it has
// never answered, and the first requests sent to it all failed to connect
// (refused, no such host, no route). The provider decorators of
// runner/provider return it, as the Err of a *ProviderError, for every
// request of such a target from then on, without sending it; Run then stops
// sending to the target, records none of those requests, and returns it with
// Target set.
type UnreachableError struct {
	Target   string // the target's name; empty until Run sets it
	Endpoint string // the target's base URL, without a password
	Cause    string // the connection failure: "connection refused"
	Hint     string // what to check: "is the server running?"
	Err      error  // the last connection failure
}

func (e *UnreachableError) Error() string {
	msg := fmt.Sprintf("endpoint %s is not reachable (%s)", e.Endpoint, e.Cause)
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	if e.Target != "" {
		msg = "target " + e.Target + ": " + msg
	}
	return msg
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// AsResultError turns any provider failure into the error recorded in a result.
func AsResultError(err error) *ResultError {
	var pe *ProviderError
	if errors.As(err, &pe) {
		return &ResultError{Kind: pe.Kind, Status: pe.Status, Message: pe.Message}
	}
	if errors.Is(err, context.Canceled) {
		return &ResultError{Kind: ErrKindCanceled, Message: err.Error()}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &ResultError{Kind: ErrKindTimeout, Message: err.Error()}
	}
	return &ResultError{Kind: ErrKindTransport, Message: err.Error()}
}

// Scorer is a criterion, ready to score responses. Score never fails: a
// response the criterion cannot judge gets a Verdict with Unscored set.
type Scorer interface {
	Score(ctx context.Context, in *Input) Verdict
}

// Criterion is a criterion ready to score: its spec and its scorer. A
// scorer that holds resources (processes) is an io.Closer, closed by the
// owner of the suite when the suite ends.
type Criterion struct {
	Spec   CriterionSpec
	Scorer Scorer
}

// Input is what a criterion sees of one result.
type Input struct {
	Case     *Case
	Messages []Message
	Output   string
	// Transcript is the whole conversation, for a case run as one (tools,
	// turns): the prompt, every answer, tool call and tool result. Nil for
	// a single request.
	Transcript []Message
	Response   *Response
	// Target is the target that answered; Latency is the recorded latency
	// of the call (the original one for a cached or replayed response).
	Target  *TargetSpec
	Latency time.Duration
	// Repeat is the result's repeat index, so that the requests a criterion
	// makes (an LLM judge's) are cached per repeat like the response.
	Repeat int
	// SecretEnv names the environment variables holding the secrets of the
	// target that answered (Endpoint.SecretEnv), which no process a
	// criterion starts inherits.
	SecretEnv []string
}

// Scope resolves templates in criterion values for this input: the case's
// variables, expected, and the output.
func (in *Input) Scope() CaseScope {
	return CaseScope{Case: in.Case, Output: in.Output, HasOutput: true, Transcript: in.Transcript}
}

// Verdict is one criterion's judgement of one response.
type Verdict struct {
	Score    float64
	Pass     bool
	Unscored bool
	Reason   string
	// Label, Judge and BLEU are recorded in the result's Score as they
	// are. They are pointers so that verdicts stay comparable.
	Label *Label
	Judge *Judgement
	// BLEU is the counts behind a bleu criterion's score, which the report
	// sums into the criterion's corpus BLEU.
	BLEU *BLEUCounts
	// Calls is a trajectory criterion's counts of tool calls.
	Calls *CallCounts
}

// Embedder is a Provider that can also turn texts into embedding vectors (an
// OpenAI-compatible /embeddings endpoint). An Endpoint's Embedder is set when
// its provider is one.
type Embedder interface {
	Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error)
}

// EmbedRequest asks for the embeddings of texts, for one result.
type EmbedRequest struct {
	Target string
	CaseID string
	Repeat int
	Input  []string
}

// EmbedResponse holds one vector per input text, in the order given.
type EmbedResponse struct {
	Vectors [][]float64
	Usage   Usage
	// Sent is the exact request as sent, without secrets.
	Sent *SentRequest
	// Attempts is how many times the request was sent; 0 means once.
	Attempts int
}

// Sink receives every result as it completes, from a single goroutine.
type Sink interface {
	Write(r *Result) error
}
