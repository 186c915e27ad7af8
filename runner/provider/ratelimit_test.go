package provider

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// clocked returns a provider that answers "ok", with usage(n) for its nth
// request, from 0, when usage is set.
func clocked(usage func(n int) evals.Usage) *evalstest.Provider {
	return &evalstest.Provider{Respond: func(_ context.Context, n int, _ *evals.Request) (*evals.Response, error) {
		resp := &evals.Response{Text: "ok"}
		if usage != nil {
			resp.Usage = usage(n)
		}
		return resp, nil
	}}
}

// sentAt returns when each request reached p.
func sentAt(p *evalstest.Provider) []time.Time {
	var times []time.Time
	for _, c := range p.Calls() {
		times = append(times, c.At)
	}
	return times
}

// request returns a request whose messages total chars characters.
func request(chars ...int) *evals.Request {
	req := &evals.Request{CaseID: "c"}
	for _, n := range chars {
		content := make([]rune, n)
		for i := range content {
			content[i] = 'é' // two bytes, one character
		}
		req.Messages = append(req.Messages, evals.Message{Role: "user", Content: string(content)})
	}
	return req
}

func TestRateLimitRequests(t *testing.T) {
	for _, rpm := range []float64{60, 90, 600} {
		t.Run("", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 150
				c := clocked(nil)
				p := RateLimit(c, &evals.RateLimitSpec{RequestsPerMinute: rpm}, 0)
				start := time.Now()
				var wg sync.WaitGroup
				for range 16 { // as many workers as a run's concurrency
					wg.Go(func() {
						for range n / 16 {
							if _, err := p.Complete(t.Context(), request(10)); err != nil {
								t.Error(err)
							}
						}
					})
				}
				wg.Wait()
				times := sentAt(c)
				spacing := time.Duration(float64(time.Minute) / rpm)
				if want := time.Duration(len(times)-1) * spacing; times[len(times)-1].Sub(start) < want-time.Millisecond {
					t.Errorf("%d requests at %v rpm took %v, want at least %v", len(times), rpm, times[len(times)-1].Sub(start), want)
				}
				if !times[0].Equal(start) {
					t.Errorf("the first request waited %v", times[0].Sub(start))
				}
				for i := 1; i < len(times); i++ {
					if gap := times[i].Sub(times[i-1]); gap < spacing-time.Millisecond {
						t.Fatalf("requests %d and %d %v apart, want at least %v", i-1, i, gap, spacing)
					}
				}
				// No window of a minute holds more than rpm requests.
				for i, t0 := range times {
					j := i
					for j < len(times) && times[j].Before(t0.Add(time.Minute)) {
						j++
					}
					if j-i > int(rpm) {
						t.Fatalf("%d requests in the minute from %v, want at most %v", j-i, t0.Sub(start), rpm)
					}
				}
			})
		})
	}
}

func TestRateLimitEstimate(t *testing.T) {
	tests := []struct {
		name      string
		chars     []int
		maxTokens int
		want      int
	}{
		{"no messages", nil, 100, 100},
		{"one empty message", []int{0}, 100, 4 + 100},
		{"rounded up", []int{1}, 100, 1 + 4 + 100},
		{"exact quarter", []int{8}, 100, 2 + 4 + 100},
		{"characters summed before rounding", []int{3, 3}, 100, 2 + 8 + 100},
		{"characters, not bytes", []int{400, 1}, 10, 101 + 8 + 10},
		{"no max_tokens: 256 expected", []int{40}, 0, 10 + 4 + 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := RateLimit(clocked(nil), &evals.RateLimitSpec{TokensPerMinute: 1000}, tt.maxTokens).(*limiter)
			if got := l.estimate(request(tt.chars...)); got != tt.want {
				t.Errorf("estimate = %d, want %d", got, tt.want)
			}
		})
	}

	t.Run("running mean of reported completions", func(t *testing.T) {
		completions := []int{10, 21, 0}
		c := clocked(func(n int) evals.Usage {
			if n >= len(completions) { // a response without usage
				return evals.Usage{}
			}
			return evals.Usage{PromptTokens: 5, CompletionTokens: completions[n], TotalTokens: 5 + completions[n]}
		})
		l := RateLimit(c, &evals.RateLimitSpec{TokensPerMinute: 1e9}, 0).(*limiter)
		want := []int{256, 10, 16, 11} // before each response: 256, then mean(10), mean(10, 21) rounded up, mean(10, 21, 0) rounded up
		for i, w := range want {
			if got := l.estimate(request()); got != w {
				t.Errorf("after %d responses, estimate %d, want %d", i, got, w)
			}
			if i < len(completions) {
				if _, err := l.Complete(t.Context(), request()); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A response without usage does not count.
		if _, err := l.Complete(t.Context(), request()); err != nil {
			t.Fatal(err)
		}
		if got := l.estimate(request()); got != 11 {
			t.Errorf("after a response without usage, estimate %d, want 11", got)
		}
	})
}

func TestRateLimitTokenDebt(t *testing.T) {
	// 600 tokens a minute is 10 a second, and the bucket holds 10. A request
	// of one empty message with max_tokens 6 is estimated at 4+6 = 10, so
	// the second request waits 1s for a refill, plus whatever the first
	// used beyond its estimate.
	tests := []struct {
		name  string
		usage evals.Usage
		wait  time.Duration
	}{
		{"as estimated", evals.Usage{PromptTokens: 4, CompletionTokens: 6, TotalTokens: 10}, time.Second},
		{"more than estimated: debt", evals.Usage{PromptTokens: 50, CompletionTokens: 60, TotalTokens: 110}, 11 * time.Second},
		{"more, total missing", evals.Usage{PromptTokens: 50, CompletionTokens: 60}, 11 * time.Second},
		{"debt beyond the burst", evals.Usage{TotalTokens: 510}, 51 * time.Second},
		{"less than estimated: no refund", evals.Usage{PromptTokens: 1, TotalTokens: 1}, time.Second},
		{"no usage reported", evals.Usage{}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := clocked(func(int) evals.Usage { return tt.usage })
				p := RateLimit(c, &evals.RateLimitSpec{TokensPerMinute: 600}, 6)
				start := time.Now()
				for range 2 {
					if _, err := p.Complete(t.Context(), request(0)); err != nil {
						t.Fatal(err)
					}
				}
				times := sentAt(c)
				if !times[0].Equal(start) || times[1].Sub(start) != tt.wait {
					t.Errorf("requests sent after %v and %v, want 0s and %v", times[0].Sub(start), times[1].Sub(start), tt.wait)
				}
			})
		})
	}

	t.Run("request larger than the burst", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// Estimated at 4+26 = 30: it waits for a full bucket of 10 and
			// books 20 as debt, which the next request waits off: 3s.
			c := clocked(func(int) evals.Usage { return evals.Usage{TotalTokens: 30} })
			p := RateLimit(c, &evals.RateLimitSpec{TokensPerMinute: 600}, 26)
			start := time.Now()
			for range 3 {
				if _, err := p.Complete(t.Context(), request(0)); err != nil {
					t.Fatal(err)
				}
			}
			want := []time.Duration{0, 3 * time.Second, 6 * time.Second}
			for i, at := range sentAt(c) {
				if at.Sub(start) != want[i] {
					t.Errorf("request %d sent after %v, want %v", i, at.Sub(start), want[i])
				}
			}
		})
	})

	t.Run("tokens per minute over time", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// 6000 tokens a minute, requests of 4+96 = 100 tokens that
			// report 150: 40 a minute once the first second's burst is spent.
			c := clocked(func(int) evals.Usage { return evals.Usage{TotalTokens: 150} })
			p := RateLimit(c, &evals.RateLimitSpec{TokensPerMinute: 6000}, 96)
			start := time.Now()
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for time.Since(start) < 10*time.Minute {
						if _, err := p.Complete(t.Context(), request(0)); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			times := sentAt(c)
			for i, t0 := range times {
				j := i
				for j < len(times) && times[j].Before(t0.Add(time.Minute)) {
					j++
				}
				// 6000 tokens a minute, plus the burst of 100, plus the
				// debts not yet booked of the 7 other requests in flight
				// (7·50) when one is admitted, is 43 requests of 150.
				if j-i > 43 {
					t.Fatalf("%d requests of 150 tokens in the minute from %v, want at most 43", j-i, t0.Sub(start))
				}
			}
			n := 0
			for _, at := range times {
				if at.Before(start.Add(10 * time.Minute)) {
					n++
				}
			}
			if n < 395 || n > 403 { // (100 + 60000 + 7·50) / 150
				t.Errorf("%d requests in 10 minutes, want about 400", n)
			}
		})
	})
}

func TestRateLimitWaitEnds(t *testing.T) {
	for _, limit := range []string{"requests", "tokens"} {
		spec := &evals.RateLimitSpec{RequestsPerMinute: 1}
		if limit == "tokens" {
			spec = &evals.RateLimitSpec{TokensPerMinute: 14} // one request of 4+10 a minute
		}
		t.Run(limit+": deadline", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := RateLimit(clocked(nil), spec, 10)
				if _, err := p.Complete(t.Context(), request(0)); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				start := time.Now()
				_, err := p.Complete(ctx, request(0))
				pe := providerError(t, err)
				if pe.Kind != evals.ErrKindRateLimit || !errors.Is(err, context.DeadlineExceeded) ||
					evals.AsResultError(err).Kind != evals.ErrKindRateLimit {
					t.Errorf("got %s %q (%v), want rate_limit wrapping the deadline", pe.Kind, pe.Message, pe.Err)
				}
				if waited := time.Since(start); waited != 0 {
					t.Errorf("waited %v for a wait that could not end before the deadline", waited)
				}
			})
		})
		t.Run(limit+": deadline far enough", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := RateLimit(clocked(nil), spec, 10)
				if _, err := p.Complete(t.Context(), request(0)); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 61*time.Second)
				defer cancel()
				start := time.Now()
				if _, err := p.Complete(ctx, request(0)); err != nil || time.Since(start) != time.Minute {
					t.Errorf("got %v after %v, want success after 1m", err, time.Since(start))
				}
			})
		})
		t.Run(limit+": canceled", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := clocked(nil)
				p := RateLimit(c, spec, 10)
				if _, err := p.Complete(t.Context(), request(0)); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(5*time.Second, cancel)
				start := time.Now()
				_, err := p.Complete(ctx, request(0))
				pe := providerError(t, err)
				if pe.Kind != evals.ErrKindCanceled || !errors.Is(err, context.Canceled) ||
					evals.AsResultError(err).Kind != evals.ErrKindCanceled {
					t.Errorf("got %s %q (%v), want canceled wrapping context.Canceled", pe.Kind, pe.Message, pe.Err)
				}
				if waited := time.Since(start); waited != 5*time.Second || len(sentAt(c)) != 1 {
					t.Errorf("returned after %v having sent %d, want at the cancel, 5s, having sent 1", waited, len(sentAt(c)))
				}
			})
		})
	}
}

func TestRateLimitOff(t *testing.T) {
	c := clocked(nil)
	for _, spec := range []*evals.RateLimitSpec{nil, {}, {Adaptive: true}} {
		if p := RateLimit(c, spec, 0); p != evals.Provider(c) {
			t.Errorf("RateLimit(%+v) wrapped the provider", spec)
		}
	}
}

func TestTokenBurst(t *testing.T) {
	for tpm, want := range map[float64]int{1: 1, 59: 1, 60: 1, 61: 2, 6000: 100, 1e30: 1<<31 - 1} {
		if got := tokenBurst(tpm); got != want {
			t.Errorf("tokenBurst(%v) = %d, want %d", tpm, got, want)
		}
	}
}
