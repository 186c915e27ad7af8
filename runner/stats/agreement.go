package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrUndefined is wrapped by the error of an agreement coefficient that the
// data do not define: every rating in one and the same category, where the
// agreement expected by chance is already perfect and kappa and alpha are
// 0/0. It is not "no agreement": a caller reports it as undefined.
var ErrUndefined = errors.New("undefined")

// Kappa is Cohen's kappa of two raters over the same items, with its
// large-sample standard error and interval.
type Kappa struct {
	// N is the number of items both raters rated.
	N int
	// Observed is the proportion of items on which the raters agree (p_o);
	// Expected the agreement expected by chance from their marginals (p_e).
	Observed, Expected float64
	// Kappa is (p_o − p_e)/(1 − p_e).
	Kappa float64
	// SE is the standard error of Fleiss, Cohen and Everitt (1969), not the
	// one under the null hypothesis κ = 0; Lo and Hi are κ ± z·SE at Level,
	// clipped to [−1, 1].
	SE     float64
	Lo, Hi float64
	Level  float64
}

// CohenKappa returns Cohen's (1960) kappa of the square table of counts
// table: table[i][j] counts the items the first rater put in category i and
// the second in category j. With n items, p_ij = table[i][j]/n and the
// marginals p_i· (row) and p_·j (column):
//
//	p_o = Σ p_ii,   p_e = Σ p_i·p_·i,   κ = (p_o − p_e)/(1 − p_e)
//
// Its variance is the large-sample one of Fleiss, Cohen and Everitt (1969;
// Fleiss, Levin and Paik 2003, ch. 18), which does not assume κ = 0:
//
//	var = ( Σ_i p_ii·[1 − (p_i· + p_·i)(1 − κ)]²
//	      + (1 − κ)²·Σ_{i≠j} p_ij·(p_·i + p_j·)²
//	      − [κ − p_e(1 − κ)]² ) / (n·(1 − p_e)²)
//
// and the interval is κ ± z·√var, z = Z(level), clipped to [−1, 1]. A table
// with no items returns ErrNoData; one whose every item is in one and the
// same category for both raters (p_e = 1) returns ErrUndefined.
func CohenKappa(table [][]int, level float64) (Kappa, error) {
	z, err := Z(level)
	if err != nil {
		return Kappa{}, err
	}
	k := len(table)
	n := 0
	for i, row := range table {
		if len(row) != k {
			return Kappa{}, fmt.Errorf("kappa: row %d has %d counts: expected a square table of %d", i, len(row), k)
		}
		for j, c := range row {
			if c < 0 {
				return Kappa{}, fmt.Errorf("kappa: count [%d][%d] is %d: expected 0 or more", i, j, c)
			}
			n += c
		}
	}
	if n == 0 {
		return Kappa{}, fmt.Errorf("kappa: no item rated: %w", ErrNoData)
	}
	nf := float64(n)
	rows, cols := make([]float64, k), make([]float64, k)
	for i, row := range table {
		for j, c := range row {
			rows[i] += float64(c)
			cols[j] += float64(c)
		}
	}
	var po, pe float64
	for i := range k {
		rows[i] /= nf
		cols[i] /= nf
		po += float64(table[i][i]) / nf
		pe += rows[i] * cols[i]
	}
	out := Kappa{N: n, Observed: po, Expected: pe, Level: level}
	// p_e = 1 only when both raters put every item in one category; it is
	// computed from counts, so the test is exact up to rounding.
	if 1-pe < 1e-12 {
		return out, fmt.Errorf("kappa: every item is in one category for both raters: %w", ErrUndefined)
	}
	kappa := (po - pe) / (1 - pe)
	var a, b float64
	for i := range k {
		for j := range k {
			p := float64(table[i][j]) / nf
			if p == 0 {
				continue
			}
			if i == j {
				d := 1 - (rows[i]+cols[i])*(1-kappa)
				a += p * d * d
			} else {
				s := cols[i] + rows[j]
				b += p * s * s
			}
		}
	}
	c := kappa - pe*(1-kappa)
	v := (a + (1-kappa)*(1-kappa)*b - c*c) / (nf * (1 - pe) * (1 - pe))
	out.Kappa = kappa
	out.SE = math.Sqrt(math.Max(v, 0)) // a variance of 0 may round below it
	out.Lo = math.Max(-1, kappa-z*out.SE)
	out.Hi = math.Min(1, kappa+z*out.SE)
	return out, nil
}

// Alpha is Krippendorff's alpha of several raters, some of whom may not have
// rated every item.
type Alpha struct {
	// Alpha is 1 − D_o/D_e.
	Alpha float64
	// Units are the items with at least two ratings, the only ones that
	// count; Values the ratings in them (n of the definition).
	Units, Values int
}

// KrippendorffAlpha returns Krippendorff's alpha for nominal data
// (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability", section
// C). units holds, per item, the categories its raters gave it, missing
// ratings left out; a unit with fewer than two ratings cannot be paired and
// is left out. From the coincidences o_ck = Σ_u (number of ordered pairs of
// ratings c, k in u, of different raters)/(m_u − 1), n_c = Σ_k o_ck and
// n = Σ_c n_c:
//
//	α = 1 − (n − 1)·Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k
//
// No pairable unit returns ErrNoData; every pairable rating in one
// category (no disagreement is possible, D_e = 0) returns ErrUndefined.
func KrippendorffAlpha(units [][]int) (Alpha, error) {
	// The categories, sorted, so that the sums below run in one order and
	// the result is the same bit for bit on every run.
	var cats []int
	seen := map[int]int{}
	for _, u := range units {
		for _, v := range u {
			if _, ok := seen[v]; !ok && len(u) > 1 {
				seen[v] = 0
				cats = append(cats, v)
			}
		}
	}
	slices.Sort(cats)
	for i, c := range cats {
		seen[c] = i
	}
	k := len(cats)
	o := make([]float64, k*k) // o[c*k+d]: the coincidences of c and d
	count := make([]int, k)
	var out Alpha
	for _, u := range units {
		m := len(u)
		if m < 2 {
			continue
		}
		out.Units++
		out.Values += m
		clear(count)
		for _, v := range u {
			count[seen[v]]++
		}
		w := float64(m - 1)
		for c := range k {
			for d := range k {
				pairs := count[c] * count[d]
				if c == d {
					pairs = count[c] * (count[c] - 1)
				}
				if pairs > 0 {
					o[c*k+d] += float64(pairs) / w
				}
			}
		}
	}
	if out.Units == 0 {
		return out, fmt.Errorf("alpha: no item has two ratings: %w", ErrNoData)
	}
	nc := make([]float64, k)
	var disagree float64
	for c := range k {
		for d := range k {
			nc[c] += o[c*k+d]
			if c != d {
				disagree += o[c*k+d]
			}
		}
	}
	n := float64(out.Values)
	// Σ_{c≠k} n_c·n_k = n² − Σ_c n_c².
	var sq float64
	for _, v := range nc {
		sq += v * v
	}
	expected := n*n - sq
	if expected < 1e-9 {
		return out, fmt.Errorf("alpha: every rating is in one category: %w", ErrUndefined)
	}
	out.Alpha = 1 - (n-1)*disagree/expected
	return out, nil
}
