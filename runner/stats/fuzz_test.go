package stats

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// The fuzz targets check what must hold for any input: no panic, no NaN or
// Inf, either an error or a result inside its bounds. Their seeds run with
// every go test; go test -fuzz=FuzzX explores further.

func FuzzWilson(f *testing.F) {
	f.Add(7, 10, 0.95)
	f.Add(0, 0, 0.95)
	f.Add(0, 1, 0.5)
	f.Add(1, 1, 0.999999)
	f.Add(math.MaxInt, math.MaxInt, 0.95)
	f.Add(1, math.MaxInt, 1e-9)
	f.Add(3, 2, 0.95)
	f.Add(5, 10, math.NaN())
	f.Fuzz(func(t *testing.T, s, n int, level float64) {
		iv, err := Wilson(s, n, level)
		if err != nil {
			return
		}
		if !(0 <= iv.Lo && iv.Lo <= iv.Estimate && iv.Estimate <= iv.Hi && iv.Hi <= 1) {
			t.Fatalf("Wilson(%d, %d, %v) = %+v: want 0 <= lo <= estimate <= hi <= 1", s, n, level, iv)
		}
		se, err := ProportionStdErr(s, n)
		if err != nil || !finite(se) || se < 0 || se > 0.5 {
			t.Fatalf("ProportionStdErr(%d, %d) = %v, %v", s, n, se, err)
		}
	})
}

func FuzzMcNemar(f *testing.F) {
	f.Add(0, 0)
	f.Add(5000, 5100)
	f.Add(0, 2000)
	f.Add(-1, 4)
	f.Add(maxDiscordant/2, maxDiscordant/2+7)
	f.Add(math.MaxInt, math.MaxInt)
	f.Fuzz(func(t *testing.T, b, c int) {
		// Keep each run short: the sum takes about √(b+c) steps.
		if b > 1<<30 || c > 1<<30 {
			return
		}
		p, err := McNemar(b, c)
		if err != nil {
			if b >= 0 && c >= 0 {
				t.Fatalf("McNemar(%d, %d): %v", b, c, err)
			}
			return
		}
		if !(p >= 0 && p <= 1) {
			t.Fatalf("McNemar(%d, %d) = %v, want a p-value in [0, 1]", b, c, p)
		}
		if q, _ := McNemar(c, b); q != p {
			t.Fatalf("McNemar(%d, %d) = %v but McNemar(%d, %d) = %v", b, c, p, c, b, q)
		}
	})
}

// floats turns fuzz bytes into values: each byte scaled to [0, 1] when
// scaled, each 8 bytes as the bits of any float64 (NaN, Inf, huge) when not.
func floats(data []byte, scaled bool) []float64 {
	var xs []float64
	if scaled {
		for _, b := range data {
			xs = append(xs, float64(b)/255)
		}
		return xs
	}
	for ; len(data) >= 8; data = data[8:] {
		xs = append(xs, math.Float64frombits(binary.LittleEndian.Uint64(data)))
	}
	return xs
}

func FuzzSample(f *testing.F) {
	f.Add([]byte{}, false, uint64(1))
	f.Add([]byte{0, 255, 128, 7, 7, 7, 200}, true, uint64(42))
	f.Add([]byte{9}, true, uint64(0))
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN())), false, uint64(3))
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(1e308)), math.Float64bits(-1e308)), false, uint64(3))
	f.Fuzz(func(t *testing.T, data []byte, scaled bool, seed uint64) {
		xs := floats(data, scaled)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range xs {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		// Rounding in a sum of n values can leave a mean an ulp or so
		// outside [min, max].
		slack := 1e-12 * math.Max(math.Abs(lo), math.Abs(hi))
		inRange := func(v float64) bool { return v >= lo-slack && v <= hi+slack }

		m, err := Mean(xs)
		if err == nil && !(finite(m) && inRange(m)) {
			t.Fatalf("Mean(%v) = %v", xs, m)
		}
		if se, err := StdErr(xs); err == nil && !(finite(se) && se >= 0) {
			t.Fatalf("StdErr(%v) = %v", xs, se)
		}
		bs := Bootstrap{Seed: seed, Resamples: 200}
		iv, err := bs.Mean(xs)
		if err == nil {
			if !(finite(iv.Lo) && finite(iv.Hi) && iv.Lo <= iv.Hi && inRange(iv.Lo) && inRange(iv.Hi) && iv.Estimate == m) {
				t.Fatalf("bootstrap of %v = %+v (mean %v)", xs, iv, m)
			}
			if again, _ := bs.Mean(xs); again != iv {
				t.Fatalf("bootstrap of %v: %+v, then %+v", xs, iv, again)
			}
		}
		if d, err := bs.MeanDiff(xs, xs); err == nil && (d.Lo != 0 || d.Hi != 0) {
			t.Fatalf("paired bootstrap of %v against itself = %+v", xs, d)
		}
		if q, err := Quantiles(slices.Clone(xs), 0, 0.5, 0.95, 0.99, 1); err == nil {
			for i, v := range q {
				if !finite(v) || !inRange(v) || i > 0 && v < q[i-1] {
					t.Fatalf("Quantiles(%v) = %v", xs, q)
				}
			}
			if q[0] != lo || q[4] != hi {
				t.Fatalf("Quantiles(%v) = %v: want the min and max at 0 and 1", xs, q)
			}
		}
		rev := slices.Clone(xs)
		slices.Reverse(rev)
		if r, err := WinTieLoss(xs, rev, 0.01); err == nil && (r.Wins+r.Ties+r.Losses != len(xs) || r.Wins != r.Losses) {
			t.Fatalf("WinTieLoss(%v, reversed) = %+v", xs, r)
		}
	})
}
