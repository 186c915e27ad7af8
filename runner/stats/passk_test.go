package stats

import "testing"

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
		{"n too large", MaxSamples + 1, 1, 1, 0, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := PassAtK(tt.n, tt.c, tt.k)
			if checkErr(t, err, tt.noData, tt.bad) {
				checkNear(t, "pass@k", at, tt.atK, 1e-13)
			}
			hat, err := PassHatK(tt.n, tt.c, tt.k)
			if checkErr(t, err, tt.noData, tt.bad) {
				checkNear(t, "pass^k", hat, tt.hatK, 1e-13)
			}
		})
	}
}

// TestPassAtKForms: the two product forms PassAtK picks between agree.
func TestPassAtKForms(t *testing.T) {
	for n := 1; n <= 40; n++ {
		for c := 0; c <= n; c++ {
			for k := 1; k <= n; k++ {
				got, _ := PassAtK(n, c, k)
				want := 1.0
				if n-c >= k {
					prod := 1.0
					for i := n - c + 1; i <= n; i++ {
						prod *= 1 - float64(k)/float64(i)
					}
					want = 1 - prod
				}
				if !near(got, want, 1e-12) && !near(1-got, 1-want, 1e-12) {
					t.Fatalf("PassAtK(%d, %d, %d) = %v, Chen et al.'s product gives %v", n, c, k, got, want)
				}
			}
		}
	}
}
