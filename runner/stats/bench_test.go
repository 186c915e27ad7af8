package stats

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func uniform(n int) []float64 {
	r := rand.New(rand.NewPCG(7, 7))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = r.Float64()
	}
	return xs
}

// BenchmarkBootstrapMean: the default 10,000 resamples of 10,000 scores,
// 10⁸ draws. The one allocation is the slice of resampled means.
func BenchmarkBootstrapMean(b *testing.B) {
	xs := uniform(10_000)
	bs := Bootstrap{Seed: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bs.Mean(xs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(1e4*1e4), "ns/draw")
}

func BenchmarkBootstrapMeanDiff(b *testing.B) {
	x, y := uniform(10_000), uniform(10_000)
	bs := Bootstrap{Seed: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bs.MeanDiff(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWilson(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Wilson(i%1000, 1000, 0.95); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMcNemar(b *testing.B) {
	for _, c := range [][2]int{{50, 70}, {5000, 5100}, {5_000_000, 5_001_000}} {
		b.Run(fmt.Sprintf("%d_%d", c[0], c[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := McNemar(c[0], c[1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQuantiles: p50/p95/p99 of a million float32 latencies, copy and
// sort included.
func BenchmarkQuantiles(b *testing.B) {
	src := make([]float32, 1_000_000)
	for i, x := range uniform(len(src)) {
		src[i] = float32(x * 3000)
	}
	xs := make([]float32, len(src))
	b.ReportAllocs()
	for b.Loop() {
		copy(xs, src)
		if _, err := Quantiles(xs, 0.5, 0.95, 0.99); err != nil {
			b.Fatal(err)
		}
	}
}
