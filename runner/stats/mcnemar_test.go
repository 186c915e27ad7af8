package stats

import "testing"

func TestMcNemar(t *testing.T) {
	tests := []struct {
		name string
		b, c int
		want float64
		ok   bool
	}{
		// Exact: 2·Σ_{i<=m} C(b+c, i) / 2^(b+c) in rationals (reference.py).
		{"0 vs 5", 0, 5, 0.0625, true},  // 2/32
		{"1 vs 5", 1, 5, 0.21875, true}, // 2·7/64
		{"3 vs 12", 3, 12, 0.03515625, true},
		{"10 vs 25", 10, 25, 0.016673847800120711, true},
		{"59 vs 79", 59, 79, 0.10545402577641182, true},
		{"400 vs 600", 400, 600, 2.7284641560660184e-10, true},
		{"5000 vs 5100", 5000, 5100, 0.32458154633139391, true},
		{"5100 vs 5000", 5100, 5000, 0.32458154633139391, true},
		{"50000 vs 51000", 50000, 51000, 0.0016696304559915586, true},
		{"0 vs 1000", 0, 1000, 1.8665272370064378e-301, true}, // 2·2^-1000
		// 2·2^-2000 = 1.74e-602 is below the smallest float64.
		{"0 vs 2000: underflow", 0, 2000, 0, true},
		{"no discordant pairs", 0, 0, 1, true},
		{"equal", 7, 7, 1, true},
		{"one each", 1, 1, 1, true},
		{"negative b", -1, 3, 0, false},
		{"negative c", 3, -1, 0, false},
		{"too many", maxDiscordant, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := McNemar(tt.b, tt.c)
			if checkErr(t, err, false, !tt.ok) {
				checkNear(t, "p", p, tt.want, 1e-11)
			}
		})
	}
}

// TestMcNemarLarge checks huge counts against the normal approximation with
// continuity correction, which is accurate to a few parts in a thousand at
// this size: z = (|b-c| - 1)/√(b+c) = 99/√1000100 ≈ 0.0990, p ≈ 0.9211.
func TestMcNemarLarge(t *testing.T) {
	p, err := McNemar(500_000, 500_100)
	if err != nil {
		t.Fatal(err)
	}
	checkNear(t, "p", p, 0.92114, 2e-3)
	p, err = McNemar(maxDiscordant/2-1, maxDiscordant/2)
	if err != nil || !(p > 0.99 && p <= 1) {
		t.Errorf("McNemar at the limit = %v, %v", p, err)
	}
}
