package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/rubric-eval/rubric/evals"
)

// AdaptiveLimiter is the Provider Adaptive returns: p behind a limit on the
// requests in flight that backs off when the endpoint throttles.
type AdaptiveLimiter struct {
	p   evals.Provider
	max int

	mu        sync.Mutex
	limit     int
	inFlight  int
	successes int           // successes since the limit last changed or a 429
	epoch     uint64        // incremented by each decrease
	wake      chan struct{} // closed when a slot may have opened; nil when no one waits
}

// Adaptive returns p with at most maxInFlight requests in flight (at least 1), and
// fewer while the endpoint answers 429 (additive increase, multiplicative
// decrease, as TCP does):
//
//   - A 429 halves the limit, down to 1, once per epoch: each request notes the
//     epoch it was sent in, and each decrease begins a new one. The other 429s
//     of the same burst answer requests sent before the decrease, under the
//     old limit, and say nothing about the new one, so they do not halve it
//     again. A 429 resets the count of successes.
//   - After as many successes in a row as the limit, it rises by 1, up to
//     maxInFlight.
//   - Other failures neither count as successes nor reset the count.
//
// When the limit falls below the requests in flight, no request is sent
// until enough have finished. Waiting for a slot ends with ctx, with an error
// of kind canceled when ctx is canceled and of kind rate_limit when its
// deadline passes.
func Adaptive(p evals.Provider, maxInFlight int) *AdaptiveLimiter {
	n := max(1, maxInFlight)
	return &AdaptiveLimiter{p: p, max: n, limit: n}
}

// Limit returns the current limit on requests in flight.
func (a *AdaptiveLimiter) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit
}

// Complete waits for a slot, sends req, and adjusts the limit by the outcome.
func (a *AdaptiveLimiter) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	epoch, err := a.acquire(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := a.p.Complete(ctx, req)
	a.release(epoch, err)
	return resp, err
}

// adaptiveEmbed sends embeddings requests to e within a's limit, which
// completions share.
type adaptiveEmbed struct {
	a *AdaptiveLimiter
	e evals.Embedder
}

// Embed waits for a slot, sends req, and adjusts the limit, like Complete.
func (x adaptiveEmbed) Embed(ctx context.Context, req *evals.EmbedRequest) (*evals.EmbedResponse, error) {
	epoch, err := x.a.acquire(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := x.e.Embed(ctx, req)
	x.a.release(epoch, err)
	return resp, err
}

func (a *AdaptiveLimiter) acquire(ctx context.Context) (uint64, error) {
	for {
		a.mu.Lock()
		if a.inFlight < a.limit {
			a.inFlight++
			epoch := a.epoch
			a.mu.Unlock()
			return epoch, nil
		}
		if a.wake == nil {
			a.wake = make(chan struct{})
		}
		wake, limit := a.wake, a.limit
		a.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, waitError(ctx, fmt.Sprintf("adaptive, %d in flight", limit))
		}
	}
}

func (a *AdaptiveLimiter) release(epoch uint64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inFlight--
	switch {
	case throttled(err):
		a.successes = 0
		if epoch == a.epoch {
			a.limit = max(1, a.limit/2)
			a.epoch++
		}
	case err == nil:
		a.successes++
		if a.successes >= a.limit && a.limit < a.max {
			a.limit++
			a.successes = 0
		}
	}
	if a.wake != nil {
		close(a.wake)
		a.wake = nil
	}
}

// throttled reports whether err is the endpoint's 429.
func throttled(err error) bool {
	var pe *evals.ProviderError
	return errors.As(err, &pe) && pe.Kind == evals.ErrKindHTTP && pe.Status == http.StatusTooManyRequests
}
