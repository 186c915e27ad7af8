package queue

import (
	"context"
	"errors"
	"testing"
	"time"
)

func readyLoaded() *loaded {
	l := &loaded{ready: make(chan struct{})}
	close(l.ready)
	return l
}

// A worker closes the suite of a run it has had no job of for the idle
// time, and never one a job is using or one still being built.
func TestEvictIdleSuites(t *testing.T) {
	w := &worker{runs: map[string]*loaded{}}
	ctx := context.Background()
	w.runs["used"] = readyLoaded()
	w.runs["building"] = &loaded{ready: make(chan struct{})}
	w.runs["idle"] = readyLoaded()

	// A job of run "used" holds its suite from load to release.
	l, err := w.load(ctx, "used")
	if err != nil || l != w.runs["used"] || l.inflight != 1 {
		t.Fatalf("load: %v, %v, in flight %d", l, err, l.inflight)
	}
	now := time.Now()
	w.runs["idle"].last = now // its last job ended now
	if got := w.evict(now, time.Minute); len(got) != 0 {
		t.Errorf("evicted %d suites a minute early", len(got))
	}
	got := w.evict(now.Add(2*time.Minute), time.Minute)
	if len(got) != 1 || got[0] == w.runs["used"] || w.runs["idle"] != nil {
		t.Fatalf("evicted %v; want the idle run's suite alone", got)
	}
	if w.runs["used"] == nil || w.runs["building"] == nil {
		t.Fatal("a suite in use or being built was evicted")
	}
	w.release(l)
	if got := w.evict(time.Now().Add(2*time.Minute), time.Minute); len(got) != 1 || w.runs["used"] != nil {
		t.Errorf("once its job ended, the used run's suite: evicted %d", len(got))
	}

	// A job that gives up waiting for a suite being built does not hold it.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w.load(cctx, "building"); !errors.Is(err, context.Canceled) {
		t.Fatalf("load with a canceled context: %v", err)
	}
	if n := w.runs["building"].inflight; n != 0 {
		t.Errorf("a canceled load left %d jobs in flight", n)
	}
}
