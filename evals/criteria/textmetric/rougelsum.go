package textmetric

import "strings"

// RougeLsumSentences splits a text into the sentences ROUGE-Lsum compares, as
// rouge-score does without split_summaries: on "\n", dropping empty lines,
// each line tokenized by tokenize (RougeTokenize or RougeTokenizeStemmed).
func RougeLsumSentences(s string, tokenize func(string) []string) [][]string {
	var out [][]string
	for line := range strings.SplitSeq(s, "\n") {
		if line != "" {
			out = append(out, tokenize(line))
		}
	}
	return out
}

// RougeLsumTokens returns the summary-level ROUGE-L of the prediction's sentences
// against the target's (Lin 2004, section 3.2), as rouge-score's rougeLsum:
// for each target sentence, the union of the tokens of its longest common
// subsequences with every prediction sentence; each such token is a hit
// while both sides still have an unmatched copy of it. Recall is hits over
// the target's tokens, precision hits over the prediction's; with no
// sentence or no token on either side, all three are 0.
//
// Each longest common subsequence is read back from its full table, as
// rouge-score does, so the choice among equally long ones is the same: it
// takes time and memory proportional to the target's tokens times the
// prediction's.
func RougeLsumTokens(target, prediction [][]string) Score {
	m, n := 0, 0
	for _, s := range target {
		m += len(s)
	}
	for _, s := range prediction {
		n += len(s)
	}
	if m == 0 || n == 0 {
		return Score{}
	}
	left := func(side [][]string) map[string]int {
		c := map[string]int{}
		for _, s := range side {
			for _, t := range s {
				c[t]++
			}
		}
		return c
	}
	leftT, leftP := left(target), left(prediction)
	hits := 0
	var table []int32
	for _, ref := range target {
		union := map[int]bool{}
		for _, can := range prediction {
			table = lcsIndexes(ref, can, table, union)
		}
		for i := range ref { // in the order of the target sentence
			if !union[i] {
				continue
			}
			t := ref[i]
			if leftP[t] > 0 && leftT[t] > 0 {
				hits++
				leftP[t]--
				leftT[t]--
			}
		}
	}
	return fscore(float64(hits)/float64(n), float64(hits)/float64(m))
}

// lcsIndexes adds to union the indexes in ref of one longest common
// subsequence of ref and can, read back from the full table the way
// rouge-score's _backtrack_norec does; table is scratch space, returned for
// reuse.
func lcsIndexes(ref, can []string, table []int32, union map[int]bool) []int32 {
	rows, cols := len(ref)+1, len(can)+1
	if cap(table) < rows*cols {
		table = make([]int32, rows*cols)
	}
	table = table[:rows*cols]
	clear(table[:cols])
	at := func(i, j int) int32 { return table[i*cols+j] }
	for i := 1; i < rows; i++ {
		table[i*cols] = 0
		for j := 1; j < cols; j++ {
			if ref[i-1] == can[j-1] {
				table[i*cols+j] = at(i-1, j-1) + 1
			} else {
				table[i*cols+j] = max(at(i-1, j), at(i, j-1))
			}
		}
	}
	for i, j := len(ref), len(can); i > 0 && j > 0; {
		switch {
		case ref[i-1] == can[j-1]:
			union[i-1] = true
			i--
			j--
		case at(i, j-1) > at(i-1, j):
			j--
		default:
			i--
		}
	}
	return table
}
