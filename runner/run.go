package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rubric-eval/rubric/evals"
)

// CaseSource yields cases one at a time and io.EOF after the last.
// datasets.Reader is one.
type CaseSource interface {
	Next() (*evals.Case, error)
	Close() error
}

// Target is a target ready to run.
type Target struct {
	Spec     evals.TargetSpec
	Provider evals.Provider
	// SecretEnv names the variables holding the target's secrets
	// (evals.Endpoint.SecretEnv), for evals.Input.SecretEnv.
	SecretEnv []string
}

// Criterion is a criterion ready to score.
type Criterion struct {
	Spec   evals.CriterionSpec
	Scorer evals.Scorer
}

// Progress is the run's state after a result, for progress displays.
type Progress struct {
	Done   int
	Total  int // 0 when unknown
	Passed int
	Errors int
}

// count adds r to the progress.
func (p *Progress) count(r *evals.Result) {
	p.Done++
	switch r.Status {
	case evals.StatusPassed:
		p.Passed++
	case evals.StatusError:
		p.Errors++
	}
}

// Options are everything a run needs.
type Options struct {
	RunID    string
	Suite    *evals.Suite
	Targets  []Target
	Criteria []Criterion
	// Open opens the dataset; each target reads it on its own, at its own pace.
	Open func() (CaseSource, error)
	Sink evals.Sink
	// Total is the number of results expected, for progress; 0 when unknown.
	Total    int
	Progress func(Progress)
	// Grace is how long requests in flight may finish after ctx is canceled.
	// Results that complete within it are kept; the rest are not recorded.
	Grace time.Duration
	// Now is the clock, for tests; time.Now by default.
	Now func() time.Time
	// Repeat sends each case this many times (at least once), with distinct
	// repeat indexes.
	Repeat int
	// Done, when set, reports results that an earlier, interrupted attempt
	// of this run already recorded; they are not sent again.
	Done func(target, caseID string, repeat int) bool
	// Prior, when set, feeds the results already recorded to the aggregates
	// before the run starts, so that a resumed run reports all of them.
	Prior func(add func(*evals.Result)) error
	// Statistics sets the confidence intervals; zero means
	// evals.DefaultStatistics.
	Statistics evals.Statistics
}

// ErrInterrupted is returned, wrapped, when ctx was canceled before the run
// finished. The summary returned with it covers the results completed.
var ErrInterrupted = errors.New("run interrupted")

type job struct {
	c      *evals.Case
	target int
	repeat int
}

// Run sends every case to every target, scores the responses, passes each
// result to the sink and returns the aggregates. A failed request is a result
// like any other; only a dataset or sink failure stops the run. When ctx is
// canceled no new request starts, requests in flight get opts.Grace to finish,
// and Run returns the summary of what completed with ErrInterrupted.
//
// A request that fails with an *UnreachableError is not recorded: it stops
// that target, whose requests in flight are canceled and whose other cases
// are not sent, while the other targets run on. Run then returns the summary,
// marked interrupted so that a resumed run sends the cases left, with every
// such error, each naming its target.
func Run(ctx context.Context, opts Options) (*evals.Summary, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	st := opts.Statistics
	if st == (evals.Statistics{}) {
		st = evals.DefaultStatistics()
	}
	sum := newSummary(opts.RunID, opts.Suite, now(), st)
	aggs := make([]*aggregate, len(opts.Targets))
	for i, t := range opts.Targets {
		aggs[i] = newAggregate(t.Spec, opts.Criteria, opts.Suite, st, max(opts.Repeat, 1))
	}
	var prior Progress
	if opts.Prior != nil {
		err := opts.Prior(func(r *evals.Result) {
			for i, t := range opts.Targets {
				if t.Spec.Name == r.Target {
					aggs[i].add(r)
					prior.count(r)
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}

	// Requests get their own context: canceling ctx stops dispatch at once but
	// lets requests in flight finish within the grace period.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	stopGrace := context.AfterFunc(ctx, func() {
		time.AfterFunc(opts.Grace, cancelReqs)
	})
	defer stopGrace()

	// runCtx stops dispatch: on interrupt, or when results can no longer be written.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	results := make(chan done, 256)
	g, gctx := errgroup.WithContext(runCtx)
	// Each target's dispatch stops on its own when its endpoint turns out to
	// be unreachable (the cause is the *UnreachableError), and then its
	// requests in flight are canceled too.
	stops := make([]context.Context, len(opts.Targets))
	for ti := range opts.Targets {
		tctx, stopTarget := context.WithCancelCause(gctx)
		defer stopTarget(nil)
		treqCtx, cancelTargetReqs := context.WithCancel(reqCtx)
		defer cancelTargetReqs()
		stops[ti] = tctx
		jobs := make(chan job, opts.Targets[ti].Spec.ConcurrencyOr())
		g.Go(func() error {
			defer close(jobs)
			return produce(tctx, opts, ti, jobs)
		})
		for range opts.Targets[ti].Spec.ConcurrencyOr() {
			g.Go(func() error {
				for j := range jobs {
					if tctx.Err() != nil {
						continue // stopped: drain without sending
					}
					r, ue := execute(treqCtx, opts, j)
					if ue != nil {
						stopTarget(ue)
						cancelTargetReqs()
						continue
					}
					if r == nil {
						continue
					}
					// The collector reads until the channel closes, so a
					// completed result is always delivered, even when stopping.
					results <- done{r, ti}
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

	prior.Total = opts.Total
	col := &collector{sink: opts.Sink, progress: opts.Progress, p: prior,
		stop: func() { stopRun(); cancelReqs() }}
	for d := range results {
		if col.record(d.r) {
			aggs[d.target].add(d.r)
		}
	}
	err := <-waitErr
	sum.Finished = now().UTC()
	for _, a := range aggs {
		sum.Targets = append(sum.Targets, a.summary())
	}
	sum.Gate = CheckGates(opts.Suite.Gates, sum.Targets)
	var unreachable []error
	for _, tctx := range stops {
		var ue *evals.UnreachableError
		if errors.As(context.Cause(tctx), &ue) {
			unreachable = append(unreachable, ue)
		}
	}
	switch {
	case col.err != nil:
		return sum, col.err
	case ctx.Err() != nil:
		return sum, col.interrupted(sum)
	case err != nil:
		return sum, err
	case len(unreachable) > 0:
		col.stopped(sum)
		return sum, fmt.Errorf("%w\nthe run stopped with %d of %s results completed", errors.Join(unreachable...), col.p.Done, totalText(col.p.Total))
	}
	sum.Complete = true
	return sum, nil
}

// newSummary starts the summary of a run of suite s.
func newSummary(runID string, s *evals.Suite, started time.Time, st evals.Statistics) *evals.Summary {
	return &evals.Summary{
		ReportVersion: evals.ReportVersion,
		RunID:         runID,
		Suite:         s.Name,
		SuiteVersion:  s.Version,
		SuitePath:     s.Path,
		Started:       started.UTC(),
		Statistics:    st,
	}
}

// collector is the one goroutine that owns a run's output: it writes each
// result to the sink and reports progress. After the sink fails it calls
// stop and drops the results still coming.
type collector struct {
	sink     evals.Sink
	progress func(Progress)
	p        Progress
	stop     func()
	err      error // the sink's failure
}

// record writes r to the sink; false when r was not written, now or after
// an earlier failure, and must not be counted.
func (c *collector) record(r *evals.Result) bool {
	if c.err != nil {
		return false
	}
	if err := c.sink.Write(r); err != nil {
		c.err = fmt.Errorf("writing results: %w", err)
		c.stop()
		return false
	}
	c.p.count(r)
	if c.progress != nil {
		c.progress(c.p)
	}
	return true
}

// interrupted marks the summary of a run stopped by an interrupt and
// returns the error that says so.
func (c *collector) interrupted(sum *evals.Summary) error {
	c.stopped(sum)
	return fmt.Errorf("%w: %d of %s results completed", ErrInterrupted, c.p.Done, totalText(c.p.Total))
}

// stopped marks the summary of a run stopped before every case was sent,
// which --resume can finish.
func (c *collector) stopped(sum *evals.Summary) {
	sum.Interrupted = true
	sum.Gate.Held = false
	sum.Gate.Note = "the run did not complete: a gate is not held on partial results"
}

func totalText(n int) string {
	if n == 0 {
		return "the"
	}
	return fmt.Sprint(n)
}

// done is a completed result on its way to the collector.
type done struct {
	r      *evals.Result
	target int
}

// produce reads the dataset and queues a job per case for target ti.
func produce(ctx context.Context, opts Options, ti int, jobs chan<- job) error {
	src, err := opts.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	name := opts.Targets[ti].Spec.Name
	for {
		c, err := src.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for rep := range max(opts.Repeat, 1) {
			if opts.Done != nil && opts.Done(name, c.ID, rep) {
				continue
			}
			select {
			case jobs <- job{c: c, target: ti, repeat: rep}:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// execute runs one job: render, request, score. It returns no result when
// the request was cut short by an interrupt, or found the target's endpoint
// unreachable (then it returns that error, with the target named), so that
// it is not recorded as done.
func execute(ctx context.Context, opts Options, j job) (*evals.Result, *evals.UnreachableError) {
	t := &opts.Targets[j.target]
	r := &evals.Result{
		RunID:    opts.RunID,
		CaseID:   j.c.ID,
		Target:   t.Spec.Name,
		Repeat:   j.repeat,
		Vars:     j.c.Vars,
		Expected: j.c.Expected,
		Tags:     j.c.Tags,
		Metadata: j.c.Metadata,
	}
	msgs, err := opts.Suite.Render(j.c)
	if err != nil {
		r.Status = evals.StatusError
		r.Error = &evals.ResultError{Kind: evals.ErrKindRender, Message: err.Error()}
		return r, nil
	}
	req := &evals.Request{Target: t.Spec.Name, CaseID: j.c.ID, Repeat: j.repeat, Messages: msgs}
	start := time.Now()
	resp, err := t.Provider.Complete(ctx, req)
	elapsed := time.Since(start)
	if err != nil {
		var ue *evals.UnreachableError
		if errors.As(err, &ue) {
			named := *ue // shared by the target's requests
			named.Target = t.Spec.Name
			return nil, &named
		}
		re := evals.AsResultError(err)
		if re.Kind == evals.ErrKindCanceled {
			return nil, nil
		}
		var pe *evals.ProviderError
		if errors.As(err, &pe) {
			r.Request = pe.Sent
			r.Attempts = pe.Attempts
		}
		r.LatencyMS = ms(elapsed)
		r.Status = evals.StatusError
		r.Error = re
		return r, nil
	}
	r.Request = resp.Sent
	r.Output = resp.Text
	r.Finish = resp.Finish
	r.Usage = resp.Usage
	r.LatencyMS = ms(elapsed)
	if resp.Latency > 0 {
		r.LatencyMS = ms(resp.Latency)
	}
	r.Attempts = resp.Attempts
	if resp.Cached {
		r.Cached = true
		r.OriginalLatencyMS = ms(resp.OriginalLatency)
	}
	if c, ok := t.Spec.Cost(resp.Usage); ok {
		r.Cost = &c
	}
	lat := time.Duration(r.LatencyMS * float64(time.Millisecond))
	if resp.Cached {
		lat = resp.OriginalLatency
	}
	if !scoreResult(ctx, opts.Suite, opts.Criteria, r, &evals.Input{Case: j.c, Messages: msgs, Output: resp.Text, Response: resp, Target: &t.Spec, Latency: lat, Repeat: j.repeat, SecretEnv: t.SecretEnv}) {
		return nil, nil
	}
	return r, nil
}

// scoreResult scores in with every criterion and sets r's scores, score and
// status. It returns false when ctx ended while the criteria scored.
func scoreResult(ctx context.Context, s *evals.Suite, criteria []Criterion, r *evals.Result, in *evals.Input) bool {
	r.Scores = make([]evals.Score, len(criteria))
	for i, c := range criteria {
		v := c.Scorer.Score(ctx, in)
		r.Scores[i] = evals.Score{
			Name: c.Spec.Name, Type: c.Spec.Type, Weight: c.Spec.WeightOr(),
			Score: v.Score, Pass: v.Pass && !v.Unscored, Unscored: v.Unscored, Reason: v.Reason,
			Label: v.Label, Judge: v.Judge, BLEU: v.BLEU,
		}
	}
	if ctx.Err() != nil {
		// The grace period ended while the criteria scored: one that calls a
		// target (an LLM judge) was cut short. Left unrecorded, the case is
		// scored again by --resume, its response most likely from the cache.
		return false
	}
	r.Score, r.Status = CaseVerdict(s, r.Scores)
	return true
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// CaseVerdict turns criterion scores into the case's score and status. The score
// is the weighted mean over the criteria that scored; the status follows the
// suite's case_pass mode. A case no criterion could score is unscored.
func CaseVerdict(s *evals.Suite, scores []evals.Score) (*float64, evals.Status) {
	var sum, weights float64
	scored, failed, unscored := 0, 0, 0
	for _, sc := range scores {
		if sc.Unscored {
			unscored++
			continue
		}
		scored++
		sum += sc.Score * sc.Weight
		weights += sc.Weight
		if !sc.Pass {
			failed++
		}
	}
	if scored == 0 {
		return nil, evals.StatusUnscored
	}
	var mean float64
	if weights > 0 {
		mean = sum / weights
	} else {
		for _, sc := range scores {
			if !sc.Unscored {
				mean += sc.Score
			}
		}
		mean /= float64(scored)
	}
	if s.CasePass == evals.CasePassScore {
		if mean >= *s.PassScore-1e-12 {
			return &mean, evals.StatusPassed
		}
		return &mean, evals.StatusFailed
	}
	switch {
	case failed > 0:
		return &mean, evals.StatusFailed
	case unscored > 0:
		return &mean, evals.StatusUnscored
	}
	return &mean, evals.StatusPassed
}
