package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSumExact(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"one", []float64{0.1}, 0.1},
		// 0.1 added ten times is 0.9999999999999999 left to right.
		{"tenths", []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, 1},
		// Python's test_math fsum cases.
		{"cancel", []float64{1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50}, 1e-100},
		{"half even", []float64{1, 1e-16, 1e-16}, 1.0000000000000002},
		{"round half", []float64{1.7976931348623157e308, -1.7976931348623157e308, 1e-320}, 1e-320},
		{"inf", []float64{math.Inf(1), 1, 2}, math.Inf(1)},
		{"inf minus inf", []float64{math.Inf(1), math.Inf(-1)}, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Sum
			for _, x := range tc.xs {
				s.Add(x)
			}
			got := s.Value()
			if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
				t.Errorf("Sum(%v) = %v, want %v", tc.xs, got, tc.want)
			}
		})
	}
}

// The order the values come in does not change a bit of the sum, where
// adding them one by one does.
func TestSumOrderFree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 2000)
	for i := range xs {
		xs[i] = rng.Float64() * math.Pow(10, float64(rng.IntN(12)-6))
	}
	var ref Sum
	for _, x := range xs {
		ref.Add(x)
	}
	naive := map[float64]bool{}
	for range 50 {
		rng.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
		var s Sum
		plain := 0.0
		for _, x := range xs {
			s.Add(x)
			plain += x
		}
		naive[plain] = true
		if s.Value() != ref.Value() {
			t.Fatalf("shuffled sum %v, first %v", s.Value(), ref.Value())
		}
	}
	if len(naive) < 2 {
		t.Errorf("adding one by one gave one sum in 50 orders: the test does not show order dependence")
	}
}

func BenchmarkSumAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, 4096)
	for i := range xs {
		xs[i] = float64(rng.IntN(1_000_000)) / 1000
	}
	var s Sum
	for i := 0; b.Loop(); i++ {
		s.Add(xs[i&4095])
	}
	if s.Value() < 0 {
		b.Fatal("negative")
	}
}
