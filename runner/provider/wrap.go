package provider

import (
	"context"
	"errors"
	"io"

	"github.com/rubric-eval/rubric/evals"
)

// Wrap returns p behind the decorators spec asks for, composed here and
// nowhere else. From the outside in:
//
//	Retry → RateLimit → Adaptive → p
//
// Retry is outermost because each attempt is a request like any other: it
// must wait its turn under the rate limit, and its 429 must reach the
// adaptive limit, which reacts to each attempt and not only to a request's
// final outcome. RateLimit is present when spec.RateLimit sets a rate, and
// Adaptive when it sets adaptive (its ceiling is the target's concurrency).
// maxTokens for the token estimate is params.max_tokens. opts are for tests.
// A response cache belongs outside Retry: a hit sends nothing.
//
// RateLimit admits a request before Adaptive gives it a slot, so requests
// held back by a lowered adaptive limit leave the rate limiter on time and
// may then go out closer together than the rate when slots free up at once;
// the adaptive limit measures the requests on the wire, which is what a 429
// is about. Nor does the rate limiter see the sends http.Transport repeats on
// its own after a reused connection fails (Retry counts them as attempts).
//
// Retry also tracks whether the target's endpoint is reachable (see reach):
// once a target that has never answered is found unreachable, its requests
// fail at once with a *evals.UnreachableError, without being sent. A
// standalone Retry does not track this.
//
// The result closes p when closed (an io.Closer, as cmd closes providers),
// and, when p can build request bodies (evals.BodyBuilder), so can it. It
// and each decorator have an Unwrap() evals.Provider method returning the
// provider it wraps, so that a wrapper outside (the cache) can find p.
func Wrap(p evals.Provider, spec evals.TargetSpec, opts ...RetryOption) evals.Provider {
	inner := p
	rl := spec.RateLimit
	if rl != nil && rl.Adaptive {
		p = Adaptive(p, spec.ConcurrencyOr())
	}
	if rl != nil && (rl.RequestsPerMinute > 0 || rl.TokensPerMinute > 0) {
		maxTokens := 0
		if spec.Params != nil && spec.Params.MaxTokens != nil {
			maxTokens = *spec.Params.MaxTokens
		}
		p = RateLimit(p, rl, maxTokens)
	}
	opts = append([]RetryOption{withReach(newReach(spec))}, opts...)
	w := &wrapped{Provider: Retry(p, spec.Retry, opts...), inner: inner}
	if bb, ok := inner.(evals.BodyBuilder); ok {
		return &wrappedBody{wrapped: w, bb: bb}
	}
	return w
}

// wrapped is the decorated provider, still closable as the inner one was.
type wrapped struct {
	evals.Provider
	inner evals.Provider
}

// Unwrap returns the outermost decorator. Each decorator's Unwrap returns
// the provider it wraps, down to Wrap's p.
func (w *wrapped) Unwrap() evals.Provider { return w.Provider }

// errNoEmbed is what a decorator's Embed returns when the provider it wraps
// has no embeddings endpoint (evals.CanEmbed is false).
var errNoEmbed = errors.New("the target's provider cannot embed texts")

// Embed sends req through the decorators, as Complete does.
func (w *wrapped) Embed(ctx context.Context, req *evals.EmbedRequest) (*evals.EmbedResponse, error) {
	e, ok := w.Provider.(evals.Embedder)
	if !ok {
		return nil, errNoEmbed
	}
	return e.Embed(ctx, req)
}

// Close closes the inner provider, when it can be closed.
func (w *wrapped) Close() error {
	if c, ok := w.inner.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// wrappedBody is wrapped for an inner provider that is a evals.BodyBuilder.
type wrappedBody struct {
	*wrapped
	bb evals.BodyBuilder
}

// RequestBody returns the body the inner provider would send for req.
func (w *wrappedBody) RequestBody(req *evals.Request) ([]byte, error) {
	return w.bb.RequestBody(req)
}

var (
	_ io.Closer         = (*wrapped)(nil)
	_ evals.BodyBuilder = (*wrappedBody)(nil)
	_ evals.Embedder    = (*wrapped)(nil)
)
