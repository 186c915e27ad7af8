package provider

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// anthropicErrorStatus is the HTTP status each of the API's error types
// comes with; an error event in a stream (whose status was 200) is recorded
// with it, so that retries treat an overloaded_error mid-stream as the 529
// it stands for.
var anthropicErrorStatus = map[string]int{
	"invalid_request_error": http.StatusBadRequest,
	"authentication_error":  http.StatusUnauthorized,
	"billing_error":         http.StatusPaymentRequired,
	"permission_error":      http.StatusForbidden,
	"not_found_error":       http.StatusNotFound,
	"request_too_large":     http.StatusRequestEntityTooLarge,
	"rate_limit_error":      http.StatusTooManyRequests,
	"api_error":             http.StatusInternalServerError,
	"timeout_error":         http.StatusGatewayTimeout,
	"overloaded_error":      529,
}

// streamEvent is the data of one event of a Messages stream.
type streamEvent struct {
	Type         string            `json:"type"`
	Message      *anthropicMessage `json:"message"`       // message_start
	Index        int               `json:"index"`         // content_block_*
	ContentBlock *anthropicBlock   `json:"content_block"` // content_block_start
	Delta        *struct {
		Type        string `json:"type"`
		Text        string `json:"text"`         // text_delta
		Thinking    string `json:"thinking"`     // thinking_delta
		PartialJSON string `json:"partial_json"` // input_json_delta
		StopReason  string `json:"stop_reason"`  // message_delta
	} `json:"delta"`
	Usage *anthropicUsage `json:"usage"` // message_delta
}

// drainWait is how long the end of a stream's body may take to arrive after
// message_stop before the connection is given up rather than reused.
const drainWait = 100 * time.Millisecond

// completeStream sends body and reads the answer as it streams.
func (p *Anthropic) completeStream(ctx context.Context, body []byte, sent *evals.SentRequest) (*evals.Response, *evals.ProviderError) {
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	start := time.Now()
	resp, err := p.roundTrip(rctx, http.MethodPost, p.endpoint, p.header, body)
	if err != nil {
		return nil, p.failed(ctx, rctx, sent, err, "")
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		_, perr := p.readBody(ctx, rctx, resp, sent)
		return nil, perr
	}
	return p.readStream(ctx, rctx, cancel, resp, start)
}

// readStream reads a Messages stream to its message_stop: the text of its
// text blocks, the stop reason and usage, and when the tokens came. A
// stream that ends before message_stop, or inside an event, is a transport
// error, retried like a connection cut, never an answer.
func (p *Anthropic) readStream(ctx, rctx context.Context, cancel context.CancelFunc, resp *http.Response, start time.Time) (*evals.Response, *evals.ProviderError) {
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: "the target asks for a stream, and the endpoint answered with one JSON body (Content-Type " + ct + "): it does not stream; set stream to false"}
	}
	limited := &io.LimitedReader{R: resp.Body, N: maxResponseBody + 1}
	sse := newSSEReader(limited)
	var (
		usage               anthropicUsage
		stop                string
		blocks              []streamBlock
		firstToken, content time.Time
	)
	block := func(i int) *streamBlock {
		if i < 0 || i > 1<<16 {
			return nil
		}
		for len(blocks) <= i {
			blocks = append(blocks, streamBlock{})
		}
		return &blocks[i]
	}
	token := func(isContent bool) {
		now := time.Now()
		if firstToken.IsZero() {
			firstToken = now
		}
		if isContent && content.IsZero() {
			content = now
		}
	}
	for {
		ev, err := sse.Next()
		if err != nil {
			return nil, p.streamFailed(ctx, rctx, limited, err)
		}
		var se streamEvent
		if err := json.Unmarshal(ev.Data, &se); err != nil {
			return nil, &evals.ProviderError{Kind: evals.ErrKindDecode, Err: err,
				Message: p.redact(fmt.Sprintf("malformed %s event: %v", cmp.Or(ev.Type, "stream"), err)) + "; data: " + snippet(p.redact(string(ev.Data)))}
		}
		typ := se.Type
		if typ == "" {
			typ = ev.Type
		}
		switch typ {
		case "message_start":
			if se.Message != nil {
				usage.update(se.Message.Usage)
			}
		case "content_block_start":
			if b := block(se.Index); b != nil && se.ContentBlock != nil {
				b.typ = se.ContentBlock.Type
				if b.typ == "text" && se.ContentBlock.Text != "" {
					b.text = append(b.text, se.ContentBlock.Text...)
					token(true)
				}
			}
		case "content_block_delta":
			if se.Delta == nil {
				continue
			}
			switch d := se.Delta; d.Type {
			case "text_delta":
				if b := block(se.Index); b != nil {
					if b.typ == "" {
						b.typ = "text"
					}
					b.text = append(b.text, d.Text...)
				}
				if d.Text != "" {
					token(true)
				}
			case "thinking_delta":
				if d.Thinking != "" {
					token(false)
				}
			case "input_json_delta":
				if d.PartialJSON != "" {
					token(false)
				}
			}
		case "message_delta":
			if se.Delta != nil && se.Delta.StopReason != "" {
				stop = se.Delta.StopReason
			}
			if se.Usage != nil {
				usage.update(*se.Usage)
			}
		case "message_stop":
			end := time.Now()
			p.drain(sse, cancel)
			var text strings.Builder
			for i := range blocks {
				if blocks[i].typ == "text" {
					text.Write(blocks[i].text)
				}
			}
			u := usage.usage()
			return &evals.Response{Text: text.String(), Finish: stop, Usage: u,
				Stream: streamTiming(start, firstToken, content, end, u.CompletionTokens)}, nil
		case "error":
			var e anthropicError
			msg, ok := e.parse(ev.Data)
			if ok {
				msg = clip(p.redact(msg))
			} else {
				msg = snippet(p.redact(string(ev.Data)))
			}
			msg = "error event in the stream: " + msg
			errType := ""
			if e.Error != nil {
				errType = e.Error.Type
			}
			if status, ok := anthropicErrorStatus[errType]; ok {
				return nil, &evals.ProviderError{Kind: evals.ErrKindHTTP, Status: status, Message: msg}
			}
			return nil, &evals.ProviderError{Kind: evals.ErrKindTransport, Message: msg}
		}
		// ping, content_block_stop and event types added later: nothing to read.
	}
}

// streamBlock is one content block of a stream, by index.
type streamBlock struct {
	typ  string
	text []byte
}

// streamFailed describes a stream that ended before message_stop.
func (p *Anthropic) streamFailed(ctx, rctx context.Context, limited *io.LimitedReader, err error) *evals.ProviderError {
	switch {
	case limited.N <= 0:
		return &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: fmt.Sprintf("stream larger than %d MiB", maxResponseBody>>20)}
	case err == io.EOF:
		return &evals.ProviderError{Kind: evals.ErrKindTransport, Err: io.ErrUnexpectedEOF,
			Message: "truncated: the stream ended before message_stop"}
	case errors.Is(err, errSSETruncated):
		return &evals.ProviderError{Kind: evals.ErrKindTransport, Err: io.ErrUnexpectedEOF,
			Message: "truncated: " + err.Error() + ", before message_stop"}
	}
	return p.failed(ctx, rctx, nil, err, "reading the stream: ")
}

// drain reads what is left of a stream's body after message_stop, its end
// that usually follows at once, so that an HTTP/1 connection is kept for the
// next request; a server that holds the body open loses the connection
// after drainWait instead.
func (p *Anthropic) drain(sse *sseReader, cancel context.CancelFunc) {
	t := time.AfterFunc(drainWait, cancel)
	defer t.Stop()
	io.Copy(io.Discard, io.LimitReader(sse.r, maxErrorBody))
}

// streamTiming returns a stream's timings from its start: to the first
// token of any kind, and to the first of the answer; a stream with none
// (an empty answer) has them at its end. Tokens per second count the
// output tokens after the first, over the time from the first to the end.
func streamTiming(start, first, content, end time.Time, outputTokens int) *evals.StreamTiming {
	if first.IsZero() {
		first = end
	}
	if content.IsZero() {
		content = end
	}
	ms := func(t time.Time) float64 { return float64(t.Sub(start)) / float64(time.Millisecond) }
	st := &evals.StreamTiming{FirstTokenMS: ms(first), FirstContentMS: ms(content)}
	if d := end.Sub(first).Seconds(); outputTokens > 1 && d > 0 {
		st.TokensPerSecond = float64(outputTokens-1) / d
	}
	return st
}
