package provider

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// layers returns the decorators from the outside in, and the provider inside.
func layers(t *testing.T, p evals.Provider) (names []string, inner evals.Provider) {
	t.Helper()
	for {
		switch d := p.(type) {
		case *retrier:
			names = append(names, "retry")
			p = d.p
		case *limiter:
			names = append(names, "ratelimit")
			p = d.p
		case *AdaptiveLimiter:
			names = append(names, "adaptive")
			p = d.p
		default:
			return names, p
		}
	}
}

func TestWrapOrder(t *testing.T) {
	inner := &evalstest.Provider{}
	tests := []struct {
		name string
		rl   *evals.RateLimitSpec
		want string
	}{
		{"no rate limit", nil, "[retry]"},
		{"empty rate limit", &evals.RateLimitSpec{}, "[retry]"},
		{"requests per minute", &evals.RateLimitSpec{RequestsPerMinute: 60}, "[retry ratelimit]"},
		{"tokens per minute", &evals.RateLimitSpec{TokensPerMinute: 6000}, "[retry ratelimit]"},
		{"adaptive alone", &evals.RateLimitSpec{Adaptive: true}, "[retry adaptive]"},
		{"all", &evals.RateLimitSpec{RequestsPerMinute: 60, Adaptive: true}, "[retry ratelimit adaptive]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, got := layers(t, Wrap(inner, evals.TargetSpec{RateLimit: tt.rl}))
			if s := "[" + strings.Join(names, " ") + "]"; s != tt.want || got != evals.Provider(inner) {
				t.Errorf("layers %s around %T, want %s around the provider", s, got, tt.want)
			}
		})
	}
}

func TestWrapSettings(t *testing.T) {
	spec := evals.TargetSpec{
		Concurrency: 12,
		Params:      &evals.Params{MaxTokens: ptr(300)},
		Retry:       &evals.RetrySpec{Attempts: 7},
		RateLimit:   &evals.RateLimitSpec{TokensPerMinute: 6000, Adaptive: true},
	}
	r := Wrap(&evalstest.Provider{}, spec).(*retrier)
	l := r.p.(*limiter)
	a := l.p.(*AdaptiveLimiter)
	if r.attempts != 7 || l.maxTokens != 300 || a.Limit() != 12 {
		t.Errorf("attempts %d, max_tokens %d, adaptive limit %d; want 7, 300, 12", r.attempts, l.maxTokens, a.Limit())
	}
	if l := Wrap(&evalstest.Provider{}, evals.TargetSpec{RateLimit: &evals.RateLimitSpec{TokensPerMinute: 1}, Params: &evals.Params{}}).(*retrier).p.(*limiter); l.maxTokens != 0 {
		t.Errorf("max_tokens %d without params.max_tokens, want 0", l.maxTokens)
	}
	if a := Wrap(&evalstest.Provider{}, evals.TargetSpec{RateLimit: &evals.RateLimitSpec{Adaptive: true}}).(*retrier).p.(*AdaptiveLimiter); a.Limit() != evals.DefaultConcurrency {
		t.Errorf("adaptive limit %d without concurrency, want the default %d", a.Limit(), evals.DefaultConcurrency)
	}
}

// TestWrapRetriesAreRateLimited checks the order by its effect: each attempt
// waits its turn under the rate limit, and each attempt's 429 lowers the
// adaptive limit.
func TestWrapRetriesAreRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := script(throttle, throttle, nil)
		spec := evals.TargetSpec{Concurrency: 8, RateLimit: &evals.RateLimitSpec{RequestsPerMinute: 60, Adaptive: true}}
		w := Wrap(p, spec, RetrySleep(func(ctx context.Context, d time.Duration) error { return nil }))
		start := time.Now()
		resp, err := w.Complete(t.Context(), request(1))
		if err != nil || resp.Attempts != 3 {
			t.Fatalf("got %v, %+v; want success after 3 attempts", err, resp)
		}
		var at []time.Duration
		for _, s := range sentAt(p) {
			at = append(at, s.Sub(start))
		}
		if len(at) != 3 || at[0] != 0 || at[1] != time.Second || at[2] != 2*time.Second {
			t.Errorf("attempts sent at %v, want 0s 1s 2s: one a second, retries included", at)
		}
		if l := w.(*retrier).p.(*limiter).p.(*AdaptiveLimiter).Limit(); l != 2 {
			t.Errorf("adaptive limit %d after two attempts throttled, want 2 (8 -> 4 -> 2)", l)
		}
	})
}
