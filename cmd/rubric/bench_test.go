package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// instantChat answers every chat completion at once with the same small body.
func instantChat() *httptest.Server {
	body := []byte(`{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"{\"label\": \"billing\", \"reply\": \"Thanks, we are on it.\"}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":42,"completion_tokens":12,"total_tokens":54}}`)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = r.Body.Read(make([]byte, 4096))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
}

func writeBenchSuite(tb testing.TB, dir, url string, cases, concurrency int) string {
	tb.Helper()
	var b strings.Builder
	for i := range cases {
		fmt.Fprintf(&b, `{"id":"c%d","vars":{"ticket":"My invoice #%d was charged twice, please refund the second charge."},"expected":"billing"}`+"\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "cases.jsonl"), []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	suite := fmt.Sprintf(`{
  "name": "bench",
  "messages": [{"role": "system", "content": "Label the ticket."}, {"role": "user", "content": "{{ ticket }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [
    {"name": "label", "type": "equals", "extract": {"json": "label"}},
    {"name": "thanks", "type": "regex", "pattern": "(?i)thanks"}
  ],
  "targets": [{"name": "local", "provider": "openai", "base_url": %q, "model": "m", "concurrency": %d}]
}`, url+"/v1", concurrency)
	path := filepath.Join(dir, "suite.json")
	if err := os.WriteFile(path, []byte(suite), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkPipeline runs the whole pipeline (read, render, request, two
// criteria, journal, aggregate) against a local endpoint that answers at
// once. Each op is one run of 5,000 cases.
//
//	go test ./cmd/rubric -run '^$' -bench Pipeline -benchtime 5x
func BenchmarkPipeline(b *testing.B) {
	const cases = 5000
	srv := instantChat()
	defer srv.Close()
	dir := b.TempDir()
	path := writeBenchSuite(b, dir, srv.URL, cases, 32)
	l, err := build.Load(context.Background(), path, build.Options{Load: evals.LoadOptions{RequireTargets: true}, Targets: true, Dataset: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	targets := make([]runner.Target, len(l.Targets))
	for i, ep := range l.Targets {
		targets[i] = *ep
	}

	peak := watchHeap()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		sink, err := rundir.CreateJournal(filepath.Join(dir, fmt.Sprintf("results-%d.jsonl", i)))
		if err != nil {
			b.Fatal(err)
		}
		sum, err := runner.Run(context.Background(), runner.Options{
			RunID: "bench", Suite: l.Suite, Targets: targets, Criteria: l.Criteria,
			Open: func() (runner.CaseSource, error) { return datasets.Open(l.Suite) },
			Sink: sink,
		})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Targets[0].Passed != cases {
			b.Fatalf("passed %d of %d: %+v", sum.Targets[0].Passed, cases, sum.Targets[0].FailedCases)
		}
		sink.Close()
	}
	b.StopTimer()
	total := float64(b.N * cases)
	b.ReportMetric(total/b.Elapsed().Seconds(), "cases/s")
	b.ReportMetric(peak(), "peak-heap-MiB")
}

// watchHeap samples the heap in use every 5 ms until the returned function
// is called; it returns the peak seen, in MiB.
func watchHeap() (peakMiB func() float64) {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	return func() float64 {
		close(stop)
		<-done
		return float64(peak.Load()) / (1 << 20)
	}
}
