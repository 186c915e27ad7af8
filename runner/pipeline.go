package runner

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rubric-eval/rubric/evals"
)

// The pipeline is what Run and Score share: lanes of workers turn work into
// results, and one collector, the only goroutine that touches the output,
// writes each result to the sink and adds it to its target's aggregate, so
// that neither needs a lock.
//
//	lane: feed -> work -> N workers: do -> result ─┐
//	lane: feed -> work -> N workers: do -> result ─┴─> collector: sink, aggregates
//
// Run has a lane per target (its concurrency, its own stop when its
// endpoint is unreachable); Score has one lane of recorded responses.

// work is one unit of a lane: a case to send (Run), or a recorded response
// to score (Score).
type work struct {
	c      *evals.Case
	repeat int
	rec    *Recorded
}

// lane is a source of work and the workers that do it.
type lane struct {
	workers int
	// feed queues the lane's work until it runs out, or queue returns false
	// (the lane stopped), and returns what ended it early.
	feed func(ctx context.Context, queue func(work) bool) error
	// do turns work into a result, or into none: work cut short by an
	// interrupt is not recorded. A stop error stops the lane: its feed
	// ends, and the work in flight is canceled and not recorded.
	do func(ctx context.Context, w work) (r *evals.Result, stop error)
	// finishQueued does the work queued when the lane stops; otherwise it
	// is dropped (a request not yet sent stays unsent).
	finishQueued bool
}

// pipeline is one run of lanes into one summary.
type pipeline struct {
	sum *evals.Summary
	st  evals.Statistics
	// newAgg makes the aggregate of a target that results name but the
	// pipeline was not told of (Score's recordings); nil when every target
	// is known.
	newAgg func(name string) *aggregate
	aggs   []*aggregate // the targets known, in report order
	byName map[string]*aggregate
	extra  []string // targets added by newAgg
	col    *collector
}

func newPipeline(runID string, s *evals.Suite, now time.Time, st evals.Statistics, sink evals.Sink, progress func(Progress), total int) *pipeline {
	if st == (evals.Statistics{}) {
		st = evals.DefaultStatistics()
	}
	return &pipeline{
		sum:    newSummary(runID, s, now, st),
		st:     st,
		byName: map[string]*aggregate{},
		col:    &collector{sink: sink, progress: progress, p: Progress{Total: total}},
	}
}

// target adds the aggregate of a known target.
func (p *pipeline) target(name string, a *aggregate) {
	p.aggs = append(p.aggs, a)
	p.byName[name] = a
}

// add counts a result into its target's aggregate; false when the target is
// not one of the pipeline's.
func (p *pipeline) add(r *evals.Result) bool {
	a := p.byName[r.Target]
	if a == nil {
		if p.newAgg == nil {
			return false
		}
		a = p.newAgg(r.Target)
		p.byName[r.Target] = a
		p.extra = append(p.extra, r.Target)
	}
	a.add(r)
	return true
}

// prior feeds results recorded before (a resumed run's) to the aggregates
// and the progress, before the lanes start.
func (p *pipeline) prior(feed func(add func(*evals.Result)) error) error {
	total := p.col.p.Total
	err := feed(func(r *evals.Result) {
		if p.add(r) {
			p.col.p.Count(r)
			p.col.cost.count(r)
		}
	})
	p.col.p.Total = total
	return err
}

// run runs the lanes until their work is done or ctx ends. When ctx ends
// no new work starts; work in flight gets grace to finish (a negative grace
// lets it finish, however long it takes) and is recorded if it does. It
// returns the stop error of each lane that stopped, and the error that
// stopped the lanes early (a feed's).
func (p *pipeline) run(ctx context.Context, lanes []lane, grace time.Duration) (stopped []error, err error) {
	// Work gets its own context: canceling ctx stops dispatch at once but
	// lets the work in flight finish within the grace period.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	if grace >= 0 {
		stopGrace := context.AfterFunc(ctx, func() {
			time.AfterFunc(grace, cancelWork)
		})
		defer stopGrace()
	}
	// runCtx stops dispatch: on interrupt, or when results can no longer be
	// written.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	p.col.stop = func() { stopRun(); cancelWork() }
	p.col.cost.stop = stopRun
	p.col.cost.check() // a resumed run may have spent it all

	results := make(chan *evals.Result, 256)
	g, gctx := errgroup.WithContext(runCtx)
	stopped = make([]error, len(lanes)) // each lane's stop error, once
	for i, l := range lanes {
		lctx, stopLane := context.WithCancel(gctx)
		defer stopLane()
		lworkCtx, cancelLaneWork := context.WithCancel(workCtx)
		defer cancelLaneWork()
		var once sync.Once
		stop := func(err error) {
			once.Do(func() { stopped[i] = err })
			stopLane()
			cancelLaneWork()
		}
		queue := make(chan work, l.workers)
		g.Go(func() error {
			defer close(queue)
			return l.feed(lctx, func(w work) bool {
				select {
				case queue <- w:
					return true
				case <-lctx.Done():
					return false
				}
			})
		})
		for range l.workers {
			g.Go(func() error {
				for w := range queue {
					if lctx.Err() != nil && !l.finishQueued {
						continue // stopped: drain without doing
					}
					r, err := l.do(lworkCtx, w)
					if err != nil {
						stop(err)
						continue
					}
					if r != nil {
						// The collector reads until the channel closes, so
						// a result done is always delivered, even when
						// stopping.
						results <- r
					}
				}
				return nil
			})
		}
	}
	waitErr := make(chan error, 1)
	go func() {
		waitErr <- g.Wait()
		close(results)
	}()
	for r := range results {
		p.col.record(r, p.add)
		if len(results) == 0 || len(p.col.pending) >= maxBatch {
			p.col.flush(p.add)
		}
	}
	p.col.flush(p.add)
	err = <-waitErr
	return slices.DeleteFunc(stopped, func(e error) bool { return e == nil }), err
}

// finish sets the summary's targets: the known ones in order, then the
// ones results named, by name.
func (p *pipeline) finish(now time.Time) *evals.Summary {
	p.sum.Finished = now.UTC()
	for _, a := range p.aggs {
		p.sum.Targets = append(p.sum.Targets, a.summary())
	}
	slices.Sort(p.extra)
	for _, name := range p.extra {
		p.sum.Targets = append(p.sum.Targets, p.byName[name].summary())
	}
	return p.sum
}

// maxBatch caps the results the collector writes to the sink before it
// flushes them, when they come faster than it writes.
const maxBatch = 256

// collector is the one goroutine that owns a run's output: it writes each
// result to the sink, and once the sink has them (flush) counts them in the
// aggregates and the progress. A sink that buffers (Flush) then writes
// results in batches when they come faster than one write each, and at
// once when they do not: the collector flushes whenever no result is
// waiting. After the sink fails it calls stop and drops the results still
// coming; none of them is counted. It adds up what each result's calls
// cost as it comes, and stops dispatch at the cost limit.
type collector struct {
	sink     evals.Sink
	progress func(Progress)
	p        Progress
	stop     func()
	err      error           // the sink's failure
	pending  []*evals.Result // written, not yet flushed
	cost     costLimit
}

// record writes r to the sink, unless it has failed. When it fails now,
// the results it took before are flushed and counted first.
func (c *collector) record(r *evals.Result, add func(*evals.Result) bool) {
	if c.err != nil {
		return
	}
	c.cost.count(r) // spent once the response came, written or not
	c.cost.check()
	if err := c.sink.Write(r); err != nil {
		c.flush(add)
		if c.err == nil {
			c.fail(err)
		}
		return
	}
	c.pending = append(c.pending, r)
}

// flush has the sink write what it holds, then counts the results it
// wrote with add and in the progress.
func (c *collector) flush(add func(*evals.Result) bool) {
	if len(c.pending) == 0 || c.err != nil {
		return
	}
	if f, ok := c.sink.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			c.fail(err)
			return
		}
	}
	for _, r := range c.pending {
		add(r)
		c.p.Count(r)
	}
	clear(c.pending)
	c.pending = c.pending[:0]
	if c.progress != nil {
		c.progress(c.p)
	}
}

// fail stops the run: results can no longer be written.
func (c *collector) fail(err error) {
	c.err = fmt.Errorf("writing results: %w", err)
	c.pending = nil
	c.stop()
}
