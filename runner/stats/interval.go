package stats

import (
	"errors"
	"fmt"
	"math"
)

// ErrNoData is wrapped by the error of a function given an empty sample (or
// one too small for the quantity asked, such as a standard error of one
// value). A gate on such a quantity has no value to compare.
var ErrNoData = errors.New("no data")

// DefaultLevel is the confidence level of the intervals in reports: 95%.
const DefaultLevel = 0.95

// Interval is a point estimate with a two-sided confidence interval, Lo <=
// Estimate <= Hi for the Wilson interval (the percentile bootstrap does not
// guarantee it; see Bootstrap).
type Interval struct {
	Estimate float64
	Lo, Hi   float64
	// Level is the confidence level, such as 0.95.
	Level float64
}

// Z returns the standard normal quantile for a two-sided interval of the
// given confidence level: z = Φ⁻¹(1 - (1-level)/2) = √2 · erf⁻¹(level), so
// Z(0.95) = 1.959963984540054. level must lie in (0, 1).
func Z(level float64) (float64, error) {
	if err := checkLevel(level); err != nil {
		return 0, err
	}
	return math.Sqrt2 * math.Erfinv(level), nil
}

func checkLevel(level float64) error {
	if !(level > 0 && level < 1) {
		return fmt.Errorf("confidence level %v: expected a number between 0 and 1, exclusive", level)
	}
	return nil
}

// Wilson returns the proportion successes/n with its Wilson score interval
// (Wilson 1927; Newcombe 1998, method 3), the interval of the values p for
// which |p̂ - p| <= z·√(p(1-p)/n), z = Z(level):
//
//	center ± half = (p̂ + z²/2n ± z·√(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n)
//
// It is computed in the algebraically equal form
//
//	R  = √(z² + 4·s·(n-s)/n)
//	lo = 2s² / (n·(2s + z² + z·R))
//	hi = (2s + z² + z·R) / (2·(n + z²))
//
// which has no cancellation, gives lo = 0 at s = 0 and hi = 1 at s = n
// exactly, and lies within [0, 1] with lo <= p̂ <= hi. This is what
// statsmodels' proportion_confint(s, n, method="wilson") and R's
// prop.test(s, n, correct=FALSE) report. n = 0 returns ErrNoData.
func Wilson(successes, n int, level float64) (Interval, error) {
	z, err := Z(level)
	if err != nil {
		return Interval{}, err
	}
	if err := checkCounts("wilson", "successes", successes, n); err != nil {
		return Interval{}, err
	}
	s, f, nf := float64(successes), float64(n-successes), float64(n)
	p := s / nf
	z2 := z * z
	r := math.Sqrt(z2 + 4*s*(f/nf))
	d := 2*s + z2 + z*r
	iv := Interval{Estimate: p, Lo: 2 * s * s / (nf * d), Hi: d / (2 * (nf + z2)), Level: level}
	// Rounding can push a bound past the estimate by an ulp when n is huge;
	// the interval is defined to contain it.
	iv.Lo = math.Min(iv.Lo, p)
	iv.Hi = math.Min(math.Max(iv.Hi, p), 1)
	if successes == n {
		iv.Hi = 1
	}
	return iv, nil
}

// ProportionStdErr returns the standard error of the proportion
// successes/n, √(p̂(1-p̂)/n): the binomial (maximum-likelihood) form, the one
// the Wald interval uses. It is √((n-1)/n) times StdErr of the same outcomes
// written as 0s and 1s, which divides by n-1. n = 0 returns ErrNoData.
func ProportionStdErr(successes, n int) (float64, error) {
	if err := checkCounts("standard error", "successes", successes, n); err != nil {
		return 0, err
	}
	p := float64(successes) / float64(n)
	return math.Sqrt(p * (1 - p) / float64(n)), nil
}

// checkCounts checks k of n (successes, passes): ErrNoData for n = 0, an
// error naming the count for a negative n or a k outside [0, n].
func checkCounts(what, name string, k, n int) error {
	switch {
	case n < 0:
		return fmt.Errorf("%s: n = %d: expected a count >= 0", what, n)
	case k < 0 || k > n:
		return fmt.Errorf("%s: %s = %d: expected a count between 0 and n = %d", what, name, k, n)
	case n == 0:
		return fmt.Errorf("%w: %s: n = 0", ErrNoData, what)
	}
	return nil
}
