package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/provider"
)

// A fault is how the fault server answers one request.
type fault int

const (
	answerOK      fault = iota
	answerSlow          // OK, after a pause well within the timeout
	throttled           // 429 with Retry-After: 0 or Retry-After-Ms of a few ms
	serverError         // 500, 502 (an HTML page) or 503
	resetConn           // the connection reset (RST) once the request is read
	hang                // no answer until the client gives up
	malformedBody       // 200 with a body that is not JSON: a decode error, not retried
	truncatedBody       // 200 with Content-Length larger than what is sent, then close
)

var faultNames = [...]string{"ok", "slow", "429", "5xx", "reset", "hang", "malformed", "truncated"}

func (f fault) String() string { return faultNames[f] }

// faultWeights are the odds, in percent, of each answer to a request of a
// case that is not scripted.
var faultWeights = [...]int{
	answerOK: 45, answerSlow: 5, throttled: 12, serverError: 13,
	resetConn: 9, hang: 1, malformedBody: 3, truncatedBody: 12,
}

// faultScripts fix the answers to the first cases, so that every way a case
// can end happens in every run; the last answer repeats.
var faultScripts = map[string][]fault{
	"f0001": {serverError, resetConn, truncatedBody, throttled, serverError, hang},
	"f0002": {throttled},
	"f0003": {resetConn},
	"f0004": {truncatedBody},
	"f0005": {serverError, malformedBody},
	"f0006": {hang, answerOK},
	"f0007": {truncatedBody, truncatedBody, throttled, resetConn, serverError, answerSlow},
	"f0008": {malformedBody},
}

const (
	faultSeed  = 20260301
	faultCases = 3000
	// faultTimeout is the target's timeout. It is long next to the time an
	// answer takes, so that only hangs time out: were an answer to arrive
	// after it, the server would have answered OK to a client that had given
	// up and sends again, and its log would no longer say what the client
	// saw. At 250ms that happened under -race on two busy cores, and at 1s
	// with the load average at 8 on two cores. Hangs are rare, so that they
	// cost about two seconds of the run.
	faultTimeout = 2 * time.Second
	faultRetries = 6
)

// answered is one request the fault server received, and how it answered.
type answered struct {
	fault  fault
	status int
}

func (a answered) ok() bool { return a.fault == answerOK || a.fault == answerSlow }

// faultServer is an OpenAI-compatible endpoint that fails at random. Its
// choices are a function of the seed, the case and how many requests for
// that case came before, so a run is reproducible however the requests
// interleave. It logs every request by case: the case id is the prompt.
type faultServer struct {
	t    *testing.T
	done chan struct{} // closed when the test ends, to release hung handlers

	mu  sync.Mutex
	log map[string][]answered
}

func (s *faultServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Messages []evals.Message `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Messages) != 1 {
		s.t.Errorf("fault server: bad request body (%v)", err)
		http.Error(w, "bad request", 400)
		return
	}
	id := strings.TrimPrefix(body.Messages[0].Content, "case ")
	s.mu.Lock()
	n := len(s.log[id])
	rng := rand.New(rand.NewPCG(faultSeed, hash(id)<<8|uint64(n)))
	a := answered{fault: pick(rng)}
	if script, ok := faultScripts[id]; ok {
		a.fault = script[min(n, len(script)-1)]
	}
	switch a.fault {
	case throttled:
		a.status = 429
	case serverError:
		a.status = []int{500, 502, 503}[rng.IntN(3)]
	}
	s.log[id] = append(s.log[id], a)
	s.mu.Unlock()

	switch a.fault {
	case answerOK, answerSlow:
		if a.fault == answerSlow {
			time.Sleep(time.Duration(5+rng.IntN(35)) * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"choices":[{"message":{"role":"assistant","content":"answer %s"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}`, id)
	case throttled:
		if rng.IntN(2) == 0 {
			w.Header().Set("Retry-After", "0")
		} else {
			w.Header().Set("Retry-After-Ms", fmt.Sprint(1+rng.IntN(20)))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(429)
		io.WriteString(w, `{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}`)
	case serverError:
		switch a.status {
		case 502:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			io.WriteString(w, `{"detail":"the model is overloaded"}`)
		}
	case resetConn:
		conn := hijack(s.t, w)
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	case hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	case malformedBody:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"content":"answer `+id+`"`)
	case truncatedBody:
		conn := hijack(s.t, w)
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"+`{"choices":[{"message":`)
		conn.Close()
	}
}

func hijack(t *testing.T, w http.ResponseWriter) net.Conn {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
	}
	return conn
}

func hash(s string) uint64 {
	h := fnv.New64a()
	io.WriteString(h, s)
	return h.Sum64()
}

func pick(rng *rand.Rand) fault {
	n := rng.IntN(100)
	for f, w := range faultWeights {
		if n < w {
			return fault(f)
		}
		n -= w
	}
	panic("fault weights do not add up to 100")
}

// want is the result a case should have, by the server's log: success if it
// answered OK once, else the error of its last answer.
func (s *faultServer) want(id string) (ok bool, kind string, status int) {
	log := s.log[id]
	last := log[len(log)-1]
	switch last.fault {
	case answerOK, answerSlow:
		return true, "", 0
	case throttled, serverError:
		return false, evals.ErrKindHTTP, last.status
	case resetConn, truncatedBody:
		return false, evals.ErrKindTransport, 0
	case hang:
		return false, evals.ErrKindTimeout, 0
	case malformedBody:
		return false, evals.ErrKindDecode, 0
	}
	panic("unknown fault")
}

type caseList struct {
	n, i int
}

func (c *caseList) Next() (*evals.Case, error) {
	if c.i == c.n {
		return nil, io.EOF
	}
	c.i++
	return &evals.Case{ID: fmt.Sprintf("f%04d", c.i)}, nil
}

func (c *caseList) Close() error { return nil }

type collect struct{ results []*evals.Result }

func (c *collect) Write(r *evals.Result) error {
	c.results = append(c.results, r)
	return nil
}

// TestRunAgainstFaults runs 3,000 cases through the real openai provider,
// wrapped as a run wraps it, against a server that throttles, fails, resets,
// hangs and garbles at random, and checks every result against what the
// server saw.
func TestRunAgainstFaults(t *testing.T) {
	s := &faultServer{t: t, done: make(chan struct{}), log: map[string][]answered{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(s.done) }) // before srv.Close, which waits for handlers

	spec := evals.TargetSpec{
		Name: "faulty", Provider: "openai", Model: "m", Config: json.RawMessage(`{"base_url": "` + srv.URL + `/v1"}`),
		Concurrency: 32, Timeout: evals.Duration(faultTimeout),
		Retry: &evals.RetrySpec{Attempts: faultRetries},
	}
	p, err := provider.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	// Waits a thousandth of the backoff asked for: microseconds.
	fast := provider.RetrySleep(func(ctx context.Context, d time.Duration) error {
		select {
		case <-time.After(d / 1000):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	// What the client saw of each attempt, to explain a failure.
	client := &observed{p: p, seen: map[string][]string{}}
	wrapped := provider.Wrap(client, spec, fast)
	defer p.(io.Closer).Close()

	suite := &evals.Suite{
		Name:      "faults",
		Messages:  []evals.Message{{Role: "user", Content: "case {{ id }}"}},
		Templates: []*evals.Template{evals.MustParseTemplate("case {{ id }}")},
		CasePass:  evals.CasePassAll,
	}
	sink := &collect{}
	start := time.Now()
	sum, err := runner.Run(t.Context(), runner.Options{
		RunID:   "faults",
		Suite:   suite,
		Targets: []runner.Target{{Spec: spec, Provider: wrapped}},
		Open:    func() (runner.CaseSource, error) { return &caseList{n: faultCases}, nil },
		Sink:    sink,
		Total:   faultCases,
	})
	elapsed := time.Since(start)
	if err != nil || !sum.Complete {
		t.Fatalf("Run: %v (complete %v)", err, sum.Complete)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(sink.results) != faultCases || len(s.log) != faultCases {
		t.Fatalf("%d results, %d cases logged by the server; want %d of each", len(sink.results), len(s.log), faultCases)
	}
	explain := func(id string) string {
		return fmt.Sprintf("\n\tserver answered %v\n\tclient saw %q", s.log[id], client.seen[id])
	}
	seen := map[string]bool{}
	wantKinds, gotKinds := map[string]int{}, map[string]int{}
	requests, allFaulty, resent := 0, 0, 0
	faults := map[fault]int{}
	for _, r := range sink.results {
		id := r.CaseID
		if seen[id] {
			t.Errorf("case %s: more than one result", id)
			continue
		}
		seen[id] = true
		log := s.log[id]
		requests += len(log)
		if len(log) > faultRetries {
			resent++ // http.Transport resent a request after a reset
		}
		oks := 0
		for i, a := range log {
			faults[a.fault]++
			if a.ok() {
				oks++
				if i != len(log)-1 {
					t.Errorf("case %s: %d requests after the server answered OK%s", id, len(log)-1-i, explain(id))
				}
			}
		}
		if oks > 1 {
			t.Errorf("case %s: answered OK %d times%s", id, oks, explain(id))
		}
		if r.Attempts != len(log) {
			t.Errorf("case %s: Attempts %d, the server saw %d requests%s", id, r.Attempts, len(log), explain(id))
		}
		ok, kind, status := s.want(id)
		if ok {
			if r.Status == evals.StatusError || r.Output != "answer "+id {
				t.Errorf("case %s: %s %q (%+v), want the answer, as the server answered OK%s", id, r.Status, r.Output, r.Error, explain(id))
			}
			continue
		}
		allFaulty++
		wantKinds[kind]++
		if r.Status != evals.StatusError || r.Error == nil {
			t.Errorf("case %s: %s, want an error: every attempt failed%s", id, r.Status, explain(id))
			continue
		}
		gotKinds[r.Error.Kind]++
		if r.Error.Kind != kind || r.Error.Status != status {
			t.Errorf("case %s: error %s %d %q, want %s %d%s", id, r.Error.Kind, r.Error.Status, r.Error.Message, kind, status, explain(id))
		}
		gaveUp := fmt.Sprintf("gave up after %d attempts: ", len(log))
		if retried := kind != evals.ErrKindDecode; retried != strings.HasPrefix(r.Error.Message, gaveUp) {
			t.Errorf("case %s: message %q; a %s error should say %q only when retried", id, r.Error.Message, kind, gaveUp)
		}
		if r.Request == nil || !strings.Contains(string(r.Request.Body), `"case `+id+`"`) {
			t.Errorf("case %s: the failed request is not recorded", id)
		}
	}
	if fmt.Sprint(gotKinds) != fmt.Sprint(wantKinds) {
		t.Errorf("errors by kind %v, want %v", gotKinds, wantKinds)
	}
	if ts := sum.Targets[0]; ts.Errored != allFaulty || fmt.Sprint(ts.Errors) != fmt.Sprint(wantKinds) {
		t.Errorf("summary counts %d errors %v, want %d %v, the cases whose every attempt was faulty", ts.Errored, ts.Errors, allFaulty, wantKinds)
	}

	// The mix is what the test is about: make sure each fault happened.
	for f := range fault(len(faultWeights)) {
		if n := faults[f]; n < 20 {
			t.Errorf("fault %v happened %d times, want a fair share", f, n)
		}
	}
	// The scripted cases end every way a case can.
	scripted := map[string]string{
		"f0001": evals.ErrKindTimeout, "f0002": evals.ErrKindHTTP, "f0003": evals.ErrKindTransport,
		"f0004": evals.ErrKindTransport, "f0005": evals.ErrKindDecode, "f0006": "",
		"f0007": "", "f0008": evals.ErrKindDecode,
	}
	for _, r := range sink.results {
		if want, ok := scripted[r.CaseID]; ok {
			got := ""
			if r.Error != nil {
				got = r.Error.Kind
			}
			if got != want {
				t.Errorf("scripted case %s ended with error %q, want %q%s", r.CaseID, got, want, explain(r.CaseID))
			}
		}
	}
	t.Logf("%d cases, %d requests, %d errors %v, in %v; answers %v; %d cases sent more than %d times",
		faultCases, requests, allFaulty, wantKinds, elapsed.Round(time.Millisecond), faults, resent, faultRetries)
}

// observed is a provider that passes requests on and notes what came back.
type observed struct {
	p    evals.Provider
	mu   sync.Mutex
	seen map[string][]string
}

func (o *observed) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	start := time.Now()
	resp, err := o.p.Complete(ctx, req)
	what := "ok"
	if err != nil {
		what = err.Error()
	}
	o.mu.Lock()
	o.seen[req.CaseID] = append(o.seen[req.CaseID], fmt.Sprintf("%s after %v", what, time.Since(start).Round(time.Millisecond)))
	o.mu.Unlock()
	return resp, err
}

// TestRunStopsUnreachableTarget runs two targets, one of them at a port
// nothing listens on: that target is stopped after its first wave of
// refused connections, without waiting out its retries' backoff, none of its
// cases is recorded (a resumed run sends them), and the other target's run
// completes.
func TestRunStopsUnreachableTarget(t *testing.T) {
	const cases = 30
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var answered atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		answered.Add(1)
		io.WriteString(w, `{"choices":[{"message":{"content":"ok"},"finish_reason":"stop"}]}`)
	}))
	t.Cleanup(srv.Close)

	// A backoff of 10s before the first retry, the most the jitter draws:
	// a request left to retry would hold the run up that long.
	slow := &evals.RetrySpec{BaseDelay: evals.Duration(10 * time.Second)}
	highest := provider.RetryRandom(func(n int64) int64 { return n - 1 })
	var sends atomic.Int32 // to the target that is down
	var targets []runner.Target
	for _, spec := range []evals.TargetSpec{
		{Name: "down", Provider: "openai", Config: json.RawMessage(`{"base_url": "http://` + addr + `/v1"}`), Model: "m", Concurrency: 4, Retry: slow},
		{Name: "up", Provider: "openai", Config: json.RawMessage(`{"base_url": "` + srv.URL + `/v1"}`), Model: "m", Concurrency: 4, Retry: slow},
	} {
		p, err := provider.New(spec)
		if err != nil {
			t.Fatal(err)
		}
		defer p.(io.Closer).Close()
		if spec.Name == "down" {
			p = counted{p.(*provider.OpenAI), &sends}
		}
		targets = append(targets, runner.Target{Spec: spec, Provider: provider.Wrap(p, spec, highest)})
	}
	suite := &evals.Suite{
		Name:      "reach",
		Messages:  []evals.Message{{Role: "user", Content: "case {{ id }}"}},
		Templates: []*evals.Template{evals.MustParseTemplate("case {{ id }}")},
		CasePass:  evals.CasePassAll,
	}
	sink := &collect{}
	start := time.Now()
	// Were every case of the target that is down retried, the run would take
	// minutes: stop it well before.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sum, err := runner.Run(ctx, runner.Options{
		RunID:   "reach",
		Suite:   suite,
		Targets: targets,
		Open:    func() (runner.CaseSource, error) { return &caseList{n: cases}, nil },
		Sink:    sink,
		Total:   2 * cases,
	})
	elapsed := time.Since(start)

	var ue *evals.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("Run: %v, want the target down unreachable", err)
	}
	want := "target down: endpoint http://" + addr + "/v1 is not reachable (connection refused): is the server running?\n" +
		"the run stopped with 30 of 60 results completed"
	if err.Error() != want {
		t.Errorf("Run: %q\nwant %q", err, want)
	}
	if elapsed > 5*time.Second {
		t.Errorf("the run took %v: retries waited out their backoff", elapsed)
	}
	// Four refused connections declare the target unreachable; the three
	// other workers may each have had one on its way then.
	if n := sends.Load(); n < 4 || n > 7 {
		t.Errorf("%d requests sent to the target that is down, want 4 to 7", n)
	}
	byTarget := map[string]int{}
	for _, r := range sink.results {
		byTarget[r.Target]++
		if r.Status == evals.StatusError {
			t.Errorf("case %s of %s: error %+v", r.CaseID, r.Target, r.Error)
		}
	}
	if byTarget["up"] != cases || byTarget["down"] != 0 || answered.Load() != cases {
		t.Errorf("results by target %v, server answered %d; want %d of up, none of down", byTarget, answered.Load(), cases)
	}
	if sum == nil || sum.Complete || !sum.Interrupted || sum.Gate.Held {
		t.Errorf("summary: %+v; want incomplete, interrupted, gate not held", sum)
	}
}

// counted counts the requests sent through it; it is the provider in all
// else (its base URL, whose reachability Wrap tracks).
type counted struct {
	*provider.OpenAI
	n *atomic.Int32
}

func (c counted) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	c.n.Add(1)
	return c.OpenAI.Complete(ctx, req)
}
