package textmetric

// MaxOrder is the longest n-gram BLEU counts, and the longest ROUGE-N.
const MaxOrder = 4

// ngram is an n-gram of token ids, n from 1 to MaxOrder; the places past n
// hold -1.
type ngram [MaxOrder]int32

// vocab numbers the distinct tokens of the reference side, from 0.
type vocab map[string]int32

// add returns the id of every token, adding the new ones to v.
func (v vocab) add(tokens []string) []int32 {
	ids := make([]int32, len(tokens))
	for i, t := range tokens {
		id, ok := v[t]
		if !ok {
			id = int32(len(v))
			v[t] = id
		}
		ids[i] = id
	}
	return ids
}

// lookup returns the id of every token, -1 for those v does not hold.
func (v vocab) lookup(tokens []string) []int32 {
	ids := make([]int32, len(tokens))
	for i, t := range tokens {
		id, ok := v[t]
		if !ok {
			id = -1
		}
		ids[i] = id
	}
	return ids
}

// gramAt returns the n-gram of ids starting at i; ok is false when it holds a
// token of id -1, which no reference n-gram holds.
func gramAt(ids []int32, i, n int) (g ngram, ok bool) {
	g = ngram{-1, -1, -1, -1}
	for k := range n {
		if ids[i+k] < 0 {
			return g, false
		}
		g[k] = ids[i+k]
	}
	return g, true
}

// clipper counts clipped n-gram matches: each reference n-gram matches at most
// as many times as its allowance.
type clipper struct {
	index map[ngram]int32 // n-gram -> place in allow and used
	allow []int
	used  []int
}

// newClipper returns a clipper with room for about size n-grams.
func newClipper(size int) *clipper {
	return &clipper{index: make(map[ngram]int32, size), allow: make([]int, 0, size)}
}

// raise counts the n-grams of order n of ids, in scratch, and raises each
// one's allowance to its count: over several references, the allowance is the
// highest count in any one of them.
func (c *clipper) raise(ids []int32, n int, scratch map[ngram]int) {
	clear(scratch)
	for i := 0; i+n <= len(ids); i++ {
		g, _ := gramAt(ids, i, n)
		scratch[g]++
	}
	for g, k := range scratch {
		j, ok := c.index[g]
		if !ok {
			j = int32(len(c.allow))
			c.index[g] = j
			c.allow = append(c.allow, 0)
		}
		c.allow[j] = max(c.allow[j], k)
	}
}

// match returns how many n-grams of order n of ids match, clipped by the
// allowances. Call it once per order for one hypothesis.
func (c *clipper) match(ids []int32, n int) int {
	if c.used == nil {
		c.used = make([]int, len(c.allow))
	}
	m := 0
	for i := 0; i+n <= len(ids); i++ {
		g, ok := gramAt(ids, i, n)
		if !ok {
			continue
		}
		if j, ok := c.index[g]; ok && c.used[j] < c.allow[j] {
			c.used[j]++
			m++
		}
	}
	return m
}
