package evals

import (
	"errors"
	"math"
	"testing"
)

// The reference values of pass@k and pass^k come from
// runner/stats/testdata/reference.py, which computes them in exact rational
// arithmetic (fractions, math.comb).

// nearRel reports whether got is within rel (relative) of want, or within
// rel absolutely when want is 0.
func nearRel(got, want, rel float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-300) || (want == 0 && math.Abs(got) <= rel)
}

func checkNear(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if !nearRel(got, want, rel) {
		t.Errorf("%s = %.17g, want %.17g (relative tolerance %g)", what, got, want, rel)
	}
}

// checkErr fails unless err matches the expectation: noData wants an error
// wrapping errNoSamples, bad another error, and neither no error.
func checkErr(t *testing.T, err error, noData, bad bool) bool {
	t.Helper()
	switch {
	case noData:
		if !errors.Is(err, errNoSamples) {
			t.Fatalf("err = %v, want errNoSamples", err)
		}
	case bad:
		if err == nil || errors.Is(err, errNoSamples) {
			t.Fatalf("err = %v, want an argument error", err)
		}
	case err != nil:
		t.Fatalf("unexpected error: %v", err)
	}
	return err == nil
}

func TestPassK(t *testing.T) {
	tests := []struct {
		name        string
		n, c, k     int
		atK, hatK   float64
		noData, bad bool
	}{
		// Exact: 1 - C(n-c,k)/C(n,k) and C(c,k)/C(n,k) in rationals
		// (reference.py, math.comb).
		{"k=1 is c/n", 10, 3, 1, 0.3, 0.3, false, false},
		{"10,3,5", 10, 3, 5, 0.91666666666666667, 0, false, false}, // 1 - 21/252
		{"n-c < k", 10, 3, 8, 1, 0, false, false},
		{"all fail", 10, 0, 1, 0, 0, false, false},
		{"all pass, k=n", 10, 10, 10, 1, 1, false, false},
		{"200,13,10", 200, 13, 10, 0.49755111473060613, 1.2738851058221087e-14, false, false},
		{"200,13,100", 200, 13, 100, 0.99991949719880544, 0, false, false},
		{"k=n, some fail", 5, 2, 5, 1, 0, false, false},
		{"1 of 1000", 1000, 1, 1, 0.001, 0.001, false, false},
		{"k < c", 100, 97, 5, 1, 0.85599876314162028, false, false},
		{"no samples", 0, 0, 1, 0, 0, true, false},
		{"k > n", 3, 1, 5, 0, 0, false, true},
		{"c > n", 3, 4, 1, 0, 0, false, true},
		{"k = 0", 3, 1, 0, 0, 0, false, true},
		{"negative n", -1, 0, 1, 0, 0, false, true},
		{"negative c", 3, -1, 1, 0, 0, false, true},
		{"negative k", 3, 1, -1, 0, 0, false, true},
		{"n too large", maxSamples + 1, 1, 1, 0, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := passAtK(tt.n, tt.c, tt.k)
			if checkErr(t, err, tt.noData, tt.bad) {
				checkNear(t, "pass@k", at, tt.atK, 1e-13)
			}
			hat, err := passHatK(tt.n, tt.c, tt.k)
			if checkErr(t, err, tt.noData, tt.bad) {
				checkNear(t, "pass^k", hat, tt.hatK, 1e-13)
			}
		})
	}
}

// TestPassAtKForms: the two product forms passAtK picks between agree.
func TestPassAtKForms(t *testing.T) {
	for n := 1; n <= 40; n++ {
		for c := 0; c <= n; c++ {
			for k := 1; k <= n; k++ {
				got, _ := passAtK(n, c, k)
				want := 1.0
				if n-c >= k {
					prod := 1.0
					for i := n - c + 1; i <= n; i++ {
						prod *= 1 - float64(k)/float64(i)
					}
					want = 1 - prod
				}
				if !nearRel(got, want, 1e-12) && !nearRel(1-got, 1-want, 1e-12) {
					t.Fatalf("passAtK(%d, %d, %d) = %v, Chen et al.'s product gives %v", n, c, k, got, want)
				}
			}
		}
	}
}

// TestRepeatSummaryPassK averages the estimates over the cases of the
// repeat histogram: 2 cases x 3 repeats, one with 1 passing repeat, one with
// 3. pass@1 = (1/3 + 1)/2; pass@2 = (1 - C(2,2)/C(3,2) + 1)/2 = 5/6;
// pass^2 = (C(1,2)/C(3,2) + 1)/2 = 1/2.
func TestRepeatSummaryPassK(t *testing.T) {
	rs := &RepeatSummary{N: 3, Cases: 2, PassCounts: []int{0, 1, 0, 1}}
	for _, tc := range []struct {
		k       int
		at, hat float64
	}{{1, 2.0 / 3, 2.0 / 3}, {2, 5.0 / 6, 0.5}, {3, 1, 0.5}} {
		at, hat, ok := rs.PassK(tc.k)
		if !ok || !nearRel(at, tc.at, 1e-12) || !nearRel(hat, tc.hat, 1e-12) {
			t.Errorf("PassK(%d) = %v, %v, %v; want %v, %v", tc.k, at, hat, ok, tc.at, tc.hat)
		}
	}
	for _, tc := range []struct {
		name string
		rs   *RepeatSummary
		k    int
	}{
		{"nil", nil, 1},
		{"no case with all its repeats", &RepeatSummary{N: 3, PassCounts: make([]int, 4)}, 1},
		{"k = 0", rs, 0},
		{"k above the repeats", rs, 4},
		{"counts that no run gives", &RepeatSummary{N: 2, Cases: 1, PassCounts: []int{0, 0, 0, 1}}, 1},
	} {
		if at, hat, ok := tc.rs.PassK(tc.k); ok {
			t.Errorf("%s: PassK(%d) = %v, %v, want no value", tc.name, tc.k, at, hat)
		}
	}
}

func FuzzPassK(f *testing.F) {
	f.Add(10, 3, 5)
	f.Add(0, 0, 1)
	f.Add(1, 1, 1)
	f.Add(maxSamples, maxSamples/2, maxSamples/3)
	f.Add(5, 6, 1)
	f.Add(-3, 0, 0)
	f.Fuzz(func(t *testing.T, n, c, k int) {
		at, errAt := passAtK(n, c, k)
		hat, errHat := passHatK(n, c, k)
		if (errAt == nil) != (errHat == nil) {
			t.Fatalf("n=%d c=%d k=%d: errors %v and %v", n, c, k, errAt, errHat)
		}
		if errAt != nil {
			return
		}
		if !(at >= 0 && at <= 1 && hat >= 0 && hat <= 1) {
			t.Fatalf("n=%d c=%d k=%d: pass@k %v, pass^k %v: want both in [0, 1]", n, c, k, at, hat)
		}
		// At least one of k passing is never less likely than all k.
		if hat > at+1e-12 {
			t.Fatalf("n=%d c=%d k=%d: pass^k %v > pass@k %v", n, c, k, hat, at)
		}
	})
}

func BenchmarkPassAtK(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := passAtK(200, 57, 10); err != nil {
			b.Fatal(err)
		}
	}
}
