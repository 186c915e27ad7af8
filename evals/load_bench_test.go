package evals

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

// peakHeap samples the bytes in live and unswept heap objects every
// millisecond until stop is called, which returns the largest sample.
func peakHeap() (stop func() uint64) {
	sample := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			rtmetrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// BenchmarkLoadBigSuite loads 50 MB suites: nested arrays and a wide array,
// which stop at a limit, and inline cases within the limits. It reports the
// bytes allocated and the peak of the heap, sampled.
//
//	go test ./evals -run '^$' -bench LoadBigSuite -benchtime 3x
func BenchmarkLoadBigSuite(b *testing.B) {
	const size = 50 << 20
	head := `{"name": "big", "messages": [{"role": "user", "content": "{{ q }}"}], "criteria": [{"name": "a", "type": "equals"}],` + "\n"
	passage := strings.Repeat("The town clock strikes noon while the fox crosses the river. ", 15)
	suites := []struct {
		name string
		gen  func() []byte
		ok   bool
	}{
		{"nested-arrays", func() []byte {
			return append(bytes.Repeat([]byte("["), size/2), bytes.Repeat([]byte("]"), size/2)...)
		}, false},
		{"wide-array", func() []byte {
			return append(append([]byte(`{"name": "x", "x": [`), bytes.Repeat([]byte("0,"), size/2)...), "0]}"...)
		}, false},
		{"cases", func() []byte {
			var buf bytes.Buffer
			buf.WriteString(head + `"dataset": {"cases": [` + "\n")
			for n := 0; buf.Len() < size; n++ {
				if n > 0 {
					buf.WriteString(",\n")
				}
				fmt.Fprintf(&buf, `{"id": "c%d", "q": "%s Case %d?", "expected": "the clock", "tags": ["reading"], "metadata": {"n": %d}}`, n, passage, n, n)
			}
			buf.WriteString("\n]}}\n")
			return buf.Bytes()
		}, true},
	}
	dir := b.TempDir()
	for _, sb := range suites {
		path := filepath.Join(dir, sb.name+".json")
		data := sb.gen()
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		mb := float64(len(data)) / 1e6
		data = nil
		b.Run(sb.name, func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				runtime.GC()
				stop := peakHeap()
				s, err := Load(context.Background(), path, LoadOptions{})
				peak = max(peak, stop())
				if (err == nil) != sb.ok {
					b.Fatalf("Load: %v", err)
				}
				_ = s
			}
			b.ReportMetric(mb, "file-MB")
			b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
		})
		os.Remove(path)
	}
}
