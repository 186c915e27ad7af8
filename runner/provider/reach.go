package provider

import (
	"errors"
	"net"
	"net/url"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/rubric-eval/rubric/evals"
)

// maxUnreachedSends caps how many sends to a target that has never answered
// must fail to connect before it is declared unreachable.
const maxUnreachedSends = 8

// reach tells a target whose endpoint is not reachable (the server is not
// running, the host name is wrong) from one that fails now and then. The
// target is declared unreachable when it has never answered and either
// min(concurrency, 8) sends to it failed to connect (at concurrency c, the
// first c requests go out together, so that is the first wave of them) or a
// request gave up with a connection failure. From then on every request of
// the target fails at once with a *evals.UnreachableError, without being
// sent, so that retries do not wait out their backoff for each case. A
// target that has answered once, even with an error status, is never
// declared unreachable: its connection failures are retried as any other
// transport error. A nil *reach tracks nothing.
//
// It is shared by the requests of one target and safe for concurrent use.
type reach struct {
	endpoint string
	limit    int32
	reached  atomic.Bool
	failed   atomic.Int32
	down     atomic.Pointer[evals.UnreachableError]
}

// newReach tracks a target whose endpoint is at baseURL, with concurrency
// requests in flight; nil when there is no base URL to connect to.
func newReach(baseURL string, concurrency int) *reach {
	if baseURL == "" {
		return nil
	}
	endpoint := baseURL
	if u, err := url.Parse(baseURL); err == nil {
		endpoint = u.Redacted()
	}
	return &reach{endpoint: endpoint, limit: int32(min(concurrency, maxUnreachedSends))}
}

// before returns the error of a request that is not to be sent because the
// target is unreachable, or nil.
func (t *reach) before(attempts int) error {
	if t == nil {
		return nil
	}
	if u := t.down.Load(); u != nil {
		return unreachable(u, nil, attempts)
	}
	return nil
}

// after notes the outcome of one send and returns err, or the unreachable
// error in its place when the send failed to connect to a target that is,
// or by this failure becomes, unreachable.
func (t *reach) after(err error, attempts int) error {
	if t == nil {
		return err
	}
	if err == nil {
		t.answered()
		return nil
	}
	// Declared only on failure: &pe escapes, an allocation per request.
	var pe *evals.ProviderError
	if !errors.As(err, &pe) {
		return err
	}
	if _, _, ok := connectFailure(pe); !ok {
		if connected(pe) {
			t.answered()
		}
		return err
	}
	if t.reached.Load() {
		return err
	}
	if t.failed.Add(1) >= t.limit {
		t.trip(pe)
	}
	if u := t.down.Load(); u != nil {
		return unreachable(u, pe, attempts)
	}
	return err
}

// answered notes that the target has answered. Every request of a healthy
// target passes here: only the first one writes.
func (t *reach) answered() {
	if !t.reached.Load() {
		t.reached.Store(true)
	}
}

// gaveUp is called with the last error of a request that is not sent again:
// when it is a connection failure and the target has never answered, the
// target is unreachable, and the unreachable error is returned; else nil.
func (t *reach) gaveUp(last *evals.ProviderError) *evals.ProviderError {
	if t == nil || t.reached.Load() {
		return nil
	}
	if _, _, ok := connectFailure(last); !ok {
		return nil
	}
	t.trip(last)
	return unreachable(t.down.Load(), last, last.Attempts)
}

// trip declares the target unreachable, unless it already is, with pe's
// connection failure as the cause.
func (t *reach) trip(pe *evals.ProviderError) {
	cause, hint, _ := connectFailure(pe)
	t.down.CompareAndSwap(nil, &evals.UnreachableError{Endpoint: t.endpoint, Cause: cause, Hint: hint, Err: pe.Err})
}

// unreachable is the error of a request of an unreachable target: last is
// its last error, nil when it was not sent.
func unreachable(u *evals.UnreachableError, last *evals.ProviderError, attempts int) *evals.ProviderError {
	pe := &evals.ProviderError{Kind: evals.ErrKindTransport, Message: u.Error(), Attempts: attempts, Err: u}
	if last != nil {
		pe.Sent = last.Sent
	}
	return pe
}

// connected reports whether a failed send reached the server: it answered,
// or the connection failed after it was made. A timeout or a cancellation
// says neither way.
func connected(pe *evals.ProviderError) bool {
	switch pe.Kind {
	case evals.ErrKindHTTP, evals.ErrKindDecode, evals.ErrKindTransport:
		return true
	}
	return false
}

// connectFailure reports whether pe is a failure to connect: the dial (or the
// one to a proxy) failed, refused, no such host, no route, timed out. It
// returns the failure in a few words and a hint at what to check.
func connectFailure(pe *evals.ProviderError) (cause, hint string, ok bool) {
	if pe.Kind != evals.ErrKindTransport {
		return "", "", false
	}
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case errors.As(pe.Err, &op) && (op.Op == "dial" || op.Op == "proxyconnect"):
	case errors.As(pe.Err, &dns):
	default:
		return "", "", false
	}
	var sys *os.SyscallError
	switch {
	case errors.Is(pe.Err, syscall.ECONNREFUSED):
		return "connection refused", "is the server running?", true
	case errors.As(pe.Err, &dns) && dns.IsNotFound:
		return "no such host", "is the host name right?", true
	case errors.As(pe.Err, &dns):
		return dns.Error(), "is the host name right?", true
	case errors.As(pe.Err, &sys):
		return sys.Err.Error(), "is the server running, and reachable from here?", true
	case op != nil:
		return op.Err.Error(), "is the server running, and reachable from here?", true
	}
	return pe.Err.Error(), "is the server running, and reachable from here?", true
}
