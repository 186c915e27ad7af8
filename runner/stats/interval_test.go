package stats

import (
	"math"
	"strings"
	"testing"
)

func TestZ(t *testing.T) {
	// mpmath: sqrt(2)*erfinv(level) at 50 digits.
	tests := []struct {
		level, want float64
	}{
		{0.5, 0.67448975019608174},
		{0.8, 1.2815515655446005},
		{0.9, 1.6448536269514727},
		{0.95, 1.9599639845400542},
		{0.99, 2.5758293035489008},
		{0.999, 3.2905267314918948},
	}
	for _, tt := range tests {
		z, err := Z(tt.level)
		if err != nil {
			t.Fatal(err)
		}
		checkNear(t, "Z", z, tt.want, 1e-14)
	}
	for _, level := range []float64{0, 1, -0.5, 95, nan(), inf()} {
		if _, err := Z(level); err == nil || !strings.Contains(err.Error(), "confidence level") {
			t.Errorf("Z(%v): err = %v, want a confidence level error", level, err)
		}
	}
}

func TestWilson(t *testing.T) {
	tests := []struct {
		name       string
		s, n       int
		level      float64
		lo, hi     float64
		noData, ok bool
	}{
		// statsmodels proportion_confint(7, 10, method="wilson") = (0.3968, 0.8922).
		{"7 of 10", 7, 10, 0.95, 0.39677814746114532, 0.89220873259369898, false, true},
		// Newcombe 1998, method 3 (score, no continuity correction), on the
		// paper's examples 81/263, 15/148, 0/20 and 1/29: 0.2553-0.3662,
		// 0.0624-0.1605, 0.0000-0.1611, 0.0061-0.1718.
		{"Newcombe a", 81, 263, 0.95, 0.25528851987827423, 0.36620957698280007, false, true},
		{"Newcombe b", 15, 148, 0.95, 0.06238639953073628, 0.16048724172330804, false, true},
		{"Newcombe c: all fail", 0, 20, 0.95, 0, 0.16112515805281939, false, true},
		{"Newcombe d", 1, 29, 0.95, 0.0061132142927626605, 0.17175521879320288, false, true},
		{"all pass", 20, 20, 0.95, 0.83887484194718061, 1, false, true},
		{"one pass", 1, 1, 0.95, 0.20654931437723739, 1, false, true},
		{"one fail", 0, 1, 0.95, 0, 0.79345068562276261, false, true},
		{"99%", 50, 100, 0.99, 0.37527962504483982, 0.62472037495516018, false, true},
		{"80%", 9, 10, 0.8, 0.71755569860969482, 0.96958935571787246, false, true},
		{"a million", 999_999, 1_000_000, 0.95, 0.99999433508819569, 0.99999982347542325, false, true},
		{"a billion", 123_456_789, 1_000_000_000, 0.95, 0.12343640161927888, 0.12347717927367159, false, true},
		{"no data", 0, 0, 0.95, 0, 0, true, false},
		{"negative n", 0, -1, 0.95, 0, 0, false, false},
		{"negative successes", -1, 10, 0.95, 0, 0, false, false},
		{"successes > n", 11, 10, 0.95, 0, 0, false, false},
		{"level 1", 5, 10, 1, 0, 0, false, false},
		{"level 0", 5, 10, 0, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv, err := Wilson(tt.s, tt.n, tt.level)
			if !checkErr(t, err, tt.noData, !tt.ok && !tt.noData) {
				return
			}
			checkNear(t, "lo", iv.Lo, tt.lo, 1e-12)
			checkNear(t, "hi", iv.Hi, tt.hi, 1e-12)
			if want := float64(tt.s) / float64(tt.n); iv.Estimate != want || iv.Level != tt.level {
				t.Errorf("estimate, level = %v, %v, want %v, %v", iv.Estimate, iv.Level, want, tt.level)
			}
			if tt.s == 0 && iv.Lo != 0 || tt.s == tt.n && iv.Hi != 1 {
				t.Errorf("interval [%v, %v]: want an exact 0 or 1 at the edge", iv.Lo, iv.Hi)
			}
		})
	}
}

func TestWilsonSymmetric(t *testing.T) {
	// The interval for n-s successes mirrors the one for s (to rounding:
	// 1 - hi loses the low bits of hi).
	for s := 0; s <= 30; s++ {
		a, _ := Wilson(s, 30, 0.95)
		b, _ := Wilson(30-s, 30, 0.95)
		if math.Abs(a.Lo-(1-b.Hi)) > 1e-15 || math.Abs(a.Hi-(1-b.Lo)) > 1e-15 {
			t.Errorf("Wilson(%d, 30) = [%v, %v], mirror of [%v, %v]", s, a.Lo, a.Hi, b.Lo, b.Hi)
		}
	}
}

func TestProportionStdErr(t *testing.T) {
	tests := []struct {
		s, n       int
		want       float64
		noData, ok bool
	}{
		{8, 10, 0.12649110640673517, false, true}, // sqrt(0.8*0.2/10)
		{0, 10, 0, false, true},
		{10, 10, 0, false, true},
		{0, 0, 0, true, false},
		{11, 10, 0, false, false},
		{-1, 10, 0, false, false},
		{0, -1, 0, false, false},
	}
	for _, tt := range tests {
		se, err := ProportionStdErr(tt.s, tt.n)
		if checkErr(t, err, tt.noData, !tt.ok && !tt.noData) {
			checkNear(t, "se", se, tt.want, 1e-15)
		}
	}
	// The binomial form is sqrt((n-1)/n) times the sample form of the same
	// 0/1 outcomes: 0.13333333333333333 for 8 of 10 (reference.py).
	se, _ := ProportionStdErr(8, 10)
	checkNear(t, "se", se, 0.13333333333333333*0.9486832980505138, 1e-15)
}
