package provider

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
	"github.com/rubric-eval/rubric/runner/store"
)

// TestEndpointCache checks when the endpoint answers from the cache: for a
// Cacheable provider whose target leaves the cache on, when there is a
// database; and that the database is opened only then.
func TestEndpointCache(t *testing.T) {
	db := openCacheDB(t, "")
	dir := writeFile(t, "rec.jsonl", `{"case_id":"c1","output":"x"}`+"\n")
	replay, err := newReplay(replaySpec(dir, "rec.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, answer(200, okBody))
	off := openaiSpec(srv)
	off.Cache = ptr(false)
	fake := newCacheFake(evals.Response{Text: "x"}, "", 0)
	tests := []struct {
		name   string
		p      evals.Provider
		spec   evals.TargetSpec
		db     *store.DB
		opened bool // whether Options.Cache is called
		cached bool
	}{
		{"openai", newOpenAI(t, openaiSpec(srv)), openaiSpec(srv).TargetSpec, db, true, true},
		{"any Cacheable", fake, evals.TargetSpec{Name: "t", Provider: "fake"}, db, true, true},
		{"replay", replay, replaySpec(dir, "rec.jsonl").TargetSpec, db, false, false},
		{"Cacheable only behind a wrapper", cacheWrapper{fake}, evals.TargetSpec{Name: "t", Provider: "fake"}, db, false, false},
		{"cache off", newOpenAI(t, off), off.TargetSpec, db, false, false},
		{"no database", newOpenAI(t, openaiSpec(srv)), openaiSpec(srv).TargetSpec, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opened := false
			ep := Decorate(tt.p, tt.spec, Options{Cache: func() *store.DB { opened = true; return tt.db }})
			if _, cached := ep.Provider.(*Cached); cached != tt.cached || opened != tt.opened {
				t.Errorf("provider %T, database opened %v; want cached %v, opened %v", ep.Provider, opened, tt.cached, tt.opened)
			}
		})
	}
	if ep := Decorate(fake, evals.TargetSpec{Name: "t", Provider: "fake"}, Options{}); !isChain(ep.Provider) {
		t.Errorf("without Options.Cache: provider %T, want the decorators alone", ep.Provider)
	}
}

func isChain(p evals.Provider) bool {
	_, ok := p.(*retrier)
	return ok
}

// TestEndpointCacheKey pins the cache key of an openai endpoint: an entry
// stored under store.CacheKey("openai", base_url as the target gives it,
// model, body, repeat) answers it, so that the caches of earlier versions
// stay valid.
func TestEndpointCacheKey(t *testing.T) {
	srv, spec := newCacheServer(t, answer(500, `{"error":{"message":"not cached"}}`))
	spec.BaseURL += "/" // as given, not as the provider joins it
	db := openCacheDB(t, "")
	ep := Decorate(newOpenAI(t, spec), spec.TargetSpec, Options{Cache: func() *store.DB { return db }})
	req := cacheRequest("c1", 1)
	body, err := ep.Provider.(*Cached).body.RequestBody(req)
	if err != nil {
		t.Fatal(err)
	}
	key := store.CacheKey("openai", spec.BaseURL, "m", body, 1)
	if err := db.PutResponse(t.Context(), key, store.CachedResponse{Text: "stored", Latency: time.Second}); err != nil {
		t.Fatal(err)
	}
	resp, err := ep.Provider.Complete(t.Context(), req)
	if err != nil || !resp.Cached || resp.Text != "stored" || srv.requests.Load() != 0 {
		t.Fatalf("got %+v, %v after %d requests; want the entry stored under the key", resp, err, srv.requests.Load())
	}
	if want := newOpenAI(t, spec).SentURL(); resp.Sent.URL != want || string(resp.Sent.Body) != string(body) {
		t.Errorf("Sent = %s %s, want %s and the body", resp.Sent.URL, resp.Sent.Body, want)
	}
}

// closer is a provider that is an io.Closer.
type closer struct {
	*evalstest.Provider
	closed bool
}

func (c *closer) Close() error { c.closed = true; return errors.New("closed") }

// TestEndpointCloses checks that closing the endpoint closes its provider,
// behind whatever decorators, and that an endpoint whose provider holds
// nothing closes without error.
func TestEndpointCloses(t *testing.T) {
	c := &closer{Provider: &evalstest.Provider{}}
	spec := evals.TargetSpec{RateLimit: &evals.RateLimitSpec{RequestsPerMinute: 60, Adaptive: true}}
	if err := Decorate(c, spec, Options{Limit: true}).Close(); err == nil || !c.closed {
		t.Errorf("Close returned %v, closed %v; want the provider's Close called", err, c.closed)
	}
	if ep := Decorate(&evalstest.Provider{}, spec, Options{}); ep.Closer != nil || ep.Close() != nil {
		t.Errorf("Closer %v for a provider that cannot be closed", ep.Closer)
	}
	srv := serve(t, answer(200, okBody))
	ep := Decorate(newOpenAI(t, openaiSpec(srv)), openaiSpec(srv).TargetSpec, Options{})
	if _, ok := ep.Closer.(*OpenAI); !ok {
		t.Errorf("Closer %T for openai, want the provider", ep.Closer)
	}
}

// capable is a provider that says it can do everything, under a name no
// one compares with.
type capable struct{ evals.Provider }

func (capable) StructuredOutputs() bool { return true }
func (capable) SecretEnv() []string     { return []string{"CAPABLE_KEY", "CAPABLE_TOKEN"} }

// TestEndpointCapabilities checks that what an endpoint can do comes from
// the interfaces its provider implements, not from its name.
func TestEndpointCapabilities(t *testing.T) {
	t.Setenv("RUBRIC_EP_KEY", "sk-ep")
	srv := serve(t, answer(200, okBody))
	keyed := openaiSpec(srv)
	keyed.APIKeyEnv = "RUBRIC_EP_KEY"
	dir := writeFile(t, "rec.jsonl", `{"case_id":"c1","output":"x"}`+"\n")
	replay, err := newReplay(replaySpec(dir, "rec.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		p          evals.Provider
		spec       evals.TargetSpec
		structured bool
		secrets    []string
		embeds     bool
	}{
		{"openai", newOpenAI(t, openaiSpec(srv)), openaiSpec(srv).TargetSpec, true, nil, true},
		{"openai with a key", newOpenAI(t, keyed), keyed.TargetSpec, true, []string{"RUBRIC_EP_KEY"}, true},
		{"replay", replay, replaySpec(dir, "rec.jsonl").TargetSpec, false, nil, false},
		{"another provider that can", capable{(&evalstest.Provider{}).WithoutEmbed()}, evals.TargetSpec{Name: "c", Provider: "other"}, true, []string{"CAPABLE_KEY", "CAPABLE_TOKEN"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := Decorate(tt.p, tt.spec, Options{})
			if ep.StructuredOutputs != tt.structured || !slices.Equal(ep.SecretEnv, tt.secrets) || (ep.Embedder != nil) != tt.embeds {
				t.Errorf("StructuredOutputs %v, SecretEnv %q, Embedder %v; want %v, %q, %v",
					ep.StructuredOutputs, ep.SecretEnv, ep.Embedder != nil, tt.structured, tt.secrets, tt.embeds)
			}
			if ep.Model != tt.spec.Model || ep.Params != tt.spec.Params || ep.Spec.Name != tt.spec.Name {
				t.Errorf("Model %q, Params %v, Spec %q; want the target's", ep.Model, ep.Params, ep.Spec.Name)
			}
		})
	}
}

// TestEndpointEmbedSharesDecorators checks that the Embed chain shares the
// Complete chain's state: one rate limit spaces completions and embeddings
// together, a throttled embeddings request lowers the adaptive limit that
// completions wait for, and the cap on requests in flight counts both.
func TestEndpointEmbedSharesDecorators(t *testing.T) {
	t.Run("rate limit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := &evalstest.Provider{}
			ep := Decorate(g, evals.TargetSpec{RateLimit: &evals.RateLimitSpec{RequestsPerMinute: 60}}, Options{})
			start := time.Now()
			for i := range 4 {
				var err error
				if i%2 == 0 {
					_, err = ep.Provider.Complete(t.Context(), request(1))
				} else {
					_, err = ep.Embedder.Embed(t.Context(), testEmbed)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if d := time.Since(start); d != 3*time.Second {
				t.Errorf("4 requests, alternating, took %v; want 3s at 60 a minute", d)
			}
		})
	})
	t.Run("adaptive", func(t *testing.T) {
		g := &evalstest.Provider{Errors: map[string]error{testEmbed.CaseID: throttle}}
		noWait := RetrySleep(func(context.Context, time.Duration) error { return nil })
		spec := evals.TargetSpec{Concurrency: 8, Retry: &evals.RetrySpec{Attempts: 1}, RateLimit: &evals.RateLimitSpec{Adaptive: true}}
		ep := Decorate(g, spec, Options{Retry: []RetryOption{noWait}})
		if _, err := ep.Embedder.Embed(t.Context(), testEmbed); err == nil {
			t.Fatal("no error for a 429")
		}
		if l := ep.Provider.(*retrier).p.(*AdaptiveLimiter).Limit(); l != 4 {
			t.Errorf("adaptive limit %d after an embeddings request was throttled, want 4", l)
		}
	})
	t.Run("cap", func(t *testing.T) {
		g := &evalstest.Provider{Delay: 20 * time.Millisecond}
		ep := Decorate(g, evals.TargetSpec{Concurrency: 2}, Options{Limit: true})
		done := make(chan error, 8)
		for i := range 8 {
			go func() {
				var err error
				if i%2 == 0 {
					_, err = ep.Provider.Complete(t.Context(), request(1))
				} else {
					_, err = ep.Embedder.Embed(t.Context(), testEmbed)
				}
				done <- err
			}()
		}
		for range 8 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if p := g.Peak(); p != 2 {
			t.Errorf("%d requests in flight at once, want 2: the cap counts both kinds", p)
		}
	})
}

// TestEndpointReach checks that an endpoint whose provider is Remote tracks
// its reachability, embeddings included: a target that is down fails at
// once, with the address it gave.
func TestEndpointReach(t *testing.T) {
	addr := closedAddr(t)
	spec := openaiTarget{evals.TargetSpec{Name: "t", Provider: "openai", Model: "m", Concurrency: 1}, OpenAIConfig{BaseURL: "http://me:pw@" + addr + "/v1"}}
	ep := Decorate(newOpenAI(t, spec), spec.TargetSpec, Options{Retry: fastRetry(&waits{})})
	_, err := ep.Embedder.Embed(t.Context(), testEmbed)
	var ue *evals.UnreachableError
	if !errors.As(err, &ue) || ue.Endpoint != "http://me:xxxxx@"+addr+"/v1" {
		t.Fatalf("got %v; want the endpoint unreachable, without its password", err)
	}
	if _, err := ep.Provider.Complete(t.Context(), testRequest); !errors.As(err, &ue) {
		t.Errorf("a completion after: %v, want it unreachable too", err)
	}
}
