package store

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// benchResponse is a typical short completion.
var benchResponse = CachedResponse{
	Text:    strings.Repeat("The charge appears twice because ", 10),
	Finish:  "stop",
	Usage:   evals.Usage{PromptTokens: 48, CompletionTokens: 70, TotalTokens: 118},
	Latency: 412 * time.Millisecond,
}

// BenchmarkCacheKey hashes a 1 KB request body.
func BenchmarkCacheKey(b *testing.B) {
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 1000) + `"}]}`)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		CacheKey("openai", "http://localhost:8000/v1", "m", body, i)
	}
}

// fill stores n responses under testKey("bench", i) and flushes them.
func fill(b *testing.B, db *DB, n int) {
	ctx := context.Background()
	for i := range n {
		if err := db.PutResponse(ctx, testKey("bench", i), benchResponse); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGetHit reads responses from SQLite (none queued) in a cache of
// 10,000.
func BenchmarkGetHit(b *testing.B) {
	const n = 10_000
	db := openTest(b)
	fill(b, db, n)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok, err := db.GetResponse(ctx, testKey("bench", i%n)); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkGetHitParallel is BenchmarkGetHit with 4 readers per core: the
// runner's default of 8 requests in flight, on 2 cores.
func BenchmarkGetHitParallel(b *testing.B) {
	const n = 10_000
	db := openTest(b)
	fill(b, db, n)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, err := db.GetResponse(ctx, testKey("bench", int(next.Add(1))%n)); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
}

// BenchmarkGetMiss looks up a key that is not cached.
func BenchmarkGetMiss(b *testing.B) {
	db := openTest(b)
	fill(b, db, 10_000)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok, err := db.GetResponse(ctx, testKey("missing", i)); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkPut is the amortized cost of storing a response: the queueing on
// the caller's goroutine and the writing behind it, since the time includes
// the final Flush.
func BenchmarkPut(b *testing.B) {
	db := openTest(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := db.PutResponse(ctx, testKey("bench", i), benchResponse); err != nil {
			b.Fatal(err)
		}
		if i%batchSize == batchSize-1 {
			// Keep within the queue's limit however fast the puts come.
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMissPut is one case of a cold run, amortized: a lookup that
// misses, then a put, with the writing included.
func BenchmarkMissPut(b *testing.B) {
	db := openTest(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key := testKey("bench", i)
		if _, ok, err := db.GetResponse(ctx, key); ok || err != nil {
			b.Fatal(ok, err)
		}
		if err := db.PutResponse(ctx, key, benchResponse); err != nil {
			b.Fatal(err)
		}
		if i%batchSize == batchSize-1 {
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPutQueue is what PutResponse costs its caller: queueing the entry,
// with the writing held back and left out of the time.
func BenchmarkPutQueue(b *testing.B) {
	db := openTest(b)
	ctx := context.Background()
	const chunk = 4096
	db.w.limit = chunk + 1
	hold := func() (release func()) {
		held, done := make(chan struct{}), make(chan struct{})
		go db.w.do(func() { close(held); <-done })
		<-held
		return func() { close(done) }
	}
	release := hold()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := db.PutResponse(ctx, testKey("bench", i), benchResponse); err != nil {
			b.Fatal(err)
		}
		if i%chunk == chunk-1 {
			b.StopTimer()
			release()
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
			release = hold()
			b.StartTimer()
		}
	}
	release()
}
