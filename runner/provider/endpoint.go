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
	// it (the provider is Cacheable and the target leaves the cache on);
	// nil, or a nil database, means no cache.
	Cache func() *store.DB
	// Limit caps the requests in flight at the target's concurrency. An
	// endpoint the workers of every target call (an LLM judge) needs it;
	// one the pipeline calls from its own workers has that many already.
	Limit bool
	// Retry are options of the retry decorator, for tests.
	Retry []RetryOption
	// Buckets makes the buckets of the target's rate limit; nil makes
	// LocalBucket's, this process's own.
	Buckets Buckets
	// Env is what the provider reads of its environment when it is built;
	// the zero Env reads the process's.
	Env Env
}

// Decorate returns the endpoint of spec whose provider is base: base behind
// the decorators spec asks for, composed here and nowhere else. From the
// outside in: the response cache, a cap on requests in flight (opts.Limit),
// then Wrap's retry, rate limit and adaptive limit. What base can do besides
// chat completions is found here, once, by the interfaces it implements (see
// Remote, Cacheable, StructuredOutputter, SecretHolder): when it embeds
// (evals.Embedder), the endpoint's Embedder sends embeddings requests through
// the same decorators, sharing their state, but not the cache. The endpoint
// closes base, when base is an io.Closer.
func Decorate(base evals.Provider, spec evals.TargetSpec, opts Options) *evals.Endpoint {
	c := newChain(base, spec, opts.Buckets, opts.Retry)
	var p evals.Provider = c.complete
	var e evals.Embedder
	if be, ok := base.(evals.Embedder); ok {
		e = c.embedder(be)
	}
	if opts.Limit {
		s := make(slots, spec.ConcurrencyOr())
		p = slotted{s, p}
		if e != nil {
			e = slottedEmbed{s, e}
		}
	}
	if cb, ok := base.(Cacheable); ok && opts.Cache != nil && spec.CacheOr() {
		if db := opts.Cache(); db != nil {
			p = Cache(p, cb, db, spec)
		}
	}
	ep := &evals.Endpoint{Spec: spec, Provider: p, Embedder: e, Model: spec.Model, Params: spec.Params}
	if s, ok := base.(StructuredOutputter); ok {
		ep.StructuredOutputs = s.StructuredOutputs()
	}
	if s, ok := base.(SecretHolder); ok {
		ep.SecretEnv = s.SecretEnv()
	}
	if cl, ok := base.(io.Closer); ok {
		ep.Closer = cl
	}
	if b, ok := base.(Batcher); ok {
		if api := b.Batch(); api != nil {
			ep.Batch = api
		}
	}
	return ep
}

// slots caps the requests in flight to an endpoint, completions and
// embeddings together.
type slots chan struct{}

func (s slots) acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s slots) release() { <-s }

// slotted sends completions to p within the cap.
type slotted struct {
	s slots
	p evals.Provider
}

func (l slotted) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	if err := l.s.acquire(ctx); err != nil {
		return nil, err
	}
	defer l.s.release()
	return l.p.Complete(ctx, req)
}

// slottedEmbed sends embeddings requests to e within the cap.
type slottedEmbed struct {
	s slots
	e evals.Embedder
}

func (l slottedEmbed) Embed(ctx context.Context, req *evals.EmbedRequest) (*evals.EmbedResponse, error) {
	if err := l.s.acquire(ctx); err != nil {
		return nil, err
	}
	defer l.s.release()
	return l.e.Embed(ctx, req)
}
