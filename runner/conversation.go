package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/mock"
)

// A case with tools, turns or a simulated user is a conversation: the loop
// below sends it step by step, each step a request like a single case's
// (through the target's cache, retries and rate limit), answering the
// model's tool calls from the mocks in between, and the result records the
// transcript.
//
//	turn:  user message -> step: request -> answer calls tools? -> tool
//	       messages -> step ... -> an answer without calls ends the turn
//
// A step's request holds the whole conversation so far; Request.Step counts
// the requests of the case from 0, which a replayed conversation is keyed
// by. A case's result is written when the conversation ends: an
// interrupted one is sent again by --resume, its finished steps served by
// the response cache.

// conversation is one case's conversation with one target as it goes.
type conversation struct {
	opts  *Options
	t     *Target
	c     *evals.Case
	rep   int
	tools []evals.Tool
	// transcript is every message so far; r collects the result.
	transcript []evals.Message
	r          *evals.Result
	steps      int
	latency    time.Duration // the calls' latencies, summed
	original   time.Duration // the original latencies of cached answers
	cached     bool          // every step came from the cache
	last       *evals.Response
}

// converse runs case j with target t as a conversation, starting from the
// prompt msgs, and fills r. It returns false when the conversation was cut
// short by an interrupt (nothing is recorded), and the target's
// *UnreachableError when its endpoint is not reachable.
func converse(ctx context.Context, opts *Options, t *Target, j work, msgs []evals.Message, r *evals.Result) (bool, *evals.UnreachableError) {
	cv := &conversation{
		opts: opts, t: t, c: j.c, rep: j.repeat,
		tools:      opts.Suite.CaseTools(j.c),
		transcript: append(make([]evals.Message, 0, len(msgs)+8), msgs...),
		r:          r,
		cached:     true,
	}
	ok, ue := cv.run(ctx)
	if !ok || ue != nil {
		return ok, ue
	}
	cv.finish()
	return true, nil
}

// run holds the conversation: the prompt's turn, then each scripted turn.
// It stops at the first failed request (r then records the error) or when
// a turn reaches max_steps.
func (cv *conversation) run(ctx context.Context) (bool, *evals.UnreachableError) {
	for turn := 0; ; turn++ {
		if turn > 0 {
			var text string
			var more bool
			if turn <= len(cv.c.Turns) {
				var err error
				if text, err = cv.opts.Suite.RenderTurn(cv.c, turn-1); err != nil {
					cv.fail(&evals.ResultError{Kind: evals.ErrKindRender, Message: err.Error()})
					return true, nil
				}
			} else if text, more = cv.simulate(ctx, turn-len(cv.c.Turns)); !more {
				return ctx.Err() == nil, nil
			}
			cv.transcript = append(cv.transcript, evals.Message{Role: evals.RoleUser, Content: text})
		}
		done, ok, ue := cv.turn(ctx)
		if !ok || ue != nil || done {
			return ok, ue
		}
	}
}

// simulate has the simulated user write its n-th message (from 1), if the
// suite has one. more is false when the conversation ends here: no
// simulator, it wrote the stop marker, it has written max_turns messages
// (the outcome max_turns), or its request failed (recorded as the result's
// error).
func (cv *conversation) simulate(ctx context.Context, n int) (text string, more bool) {
	sim := cv.opts.Suite.UserSimulator
	if sim == nil || cv.opts.Simulator == nil {
		return "", false
	}
	maxTurns := sim.MaxTurns
	if maxTurns <= 0 {
		maxTurns = evals.DefaultMaxTurns
	}
	if n > maxTurns {
		cv.r.Outcome = evals.OutcomeMaxTurns
		return "", false
	}
	opening, err := cv.opts.Suite.RenderSimulator(cv.c)
	if err != nil {
		cv.fail(&evals.ResultError{Kind: evals.ErrKindRender, Message: err.Error()})
		return "", false
	}
	req := &evals.Request{
		Target: cv.opts.Simulator.Spec.Name, CaseID: cv.c.ID, Repeat: cv.rep,
		Messages: append(opening, userSide(cv.transcript)...), Vars: cv.c.Vars, Step: n - 1,
	}
	resp, err := cv.opts.Simulator.Provider.Complete(ctx, req)
	if err != nil {
		re := evals.AsResultError(err)
		if re.Kind != evals.ErrKindCanceled {
			re.Message = "the simulated user (" + cv.opts.Simulator.Spec.Name + "): " + re.Message
			cv.fail(re)
		}
		return "", false
	}
	stop := sim.Stop
	if stop == "" {
		stop = evals.DefaultStop
	}
	if strings.Contains(resp.Text, stop) {
		return "", false
	}
	return resp.Text, true
}

// userSide is the conversation as the simulated user sees it: the user's
// messages as its own (assistant), the target's answers as what it is told
// (user); the prompt's system messages and the tool traffic left out.
func userSide(transcript []evals.Message) []evals.Message {
	var out []evals.Message
	for _, m := range transcript {
		switch {
		case m.Role == evals.RoleUser:
			out = append(out, evals.Message{Role: evals.RoleAssistant, Content: m.Content})
		case m.Role == evals.RoleAssistant && m.Content != "":
			out = append(out, evals.Message{Role: evals.RoleUser, Content: m.Content})
		}
	}
	return out
}

// turn sends requests until the model answers without calling a tool. done
// is true when the conversation ends here: a request failed, or max_steps.
func (cv *conversation) turn(ctx context.Context) (done, ok bool, ue *evals.UnreachableError) {
	maxSteps := cv.opts.Suite.MaxStepsOr()
	for step := 0; ; step++ {
		resp, ok, ue := cv.send(ctx)
		if !ok || ue != nil {
			return true, ok, ue
		}
		if resp == nil {
			return true, true, nil // the request failed: recorded
		}
		calls := resp.ToolCalls
		for i := range calls {
			if calls[i].ID == "" {
				// Some servers give no ids; the tool messages need one to
				// answer, the same every time for the cache.
				calls[i].ID = fmt.Sprintf("call_%d_%d", cv.steps-1, i)
			}
		}
		cv.transcript = append(cv.transcript, evals.Message{Role: evals.RoleAssistant, Content: resp.Text, ToolCalls: calls})
		if len(calls) == 0 {
			return false, true, nil
		}
		if step+1 >= maxSteps {
			cv.r.Outcome = evals.OutcomeMaxSteps
			return true, true, nil
		}
		for _, call := range calls {
			a := cv.answerer().Answer(ctx, cv.tools, cv.c, call)
			if ctx.Err() != nil {
				return true, false, nil // cut short while a tool ran
			}
			cv.transcript = append(cv.transcript, evals.Message{Role: evals.RoleTool, ToolCallID: call.ID, Name: call.Name, Content: a.Content, Error: a.Error})
		}
	}
}

func (cv *conversation) answerer() *mock.Answerer {
	if cv.opts.Tools != nil {
		return cv.opts.Tools
	}
	return defaultAnswerer
}

// defaultAnswerer answers for a run whose options set none: exec mocks then
// run in the current folder with no environment.
var defaultAnswerer = &mock.Answerer{}

// send sends the conversation so far as the next step. It returns the
// response, or nil when the request failed (recorded in r); ok is false
// when an interrupt cut it short.
func (cv *conversation) send(ctx context.Context) (*evals.Response, bool, *evals.UnreachableError) {
	req := &evals.Request{
		Target: cv.t.Spec.Name, CaseID: cv.c.ID, Repeat: cv.rep,
		Messages: cv.transcript[:len(cv.transcript):len(cv.transcript)],
		Vars:     cv.c.Vars, Tools: cv.tools, ToolChoice: cv.opts.Suite.ToolChoice,
		Step: cv.steps,
	}
	if len(req.Tools) == 0 {
		req.ToolChoice = nil
	}
	cv.steps++
	start := time.Now()
	resp, err := cv.t.Provider.Complete(ctx, req)
	elapsed := time.Since(start)
	if err != nil {
		var ue *evals.UnreachableError
		if errors.As(err, &ue) {
			named := *ue
			named.Target = cv.t.Spec.Name
			return nil, true, &named
		}
		re := evals.AsResultError(err)
		if re.Kind == evals.ErrKindCanceled {
			return nil, false, nil
		}
		var pe *evals.ProviderError
		if errors.As(err, &pe) {
			cv.r.Request = pe.Sent
			cv.r.Attempts += pe.Attempts
		}
		cv.latency += elapsed
		cv.cached = false
		cv.fail(re)
		return nil, true, nil
	}
	cv.last = resp
	lat := elapsed
	if resp.Latency > 0 {
		lat = resp.Latency
	}
	cv.latency += lat
	if resp.Cached {
		cv.original += resp.OriginalLatency
	} else {
		cv.cached = false
		cv.original += lat
	}
	cv.r.Usage.Add(resp.Usage)
	cv.r.Attempts += resp.Attempts
	if cv.r.Stream == nil {
		cv.r.Stream = resp.Stream
	}
	return resp, true, nil
}

// fail records that the conversation ended on a failed request.
func (cv *conversation) fail(re *evals.ResultError) {
	cv.r.Status = evals.StatusError
	cv.r.Error = re
}

// finish fills the result from the conversation.
func (cv *conversation) finish() {
	r := cv.r
	r.Transcript = cv.transcript
	r.Steps = cv.steps
	r.ToolCalls = len(evals.CallsOf(cv.transcript))
	r.ToolErrors = evals.ToolErrorsOf(cv.transcript)
	r.LatencyMS = ms(cv.latency)
	if cv.cached && cv.steps > 0 {
		r.Cached = true
		r.OriginalLatencyMS = ms(cv.original)
	}
	switch {
	case r.Error != nil:
		// As for a single answer: the request that failed (send recorded
		// it), no output. A turn that failed before it was sent (its
		// template, the simulated user) keeps the last request sent.
		if r.Request == nil && cv.last != nil {
			r.Request = cv.last.Sent
		}
	case cv.last != nil:
		r.Request = cv.last.Sent
		r.Finish = cv.last.Finish
		r.Output = finalAnswer(cv.transcript)
	}
	if c, ok := cv.t.Spec.Cost(r.Usage); ok {
		r.Cost = &c
	}
}

// finalAnswer is the text of the transcript's last assistant message.
func finalAnswer(transcript []evals.Message) string {
	for i := len(transcript) - 1; i >= 0; i-- {
		if transcript[i].Role == evals.RoleAssistant {
			return transcript[i].Content
		}
	}
	return ""
}

// promptOf is what the final answer of a transcript answered: the messages
// before its last assistant message.
func promptOf(transcript []evals.Message) []evals.Message {
	for i := len(transcript) - 1; i >= 0; i-- {
		if transcript[i].Role == evals.RoleAssistant {
			return transcript[:i:i]
		}
	}
	return transcript
}

// scoreTurns scores in with criterion c on the turns its spec's turn picks:
// the final answer (the default), each turn's, turn N's, or the transcript.
func scoreTurns(ctx context.Context, c Criterion, in *evals.Input) evals.Verdict {
	turn := c.Spec.Turn
	if turn == nil || turn.Mode == evals.TurnFinal {
		return c.Scorer.Score(ctx, in)
	}
	transcript := in.Transcript
	if transcript == nil {
		// A single answer is a conversation of one turn.
		answer := evals.Message{Role: evals.RoleAssistant, Content: in.Output}
		if in.Response != nil {
			answer.ToolCalls = in.Response.ToolCalls
		}
		transcript = append(append(make([]evals.Message, 0, len(in.Messages)+1), in.Messages...), answer)
	}
	switch turn.Mode {
	case evals.TurnTranscript:
		at := *in
		at.Output = evals.TranscriptJSON(transcript)
		at.Transcript = transcript
		return c.Scorer.Score(ctx, &at)
	case evals.TurnIndex:
		spans := evals.Turns(transcript)
		if turn.Index > len(spans) {
			return evals.Verdict{Unscored: true, Reason: fmt.Sprintf("turn %d: the conversation has %d turn(s)", turn.Index, len(spans))}
		}
		v := c.Scorer.Score(ctx, turnInput(in, transcript, spans[turn.Index-1]))
		if v.Reason != "" {
			v.Reason = fmt.Sprintf("turn %d: %s", turn.Index, v.Reason)
		}
		return v
	}
	// Each turn: the mean score over the turns scored; a pass when every
	// one of them passes. The reason is the first failing turn's.
	spans := evals.Turns(transcript)
	var out evals.Verdict
	sum, scored, failed := 0.0, 0, 0
	var firstFail, firstUnscored string
	for i, sp := range spans {
		v := c.Scorer.Score(ctx, turnInput(in, transcript, sp))
		if v.Unscored {
			if firstUnscored == "" {
				firstUnscored = fmt.Sprintf("turn %d: %s", i+1, v.Reason)
			}
			continue
		}
		scored++
		sum += v.Score
		if !v.Pass {
			failed++
			if firstFail == "" {
				firstFail = fmt.Sprintf("turn %d: %s", i+1, v.Reason)
			}
		}
		out.Label, out.Judge, out.Calls = v.Label, v.Judge, v.Calls
	}
	if scored == 0 {
		return evals.Verdict{Unscored: true, Reason: firstUnscored}
	}
	out.Score = sum / float64(scored)
	out.Pass = failed == 0
	switch {
	case failed > 0:
		out.Reason = fmt.Sprintf("%d of %d turns failed; %s", failed, scored, firstFail)
	default:
		out.Reason = fmt.Sprintf("%d of %d turns passed", scored, scored)
		if firstUnscored != "" {
			out.Reason += "; " + firstUnscored
		}
	}
	return out
}

// turnInput is in as one turn of the transcript: that turn's answer, the
// messages it answered, and the transcript up to its end.
func turnInput(in *evals.Input, transcript []evals.Message, sp evals.TurnSpan) *evals.Input {
	at := *in
	end := transcript[:sp.End:sp.End]
	at.Output = sp.Answer
	at.Messages = promptOf(end)
	at.Transcript = end
	return &at
}
