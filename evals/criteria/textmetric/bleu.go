package textmetric

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokenizer is how BLEU splits a segment into tokens.
type Tokenizer uint8

const (
	// Tok13a is sacrebleu's default "13a" tokenizer, the rules of
	// mteval-v13a.pl: see Tokenize13a.
	Tok13a Tokenizer = iota
	// TokNone splits on white space only (sacrebleu's "none").
	TokNone
	// TokChar makes every character a token (sacrebleu's "char", used for
	// languages written without spaces): the characters joined with spaces
	// and split on white space, so white space separates and is dropped.
	TokChar
	// TokIntl is sacrebleu's "intl" tokenizer, the international rules of
	// mteval-v14.pl: punctuation and symbols of every script become tokens.
	// See TokenizeIntl.
	TokIntl
)

// Smoothing is how BLEU treats an n-gram order without matches, after
// Chen and Cherry (2014), as sacrebleu names them.
type Smoothing uint8

const (
	// SmoothExp ("exp", sacrebleu's default, NIST's mteval smoothing): the
	// k-th order without matches, counting from the lowest, gets precision
	// 1 / (2^k × its n-gram count).
	SmoothExp Smoothing = iota
	// SmoothNone: an order without matches makes the score 0.
	SmoothNone
	// SmoothFloor ("floor"): an order without matches gets precision
	// SmoothValue / its n-gram count (sacrebleu's default value is 0.1).
	SmoothFloor
	// SmoothAddK ("add-k"): SmoothValue is added to the matches and to the
	// n-gram count of every order above 1 (sacrebleu's default value is 1).
	SmoothAddK
)

// BLEU computes BLEU scores as sacrebleu 2.x does, with a maximum n-gram
// order of 4 and case kept (sacrebleu's lowercase=False). Its zero value is
// sacrebleu's corpus_bleu: 13a tokenisation, exp smoothing, no effective
// order. SentenceBLEU and CorpusBLEU use the settings of sacrebleu's
// sentence_bleu and corpus_bleu.
type BLEU struct {
	Tokenizer   Tokenizer
	Smoothing   Smoothing
	SmoothValue float64 // for SmoothFloor and SmoothAddK
	// EffectiveOrder averages the precisions only over the orders the
	// hypothesis has n-grams of, so that a hypothesis shorter than 4 tokens
	// can score above 0 (sacrebleu's use_effective_order; sentence_bleu
	// sets it).
	EffectiveOrder bool
}

// BLEUStats are the sufficient statistics of BLEU for one segment, or the sum
// over a corpus.
type BLEUStats struct {
	HypLen  int           // tokens in the hypothesis
	RefLen  int           // tokens in the closest reference
	Matches [MaxOrder]int // n-grams of the hypothesis found in a reference, clipped, by order
	Totals  [MaxOrder]int // n-grams of the hypothesis, by order
}

// Add returns the sum of s and o, as corpus BLEU sums its segments.
func (s BLEUStats) Add(o BLEUStats) BLEUStats {
	s.HypLen += o.HypLen
	s.RefLen += o.RefLen
	for n := range MaxOrder {
		s.Matches[n] += o.Matches[n]
		s.Totals[n] += o.Totals[n]
	}
	return s
}

// BLEUScore is a BLEU score and how it was reached.
type BLEUScore struct {
	Score      float64           // from 0 to 100
	Precisions [MaxOrder]float64 // by order, from 0 to 100, smoothed
	BP         float64           // the brevity penalty
	Stats      BLEUStats
}

// ErrNoReference is returned for a segment whose references are all empty:
// sacrebleu skips empty references, and refuses a segment with none left.
var ErrNoReference = errors.New("no reference: every reference is empty")

// SentenceBLEU returns the BLEU of hyp against refs as sacrebleu's
// sentence_bleu(hyp, refs) computes it: 13a tokenisation, exp smoothing,
// effective order.
func SentenceBLEU(hyp string, refs []string) (BLEUScore, error) {
	return BLEU{EffectiveOrder: true}.Sentence(hyp, refs)
}

// CorpusBLEU returns the BLEU of the hypotheses against the reference streams
// as sacrebleu's corpus_bleu(hyps, refStreams) computes it: each stream holds
// one reference for every hypothesis, in order; 13a tokenisation, exp
// smoothing, no effective order.
func CorpusBLEU(hyps []string, refStreams [][]string) (BLEUScore, error) {
	return BLEU{}.Corpus(hyps, refStreams)
}

// Sentence returns the BLEU of one hypothesis against its references.
func (b BLEU) Sentence(hyp string, refs []string) (BLEUScore, error) {
	st, err := b.Stats(hyp, refs)
	if err != nil {
		return BLEUScore{}, err
	}
	return b.Score(st), nil
}

// Corpus returns the BLEU of the hypotheses against the reference streams:
// the statistics of every segment are summed, then scored once. An empty
// reference in a stream is skipped for that segment.
func (b BLEU) Corpus(hyps []string, refStreams [][]string) (BLEUScore, error) {
	if len(refStreams) == 0 {
		return BLEUScore{}, errors.New("no reference stream")
	}
	for k, s := range refStreams {
		if len(s) != len(hyps) {
			return BLEUScore{}, fmt.Errorf("reference stream %d has %d segments, expected %d (one per hypothesis)", k, len(s), len(hyps))
		}
	}
	var sum BLEUStats
	refs := make([]string, len(refStreams))
	for i, h := range hyps {
		for k, s := range refStreams {
			refs[k] = s[i]
		}
		st, err := b.Stats(h, refs)
		if err != nil {
			return BLEUScore{}, fmt.Errorf("segment %d: %w", i, err)
		}
		sum = sum.Add(st)
	}
	return b.Score(sum), nil
}

// Stats returns the statistics of one hypothesis against its references.
// Every text is first stripped of trailing white space and tokenised; the
// n-grams of the hypothesis match those of all references, each n-gram
// clipped to the highest count it has in any one reference; RefLen is the
// length of the reference closest to the hypothesis's (the shorter of two
// equally close). Empty references are skipped; with none left, the error is
// ErrNoReference.
func (b BLEU) Stats(hyp string, refs []string) (BLEUStats, error) {
	var st BLEUStats
	refTokens := make([][]string, 0, len(refs))
	size := 0
	for _, r := range refs {
		if r != "" {
			toks := b.tokenize(r)
			refTokens = append(refTokens, toks)
			size += len(toks)
		}
	}
	voc := make(vocab, size)
	c := newClipper(MaxOrder * size)
	scratch := make(map[ngram]int, MaxOrder*size/max(len(refTokens), 1))
	st.RefLen = -1
	hypTokens := b.tokenize(hyp)
	st.HypLen = len(hypTokens)
	for _, toks := range refTokens {
		ids := voc.add(toks)
		for n := 1; n <= MaxOrder; n++ {
			c.raise(ids, n, scratch)
		}
		d, best := abs(len(ids)-st.HypLen), abs(st.RefLen-st.HypLen)
		if st.RefLen < 0 || d < best || (d == best && len(ids) < st.RefLen) {
			st.RefLen = len(ids)
		}
	}
	if st.RefLen < 0 {
		return BLEUStats{}, ErrNoReference
	}
	h := voc.lookup(hypTokens)
	for n := 1; n <= MaxOrder; n++ {
		st.Totals[n-1] = max(st.HypLen-n+1, 0)
		st.Matches[n-1] = c.match(h, n)
	}
	return st, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (b BLEU) tokenize(s string) []string {
	s = pyRStrip(s)
	switch b.Tokenizer {
	case TokNone:
		return pyFields(s)
	case TokChar:
		return tokenizeChar(s)
	case TokIntl:
		return TokenizeIntl(s)
	}
	return Tokenize13a(s)
}

// Score returns the BLEU score of the statistics, as sacrebleu's compute_bleu:
//
//   - the brevity penalty is 1 when HypLen >= RefLen, else
//     exp(1 - RefLen/HypLen), and 0 for an empty hypothesis;
//   - with no match at any order, the score is 0;
//   - the precision of order n is 100 × Matches/Totals, smoothed as
//     b.Smoothing says when Matches is 0; the orders stop at the first whose
//     Totals is 0;
//   - the score is BP × exp(mean of the log precisions), the mean taken over
//     all 4 orders (a precision of 0 counting as a log of -9999999999), or,
//     with EffectiveOrder, over the orders before the stop.
func (b BLEU) Score(st BLEUStats) BLEUScore {
	out := BLEUScore{Stats: st, BP: 1}
	if st.HypLen < st.RefLen {
		out.BP = 0
		if st.HypLen > 0 {
			out.BP = math.Exp(1 - float64(st.RefLen)/float64(st.HypLen))
		}
	}
	anyMatch := false
	for _, m := range st.Matches {
		anyMatch = anyMatch || m > 0
	}
	if !anyMatch {
		return out
	}
	smooth := 1.0
	order := MaxOrder
	for n := range MaxOrder {
		correct, total := float64(st.Matches[n]), float64(st.Totals[n])
		if b.Smoothing == SmoothAddK && n > 0 {
			correct += b.SmoothValue
			total += b.SmoothValue
		}
		if total == 0 {
			break
		}
		if b.EffectiveOrder {
			order = n + 1
		}
		switch {
		case correct != 0:
			out.Precisions[n] = 100 * correct / total
		case b.Smoothing == SmoothExp:
			smooth *= 2
			out.Precisions[n] = 100 / (smooth * total)
		case b.Smoothing == SmoothFloor:
			out.Precisions[n] = 100 * b.SmoothValue / total
		}
	}
	sum := 0.0
	for _, p := range out.Precisions[:order] {
		if p == 0 {
			sum += -9999999999
		} else {
			sum += math.Log(p)
		}
	}
	out.Score = out.BP * math.Exp(sum/float64(order))
	return out
}

// Tokenize13a splits s into tokens by the rules of mteval-v13a.pl as
// sacrebleu's "13a" tokenizer applies them, in this order:
//
//  1. remove every "<skipped>", then every "-\n"; replace "\n" by a space;
//     replace "&quot;", "&amp;", "&lt;" and "&gt;" by the characters they
//     name, each replacement done through the whole text before the next;
//  2. put spaces around each of the characters ! " # $ % & ( ) * + / : ; < =
//     > ? @ [ \ ] ^ _ ` { | } ~ (and around each space);
//  3. put a space between a period or comma and the character before it,
//     unless that is a digit, and after the pair;
//  4. put a space before a period or comma and between it and the character
//     after it, unless that is a digit;
//  5. put a space between a digit and a dash after it, and after the dash;
//  6. split on white space (Python's str.split).
//
// Steps 3 to 5 scan the text from the left and resume after each pair they
// rewrite, as Python's re.sub does, so in ".." the second period is not
// looked at again. Everything outside ASCII, invalid UTF-8 included, is
// taken as it is and only matters as "not a digit" (and, in step 6, when it
// is white space).
func Tokenize13a(s string) []string {
	s = strings.ReplaceAll(s, "<skipped>", "")
	s = strings.ReplaceAll(s, "-\n", "")
	s = strings.ReplaceAll(s, "\n", " ")
	if strings.IndexByte(s, '&') >= 0 {
		s = strings.ReplaceAll(s, "&quot;", `"`)
		s = strings.ReplaceAll(s, "&amp;", "&")
		s = strings.ReplaceAll(s, "&lt;", "<")
		s = strings.ReplaceAll(s, "&gt;", ">")
	}
	a := make([]byte, 0, 2*len(s)+2)
	a = append(a, ' ')
	for i := 0; i < len(s); i++ {
		if c := s[i]; spaced13a[c] {
			a = append(a, ' ', c, ' ')
		} else {
			a = append(a, c)
		}
	}
	a = append(a, ' ')
	b := make([]byte, 0, len(a)+len(a)/2)
	// Step 3: ([^0-9])([.,]) -> "\1 \2 ".
	for i := 0; i < len(a); i++ {
		if i+1 < len(a) && !isDigit(a[i]) && isPeriodComma(a[i+1]) {
			b = append(b, a[i], ' ', a[i+1], ' ')
			i++
			continue
		}
		b = append(b, a[i])
	}
	a = a[:0]
	// Step 4: ([.,])([^0-9]) -> " \1 \2".
	for i := 0; i < len(b); i++ {
		if i+1 < len(b) && isPeriodComma(b[i]) && !isDigit(b[i+1]) {
			a = append(a, ' ', b[i], ' ', b[i+1])
			i++
			continue
		}
		a = append(a, b[i])
	}
	b = b[:0]
	// Step 5: ([0-9])(-) -> "\1 \2 ".
	for i := 0; i < len(a); i++ {
		if i+1 < len(a) && isDigit(a[i]) && a[i+1] == '-' {
			b = append(b, a[i], ' ', '-', ' ')
			i++
			continue
		}
		b = append(b, a[i])
	}
	return pyFields(string(b))
}

// spaced13a is the set of the characters step 2 of Tokenize13a surrounds with
// spaces: the ASCII ranges {-~, [-`, space-&, (-+, :-@ and /.
var spaced13a = func() (set [256]bool) {
	for _, rg := range [][2]byte{{'{', '~'}, {'[', '`'}, {' ', '&'}, {'(', '+'}, {':', '@'}, {'/', '/'}} {
		for c := rg[0]; c <= rg[1]; c++ {
			set[c] = true
		}
	}
	return set
}()

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isPeriodComma(c byte) bool { return c == '.' || c == ',' }

// tokenizeChar splits s into its characters, dropping white space (TokChar).
// A byte that is not valid UTF-8 is a token of its own.
func tokenizeChar(s string) []string {
	out := make([]string, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !pyIsSpace(r) {
			out = append(out, s[i:i+size])
		}
		i += size
	}
	return out
}

// TokenizeIntl splits s into tokens as sacrebleu's "intl" tokenizer
// (TokenizerV14International, the rules of mteval-v14.pl's international
// tokenisation) does, with Unicode general categories: P punctuation, S
// symbols, N numbers. Its three rules run one after the other, each scanning
// the whole text from the left and resuming after each pair it rewrites, as
// Python's re.sub does:
//
//  1. (\P{N})(\p{P}) -> "\1 \2 ": a space between a punctuation mark and the
//     character before it, unless that is a number, and after the mark;
//  2. (\p{P})(\P{N}) -> " \1 \2": a space before a punctuation mark and
//     between it and the character after it, unless that is a number;
//  3. (\p{S}) -> " \1 ": spaces around every symbol;
//
// then the text is split on white space (Python's str.split). So a
// punctuation mark between two numbers stays inside the number (1,000.50),
// and so does one that ends the text after a number ("in 2019." gives "in",
// "2019."), as in mteval-v14.pl. Unlike 13a, nothing is unescaped and line
// breaks are white space. The categories are those of Go's unicode package;
// a byte that is not valid UTF-8 counts as U+FFFD, a symbol, and is kept as
// it is.
func TokenizeIntl(s string) []string {
	// Rule 1.
	a := make([]byte, 0, len(s)+len(s)/2+8)
	for i := 0; i < len(s); {
		r1, n1 := decodeRune(s, i)
		if j := i + n1; j < len(s) && intlClass(r1)&intlN == 0 {
			if r2, n2 := decodeRune(s, j); intlClass(r2)&intlP != 0 {
				a = append(a, s[i:j]...)
				a = append(a, ' ')
				a = append(a, s[j:j+n2]...)
				a = append(a, ' ')
				i = j + n2
				continue
			}
		}
		a = append(a, s[i:i+n1]...)
		i += n1
	}
	// Rules 2 and 3 in one scan: rule 3 only puts spaces around each symbol,
	// whatever is next to it, and the spaces of rule 2 make no symbol.
	t := string(a)
	b := make([]byte, 0, len(a)+len(a)/2+8)
	emit := func(r rune, raw string) {
		if intlClass(r)&intlS != 0 {
			b = append(b, ' ')
			b = append(b, raw...)
			b = append(b, ' ')
			return
		}
		b = append(b, raw...)
	}
	for i := 0; i < len(t); {
		r1, n1 := decodeRune(t, i)
		if j := i + n1; j < len(t) && intlClass(r1)&intlP != 0 {
			if r2, n2 := decodeRune(t, j); intlClass(r2)&intlN == 0 {
				b = append(b, ' ')
				b = append(b, t[i:j]...) // punctuation, not a symbol
				b = append(b, ' ')
				emit(r2, t[j:j+n2])
				i = j + n2
				continue
			}
		}
		emit(r1, t[i:i+n1])
		i += n1
	}
	return pyFields(string(b))
}

// The classes of a rune for TokenizeIntl: Unicode general categories.
const (
	intlP = 1 << iota // punctuation, \p{P}
	intlS             // symbol, \p{S}
	intlN             // number, \p{N}
)

// asciiIntl holds the classes of the ASCII characters.
var asciiIntl = func() (t [utf8.RuneSelf]uint8) {
	for r := range rune(utf8.RuneSelf) {
		t[r] = unicodeIntlClass(r)
	}
	return t
}()

func intlClass(r rune) uint8 {
	if r >= 0 && r < utf8.RuneSelf {
		return asciiIntl[r]
	}
	return unicodeIntlClass(r)
}

func unicodeIntlClass(r rune) uint8 {
	switch {
	case unicode.IsPunct(r):
		return intlP
	case unicode.IsSymbol(r):
		return intlS
	case unicode.IsNumber(r):
		return intlN
	}
	return 0
}

// decodeRune returns the rune at s[i] and its length in bytes: U+FFFD and 1
// for a byte that is not valid UTF-8.
func decodeRune(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}
