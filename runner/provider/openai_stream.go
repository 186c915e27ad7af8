package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/rubric-eval/rubric/evals"
)

// A target with "stream": true asks for its answer as server-sent events,
// as OpenAI documents chat completion chunks: each event's data is a chunk,
// {"choices": [{"index": 0, "delta": {"content": "…"}, "finish_reason":
// null}]}, the last with choices a finish_reason; with stream_options'
// include_usage, one more chunk has "choices": [] and the usage; then
// "data: [DONE]". A tool call comes in pieces, in delta.tool_calls: each
// piece names the call by its index among the answer's calls; the first
// gives its id and function name, and every piece the next part of its
// arguments string. vLLM, DeepSeek and OpenRouter stream a reasoning model's
// reasoning first, in delta.reasoning_content or delta.reasoning: it counts
// for the time to the first token, not in the answer.
//
// llama.cpp's server closes the connection instead of sending [DONE], so a
// stream that ends cleanly after a chunk with a finish_reason is complete.
// One that ends inside an event, or with no finish_reason, was cut off: a
// transport error, retried, never an answer scored as if complete.

// chunk is what a chat completion chunk says of the first choice.
type chunk struct {
	content   string // the answer's piece: delta.content
	reasoning bool   // delta.reasoning_content or delta.reasoning is not empty
	finish    string // finish_reason, "" while null
	usage     string // the usage object, "" while null or missing
	err       bool   // an "error" that is not null: the server failed mid-way
	// calls are the pieces of tool calls in delta.tool_calls; nil in a
	// chunk of text.
	calls []callPiece
}

// callPiece is one element of a delta's tool_calls: a piece of the call at
// index. The first piece of a call gives its id and name, and each piece
// the next part of its arguments.
type callPiece struct {
	index    int
	hasIndex bool
	id, name string
	args     string
}

// maxStreamCalls bounds the index of a streamed tool call, so that a
// server's nonsense index cannot make rubric allocate without bound.
const maxStreamCalls = 1024

// decodeChunk reads a chunk's data. Chunks are the per-token hot path (an
// answer of 500 tokens streams about 500 of them), so it reads them with
// gjson, in one pass over each object and no reflection, at a third of the
// cost of encoding/json into a struct; the chunk is checked to be valid JSON
// first. A content given as an array of parts has its text parts joined.
func decodeChunk(data []byte) (chunk, error) {
	var c chunk
	if !gjson.ValidBytes(data) {
		// encoding/json says where and why.
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return c, err
		}
		return c, errors.New("not valid JSON")
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return c, fmt.Errorf("expected an object, got %.20s", root.Raw)
	}
	var bad error
	root.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "choices":
			if !v.IsArray() && v.Type != gjson.Null {
				bad = errors.New("choices is not an array")
				return false
			}
			v.ForEach(func(_, choice gjson.Result) bool {
				if bad = c.choice(choice); bad != nil {
					return false
				}
				return true
			})
		case "usage":
			if v.Type != gjson.Null {
				c.usage = v.Raw
			}
		case "error":
			c.err = v.Type != gjson.Null
		}
		return bad == nil
	})
	return c, bad
}

// choice reads one element of choices, if it is the first choice (index 0).
func (c *chunk) choice(choice gjson.Result) error {
	if !choice.IsObject() {
		return errors.New("a choice is not an object")
	}
	if idx := choice.Get("index"); idx.Exists() && idx.Int() != 0 {
		return nil // another of n choices
	}
	var bad error
	choice.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "delta":
			v.ForEach(func(key, v gjson.Result) bool {
				switch key.Str {
				case "content":
					var text string
					if text, bad = contentText(v); bad == nil {
						c.content += text
					}
				case "reasoning_content", "reasoning":
					if v.Type == gjson.String && v.Str != "" {
						c.reasoning = true
					}
				case "tool_calls":
					bad = c.toolCalls(v)
				}
				return bad == nil
			})
		case "finish_reason":
			switch v.Type {
			case gjson.String:
				c.finish = v.Str
			case gjson.Null:
			default:
				bad = fmt.Errorf("finish_reason is %.20s, not a string", v.Raw)
			}
		}
		return bad == nil
	})
	return bad
}

// toolCalls reads a delta's tool_calls: an array of pieces of calls, or null.
func (c *chunk) toolCalls(v gjson.Result) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsArray() {
		return fmt.Errorf("delta.tool_calls is %.20s, not an array", v.Raw)
	}
	var bad error
	v.ForEach(func(_, call gjson.Result) bool {
		if !call.IsObject() {
			bad = fmt.Errorf("delta.tool_calls holds %.20s, not an object", call.Raw)
			return false
		}
		var p callPiece
		if idx := call.Get("index"); idx.Exists() && idx.Type != gjson.Null {
			if idx.Type != gjson.Number || idx.Num != float64(int(idx.Num)) || idx.Num < 0 || idx.Num >= maxStreamCalls {
				bad = fmt.Errorf("delta.tool_calls index is %.20s, not an integer from 0 to %d", idx.Raw, maxStreamCalls-1)
				return false
			}
			p.index, p.hasIndex = int(idx.Num), true
		}
		p.id = call.Get("id").Str
		fn := call.Get("function")
		p.name = fn.Get("name").Str
		switch args := fn.Get("arguments"); args.Type {
		case gjson.String:
			p.args = args.Str
		case gjson.Null:
		default:
			p.args = args.Raw // a server that sends the arguments as JSON
		}
		c.calls = append(c.calls, p)
		return true
	})
	return bad
}

// streamCall is a tool call being streamed: its pieces put together.
type streamCall struct {
	id, name string
	args     []byte
}

// addCall adds a piece to the calls streamed so far. A piece without an
// index (which OpenAI always gives) is of the last call, unless it gives a
// new id.
func addCall(calls []streamCall, p callPiece) []streamCall {
	i := p.index
	if !p.hasIndex {
		i = len(calls) - 1
		if i < 0 || p.id != "" && p.id != calls[i].id {
			i = len(calls)
		}
	}
	for len(calls) <= i {
		calls = append(calls, streamCall{})
	}
	c := &calls[i]
	if c.id == "" {
		c.id = p.id
	}
	if c.name == "" {
		c.name = p.name
	}
	c.args = append(c.args, p.args...)
	return calls
}

// contentText is a delta's content: a string, null, or an array of parts
// whose text parts are joined.
func contentText(v gjson.Result) (string, error) {
	switch {
	case v.Type == gjson.String:
		return v.Str, nil
	case v.Type == gjson.Null:
		return "", nil
	case v.IsArray():
		var b strings.Builder
		for _, part := range v.Array() {
			if t := part.Get("type").Str; t == "text" || t == "" {
				b.WriteString(part.Get("text").Str)
			}
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("delta.content is %.20s, not a string", v.Raw)
}

// completeStream sends body and reads the answer as server-sent events.
func (p *OpenAI) completeStream(ctx context.Context, body []byte, sent *evals.SentRequest) (*evals.Response, *evals.ProviderError) {
	s, perr := p.openStream(ctx, p.endpoint, p.header, body, sent, &openAIStream)
	if perr != nil {
		return nil, perr
	}
	defer s.close()
	var (
		text     []byte
		calls    []streamCall
		finish   string
		ended    bool // a chunk gave a finish_reason
		usage    = newUsage()
		hasUsage bool
	)
	for {
		ev, ok, perr := s.next(ctx)
		switch {
		case perr != nil:
			return nil, perr
		case ok:
		case ended:
			// The server closed the stream without [DONE] (llama.cpp),
			// after the last chunk.
			return p.streamed(text, calls, finish, usage, hasUsage, &s.clock), nil
		default:
			return nil, streamCut("it ended before a chunk with a finish_reason, and without [DONE]")
		}
		switch ev.Type {
		case "", "message":
		case "error":
			return nil, p.streamError(ev.Data)
		default:
			continue // an event of another kind: a ping
		}
		if string(ev.Data) == "[DONE]" {
			out := p.streamed(text, calls, finish, usage, hasUsage, &s.clock)
			s.drain()
			return out, nil
		}
		ch, err := decodeChunk(ev.Data)
		if err != nil {
			return nil, &evals.ProviderError{Kind: evals.ErrKindDecode, Err: err,
				Message: p.redact("malformed chunk in the stream: "+err.Error()) + "; " + p.bodySnippet(ev.Data)}
		}
		if ch.err {
			return nil, p.streamError(ev.Data)
		}
		switch {
		case ch.content != "" || len(ch.calls) > 0:
			// A tool call is the answer as much as text is.
			s.clock.token(true)
			text = append(text, ch.content...)
			for _, piece := range ch.calls {
				calls = addCall(calls, piece)
			}
		case ch.reasoning:
			s.clock.token(false)
		}
		if ch.finish != "" {
			finish, ended = ch.finish, true
		}
		if ch.usage != "" {
			u := newUsage()
			if err := json.Unmarshal([]byte(ch.usage), &u); err != nil {
				return nil, &evals.ProviderError{Kind: evals.ErrKindDecode, Err: err,
					Message: p.redact("malformed usage in the stream: "+err.Error()) + "; " + p.bodySnippet(ev.Data)}
			}
			usage, hasUsage = u, true
		}
	}
}

// openAIStream is the protocol of OpenAI's chat completion chunks.
var openAIStream = streamProtocol{
	notStream: func(c *client, _ *http.Response, body []byte) string {
		return "the target streams (\"stream\": true), but the server answered with one JSON body, not server-sent events: it does not stream; remove \"stream\" from the target; " + c.bodySnippet(body)
	},
}

// streamed is the response a complete stream gave.
func (p *OpenAI) streamed(text []byte, calls []streamCall, finish string, usage usageJSON, hasUsage bool, clock *streamClock) *evals.Response {
	out := &evals.Response{Text: string(text), Finish: finish}
	if len(calls) > 0 {
		out.ToolCalls = make([]evals.ToolCall, len(calls))
		for i, c := range calls {
			out.ToolCalls[i] = evals.NewToolCall(c.id, c.name, string(c.args))
		}
	}
	if hasUsage {
		out.Usage = usage.usage()
	}
	out.Stream = clock.timing(out.Usage.CompletionTokens)
	return out
}

// streamError is the error a server reported inside the stream: an HTTP
// status error when it gives an HTTP status as its code (so that 429 and 5xx
// are retried), a decode error otherwise.
func (p *OpenAI) streamError(data []byte) *evals.ProviderError {
	msg := serverMessage(data)
	if msg == "" {
		msg = snippet(string(data))
	}
	msg = "the stream reported an error: " + clip(p.redact(msg))
	var e struct {
		Error struct {
			Code json.RawMessage `json:"code"`
		} `json:"error"`
	}
	var status int
	if json.Unmarshal(data, &e) == nil && json.Unmarshal(e.Error.Code, &status) == nil && status >= 400 && status <= 599 {
		return &evals.ProviderError{Kind: evals.ErrKindHTTP, Status: status, Message: msg}
	}
	return &evals.ProviderError{Kind: evals.ErrKindDecode, Message: msg}
}

// isSet reports whether a raw JSON value (a member such as "error" or
// "usage", a params value) is given and not null.
func isSet(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null"
}
