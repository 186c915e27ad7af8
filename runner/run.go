package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/mock"
)

// CaseSource yields cases one at a time and io.EOF after the last.
// datasets.Reader is one.
type CaseSource interface {
	Next() (*evals.Case, error)
	Close() error
}

// Target is a target ready to run.
type Target = evals.Endpoint

// Criterion is a criterion ready to score.
type Criterion = evals.Criterion

// Progress is the run's state after a result, for progress displays.
type Progress struct {
	Done   int
	Total  int // 0 when unknown
	Passed int
	Errors int
}

// Count adds r to the progress.
func (p *Progress) Count(r *evals.Result) {
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
	// Tools answers the tool calls of conversations; nil answers them
	// with exec mocks run in the current folder with an empty environment.
	Tools *mock.Answerer
	// Simulator is the target that plays the user, when the suite has a
	// user_simulator.
	Simulator *Target
	// MaxCost, when above 0, stops dispatch once the calls made (CallCost
	// of each result, those fed by Prior included) have cost that much:
	// requests in flight finish and are recorded, and Run returns a
	// *CostLimitError unless every result expected (Total) is done.
	MaxCost float64
	// Leaked are the ids of the cases found in training data, whose
	// results are marked (evals.Result.Leaked); nil for none.
	Leaked map[string]bool
}

// ErrInterrupted is returned, wrapped, when ctx was canceled before the run
// finished. The summary returned with it covers the results completed.
var ErrInterrupted = errors.New("run interrupted")

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
//
// Once the calls made have cost opts.MaxCost, no new request starts; those
// in flight finish and are recorded, and Run returns the summary, marked
// interrupted, with a *CostLimitError.
func Run(ctx context.Context, opts Options) (*evals.Summary, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	p := newPipeline(opts.RunID, opts.Suite, now(), opts.Statistics, opts.Sink, opts.Progress, opts.Total)
	p.col.cost.max = opts.MaxCost
	for _, t := range opts.Targets {
		p.target(t.Spec.Name, newAggregate(t.Spec, opts.Criteria, opts.Suite, p.st, max(opts.Repeat, 1)))
	}
	if opts.Prior != nil {
		if err := p.prior(opts.Prior); err != nil {
			return nil, err
		}
	}
	lanes := make([]lane, len(opts.Targets))
	for ti := range opts.Targets {
		lanes[ti] = lane{
			workers: opts.Targets[ti].Spec.ConcurrencyOr(),
			feed: func(ctx context.Context, queue func(work) bool) error {
				return feedCases(ctx, opts, ti, queue)
			},
			do: func(ctx context.Context, w work) (*evals.Result, error) {
				r, ue := execute(ctx, opts, ti, w)
				if ue != nil {
					return nil, ue // the target's endpoint is unreachable: stop it
				}
				return r, nil
			},
		}
	}
	unreachable, err := p.run(ctx, lanes, opts.Grace)
	sum, col := p.finish(now()), p.col
	switch {
	case col.err != nil:
		return sum, col.err
	case ctx.Err() != nil:
		return sum, col.interrupted(sum)
	case err != nil:
		return sum, err
	case col.cost.hit && (col.p.Total == 0 || col.p.Done < col.p.Total):
		col.stopped(sum)
		return sum, &CostLimitError{Limit: col.cost.max, Spent: col.cost.spent, Done: col.p.Done, Total: col.p.Total}
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
}

func totalText(n int) string {
	if n == 0 {
		return "the"
	}
	return fmt.Sprint(n)
}

// feedCases reads the dataset and queues a case for target ti for each
// repeat not recorded already.
func feedCases(ctx context.Context, opts Options, ti int, queue func(work) bool) error {
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
			if !queue(work{c: c, repeat: rep}) {
				return nil
			}
		}
	}
}

// RunCase sends case c, repeat rep, to target ti of opts and scores the
// response, exactly as Run does for each of its cases (opts.Open, Sink,
// Done, Prior and the progress are not used): a worker of a shared queue
// runs a run's cases one job at a time with it. The result is nil when ctx
// ended before the case was done, which is then not to be recorded; the
// error is the target's *evals.UnreachableError when its endpoint could
// not be reached, the case not sent.
func RunCase(ctx context.Context, opts Options, ti int, c *evals.Case, rep int) (*evals.Result, error) {
	r, ue := execute(ctx, opts, ti, work{c: c, repeat: rep})
	if ue != nil {
		return nil, ue
	}
	return r, nil
}

// execute runs one job: render, request, score. It returns no result when
// the request was cut short by an interrupt, or found the target's endpoint
// unreachable (then it returns that error, with the target named), so that
// it is not recorded as done.
func execute(ctx context.Context, opts Options, ti int, j work) (*evals.Result, *evals.UnreachableError) {
	t := &opts.Targets[ti]
	r := &evals.Result{
		RunID:    opts.RunID,
		CaseID:   j.c.ID,
		Target:   t.Spec.Name,
		Repeat:   j.repeat,
		Vars:     j.c.Vars,
		Expected: j.c.Expected,
		Tags:     j.c.Tags,
		Metadata: j.c.Metadata,
		Leaked:   opts.Leaked[j.c.ID],
	}
	msgs, err := opts.Suite.Render(j.c)
	if err != nil {
		r.Status = evals.StatusError
		r.Error = &evals.ResultError{Kind: evals.ErrKindRender, Message: err.Error()}
		return r, nil
	}
	if opts.Suite.Conversational(j.c) {
		ok, ue := converse(ctx, &opts, t, j, msgs, r)
		if !ok || ue != nil {
			return nil, ue
		}
		if r.Status == evals.StatusError {
			return r, nil
		}
		lat := evals.Millis(r.LatencyMS)
		if r.Cached {
			lat = evals.Millis(r.OriginalLatencyMS)
		}
		// The conversation's response, as a result records it: the last
		// answer, the usage summed over the steps, the first step's stream
		// timings; criteria of tokens, cost and time to first token read it.
		resp := &evals.Response{Text: r.Output, Finish: r.Finish, Usage: r.Usage, Sent: r.Request,
			Attempts: r.Attempts, Cached: r.Cached, Stream: r.Stream}
		prompt := promptOf(r.Transcript)
		if len(prompt) < len(r.Transcript) {
			resp.ToolCalls = r.Transcript[len(prompt)].ToolCalls
		}
		in := &evals.Input{Case: j.c, Messages: prompt, Output: r.Output, Transcript: r.Transcript,
			Response: resp, Target: &t.Spec, Latency: lat, Repeat: j.repeat, SecretEnv: t.SecretEnv}
		if !scoreResult(ctx, opts.Suite, opts.Criteria, r, in) {
			return nil, nil
		}
		return r, nil
	}
	req := evals.CaseRequest(t.Spec.Name, j.c, j.repeat, msgs)
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
	r.Stream = resp.Stream
	r.Batch = resp.Batch
	if c, ok := t.Spec.ResponseCost(resp); ok {
		r.Cost = &c
	}
	lat := evals.Millis(r.LatencyMS)
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
		v := scoreTurns(ctx, c, in)
		r.Scores[i] = evals.Score{
			Name: c.Spec.Name, Type: c.Spec.Type, Weight: c.Spec.WeightOr(),
			Score: v.Score, Pass: v.Pass && !v.Unscored, Unscored: v.Unscored, Reason: v.Reason,
			Label: v.Label, Judge: v.Judge, BLEU: v.BLEU, Calls: v.Calls,
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
