package provider

import (
	"io"
	"math"
	"sync"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// What every streaming provider shares, whatever its events look like: the
// clock that times a streamed answer, a pool of event readers, and the
// error for a stream that ended before its protocol said it was complete.

// streamClock times a streamed answer from the moment its request was sent:
// the first token of any kind (reasoning included), the first token of the
// answer itself, and the last token. Not safe for concurrent use.
type streamClock struct {
	start, first, content, last time.Time
}

func startClock() streamClock { return streamClock{start: time.Now()} }

// token records a token that came now; answer says it is part of the answer
// rather than reasoning.
func (c *streamClock) token(answer bool) {
	now := time.Now()
	if c.first.IsZero() {
		c.first = now
	}
	if answer && c.content.IsZero() {
		c.content = now
	}
	c.last = now
}

// timing returns the timings of the answer, whose usage counted outputTokens
// (0 when the stream reported none), or nil when no token came: a stream
// that ended without a token has no time to its first one. FirstContentMS
// is 0 when only reasoning came. TokensPerSecond counts the tokens after the
// first over the time from the first to the last.
func (c *streamClock) timing(outputTokens int) *evals.StreamTiming {
	if c.first.IsZero() {
		return nil
	}
	t := &evals.StreamTiming{FirstTokenMS: durationMS(c.first.Sub(c.start))}
	if !c.content.IsZero() {
		t.FirstContentMS = durationMS(c.content.Sub(c.start))
	}
	if d := c.last.Sub(c.first); outputTokens > 1 && d > 0 {
		t.TokensPerSecond = roundTo(float64(outputTokens-1)/d.Seconds(), 1e3)
	}
	return t
}

// durationMS is d in milliseconds, to the microsecond, as results record
// latencies.
func durationMS(d time.Duration) float64 { return roundTo(float64(d)/float64(time.Millisecond), 1e3) }

// roundTo rounds v to 1/scale.
func roundTo(v, scale float64) float64 { return math.Round(v*scale) / scale }

// streamCut is the error of a stream that ended before it was complete:
// inside an event, or between events before the last one. It is a
// transport error, which is retried: the answer so far is never taken for a
// complete one.
func streamCut(why string) *evals.ProviderError {
	return &evals.ProviderError{Kind: evals.ErrKindTransport, Err: io.ErrUnexpectedEOF,
		Message: "the stream was cut off: " + why}
}

// limitedSSE is an event reader over a body of at most maxResponseBody bytes;
// pooled, so that its buffer is not allocated per request.
type limitedSSE struct {
	sse     *sseReader
	limited io.LimitedReader
}

var ssePool = sync.Pool{New: func() any {
	l := new(limitedSSE)
	l.sse = newSSEReader(&l.limited)
	return l
}}

// getSSE returns a reader of the events of body; put it back with putSSE.
func getSSE(body io.Reader) *limitedSSE {
	l := ssePool.Get().(*limitedSSE)
	l.limited = io.LimitedReader{R: body, N: maxResponseBody + 1}
	l.sse.reset(&l.limited)
	return l
}

// overLimit reports whether the stream was longer than maxResponseBody.
func (l *limitedSSE) overLimit() bool { return l.limited.N <= 0 }

// read counts the bytes read of the body.
func (l *limitedSSE) read() int64 { return maxResponseBody + 1 - l.limited.N }

func putSSE(l *limitedSSE) {
	if cap(l.sse.buf) > 1<<20 || cap(l.sse.data) > 1<<20 {
		return // let a rare huge event's buffers go
	}
	l.limited = io.LimitedReader{}
	l.sse.reset(&l.limited)
	ssePool.Put(l)
}
