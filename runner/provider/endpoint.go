package provider

import (
	"context"
	"io"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/store"
)

// Options say how Endpoint builds a target's endpoint.
type Options struct {
	// Cache opens the response cache, called only when the endpoint uses
	// it (the provider can say what it would send and the target leaves the
	// cache on); nil, or a nil database, means no cache.
	Cache func() *store.DB
	// Limit caps the requests in flight at the target's concurrency. An
	// endpoint the workers of every target call (an LLM judge) needs it;
	// one the pipeline calls from its own workers has that many already.
	Limit bool
	// Retry are options of the retry decorator, for tests.
	Retry []RetryOption
}

// Endpoint builds the endpoint of spec: its provider from the registry,
// behind the decorators spec asks for, composed here and nowhere else (from
// the outside in: cache, a cap on requests in flight, retry, rate limit,
// adaptive concurrency; see Wrap and Cache). The provider's capabilities are
// found once, here.
func Endpoint(spec evals.TargetSpec, opts Options) (*evals.Endpoint, error) {
	base, err := New(spec)
	if err != nil {
		return nil, err
	}
	p := Wrap(base, spec, opts.Retry...)
	if opts.Limit {
		p = &limited{p: p, slots: make(chan struct{}, spec.ConcurrencyOr())}
	}
	if opts.Cache != nil && spec.CacheOr() {
		if _, ok := base.(evals.BodyBuilder); ok {
			if db := opts.Cache(); db != nil {
				p = Cache(p, db, spec)
			}
		}
	}
	ep := &evals.Endpoint{
		Spec:              spec,
		Provider:          p,
		Model:             spec.Model,
		Params:            spec.Params,
		StructuredOutputs: spec.Provider == "openai",
	}
	if spec.APIKeyEnv != "" {
		ep.SecretEnv = []string{spec.APIKeyEnv}
	}
	if e, ok := p.(evals.Embedder); ok && evals.CanEmbed(p) {
		ep.Embedder = e
	}
	if c, ok := base.(io.Closer); ok {
		ep.Closer = c
	}
	return ep, nil
}

// limited caps the requests in flight to p.
type limited struct {
	p     evals.Provider
	slots chan struct{}
}

func (l *limited) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limited) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-l.slots }()
	return l.p.Complete(ctx, req)
}

// Embed sends an embeddings request within the cap.
func (l *limited) Embed(ctx context.Context, req *evals.EmbedRequest) (*evals.EmbedResponse, error) {
	e, ok := l.p.(evals.Embedder)
	if !ok {
		return nil, errNoEmbed
	}
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-l.slots }()
	return e.Embed(ctx, req)
}

// Unwrap returns the provider under the cap.
func (l *limited) Unwrap() evals.Provider { return l.p }
