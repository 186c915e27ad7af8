package stats

import (
	"errors"
	"math"
	"testing"
)

// The reference values in these tests come from testdata/reference.py,
// which computes them from the textbook definitions in exact rational
// arithmetic (fractions, math.comb) or with mpmath at 50 digits: numpy,
// scipy and statsmodels are not installed where they were made. Where a
// value is also published, the test cites the publication.

// near reports whether got is within rel (relative) of want, or within rel
// absolutely when want is 0.
func near(got, want, rel float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-300) || (want == 0 && math.Abs(got) <= rel)
}

func checkNear(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if !near(got, want, rel) {
		t.Errorf("%s = %.17g, want %.17g (relative tolerance %g)", what, got, want, rel)
	}
}

// checkErr fails unless err matches the expectation: noData wants an error
// wrapping ErrNoData, bad another error, and neither no error.
func checkErr(t *testing.T, err error, noData, bad bool) bool {
	t.Helper()
	switch {
	case noData:
		if !errors.Is(err, ErrNoData) {
			t.Fatalf("err = %v, want ErrNoData", err)
		}
	case bad:
		if err == nil || errors.Is(err, ErrNoData) {
			t.Fatalf("err = %v, want an argument error", err)
		}
	case err != nil:
		t.Fatalf("unexpected error: %v", err)
	}
	return err == nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func nan() float64 { return math.NaN() }
func inf() float64 { return math.Inf(1) }
