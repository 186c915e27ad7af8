package runner

import (
	"math"
	"slices"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/stats"
)

// wilson is the Wilson interval of k in n, nil without data.
func wilson(k, n int, st evals.Statistics) *evals.Interval {
	iv, err := stats.Wilson(k, n, st.Confidence)
	if err != nil {
		return nil
	}
	return &evals.Interval{Lo: iv.Lo, Hi: iv.Hi, Method: "wilson"}
}

// sample accumulates values for a mean, its standard error and interval:
// the running moments always (Welford), the values themselves while there
// are at most max of them, for the bootstrap.
type sample struct {
	n        int
	mean, m2 float64
	vals     []float64
	max      int
	dropped  bool
}

func (s *sample) add(v float64) {
	s.n++
	d := v - s.mean
	s.mean += d / float64(s.n)
	s.m2 += d * (v - s.mean)
	if s.dropped {
		return
	}
	if s.n > s.max {
		s.vals, s.dropped = nil, true
		return
	}
	s.vals = append(s.vals, v)
}

// summary returns the mean, its standard error and its interval: the
// percentile bootstrap up to st.BootstrapMax values, the normal interval
// beyond. Without data, all zero and a nil interval.
func (s *sample) summary(st evals.Statistics) (mean, se float64, ci *evals.Interval) {
	if s.n == 0 {
		return 0, 0, nil
	}
	if !s.dropped {
		// Results arrive in the order requests complete, which varies from
		// run to run: sort, so that the same scores give the same figures
		// to the last bit, the bootstrap's resamples included.
		slices.Sort(s.vals)
		if s.n > 1 {
			se, _ = stats.StdErr(s.vals)
		}
		bs := stats.Bootstrap{Seed: st.Seed, Resamples: st.Resamples, Level: st.Confidence}
		if iv, err := bs.Mean(s.vals); err == nil {
			return iv.Estimate, se, &evals.Interval{Lo: iv.Lo, Hi: iv.Hi, Method: "bootstrap"}
		}
	}
	// Past BootstrapMax values the running moments depend on the order of
	// the results in their last bits; 12 decimals hide that.
	mean = math.Round(s.mean*1e12) / 1e12
	if s.n > 1 {
		se = math.Round(math.Sqrt(s.m2/float64(s.n-1))/math.Sqrt(float64(s.n))*1e12) / 1e12
	}
	z, err := stats.Z(st.Confidence)
	if err != nil {
		return mean, se, nil
	}
	return mean, se, &evals.Interval{Lo: mean - z*se, Hi: mean + z*se, Method: "normal"}
}
