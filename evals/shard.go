package evals

import (
	"fmt"
	"hash/fnv"
	"math/bits"
	"strconv"
	"strings"
)

// ShardIndexEnv is the variable a Kubernetes Indexed Job sets in each pod:
// the pod's completion index, from 0. --shard auto/N takes K from it.
const ShardIndexEnv = "JOB_COMPLETION_INDEX"

// Shard is part K of N of a dataset's cases (K from 1): the cases whose id
// hashes to it. The hash is of the id alone, so a case stays in its shard
// when cases are added or removed, and every repeat of a case is in the
// same shard.
type Shard struct {
	K int `json:"k"`
	N int `json:"n"`
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Has reports whether the case with this id is in the shard.
func (s Shard) Has(id string) bool { return ShardOf(id, s.N) == s.K }

// ShardOf is the shard, 1 to n, of the case with this id: FNV-1a 64 of the
// id, its bits mixed by MurmurHash3's finalizer (FNV alone leaves ids that
// differ in their last characters, case-001, case-002, ..., in few shards),
// mapped onto 1..n as h·n / 2⁶⁴. The figures are part of the run folders'
// meaning: changing them moves cases between the shards of runs to merge.
func ShardOf(id string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	hi, _ := bits.Mul64(x, uint64(n))
	return int(hi) + 1
}

// ParseShard reads --shard K/N, or auto/N with K the completion index that
// getenv gives for ShardIndexEnv plus 1. It checks 1 ≤ K ≤ N.
func ParseShard(arg string, getenv func(string) string) (Shard, error) {
	k, n, ok := strings.Cut(arg, "/")
	if !ok {
		return Shard{}, fmt.Errorf("--shard %q: expected K/N (as in 2/4) or auto/N", arg)
	}
	var s Shard
	var err error
	if s.N, err = strconv.Atoi(strings.TrimSpace(n)); err != nil || s.N < 1 {
		return Shard{}, fmt.Errorf("--shard %q: N must be a whole number of shards, 1 or more, got %q", arg, n)
	}
	if k == "auto" {
		idx, set := getenv(ShardIndexEnv), true
		if idx == "" {
			set = false
		}
		i, err := strconv.Atoi(strings.TrimSpace(idx))
		switch {
		case !set:
			return Shard{}, fmt.Errorf("--shard %s: %s is not set; auto takes the shard from a Kubernetes Indexed Job's completion index (0 to %d): give K/N elsewhere", arg, ShardIndexEnv, s.N-1)
		case err != nil || i < 0 || i >= s.N:
			return Shard{}, fmt.Errorf("--shard %s: %s=%q is not a completion index from 0 to %d", arg, ShardIndexEnv, idx, s.N-1)
		}
		s.K = i + 1
		return s, nil
	}
	if s.K, err = strconv.Atoi(strings.TrimSpace(k)); err != nil || s.K < 1 || s.K > s.N {
		return Shard{}, fmt.Errorf("--shard %q: K must be a whole number from 1 to %d, got %q", arg, s.N, k)
	}
	return s, nil
}
