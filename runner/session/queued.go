package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/leak"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/queue"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// runQueued is the coordinator of a run spread over workers (--queue): in
// the run's folder (a new one, or the one it re-attaches to), it enqueues a
// job per case, target and repeat not yet in the journal, then writes the
// results the workers store to the journal as they come, showing the
// progress, until every one is in. The run then finishes as a resumed run
// whose every case is recorded: nothing is sent, and its aggregates,
// gates, report, outputs and history are a normal run's.
//
// Interrupted, it stops waiting and keeps the results it has; the workers
// go on, and rubric run --resume re-attaches. A job the workers gave up on
// stops it with the job's error.
func runQueued(ctx context.Context, s *build.Suite, opts Options, f *folder, leaks *leak.Report) (*evals.Summary, error) {
	repeat := repeatOf(s, opts)
	for _, ep := range s.Targets {
		if ep.Batch != nil {
			if f != nil {
				f.close()
			}
			return nil, WithCode(ExitBadInput, fmt.Errorf("run: --queue: target %s has batch: true, and the workers send live: run it without --queue, or without batch", ep.Spec.Name))
		}
	}
	if f == nil {
		var err error
		if f, err = create(ctx, s, opts, "run", newManifest(opts, repeat, leaks)); err != nil {
			return nil, err
		}
	}
	c := &collector{f: f, opts: opts, done: map[[2]uint64]bool{}}
	sum, err := c.collect(ctx, s, repeat)
	if err != nil || sum != nil {
		f.close()
		if c.q != nil {
			c.q.Close()
		}
		return sum, err
	}
	defer c.q.Close()
	f.done = f.done[:0]
	for h := range c.done {
		f.done = append(f.done, h)
	}
	slices.SortFunc(f.done, compareHash)
	f.resumed, f.collected = true, true
	sum, err = runSuite(ctx, s, opts, f, leaks)
	if sum != nil && sum.Complete {
		// The results are in the journal: the queue's copy can go.
		if ferr := c.q.Finish(context.WithoutCancel(ctx), f.id); ferr != nil {
			fmt.Fprintf(opts.stderr(), "rubric: warning: %v\n", ferr)
		}
	}
	return sum, err
}

// collector gathers a queued run's results into its journal.
type collector struct {
	f    *folder
	opts Options
	q    *queue.Queue
	done map[[2]uint64]bool
	prog runner.Progress
	// since is when the coordinator started, by the database's clock: jobs
	// given up on before it (which a re-attached run enqueues again) are
	// not this attempt's failures.
	since time.Time
}

// collect enqueues the run's jobs and waits for their results. It returns
// nil and nil once every result is in the journal, which it closes.
func (c *collector) collect(ctx context.Context, s *build.Suite, repeat int) (*evals.Summary, error) {
	f, opts := c.f, c.opts
	closeJournal := func(err error) (*evals.Summary, error) {
		if cerr := f.journal.Close(); cerr != nil && err == nil {
			err = WithCode(ExitIncomplete, fmt.Errorf("writing results: %w", cerr))
		}
		return nil, err
	}
	for _, h := range f.done {
		c.done[h] = true
	}
	if f.resumed {
		// The progress counts what the journal has.
		if _, err := rundir.ReadJournal(f.results(), func(r *evals.Result) error { c.prog.Count(r); return nil }); err != nil {
			return closeJournal(WithCode(ExitBadInput, err))
		}
	}
	q, err := queue.Open(ctx, opts.Queue, 4, opts.stderr())
	if err != nil {
		return closeJournal(WithCode(ExitIncomplete, err))
	}
	c.q = q
	if c.since, err = q.Now(ctx); err != nil {
		return closeJournal(WithCode(ExitIncomplete, err))
	}
	m := f.manifest // run.json as written (create) or read (resume)
	src := queue.Source{Suite: m.Suite, SuiteSHA256: m.SuiteSHA256, Dataset: m.Dataset, DatasetSHA256: m.DatasetSHA256, Load: m.Load}
	if err := q.Start(ctx, f.id, src); err != nil {
		return closeJournal(WithCode(ExitIncomplete, err))
	}
	n, err := cases(ctx, s, opts)
	if err != nil {
		return closeJournal(err)
	}
	c.prog.Total = n * len(s.Targets) * repeat
	// Results stored while no coordinator was reading (it had stopped).
	if _, err := c.drain(ctx); err != nil {
		return closeJournal(err)
	}
	enq, err := c.enqueue(ctx, s, repeat)
	if err != nil {
		return closeJournal(err)
	}
	fmt.Fprintf(opts.stderr(), "rubric: run %s: %d jobs queued in %s (%d queued already, %d results in); waiting for workers: rubric worker --queue %s\n",
		f.id, enq.Added, q.Where(), enq.Skipped, len(c.done), rundir.ShellQuote(q.Where()))
	var prog Progress
	if opts.Progress != nil {
		prog = opts.Progress()
		defer prog.Done()
		prog.Update(c.prog)
	}
	poll := cmpOr(opts.QueuePoll, 250*time.Millisecond)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	lastCheck := time.Now()
	for len(c.done) < c.prog.Total {
		select {
		case <-ctx.Done():
			return closeJournal(WithCode(ExitInterrupted, fmt.Errorf("%w: run %s has %d of %d results; the workers go on: re-attach with: %s --queue %s",
				runner.ErrInterrupted, f.id, len(c.done), c.prog.Total, resumeCommand(f.id, opts), rundir.ShellQuote(q.Where()))))
		case <-tick.C:
		}
		got, err := c.drain(ctx)
		if err != nil {
			return closeJournal(err)
		}
		if got > 0 && prog != nil {
			prog.Update(c.prog)
		}
		if time.Since(lastCheck) >= 10*poll {
			lastCheck = time.Now()
			if err := c.failed(ctx); err != nil {
				return closeJournal(err)
			}
		}
	}
	if prog != nil {
		prog.Update(c.prog)
	}
	// The journal stays open: the run finishes with it as its sink, to
	// which nothing more is written.
	return nil, nil
}

// enqueue adds a job for each case, target and repeat of the run that the
// journal does not have.
func (c *collector) enqueue(ctx context.Context, s *build.Suite, repeat int) (*queue.Enqueuer, error) {
	r, err := openCases(s, c.opts)
	if err != nil {
		return nil, WithCode(ExitIncomplete, err)
	}
	defer r.Close()
	enq := c.q.Enqueuer()
	for {
		cs, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, WithCode(ExitIncomplete, err)
		}
		for _, t := range s.Targets {
			for rep := range repeat {
				if c.done[resultHash(t.Spec.Name, cs.ID, rep)] {
					continue
				}
				if err := enq.Add(ctx, queue.Job{Run: c.f.id, Target: t.Spec.Name, Case: cs.ID, Repeat: rep}); err != nil {
					return nil, c.stopped(ctx, err)
				}
			}
		}
	}
	if err := enq.Flush(ctx); err != nil {
		return nil, c.stopped(ctx, err)
	}
	return enq, nil
}

// drainBatch is how many results one read of the queue takes.
const drainBatch = 2000

// drain writes the results stored since the last drain to the journal,
// each once, and marks them journaled; it returns how many it wrote.
func (c *collector) drain(ctx context.Context) (int, error) {
	got := 0
	for {
		ns, err := c.q.Results(ctx, c.f.id, drainBatch, func(line []byte) error {
			var r evals.Result
			if err := json.Unmarshal(line, &r); err != nil {
				return fmt.Errorf("a result in the queue: %w", err)
			}
			h := resultHash(r.Target, r.CaseID, r.Repeat)
			if c.done[h] {
				return nil // journaled before the coordinator stopped
			}
			if err := c.f.journal.Write(&r); err != nil {
				return fmt.Errorf("writing results: %w", err)
			}
			c.done[h] = true
			c.prog.Count(&r)
			got++
			return nil
		})
		if err == nil {
			err = c.f.journal.Flush()
		}
		if err == nil {
			err = c.q.Journaled(ctx, c.f.id, ns)
		}
		if err != nil {
			return got, c.stopped(ctx, err)
		}
		if len(ns) < drainBatch {
			return got, nil
		}
	}
}

// failed returns the error of the jobs of the run the workers gave up on
// since the coordinator started, nil when there are none.
func (c *collector) failed(ctx context.Context) error {
	msgs, err := c.q.Failed(ctx, c.f.id, c.since, 5)
	if err != nil {
		return c.stopped(ctx, err)
	}
	if len(msgs) == 0 {
		return nil
	}
	return WithCode(ExitIncomplete, fmt.Errorf("run %s: the workers gave up on jobs:\n  %s\nonce that is fixed, re-attach (those jobs are enqueued again) with: %s --queue %s",
		c.f.id, strings.Join(msgs, "\n  "), resumeCommand(c.f.id, c.opts), rundir.ShellQuote(c.q.Where())))
}

// stopped is the error of a queued run that could not go on: an interrupt,
// or the queue failing.
func (c *collector) stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return WithCode(ExitInterrupted, fmt.Errorf("%w: run %s: re-attach with: %s --queue %s", runner.ErrInterrupted, c.f.id,
			resumeCommand(c.f.id, c.opts), rundir.ShellQuote(c.q.Where())))
	}
	return WithCode(ExitIncomplete, fmt.Errorf("run %s: %w; the results in are kept: re-attach with: %s --queue %s", c.f.id, err,
		resumeCommand(c.f.id, c.opts), rundir.ShellQuote(c.q.Where())))
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// queueURL is the queue a resumed run of m re-attaches to: given, which
// must be the URL run.json records (but for its password), or run.json's
// when it has no password to give again.
func queueURL(m *rundir.Manifest, given string) (string, error) {
	switch {
	case m.Queue == "" && given != "":
		return "", fmt.Errorf("resume %s: --queue: the run was not sent through a queue", m.RunID)
	case m.Queue == "":
		return "", nil
	case given == "" && strings.Contains(m.Queue, evals.Redacted):
		return "", fmt.Errorf("resume %s: the run's queue URL has a password, which run.json does not keep: give it again with --queue %s, %s replaced by the password (or set PGPASSWORD)", m.RunID, rundir.ShellQuote(m.Queue), evals.Redacted)
	case given == "":
		return m.Queue, nil
	case history.RedactURL(given) != m.Queue:
		return "", fmt.Errorf("resume %s: --queue %s is not the run's queue, %s", m.RunID, rundir.ShellQuote(history.RedactURL(given)), rundir.ShellQuote(m.Queue))
	}
	return given, nil
}
