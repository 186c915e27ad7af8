package queue

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/rubric-eval/rubric/runner/provider"
)

// Buckets returns the rate buckets of run id's endpoints, shared by every
// worker of the run: a bucket is a row of rubric_queue_rates, and each
// request takes its turn from it in one statement. A target's rate_limit
// thus holds for the run as a whole, as it does in one process, however
// many workers come and go.
//
// A bucket is the generic cell rate algorithm, the token bucket that
// golang.org/x/time/rate keeps in memory: the row holds the theoretical
// arrival time (tat), in seconds of the server's clock, of the next unit;
// taking n units moves it n/rate later, from now if it is past, and the
// taker waits until tat - burst/rate. Times are the server's, so that the
// clocks of the workers' machines do not matter; a worker waits what the
// server said, less nothing for the round trip, which errs on the safe
// side.
func (q *Queue) Buckets(id string) func(endpoint string) provider.Buckets {
	return func(endpoint string) provider.Buckets {
		return func(rate string, perSecond float64, burst int) provider.Bucket {
			return &bucket{q: q, run: id, endpoint: endpoint, rate: rate, perSecond: perSecond, burst: burst}
		}
	}
}

type bucket struct {
	q                   *Queue
	run, endpoint, rate string
	perSecond           float64
	burst               int
}

var _ provider.Bucket = (*bucket)(nil)

func (b *bucket) Burst() int { return b.burst }

// take moves the bucket's tat n units later and returns how long the taker
// waits. A database that fails is tried again, with a pause, until ctx
// ends: a worker that cannot reach the database could not store its
// result either, and a wait that fails would be recorded as the case's
// error.
func (b *bucket) take(ctx context.Context, n int) (time.Duration, error) {
	cost := float64(n) / b.perSecond
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
		var wait float64
		err := b.q.pool.QueryRow(ctx, `INSERT INTO rubric_queue_rates AS r (run, endpoint, rate, tat)
			VALUES ($1, $2, $3, extract(epoch FROM statement_timestamp()) + $4)
			ON CONFLICT (run, endpoint, rate) DO UPDATE
			SET tat = greatest(r.tat, extract(epoch FROM statement_timestamp())) + $4
			RETURNING tat - $5 - extract(epoch FROM statement_timestamp())`,
			b.run, b.endpoint, b.rate, cost, float64(b.burst)/b.perSecond).Scan(&wait)
		if err == nil {
			return time.Duration(math.Max(0, wait) * float64(time.Second)), nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		b.q.log.Warn("rate limit: taking a turn", "endpoint", b.endpoint, "rate", b.rate, "error", err)
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// WaitN takes n units and waits for their turn; a turn past ctx's deadline
// fails at once, as rate.Limiter's does.
func (b *bucket) WaitN(ctx context.Context, n int) error {
	wait, err := b.take(ctx, n)
	if err != nil {
		return err
	}
	if wait <= 0 {
		return nil
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
		return errors.New("the rate limit's turn comes after the deadline")
	}
	return provider.Sleep(ctx, wait)
}

// Book takes n units without waiting.
func (b *bucket) Book(ctx context.Context, n int) {
	if n > 0 {
		_, _ = b.take(ctx, n)
	}
}
