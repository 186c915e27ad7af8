"""Reference values for runner/stats tests, computed independently of the Go code.

numpy, scipy and statsmodels are not installed on the machine these were
made on, so every value here comes from exact rational arithmetic
(fractions, math.comb) or from mpmath at 50 significant digits, from the
textbook definitions rather than from the forms the Go code uses.

Run: python3 runner/stats/testdata/reference.py
"""

from fractions import Fraction as F
from math import comb
import statistics

import mpmath

mpmath.mp.dps = 50


def z(level):
    # Two-sided normal quantile: Phi^-1(1 - (1-level)/2).
    return mpmath.sqrt(2) * mpmath.erfinv(mpmath.mpf(level))


def wilson(s, n, level):
    # Wilson (1927) in its textbook form: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n).
    zz = z(level)
    p = mpmath.mpf(s) / n
    center = (p + zz**2 / (2 * n)) / (1 + zz**2 / n)
    half = zz / (1 + zz**2 / n) * mpmath.sqrt(p * (1 - p) / n + zz**2 / (4 * n**2))
    return center - half, center + half


def mcnemar(b, c):
    n, m = b + c, min(b, c)
    total, term = 0, 1  # term = C(n, i)
    for i in range(m + 1):
        total += term
        term = term * (n - i) // (i + 1)
    return min(F(1), 2 * F(total, 2**n))


def pass_at_k(n, c, k):
    return 1 - F(comb(n - c, k), comb(n, k))


def pass_hat_k(n, c, k):
    return F(comb(c, k), comb(n, k))


def type7(xs, p):
    # Hyndman and Fan type 7 in exact rationals.
    xs = sorted(F(x) for x in xs)
    h = (len(xs) - 1) * F(p)
    j = int(h)
    if j >= len(xs) - 1:
        return xs[-1]
    return xs[j] + (h - j) * (xs[j + 1] - xs[j])


# --- Go's math/rand/v2 PCG (PCG-DXSM, 128-bit LCG), written out from its definition.
M64 = (1 << 64) - 1
MUL = (2549297995355413924 << 64) | 4865540595714422341
INC = (6364136223846793005 << 64) | 1442695040888963407


class PCG:
    def __init__(self, seed1, seed2):
        self.state = (seed1 << 64) | seed2

    def uint64(self):
        self.state = (self.state * MUL + INC) & ((1 << 128) - 1)
        hi, lo = self.state >> 64, self.state & M64
        hi ^= hi >> 32
        hi = (hi * 0xDA942042E4DD58B5) & M64
        hi ^= hi >> 48
        hi = (hi * (lo | 1)) & M64
        return hi


def words(seed):
    g = PCG(seed, 0)
    while True:
        u = g.uint64()
        yield u & 0xFFFFFFFF
        yield u >> 32


def lerp(a, b, t):
    # numpy's _lerp, in float64.
    d = b - a
    return b - d * (1 - t) if t >= 0.5 else a + d * t


def bootstrap(xs, seed, resamples, level):
    n = len(xs)
    t = (1 << 32) % n
    w = words(seed)
    rejected = 0
    means = []
    for _ in range(resamples):
        s = 0.0
        for _ in range(n):
            while True:
                m = next(w) * n
                if m & 0xFFFFFFFF >= t:
                    break
                rejected += 1
            s += xs[m >> 32]
        means.append(s / n)
    means.sort()

    def q(p):
        h = (len(means) - 1) * p
        j = int(h)
        if j >= len(means) - 1:
            return means[-1]
        return lerp(means[j], means[j + 1], h - j)

    alpha = 1 - level
    est = 0.0
    for x in xs:
        est += x
    return est / n, q(alpha / 2), q(1 - alpha / 2), rejected



def kappa(table, level):
    # Cohen (1960) from the cell proportions, and the large-sample variance of
    # Fleiss, Cohen and Everitt (1969) in exact fractions; z from mpmath.
    k = len(table)
    n = sum(sum(r) for r in table)
    p = [[F(c, n) for c in r] for r in table]
    rows = [sum(r) for r in p]
    cols = [sum(p[i][j] for i in range(k)) for j in range(k)]
    po = sum(p[i][i] for i in range(k))
    pe = sum(rows[i] * cols[i] for i in range(k))
    kap = (po - pe) / (1 - pe)
    a = sum(p[i][i] * (1 - (rows[i] + cols[i]) * (1 - kap)) ** 2 for i in range(k))
    b = (1 - kap) ** 2 * sum(p[i][j] * (cols[i] + rows[j]) ** 2 for i in range(k) for j in range(k) if i != j)
    c = (kap - pe * (1 - kap)) ** 2
    var = (a + b - c) / (n * (1 - pe) ** 2)
    se = mpmath.sqrt(mpmath.mpf(var.numerator) / var.denominator)
    kf = mpmath.mpf(kap.numerator) / kap.denominator
    return po, pe, kap, se, max(-1, kf - z(level) * se), min(1, kf + z(level) * se)


def alpha_nominal(units):
    # Krippendorff (2011), section C: the coincidence matrix in fractions.
    vals = sorted({v for u in units if len(u) > 1 for v in u})
    o = {(c, d): F(0) for c in vals for d in vals}
    for u in units:
        m = len(u)
        if m < 2:
            continue
        for i, c in enumerate(u):
            for j, d in enumerate(u):
                if i != j:
                    o[c, d] += F(1, m - 1)
    nc = {c: sum(o[c, d] for d in vals) for c in vals}
    n = sum(nc.values())
    do = sum(v for (c, d), v in o.items() if c != d)
    de = sum(nc[c] * nc[d] for c in vals for d in vals if c != d)
    return 1 - (n - 1) * do / de

def show(name, v):
    print(f"{name} = {mpmath.nstr(mpmath.mpf(v.numerator) / v.denominator if isinstance(v, F) else v, 17)}")


print("# Z")
for lv in ["0.5", "0.8", "0.9", "0.95", "0.99", "0.999"]:
    show(f"Z({lv})", z(lv))
print("# Wilson")
for s, n, lv in [(7, 10, "0.95"), (81, 263, "0.95"), (15, 148, "0.95"), (0, 20, "0.95"), (1, 29, "0.95"),
                 (20, 20, "0.95"), (1, 1, "0.95"), (0, 1, "0.95"), (50, 100, "0.99"), (9, 10, "0.8"),
                 (999_999, 1_000_000, "0.95"), (123_456_789, 1_000_000_000, "0.95")]:
    lo, hi = wilson(s, n, lv)
    print(f"Wilson({s}, {n}, {lv}) = [{mpmath.nstr(lo, 17)}, {mpmath.nstr(hi, 17)}]")
print("# StdErr")
for xs in [[1, 2, 3, 4], [0.5, 0.5, 1, 0, 0.25], [0, 1, 1, 1, 0, 1, 1, 1, 1, 1]]:
    fx = [F(x) for x in xs]
    m = sum(fx) / len(fx)
    var = sum((x - m) ** 2 for x in fx) / (len(fx) - 1)
    se = mpmath.sqrt(mpmath.mpf(var.numerator) / var.denominator / len(fx))
    print(f"xs={xs}: mean {float(m)!r}, se {mpmath.nstr(se, 17)}")
print("# McNemar")
for b, c in [(0, 5), (1, 5), (3, 12), (10, 25), (0, 0), (7, 7), (59, 79), (5000, 5100), (5100, 5000), (50000, 51000), (0, 2000), (400, 600)]:
    show(f"McNemar({b}, {c})", mcnemar(b, c))
print("# pass@k, pass^k")
for n, c, k in [(10, 3, 1), (10, 3, 5), (10, 3, 8), (10, 0, 1), (10, 10, 10), (200, 13, 10), (200, 13, 100), (5, 2, 5), (1000, 1, 1), (100, 97, 5)]:
    show(f"PassAtK({n}, {c}, {k})", pass_at_k(n, c, k))
    show(f"PassHatK({n}, {c}, {k})", pass_hat_k(n, c, k))
print("# Quantiles (type 7); statistics.quantiles(method='inclusive') agrees")
for xs in [[15, 20, 35, 40, 50], [1, 2, 3, 4], [3.5], [120, 80, 95, 400, 101, 99, 87, 2500, 130, 110, 91, 105]]:
    qs = [type7(xs, p) for p in ["0", "0.05", "0.25", "0.5", "0.95", "0.99", "1"]]
    inc = statistics.quantiles(xs, n=100, method="inclusive") if len(xs) > 1 else None
    if inc is not None:
        assert abs(float(type7(xs, "0.95")) - inc[94]) < 1e-9, (inc[94], type7(xs, "0.95"))
    print(f"xs={xs}: p0,p5,p25,p50,p95,p99,p100 = {[float(q) for q in qs]}")
print("# Bootstrap")
small = [0.1, 0.4, 0.4, 0.7, 0.9, 1.0, 0.0, 0.55, 0.3, 0.8]
odd = [0.2, 0.9, 0.35, 1.0, 0.0, 0.75, 0.6]
for xs, seed, b, lv in [(small, 42, 1000, 0.95), (small, 7, 2000, 0.9), (odd, 1, 999, 0.95)]:
    est, lo, hi, rej = bootstrap(xs, seed, b, lv)
    print(f"Bootstrap(seed {seed}, {b} resamples, level {lv}) on {xs}: est {est!r} lo {lo!r} hi {hi!r} (rejected words: {rej})")
# A sample large enough that some words are rejected: n = 99991 has
# 2^32 mod n = 34124, so each word is rejected with probability 8e-6.
big = [(i * 7919 % 1000) / 1000 for i in range(99991)]
est, lo, hi, rej = bootstrap(big, 3, 5, 0.95)
print(f"Bootstrap(seed 3, 5 resamples, level 0.95) on x_i = (i*7919 mod 1000)/1000, n = 99991: est {est!r} lo {lo!r} hi {hi!r} (rejected words: {rej})")
# Paired: the differences of the two samples.
a = [0.9, 0.8, 1.0, 0.7, 0.95, 0.6, 0.85, 0.9]
bb = [0.8, 0.85, 0.9, 0.5, 0.95, 0.55, 0.7, 0.92]
d = [x - y for x, y in zip(a, bb)]
est, lo, hi, rej = bootstrap(d, 11, 1500, 0.95)
print(f"Paired bootstrap(seed 11, 1500 resamples) a={a} b={bb}: est {est!r} lo {lo!r} hi {hi!r}")
print("# Cohen's kappa: p_o, p_e, kappa, SE (Fleiss, Cohen and Everitt 1969), 95% interval")
for table in [[[75, 1, 4], [5, 4, 1], [0, 0, 10]], [[20, 5], [10, 15]], [[2, 1], [0, 2]], [[3, 0], [0, 3]], [[0, 3], [3, 0]], [[9, 1], [0, 0]]]:
    po, pe, kap, se, lo, hi = kappa(table, "0.95")
    print(f"kappa({table}): p_o {float(po)!r} p_e {float(pe)!r} kappa {float(kap)!r} se {mpmath.nstr(se, 17)} ci [{mpmath.nstr(lo, 17)}, {mpmath.nstr(hi, 17)}]")
print("# Krippendorff's alpha, nominal")
# Krippendorff (2011), section C: 4 observers, 12 units, missing values.
A = [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None]
B = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3]
C = [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None]
D = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]
units = [[v for v in col if v is not None] for col in zip(A, B, C, D)]
show("alpha(Krippendorff 2011, C)", alpha_nominal(units))
# Krippendorff (2011), section A: binary data, two observers, 10 units.
units = [list(u) for u in zip([0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0])]
show("alpha(Krippendorff 2011, A)", alpha_nominal(units))
