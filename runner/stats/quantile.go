package stats

import (
	"fmt"
	"math"
	"slices"
)

// Quantiles sorts xs in place and returns its quantile at each probability in
// ps, by linear interpolation between order statistics: Hyndman and Fan
// (1996) type 7, the default of numpy.quantile (method="linear"), R's
// quantile(type=7) and Excel's PERCENTILE.INC. With the sorted values
// x₀ <= … <= xₙ₋₁, h = (n-1)·p, j = ⌊h⌋ and g = h - j,
//
//	Q(p) = x_j + g·(x_{j+1} - x_j)    (Q(1) = xₙ₋₁)
//
// so Q(0.5) is the usual median and every quantile lies between the smallest
// and largest value. Latency p50/p95/p99 are Quantiles(ms, 0.50, 0.95, 0.99).
//
// Quantiles keeps the values exactly, so that the percentiles are the numbers
// numpy would print; past a point, Sketch bounds the memory instead, with a
// relative error bound.
//
// Each p must lie in [0, 1] and each value be finite; an empty xs returns
// ErrNoData.
func Quantiles[T ~float32 | ~float64](xs []T, ps ...float64) ([]float64, error) {
	for _, p := range ps {
		if !(p >= 0 && p <= 1) {
			return nil, fmt.Errorf("quantile: probability %v: expected a number from 0 to 1", p)
		}
	}
	if len(xs) == 0 {
		return nil, fmt.Errorf("%w: quantiles of an empty sample", ErrNoData)
	}
	for i, x := range xs {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("quantile: value %d is %v: expected a finite number", i, f)
		}
	}
	slices.Sort(xs)
	qs := make([]float64, len(ps))
	for i, p := range ps {
		qs[i] = quantileSorted(xs, p)
	}
	return qs, nil
}

// quantileSorted is the type-7 quantile of sorted, finite, non-empty xs at p
// in [0, 1]. It interpolates as numpy's _lerp does, from the nearer end, so
// the result stays within [x_j, x_{j+1}].
func quantileSorted[T ~float32 | ~float64](xs []T, p float64) float64 {
	h := float64(len(xs)-1) * p
	j := int(h)
	if j >= len(xs)-1 {
		return float64(xs[len(xs)-1])
	}
	g := h - float64(j)
	a, b := float64(xs[j]), float64(xs[j+1])
	d := b - a
	if math.IsInf(d, 0) { // a and b near ±MaxFloat64 with opposite signs
		return a*(1-g) + b*g
	}
	if g >= 0.5 {
		return b - d*(1-g)
	}
	return a + d*g
}

// Median returns the type-7 median of xs (the mean of the two middle values
// when n is even) without reordering xs. An empty xs returns ErrNoData.
func Median(xs []float64) (float64, error) {
	q, err := Quantiles(slices.Clone(xs), 0.5)
	if err != nil {
		return 0, err
	}
	return q[0], nil
}
