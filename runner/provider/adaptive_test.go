package provider

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// answering returns a provider that answers "ok", or fails with the error
// answer returns when answer is set.
func answering(answer func() error) *evalstest.Provider {
	return &evalstest.Provider{Respond: func(context.Context, int, *evals.Request) (*evals.Response, error) {
		if answer != nil {
			if err := answer(); err != nil {
				return nil, err
			}
		}
		return &evals.Response{Text: "ok"}, nil
	}}
}

var throttle = statusErr(429, "slow down", 0)

func TestAdaptiveHalvesAndRecovers(t *testing.T) {
	var fail atomic.Bool
	a := Adaptive(answering(func() error {
		if fail.Load() {
			return throttle
		}
		return nil
	}), 8)
	send := func() error {
		_, err := a.Complete(t.Context(), request(1))
		return err
	}
	if a.Limit() != 8 {
		t.Fatalf("starts at %d, want 8", a.Limit())
	}
	// One 429 at a time, each sent after the last decrease: each halves.
	fail.Store(true)
	for _, want := range []int{4, 2, 1, 1, 1} {
		if err := send(); !throttled(err) {
			t.Fatalf("got %v, want the 429 passed on", err)
		}
		if a.Limit() != want {
			t.Fatalf("limit %d after a 429, want %d", a.Limit(), want)
		}
	}
	// After as many successes as the limit, it rises by one.
	fail.Store(false)
	successes := 0
	for limit := 1; limit < 8; limit++ {
		for i := range limit {
			if a.Limit() != limit {
				t.Fatalf("after %d successes at limit %d, the limit is %d", i, limit, a.Limit())
			}
			if err := send(); err != nil {
				t.Fatal(err)
			}
			successes++
		}
	}
	if a.Limit() != 8 || successes != 28 {
		t.Fatalf("limit %d after %d successes, want 8 after 28", a.Limit(), successes)
	}
	for range 20 {
		send()
	}
	if a.Limit() != 8 {
		t.Errorf("limit %d, want it to stay at the maximum, 8", a.Limit())
	}

	// A 429 resets the count of successes; other errors do not count.
	fail.Store(true)
	send() // 8 -> 4
	fail.Store(false)
	send()
	send()
	send()
	fail.Store(true)
	send() // 4 -> 2, count reset
	fail.Store(false)
	send()
	if a.Limit() != 2 {
		t.Fatalf("limit %d, want 2", a.Limit())
	}
	other := Adaptive(answering(func() error { return statusErr(503, "overloaded", 0) }), 4)
	for range 10 {
		other.Complete(t.Context(), request(1))
	}
	if other.Limit() != 4 {
		t.Errorf("limit %d after 503s, want 4: only 429s lower it", other.Limit())
	}
}

func TestAdaptiveHalvesOncePerBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Eight requests in flight at once all get a 429: one decrease, not
		// three (8 -> 4, not 8 -> 1).
		release := make(chan struct{})
		a := Adaptive(&evalstest.Provider{Respond: func(context.Context, int, *evals.Request) (*evals.Response, error) {
			<-release
			return nil, throttle
		}}, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { a.Complete(t.Context(), request(1)) })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		if a.Limit() != 4 {
			t.Errorf("limit %d after a burst of 8 429s, want 4", a.Limit())
		}
		// A request sent after that decrease, throttled, halves again.
		a.Complete(t.Context(), request(1))
		if a.Limit() != 2 {
			t.Errorf("limit %d after a later 429, want 2", a.Limit())
		}
	})
}

func TestAdaptiveInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Lowered to 1 by 429s, then every request succeeds: however many
		// goroutines send, no more are in flight than the limit, which only
		// rises now, so it can be read when a request arrives.
		var a *AdaptiveLimiter
		var g *evalstest.Provider
		var answer error
		g = &evalstest.Provider{Delay: 10 * time.Millisecond, Respond: func(context.Context, int, *evals.Request) (*evals.Response, error) {
			if inside, limit := g.InFlight(), a.Limit(); inside > limit {
				t.Errorf("%d requests in flight, limit %d", inside, limit)
			}
			if answer != nil {
				return nil, answer
			}
			return &evals.Response{Text: "ok"}, nil
		}}
		a = Adaptive(g, 16)
		answer = throttle
		for range 5 {
			a.Complete(t.Context(), request(1))
		}
		if a.Limit() != 1 {
			t.Fatalf("limit %d, want 1", a.Limit())
		}
		answer = nil
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for range 20 {
					if _, err := a.Complete(t.Context(), request(1)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if a.Limit() != 16 || g.Peak() != 16 {
			t.Errorf("limit %d, peak in flight %d; want both back at 16", a.Limit(), g.Peak())
		}
	})
}

func TestAdaptiveUnderThrottling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A server that throttles whenever more than 5 requests are in it
		// (and 1 in 50 at random): while all 64 goroutines send, the limit
		// stays near 5, and in flight never passes the maximum.
		var a *AdaptiveLimiter
		var mu sync.Mutex
		var limits []int
		var throttled atomic.Int32
		var g *evalstest.Provider
		g = &evalstest.Provider{Delay: 10 * time.Millisecond, Respond: func(context.Context, int, *evals.Request) (*evals.Response, error) {
			mu.Lock()
			limits = append(limits, a.Limit())
			mu.Unlock()
			if g.InFlight() > 5 || rand.IntN(50) == 0 {
				throttled.Add(1)
				return nil, throttle
			}
			return &evals.Response{Text: "ok"}, nil
		}}
		a = Adaptive(g, 32)
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for range 50 {
					a.Complete(t.Context(), request(1))
				}
			})
		}
		wg.Wait()
		if p := g.Peak(); p > 32 {
			t.Errorf("peak in flight %d, want at most 32", p)
		}
		// The middle half of the run, when every goroutine is sending.
		mid := limits[len(limits)/4 : len(limits)*3/4]
		sum := 0
		for _, l := range mid {
			sum += l
		}
		if mean := float64(sum) / float64(len(mid)); mean < 2 || mean > 8 {
			t.Errorf("mean limit %.1f while throttled above 5, want near 5", mean)
		}
		if n := throttled.Load(); n > 3200/4 {
			t.Errorf("%d of 3200 requests throttled; the limit is not backing off", n)
		}
		t.Logf("%d requests throttled", throttled.Load())
	})
}

func TestAdaptiveWaitEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		defer close(block)
		a := Adaptive(&evalstest.Provider{Respond: func(context.Context, int, *evals.Request) (*evals.Response, error) {
			<-block
			return &evals.Response{}, nil
		}}, 1)
		go a.Complete(t.Context(), request(1))
		synctest.Wait()

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := a.Complete(ctx, request(1))
		pe := providerError(t, err)
		if pe.Kind != evals.ErrKindRateLimit || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("deadline: got %s %q, want rate_limit wrapping the deadline", pe.Kind, pe.Message)
		}

		ctx, cancel = context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		_, err = a.Complete(ctx, request(1))
		pe = providerError(t, err)
		if pe.Kind != evals.ErrKindCanceled || !errors.Is(err, context.Canceled) || evals.AsResultError(err).Kind != evals.ErrKindCanceled {
			t.Errorf("cancel: got %s %q, want canceled wrapping context.Canceled", pe.Kind, pe.Message)
		}
	})
}

func TestAdaptiveMinimum(t *testing.T) {
	for _, n := range []int{0, -3} {
		if l := Adaptive(&evalstest.Provider{}, n).Limit(); l != 1 {
			t.Errorf("Adaptive(p, %d).Limit() = %d, want 1", n, l)
		}
	}
}
