package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The expected intervals were computed by reference.py, which re-implements
// the definition in Bootstrap's comment in Python (Go's PCG-DXSM from its
// constants, the 32-bit word stream, Lemire's rejection, float64 sums in draw
// order, numpy's type-7 interpolation). Agreement is to the bit: the interval
// is a function of the seed alone, on every platform.
var (
	bootSmall = []float64{0.1, 0.4, 0.4, 0.7, 0.9, 1.0, 0.0, 0.55, 0.3, 0.8}
	bootOdd   = []float64{0.2, 0.9, 0.35, 1.0, 0.0, 0.75, 0.6}
)

// bootBig is x_i = (i·7919 mod 1000)/1000 for n = 99991. 2³² mod n = 34124,
// so a word is rejected with probability 8e-6; with seed 3 the first 5
// resamples reject 2 words (reference.py counts them).
func bootBig() []float64 {
	xs := make([]float64, 99991)
	for i := range xs {
		xs[i] = float64(i*7919%1000) / 1000
	}
	return xs
}

func TestBootstrapMean(t *testing.T) {
	tests := []struct {
		name       string
		xs         []float64
		bs         Bootstrap
		est        float64
		lo, hi     float64
		noData, ok bool
	}{
		{"seed 42", bootSmall, Bootstrap{Seed: 42, Resamples: 1000}, 0.5149999999999999, 0.31, 0.72, false, true},
		{"seed 7 at 90%", bootSmall, Bootstrap{Seed: 7, Resamples: 2000, Level: 0.9}, 0.5149999999999999, 0.35, 0.68, false, true},
		// Odd n: resamples start on either half of a PCG output.
		{"odd n", bootOdd, Bootstrap{Seed: 1, Resamples: 999}, 0.5428571428571429, 0.285357142857143, 0.7785714285714286, false, true},
		{"rejected words", bootBig(), Bootstrap{Seed: 3, Resamples: 5}, 0.49950850576551886, 0.49740148013322466, 0.49974024762228786, false, true},
		{"one value", []float64{0.25}, Bootstrap{}, 0.25, 0.25, 0.25, false, true},
		// 0.1 added 7 times and divided by 7 is 0.09999999999999999, for the
		// mean and for every resample alike.
		{"all equal", []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, Bootstrap{Resamples: 50}, 0.09999999999999999, 0.09999999999999999, 0.09999999999999999, false, true},
		{"empty", nil, Bootstrap{}, 0, 0, 0, true, false},
		{"NaN", []float64{0, nan()}, Bootstrap{}, 0, 0, 0, false, false},
		{"negative resamples", bootSmall, Bootstrap{Resamples: -1}, 0, 0, 0, false, false},
		{"too many resamples", bootSmall, Bootstrap{Resamples: MaxResamples + 1}, 0, 0, 0, false, false},
		{"level 1", bootSmall, Bootstrap{Level: 1}, 0, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv, err := tt.bs.Mean(tt.xs)
			if !checkErr(t, err, tt.noData, !tt.ok && !tt.noData) {
				return
			}
			if iv.Estimate != tt.est || iv.Lo != tt.lo || iv.Hi != tt.hi {
				t.Errorf("interval = %.17g [%.17g, %.17g], want %.17g [%.17g, %.17g]", iv.Estimate, iv.Lo, iv.Hi, tt.est, tt.lo, tt.hi)
			}
			want := tt.bs.Level
			if want == 0 {
				want = DefaultLevel
			}
			if iv.Level != want {
				t.Errorf("level = %v, want %v", iv.Level, want)
			}
		})
	}
}

func TestBootstrapMeanDiff(t *testing.T) {
	a := []float64{0.9, 0.8, 1.0, 0.7, 0.95, 0.6, 0.85, 0.9}
	b := []float64{0.8, 0.85, 0.9, 0.5, 0.95, 0.55, 0.7, 0.92}
	iv, err := Bootstrap{Seed: 11, Resamples: 1500}.MeanDiff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	// reference.py: the bootstrap of the differences a_i - b_i.
	if iv.Estimate != 0.06624999999999999 || iv.Lo != 0.010000000000000009 || iv.Hi != 0.12249999999999998 {
		t.Errorf("interval = %.17g [%.17g, %.17g]", iv.Estimate, iv.Lo, iv.Hi)
	}

	// The same resample indices for both samples: a constant shift of the
	// second sample only shifts the interval, and matched identical samples
	// give exactly [0, 0].
	shifted := make([]float64, len(a))
	for i := range a {
		shifted[i] = a[i] - 0.5
	}
	iv, err = Bootstrap{Seed: 5, Resamples: 500}.MeanDiff(a, shifted)
	if err != nil {
		t.Fatal(err)
	}
	checkNear(t, "shift lo", iv.Lo, 0.5, 1e-12)
	checkNear(t, "shift hi", iv.Hi, 0.5, 1e-12)
	iv, _ = Bootstrap{Seed: 5, Resamples: 500}.MeanDiff(a, a)
	if iv.Lo != 0 || iv.Hi != 0 || iv.Estimate != 0 {
		t.Errorf("identical samples: %+v, want all 0", iv)
	}

	for name, pair := range map[string][2][]float64{
		"different lengths":    {a, b[:3]},
		"NaN in the second":    {a[:2], {0, nan()}},
		"difference too large": {{math.MaxFloat64 / 2, 0}, {-math.MaxFloat64 / 2, 0}},
	} {
		if _, err := (Bootstrap{}).MeanDiff(pair[0], pair[1]); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := (Bootstrap{}).MeanDiff(nil, nil); !checkErr(t, err, true, false) {
		return
	}
}

// TestBootstrapCoverage checks the interval against the normal theory for a
// large sample, where the percentile bootstrap and mean ± z·SE agree closely.
func TestBootstrapCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 5000)
	for i := range xs {
		xs[i] = r.Float64() // uniform: mean 0.5, sd 1/√12
	}
	iv, err := Bootstrap{Seed: 99, Resamples: 4000}.Mean(xs)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := Mean(xs)
	se, _ := StdErr(xs)
	z, _ := Z(0.95)
	// The bounds are Monte Carlo estimates: with 4000 resamples a tail
	// quantile's error is a few percent of the half-width.
	for _, c := range []struct {
		what      string
		got, want float64
	}{{"lo", iv.Lo, m - z*se}, {"hi", iv.Hi, m + z*se}} {
		if math.Abs(c.got-c.want) > 0.06*z*se {
			t.Errorf("%s = %v, want %v ± 6%% of the half-width %v", c.what, c.got, c.want, z*se)
		}
	}
}

func TestBootstrapDeterministic(t *testing.T) {
	xs := bootBig()[:3001]
	bs := Bootstrap{Seed: 12345, Resamples: 300}
	a, _ := bs.Mean(xs)
	b, _ := bs.Mean(xs)
	if a != b {
		t.Errorf("same seed, different intervals: %+v, %+v", a, b)
	}
	bs.Seed++
	c, _ := bs.Mean(xs)
	if c == a {
		t.Errorf("seeds %d and %d gave the same interval %+v", bs.Seed-1, bs.Seed, a)
	}
}

// TestResampleSumAllocs: a resample allocates nothing.
func TestResampleSumAllocs(t *testing.T) {
	xs := bootBig()[:1001]
	w := words{src: rand.NewPCG(1, 0)}
	if n := testing.AllocsPerRun(10, func() { w.resampleSum(xs) }); n != 0 {
		t.Errorf("resampleSum allocates %v times per call", n)
	}
}
