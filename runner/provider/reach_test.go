package provider

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// closedAddr returns a local address nothing listens on: connecting to it is
// refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// countDials makes p count the connections it tries to open.
func countDials(p *OpenAI) *atomic.Int32 {
	var n atomic.Int32
	dial := p.transport.DialContext
	p.transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		return dial(ctx, network, addr)
	}
	return &n
}

// unreachableError asserts err is the error of a request to an unreachable
// target and returns its *evals.UnreachableError.
func unreachableError(t *testing.T, err error, endpoint string) *evals.UnreachableError {
	t.Helper()
	pe := providerError(t, err)
	var ue *evals.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("got %s %q, want the endpoint unreachable", pe.Kind, pe.Message)
	}
	want := "endpoint " + endpoint + " is not reachable (connection refused): is the server running?"
	if pe.Kind != evals.ErrKindTransport || pe.Message != want || ue.Error() != want || pe.Retryable() {
		t.Errorf("got %s %q (%q, retryable %v)\nwant transport %q, not retryable", pe.Kind, pe.Message, ue.Error(), pe.Retryable(), want)
	}
	return ue
}

// TestReachUnreachable sends requests one after another to a closed port: the
// target is declared unreachable after min(concurrency, 8) sends or when the
// first request gives up, whichever comes first, and nothing is sent after.
func TestReachUnreachable(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		retry       *evals.RetrySpec
		dials       int32 // connections tried in all
		waits       int   // backoffs waited in all
	}{
		{name: "concurrency 1: the first send refused", concurrency: 1, dials: 1},
		{name: "concurrency 3: three sends refused", concurrency: 3, dials: 3, waits: 2},
		{name: "concurrency 16: the first request gives up after 4", concurrency: 16, dials: 4, waits: 3},
		{name: "retries off: the first request gives up", concurrency: 8, retry: &evals.RetrySpec{Attempts: 1}, dials: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := "http://" + closedAddr(t) + "/v1"
			spec := openaiTarget{evals.TargetSpec{Name: "t", Provider: "openai", Model: "m", Concurrency: tt.concurrency, Retry: tt.retry}, OpenAIConfig{BaseURL: base}}
			o := newOpenAI(t, spec)
			dials := countDials(o)
			w := &waits{}
			p := Wrap(o, spec.TargetSpec, fastRetry(w)...)
			for i := range 3 {
				_, err := p.Complete(t.Context(), testRequest)
				pe := providerError(t, err)
				unreachableError(t, err, base)
				if i == 0 && (pe.Sent == nil || pe.Attempts != int(tt.dials)) {
					t.Errorf("first request: Sent %v, Attempts %d; want the request, %d", pe.Sent, pe.Attempts, tt.dials)
				}
				if i > 0 && (pe.Sent != nil || pe.Attempts != 0) {
					t.Errorf("request %d: Sent %v, Attempts %d; want nothing sent", i+1, pe.Sent, pe.Attempts)
				}
			}
			if dials.Load() != tt.dials || len(w.list()) != tt.waits {
				t.Errorf("%d connections tried, %d waits; want %d, %d", dials.Load(), len(w.list()), tt.dials, tt.waits)
			}
		})
	}
}

// TestReachConcurrent sends as many requests at once as the target's
// concurrency to a closed port: the first wave of connection failures stops
// every request, and the ones that follow send nothing.
func TestReachConcurrent(t *testing.T) {
	const concurrency = 4
	base := "http://" + closedAddr(t) + "/v1"
	spec := openaiTarget{evals.TargetSpec{Name: "t", Provider: "openai", Model: "m", Concurrency: concurrency}, OpenAIConfig{BaseURL: base}}
	o := newOpenAI(t, spec)
	dials := countDials(o)
	p := Wrap(o, spec.TargetSpec, fastRetry(&waits{})...)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for range 5 {
				_, err := p.Complete(t.Context(), testRequest)
				unreachableError(t, err, base)
			}
		})
	}
	wg.Wait()
	// Four failures declare the target unreachable; each other goroutine may
	// have had one send on its way then.
	if n := dials.Load(); n < concurrency || n > 2*concurrency-1 {
		t.Errorf("%d connections tried, want %d to %d", n, concurrency, 2*concurrency-1)
	}
}

// TestReachAnsweredOnce checks that a target that has answered, even with an
// error, keeps its connection failures retried as any transport error.
func TestReachAnsweredOnce(t *testing.T) {
	for _, status := range []int{200, 400} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				answer(status, okBody)(w, r)
			})
			spec := openaiSpec(srv)
			spec.Concurrency = 1
			o := newOpenAI(t, spec)
			dials := countDials(o)
			p := Wrap(o, spec.TargetSpec, fastRetry(&waits{})...)
			if _, err := p.Complete(t.Context(), testRequest); (err == nil) != (status == 200) {
				t.Fatalf("first request: %v", err)
			}
			srv.Close()
			o.Close()
			dials.Store(0)
			for range 2 {
				_, err := p.Complete(t.Context(), testRequest)
				pe := providerError(t, err)
				if errors.As(err, new(*evals.UnreachableError)) || pe.Kind != evals.ErrKindTransport ||
					!strings.HasPrefix(pe.Message, "gave up after 4 attempts: ") || !strings.Contains(pe.Message, "connection refused") {
					t.Errorf("got %s %q, want a transport error retried 4 times", pe.Kind, pe.Message)
				}
			}
			if dials.Load() != 8 {
				t.Errorf("%d connections tried, want 8: each request retried", dials.Load())
			}
		})
	}
}

func TestConnectFailure(t *testing.T) {
	refused := os.NewSyscallError("connect", syscall.ECONNREFUSED)
	const generic = "is the server running, and reachable from here?"
	tests := []struct {
		name        string
		err         *evals.ProviderError
		cause, hint string // "" when not a failure to connect
	}{
		{
			name:  "refused",
			err:   transportErr(&net.OpError{Op: "dial", Net: "tcp", Err: refused}),
			cause: "connection refused", hint: "is the server running?",
		},
		{
			name:  "no such host",
			err:   transportErr(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "gpu-7", IsNotFound: true}}),
			cause: "no such host", hint: "is the host name right?",
		},
		{
			name:  "name server failed",
			err:   transportErr(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "server misbehaving", Name: "gpu-7", Server: "10.0.0.2:53"}}),
			cause: "lookup gpu-7 on 10.0.0.2:53: server misbehaving", hint: "is the host name right?",
		},
		{
			name:  "no route",
			err:   transportErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}),
			cause: "no route to host", hint: generic,
		},
		{
			name:  "proxy refused",
			err:   transportErr(&net.OpError{Op: "proxyconnect", Net: "tcp", Err: &net.OpError{Op: "dial", Net: "tcp", Err: refused}}),
			cause: "connection refused", hint: "is the server running?",
		},
		{
			name: "reset after connecting",
			err:  transportErr(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}),
		},
		{
			name: "closed without a response",
			err:  transportErr(io.EOF),
		},
		{
			name: "a timeout while connecting",
			err:  &evals.ProviderError{Kind: evals.ErrKindTimeout, Err: &net.OpError{Op: "dial", Net: "tcp", Err: refused}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cause, hint, ok := connectFailure(tt.err)
			if ok != (tt.cause != "") || cause != tt.cause || hint != tt.hint {
				t.Errorf("got %q, %q, %v; want %q, %q", cause, hint, ok, tt.cause, tt.hint)
			}
		})
	}
}

func transportErr(err error) *evals.ProviderError {
	return &evals.ProviderError{Kind: evals.ErrKindTransport, Message: err.Error(), Err: err}
}
