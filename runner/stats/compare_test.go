package stats

import "testing"

func TestWinTieLoss(t *testing.T) {
	x := []float64{1, 0.5, 0.3, 0.8, 0, 0.61}
	y := []float64{0, 0.5, 0.2, 0.9, 0, 0.6}
	tests := []struct {
		tol  float64
		want Record
	}{
		{0, Record{Wins: 3, Ties: 2, Losses: 1}},
		{0.01, Record{Wins: 2, Ties: 3, Losses: 1}},   // 0.61 vs 0.6 ties despite rounding
		{0.1, Record{Wins: 1, Ties: 5, Losses: 0}},    // 0.3 vs 0.2 and 0.8 vs 0.9 too
		{1, Record{Wins: 0, Ties: 6, Losses: 0}},      // everything
		{0.099, Record{Wins: 2, Ties: 3, Losses: 1}},  // just short of 0.1
		{0.0099, Record{Wins: 3, Ties: 2, Losses: 1}}, // just short of 0.01
	}
	for _, tt := range tests {
		got, err := WinTieLoss(x, y, tt.tol)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("tol %v: %+v, want %+v", tt.tol, got, tt.want)
		}
	}
	// Scores equal but for rounding tie at tolerance 0.
	if r, _ := WinTieLoss([]float64{0.1 + 0.2}, []float64{0.3}, 0); r != (Record{Ties: 1}) {
		t.Errorf("0.1+0.2 against 0.3: %+v, want a tie", r)
	}
	if r, err := WinTieLoss(nil, nil, 0); err != nil || r != (Record{}) {
		t.Errorf("empty: %+v, %v", r, err)
	}
	for name, c := range map[string]struct {
		x, y []float64
		tol  float64
	}{
		"lengths":        {x, y[:2], 0},
		"negative tol":   {x, y, -0.1},
		"NaN tol":        {x, y, nan()},
		"infinite tol":   {x, y, inf()},
		"NaN score":      {[]float64{nan()}, []float64{0}, 0},
		"infinite score": {[]float64{0}, []float64{inf()}, 0},
	} {
		if _, err := WinTieLoss(c.x, c.y, c.tol); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
