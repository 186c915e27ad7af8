package provider

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptrace"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// Retry defaults, as evals.RetrySpec and the schema document them.
const (
	DefaultAttempts  = 4
	DefaultMaxWait   = 2 * time.Minute
	DefaultBaseDelay = 500 * time.Millisecond
	DefaultMaxDelay  = 30 * time.Second
)

// retryAfterJitter is the most added to a wait the server asked for, as a
// fraction of it: requests throttled together are told the same wait, and
// would otherwise all come back at the same instant. A server's wait is never
// shortened.
const retryAfterJitter = 10 // percent

// RetryOption changes how Retry waits, for tests.
type RetryOption func(*retrier)

// RetrySleep replaces the wait between attempts. sleep must return ctx's
// error, promptly, when ctx ends first. A test can record the waits asked for
// and return at once (restic's retry.TestFastRetries does the same).
func RetrySleep(sleep func(ctx context.Context, d time.Duration) error) RetryOption {
	return func(r *retrier) { r.sleep = sleep }
}

// RetryRandom replaces the source of jitter: int64n(n) returns a number in
// [0, n), for n > 0. It must be safe for concurrent use.
func RetryRandom(int64n func(n int64) int64) RetryOption {
	return func(r *retrier) { r.int64n = int64n }
}

// RetryClock replaces the clock against which a context's deadline is
// checked before a wait.
func RetryClock(now func() time.Time) RetryOption {
	return func(r *retrier) { r.now = now }
}

// withReach has Retry stop sending to a target t finds unreachable.
func withReach(t *reach) RetryOption {
	return func(r *retrier) { r.reach = t }
}

// retrier is the Provider Retry returns. It holds no state between requests
// but what reach shares, so it is as safe for concurrent use as the provider
// it wraps.
type retrier struct {
	p        evals.Provider
	attempts int
	maxWait  time.Duration
	base     time.Duration
	maxDelay time.Duration
	statuses []int // nil: 408, 409, 429 and every 5xx
	sleep    func(ctx context.Context, d time.Duration) error
	int64n   func(n int64) int64
	now      func() time.Time
	reach    *reach // nil unless Wrap tracks the target's reachability
}

// Retry returns p with failed requests sent again as spec says; a nil spec,
// and each field left at zero, take the defaults (4 attempts, max_wait 2m,
// base_delay 500ms, max_delay 30s, statuses 408, 409, 429 and 5xx).
//
// A *evals.ProviderError of kind transport or timeout is retried, and one of
// kind http_status when its status is listed; nothing else is: not the run's
// cancellation, not a decode error (a 200 whose body is not a completion is
// the server's answer, and sending again costs as much as the first try),
// not a replay error, not another 4xx, and not an error of any other type.
//
// The wait before retry n (n = 0 for the first) is drawn at random from
// [0, min(max_delay, base_delay·2ⁿ)) ("full jitter"). When the server said
// how long to wait (Retry-After, Retry-After-Ms), the wait is that plus up to
// 10% more, even beyond max_delay, since a server that is asked again too soon
// only fails again. The waits of one request together stay within max_wait:
// when the next one would not fit, or would pass ctx's deadline, Retry gives
// up at once and returns the last error, its message saying after how many
// attempts and why. A server's wait that fits but whose jitter does not is cut
// to fit. Waits end when ctx does, with an error of kind canceled that wraps
// ctx's error.
//
// Attempts, on the response and on the final error, counts the requests
// sent: http.Transport sends a request again on its own when a reused
// keep-alive connection fails before any answer (as it may for the openai
// provider, whose requests carry an Idempotency-Key); each connection the
// transport takes for the request counts, and counts against spec.Attempts
// (one the server had already closed counts too, though it never saw that
// send). A call of p that got no connection (refused, or a provider that is
// not HTTP) counts as one.
//
// Behind Wrap, Retry stops early for a target whose endpoint is not
// reachable: a request of a target reach has declared unreachable is not
// sent, and one whose send or last attempt declares it so stops there; each
// fails with a *evals.ProviderError of kind transport wrapping the
// *evals.UnreachableError, which is not retryable.
func Retry(p evals.Provider, spec *evals.RetrySpec, opts ...RetryOption) evals.Provider {
	return newRetrier(p, spec, opts)
}

// newRetrier is Retry's result, as its type.
func newRetrier(p evals.Provider, spec *evals.RetrySpec, opts []RetryOption) *retrier {
	r := &retrier{
		p:        p,
		attempts: DefaultAttempts,
		maxWait:  DefaultMaxWait,
		base:     DefaultBaseDelay,
		maxDelay: DefaultMaxDelay,
		sleep:    Sleep,
		int64n:   rand.Int64N,
		now:      time.Now,
	}
	if spec != nil {
		if spec.Attempts > 0 {
			r.attempts = spec.Attempts
		}
		if spec.MaxWait > 0 {
			r.maxWait = time.Duration(spec.MaxWait)
		}
		if spec.BaseDelay > 0 {
			r.base = time.Duration(spec.BaseDelay)
		}
		if spec.MaxDelay > 0 {
			r.maxDelay = time.Duration(spec.MaxDelay)
		}
		if len(spec.Statuses) > 0 {
			r.statuses = slices.Clone(spec.Statuses)
		}
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Complete sends req until it succeeds, fails for good, or the attempts or
// the waiting budget run out.
func (r *retrier) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	var resp *evals.Response
	sent, err := r.do(ctx, func(ctx context.Context) (err error) {
		resp, err = r.p.Complete(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := *resp // the provider's response may be shared (replay)
	out.Attempts = sent
	return &out, nil
}

// retrierEmbed sends embeddings requests to e as r sends completions:
// retried the same way, and counting towards the same reachability.
type retrierEmbed struct {
	r *retrier
	e evals.Embedder
}

func (x retrierEmbed) Embed(ctx context.Context, req *evals.EmbedRequest) (*evals.EmbedResponse, error) {
	var resp *evals.EmbedResponse
	sent, err := x.r.do(ctx, func(ctx context.Context) (err error) {
		resp, err = x.e.Embed(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := *resp
	out.Attempts = sent
	return &out, nil
}

// do calls call until it succeeds, fails for good, or the attempts or the
// waiting budget run out, and returns how many times the request was sent.
func (r *retrier) do(ctx context.Context, call func(context.Context) error) (int, error) {
	sent := 0
	var waited time.Duration
	for retry := 0; ; retry++ {
		if err := r.reach.before(sent); err != nil {
			return sent, err
		}
		writes, err := r.send(ctx, call)
		sent += writes
		err = r.reach.after(err, sent)
		if err == nil {
			return sent, nil
		}
		var pe *evals.ProviderError
		if !errors.As(err, &pe) {
			return sent, err
		}
		last := *pe
		last.Attempts = sent
		if !r.retryable(&last) || ctx.Err() != nil {
			return sent, &last
		}
		if sent >= r.attempts {
			return sent, r.giveUp(&last, "")
		}
		wait := r.backoff(retry, last.RetryAfter)
		if left := r.maxWait - waited; wait > left {
			if last.RetryAfter == 0 || last.RetryAfter > left {
				return sent, r.giveUp(&last, r.overBudget(wait, left))
			}
			wait = left // the server's wait fits; its jitter is cut
		}
		if deadline, ok := ctx.Deadline(); ok && r.now().Add(wait).After(deadline) {
			return sent, r.giveUp(&last, fmt.Sprintf(" (waiting %v more would pass the deadline)", wait))
		}
		if err := r.sleep(ctx, wait); err != nil {
			return sent, &evals.ProviderError{
				Kind:     evals.ErrKindCanceled,
				Message:  fmt.Sprintf("canceled while waiting to retry after %s (%s)", attempts(sent), last.Error()),
				Sent:     last.Sent,
				Attempts: sent,
				Err:      ctxErr(ctx, err),
			}
		}
		waited += wait
	}
}

// send makes one call and returns how many times it sent the request, at
// least 1.
func (r *retrier) send(ctx context.Context, call func(context.Context) error) (int, error) {
	// Each connection http.Transport takes for the request is one send.
	// GotConn is called on the caller's goroutine, before the round trip
	// returns; WroteRequest, called by the transport's writer, may come
	// after, and so miss the count.
	var sends atomic.Int32
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { sends.Add(1) },
	})
	err := call(ctx)
	return max(1, int(sends.Load())), err
}

// retryable reports whether sending again may succeed.
func (r *retrier) retryable(e *evals.ProviderError) bool {
	if r.statuses == nil || e.Kind != evals.ErrKindHTTP {
		return e.Retryable()
	}
	return slices.Contains(r.statuses, e.Status)
}

// backoff returns the wait before retry n (0 for the first).
func (r *retrier) backoff(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter + r.rand(retryAfter*retryAfterJitter/100)
	}
	ceiling := r.maxDelay
	if n < 63 {
		if d := r.base << n; d > 0 && d>>n == r.base && d < ceiling {
			ceiling = d
		}
	}
	return r.rand(ceiling)
}

// rand returns a duration in [0, d), or 0 when d is not positive.
func (r *retrier) rand(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(r.int64n(int64(d)))
}

// giveUp says in the last error's message that no more attempts are made, and
// why, unless retries are off; or returns the unreachable error when the
// request never connected to a target that has never answered.
func (r *retrier) giveUp(last *evals.ProviderError, why string) *evals.ProviderError {
	if u := r.reach.gaveUp(last); u != nil {
		return u
	}
	if r.attempts > 1 {
		last.Message = fmt.Sprintf("gave up after %s%s: %s", attempts(last.Attempts), why, last.Message)
	}
	return last
}

func (r *retrier) overBudget(wait, left time.Duration) string {
	if left == r.maxWait {
		return fmt.Sprintf(" (the next wait, %v, is longer than max_wait %v)", wait, r.maxWait)
	}
	return fmt.Sprintf(" (the next wait, %v, is longer than the %v left of max_wait %v)", wait, left, r.maxWait)
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// Sleep waits for d or until ctx ends, and returns ctx's error if it ends
// first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ctxErr returns err if it already is ctx's error, or ctx's error when ctx has
// ended, so that errors.Is finds context.Canceled; otherwise err.
func ctxErr(ctx context.Context, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() == nil {
		return err
	}
	return ctx.Err()
}
