package stats

import (
	"fmt"
	"math"
)

// Record counts the outcomes of paired comparisons, from the first system's
// side: a win is a case it scored higher on.
type Record struct {
	Wins, Ties, Losses int
}

// WinTieLoss compares x and y case by case (case i of one matched with
// case i of the other): a tie when |xᵢ - yᵢ| <= tol, a win when
// xᵢ > yᵢ + tol, a loss when xᵢ < yᵢ - tol. tol must be finite and >= 0; 0
// counts only equal scores as ties. Empty samples give a zero Record.
func WinTieLoss(x, y []float64, tol float64) (Record, error) {
	if !(tol >= 0) || math.IsInf(tol, 0) {
		return Record{}, fmt.Errorf("win/tie/loss: tolerance %v: expected a finite number >= 0", tol)
	}
	if len(x) != len(y) {
		return Record{}, fmt.Errorf("win/tie/loss: %d scores against %d: expected matched samples of the same length", len(x), len(y))
	}
	var r Record
	for i := range x {
		a, b := x[i], y[i]
		if math.IsNaN(a) || math.IsInf(a, 0) || math.IsNaN(b) || math.IsInf(b, 0) {
			return Record{}, fmt.Errorf("win/tie/loss: case %d scores %v against %v: expected finite numbers", i, a, b)
		}
		switch d := a - b; {
		case math.Abs(d) <= tol:
			r.Ties++
		case d > 0:
			r.Wins++
		default:
			r.Losses++
		}
	}
	return r, nil
}
