package runner

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// Recorded is a response recorded earlier, with the case it answered: what
// Score scores without calling the model.
type Recorded struct {
	Case   *evals.Case
	Target string
	Repeat int
	// Messages is the prompt as it was sent, for criteria that read it.
	Messages []evals.Message
	// Response is what came back. When Error is set there was no response to
	// score, and only its Sent, Latency and Attempts are kept.
	Response *evals.Response
	Error    *evals.ResultError
	// Conversation is what a conversation recorded (its transcript and
	// counts); nil for a single answer.
	Conversation *Conversation
}

// Conversation is the record of a case run as a conversation, as a result
// holds it.
type Conversation struct {
	Transcript                   []evals.Message
	Steps, ToolCalls, ToolErrors int
	Outcome                      string
}

// ScoreOptions are everything Score needs.
type ScoreOptions struct {
	RunID    string
	Suite    *evals.Suite
	Criteria []Criterion
	// Targets are listed first in the summary, in this order. A target that
	// only the recordings name is added after them, in name order, with
	// Provider as its provider.
	Targets  []evals.TargetSpec
	Provider string
	// Read yields the recordings: it calls emit with each, in order, and
	// returns emit's error when emit fails. It runs on its own goroutine.
	Read func(emit func(*Recorded) error) error
	Sink evals.Sink
	// Concurrency is the number of responses scored at once; GOMAXPROCS
	// when 0.
	Concurrency int
	// Total is the number of recordings, for progress; 0 when unknown.
	Total int
	// Repeat is how many times each case was sent, when the recordings are
	// a run's with repeats: their results then get the repeats section.
	Repeat   int
	Progress func(Progress)
	// Now is the clock, for tests; time.Now by default.
	Now func() time.Time
}

// Score scores recorded responses with the suite's criteria, without calling
// the model under test, passes each result to the sink and returns the
// aggregates, as Run does. Memory does not grow with the number of
// recordings: they stream from Read to the sink. When ctx is canceled no new
// recording is read, those being scored are finished and kept, and Score
// returns the summary of what completed with ErrInterrupted.
func Score(ctx context.Context, opts ScoreOptions) (*evals.Summary, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	p := newPipeline(opts.RunID, opts.Suite, now(), evals.DefaultStatistics(), opts.Sink, opts.Progress, opts.Total)
	repeat := max(opts.Repeat, 1)
	for _, t := range opts.Targets {
		p.target(t.Name, newAggregate(t, opts.Criteria, opts.Suite, p.st, repeat))
	}
	p.newAgg = func(name string) *aggregate {
		return newAggregate(evals.TargetSpec{Name: name, Provider: opts.Provider}, opts.Criteria, opts.Suite, p.st, repeat)
	}
	workers := opts.Concurrency
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	recorded := lane{
		workers: workers,
		feed: func(ctx context.Context, queue func(work) bool) error {
			err := opts.Read(func(rec *Recorded) error {
				if !queue(work{rec: rec}) {
					return errStopped
				}
				return nil
			})
			if errors.Is(err, errStopped) {
				return nil
			}
			return err
		},
		do: func(ctx context.Context, w work) (*evals.Result, error) {
			return scoreRecorded(ctx, opts, w.rec), nil
		},
		// Recordings read are scored, even after Ctrl-C: scoring sends nothing.
		finishQueued: true,
	}
	// A response being scored is finished, its judge calls included, never
	// recorded as unscored because of Ctrl-C: no grace period ends it.
	_, err := p.run(ctx, []lane{recorded}, -1)
	sum, col := p.finish(now()), p.col
	switch {
	case col.err != nil:
		return sum, col.err
	case err != nil:
		return sum, err
	case ctx.Err() != nil:
		return sum, col.interrupted(sum)
	}
	sum.Complete = true
	return sum, nil
}

// errStopped ends Read when scoring stops early.
var errStopped = errors.New("scoring stopped")

// scoreRecorded turns one recording into a scored result.
func scoreRecorded(ctx context.Context, opts ScoreOptions, rec *Recorded) *evals.Result {
	c := rec.Case
	r := &evals.Result{
		RunID:    opts.RunID,
		CaseID:   c.ID,
		Target:   rec.Target,
		Repeat:   rec.Repeat,
		Vars:     c.Vars,
		Expected: c.Expected,
		Tags:     c.Tags,
		Metadata: c.Metadata,
	}
	resp := rec.Response
	if resp != nil {
		r.Request = resp.Sent
		r.LatencyMS = ms(resp.Latency)
		r.Attempts = resp.Attempts
	}
	if cv := rec.Conversation; cv != nil {
		r.Transcript, r.Steps, r.ToolCalls, r.ToolErrors, r.Outcome = cv.Transcript, cv.Steps, cv.ToolCalls, cv.ToolErrors, cv.Outcome
	}
	if rec.Error != nil || resp == nil {
		r.Status = evals.StatusError
		r.Error = rec.Error
		if r.Error == nil {
			r.Error = &evals.ResultError{Kind: evals.ErrKindReplay, Message: "no response recorded"}
		}
		return r
	}
	r.Output = resp.Text
	r.Finish = resp.Finish
	r.Usage = resp.Usage
	if resp.Cached {
		r.Cached = true
		r.OriginalLatencyMS = ms(resp.OriginalLatency)
	}
	r.Stream = resp.Stream
	r.Batch = resp.Batch
	lat := resp.Latency
	if resp.Cached {
		lat = resp.OriginalLatency
	}
	// ctx is not canceled by an interrupt (see Score), so scoring finishes.
	in := &evals.Input{Case: c, Messages: rec.Messages, Output: resp.Text, Response: resp, Latency: lat, Repeat: rec.Repeat}
	if r.Transcript != nil {
		in.Transcript = r.Transcript
		in.Messages = promptOf(r.Transcript)
	}
	scoreResult(ctx, opts.Suite, opts.Criteria, r, in)
	return r
}

// RecordedResult turns a result of an earlier run back into the recording it
// holds, to score it again: the same case, prompt and response, or the same
// error.
func RecordedResult(r *evals.Result) (*Recorded, error) {
	rec := &Recorded{
		Case:   &evals.Case{ID: r.CaseID, Vars: r.Vars, Expected: r.Expected, Tags: r.Tags, Metadata: r.Metadata},
		Target: r.Target,
		Repeat: r.Repeat,
		Response: &evals.Response{
			Text:     r.Output,
			Finish:   r.Finish,
			Usage:    r.Usage,
			Sent:     r.Request,
			Latency:  evals.Millis(r.LatencyMS),
			Attempts: r.Attempts,
			Stream:   r.Stream,
			Batch:    r.Batch,
		},
	}
	if r.Cached {
		rec.Response.Cached = true
		rec.Response.OriginalLatency = evals.Millis(r.OriginalLatencyMS)
	}
	if r.Transcript != nil {
		rec.Conversation = &Conversation{Transcript: r.Transcript, Steps: r.Steps, ToolCalls: r.ToolCalls, ToolErrors: r.ToolErrors, Outcome: r.Outcome}
	}
	if r.Status == evals.StatusError || r.Error != nil {
		rec.Error = r.Error
		if rec.Error == nil {
			rec.Error = &evals.ResultError{Kind: evals.ErrKindReplay, Message: "the recorded result is an error without a reason"}
		}
		return rec, nil
	}
	if r.Transcript != nil {
		// The request body holds the conversation in the provider's own
		// form (Anthropic's tool_use blocks); the transcript holds it as
		// it was.
		rec.Messages = promptOf(r.Transcript)
		return rec, nil
	}
	msgs, _, err := r.Request.Messages()
	if err != nil {
		return nil, fmt.Errorf("case %s (target %s, repeat %d): %w", r.CaseID, r.Target, r.Repeat, err)
	}
	rec.Messages = msgs
	return rec, nil
}
