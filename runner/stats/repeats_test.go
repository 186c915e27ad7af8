package stats

import "testing"

func TestMaxMin(t *testing.T) {
	xs := []float64{0.5, -0.25, 1, 0}
	if m, err := Max(xs); err != nil || m != 1 {
		t.Errorf("Max = %v, %v", m, err)
	}
	if m, err := Min(xs); err != nil || m != -0.25 {
		t.Errorf("Min = %v, %v", m, err)
	}
	for _, f := range []func([]float64) (float64, error){Max, Min} {
		_, err := f(nil)
		checkErr(t, err, true, false)
		_, err = f([]float64{1, nan()})
		checkErr(t, err, false, true)
		_, err = f([]float64{inf()})
		checkErr(t, err, false, true)
	}
}

func TestMajority(t *testing.T) {
	tests := []struct {
		passed, n   int
		want        bool
		noData, bad bool
	}{
		{3, 5, true, false, false},
		{2, 5, false, false, false},
		{2, 4, false, false, false}, // a tie fails
		{3, 4, true, false, false},
		{1, 1, true, false, false},
		{0, 1, false, false, false},
		{5, 5, true, false, false},
		{0, 0, false, true, false},
		{-1, 3, false, false, true},
		{4, 3, false, false, true},
		{0, -2, false, false, true},
	}
	for _, tt := range tests {
		got, err := Majority(tt.passed, tt.n)
		if checkErr(t, err, tt.noData, tt.bad) && got != tt.want {
			t.Errorf("Majority(%d, %d) = %v, want %v", tt.passed, tt.n, got, tt.want)
		}
	}
}

func TestFlaky(t *testing.T) {
	bools := []struct {
		v    []bool
		want bool
	}{
		{nil, false},
		{[]bool{true}, false},
		{[]bool{true, true, true}, false},
		{[]bool{false, false}, false},
		{[]bool{true, true, false}, true},
		{[]bool{false, true}, true},
	}
	for _, tt := range bools {
		if got := Flaky(tt.v); got != tt.want {
			t.Errorf("Flaky(%v) = %v, want %v", tt.v, got, tt.want)
		}
	}
	// A verdict may be a status: an error among failures is flaky.
	if !Flaky([]string{"failed", "failed", "error"}) || Flaky([]string{"error", "error"}) {
		t.Error("Flaky on statuses")
	}
}
