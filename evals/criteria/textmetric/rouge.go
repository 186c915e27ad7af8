package textmetric

import "unicode/utf8"

// Score is a precision, a recall and their F-measure (F1), each from 0 to 1.
type Score struct {
	Precision, Recall, F float64
}

// fscore returns the Score of precision p and recall r: F is 2pr/(p+r), or 0
// when both are 0.
func fscore(p, r float64) Score {
	s := Score{Precision: p, Recall: r}
	if p+r > 0 {
		s.F = 2 * p * r / (p + r)
	}
	return s
}

// Variant is a kind of ROUGE score.
type Variant uint8

const (
	Rouge1    Variant = iota + 1 // unigram overlap
	Rouge2                       // bigram overlap
	RougeL                       // longest common subsequence of tokens
	RougeLsum                    // summary-level LCS, over lines (see RougeLsumTokens)
)

// String returns the name rouge-score gives the variant: rouge1, rouge2,
// rougeL.
func (v Variant) String() string {
	switch v {
	case Rouge1:
		return "rouge1"
	case Rouge2:
		return "rouge2"
	case RougeL:
		return "rougeL"
	case RougeLsum:
		return "rougeLsum"
	}
	return "rouge?"
}

// RougeTokenize splits s into tokens as rouge-score's default tokenizer does
// without stemming: lower case (Python's str.lower), then every maximal run
// of the characters a-z and 0-9 is a token and everything else separates
// tokens. So only ASCII letters and digits count: "Grüße" gives "gr" and "e",
// and a text in another script gives no tokens at all. (Of the characters
// outside ASCII, only the Kelvin sign K and İ lower-case into ASCII, to "k"
// and to "i" followed by a combining dot, which ends the token.)
func RougeTokenize(s string) []string {
	return rougeTokenize(s, false)
}

// RougeTokenizeStemmed splits s into tokens as RougeTokenize does, then
// replaces each token longer than 3 characters by its Stem, as rouge-score's
// tokenizer does with use_stemmer=True: "the friends had a meeting" gives
// "the", "friend", "had", "a", "meet".
func RougeTokenizeStemmed(s string) []string {
	return rougeTokenize(s, true)
}

func rougeTokenize(s string, stem bool) []string {
	buf := make([]byte, 0, len(s)+1) // each token and a space
	n := 0                           // tokens
	start := -1                      // where the current token starts in buf; -1 between tokens
	begin := func() {
		if start < 0 {
			start = len(buf)
			n++
		}
	}
	end := func() {
		if start < 0 {
			return
		}
		if stem && len(buf)-start > 3 {
			// Stems are never longer than their words, so this stays in
			// place.
			buf = buf[:start+len(porterStem(buf[start:]))]
		}
		buf = append(buf, ' ')
		start = -1
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			default:
				end()
				continue
			}
			begin()
			buf = append(buf, c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch r {
		case '\u212a': // KELVIN SIGN lower-cases to k
			begin()
			buf = append(buf, 'k')
		case 'İ': // lower-cases to i and U+0307, which is no token character
			begin()
			buf = append(buf, 'i')
			end()
		default:
			end()
		}
	}
	end()
	tokens := make([]string, 0, n)
	text := string(buf)
	from := 0
	for i := 0; i < len(text); i++ {
		if text[i] == ' ' {
			tokens = append(tokens, text[from:i])
			from = i + 1
		}
	}
	return tokens
}

// Rouge returns the ROUGE score of prediction against target, as
// rouge-score's RougeScorer(…, use_stemmer=False).score(target, prediction)
// computes it from the tokens of RougeTokenize. See RougeTokens.
func Rouge(v Variant, target, prediction string) Score {
	return RougeTokens(v, RougeTokenize(target), RougeTokenize(prediction))
}

// RougeTokens returns the ROUGE score of the prediction's tokens against the
// target's.
//
// ROUGE-N (Rouge1, Rouge2): the n-grams in common are counted as a multiset;
// precision is that count over the prediction's n-grams, recall over the
// target's, each divided by at least 1, so an empty side scores 0.
//
// ROUGE-L: precision is the length of the longest common subsequence of
// tokens over the prediction's length, recall over the target's; when either
// side has no tokens, all three are 0. It takes time proportional to
// LCSCells(target, prediction), and memory proportional to the shorter side.
//
// F is the harmonic mean of precision and recall, 0 when both are 0.
func RougeTokens(v Variant, target, prediction []string) Score {
	if v == RougeL {
		return rougeL(target, prediction)
	}
	n := 1
	if v == Rouge2 {
		n = 2
	}
	voc := make(vocab, len(target))
	t := voc.add(target)
	p := voc.lookup(prediction)
	c := newClipper(len(t))
	c.raise(t, n, make(map[ngram]int, len(t)))
	overlap := c.match(p, n)
	return fscore(
		float64(overlap)/float64(max(len(p)-n+1, 1)),
		float64(overlap)/float64(max(len(t)-n+1, 1)),
	)
}

// RougeMulti returns the score against the target that gives the highest F,
// and that target's index (the first of equals; -1 when there are no
// targets), as rouge-score's score_multi does.
func RougeMulti(v Variant, targets []string, prediction string) (Score, int) {
	p := RougeTokenize(prediction)
	var best Score
	bestAt := -1
	for i, t := range targets {
		if s := RougeTokens(v, RougeTokenize(t), p); bestAt < 0 || s.F > best.F {
			best, bestAt = s, i
		}
	}
	return best, bestAt
}

// LCSCells returns the size of the table ROUGE-L fills for these tokens: the
// number of the target's tokens that occur in the prediction times the number
// of the prediction's tokens that occur in the target (no other token can be
// part of a common subsequence).
func LCSCells(target, prediction []string) int {
	a, b := lcsSides(target, prediction)
	return len(a) * len(b)
}

func rougeL(target, prediction []string) Score {
	if len(target) == 0 || len(prediction) == 0 {
		return Score{}
	}
	a, b := lcsSides(target, prediction)
	lcs := float64(lcsLen(a, b))
	return fscore(lcs/float64(len(prediction)), lcs/float64(len(target)))
}

// lcsSides returns the token ids of target and prediction, keeping only the
// tokens that occur on both sides.
func lcsSides(target, prediction []string) (t, p []int32) {
	voc := make(vocab, len(target))
	t = voc.add(target)
	p = voc.lookup(prediction)
	inP := make([]bool, len(voc))
	k := 0
	for _, id := range p {
		if id >= 0 {
			inP[id] = true
			p[k] = id
			k++
		}
	}
	p = p[:k]
	k = 0
	for _, id := range t {
		if inP[id] {
			t[k] = id
			k++
		}
	}
	return t[:k], p
}

// lcsLen returns the length of the longest common subsequence of a and b, by
// the usual table filled one row at a time, keeping only one row.
func lcsLen(a, b []int32) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	row := make([]int32, len(b)+1)
	for _, x := range a {
		diag := int32(0) // the previous row's value at j
		for j, y := range b {
			up := row[j+1]
			if x == y {
				row[j+1] = diag + 1
			} else if row[j] > up {
				row[j+1] = row[j]
			}
			diag = up
		}
	}
	return int(row[len(b)])
}
