package stats

import (
	"fmt"
	"math"
)

// maxValues is the largest sample the package takes: the bootstrap draws
// indices from 32-bit words (see Bootstrap).
const maxValues uint64 = math.MaxUint32

// checkSample returns an error for an empty sample (ErrNoData), a value that
// is NaN or infinite, or values so large that a sum of len(xs) of them could
// overflow: |x| must be at most math.MaxFloat64/len(xs), so no sum, mean or
// resampled mean of the sample is ever infinite.
func checkSample(what string, xs []float64) error {
	if len(xs) == 0 {
		return fmt.Errorf("%w: %s of an empty sample", ErrNoData, what)
	}
	if uint64(len(xs)) > maxValues {
		return fmt.Errorf("%s: %d values: expected at most %d", what, len(xs), maxValues)
	}
	limit := math.MaxFloat64 / float64(len(xs))
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s: value %d is %v: expected a finite number", what, i, x)
		}
		if math.Abs(x) > limit {
			return fmt.Errorf("%s: value %d is %g: expected a magnitude at most %g for %d values", what, i, x, limit, len(xs))
		}
	}
	return nil
}

// sum adds xs from first to last. The mean and the bootstrap's resampled
// means are all sums in this order divided by n, so for a sample of equal
// values every resampled mean is the mean, to the bit, and the interval is
// that single point.
func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// Mean returns the arithmetic mean (x₁ + … + xₙ)/n, the sum taken from first
// to last. An empty sample returns ErrNoData.
func Mean(xs []float64) (float64, error) {
	if err := checkSample("mean", xs); err != nil {
		return 0, err
	}
	return sum(xs) / float64(len(xs)), nil
}

// StdErr returns the standard error of the mean, s/√n, where s is the sample
// standard deviation √(Σ(xᵢ - x̄)²/(n-1)) (Bessel's correction, numpy's
// std(ddof=1)). It needs at least two values; fewer returns ErrNoData. The
// squares are scaled by the largest |xᵢ - x̄| so they cannot overflow.
func StdErr(xs []float64) (float64, error) {
	if err := checkSample("standard error", xs); err != nil {
		return 0, err
	}
	n := len(xs)
	if n < 2 {
		return 0, fmt.Errorf("%w: a standard error needs at least 2 values, got %d", ErrNoData, n)
	}
	m := sum(xs) / float64(n)
	var c float64
	for _, x := range xs {
		c = math.Max(c, math.Abs(x-m))
	}
	if c == 0 {
		return 0, nil
	}
	var ss float64
	for _, x := range xs {
		d := (x - m) / c
		ss += d * d
	}
	return c * math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n)), nil
}
