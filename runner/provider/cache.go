package provider

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/store"
)

// Cache wraps p, the decorated Complete chain of the provider c, so that a
// request answered before is answered again from db, without being sent. The
// key is store.CacheKey over the target's provider, c's base URL, the
// target's model, the exact body c would send, and the repeat index, so that
// each repeat of a case gets its own answer; a hit records c's SentURL as
// sent. When c is Routed, the key of its Route stands in for the base URL,
// and a hit records the request's own URL. Only successful responses are
// stored; an error is never cached and the request is sent again next time.
// A request that cannot be rendered (evals.ErrKindRender) fails as it
// would uncached.
//
// Cache belongs outside Wrap's decorators: a hit sends nothing, so it must
// not wait for the rate limiter. Endpoint puts it there when the provider is
// Cacheable (replay's answers, offline already, are not), the target leaves
// the cache on, and there is a database.
//
// The cache never fails a case: when the database cannot be read or written,
// the request is sent as if nothing were cached, and the failure is counted
// (see Cached.Counts). The result is safe for concurrent use.
func Cache(p evals.Provider, c Cacheable, db *store.DB, spec evals.TargetSpec) *Cached {
	cached := &Cached{p: p, body: c, url: c.SentURL(), db: db, provider: spec.Provider, baseURL: c.BaseURL(), model: spec.Model}
	if r, ok := c.(Routed); ok {
		cached.route = r
	}
	return cached
}

// Cached is a provider whose successful responses are kept in a store.DB;
// Cache builds it.
type Cached struct {
	p        evals.Provider
	body     evals.BodyBuilder
	route    Routed // nil when every request goes to url
	url      string // recorded in Sent on a hit
	db       *store.DB
	provider string
	baseURL  string
	model    string

	hits, misses, failures, deduped atomic.Int64
	flight                          singleflight.Group
}

var _ evals.Provider = (*Cached)(nil)

// CacheCounts are what a Cached did, for reports: requests answered from the
// cache, requests sent because they were not cached, requests that shared
// the answer of the same request already in flight, and failures of the
// cache itself (reads and writes that failed, whose requests were sent as if
// nothing were cached).
type CacheCounts struct {
	Hits, Misses, Shared, Errors int64
}

// Counts returns the counts so far.
func (c *Cached) Counts() CacheCounts {
	return CacheCounts{Hits: c.hits.Load(), Misses: c.misses.Load(), Shared: c.deduped.Load(), Errors: c.failures.Load()}
}

// Complete answers from the cache, or sends the request and caches the answer.
func (c *Cached) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	body, err := c.body.RequestBody(req)
	where, url := c.baseURL, c.url
	if err == nil && c.route != nil {
		url, where, err = c.route.Route(req)
	}
	if err != nil {
		// A request that cannot be rendered for this case fails as it
		// would uncached; it is no failure of the cache.
		if pe := (*evals.ProviderError)(nil); errors.As(err, &pe) && pe.Kind == evals.ErrKindRender {
			return nil, err
		}
		c.failures.Add(1)
		return c.p.Complete(ctx, req)
	}
	key := store.CacheKey(c.provider, where, c.model, body, req.Repeat)
	cr, ok, err := c.db.GetResponse(ctx, key)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			c.failures.Add(1)
		}
		return c.p.Complete(ctx, req)
	case ok:
		c.hits.Add(1)
		return &evals.Response{
			Text:            cr.Text,
			Finish:          cr.Finish,
			Usage:           cr.Usage,
			Sent:            &evals.SentRequest{URL: url, Body: body},
			Cached:          true,
			OriginalLatency: cr.Latency,
			// A streamed answer keeps its timings, as it keeps its
			// latency: the figures describe the endpoint, not the cache.
			Stream:    cr.Stream,
			ToolCalls: cr.ToolCalls,
		}, nil
	}
	// The same request in flight already (a duplicate prompt, or two
	// targets of the same model) waits for that one's answer instead of
	// being sent again.
	leader := false // this caller's function ran: it sent the request
	ch := c.flight.DoChan(string(key[:]), func() (any, error) {
		leader = true
		c.misses.Add(1)
		start := time.Now()
		resp, err := c.send(ctx, req, key, body)
		return sent{resp, time.Since(start)}, err
	})
	select {
	case res := <-ch:
		s := res.Val.(sent)
		if leader || res.Err != nil || s.resp == nil {
			return s.resp, res.Err
		}
		c.deduped.Add(1)
		// A caller that did not send gets its own copy, marked as a cache
		// hit: nothing was sent for it.
		cp := *s.resp
		lat := s.resp.Latency
		if lat <= 0 {
			lat = s.elapsed
		}
		cp.Cached, cp.OriginalLatency, cp.Attempts, cp.Latency = true, lat, 0, 0
		return &cp, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sent is a response and how long it took, shared by the callers of one
// request in flight.
type sent struct {
	resp    *evals.Response
	elapsed time.Duration
}

// send sends req, which is not cached, and caches the answer.
func (c *Cached) send(ctx context.Context, req *evals.Request, key [32]byte, body []byte) (*evals.Response, error) {
	start := time.Now()
	resp, err := c.p.Complete(ctx, req)
	elapsed := time.Since(start)
	if err != nil || resp.Cached {
		return resp, err
	}

	// Store only what is known to have been sent under this key.
	if resp.Sent != nil && !bytes.Equal(resp.Sent.Body, body) {
		c.failures.Add(1)
		return resp, nil
	}
	latency := resp.Latency
	if latency <= 0 {
		latency = elapsed
	}
	err = c.db.PutResponse(ctx, key, store.CachedResponse{
		Text:      resp.Text,
		Finish:    resp.Finish,
		Usage:     resp.Usage,
		Latency:   latency,
		Stream:    resp.Stream,
		ToolCalls: resp.ToolCalls,
	})
	if err != nil {
		c.failures.Add(1)
	}
	return resp, nil
}
