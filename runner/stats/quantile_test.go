package stats

import (
	"slices"
	"testing"
)

func TestQuantiles(t *testing.T) {
	ps := []float64{0, 0.05, 0.25, 0.5, 0.95, 0.99, 1}
	tests := []struct {
		name string
		xs   []float64
		want []float64
	}{
		// Exact type-7 quantiles in rationals (reference.py); for each the
		// 95th also equals Python's statistics.quantiles(xs, n=100,
		// method="inclusive")[94], and numpy.percentile(xs, 50) for [1, 2, 3,
		// 4] is the familiar 2.5.
		{"five", []float64{15, 20, 35, 40, 50}, []float64{15, 16, 20, 35, 48, 49.6, 50}},
		{"four", []float64{1, 2, 3, 4}, []float64{1, 1.15, 1.75, 2.5, 3.85, 3.97, 4}},
		{"one", []float64{3.5}, []float64{3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5}},
		{"latencies", []float64{120, 80, 95, 400, 101, 99, 87, 2500, 130, 110, 91, 105}, []float64{80, 83.85, 94, 103, 1345, 2269, 2500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Quantiles(slices.Clone(tt.xs), ps...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range ps {
				checkNear(t, "q", got[i], tt.want[i], 1e-14)
			}
			// float32 latencies give the same quantiles, to float32 precision.
			xs32 := make([]float32, len(tt.xs))
			for i, x := range tt.xs {
				xs32[i] = float32(x)
			}
			got, err = Quantiles(xs32, ps...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range ps {
				checkNear(t, "q32", got[i], tt.want[i], 1e-6)
			}
		})
	}
}

func TestQuantilesErrors(t *testing.T) {
	if _, err := Quantiles([]float64{}, 0.5); !checkErr(t, err, true, false) {
		return
	}
	for name, c := range map[string]struct {
		xs []float64
		p  float64
	}{
		"p < 0":   {[]float64{1}, -0.1},
		"p > 1":   {[]float64{1}, 1.5},
		"p NaN":   {[]float64{1}, nan()},
		"x NaN":   {[]float64{1, nan()}, 0.5},
		"x Inf":   {[]float64{inf()}, 0.5},
		"p first": {nil, 2}, // a bad p is an error even with no data
	} {
		if _, err := Quantiles(c.xs, c.p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Quantiles([]float32{1, float32(nan())}, 0.5); err == nil {
		t.Error("float32 NaN: no error")
	}
}

func TestQuantileExtremes(t *testing.T) {
	// Opposite values near ±MaxFloat64: their difference overflows, the
	// interpolation must not.
	big := 1.7e308
	q, err := Quantiles([]float64{-big, big}, 0.25, 0.5, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	checkNear(t, "q25", q[0], -big/2, 1e-15)
	checkNear(t, "q50", q[1], 0, 1e-15)
	checkNear(t, "q75", q[2], big/2, 1e-15)
}

func TestMedian(t *testing.T) {
	xs := []float64{0.9, 0.1, 0.5, 0.3}
	m, err := Median(xs)
	if err != nil {
		t.Fatal(err)
	}
	checkNear(t, "median", m, 0.4, 1e-15) // even n: the mean of 0.3 and 0.5
	if !slices.Equal(xs, []float64{0.9, 0.1, 0.5, 0.3}) {
		t.Errorf("Median reordered its input: %v", xs)
	}
	if m, _ := Median([]float64{0.2, 1, 0.7}); m != 0.7 {
		t.Errorf("median of 3 = %v, want 0.7", m)
	}
	if _, err := Median(nil); !checkErr(t, err, true, false) {
		return
	}
}
