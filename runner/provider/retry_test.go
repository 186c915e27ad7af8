package provider

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// script returns a provider that plays a list of outcomes, one per call:
// nil for a response, else a copy of the error with Sent naming the call.
func script(steps ...error) *evalstest.Provider {
	return &evalstest.Provider{Respond: func(_ context.Context, i int, _ *evals.Request) (*evals.Response, error) {
		sent := &evals.SentRequest{URL: fmt.Sprintf("call-%d", i)}
		if i >= len(steps) {
			return nil, fmt.Errorf("script: unexpected call %d", i+1)
		}
		var pe *evals.ProviderError
		switch err := steps[i]; {
		case err == nil:
			return &evals.Response{Text: "ok", Sent: sent}, nil
		case errors.As(err, &pe):
			c := *pe
			c.Sent = sent
			return nil, &c
		default:
			return nil, err
		}
	}}
}

func statusErr(status int, msg string, retryAfter time.Duration) *evals.ProviderError {
	return &evals.ProviderError{Kind: evals.ErrKindHTTP, Status: status, Message: msg, RetryAfter: retryAfter}
}

func kindErr(kind, msg string) *evals.ProviderError {
	return &evals.ProviderError{Kind: kind, Message: msg}
}

// waits records the waits Retry asks for and returns at once.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) list() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// highest draws the top of every jitter range, so the waits show the ranges.
func highest(n int64) int64 { return n - 1 }

func fastRetry(w *waits) []RetryOption {
	return []RetryOption{RetrySleep(w.sleep), RetryRandom(highest)}
}

func dur(s string) evals.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return evals.Duration(d)
}

func TestRetry(t *testing.T) {
	const ns = time.Nanosecond
	sec := time.Second
	// The reset headers of a 429, as OpenAI sends them.
	resetHeaders := http.Header{"X-Ratelimit-Reset-Requests": {"1s"}, "X-Ratelimit-Reset-Tokens": {"6m0s"}}
	shortReset := http.Header{"X-Ratelimit-Reset-Requests": {"20ms"}, "X-Ratelimit-Reset-Tokens": {"1m30.5s"}}
	tests := []struct {
		name  string
		spec  *evals.RetrySpec
		steps []error
		// want: calls made, waits asked for (at the top of their jitter
		// range), and the final error (nil for success).
		calls    int
		waits    []time.Duration
		kind     string
		status   int
		message  string
		attempts int
	}{
		{name: "success at once", steps: []error{nil}, calls: 1, attempts: 1},
		{
			name:  "503 then success, default backoff",
			steps: []error{statusErr(503, "overloaded", 0), nil},
			calls: 2, waits: []time.Duration{500*time.Millisecond - ns}, attempts: 2,
		},
		{
			name:  "backoff doubles up to max_delay, then attempts run out",
			spec:  &evals.RetrySpec{Attempts: 6, BaseDelay: dur("100ms"), MaxDelay: dur("350ms")},
			steps: []error{statusErr(503, "overloaded", 0), statusErr(500, "boom", 0), kindErr(evals.ErrKindTransport, "reset"), kindErr(evals.ErrKindTimeout, "no response within 1s"), statusErr(502, "Bad Gateway", 0), statusErr(503, "overloaded", 0)},
			calls: 6,
			waits: []time.Duration{100*time.Millisecond - ns, 200*time.Millisecond - ns, 350*time.Millisecond - ns, 350*time.Millisecond - ns, 350*time.Millisecond - ns},
			kind:  evals.ErrKindHTTP, status: 503, message: "gave up after 6 attempts: overloaded", attempts: 6,
		},
		{
			name:  "default statuses: 408, 409, 429 retried",
			steps: []error{statusErr(408, "timeout", 0), statusErr(409, "conflict", 0), statusErr(429, "slow down", 0), nil},
			calls: 4, waits: []time.Duration{500*time.Millisecond - ns, sec - ns, 2*sec - ns}, attempts: 4,
		},
		{
			name:  "Retry-After honoured beyond max_delay, plus up to 10%",
			steps: []error{statusErr(429, "slow down", 45*sec), nil},
			calls: 2, waits: []time.Duration{45*sec + 4500*time.Millisecond - ns}, attempts: 2,
		},
		{
			name:  "x-ratelimit-reset: the later of the two",
			steps: []error{statusErr(429, "slow down", retryAfterStatus(429, shortReset, time.Now())), nil},
			calls: 2, waits: []time.Duration{90500*time.Millisecond + 9050*time.Millisecond - ns}, attempts: 2,
		},
		{
			name:  "x-ratelimit-reset longer than max_wait: gives up at once",
			steps: []error{statusErr(429, "Rate limit reached for requests", retryAfterStatus(429, resetHeaders, time.Now()))},
			calls: 1, kind: evals.ErrKindHTTP, status: 429, attempts: 1,
			message: "gave up after 1 attempt (the next wait, 6m35.999999999s, is longer than max_wait 2m0s): Rate limit reached for requests",
		},
		{
			name:  "max_wait exhausted",
			spec:  &evals.RetrySpec{Attempts: 10, MaxWait: dur("1m")},
			steps: []error{statusErr(503, "overloaded", 25*sec), statusErr(503, "overloaded", 25*sec), statusErr(503, "still overloaded", 25*sec)},
			calls: 3, waits: []time.Duration{27500*time.Millisecond - ns, 27500*time.Millisecond - ns},
			kind: evals.ErrKindHTTP, status: 503, attempts: 3,
			message: "gave up after 3 attempts (the next wait, 27.499999999s, is longer than the 5.000000002s left of max_wait 1m0s): still overloaded",
		},
		{
			name:  "server's wait fits max_wait, its jitter is cut",
			spec:  &evals.RetrySpec{MaxWait: dur("10s")},
			steps: []error{statusErr(429, "slow down", 10*sec), nil},
			calls: 2, waits: []time.Duration{10 * sec}, attempts: 2,
		},
		{
			name:  "backoff beyond max_wait",
			spec:  &evals.RetrySpec{MaxWait: dur("100ms"), BaseDelay: dur("1s")},
			steps: []error{kindErr(evals.ErrKindTransport, "connection refused")},
			calls: 1, kind: evals.ErrKindTransport, attempts: 1,
			message: "gave up after 1 attempt (the next wait, 999.999999ms, is longer than max_wait 100ms): connection refused",
		},
		{
			name:  "400 fails at once with the server's message",
			steps: []error{statusErr(400, "model 'gpt-5' does not exist", 0)},
			calls: 1, kind: evals.ErrKindHTTP, status: 400, message: "model 'gpt-5' does not exist", attempts: 1,
		},
		{
			name:  "401 fails at once",
			steps: []error{statusErr(401, "invalid api key", 0)},
			calls: 1, kind: evals.ErrKindHTTP, status: 401, message: "invalid api key", attempts: 1,
		},
		{
			name:  "decode error not retried",
			steps: []error{statusErr(503, "overloaded", 0), kindErr(evals.ErrKindDecode, "malformed response")},
			calls: 2, waits: []time.Duration{500*time.Millisecond - ns},
			kind: evals.ErrKindDecode, message: "malformed response", attempts: 2,
		},
		{
			name:  "replay error not retried",
			steps: []error{kindErr(evals.ErrKindReplay, "no recording")},
			calls: 1, kind: evals.ErrKindReplay, message: "no recording", attempts: 1,
		},
		{
			name:  "cancellation not retried",
			steps: []error{kindErr(evals.ErrKindCanceled, "canceled while the request was in flight")},
			calls: 1, kind: evals.ErrKindCanceled, message: "canceled while the request was in flight", attempts: 1,
		},
		{
			name:  "custom statuses: 503 retried",
			spec:  &evals.RetrySpec{Statuses: []int{503, 418}},
			steps: []error{statusErr(503, "overloaded", 0), statusErr(418, "teapot", 0), nil},
			calls: 3, waits: []time.Duration{500*time.Millisecond - ns, sec - ns}, attempts: 3,
		},
		{
			name:  "custom statuses: 429 no longer retried",
			spec:  &evals.RetrySpec{Statuses: []int{503}},
			steps: []error{statusErr(429, "slow down", time.Second)},
			calls: 1, kind: evals.ErrKindHTTP, status: 429, message: "slow down", attempts: 1,
		},
		{
			name:  "custom statuses: transport still retried",
			spec:  &evals.RetrySpec{Statuses: []int{503}},
			steps: []error{kindErr(evals.ErrKindTransport, "reset"), nil},
			calls: 2, waits: []time.Duration{500*time.Millisecond - ns}, attempts: 2,
		},
		{
			name:  "attempts 1 turns retries off",
			spec:  &evals.RetrySpec{Attempts: 1},
			steps: []error{statusErr(503, "overloaded", 0)},
			calls: 1, kind: evals.ErrKindHTTP, status: 503, message: "overloaded", attempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := script(tt.steps...)
			w := &waits{}
			resp, err := Retry(p, tt.spec, fastRetry(w)...).Complete(t.Context(), testRequest)
			if p.Count() != tt.calls {
				t.Errorf("%d calls, want %d", p.Count(), tt.calls)
			}
			if got := w.list(); fmt.Sprint(got) != fmt.Sprint(tt.waits) {
				t.Errorf("waits %v, want %v", got, tt.waits)
			}
			lastSent := fmt.Sprintf("call-%d", tt.calls-1)
			if tt.kind == "" {
				if err != nil {
					t.Fatalf("error %v, want success", err)
				}
				if resp.Attempts != tt.attempts || resp.Sent.URL != lastSent {
					t.Errorf("Attempts %d Sent %s, want %d %s", resp.Attempts, resp.Sent.URL, tt.attempts, lastSent)
				}
				return
			}
			pe := providerError(t, err)
			if pe.Kind != tt.kind || pe.Status != tt.status || pe.Message != tt.message || pe.Attempts != tt.attempts {
				t.Errorf("got %s %d %q after %d attempts\nwant %s %d %q after %d",
					pe.Kind, pe.Status, pe.Message, pe.Attempts, tt.kind, tt.status, tt.message, tt.attempts)
			}
			if pe.Sent == nil || pe.Sent.URL != lastSent {
				t.Errorf("Sent %v, want the last attempt's, %s", pe.Sent, lastSent)
			}
			// The provider's errors are copied, never changed.
			for _, step := range tt.steps {
				if se, ok := step.(*evals.ProviderError); ok && (se.Attempts != 0 || se.Sent != nil || strings.HasPrefix(se.Message, "gave up")) {
					t.Errorf("the provider's error was modified: %+v", se)
				}
			}
		})
	}
}

func TestRetryOtherErrorsReturnedAsTheyAre(t *testing.T) {
	boom := errors.New("boom")
	p := script(boom)
	_, err := Retry(p, nil, fastRetry(&waits{})...).Complete(t.Context(), testRequest)
	if err != boom || p.Count() != 1 {
		t.Errorf("got %v after %d calls, want boom after 1", err, p.Count())
	}
}

func TestRetryJitter(t *testing.T) {
	// With the real random source, each wait falls in its range, and the
	// waits are spread over it rather than all at the top.
	steps := make([]error, 0, 9)
	for range 8 {
		steps = append(steps, statusErr(503, "overloaded", 0))
	}
	steps = append(steps, nil)
	spec := &evals.RetrySpec{Attempts: 9, BaseDelay: dur("100ms"), MaxDelay: dur("1s")}
	var all [8][]time.Duration
	for range 200 {
		w := &waits{}
		if _, err := Retry(script(steps...), spec, RetrySleep(w.sleep)).Complete(t.Context(), testRequest); err != nil {
			t.Fatal(err)
		}
		for i, d := range w.list() {
			all[i] = append(all[i], d)
		}
	}
	for i, ds := range all {
		ceiling := min(time.Second, 100*time.Millisecond<<i)
		var low, high int
		for _, d := range ds {
			if d < 0 || d >= ceiling {
				t.Fatalf("wait %d = %v, outside [0, %v)", i, d, ceiling)
			}
			if d < ceiling/4 {
				low++
			}
			if d >= ceiling*3/4 {
				high++
			}
		}
		if low < 20 || high < 20 {
			t.Errorf("wait %d: %d of 200 in the lowest quarter and %d in the highest; not spread over [0, %v)", i, low, high, ceiling)
		}
	}

	t.Run("Retry-After jitter", func(t *testing.T) {
		for range 200 {
			w := &waits{}
			steps := []error{statusErr(429, "slow down", 2*time.Second), nil}
			if _, err := Retry(script(steps...), nil, RetrySleep(w.sleep)).Complete(t.Context(), testRequest); err != nil {
				t.Fatal(err)
			}
			if d := w.list()[0]; d < 2*time.Second || d >= 2200*time.Millisecond {
				t.Fatalf("wait %v, want in [2s, 2.2s)", d)
			}
		}
	})
}

func TestRetryBackoffOverflow(t *testing.T) {
	r := Retry(nil, &evals.RetrySpec{BaseDelay: dur("1h"), MaxDelay: dur("2h")}, RetryRandom(highest)).(*retrier)
	for _, n := range []int{0, 1, 2, 40, 62, 63, 64, 1000} {
		d := r.backoff(n, 0)
		want := 2*time.Hour - 1
		if n == 0 {
			want = time.Hour - 1
		}
		if d != want {
			t.Errorf("backoff(%d) = %v, want %v", n, d, want)
		}
	}
}

func TestRetryDeadline(t *testing.T) {
	p := script(statusErr(503, "overloaded", 5*time.Second))
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	w := &waits{}
	start := time.Now()
	_, err := Retry(p, nil, fastRetry(w)...).Complete(ctx, testRequest)
	pe := providerError(t, err)
	want := "gave up after 1 attempt (waiting 5.499999999s more would pass the deadline): overloaded"
	if pe.Kind != evals.ErrKindHTTP || pe.Message != want || len(w.list()) != 0 || time.Since(start) > 500*time.Millisecond {
		t.Errorf("got %s %q after %v, waits %v; want at once %q", pe.Kind, pe.Message, time.Since(start), w.list(), want)
	}
}

// TestRetryCancelDuringBackoff cancels the run while Retry waits the 10s the
// server asked for, with the real clock.
func TestRetryCancelDuringBackoff(t *testing.T) {
	var requests atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Retry-After", "10")
		answer(503, `{"error":{"message":"overloaded"}}`)(w, r)
	})
	p := Retry(newOpenAI(t, openaiSpec(srv)), nil)
	ctx, cancel := context.WithCancel(t.Context())
	var canceled atomic.Int64
	time.AfterFunc(100*time.Millisecond, func() {
		canceled.Store(time.Now().UnixNano())
		cancel()
	})
	_, err := p.Complete(ctx, testRequest)
	late := time.Since(time.Unix(0, canceled.Load()))
	if canceled.Load() == 0 || late > 100*time.Millisecond {
		t.Errorf("returned %v after the cancel, want promptly", late)
	}
	pe := providerError(t, err)
	if re := evals.AsResultError(err); re.Kind != evals.ErrKindCanceled || !errors.Is(err, context.Canceled) {
		t.Errorf("classified %s (errors.Is Canceled %v), want canceled", re.Kind, errors.Is(err, context.Canceled))
	}
	if pe.Attempts != 1 || requests.Load() != 1 || pe.Sent == nil {
		t.Errorf("Attempts %d, server saw %d, Sent %v; want 1, 1, the request", pe.Attempts, requests.Load(), pe.Sent)
	}
	if !strings.Contains(pe.Message, "http_status 503: overloaded") {
		t.Errorf("message %q does not say what the last attempt got", pe.Message)
	}
}

// TestRetryOpenAI runs Retry over the real provider against servers that
// fail in the ways the schema documents.
func TestRetryOpenAI(t *testing.T) {
	type reply struct {
		status int
		header http.Header
		body   string
	}
	ok := reply{200, nil, okBody}
	tests := []struct {
		name    string
		spec    *evals.RetrySpec
		replies []reply
		waits   func(t *testing.T, got []time.Duration)
		errKind string
		message string
	}{
		{
			name:    "Retry-After in seconds",
			replies: []reply{{429, http.Header{"Retry-After": {"7"}}, `{"error":{"message":"slow down"}}`}, ok},
			waits:   exactly(7*time.Second + 700*time.Millisecond - 1),
		},
		{
			name:    "Retry-After-Ms",
			replies: []reply{{429, http.Header{"Retry-After-Ms": {"250"}}, `{"error":{"message":"slow down"}}`}, ok},
			waits:   exactly(250*time.Millisecond + 25*time.Millisecond - 1),
		},
		{
			name: "Retry-After as an HTTP date",
			replies: []reply{{503, http.Header{"Retry-After": {time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)}},
				`{"error":{"message":"overloaded"}}`}, ok},
			waits: func(t *testing.T, got []time.Duration) {
				// whole seconds in the date: 28s < wait <= 33s with jitter
				if len(got) != 1 || got[0] <= 28*time.Second || got[0] > 33*time.Second {
					t.Errorf("waits %v, want one of about 30s plus jitter", got)
				}
			},
		},
		{
			name: "gives up when Retry-After exhausts max_wait",
			spec: &evals.RetrySpec{MaxWait: dur("2m")},
			replies: []reply{
				{503, http.Header{"Retry-After": {"50"}}, `{"error":{"message":"overloaded"}}`},
				{503, http.Header{"Retry-After": {"50"}}, `{"error":{"message":"overloaded"}}`},
				{503, http.Header{"Retry-After": {"50"}}, `<html><title>503 Service Unavailable</title></html>`},
			},
			waits:   exactly(55*time.Second-1, 55*time.Second-1),
			errKind: evals.ErrKindHTTP,
			message: "gave up after 3 attempts (the next wait, 54.999999999s, is longer than the 10.000000002s left of max_wait 2m0s): 503 Service Unavailable",
		},
		{
			name:    "non-retryable status fails at once with the server's message",
			replies: []reply{{400, nil, `{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error"}}`}},
			waits:   exactly(),
			errKind: evals.ErrKindHTTP,
			message: "Invalid value for 'temperature'",
		},
		{
			name:    "malformed 200 is a decode error, not retried",
			replies: []reply{{502, nil, "Bad Gateway"}, {200, nil, `{"choices": [`}},
			waits:   exactly(500*time.Millisecond - 1),
			errKind: evals.ErrKindDecode,
		},
		{
			name:    "attempts exhausted",
			spec:    &evals.RetrySpec{Attempts: 3},
			replies: []reply{{500, nil, `{"detail":"boom"}`}, {500, nil, `{"detail":"boom"}`}, {502, nil, `{"detail":"bad gateway"}`}},
			waits:   exactly(500*time.Millisecond-1, time.Second-1),
			errKind: evals.ErrKindHTTP,
			message: "gave up after 3 attempts: bad gateway",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if i >= len(tt.replies) {
					t.Errorf("request %d, want %d", i+1, len(tt.replies))
					answer(500, `{"error":"too many requests"}`)(w, r)
					return
				}
				for k, v := range tt.replies[i].header {
					w.Header()[k] = v
				}
				answer(tt.replies[i].status, tt.replies[i].body)(w, r)
			})
			w := &waits{}
			resp, err := Retry(newOpenAI(t, openaiSpec(srv)), tt.spec, fastRetry(w)...).Complete(t.Context(), testRequest)
			tt.waits(t, w.list())
			if int(n.Load()) != len(tt.replies) {
				t.Errorf("server saw %d requests, want %d", n.Load(), len(tt.replies))
			}
			if tt.errKind == "" {
				if err != nil || resp.Attempts != len(tt.replies) {
					t.Fatalf("got %v, %+v; want success after %d attempts", err, resp, len(tt.replies))
				}
				return
			}
			pe := providerError(t, err)
			if pe.Kind != tt.errKind || tt.message != "" && pe.Message != tt.message || pe.Attempts != len(tt.replies) || pe.Sent == nil {
				t.Errorf("got %s %q after %d attempts (Sent %v)\nwant %s %q after %d", pe.Kind, pe.Message, pe.Attempts, pe.Sent != nil,
					tt.errKind, tt.message, len(tt.replies))
			}
		})
	}
}

func exactly(want ...time.Duration) func(*testing.T, []time.Duration) {
	return func(t *testing.T, got []time.Duration) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("waits %v, want %v", got, want)
		}
	}
}

// TestRetryCountsTransportResends checks that Attempts counts the request
// http.Transport sends again by itself when a reused connection is reset
// before any answer, as the server saw it.
func TestRetryCountsTransportResends(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{} // requests by case
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := "first"
		if strings.Contains(string(body), "second") {
			id = "second"
		}
		mu.Lock()
		seen[id]++
		n := seen[id]
		mu.Unlock()
		if id == "second" && n == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			return
		}
		answer(200, okBody)(w, r)
	})
	p := Retry(newOpenAI(t, openaiSpec(srv)), nil, fastRetry(&waits{})...)
	for _, id := range []string{"first", "second"} {
		req := &evals.Request{CaseID: id, Messages: []evals.Message{{Role: "user", Content: id}}}
		resp, err := p.Complete(t.Context(), req)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		mu.Lock()
		want := seen[id]
		mu.Unlock()
		if resp.Attempts != want {
			t.Errorf("%s: Attempts %d, server saw %d requests", id, resp.Attempts, want)
		}
	}
	if seen["second"] != 2 {
		t.Errorf("server saw the second request %d times, want 2 (a reset, then the transport's resend)", seen["second"])
	}
}

func TestRetryConcurrent(t *testing.T) {
	// One Retry shared by many goroutines, each request failing a few times.
	var calls sync.Map // case id -> *atomic.Int32
	p := &evalstest.Provider{Respond: func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
		v, _ := calls.LoadOrStore(req.CaseID, new(atomic.Int32))
		n := v.(*atomic.Int32).Add(1)
		var fails int32
		fmt.Sscan(req.CaseID, &fails)
		if n <= fails%4 {
			return nil, statusErr(503, "overloaded", 0)
		}
		return &evals.Response{Text: req.CaseID}, nil
	}}
	r := Retry(p, nil, RetrySleep((&waits{}).sleep), RetryRandom(func(n int64) int64 { return rand.Int64N(n) }))
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			id := fmt.Sprint(i)
			resp, err := r.Complete(t.Context(), &evals.Request{CaseID: id})
			if err != nil || resp.Text != id || resp.Attempts != i%4+1 {
				t.Errorf("case %d: %v %+v, want success after %d attempts", i, err, resp, i%4+1)
			}
		})
	}
	wg.Wait()
}

// TestRetryTruncatedBody checks that a 200 whose body the connection cut
// short is retried like a reset, and that a complete body that is not a
// completion is not.
func TestRetryTruncatedBody(t *testing.T) {
	const head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	tests := []struct {
		name  string
		first string // the first answer, raw; the second is okBody
		// kind is the error's kind, "" when the retry succeeds.
		kind, message string
	}{
		{
			name:  "Content-Length larger than the body sent",
			first: head + "Content-Length: 1000\r\n\r\n" + okBody[:60],
		},
		{
			name:  "no length, connection closed mid-body",
			first: head + "\r\n" + okBody[:60],
		},
		{
			name:    "complete body of the wrong shape",
			first:   head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(`{"choices":"billing"}`)) + `{"choices":"billing"}`,
			kind:    evals.ErrKindDecode,
			message: `malformed response: json: cannot unmarshal string into Go struct field chatResponse.choices of type []struct`,
		},
		{
			name:    "complete body whose JSON the server cut short",
			first:   head + "Content-Length: 60\r\n\r\n" + okBody[:60],
			kind:    evals.ErrKindDecode,
			message: `malformed response: unexpected end of JSON input`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := rawServer(t, func(conn net.Conn, rw *bufio.ReadWriter) {
				defer conn.Close()
				if n.Add(1) == 1 {
					rw.WriteString(tt.first)
				} else {
					fmt.Fprintf(rw, "%sContent-Length: %d\r\n\r\n%s", head, len(okBody), okBody)
				}
				rw.Flush()
			})
			resp, err := Retry(newOpenAI(t, openaiSpec(srv)), nil, fastRetry(&waits{})...).Complete(t.Context(), testRequest)
			if tt.kind == "" {
				if err != nil || resp.Text != "billing" || resp.Attempts != 2 || n.Load() != 2 {
					t.Errorf("got %v, %+v after %d requests; want the completion on the second attempt", err, resp, n.Load())
				}
				return
			}
			pe := providerError(t, err)
			if pe.Kind != tt.kind || !strings.HasPrefix(pe.Message, tt.message) || pe.Retryable() || n.Load() != 1 {
				t.Errorf("got %s %q (retryable %v) after %d requests\nwant %s %q..., not retried", pe.Kind, pe.Message, pe.Retryable(), n.Load(), tt.kind, tt.message)
			}
		})
	}
}
