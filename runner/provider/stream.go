package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// What every streaming provider shares, whatever its events look like: a
// request whose answer is read as events (eventStream), the clock that times
// it, a pool of event readers, and the error for a stream that ended before
// its protocol said it was complete.

// streamProtocol is what reading a provider's stream needs to know of its
// protocol.
type streamProtocol struct {
	// last is the event that completes a stream, named in the error of one
	// cut off inside an event; "" when there is none (an openai stream ends
	// at [DONE], or closed after its last chunk).
	last string
	// notStream words the error of a 2xx answer that is one JSON body, not
	// events, and holds no error: the server does not stream.
	notStream func(c *client, resp *http.Response, body []byte) string
}

// eventStream is an answer being read as server-sent events: a pooled
// reader of its events, over a body of at most maxResponseBody bytes, and
// the clock that times its tokens. It holds the request's connection and
// context until close, or, after drain, until what is left of the body is
// read. Not safe for concurrent use.
type eventStream struct {
	*limitedSSE
	clock streamClock
	c     *client
	proto *streamProtocol
	resp  *http.Response
	// rctx is the request's own context, whose deadline is the target's
	// timeout: made for the stream and ended with it (cancel), as an
	// http.Request carries its own, it outlives the call that opened the
	// stream when drain reads the body's end.
	rctx     context.Context
	cancel   context.CancelFunc
	draining bool // drain has the stream
	events   int  // the events read
}

// openStream sends body to u, asking for server-sent events, and returns the
// stream of the answer, whose clock started as the request was sent; the
// caller closes it, or drains it once the answer is complete. An answer that
// is not a stream is an error: an error status, as without streaming, or a
// 2xx JSON body (notStreamed).
func (c *client) openStream(ctx context.Context, u *url.URL, h http.Header, body []byte, sent *evals.SentRequest, proto *streamProtocol) (*eventStream, *evals.ProviderError) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	clock := startClock()
	resp, err := c.roundTrip(rctx, http.MethodPost, u, h, body)
	if err != nil {
		cancel()
		return nil, c.failed(ctx, rctx, sent, err, "")
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 || isJSON(resp.Header) {
		defer cancel()
		defer resp.Body.Close()
		return nil, c.notStreamed(ctx, rctx, resp, sent, proto)
	}
	return &eventStream{limitedSSE: getSSE(resp.Body), clock: clock, c: c, proto: proto,
		resp: resp, rctx: rctx, cancel: cancel}, nil
}

// next returns the next event, ok. At the end of the stream it returns ok
// false with no error when the stream ended between two events (whether the
// answer is complete there is the caller's to say), or with the error it
// ended with: cut off inside an event (streamCut), longer than
// maxResponseBody, a body that held no event at all (a decode error: it is
// not a stream, and asking again will not make it one), or the connection
// failed; ctx is the run's.
func (s *eventStream) next(ctx context.Context) (ev sseEvent, ok bool, perr *evals.ProviderError) {
	ev, err := s.sse.Next()
	switch {
	case err == nil:
		s.events++
		return ev, true, nil
	case s.overLimit():
		return ev, false, &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: fmt.Sprintf("stream larger than %d MiB", maxResponseBody>>20)}
	case err == io.EOF && s.events == 0 && s.read() > 0:
		return ev, false, &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: fmt.Sprintf("the response holds no server-sent events (Content-Type %q)", s.resp.Header.Get("Content-Type"))}
	case err == io.EOF:
		return ev, false, nil
	case errors.Is(err, errSSETruncated):
		why := "it ended inside an event"
		if s.proto.last != "" {
			why += ", before " + s.proto.last
		}
		return ev, false, streamCut(why)
	}
	return ev, false, s.c.failed(ctx, s.rctx, nil, err, "reading the stream: ")
}

// close releases the stream now, unless drain has it.
func (s *eventStream) close() {
	if !s.draining {
		s.release()
	}
}

// release puts the event reader back, closes the body and ends the
// request's context.
func (s *eventStream) release() {
	putSSE(s.limitedSSE)
	s.resp.Body.Close()
	s.cancel()
}

// drain reads what is left of the stream after its last event in the
// background, then releases it; s is not to be used after it, but for
// close, which then does nothing. The
// connection is used again only once its body is read to the end, which the
// server sends after the last event (the last chunk of a chunked body);
// drain waits for it in the background, so that the answer is not held up
// by it. A server that never ends the body is cut off at the request's
// timeout.
func (s *eventStream) drain() {
	s.draining = true
	go func() {
		defer s.release()
		for {
			if _, err := s.sse.Next(); err != nil {
				return
			}
		}
	}()
}

// notStreamed is the error of an answer to a request for a stream that is
// not one: an error status, whose body says why as it does without
// streaming, or a 2xx JSON body, which a server that does not stream sends
// (or one that reports an error with a 2xx status).
func (c *client) notStreamed(ctx, rctx context.Context, resp *http.Response, sent *evals.SentRequest, proto *streamProtocol) *evals.ProviderError {
	rr, perr := c.readBody(ctx, rctx, resp, sent)
	if perr != nil {
		return perr
	}
	defer putReader(rr)
	b := rr.buf.Bytes()
	m, ok := c.apiMessage(b)
	if !ok {
		m = serverMessage(b)
	}
	if m != "" {
		return &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: "the server answered with an error instead of a stream: " + clip(c.redact(m))}
	}
	return &evals.ProviderError{Kind: evals.ErrKindDecode, Message: proto.notStream(c, resp, b)}
}

// isJSON reports whether a response's Content-Type is JSON.
func isJSON(h http.Header) bool {
	ct := h.Get("Content-Type")
	if strings.HasPrefix(ct, "text/event-stream") {
		return false // what a stream says, without parsing it
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

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
