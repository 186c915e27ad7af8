package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSketchQuantiles compares the sketch's quantiles with the exact order
// statistics of the same values: within SketchAccuracy, relatively.
func TestSketchQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 0))
	for _, tc := range []struct {
		name string
		gen  func() float64
	}{
		{"log-normal latencies", func() float64 { return math.Exp(6 + rng.NormFloat64()) }},
		{"uniform 0-100", func() float64 { return 100 * rng.Float64() }},
		{"a tenth zero", func() float64 {
			if rng.IntN(10) == 0 {
				return 0
			}
			return 1 + rng.ExpFloat64()*50
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Sketch
			xs := make([]float64, 50_000)
			for i := range xs {
				xs[i] = tc.gen()
				s.Add(xs[i])
			}
			slices.Sort(xs)
			if s.N() != len(xs) {
				t.Fatalf("N = %d", s.N())
			}
			for _, p := range []float64{0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				got, err := s.Quantile(p)
				if err != nil {
					t.Fatal(err)
				}
				want := xs[int(p*float64(len(xs)-1))]
				if math.Abs(got-want) > SketchAccuracy*want+1e-12 {
					t.Errorf("p%v = %v, exact %v: off by more than %v", p*100, got, want, SketchAccuracy)
				}
			}
			if len(s.buckets) > 3000 {
				t.Errorf("%d buckets for %d values", len(s.buckets), len(xs))
			}
		})
	}
}

func TestSketchEdges(t *testing.T) {
	var s Sketch
	if _, err := s.Quantile(0.5); !errors.Is(err, ErrNoData) {
		t.Errorf("empty: %v, want ErrNoData", err)
	}
	if _, err := s.Quantile(1.5); err == nil {
		t.Error("p 1.5: no error")
	}
	s.Add(math.NaN())
	s.Add(-3)
	s.Add(42)
	if q, _ := s.Quantile(0); q != 0 {
		t.Errorf("p0 = %v, want 0 (NaN and negatives count as zero)", q)
	}
	if q, _ := s.Quantile(1); math.Abs(q-42) > 42*SketchAccuracy {
		t.Errorf("p100 = %v, want 42 within %v", q, SketchAccuracy)
	}
}

func BenchmarkSketchAdd(b *testing.B) {
	var s Sketch
	rng := rand.New(rand.NewPCG(1, 0))
	xs := make([]float64, 1024)
	for i := range xs {
		xs[i] = math.Exp(6 + rng.NormFloat64())
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Add(xs[i&1023])
		i++
	}
}
