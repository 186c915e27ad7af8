package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// WorkerOptions say how a worker works.
type WorkerOptions struct {
	// Concurrency is how many jobs the worker runs at once (besides each
	// target's own concurrency, which bounds its requests in flight).
	Concurrency int
	// Lease is how long a job may run: past it, its context ends and it is
	// tried again; a job whose worker died is tried again, by another, a
	// little after its lease (River's rescuer looks every 30 seconds).
	Lease time.Duration
	// Build is how suites are built: the response cache, the environment.
	// Load and Buckets are the run's.
	Build build.Options
	// Stderr takes what the worker says: each job that fails, and why.
	Stderr io.Writer
	// Grace is how long jobs in flight may finish once ctx ends, before
	// they are canceled and left to be tried again.
	Grace time.Duration
	// Fetch is how often the worker looks for jobs when none was
	// announced (River's FetchPollInterval); 0 for River's second.
	Fetch time.Duration
	// Idle is how long a run's suite stays built with no job of the run
	// in flight before the worker closes it (its scorer processes, its
	// cases in memory); DefaultIdle when 0. A later job of the run builds
	// it again.
	Idle time.Duration
}

// DefaultIdle is how long a worker keeps a run's suite with no job of it.
const DefaultIdle = 10 * time.Minute

// fetchCooldown is the least time between two fetches of jobs.
const fetchCooldown = 10 * time.Millisecond

// DefaultLease is a job's lease when the worker is given none.
const DefaultLease = 10 * time.Minute

// Work takes jobs from q until ctx ends, then lets the jobs in flight
// finish within opts.Grace. Each job runs its case as runner.Run would,
// with the suite of its run loaded once per run (its files must have the
// SHA-256 the run recorded), stores the result, and leaves River to
// complete the job (see complete).
func Work(ctx context.Context, q *Queue, opts WorkerOptions) error {
	if opts.Concurrency <= 0 {
		opts.Concurrency = evals.DefaultConcurrency
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Idle <= 0 {
		opts.Idle = DefaultIdle
	}
	w := &worker{q: q, opts: opts, runs: map[string]*loaded{}}
	defer w.close()
	// A worker runs for days, taking the jobs of many runs: the suites of
	// runs it has had no job of for opts.Idle are closed.
	go func() {
		tick := time.NewTicker(max(opts.Idle/4, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				for _, l := range w.evict(now, opts.Idle) {
					_ = l.s.Close()
				}
			}
		}
	}()
	workers := river.NewWorkers()
	river.AddWorker[Job](workers, w)
	// A job takes about as long as its request: River's default pause of
	// 100 ms between fetches left slots idle at 50 ms a request.
	cooldown := fetchCooldown
	if opts.Fetch > 0 {
		cooldown = min(opts.Fetch, cooldown)
	}
	client, err := river.NewClient(riverpgxv5.New(q.pool), &river.Config{
		FetchCooldown:        cooldown,
		Logger:               q.log,
		Queues:               map[string]river.QueueConfig{Name: {MaxWorkers: opts.Concurrency}},
		Workers:              workers,
		MaxAttempts:          MaxAttempts,
		JobTimeout:           opts.Lease,
		RescueStuckJobsAfter: opts.Lease + time.Second,
		FetchPollInterval:    opts.Fetch,
	})
	if err != nil {
		return q.wrap(err)
	}
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return q.wrap(fmt.Errorf("starting the worker: %w", err))
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), opts.Grace)
	defer cancel()
	if err := client.Stop(stopCtx); err != nil {
		// The grace ended: cancel what runs; those jobs are tried again.
		_ = client.StopAndCancel(context.Background())
	}
	return nil
}

// worker is River's worker of rubric's jobs.
type worker struct {
	river.WorkerDefaults[Job]
	q    *Queue
	opts WorkerOptions

	mu   sync.Mutex
	runs map[string]*loaded
}

// loaded is a run's suite, built, and its cases by id.
type loaded struct {
	// inflight counts the jobs using it, and last is when the last one
	// ended; both under the worker's mu. A suite in use is never closed.
	inflight int
	last     time.Time

	ready   chan struct{}
	err     error
	s       *build.Suite
	run     runner.Options
	cases   map[string]*evals.Case
	targets map[string]int
	slots   []chan struct{} // a target's requests in flight, up to its concurrency
}

// Work runs one job.
func (w *worker) Work(ctx context.Context, job *river.Job[Job]) error {
	a := job.Args
	err := w.work(ctx, job)
	if err != nil {
		fmt.Fprintf(w.opts.Stderr, "rubric: worker: run %s, case %q, target %s, repeat %d (attempt %d of %d): %v\n",
			a.Run, a.Case, a.Target, a.Repeat, job.Attempt, job.MaxAttempts, err)
	}
	return err
}

func (w *worker) work(ctx context.Context, job *river.Job[Job]) error {
	a := job.Args
	// An attempt after one that stored the result (and was then cut
	// short) sends nothing again.
	var stored bool
	if err := w.q.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rubric_queue_results
		WHERE run = $1 AND target = $2 AND case_id = $3 AND repeat = $4)`, a.Run, a.Target, a.Case, a.Repeat).Scan(&stored); err != nil {
		return w.q.wrap(err)
	}
	if stored {
		return nil // River completes the job
	}
	l, err := w.load(ctx, a.Run)
	if err != nil {
		return err
	}
	defer w.release(l)
	c, ok := l.cases[a.Case]
	if !ok {
		return river.JobCancel(fmt.Errorf("run %s: the dataset has no case %q", a.Run, a.Case))
	}
	ti, ok := l.targets[a.Target]
	if !ok {
		return river.JobCancel(fmt.Errorf("run %s: the suite has no target %q", a.Run, a.Target))
	}
	select {
	case l.slots[ti] <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	r, err := runner.RunCase(ctx, l.run, ti, c, a.Repeat)
	<-l.slots[ti]
	if err != nil {
		return err // unreachable: tried again later
	}
	if r == nil {
		return fmt.Errorf("cut short (%w): tried again", context.Cause(ctx))
	}
	return w.store(ctx, a, r)
}

// store stores r, the result of job a, and lets River complete the job,
// which it does in batches. The result is stored first, in a statement of
// its own: a worker killed between the two leaves a job that is tried
// again, finds the result (work's check) and completes without sending.
// The results' primary key keeps one result a case, an earlier attempt's
// when there was one. A transaction that stored the result and completed
// the job together cost PostgreSQL five statements a job instead of one.
func (w *worker) store(ctx context.Context, a Job, r *evals.Result) error {
	line, err := json.Marshal(r)
	if err != nil {
		return river.JobCancel(fmt.Errorf("encoding the result: %w", err))
	}
	// The result is in hand: store it even when the lease ends meanwhile.
	_, err = w.q.pool.Exec(context.WithoutCancel(ctx), `INSERT INTO rubric_queue_results (run, target, case_id, repeat, result)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, a.Run, a.Target, a.Case, a.Repeat, string(line))
	return w.q.wrap(err)
}

// load returns run id's suite, loading it the first time, and counts the
// job that asked as using it until it calls release (only when load
// returns no error).
func (w *worker) load(ctx context.Context, id string) (*loaded, error) {
	w.mu.Lock()
	l, ok := w.runs[id]
	if !ok {
		l = &loaded{ready: make(chan struct{})}
		w.runs[id] = l
		go func() {
			defer close(l.ready)
			l.err = w.build(context.WithoutCancel(ctx), id, l)
			if l.err != nil {
				if l.s != nil {
					_ = l.s.Close()
				}
				w.mu.Lock()
				delete(w.runs, id) // tried again by the next job
				w.mu.Unlock()
			}
		}()
	}
	l.inflight++
	w.mu.Unlock()
	select {
	case <-l.ready:
		if l.err != nil {
			w.release(l)
			return nil, l.err
		}
		return l, nil
	case <-ctx.Done():
		w.release(l)
		return nil, ctx.Err()
	}
}

// release ends a job's use of l.
func (w *worker) release(l *loaded) {
	w.mu.Lock()
	l.inflight--
	l.last = time.Now()
	w.mu.Unlock()
}

// evict forgets the suites built that no job has used for idle at now and
// returns them, for the caller to close.
func (w *worker) evict(now time.Time, idle time.Duration) []*loaded {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*loaded
	for id, l := range w.runs {
		select {
		case <-l.ready:
		default:
			continue // being built
		}
		if l.err == nil && l.inflight == 0 && now.Sub(l.last) >= idle {
			delete(w.runs, id)
			out = append(out, l)
		}
	}
	return out
}

// build loads and builds the suite of run id, after checking that its files
// here are the run's, and indexes its cases.
func (w *worker) build(ctx context.Context, id string, l *loaded) error {
	src, err := w.q.source(ctx, id)
	if err != nil {
		return err
	}
	for _, f := range []struct{ what, path, want string }{
		{"suite", src.Suite, src.SuiteSHA256}, {"dataset", src.Dataset, src.DatasetSHA256},
	} {
		if f.path == "" {
			continue
		}
		got, err := rundir.FileSHA256(ctx, f.path)
		if err != nil {
			return fmt.Errorf("run %s: its %s: %w (a worker needs the run's files at the same paths)", id, f.what, err)
		}
		if got != f.want {
			return fmt.Errorf("run %s: %s %s here has SHA-256 %s, the run's has %s: give this worker the run's files", id, f.what, f.path, got, f.want)
		}
	}
	bo := w.opts.Build
	bo.Load = src.Load
	bo.Load.RequireTargets = true
	bo.Targets, bo.Dataset = true, false
	bo.Buckets = w.q.Buckets(id)
	s, err := build.Load(ctx, src.Suite, bo)
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	l.s = s
	l.cases, l.targets = map[string]*evals.Case{}, map[string]int{}
	r, err := datasets.Open(s.Suite)
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	defer r.Close()
	for {
		c, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("run %s: %w", id, err)
		}
		l.cases[c.ID] = c
	}
	ts := make([]runner.Target, len(s.Targets))
	l.slots = make([]chan struct{}, len(s.Targets))
	for i, ep := range s.Targets {
		ts[i] = *ep
		l.targets[ep.Spec.Name] = i
		l.slots[i] = make(chan struct{}, ep.Spec.ConcurrencyOr())
	}
	l.run = runner.Options{RunID: id, Suite: s.Suite, Targets: ts, Criteria: s.Criteria, Tools: s.Tools, Simulator: s.Simulator}
	return nil
}

// close closes the suites the worker built.
func (w *worker) close() {
	w.mu.Lock()
	runs := make([]*loaded, 0, len(w.runs))
	for _, l := range w.runs {
		runs = append(runs, l)
	}
	w.mu.Unlock()
	for _, l := range runs {
		<-l.ready
		if l.err == nil {
			_ = l.s.Close()
		}
	}
}
