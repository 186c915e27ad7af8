package stats

import (
	"errors"
	"testing"
)

func TestCohenKappa(t *testing.T) {
	tests := []struct {
		name              string
		table             [][]int
		po, pe, kappa, se float64
		lo, hi            float64
		err               error // ErrNoData, ErrUndefined, or errBad for a bad argument
	}{
		// Fleiss, Levin and Paik (2003), Statistical Methods for Rates and
		// Proportions, 3rd ed., Table 18.1: two psychiatrists' diagnoses of
		// 100 patients (psychological, neurological, organic). The book
		// gives p_o = .89, p_e = .66, κ = .68; the standard error is
		// reference.py's, in exact fractions.
		{"Fleiss 2003 table 18.1", [][]int{{75, 1, 4}, {5, 4, 1}, {0, 0, 10}},
			0.89, 0.66, 0.6764705882352942, 0.087702953475212476, 0.50457595808608568, 0.84836521838450256, nil},
		// The worked example of Cohen's kappa on Wikipedia: 50 grant
		// proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15; κ = 0.4.
		{"50 proposals", [][]int{{20, 5}, {10, 15}},
			0.7, 0.5, 0.4, 0.12699606293110035, 0.15109229047666108, 0.64890770952333892, nil},
		// examples/judge's reviewed sheet: 5 results, the judge passes one
		// the reviewer fails; κ = (4/5 − 12/25)/(1 − 12/25) = 8/13.
		{"the judge example", [][]int{{2, 1}, {0, 2}},
			0.8, 0.48, 0.6153846153846154, 0.31754811514789913, -0.006998253663844945, 1, nil},
		{"perfect", [][]int{{3, 0}, {0, 3}}, 1, 0.5, 1, 0, 1, 1, nil},
		{"perfectly opposed", [][]int{{0, 3}, {3, 0}}, 0, 0.5, -1, 0, -1, -1, nil},
		// One rater says yes to everything: agreement no better than
		// chance, whatever the other says.
		{"one rater constant", [][]int{{9, 1}, {0, 0}}, 0.9, 0.9, 0, 0, 0, 0, nil},
		{"all one class", [][]int{{5, 0}, {0, 0}}, 0, 0, 0, 0, 0, 0, ErrUndefined},
		{"no items", [][]int{{0, 0}, {0, 0}}, 0, 0, 0, 0, 0, 0, ErrNoData},
		{"empty table", nil, 0, 0, 0, 0, 0, 0, ErrNoData},
		{"not square", [][]int{{1, 2}, {3}}, 0, 0, 0, 0, 0, 0, errBad},
		{"negative count", [][]int{{1, -2}, {3, 4}}, 0, 0, 0, 0, 0, 0, errBad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := CohenKappa(tt.table, 0.95)
			switch {
			case tt.err == errBad:
				if err == nil || errors.Is(err, ErrNoData) || errors.Is(err, ErrUndefined) {
					t.Fatalf("err = %v, want an error about the argument", err)
				}
				return
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			checkNear(t, "p_o", k.Observed, tt.po, 1e-12)
			checkNear(t, "p_e", k.Expected, tt.pe, 1e-12)
			checkNear(t, "kappa", k.Kappa, tt.kappa, 1e-12)
			checkNear(t, "se", k.SE, tt.se, 1e-9)
			checkNear(t, "lo", k.Lo, tt.lo, 1e-9)
			checkNear(t, "hi", k.Hi, tt.hi, 1e-9)
		})
	}
	if _, err := CohenKappa([][]int{{1, 0}, {0, 1}}, 1); err == nil {
		t.Error("a level of 1 was taken")
	}
}

// errBad marks a test case whose arguments are wrong.
var errBad = errors.New("bad argument")

func TestKrippendorffAlpha(t *testing.T) {
	// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
	// section C: 4 observers, 12 units, missing values; nominal α = 0.743.
	obs := [][]int{
		{1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0},
		{1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3},
		{0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0},
		{1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0},
	}
	var missing [][]int // 0 is a missing value
	for u := range obs[0] {
		var unit []int
		for _, o := range obs {
			if o[u] != 0 {
				unit = append(unit, o[u])
			}
		}
		missing = append(missing, unit)
	}
	tests := []struct {
		name   string
		units  [][]int
		alpha  float64
		nUnits int
		values int
		err    error
	}{
		// Unit 12 has one value and is left out: 11 units, 40 values.
		{"Krippendorff 2011 C", missing, 0.74342105263157895, 11, 40, nil},
		// Section A: binary data, two observers, ten units; α = 0.095.
		{"Krippendorff 2011 A", [][]int{{0, 1}, {1, 1}, {0, 1}, {0, 0}, {0, 0}, {0, 1}, {0, 0}, {0, 0}, {1, 0}, {0, 0}},
			0.095238095238095238, 10, 20, nil},
		{"perfect", [][]int{{1, 1}, {0, 0}, {1, 1, 1}}, 1, 3, 7, nil},
		{"all one class", [][]int{{1, 1}, {1, 1, 1}}, 0, 0, 0, ErrUndefined},
		{"nothing pairable", [][]int{{1}, {}, {0}}, 0, 0, 0, ErrNoData},
		{"no units", nil, 0, 0, 0, ErrNoData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := KrippendorffAlpha(tt.units)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkNear(t, "alpha", a.Alpha, tt.alpha, 1e-12)
			if a.Units != tt.nUnits || a.Values != tt.values {
				t.Errorf("units %d, values %d; want %d, %d", a.Units, a.Values, tt.nUnits, tt.values)
			}
		})
	}
}
