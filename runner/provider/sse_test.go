package provider

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestSSEReader reads streams as servers send them: comments and empty
// lines between events, every line ending, fields it does not use, data on
// several lines, events split across reads, and endings with and without a
// last empty line.
func TestSSEReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // "type|data"
		end      error
	}{
		{"openai style", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []string{`|{"a":1}`, "|[DONE]"}, io.EOF},
		{"anthropic style", "event: message_start\ndata: {}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n",
			[]string{"message_start|{}", `ping|{"type": "ping"}`}, io.EOF},
		{"comments and blank lines", ": keep-alive\n\n\n: x\ndata: 1\n\n", []string{"|1"}, io.EOF},
		{"crlf", "data: 1\r\n\r\ndata: 2\r\n\r\n", []string{"|1", "|2"}, io.EOF},
		{"cr alone", "data: 1\r\rdata: 2\r\r", []string{"|1", "|2"}, io.EOF},
		{"multi-line data", "data: a\ndata: b\n\n", []string{"|a\nb"}, io.EOF},
		{"no space after the colon", "data:x\n\n", []string{"|x"}, io.EOF},
		{"other fields ignored", "id: 7\nretry: 10\ndata: x\n\n", []string{"|x"}, io.EOF},
		{"event without data is not dispatched", "event: ping\n\ndata: x\n\n", []string{"|x"}, io.EOF},
		{"cut inside an event", "data: 1\n\ndata: {\"par", []string{"|1"}, errSSETruncated},
		{"cut after a data line", "data: 1\n\ndata: 2\n", []string{"|1"}, errSSETruncated},
		{"empty stream", "", nil, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, reader := range []func(string) io.Reader{
				func(s string) io.Reader { return strings.NewReader(s) },
				func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
			} {
				r := newSSEReader(reader(tc.in))
				var got []string
				var err error
				for {
					var ev sseEvent
					if ev, err = r.Next(); err != nil {
						break
					}
					got = append(got, ev.Type+"|"+string(ev.Data))
				}
				if strings.Join(got, ",") != strings.Join(tc.want, ",") || !errors.Is(err, tc.end) {
					t.Errorf("events %q, end %v; want %q, %v", got, err, tc.want, tc.end)
				}
			}
		})
	}
}
