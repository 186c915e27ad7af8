package stats

import (
	"fmt"
	"math"
)

// maxDiscordant bounds b + c in McNemar: beyond it the p-value's relative
// error (about 1e-16 · (b+c)·ln(b+c), from Lgamma) and its running time
// (about √(b+c) steps) stop being small. No evaluation has 10¹² cases.
const maxDiscordant = 1 << 40

// McNemar returns the two-sided p-value of McNemar's exact test on paired
// pass/fail outcomes, from the discordant counts: b cases passed by the first
// system only, c by the second only (McNemar 1947; the exact form in
// Fagerland, Lydersen and Laake 2013). Under the null hypothesis each
// discordant case is equally likely to go either way, so with N = b + c,
// X ~ Binomial(N, 1/2) and m = min(b, c),
//
//	p = min(1, 2 · P(X <= m)) = min(1, 2 · Σ_{i=0}^{m} C(N, i) / 2^N)
//
// It equals statsmodels' mcnemar([[a, b], [c, d]], exact=True).pvalue and
// scipy.stats.binomtest(m, N, 0.5).pvalue. b = c gives 1, as does
// b = c = 0 (no discordant pair: no evidence of a difference).
//
// The sum is taken in log space: the largest term C(N, m)/2^N from Lgamma,
// the others as ratios of it (C(N, i-1) = C(N, i)·i/(N-i+1)), added until
// the rest cannot change the sum, so large counts neither overflow nor lose
// the tail. A p-value below about 1e-308 rounds to 0. b + c must be at most
// 2⁴⁰.
func McNemar(b, c int) (float64, error) {
	switch {
	case b < 0:
		return 0, fmt.Errorf("mcnemar: b = %d: expected a count >= 0", b)
	case c < 0:
		return 0, fmt.Errorf("mcnemar: c = %d: expected a count >= 0", c)
	case b > maxDiscordant-c:
		return 0, fmt.Errorf("mcnemar: b + c = %d + %d: expected at most %d discordant pairs", b, c, maxDiscordant)
	}
	n, m := b+c, min(b, c)
	if 2*m == n {
		return 1, nil
	}
	nf := float64(n)
	lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	logTop := lg(nf+1) - lg(float64(m)+1) - lg(float64(n-m)+1) - nf*math.Ln2
	// s = Σ_{i<=m} C(N,i) / C(N,m). The ratios r shrink as i falls, by at
	// least the factor q each further step, so once r·q/(1-q) is below
	// s·2⁻⁶⁰ the rest of the terms cannot change s.
	s, r := 1.0, 1.0
	for i := m; i > 0; i-- {
		r *= float64(i) / float64(n-i+1)
		s += r
		q := float64(i-1) / float64(n-i+2)
		if r*q <= s*(1-q)*0x1p-60 {
			break
		}
	}
	return math.Min(1, 2*math.Exp(logTop+math.Log(s))), nil
}
