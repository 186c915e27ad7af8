package provider

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// sseEvent is one server-sent event: its type (the "event:" field, empty for
// the default "message") and its data, the "data:" lines joined by newlines.
type sseEvent struct {
	Type string
	Data []byte
}

// sseReader reads server-sent events (the WHATWG EventSource format) as
// streaming chat APIs send them: an event is a block of "field: value"
// lines ended by an empty line; lines starting with ":" are comments
// (keep-alives); "\n", "\r\n" and "\r" all end a line; an event may arrive
// split over any number of reads. Fields other than event and data (id,
// retry) are read and ignored. It is not safe for concurrent use.
type sseReader struct {
	r    *bufio.Reader
	data []byte
	typ  []byte
	buf  []byte // the line being read
	// pendingCR is set when the last line ended in "\r", so that a "\n"
	// read next is the rest of a "\r\n", not an empty line.
	pendingCR bool
}

// maxSSELine bounds one line of a stream, as maxResponseBody bounds a whole
// response: a server that never ends a line cannot take all the memory.
const maxSSELine = maxResponseBody

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 32<<10)}
}

// reset makes s read r from its start, keeping its buffers.
func (s *sseReader) reset(r io.Reader) {
	s.r.Reset(r)
	s.data, s.typ, s.buf = s.data[:0], s.typ[:0], s.buf[:0]
	s.pendingCR = false
}

// errSSETruncated is Next's error for a stream that ends inside an event,
// with data read but not the empty line that ends the event: an answer cut
// off mid-way, never to be taken for a complete one.
var errSSETruncated = errors.New("the stream ended inside an event")

// Next returns the next event with data. At the end of the stream it returns
// io.EOF when the stream ended between events, or errSSETruncated when it
// ended inside one; a read error is returned as it is.
func (s *sseReader) Next() (sseEvent, error) {
	s.data, s.typ = s.data[:0], s.typ[:0]
	dispatch := false // a data line was read since the last event
	for {
		line, err := s.line()
		if err != nil {
			if err == io.EOF && (dispatch || len(s.typ) > 0) {
				return sseEvent{}, errSSETruncated
			}
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if dispatch {
				return sseEvent{Type: string(s.typ), Data: bytes.Clone(s.data)}, nil
			}
			s.typ = s.typ[:0] // an event without data is not dispatched
			continue
		}
		if line[0] == ':' {
			continue // a comment
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte{' '})
		}
		switch string(field) {
		case "data":
			if dispatch {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			dispatch = true
		case "event":
			s.typ = append(s.typ[:0], value...)
		}
	}
}

// line reads one line without its ending; it is valid until the next call.
// It takes what the buffer holds up to the line's end at once, rather than
// a byte at a time.
func (s *sseReader) line() ([]byte, error) {
	out := s.buf[:0]
	defer func() { s.buf = out[:0] }()
	for {
		if s.r.Buffered() == 0 {
			if _, err := s.r.Peek(1); err != nil {
				if err == io.EOF && len(out) > 0 {
					return out, nil // a last line without an ending
				}
				return nil, err
			}
		}
		b, _ := s.r.Peek(s.r.Buffered())
		if s.pendingCR {
			s.pendingCR = false
			if b[0] == '\n' {
				s.r.Discard(1) // the rest of a "\r\n"
				continue
			}
		}
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			i = len(b)
		}
		if len(out)+i > maxSSELine {
			return nil, errors.New("a line of the stream is longer than the response limit")
		}
		out = append(out, b[:i]...)
		if i == len(b) {
			s.r.Discard(i)
			continue
		}
		s.pendingCR = b[i] == '\r'
		s.r.Discard(i + 1)
		return out, nil
	}
}
