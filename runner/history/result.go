package history

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"sync"
)

// A case's result is stored DEFLATE-compressed (RFC 1951, the standard
// library's compress/flate at its fastest level): a result's JSON line
// shrinks to a third or less, at a cost small beside sending it.

var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // the level is valid
	return w
}}

// packResult is the column value of a result's line: nil (NULL) for none.
func packResult(line []byte) any {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return nil
	}
	var b bytes.Buffer
	w := flaters.Get().(*flate.Writer)
	defer flaters.Put(w)
	w.Reset(&b)
	w.Write(line) // a bytes.Buffer does not fail
	w.Close()
	return b.Bytes()
}

// unpackResult is the line packResult stored; nil for none.
func unpackResult(packed []byte) ([]byte, error) {
	if packed == nil {
		return nil, nil
	}
	r := flate.NewReader(bytes.NewReader(packed))
	defer r.Close()
	line, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("its stored result: %w", err)
	}
	return line, nil
}
