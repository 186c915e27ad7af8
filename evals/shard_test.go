package evals

import (
	"fmt"
	"strings"
	"testing"
)

func TestShardOf(t *testing.T) {
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("case-%05d", i)
		}
		return out
	}
	for _, n := range []int{1, 2, 3, 4, 7, 16} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			// Stable as the dataset grows: the shard of an id depends on
			// the id alone, so adding cases moves none of the first ones.
			small, big := ids(100), ids(10_000)
			for i, id := range small {
				if a, b := ShardOf(id, n), ShardOf(big[i], n); a != b {
					t.Fatalf("%s moved from shard %d to %d when cases were added", id, a, b)
				}
			}
			// Repeats together: the same id always gives the same shard.
			for _, id := range small {
				if ShardOf(id, n) != ShardOf(strings.Clone(id), n) {
					t.Fatalf("%s: two shards", id)
				}
			}
			// Roughly even, and each case in exactly one shard.
			count := make([]int, n+1)
			for _, id := range big {
				k := ShardOf(id, n)
				if k < 1 || k > n {
					t.Fatalf("%s: shard %d out of 1..%d", id, k, n)
				}
				in := 0
				for j := 1; j <= n; j++ {
					if (Shard{K: j, N: n}).Has(id) {
						in++
					}
				}
				if in != 1 {
					t.Fatalf("%s is in %d shards", id, in)
				}
				count[k]++
			}
			want := float64(len(big)) / float64(n)
			for k := 1; k <= n; k++ {
				if d := float64(count[k]) - want; d > 0.1*want || d < -0.1*want {
					t.Errorf("shard %d has %d of %d ids, want about %.0f: %v", k, count[k], len(big), want, count[1:])
				}
			}
		})
	}
}

// TestShardOfPinned pins the hash: run folders written by one version are
// merged with another's, so a case may never change shard.
func TestShardOfPinned(t *testing.T) {
	for _, tc := range []struct {
		id   string
		n, k int
	}{{"t-001", 3, 3}, {"t-001", 10, 8}, {"case-1", 3, 1}, {"case-1", 10, 2}, {"a", 3, 2}, {"a", 10, 6}, {"a", 1, 1}} {
		if got := ShardOf(tc.id, tc.n); got != tc.k {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", tc.id, tc.n, got, tc.k)
		}
	}
}

func TestParseShard(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == ShardIndexEnv {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		arg, env string
		want     Shard
		err      string
	}{
		{arg: "1/3", want: Shard{1, 3}},
		{arg: "3/3", want: Shard{3, 3}},
		{arg: "1/1", want: Shard{1, 1}},
		{arg: "auto/4", env: "0", want: Shard{1, 4}},
		{arg: "auto/4", env: "3", want: Shard{4, 4}},
		{arg: "auto/4", err: "JOB_COMPLETION_INDEX is not set"},
		{arg: "auto/4", env: "4", err: `JOB_COMPLETION_INDEX="4" is not a completion index from 0 to 3`},
		{arg: "auto/4", env: "-1", err: "not a completion index"},
		{arg: "auto/4", env: "x", err: "not a completion index"},
		{arg: "0/3", err: "K must be a whole number from 1 to 3"},
		{arg: "4/3", err: "K must be a whole number from 1 to 3"},
		{arg: "a/3", err: "K must be"},
		{arg: "1/0", err: "N must be a whole number of shards, 1 or more"},
		{arg: "1/x", err: "N must be"},
		{arg: "3", err: "expected K/N"},
	} {
		t.Run(tc.arg+"_"+tc.env, func(t *testing.T) {
			got, err := ParseShard(tc.arg, env(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseShard(%q) = %v, %v; want an error with %q", tc.arg, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseShard(%q) = %v, %v; want %v", tc.arg, got, err, tc.want)
			}
		})
	}
}
