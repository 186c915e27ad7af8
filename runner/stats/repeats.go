package stats

import (
	"fmt"
	"math"
)

// The reducers below turn a case's repeated results into one. Mean and
// Median apply to scores as well; Majority and Flaky look at verdicts.

// Max returns the largest score. An empty xs returns ErrNoData; a NaN or
// infinite value an error.
func Max(xs []float64) (float64, error) {
	return extreme("max", xs, math.Max)
}

// Min returns the smallest score. An empty xs returns ErrNoData; a NaN or
// infinite value an error.
func Min(xs []float64) (float64, error) {
	return extreme("min", xs, math.Min)
}

func extreme(what string, xs []float64, pick func(a, b float64) float64) (float64, error) {
	if len(xs) == 0 {
		return 0, fmt.Errorf("%w: %s of an empty sample", ErrNoData, what)
	}
	m := xs[0]
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("%s: value %d is %v: expected a finite number", what, i, x)
		}
		m = pick(m, x)
	}
	return m, nil
}

// Majority reports whether a strict majority of n repeats passed:
// 2·passed > n. A tie (as many passes as failures) does not pass: a case
// that passes only half the time has not shown that it passes. n = 0 returns
// ErrNoData.
func Majority(passed, n int) (bool, error) {
	if err := checkCounts("majority", "passed", passed, n); err != nil {
		return false, err
	}
	return passed > n-passed, nil
}

// Flaky reports whether a case's repeats disagree: some verdict differs
// from the first. Fewer than two verdicts are never flaky. The caller
// chooses what a verdict is (pass/fail, or a status that also tells an
// error apart).
func Flaky[T comparable](verdicts []T) bool {
	for _, v := range verdicts[min(1, len(verdicts)):] {
		if v != verdicts[0] {
			return true
		}
	}
	return false
}
