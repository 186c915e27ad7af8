package provider

import (
	"github.com/rubric-eval/rubric/evals"
)

// Wrap returns p behind the decorators spec asks for. From the outside in:
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
// When p is Remote, Retry also tracks whether its endpoint is reachable (see
// reach): once a target that has never answered is found unreachable, its
// requests fail at once with a *evals.UnreachableError, without being sent.
// A standalone Retry does not track this.
//
// The result sends chat completions and nothing else: Endpoint composes the
// decorators of a whole endpoint, an Embed chain and the cache among them,
// and says what the provider can do.
func Wrap(p evals.Provider, spec evals.TargetSpec, opts ...RetryOption) evals.Provider {
	return newChain(p, spec, nil, opts).complete
}

// chain is the decorators of one target, composed here and nowhere else:
// the Complete chain around its provider, and the decorators themselves,
// whose state (the target's reachability, its rate limit's buckets, its
// adaptive limit) an Embed chain shares.
type chain struct {
	complete evals.Provider
	retry    *retrier
	limiter  *limiter         // nil when the target sets no rate
	adaptive *AdaptiveLimiter // nil unless the target's rate limit is adaptive
}

// newChain decorates p as Wrap documents; buckets makes the rate limit's
// buckets, nil for LocalBucket.
func newChain(p evals.Provider, spec evals.TargetSpec, buckets Buckets, opts []RetryOption) *chain {
	var tr *reach
	if r, ok := p.(Remote); ok {
		tr = newReach(r.BaseURL(), spec.ConcurrencyOr())
	}
	c := &chain{}
	if rl := spec.RateLimit; rl != nil {
		if rl.Adaptive {
			c.adaptive = Adaptive(p, spec.ConcurrencyOr())
			p = c.adaptive
		}
		if rl.RequestsPerMinute > 0 || rl.TokensPerMinute > 0 {
			maxTokens := 0
			if spec.Params != nil && spec.Params.MaxTokens != nil {
				maxTokens = *spec.Params.MaxTokens
			}
			c.limiter = newLimiter(p, rl, maxTokens, buckets)
			p = c.limiter
		}
	}
	c.retry = newRetrier(p, spec.Retry, append([]RetryOption{withReach(tr)}, opts...))
	c.complete = c.retry
	return c
}

// embedder returns e behind the same decorators as the Complete chain, in
// the same order, sharing their state: an embeddings request waits for the
// same rate limit and slots, and its failures count towards the same
// reachability, as a completion.
func (c *chain) embedder(e evals.Embedder) evals.Embedder {
	if c.adaptive != nil {
		e = adaptiveEmbed{c.adaptive, e}
	}
	if c.limiter != nil {
		e = limiterEmbed{c.limiter, e}
	}
	return retrierEmbed{c.retry, e}
}
