package stats

import (
	"fmt"
	"math"
)

// roundingSlack is the relative allowance for rounding in WinTieLoss.
const roundingSlack = 1e-12

// Record counts the outcomes of paired comparisons, from the first system's
// side: a win is a case it scored higher on.
type Record struct {
	Wins, Ties, Losses int
}

// WinTieLoss compares x and y case by case (case i of one matched with
// case i of the other): a tie when |xᵢ - yᵢ| <= tol, a win when xᵢ is
// higher by more than tol, a loss when it is lower by more than tol. tol
// must be finite and >= 0.
//
// The difference is computed in float64, where 0.61 - 0.6 is
// 0.010000000000000009, so the comparison allows for rounding: a tie is
// |xᵢ - yᵢ| <= tol + 1e-12·max(1, |xᵢ|, |yᵢ|). With tol 0.01, 0.61 and 0.6
// tie; with tol 0, 0.1+0.2 and 0.3 tie. Empty samples give a zero Record.
func WinTieLoss(x, y []float64, tol float64) (Record, error) {
	if !(tol >= 0) || math.IsInf(tol, 0) {
		return Record{}, fmt.Errorf("win/tie/loss: tolerance %v: expected a finite number >= 0", tol)
	}
	if len(x) != len(y) {
		return Record{}, fmt.Errorf("win/tie/loss: %d against %d scores: expected matched samples of the same length", len(x), len(y))
	}
	var r Record
	for i := range x {
		a, b := x[i], y[i]
		if math.IsNaN(a) || math.IsInf(a, 0) || math.IsNaN(b) || math.IsInf(b, 0) {
			return Record{}, fmt.Errorf("win/tie/loss: case %d scores %v against %v: expected finite numbers", i, a, b)
		}
		switch d := a - b; {
		case math.Abs(d) <= tol+roundingSlack*max(1, math.Abs(a), math.Abs(b)):
			r.Ties++
		case d > 0:
			r.Wins++
		default:
			r.Losses++
		}
	}
	return r, nil
}
