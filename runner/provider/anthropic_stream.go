package provider

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

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

// anthropicStream is the protocol of a Messages stream.
var anthropicStream = streamProtocol{
	last: "message_stop",
	notStream: func(_ *client, resp *http.Response, _ []byte) string {
		return "the target asks for a stream, and the endpoint answered with one JSON body (Content-Type " + resp.Header.Get("Content-Type") + "): it does not stream; set stream to false"
	},
}

// completeStream sends body and reads the answer as a Messages stream, to
// its message_stop: the text of its text blocks, the stop reason and usage,
// and when the tokens came. A stream that ends before message_stop, or
// inside an event, is cut off (streamCut): a transport error, retried like a
// connection cut, never an answer. What follows message_stop is read in the
// background.
func (p *Anthropic) completeStream(ctx context.Context, body []byte, sent *evals.SentRequest) (*evals.Response, *evals.ProviderError) {
	s, perr := p.openStream(ctx, p.endpoint, p.header, body, sent, &anthropicStream)
	if perr != nil {
		return nil, perr
	}
	defer s.close()
	var (
		usage  anthropicUsage
		stop   string
		blocks []streamBlock
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
	for {
		ev, ok, perr := s.next(ctx)
		switch {
		case perr != nil:
			return nil, perr
		case !ok:
			return nil, streamCut("it ended before message_stop")
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
					s.clock.token(true)
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
					s.clock.token(true)
				}
			case "thinking_delta":
				if d.Thinking != "" {
					s.clock.token(false)
				}
			case "input_json_delta":
				if d.PartialJSON != "" {
					s.clock.token(false)
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
			var text strings.Builder
			for i := range blocks {
				if blocks[i].typ == "text" {
					text.Write(blocks[i].text)
				}
			}
			u := usage.usage()
			out := &evals.Response{Text: text.String(), Finish: stop, Usage: u, Stream: s.clock.timing(u.CompletionTokens)}
			s.drain()
			return out, nil
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
