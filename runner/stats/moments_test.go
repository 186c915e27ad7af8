package stats

import (
	"math"
	"testing"
)

func TestMeanStdErr(t *testing.T) {
	huge := math.MaxFloat64 / 2
	tests := []struct {
		name     string
		xs       []float64
		mean, se float64
		// meanErr and seErr: "" none, "nodata" ErrNoData, "bad" another error.
		meanErr, seErr string
	}{
		// Exact: reference.py (Fraction mean, mpmath sqrt of the exact variance / n).
		{"1 to 4", []float64{1, 2, 3, 4}, 2.5, 0.64549722436790281, "", ""},
		{"scores", []float64{0.5, 0.5, 1, 0, 0.25}, 0.45, 0.16583123951776999, "", ""},
		{"8 of 10 as 0/1", []float64{0, 1, 1, 1, 0, 1, 1, 1, 1, 1}, 0.8, 0.13333333333333333, "", ""},
		{"all equal", []float64{0.1, 0.1, 0.1}, 0.1, 0, "", ""},
		{"one value", []float64{0.7}, 0.7, 0, "", "nodata"},
		{"empty", nil, 0, 0, "nodata", "nodata"},
		{"NaN", []float64{1, nan()}, 0, 0, "bad", "bad"},
		{"Inf", []float64{inf(), 1}, 0, 0, "bad", "bad"},
		// Two values of MaxFloat64/2 sum to MaxFloat64 exactly; three could
		// overflow, so they are refused rather than averaged to Inf.
		{"largest allowed", []float64{huge, -huge}, 0, huge, "", ""}, // sd = huge·√2, se = sd/√2
		{"too large", []float64{huge, huge, huge}, 0, 0, "bad", "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Mean(tt.xs)
			if checkErr(t, err, tt.meanErr == "nodata", tt.meanErr == "bad") {
				checkNear(t, "mean", m, tt.mean, 1e-15)
			}
			se, err := StdErr(tt.xs)
			if checkErr(t, err, tt.seErr == "nodata", tt.seErr == "bad") {
				checkNear(t, "se", se, tt.se, 1e-15)
			}
		})
	}
}
