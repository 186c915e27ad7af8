package evals

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Status is a result's final state.
type Status string

// Statuses of a result.
const (
	StatusPassed   Status = "passed"
	StatusFailed   Status = "failed"
	StatusUnscored Status = "unscored"
	StatusError    Status = "error"
)

// Result is one case sent to one target once: what was sent, what came back,
// and how each criterion scored it, or the error.
type Result struct {
	RunID     string         `json:"run_id"`
	CaseID    string         `json:"case_id"`
	Target    string         `json:"target"`
	Repeat    int            `json:"repeat"`
	Vars      map[string]any `json:"vars,omitempty"`
	Expected  any            `json:"expected,omitempty"`
	Tags      []string       `json:"tags,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	Request   *SentRequest   `json:"request,omitempty"`
	Output    string         `json:"output"`
	Finish    string         `json:"finish_reason,omitempty"`
	Usage     Usage          `json:"usage"`
	LatencyMS float64        `json:"latency_ms"`
	// Cost is what the call cost at the target's price table; nil when the
	// target has none.
	Cost *float64 `json:"cost,omitempty"`
	// Attempts is how many times the request was sent (retries included).
	Attempts int `json:"attempts,omitempty"`
	// Cached marks a response served from the response cache; LatencyMS is
	// then the lookup's and OriginalLatencyMS the latency of the call that was
	// cached.
	Cached            bool    `json:"cached,omitempty"`
	OriginalLatencyMS float64 `json:"original_latency_ms,omitempty"`
	// Batch marks a response that came from a batch API (docs/batch.md):
	// its Cost is BatchPriceFactor of the live price.
	Batch bool `json:"batch,omitempty"`
	// Stream holds when a streamed response's tokens came; nil when the
	// response was not streamed.
	Stream *StreamTiming `json:"stream,omitempty"`
	// Transcript is the whole conversation of a case run as one: the
	// prompt, every assistant message with its tool calls, every tool
	// result and user turn. Steps counts the requests sent, ToolCalls the
	// tool calls and ToolErrors the calls answered with an error. Outcome
	// says why the conversation ended early (max_steps, max_turns); empty
	// when it ended with an answer.
	Transcript []Message    `json:"transcript,omitempty"`
	Steps      int          `json:"steps,omitempty"`
	ToolCalls  int          `json:"tool_calls,omitempty"`
	ToolErrors int          `json:"tool_errors,omitempty"`
	Outcome    string       `json:"outcome,omitempty"`
	Scores     []Score      `json:"scores,omitempty"`
	Score      *float64     `json:"score,omitempty"`
	Status     Status       `json:"status"`
	Error      *ResultError `json:"error,omitempty"`
	// Leaked marks the result of a case whose prompt is in the training
	// data of a manifest the run was checked against (--allow-leaks).
	Leaked bool `json:"leaked,omitempty"`
}

// SentRequest is the exact request sent to the endpoint, without secrets: the URL
// and the body. Headers are not recorded because they carry the keys.
type SentRequest struct {
	URL  string          `json:"url,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`
}

// Usage counts tokens as the endpoint reported them.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Add adds o's counts to u.
func (u *Usage) Add(o Usage) {
	u.PromptTokens += o.PromptTokens
	u.CompletionTokens += o.CompletionTokens
	u.TotalTokens += o.TotalTokens
}

// Score is one criterion's verdict on one response.
type Score struct {
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Weight   float64 `json:"weight"`
	Score    float64 `json:"score"`
	Pass     bool    `json:"pass"`
	Unscored bool    `json:"unscored,omitempty"`
	Reason   string  `json:"reason,omitempty"`
	// Label is set by a criterion that compares a label (label: true): the
	// label expected and the one the response gave, which the report's
	// classification metrics count. Nil otherwise, and when unscored.
	Label *Label `json:"label,omitempty"`
	// Judge is set by an LLM judge: the verdict and each judge's call.
	Judge *Judgement `json:"judge,omitempty"`
	// BLEU is set by a bleu criterion: the counts behind its sentence BLEU,
	// which the report sums into corpus BLEU. Nil for other criteria, and
	// when unscored.
	BLEU *BLEUCounts `json:"bleu,omitempty"`
	// Calls is set by a trajectory criterion: the tool calls expected,
	// made and paired, behind its tool-call precision, recall and F1,
	// which the report sums over the target's responses.
	Calls *CallCounts `json:"calls,omitempty"`
}

// CallCounts compare the tool calls a model made with those expected:
// Matched calls are paired one to one with an expected call (same name,
// the expected arguments a subset of the call's).
type CallCounts struct {
	Expected int `json:"expected"`
	Made     int `json:"made"`
	Matched  int `json:"matched"`
}

// PRF returns the precision (Matched / Made), recall (Matched / Expected)
// and F1 (2 Matched / (Expected + Made)) of the counts; each is 1 when its
// denominator is 0 (no call expected and none made is a perfect match).
func (c CallCounts) PRF() (precision, recall, f1 float64) {
	frac := func(a, b int) float64 {
		if b == 0 {
			return 1
		}
		return float64(a) / float64(b)
	}
	return frac(c.Matched, c.Made), frac(c.Matched, c.Expected), frac(2*c.Matched, c.Expected+c.Made)
}

// BLEUCounts are the sufficient statistics of BLEU for one response, as
// sacrebleu counts them for a segment: summed over responses, they give
// corpus BLEU.
type BLEUCounts struct {
	// HypLen counts the tokens of the response (the hypothesis), RefLen those
	// of the reference closest in length.
	HypLen int `json:"hyp_len"`
	RefLen int `json:"ref_len"`
	// Matches counts, by n-gram order from 1 to 4, the response's n-grams
	// found in a reference (clipped); Totals counts all its n-grams.
	Matches [4]int `json:"matches"`
	Totals  [4]int `json:"totals"`
}

// Judgement is what an LLM judge criterion decided and how.
type Judgement struct {
	// Verdict is the choice that decided the score: the one judge's, or the
	// majority's. Empty when there was none (the criterion is unscored).
	Verdict string `json:"verdict,omitempty"`
	// Votes holds each judge's call, in the order the judges are listed.
	Votes []JudgeVote `json:"votes"`
}

// Label is what a classification criterion compared: the label expected and
// the label the response gave ("" when it gave none).
type Label struct {
	Expected  string `json:"expected"`
	Predicted string `json:"predicted"`
}

// JudgeVote is one LLM judge's call on one response.
type JudgeVote struct {
	// Target and Model name the judge.
	Target string `json:"target"`
	Model  string `json:"model,omitempty"`
	// Temperature and Seed are those the request asked for: the judge
	// target's params, or the judge's defaults (0 and a fixed seed).
	Temperature float64 `json:"temperature"`
	Seed        int64   `json:"seed"`
	// Verdict is the choice the judge named; empty when the call failed or
	// its answer could not be parsed, and Error then says why.
	Verdict string `json:"verdict,omitempty"`
	Error   string `json:"error,omitempty"`
	// Cached marks an answer served from the response cache.
	Cached bool `json:"cached,omitempty"`
	// Usage is the tokens the judge's endpoint reported; Cost is what the
	// call cost at the judge target's price table, when it has one.
	Usage    *Usage   `json:"usage,omitempty"`
	Cost     *float64 `json:"cost,omitempty"`
	Currency string   `json:"currency,omitempty"`
}

// ResultError is why a case has no response to score.
type ResultError struct {
	Kind    string `json:"kind"`
	Status  int    `json:"status,omitempty"`
	Message string `json:"message"`
}

// Error kinds recorded in results and counted in reports.
const (
	ErrKindHTTP      = "http_status" // the endpoint answered with a non-2xx status
	ErrKindTransport = "transport"   // connection refused, reset, closed early
	ErrKindTimeout   = "timeout"     // the request took longer than the target's timeout
	ErrKindDecode    = "decode"      // the response body was not what the API promises
	ErrKindRender    = "render"      // the prompt template could not be rendered for this case
	ErrKindReplay    = "replay"      // no recording for this case
	ErrKindCanceled  = "canceled"    // the run was interrupted while the request was in flight
	ErrKindRateLimit = "rate_limit"  // the rate limiter could not admit the request before the run ended
	ErrKindExec      = "exec"        // the model's command (provider exec) exited non-zero, could not start, or broke protocol "lines"
)

// Messages returns the chat messages of the recorded request body, as they
// were sent: the prompt rendered for the case. A top-level "system" string
// (the Anthropic Messages layout) comes first, as a system message. Content
// given as a list of parts is joined from its text parts. ok is false when
// the body has no messages.
func (r *SentRequest) Messages() (msgs []Message, ok bool, err error) {
	if r == nil || len(r.Body) == 0 {
		return nil, false, nil
	}
	var body struct {
		System   json.RawMessage `json:"system"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return nil, false, fmt.Errorf("request body: %w", err)
	}
	if body.Messages == nil {
		return nil, false, nil
	}
	if len(body.System) > 0 && string(body.System) != "null" {
		text, err := contentText(body.System)
		if err != nil {
			return nil, false, fmt.Errorf("request body: system: %w", err)
		}
		msgs = append(msgs, Message{Role: "system", Content: text})
	}
	for i, m := range body.Messages {
		text, err := contentText(m.Content)
		if err != nil {
			return nil, false, fmt.Errorf("request body: messages[%d].content: %w", i, err)
		}
		msgs = append(msgs, Message{Role: m.Role, Content: text})
	}
	return msgs, true, nil
}

// contentText reads message content: a string, or a list of parts whose
// text parts are joined (images and other parts have no text to keep).
func contentText(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("expected a string or a list of content parts")
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Text == nil {
			return "", fmt.Errorf("part %d is %q, not text", i, p.Type)
		}
		b.WriteString(*p.Text)
	}
	return b.String(), nil
}

// StreamTiming is when a streamed response's tokens came, in milliseconds
// from the moment the request was sent.
type StreamTiming struct {
	// FirstTokenMS is the time to the first token of any kind, reasoning
	// included.
	FirstTokenMS float64 `json:"first_token_ms"`
	// FirstContentMS is the time to the first token of the answer itself:
	// reasoning models stream their reasoning first. Equal to FirstTokenMS
	// for a model that does not.
	FirstContentMS float64 `json:"first_content_ms"`
	// TokensPerSecond is the output tokens per second after the first
	// token, from the usage the stream reported; 0 when it reported none.
	TokensPerSecond float64 `json:"tokens_per_second,omitempty"`
}

// Millis turns milliseconds as results record them (LatencyMS) into a
// duration, rounded to the nanosecond: 1.021 ms is 1,021,000 ns, not the
// 1,020,999 that truncating its binary value gives.
func Millis(ms float64) time.Duration {
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}
