package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// client is what the providers that speak HTTP (openai and azure, anthropic,
// http) share to send a request and read its answer: a transport whose pool
// fits the target's concurrency, a timeout per request, the secrets to keep
// out of messages, and how an error status is worded. Each of them embeds
// one, filled in when the provider is built; it is safe for concurrent use.
type client struct {
	transport *http.Transport
	host      string            // the Host header; "" for the URL's host
	timeout   time.Duration     // of one request, its answer read whole
	redactor  *strings.Replacer // nil when nothing is secret
	// redirect is the message of a 3xx answer with a Location, %s for the
	// location: what to set to the final address.
	redirect string
	// apiError reads an error body in the API's own shape (anthropic's),
	// which is quoted before errorMessage's common shapes; nil when the API
	// has none of its own.
	apiError func(body []byte) (msg string, ok bool)
}

// newClient returns the client of the target spec: its requests go with the
// Host header host ("" for the URL's), and its messages keep the secrets
// out; redirect is the message of a redirect (client.redirect).
func newClient(spec evals.TargetSpec, host string, secrets []string, redirect string) client {
	return client{
		transport: newTransport(spec.ConcurrencyOr()),
		host:      host,
		timeout:   spec.TimeoutOr(),
		redactor:  newRedactor(secrets),
		redirect:  redirect,
	}
}

// Close closes idle connections to the endpoint.
func (c *client) Close() error {
	c.transport.CloseIdleConnections()
	return nil
}

// send sends body to u with method and the header h, within the target's
// timeout, and returns the reader holding the body of a 2xx response, which
// the caller passes to putReader when done with it. sent is the request as
// recorded, for errors.
func (c *client) send(ctx context.Context, method string, u *url.URL, h http.Header, body []byte, sent *evals.SentRequest) (*responseReader, *evals.ProviderError) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.roundTrip(rctx, method, u, h, body)
	if err != nil {
		return nil, c.failed(ctx, rctx, sent, err, "")
	}
	defer resp.Body.Close()
	return c.readBody(ctx, rctx, resp, sent)
}

// complete sends body as send does and decodes the body of the 2xx answer
// with decode, which must not keep it. A body that fails to decode because
// it was cut short is a transport error instead (cutShort).
func (c *client) complete(ctx context.Context, method string, u *url.URL, h http.Header, body []byte, sent *evals.SentRequest,
	decode func([]byte) (*evals.Response, *evals.ProviderError)) (*evals.Response, *evals.ProviderError) {
	rr, perr := c.send(ctx, method, u, h, body, sent)
	if perr != nil {
		return nil, perr
	}
	defer putReader(rr)
	out, perr := decode(rr.buf.Bytes())
	if perr != nil {
		return nil, rr.cutShort(perr)
	}
	return out, nil
}

// answered returns the answer to the request sent, or the failure to get
// it, either recording sent.
func answered(out *evals.Response, perr *evals.ProviderError, sent *evals.SentRequest) (*evals.Response, error) {
	if perr != nil {
		perr.Sent = sent
		return nil, perr
	}
	out.Sent = sent
	return out, nil
}

// roundTrip sends body (none when nil) to u with method and the header h,
// within rctx.
func (c *client) roundTrip(rctx context.Context, method string, u *url.URL, h http.Header, body []byte) (*http.Response, error) {
	hreq := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       c.host,
	}
	if body != nil {
		rb := &requestBody{body: body}
		rb.Reset(body)
		hreq.Body, hreq.GetBody, hreq.ContentLength = rb, rb.get, int64(len(body))
	}
	return c.transport.RoundTrip(hreq.WithContext(rctx))
}

// readBody reads resp's body, within rctx, into a pooled reader: the whole
// body of a 2xx response, up to maxResponseBody, which the caller passes to
// putReader when done with it; for another status, the error it stands for.
// The caller closes resp.Body.
func (c *client) readBody(ctx, rctx context.Context, resp *http.Response, sent *evals.SentRequest) (*responseReader, *evals.ProviderError) {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	limit := int64(maxErrorBody)
	if ok {
		limit = maxResponseBody
	}
	rr := getReader(resp.Body, limit+1)
	rr.unframed = unframed(resp)
	buf := &rr.buf
	_, err := buf.ReadFrom(&rr.limited)
	// An error status stands on whatever part of its body arrived, unless
	// the read failed because the request's context ended.
	var perr *evals.ProviderError
	switch {
	case err != nil && (ok || rctx.Err() != nil):
		perr = c.failed(ctx, rctx, sent, err, "reading the response body: ")
	case !ok:
		perr = c.statusError(resp, buf.Bytes(), sent)
	case buf.Len() > maxResponseBody:
		perr = &evals.ProviderError{Kind: evals.ErrKindDecode, Sent: sent,
			Message: fmt.Sprintf("response body larger than %d MiB", maxResponseBody>>20)}
	}
	if perr != nil {
		putReader(rr)
		return nil, perr
	}
	return rr, nil
}

// statusError describes a non-2xx answer: where it redirects, or the
// server's own message where its body has one, or else the start of the
// body.
func (c *client) statusError(resp *http.Response, body []byte, sent *evals.SentRequest) *evals.ProviderError {
	var msg string
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		msg = clip(c.redact(fmt.Sprintf(c.redirect, loc)))
	} else if m, ok := c.apiMessage(body); ok {
		msg = clip(c.redact(m))
	} else {
		msg = errorMessage(resp.StatusCode, body, c.redact)
	}
	return &evals.ProviderError{
		Kind:       evals.ErrKindHTTP,
		Status:     resp.StatusCode,
		Message:    msg,
		Sent:       sent,
		RetryAfter: retryAfterStatus(resp.StatusCode, resp.Header, time.Now()),
	}
}

// apiMessage is the message of an error body in the API's own shape, when
// the API has one.
func (c *client) apiMessage(body []byte) (string, bool) {
	if c.apiError == nil {
		return "", false
	}
	return c.apiError(body)
}

// failed classifies an error from sending a request or reading its answer:
// ctx (the run's) ended, rctx (the request's, whose deadline is the
// target's timeout) ended, or the connection failed, described with its
// secrets redacted. during says what was under way: "" while sending.
func (c *client) failed(ctx, rctx context.Context, sent *evals.SentRequest, err error, during string) *evals.ProviderError {
	if ctx.Err() != nil {
		return canceledError(ctx, sent, "canceled while the request was in flight")
	}
	if rctx.Err() != nil {
		return &evals.ProviderError{Kind: evals.ErrKindTimeout, Sent: sent, Err: context.DeadlineExceeded,
			Message: fmt.Sprintf("no response within %v", c.timeout)}
	}
	return &evals.ProviderError{Kind: evals.ErrKindTransport, Sent: sent, Err: err,
		Message: c.redact(during + transportMessage(err, during != ""))}
}

// redact replaces every secret in s with [REDACTED].
func (c *client) redact(s string) string {
	if c.redactor == nil {
		return s
	}
	return c.redactor.Replace(s)
}

// bodySnippet quotes the start of a body for a message.
func (c *client) bodySnippet(b []byte) string {
	if s := snippet(c.redact(string(b))); s != "" {
		return "body: " + s
	}
	return "empty body"
}

// transportMessage words a connection failure; inBody says whether the
// response had begun.
func transportMessage(err error, inBody bool) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // the URL is recorded in Sent already
	}
	switch {
	case inBody && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		return "truncated: the server closed the connection before the end of the body"
	case errors.Is(err, io.EOF):
		return "the server closed the connection without a response"
	}
	return err.Error()
}

// requestBody is a request's body, readable again for the transport's retry
// on a stale connection.
type requestBody struct {
	bytes.Reader
	body []byte
}

func (*requestBody) Close() error { return nil }

func (b *requestBody) get() (io.ReadCloser, error) {
	return &requestBody{Reader: *bytes.NewReader(b.body), body: b.body}, nil
}

// responseReader reads a response body, up to a limit, into a buffer; it is
// pooled, so reading a response allocates nothing once the pool is warm.
type responseReader struct {
	buf     bytes.Buffer
	limited io.LimitedReader
	// unframed is set when the body has no declared end: it ends when the
	// server closes the connection.
	unframed bool
}

// unframed reports whether resp's body ends only when the connection closes:
// HTTP/1 without Content-Length or chunked encoding. A body with either
// framing that the connection cuts short fails to read (io.ErrUnexpectedEOF),
// and so does a gzip stream the transport decompresses; an unframed one reads
// to its end without an error, however short.
func unframed(resp *http.Response) bool {
	return resp.ProtoMajor == 1 && resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 && !resp.Uncompressed
}

// cutShort returns decodeErr, the failure to decode a 2xx body, or a
// transport error in its place when the body was cut short: it had no
// declared end and stops in the middle of a JSON value (or before its
// first byte). That is the server closing the connection early, a fault
// that sending again may not meet, as a Content-Length not reached is. A
// body that ends where it says it does but does not decode is the server's
// answer, and stays a decode error.
func (rr *responseReader) cutShort(decodeErr *evals.ProviderError) *evals.ProviderError {
	if !rr.unframed {
		return decodeErr
	}
	var v json.RawMessage
	err := json.NewDecoder(bytes.NewReader(rr.buf.Bytes())).Decode(&v)
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return decodeErr
	}
	const during = "reading the response body: "
	return &evals.ProviderError{Kind: evals.ErrKindTransport, Err: io.ErrUnexpectedEOF,
		Message: during + transportMessage(io.ErrUnexpectedEOF, true)}
}

var readerPool = sync.Pool{New: func() any { return new(responseReader) }}

func getReader(r io.Reader, limit int64) *responseReader {
	rr := readerPool.Get().(*responseReader)
	rr.limited = io.LimitedReader{R: r, N: limit}
	return rr
}

func putReader(rr *responseReader) {
	if rr.buf.Cap() > 1<<20 {
		return // let a rare huge response's buffer go
	}
	rr.buf.Reset()
	rr.limited = io.LimitedReader{}
	rr.unframed = false
	readerPool.Put(rr)
}

// newTransport returns a transport whose pool keeps one idle connection per
// request in flight, so keep-alive holds at the target's concurrency (the
// default keeps two). Requests go to the transport directly rather than
// through an http.Client: a client would copy the headers of every request
// to follow redirects, and redirects are not followed here (a redirected POST
// becomes a GET, and the key would go along). Nor is there an overall
// timeout: each request carries its own deadline, so that a timeout can be
// told from the run being canceled.
func newTransport(concurrency int) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(100, concurrency),
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
