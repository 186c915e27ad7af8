package evals

import (
	"errors"
	"fmt"
)

// PassK returns the mean over rs's cases of the pass@k and pass^k estimates
// (Chen et al. 2021; Yao et al. 2024) from each case's passing repeats
// (PassCounts); ok is false when k is out of range or no case has all its
// repeats. The report's PassAtK and PassHatK, and the gates pass@K and
// pass^K, are these values.
func (rs *RepeatSummary) PassK(k int) (at, hat float64, ok bool) {
	if rs == nil || rs.Cases == 0 || k < 1 || k > rs.N {
		return 0, 0, false
	}
	for c, cases := range rs.PassCounts {
		if cases == 0 {
			continue
		}
		pa, err1 := passAtK(rs.N, c, k)
		ph, err2 := passHatK(rs.N, c, k)
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		at += float64(cases) * pa
		hat += float64(cases) * ph
	}
	return at / float64(rs.Cases), hat / float64(rs.Cases), true
}

// maxSamples bounds n in passAtK and passHatK, which take time proportional
// to min(c, k) or k. It is far above any number of repeats.
const maxSamples = 1 << 24

// errNoSamples is the error of pass@k and pass^k of no samples.
var errNoSamples = errors.New("no samples")

// passAtK returns the unbiased estimate of pass@k, the probability that at
// least one of k samples passes, from n samples of which c passed (Chen et
// al. 2021, "Evaluating Large Language Models Trained on Code", eq. 1):
//
//	pass@k = 1 - C(n-c, k) / C(n, k)
//
// It is exactly 1 when n - c < k. Otherwise the ratio is computed as a
// product, never from the binomial coefficients, which overflow: Chen et
// al.'s numerically stable ∏_{i=n-c+1}^{n} (1 - k/i) (ibid., Figure 3), or,
// when k < c, the equal ∏_{i=0}^{k-1} (n-c-i)/(n-i), which has fewer factors.
// A suite's pass@k is the mean over its cases. It needs 1 <= k <= n and
// 0 <= c <= n, n at most maxSamples; n = 0 returns errNoSamples.
func passAtK(n, c, k int) (float64, error) {
	if err := checkPassK("pass@k", n, c, k); err != nil {
		return 0, err
	}
	if n-c < k {
		return 1, nil
	}
	prod := 1.0
	if c <= k {
		kf := float64(k)
		for i := n - c + 1; i <= n && prod > 0; i++ {
			prod *= 1 - kf/float64(i)
		}
	} else {
		for i := 0; i < k && prod > 0; i++ {
			prod *= float64(n-c-i) / float64(n-i)
		}
	}
	return 1 - prod, nil
}

// passHatK returns the unbiased estimate of pass^k, the probability that
// all k of k samples pass, from n samples of which c passed (Yao et al.
// 2024, "τ-bench", arXiv:2406.12045):
//
//	pass^k = C(c, k) / C(n, k) = ∏_{i=0}^{k-1} (c-i)/(n-i)
//
// computed as that product, and exactly 0 when c < k. pass^1 = pass@1 =
// c/n. It needs 1 <= k <= n and 0 <= c <= n, n at most maxSamples; n = 0
// returns errNoSamples.
func passHatK(n, c, k int) (float64, error) {
	if err := checkPassK("pass^k", n, c, k); err != nil {
		return 0, err
	}
	if c < k {
		return 0, nil
	}
	prod := 1.0
	for i := 0; i < k && prod > 0; i++ {
		prod *= float64(c-i) / float64(n-i)
	}
	return prod, nil
}

func checkPassK(what string, n, c, k int) error {
	switch {
	case n < 0 || n > maxSamples:
		return fmt.Errorf("%s: n = %d: expected a count of samples from 0 to %d", what, n, maxSamples)
	case c < 0 || c > n:
		return fmt.Errorf("%s: c = %d: expected a count of passing samples between 0 and n = %d", what, c, n)
	case k < 1:
		return fmt.Errorf("%s: k = %d: expected k >= 1", what, k)
	case n == 0:
		return fmt.Errorf("%w: %s of 0 samples", errNoSamples, what)
	case k > n:
		return fmt.Errorf("%s: k = %d: expected 1 <= k <= n = %d", what, k, n)
	}
	return nil
}
