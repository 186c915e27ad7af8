package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	// golang.org/x/time/rate is the Go team's token bucket, made for exactly
	// this, well kept and free of dependencies: it hands out reservations in
	// order, waits on ctx, and fails at once a wait that would pass ctx's
	// deadline.
	"golang.org/x/time/rate"

	"github.com/rubric-eval/rubric/evals"
)

// DefaultCompletionTokens is the completion a token estimate expects when the
// target sets no max_tokens and no response has reported usage yet.
const DefaultCompletionTokens = 256

// limiter is the Provider RateLimit returns.
type limiter struct {
	p         evals.Provider
	requests  Bucket // nil: no request limit
	tokens    Bucket // nil: no token limit
	spec      evals.RateLimitSpec
	maxTokens int

	mu          sync.Mutex
	completions int64 // completion tokens reported, summed
	responses   int64 // responses that reported usage
}

// RateLimit returns p with what it sends capped by spec's rates; it returns p
// itself when spec sets neither. maxTokens is the target's max_tokens, 0 when
// unset. Each call of Complete is one request: put RateLimit inside Retry, so
// that every attempt is counted.
//
// requests_per_minute spaces requests evenly, 60/rpm seconds apart (a token
// bucket with a burst of 1): no window of a minute, from the first request
// on, holds more than rpm of them (rounded up).
//
// tokens_per_minute charges each request, before it is sent, with an
// estimate: its messages' characters / 4, rounded up, plus 4 per message,
// plus the completion expected, which is maxTokens when set, otherwise the
// mean completion the endpoint has reported so far (256 until it has). The
// bucket holds one second's tokens (tpm/60, at least 1), so an idle limiter
// lets at most that much through at once. A request estimated at more than
// that waits for a full bucket and books the rest as debt, which the requests
// after it wait off. When the response reports more tokens than the estimate,
// the difference is booked as debt the same way; an estimate above what was
// used is not refunded, erring on the side of the endpoint's limit.
//
// The token wait comes first and the request wait last, so that requests go
// out spaced as requests_per_minute says however long the token wait was.
// A wait ends with ctx: when ctx is canceled the error is of kind canceled
// and wraps context.Canceled; when ctx's deadline comes first (or would, so
// that the wait is not even begun) it is of kind rate_limit and wraps
// context.DeadlineExceeded. Tokens already taken by a wait that fails are not
// given back.
func RateLimit(p evals.Provider, spec *evals.RateLimitSpec, maxTokens int) evals.Provider {
	if spec == nil || spec.RequestsPerMinute <= 0 && spec.TokensPerMinute <= 0 {
		return p
	}
	return newLimiter(p, spec, maxTokens, nil)
}

// newLimiter is RateLimit's result, as its type, for a spec that sets a
// rate; buckets makes its buckets, nil for LocalBucket.
func newLimiter(p evals.Provider, spec *evals.RateLimitSpec, maxTokens int, buckets Buckets) *limiter {
	if buckets == nil {
		buckets = LocalBucket
	}
	l := &limiter{p: p, spec: *spec, maxTokens: maxTokens}
	if rpm := spec.RequestsPerMinute; rpm > 0 {
		l.requests = buckets(RateRequests, rpm/60, 1)
	}
	if tpm := spec.TokensPerMinute; tpm > 0 {
		l.tokens = buckets(RateTokens, tpm/60, tokenBurst(tpm))
	}
	return l
}

// Bucket is a token bucket a rate limit takes its turns from: LocalBucket,
// in this process, or one that several processes share (runner/queue's, in
// PostgreSQL), which then holds the rate across all of them.
type Bucket interface {
	// WaitN takes n units (at most Burst) and waits until the rate allows
	// them. It fails at once when ctx's deadline would pass first, and
	// when ctx ends; what it took is not given back.
	WaitN(ctx context.Context, n int) error
	// Book takes n units at once, without waiting: a debt that later
	// waits pay off.
	Book(ctx context.Context, n int)
	// Burst is the most the bucket holds.
	Burst() int
}

// Buckets makes the bucket of one of a target's rates: rate is
// RateRequests or RateTokens, perSecond its rate and burst the bucket's
// size.
type Buckets func(rate string, perSecond float64, burst int) Bucket

// The rates of a rate_limit, as Buckets names them.
const (
	RateRequests = "requests"
	RateTokens   = "tokens"
)

// LocalBucket is a bucket of this process (golang.org/x/time/rate's).
func LocalBucket(_ string, perSecond float64, burst int) Bucket {
	return localBucket{rate.NewLimiter(rate.Limit(perSecond), burst)}
}

type localBucket struct{ *rate.Limiter }

// Book reserves n now; a reservation may not exceed the burst, so a large
// debt is booked in burst-sized parts.
func (b localBucket) Book(_ context.Context, n int) {
	burst := b.Limiter.Burst()
	now := time.Now()
	for n > 0 {
		part := min(n, burst)
		b.ReserveN(now, part)
		n -= part
	}
}

// tokenBurst is one second's tokens, at least 1.
func tokenBurst(tpm float64) int {
	return int(max(1, math.Min(math.Ceil(tpm/60), math.MaxInt32)))
}

// Complete waits until the limits admit req, sends it, and books any tokens
// the response used beyond the estimate.
func (l *limiter) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	estimate := 0
	if l.tokens != nil {
		estimate = l.estimate(req)
	}
	if err := l.admit(ctx, estimate); err != nil {
		return nil, err
	}
	resp, err := l.p.Complete(ctx, req)
	if err != nil || l.tokens == nil {
		return resp, err
	}
	if used, ok := l.observe(resp.Usage); ok {
		l.tokens.Book(ctx, used-estimate)
	}
	return resp, nil
}

// limiterEmbed sends embeddings requests to e under l's limits, which
// completions share.
type limiterEmbed struct {
	l *limiter
	e evals.Embedder
}

// Embed waits until the limits admit req, like Complete; its tokens are
// estimated as its texts' characters / 4, with no completion.
func (x limiterEmbed) Embed(ctx context.Context, req *evals.EmbedRequest) (*evals.EmbedResponse, error) {
	l := x.l
	estimate := 0
	if l.tokens != nil {
		chars := 0
		for _, s := range req.Input {
			chars += utf8.RuneCountInString(s)
		}
		estimate = (chars + 3) / 4
	}
	if err := l.admit(ctx, estimate); err != nil {
		return nil, err
	}
	resp, err := x.e.Embed(ctx, req)
	if err != nil || l.tokens == nil {
		return resp, err
	}
	if used := resp.Usage.TotalTokens; used > 0 {
		l.tokens.Book(ctx, used-estimate)
	}
	return resp, nil
}

// admit waits until the token bucket has room for estimate tokens (booking
// the part beyond its burst as debt) and then the request limit admits one.
func (l *limiter) admit(ctx context.Context, estimate int) error {
	if l.tokens != nil {
		burst := l.tokens.Burst()
		if err := l.tokens.WaitN(ctx, min(estimate, burst)); err != nil {
			return waitError(ctx, fmt.Sprintf("%v tokens per minute", l.spec.TokensPerMinute))
		}
		l.tokens.Book(ctx, estimate-burst)
	}
	if l.requests != nil {
		if err := l.requests.WaitN(ctx, 1); err != nil {
			return waitError(ctx, fmt.Sprintf("%v requests per minute", l.spec.RequestsPerMinute))
		}
	}
	return nil
}

// estimate returns the tokens req is expected to use, prompt and completion.
func (l *limiter) estimate(req *evals.Request) int {
	chars := 0
	for _, m := range req.Messages {
		chars += utf8.RuneCountInString(m.Content)
	}
	return (chars+3)/4 + 4*len(req.Messages) + l.expectedCompletion()
}

// expectedCompletion returns max_tokens, or the mean completion reported so
// far rounded up, or DefaultCompletionTokens.
func (l *limiter) expectedCompletion() int {
	if l.maxTokens > 0 {
		return l.maxTokens
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.responses == 0 {
		return DefaultCompletionTokens
	}
	return int((l.completions + l.responses - 1) / l.responses)
}

// observe records a response's completion tokens and returns the total it
// used; ok is false when the endpoint reported no usage.
func (l *limiter) observe(u evals.Usage) (used int, ok bool) {
	if u.PromptTokens <= 0 && u.CompletionTokens <= 0 && u.TotalTokens <= 0 {
		return 0, false
	}
	l.mu.Lock()
	l.completions += int64(max(0, u.CompletionTokens))
	l.responses++
	l.mu.Unlock()
	used = u.TotalTokens
	if used <= 0 {
		used = u.PromptTokens + u.CompletionTokens
	}
	return used, true
}

// waitError describes a wait for admission cut short by ctx: of kind
// canceled when ctx was canceled, else of kind rate_limit (ctx's deadline
// has passed, or would have before the wait ended).
func waitError(ctx context.Context, limit string) *evals.ProviderError {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
		return &evals.ProviderError{Kind: evals.ErrKindCanceled, Err: cerr,
			Message: "canceled while waiting for the rate limit (" + limit + ")"}
	}
	return &evals.ProviderError{Kind: evals.ErrKindRateLimit, Err: context.DeadlineExceeded,
		Message: "the rate limit (" + limit + ") would not admit the request before the deadline"}
}
