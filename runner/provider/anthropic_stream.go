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
// its message_stop: the text of its text blocks, the calls of its tool_use
// blocks, the stop reason and usage, and when the tokens came. A stream
// that ends before message_stop, or inside an event, is cut off
// (streamCut): a transport error, retried like a connection cut, never an
// answer. What follows message_stop is read in the background.
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
				cb := se.ContentBlock
				b.typ = cb.Type
				switch {
				case b.typ == "text" && cb.Text != "":
					b.text = append(b.text, cb.Text...)
					s.clock.token(true)
				case b.typ == "tool_use":
					b.id, b.name, b.input = cb.ID, cb.Name, cb.Input
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
				if b := block(se.Index); b != nil && b.typ == "tool_use" {
					b.partial = append(b.partial, d.PartialJSON...)
				}
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
			var calls []evals.ToolCall
			for i := range blocks {
				switch b := &blocks[i]; b.typ {
				case "text":
					text.Write(b.text)
				case "tool_use":
					calls = append(calls, b.call())
				}
			}
			u := usage.usage()
			out := &evals.Response{Text: text.String(), Finish: stop, Usage: u, ToolCalls: calls, Stream: s.clock.timing(u.CompletionTokens)}
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
	// A tool_use block's id and name, the input of its content_block_start
	// ({} as the API sends it), and the partial_json of its deltas joined.
	id, name string
	input    json.RawMessage
	partial  []byte
}

// call returns a tool_use block's call: its input is the partial_json of
// its input_json_delta events joined; the input its content_block_start
// gave when none came (the API's is {}, and a tool without parameters gets
// no delta).
func (b *streamBlock) call() evals.ToolCall {
	input := b.partial
	if len(input) == 0 {
		input = b.input
	}
	return anthropicToolCall(b.id, b.name, input)
}
