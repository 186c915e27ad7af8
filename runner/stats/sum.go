package stats

import "math"

// Sum adds float64 values exactly and rounds once, at the end: its result is
// the sum of the values added, correctly rounded, so that the same values
// give the same bits in any order (Shewchuk's "adaptive precision floating
// point", as Python's math.fsum). A sum of results as they come, whose
// order varies from run to run, thus reports the same figure every run.
// It keeps a few partial sums, rarely more than three.
type Sum struct {
	partials []float64
	// special holds the sum of infinities and NaNs, which partials cannot.
	special float64
}

// Add adds x.
func (s *Sum) Add(x float64) {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		s.special += x
		return
	}
	i := 0
	for _, y := range s.partials {
		if math.Abs(x) < math.Abs(y) {
			x, y = y, x
		}
		hi := x + y
		lo := y - (hi - x)
		if lo != 0 {
			s.partials[i] = lo
			i++
		}
		x = hi
	}
	if math.IsInf(x, 0) {
		// Finite values that overflow: keep the order-free answer.
		s.special += x
		s.partials = s.partials[:0]
		return
	}
	s.partials = append(s.partials[:i], x)
}

// Value is the sum of the values added, correctly rounded.
func (s *Sum) Value() float64 {
	if s.special != 0 || math.IsNaN(s.special) {
		return s.special
	}
	n := len(s.partials)
	if n == 0 {
		return 0
	}
	hi := s.partials[n-1]
	var lo float64
	for n--; n > 0; {
		x := hi
		n--
		y := s.partials[n]
		hi = x + y
		yr := hi - x
		lo = y - yr
		if lo != 0 {
			break
		}
	}
	// Round half to even across the partials left: when the rest has the
	// sign of lo, the true sum is past the halfway point.
	if n > 0 && ((lo < 0 && s.partials[n-1] < 0) || (lo > 0 && s.partials[n-1] > 0)) {
		y := lo * 2
		x := hi + y
		if y == x-hi {
			hi = x
		}
	}
	return hi
}
