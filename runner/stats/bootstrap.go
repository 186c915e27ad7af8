package stats

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// DefaultResamples is the number of bootstrap resamples when
// Bootstrap.Resamples is 0.
const DefaultResamples = 10000

// MaxResamples bounds Bootstrap.Resamples: the resampled means are held in
// memory, 8 bytes each.
const MaxResamples = 10_000_000

// Bootstrap computes percentile bootstrap confidence intervals (Efron and
// Tibshirani 1993, ch. 13) reproducibly: the same Seed, Resamples, Level and
// sample give the same interval, bit for bit, on every run and platform.
//
// A sample x₁…xₙ is resampled Resamples times. Resample r draws n indices
// uniformly with replacement and its mean is the sum of the drawn values,
// added in draw order, divided by n. The interval's bounds are the type-7
// quantiles (see Quantiles) of the sorted resampled means at α/2 and 1-α/2,
// α = 1 - Level. The estimate is Mean of the sample. The percentile interval
// is not forced to contain the estimate; for a skewed sample it may not.
//
// The indices come from math/rand/v2's PCG (PCG-DXSM) made by
// rand.NewPCG(Seed, 0). Each of its 64-bit outputs u gives two 32-bit words,
// u mod 2³² first and then u >> 32. An index in [0, n) takes the next word w
// and computes m = w·n; if m mod 2³² < 2³² mod n, w is discarded and the next
// word taken, otherwise the index is m >> 32 (Lemire 2019, "Fast random
// integer generation in an interval", exactly uniform). The stream of words
// runs on from one resample to the next, so resample 1 takes the first n
// indices, resample 2 the next n, and so on. Samples of up to 2³²-1 values
// are taken.
type Bootstrap struct {
	Seed uint64
	// Resamples is the number of resamples; 0 means DefaultResamples.
	Resamples int
	// Level is the confidence level; 0 means DefaultLevel.
	Level float64
}

func (bs Bootstrap) settings() (resamples int, level float64, err error) {
	resamples, level = bs.Resamples, bs.Level
	if resamples == 0 {
		resamples = DefaultResamples
	}
	if level == 0 {
		level = DefaultLevel
	}
	if resamples < 1 || resamples > MaxResamples {
		return 0, 0, fmt.Errorf("bootstrap: resamples = %d: expected 1 to %d (0 for %d)", bs.Resamples, MaxResamples, DefaultResamples)
	}
	return resamples, level, checkLevel(level)
}

// Mean returns the mean of xs with its percentile bootstrap interval. An
// empty sample returns ErrNoData; NaN, infinite or overflowing values (see
// Mean) an error.
func (bs Bootstrap) Mean(xs []float64) (Interval, error) {
	resamples, level, err := bs.settings()
	if err != nil {
		return Interval{}, err
	}
	if err := checkSample("bootstrap", xs); err != nil {
		return Interval{}, err
	}
	return bs.interval(xs, resamples, level), nil
}

// MeanDiff returns the mean of the paired differences xᵢ - yᵢ, which is
// mean(x) - mean(y) up to rounding, with its paired bootstrap interval: each
// resample draws one set of indices and takes the same cases from both
// samples, which is the bootstrap of the differences (as Mean computes it).
// x and y must have the same length, case i of one matched with case i of
// the other.
func (bs Bootstrap) MeanDiff(x, y []float64) (Interval, error) {
	resamples, level, err := bs.settings()
	if err != nil {
		return Interval{}, err
	}
	if len(x) != len(y) {
		return Interval{}, fmt.Errorf("paired bootstrap: %d against %d values: expected matched samples of the same length", len(x), len(y))
	}
	if err := checkSample("paired bootstrap: first sample", x); err != nil {
		return Interval{}, err
	}
	if err := checkSample("paired bootstrap: second sample", y); err != nil {
		return Interval{}, err
	}
	d := make([]float64, len(x))
	for i := range x {
		d[i] = x[i] - y[i]
	}
	if err := checkSample("paired bootstrap: differences", d); err != nil {
		return Interval{}, err
	}
	return bs.interval(d, resamples, level), nil
}

// interval runs the bootstrap on a checked sample.
func (bs Bootstrap) interval(xs []float64, resamples int, level float64) Interval {
	means := make([]float64, resamples)
	w := words{src: rand.NewPCG(bs.Seed, 0)}
	n := float64(len(xs))
	for r := range means {
		means[r] = w.resampleSum(xs) / n
	}
	slices.Sort(means)
	alpha := 1 - level
	return Interval{
		Estimate: sum(xs) / n,
		Lo:       quantileSorted(means, alpha/2),
		Hi:       quantileSorted(means, 1-alpha/2),
		Level:    level,
	}
}

// words is the bootstrap's stream of 32-bit words: each PCG output gives its
// low half, then its high half, which waits in pending when a resample ends
// between the two.
type words struct {
	src        *rand.PCG
	pending    uint32
	hasPending bool
}

// resampleSum draws len(xs) indices (see Bootstrap) and returns the sum of
// the values they pick, in draw order. It allocates nothing.
func (w *words) resampleSum(xs []float64) float64 {
	m := len(xs)
	n := uint64(m)
	t := -uint32(m) % uint32(m) // 2³² mod n: the low products to reject
	var s float64
	i := 0
	if w.hasPending {
		w.hasPending = false
		if p := uint64(w.pending) * n; uint32(p) >= t {
			s += xs[p>>32]
			i++
		}
	}
	src := w.src
	for i < m {
		u := src.Uint64()
		if p := (u & 0xffffffff) * n; uint32(p) >= t {
			s += xs[p>>32]
			i++
			if i == m {
				w.pending, w.hasPending = uint32(u>>32), true
				break
			}
		}
		if p := (u >> 32) * n; uint32(p) >= t {
			s += xs[p>>32]
			i++
		}
	}
	return s
}
