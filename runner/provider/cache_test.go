package provider

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
	"github.com/rubric-eval/rubric/runner/store"
)

// openCacheDB opens a response cache in a fresh folder, closed at the end.
func openCacheDB(t testing.TB, path string) *store.DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "rubric.db")
	}
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// cacheServer answers chat completions and counts the requests it gets; its
// handler may be replaced between requests.
type cacheServer struct {
	requests atomic.Int64
	mu       sync.Mutex
	handler  http.HandlerFunc
	bodies   [][]byte
	headers  []http.Header
}

func newCacheServer(t *testing.T, h http.HandlerFunc) (*cacheServer, openaiTarget) {
	cs := &cacheServer{handler: h}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		cs.requests.Add(1)
		b, _ := io.ReadAll(r.Body)
		cs.mu.Lock()
		cs.bodies = append(cs.bodies, b)
		cs.headers = append(cs.headers, r.Header.Clone())
		h := cs.handler
		cs.mu.Unlock()
		h(w, r)
	})
	return cs, openaiSpec(srv)
}

func (cs *cacheServer) set(h http.HandlerFunc) {
	cs.mu.Lock()
	cs.handler = h
	cs.mu.Unlock()
}

// cacheSlowly answers after d.
func cacheSlowly(d time.Duration, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		h(w, r)
	}
}

func cachedOpenAI(t *testing.T, spec openaiTarget, db *store.DB) *Cached {
	t.Helper()
	o := newOpenAI(t, spec)
	return Cache(o, o, db, spec.TargetSpec)
}

func cacheRequest(caseID string, repeat int) *evals.Request {
	return &evals.Request{Target: "t", CaseID: caseID, Repeat: repeat, Messages: []evals.Message{
		{Role: "system", Content: "Classify the ticket."},
		{Role: "user", Content: "ticket " + caseID},
	}}
}

func TestCacheHitsAndMisses(t *testing.T) {
	ctx := context.Background()
	srv, spec := newCacheServer(t, cacheSlowly(30*time.Millisecond, answer(200, okBody)))
	path := filepath.Join(t.TempDir(), "rubric.db")
	db := openCacheDB(t, path)
	c := cachedOpenAI(t, spec, db)

	first, err := c.Complete(ctx, cacheRequest("c1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || first.OriginalLatency != 0 || srv.requests.Load() != 1 {
		t.Fatalf("first call: Cached %v, OriginalLatency %v, %d requests", first.Cached, first.OriginalLatency, srv.requests.Load())
	}

	hit, err := c.Complete(ctx, cacheRequest("c1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if srv.requests.Load() != 1 {
		t.Errorf("the second call sent a request")
	}
	if !hit.Cached || hit.Text != first.Text || hit.Finish != first.Finish || hit.Usage != first.Usage {
		t.Errorf("hit = %+v, want the first response, cached", hit)
	}
	if hit.OriginalLatency < 30*time.Millisecond || hit.OriginalLatency > 10*time.Second {
		t.Errorf("OriginalLatency = %v, want the first call's, at least 30ms", hit.OriginalLatency)
	}
	if hit.Latency != 0 || hit.Attempts != 0 {
		t.Errorf("hit has Latency %v, Attempts %d: the runner would record them as the lookup's", hit.Latency, hit.Attempts)
	}
	if hit.Sent == nil || hit.Sent.URL != first.Sent.URL || !bytes.Equal(hit.Sent.Body, first.Sent.Body) {
		t.Errorf("hit.Sent = %+v, want %+v", hit.Sent, first.Sent)
	}

	// Each repeat, and each case, is sent once.
	for _, req := range []*evals.Request{cacheRequest("c1", 1), cacheRequest("c2", 0), cacheRequest("c1", 1), cacheRequest("c2", 0)} {
		if _, err := c.Complete(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3: c1 repeats 0 and 1, c2", n)
	}
	if got, want := c.Counts(), (CacheCounts{Hits: 3, Misses: 3}); got != want {
		t.Errorf("Counts = %+v, want %+v", got, want)
	}

	// The next run, with a new provider and the database reopened, sends
	// nothing and keeps the original latency.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openCacheDB(t, path)
	c = cachedOpenAI(t, spec, db)
	for _, req := range []*evals.Request{cacheRequest("c1", 0), cacheRequest("c1", 1), cacheRequest("c2", 0)} {
		resp, err := c.Complete(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Cached {
			t.Errorf("%s repeat %d not cached in the next run", req.CaseID, req.Repeat)
		}
		if req.CaseID == "c1" && req.Repeat == 0 && resp.OriginalLatency != hit.OriginalLatency {
			t.Errorf("OriginalLatency after reopening = %v, want %v", resp.OriginalLatency, hit.OriginalLatency)
		}
	}
	if n := srv.requests.Load(); n != 3 {
		t.Errorf("the next run sent %d requests", n-3)
	}

	// Another model, base URL or params is another key.
	for name, edit := range map[string]func(*openaiTarget){
		"model":    func(s *openaiTarget) { s.Model = "m2" },
		"base URL": func(s *openaiTarget) { s.BaseURL += "/" },
		"params":   func(s *openaiTarget) { s.Params = &evals.Params{Temperature: ptr(0.5)} },
	} {
		s := spec
		edit(&s)
		before := srv.requests.Load()
		if _, err := cachedOpenAI(t, s, db).Complete(ctx, cacheRequest("c1", 0)); err != nil {
			t.Fatal(err)
		}
		if srv.requests.Load() != before+1 {
			t.Errorf("another %s: answered from the cache", name)
		}
	}
}

func TestCacheErrorsAreNotCached(t *testing.T) {
	ctx := context.Background()
	srv, spec := newCacheServer(t, answer(500, `{"error":{"message":"overloaded"}}`))
	db := openCacheDB(t, "")
	c := cachedOpenAI(t, spec, db)

	steps := []struct {
		handler      http.HandlerFunc
		wantErr      bool
		wantRequests int64
	}{
		{answer(500, `{"error":{"message":"overloaded"}}`), true, 1},
		{answer(429, `{"error":{"message":"slow down"}}`), true, 2},
		{answer(200, `{"choices":[]}`), true, 3}, // decode error
		{answer(200, okBody), false, 4},
		{answer(500, `{}`), false, 4}, // cached now
	}
	for i, s := range steps {
		srv.set(s.handler)
		resp, err := c.Complete(ctx, cacheRequest("c1", 0))
		if (err != nil) != s.wantErr {
			t.Fatalf("step %d: error %v, want error %v", i, err, s.wantErr)
		}
		if n := srv.requests.Load(); n != s.wantRequests {
			t.Errorf("step %d: %d requests, want %d", i, n, s.wantRequests)
		}
		if err == nil && i == len(steps)-1 && !resp.Cached {
			t.Errorf("step %d: not cached", i)
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if st, _ := db.CacheStats(ctx); st.Entries != 1 {
		t.Errorf("%d entries cached, want 1", st.Entries)
	}
}

// cacheFake answers every request with a fixed response, after delay, and
// says its body is the case ID: a Cacheable provider.
type cacheFake struct {
	*evalstest.Provider
}

// newCacheFake answers with resp, whose Sent.Body is sent, or the body when
// sent is empty.
func newCacheFake(resp evals.Response, sent string, delay time.Duration) *cacheFake {
	f := &cacheFake{}
	f.Provider = &evalstest.Provider{Delay: delay, Respond: func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
		r := resp
		body, _ := f.RequestBody(req)
		if sent != "" {
			body = []byte(sent)
		}
		r.Sent = &evals.SentRequest{URL: "fake:", Body: body}
		return &r, nil
	}}
	return f
}

func (f *cacheFake) RequestBody(req *evals.Request) ([]byte, error) {
	return []byte(fmt.Sprintf(`{"case":%q}`, req.CaseID)), nil
}

func (f *cacheFake) BaseURL() string { return "" }

func (f *cacheFake) SentURL() string { return "fake:" }

// cacheWrapper stands for a decorator (retry, rate limit) between Cache and the
// provider that builds bodies.
type cacheWrapper struct{ p evals.Provider }

func (w cacheWrapper) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	return w.p.Complete(ctx, req)
}

func TestCacheKeepsTheProvidersLatency(t *testing.T) {
	ctx := context.Background()
	db := openCacheDB(t, "")
	fake := newCacheFake(evals.Response{Text: "x", Latency: 4200 * time.Millisecond}, "", 0)
	spec := evals.TargetSpec{Name: "t", Provider: "fake"}
	p := Cache(cacheWrapper{fake}, fake, db, spec)
	for range 2 {
		if _, err := p.Complete(ctx, cacheRequest("c1", 0)); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := p.Complete(ctx, cacheRequest("c1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Cached || resp.OriginalLatency != 4200*time.Millisecond || fake.Count() != 1 {
		t.Errorf("Cached %v, OriginalLatency %v, %d calls; want true, 4.2s, 1", resp.Cached, resp.OriginalLatency, fake.Count())
	}
}

func TestCacheStoresOnlyWhatWasSent(t *testing.T) {
	ctx := context.Background()
	db := openCacheDB(t, "")
	fake := newCacheFake(evals.Response{Text: "x"}, `{"something":"else"}`, 0)
	c := Cache(fake, fake, db, evals.TargetSpec{Name: "t", Provider: "fake"})
	for range 2 {
		if _, err := c.Complete(ctx, cacheRequest("c1", 0)); err != nil {
			t.Fatal(err)
		}
	}
	if fake.Count() != 2 || c.Counts().Errors != 2 {
		t.Errorf("%d calls, counts %+v; want 2 calls and 2 errors", fake.Count(), c.Counts())
	}
}

func TestCacheDatabaseFailure(t *testing.T) {
	ctx := context.Background()
	srv, spec := newCacheServer(t, answer(200, okBody))
	db := openCacheDB(t, "")
	c := cachedOpenAI(t, spec, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		resp, err := c.Complete(ctx, cacheRequest("c1", 0))
		if err != nil {
			t.Fatalf("a database failure failed the case: %v", err)
		}
		if resp.Cached || resp.Text != "billing" {
			t.Errorf("response %+v", resp)
		}
	}
	if srv.requests.Load() != 2 {
		t.Errorf("%d requests, want 2", srv.requests.Load())
	}
	// Each call: the lookup failed (and nothing is stored after that).
	if got, want := c.Counts(), (CacheCounts{Errors: 2}); got != want {
		t.Errorf("Counts = %+v, want %+v", got, want)
	}

	// A canceled run is not a cache failure.
	c = cachedOpenAI(t, spec, openCacheDB(t, ""))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Complete(cctx, cacheRequest("c1", 0)); err == nil {
		t.Error("no error for a canceled context")
	}
	if got := c.Counts(); got.Errors != 0 {
		t.Errorf("canceled call counted as a cache failure: %+v", got)
	}
}

// TestCacheSecrets checks that credentials change neither the key nor what is
// stored: a target with an API key, a secret header and a password in its URL
// is answered from the entries a target without them stored, and no secret
// is in any of the database's files.
func TestCacheSecrets(t *testing.T) {
	ctx := context.Background()
	const (
		apiKey   = "sk-test-4f1b7c0d9e8a7b6c5d4e3f2a1b0c9d8e"
		tokenVal = "tok-9a8b7c6d5e4f3a2b1c0d"
		password = "pw-0a1b2c3d4e5f6a7b8c9d"
	)
	t.Setenv("RUBRIC_CACHE_TEST_KEY", apiKey)
	t.Setenv("RUBRIC_CACHE_TEST_TOKEN", tokenVal)
	srv, plain := newCacheServer(t, answer(200, okBody))
	dir := t.TempDir()
	path := filepath.Join(dir, "rubric.db")
	db := openCacheDB(t, path)

	plainC := cachedOpenAI(t, plain, db)
	for i := range 20 {
		if _, err := plainC.Complete(ctx, cacheRequest(fmt.Sprint("c", i), 0)); err != nil {
			t.Fatal(err)
		}
	}

	secret := plain
	secret.APIKeyEnv = "RUBRIC_CACHE_TEST_KEY"
	secret.Headers = map[string]string{"X-Api-Token": "${RUBRIC_CACHE_TEST_TOKEN}"}
	secret.BaseURL = strings.Replace(plain.BaseURL, "http://", "http://me:"+password+"@", 1)
	secretC := cachedOpenAI(t, secret, db)
	sentBefore := srv.requests.Load()
	for i := range 20 {
		resp, err := secretC.Complete(ctx, cacheRequest(fmt.Sprint("c", i), 0))
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Cached {
			t.Errorf("c%d: the target with credentials missed the cache", i)
		}
		if strings.Contains(resp.Sent.URL, password) {
			t.Errorf("Sent.URL holds the password: %s", resp.Sent.URL)
		}
	}
	// New requests go out with the credentials, and are stored.
	for i := 20; i < 40; i++ {
		if _, err := secretC.Complete(ctx, cacheRequest(fmt.Sprint("c", i), i%3)); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.requests.Load() - sentBefore; n != 20 {
		t.Fatalf("%d requests with credentials, want 20", n)
	}
	srv.mu.Lock()
	last := srv.headers[len(srv.headers)-1]
	srv.mu.Unlock()
	if last.Get("Authorization") != "Bearer "+apiKey || last.Get("X-Api-Token") != tokenVal {
		t.Fatalf("the credentials were not sent; the test would prove nothing: %v", last)
	}

	check := func(when string) {
		t.Helper()
		files, _ := filepath.Glob(path + "*")
		if len(files) == 0 {
			t.Fatalf("%s: no database files", when)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte("billing")) && filepath.Ext(f) == ".db" && when == "after Close" {
				t.Errorf("%s: %s does not hold the cached text; the test would prove nothing", when, f)
			}
			for _, s := range []string{apiKey, tokenVal, password, "Bearer", "RUBRIC_CACHE_TEST"} {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s: %s holds %q", when, filepath.Base(f), s)
				}
			}
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	check("after Flush") // the entries are in the WAL
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	check("after Close") // checkpointed into the file
}

func TestCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	srv, spec := newCacheServer(t, answer(200, okBody))
	spec.Concurrency = 16
	path := filepath.Join(t.TempDir(), "rubric.db")
	db := openCacheDB(t, path)
	other := openCacheDB(t, path) // a second handle, as another process would have
	a, b := cachedOpenAI(t, spec, db), cachedOpenAI(t, spec, other)
	const workers, cases = 8, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for pass := range 3 {
				c := a
				if pass == 2 && w%2 == 1 {
					c = b
					if w == 1 {
						other.Flush() // b reads what a wrote
						db.Flush()
					}
				}
				for i := range cases {
					resp, err := c.Complete(ctx, cacheRequest(fmt.Sprintf("w%dc%d", w, i), 0))
					if err != nil {
						t.Error(err)
						return
					}
					if pass == 1 && !resp.Cached {
						t.Errorf("w%d c%d: not cached on the second pass", w, i)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := srv.requests.Load(); n > workers*cases+workers*cases/2 || n < workers*cases {
		t.Errorf("%d requests, want %d (and at most %d if b ran ahead of the flush)", n, workers*cases, workers*cases*3/2)
	}
	if got := a.Counts(); got.Errors != 0 || got.Misses != workers*cases {
		t.Errorf("Counts = %+v, want %d misses and no errors", got, workers*cases)
	}
}

// BenchmarkCacheHit is a cached case through the decorator: building the
// body, the key, and reading the database.
func BenchmarkCacheHit(b *testing.B) {
	ctx := context.Background()
	srv := serve(&testing.T{}, answer(200, completion300))
	defer srv.Close()
	spec := openaiSpec(srv)
	op := newOpenAI(b, spec)
	db := openCacheDB(b, "")
	p := Cache(op, op, db, spec.TargetSpec)
	const n = 1000
	reqs := make([]*evals.Request, n)
	for i := range reqs {
		reqs[i] = &evals.Request{Target: "t", CaseID: fmt.Sprint(i), Messages: []evals.Message{
			{Role: "system", Content: "Classify the support ticket into billing, bug, or other. Answer with one word."},
			{Role: "user", Content: fmt.Sprintf("Ticket %d: I was charged twice for my subscription this month.", i)},
		}}
		if _, err := p.Complete(ctx, reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		resp, err := p.Complete(ctx, reqs[i%n])
		if err != nil || !resp.Cached {
			b.Fatal(err)
		}
	}
}

// TestCacheAroundWrap is the composition cmd uses: the cache outside the
// retry and rate limit decorators.
func TestCacheAroundWrap(t *testing.T) {
	ctx := context.Background()
	srv, spec := newCacheServer(t, answer(200, okBody))
	spec.Retry = &evals.RetrySpec{Attempts: 1}
	db := openCacheDB(t, "")
	op := newOpenAI(t, spec)
	p := Cache(Wrap(op, spec.TargetSpec), op, db, spec.TargetSpec)
	var resps []*evals.Response
	for range 2 {
		resp, err := p.Complete(ctx, cacheRequest("c1", 0))
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	if srv.requests.Load() != 1 || !resps[1].Cached {
		t.Errorf("%d requests, second cached %v", srv.requests.Load(), resps[1].Cached)
	}
	if resps[1].Sent.URL != op.SentURL() {
		t.Errorf("hit Sent.URL = %q, want %q", resps[1].Sent.URL, op.SentURL())
	}
}

// TestCacheSharesRequestsInFlight: identical requests sent at once (the same
// prompt in two cases, or two targets of one model) go out once; the others
// share the answer, marked as cache hits with the call's latency. A repeat
// is another request.
func TestCacheSharesRequestsInFlight(t *testing.T) {
	ctx := context.Background()
	db := openCacheDB(t, "")
	fake := newCacheFake(evals.Response{Text: "x", Attempts: 2}, "", 200*time.Millisecond)
	p := Cache(fake, fake, db, evals.TargetSpec{Name: "t", Provider: "fake"})
	var wg sync.WaitGroup
	resps := make([]*evals.Response, 5)
	for i := range resps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep := 0
			if i == 4 {
				rep = 1 // another repeat: its own request
			}
			r, err := p.Complete(ctx, cacheRequest("c1", rep))
			if err != nil {
				t.Error(err)
			}
			resps[i] = r
		}()
	}
	wg.Wait()
	if n := fake.Count(); n != 2 {
		t.Fatalf("%d requests sent, want 2 (one for repeat 0, one for repeat 1)", n)
	}
	sent, shared := 0, 0
	for _, r := range resps[:4] {
		switch {
		case r.Cached && r.OriginalLatency >= 200*time.Millisecond && r.Attempts == 0:
			shared++
		case !r.Cached && r.Attempts == 2:
			sent++
		default:
			t.Errorf("response %+v", r)
		}
	}
	if sent != 1 || shared != 3 {
		t.Errorf("%d sent, %d shared; want 1 and 3", sent, shared)
	}
	if c := p.Counts(); c.Misses != 2 || c.Shared != 3 || c.Hits != 0 {
		t.Errorf("counts %+v", c)
	}
}

// TestCacheStream: a streamed answer is cached with its timings, which a hit,
// in this run or the next, and a caller that shared the request in flight
// keep, as they keep the original latency; a streamed and a whole request of
// the same case are different keys.
func TestCacheStream(t *testing.T) {
	ctx := context.Background()
	srv, spec := newCacheServer(t, streamEvents(10*time.Millisecond, okStream...))
	spec.Stream = true
	path := filepath.Join(t.TempDir(), "rubric.db")
	db := openCacheDB(t, path)
	c := cachedOpenAI(t, spec, db)
	first, err := c.Complete(ctx, cacheRequest("c1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if first.Stream == nil || first.Stream.FirstTokenMS <= 0 {
		t.Fatalf("first call: stream %+v", first.Stream)
	}
	check := func(what string, resp *evals.Response) {
		t.Helper()
		if !resp.Cached || resp.Stream == nil || *resp.Stream != *first.Stream {
			t.Errorf("%s: cached %v, stream %+v; want the first call's %+v", what, resp.Cached, resp.Stream, first.Stream)
		}
	}
	hit, err := c.Complete(ctx, cacheRequest("c1", 0))
	if err != nil {
		t.Fatal(err)
	}
	check("hit", hit)
	db.Close()
	db = openCacheDB(t, path)
	hit, err = cachedOpenAI(t, spec, db).Complete(ctx, cacheRequest("c1", 0))
	if err != nil {
		t.Fatal(err)
	}
	check("hit in the next run", hit)
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}

	// The same case without streaming is another request.
	srv.set(answer(200, okBody))
	whole := spec
	whole.Stream = false
	resp, err := cachedOpenAI(t, whole, db).Complete(ctx, cacheRequest("c1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Cached || resp.Stream != nil || srv.requests.Load() != 2 {
		t.Errorf("without streaming: cached %v, stream %+v, %d requests; want a request of its own", resp.Cached, resp.Stream, srv.requests.Load())
	}

	// Callers of one request in flight share its timings.
	srv.set(streamEvents(20*time.Millisecond, okStream...))
	c = cachedOpenAI(t, spec, db)
	var wg sync.WaitGroup
	got := make([]*evals.Response, 4)
	for i := range got {
		wg.Go(func() { got[i], _ = c.Complete(ctx, cacheRequest("c9", 0)) })
	}
	wg.Wait()
	for i, r := range got {
		if r == nil || r.Stream == nil || *r.Stream != *got[0].Stream {
			t.Errorf("caller %d: %+v; want the timings of the request they shared", i, r)
		}
	}
}

// TestCacheToolCalls: an answer that calls tools is cached with its calls,
// which a hit, in this run or the next, and a caller that shared the request
// in flight get back byte for byte, malformed arguments and all; the tools
// are part of the key, so the same messages with other tools are another
// request.
func TestCacheToolCalls(t *testing.T) {
	ctx := context.Background()
	msg := `{"role":"assistant","content":null,"tool_calls":[` +
		`{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\": \"A1\"}"}},` +
		`{"id":"call_3","type":"function","function":{"name":"refund","arguments":"{\"order_id\": A1}"}}]}`
	srv, spec := newCacheServer(t, cacheSlowly(10*time.Millisecond, answer(200, toolCallsBody(msg, "tool_calls"))))
	want := []evals.ToolCall{callA1, callBad}
	want[1].ID = "call_3"
	path := filepath.Join(t.TempDir(), "rubric.db")
	db := openCacheDB(t, path)
	step := func(tools ...evals.Tool) *evals.Request {
		req := cacheRequest("c1", 0)
		req.Messages, req.Tools, req.Step = loopMessages, tools, 3
		return req
	}
	check := func(what string, resp *evals.Response, cached bool) {
		t.Helper()
		if resp.Cached != cached || resp.Finish != "tool_calls" || !reflect.DeepEqual(resp.ToolCalls, want) {
			t.Errorf("%s: cached %v, finish %q, calls %s; want cached %v, tool_calls, %s",
				what, resp.Cached, resp.Finish, callsString(resp.ToolCalls), cached, callsString(want))
		}
		if !bytes.Contains(resp.Sent.Body, []byte(`"tools":[`+lookupToolJSON+`]`)) {
			t.Errorf("%s: recorded body %s lacks the tools", what, resp.Sent.Body)
		}
	}
	c := cachedOpenAI(t, spec, db)
	first, err := c.Complete(ctx, step(lookupTool))
	if err != nil {
		t.Fatal(err)
	}
	check("first call", first, false)
	hit, err := c.Complete(ctx, step(lookupTool))
	if err != nil {
		t.Fatal(err)
	}
	check("hit", hit, true)
	db.Close()
	db = openCacheDB(t, path)
	c = cachedOpenAI(t, spec, db)
	hit, err = c.Complete(ctx, step(lookupTool))
	if err != nil {
		t.Fatal(err)
	}
	check("hit in the next run", hit, true)
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}

	// Other tools: another request.
	other, err := c.Complete(ctx, step(lookupTool, refundTool))
	if err != nil {
		t.Fatal(err)
	}
	if other.Cached || srv.requests.Load() != 2 {
		t.Errorf("with other tools: cached %v, %d requests; want a request of its own", other.Cached, srv.requests.Load())
	}

	// Callers of one request in flight share its calls.
	var wg sync.WaitGroup
	got := make([]*evals.Response, 3)
	for i := range got {
		wg.Go(func() {
			req := step(lookupTool)
			req.Repeat = 1 // a key of its own
			got[i], _ = c.Complete(ctx, req)
		})
	}
	wg.Wait()
	for i, r := range got {
		if r == nil || !reflect.DeepEqual(r.ToolCalls, want) {
			t.Errorf("caller %d: %+v; want the calls of the request they shared", i, r)
		}
	}
	if n := srv.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3: the callers in flight share one", n)
	}
}
