package textmetric_test

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

// The corpus of sacrebleu's README, used by its test/test_bleu.py.
var (
	readmeHyps = []string{
		"The dog bit the man.",
		"It wasn't surprising.",
		"The man had just bitten him.",
	}
	readmeRefs = [][]string{
		{"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
		{"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
	}
)

// TestCorpusBLEUPublished reproduces test_corpus_bleu_cases of sacrebleu's
// test/test_bleu.py (mjpost/sacrebleu), which checks to 1e-8.
func TestCorpusBLEUPublished(t *testing.T) {
	tests := []struct {
		name string
		bleu textmetric.BLEU
		hyps []string
		want float64
	}{
		{"default settings", textmetric.BLEU{}, readmeHyps, 48.530827},
		{"empty hypotheses are kept", textmetric.BLEU{}, []string{"", "", ""}, 0},
		{"tokenize none", textmetric.BLEU{Tokenizer: textmetric.TokNone}, readmeHyps, 49.1919566},
		{"tokenize 13a", textmetric.BLEU{Tokenizer: textmetric.Tok13a}, readmeHyps, 48.530827},
		{"tokenize intl", textmetric.BLEU{Tokenizer: textmetric.TokIntl}, readmeHyps, 43.91623493},
		{"smooth none", textmetric.BLEU{Smoothing: textmetric.SmoothNone}, readmeHyps, 48.530827},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.bleu.Corpus(tt.hyps, readmeRefs)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.Score, tt.want, 1e-6) {
				t.Errorf("corpus BLEU = %.8f, want %.8f", got.Score, tt.want)
			}
		})
	}
	got, err := textmetric.CorpusBLEU(readmeHyps, readmeRefs)
	if err != nil || !near(got.Score, 48.530827, 1e-6) {
		t.Errorf("CorpusBLEU = %.8f, %v; want 48.530827 (issue 4's published value)", got.Score, err)
	}
}

// rawBLEU is sacrebleu's compat.raw_corpus_bleu: no tokenisation, floor
// smoothing, effective order.
func rawBLEU(v float64) textmetric.BLEU {
	return textmetric.BLEU{Tokenizer: textmetric.TokNone, Smoothing: textmetric.SmoothFloor, SmoothValue: v, EffectiveOrder: true}
}

// TestRawBLEUPublished reproduces test_raw_bleu_cases, test_case_effective_order
// and test_case_offset of sacrebleu's test/test_bleu.py (sacrebleu 2.x, with
// the fix of its issue #141: no match at all scores 0 whatever the smoothing);
// the values there are BLEU / 100.
func TestRawBLEUPublished(t *testing.T) {
	tests := []struct {
		name       string
		bleu       textmetric.BLEU
		hyps, refs []string
		want       float64
	}{
		{"raw: two segments", rawBLEU(.01), []string{"this is a test", "another test"}, []string{"ref1", "ref2"}, 0},
		{"raw: identical", rawBLEU(.01), []string{"this is a test"}, []string{"this is a test"}, 1.0},
		{"raw: one word off", rawBLEU(.01), []string{"this is a fest"}, []string{"this is a test"}, 0.223606797749979},
		{"effective order: short hypothesis", rawBLEU(.01), []string{"test"}, []string{"a test"}, 0.3678794411714425},
		{"effective order: identical pair", rawBLEU(.01), []string{"a test"}, []string{"a test"}, 1.0},
		{"effective order: longer hypothesis", rawBLEU(.01), []string{"a little test"}, []string{"a test"}, 0.03218297948685433},
		{"offset 0.1", rawBLEU(0.1), []string{"am I am a character sequence"}, []string{"I am a symbol string sequence a a"}, 0.1555722182},
		{"offset 0", rawBLEU(0), []string{"am I am a character sequence"}, []string{"I am a symbol string sequence a a"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.bleu.Corpus(tt.hyps, [][]string{tt.refs})
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.Score/100, tt.want, 1e-8) {
				t.Errorf("BLEU/100 = %.12f, want %.12f", got.Score/100, tt.want)
			}
		})
	}
}

// TestBLEUStatsPublished reproduces test_case_statistics of sacrebleu's
// test/test_bleu.py.
func TestBLEUStatsPublished(t *testing.T) {
	got, err := rawBLEU(.01).Stats("am I am a character sequence", []string{"I am a symbol string sequence a a"})
	if err != nil {
		t.Fatal(err)
	}
	want := textmetric.BLEUStats{HypLen: 6, RefLen: 8, Matches: [4]int{4, 2, 1, 0}, Totals: [4]int{6, 5, 4, 3}}
	if got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// TestBLEUScorePublished reproduces test_case_scoring and
// test_case_degenerate_stats of sacrebleu's test/test_bleu.py: scores computed
// from given statistics.
func TestBLEUScorePublished(t *testing.T) {
	floor := func(v float64) textmetric.BLEU {
		return textmetric.BLEU{Smoothing: textmetric.SmoothFloor, SmoothValue: v}
	}
	tests := []struct {
		name string
		bleu textmetric.BLEU
		st   textmetric.BLEUStats
		want float64 // BLEU / 100
	}{
		{"scoring", textmetric.BLEU{Smoothing: textmetric.SmoothNone},
			textmetric.BLEUStats{HypLen: 11, RefLen: 11, Matches: [4]int{9, 7, 5, 3}, Totals: [4]int{10, 8, 6, 4}}, 0.8375922397},
		{"degenerate 1", floor(0), textmetric.BLEUStats{HypLen: 0, RefLen: 1, Totals: [4]int{4, 4, 2, 1}}, 0},
		{"degenerate 2", floor(0), textmetric.BLEUStats{HypLen: 14, RefLen: 10, Totals: [4]int{10, 11, 12, 0}}, 0},
		{"degenerate 3", floor(0), textmetric.BLEUStats{}, 0},
		{"degenerate 4", floor(0), textmetric.BLEUStats{HypLen: 6, RefLen: 6, Matches: [4]int{6, 5, 4, 0}, Totals: [4]int{6, 5, 4, 3}}, 0},
		{"degenerate 5", floor(0.1), textmetric.BLEUStats{}, 0},
		{"degenerate 6", floor(0.01), textmetric.BLEUStats{HypLen: 1, RefLen: 5}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.bleu.Score(tt.st).Score / 100; !near(got, tt.want, 1e-8) {
				t.Errorf("BLEU/100 = %.12f, want %.12f", got, tt.want)
			}
		})
	}
}

// TestSentenceBLEUPublished reproduces test_cases and test_cases_zero_bleu of
// sacrebleu's test/test_sentence_bleu.py (checked there to 1e-3), for the
// tokenizers and smoothing methods this package has.
func TestSentenceBLEUPublished(t *testing.T) {
	const (
		ref  = "producţia de zahăr brut se exprimă în zahăr alb;"
		hyp  = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"
		ref0 = "okay thanks"
		hyp0 = "this is a cat"
	)
	sb := func(tok textmetric.Tokenizer, s textmetric.Smoothing, v float64) textmetric.BLEU {
		return textmetric.BLEU{Tokenizer: tok, Smoothing: s, SmoothValue: v, EffectiveOrder: true}
	}
	tests := []struct {
		name     string
		bleu     textmetric.BLEU
		hyp, ref string
		want     float64
	}{
		{"exp", sb(textmetric.Tok13a, textmetric.SmoothExp, 0), hyp, ref, 8.493},
		{"none", sb(textmetric.Tok13a, textmetric.SmoothNone, 0), hyp, ref, 0},
		{"floor 0.1", sb(textmetric.Tok13a, textmetric.SmoothFloor, 0.1), hyp, ref, 4.51688},
		{"floor 0.5", sb(textmetric.Tok13a, textmetric.SmoothFloor, 0.5), hyp, ref, 10.10},
		{"add-k 1", sb(textmetric.Tok13a, textmetric.SmoothAddK, 1), hyp, ref, 14.882},
		{"add-k 2", sb(textmetric.Tok13a, textmetric.SmoothAddK, 2), hyp, ref, 21.389},
		{"tokenize none", sb(textmetric.TokNone, textmetric.SmoothExp, 0), hyp, ref, 7.347},
		{"tokenize intl", sb(textmetric.TokIntl, textmetric.SmoothExp, 0), hyp, ref, 8.493},
		{"tokenize char", sb(textmetric.TokChar, textmetric.SmoothExp, 0), hyp, ref, 40.8759},
		{"zero: exp", sb(textmetric.Tok13a, textmetric.SmoothExp, 0), hyp0, ref0, 0},
		{"zero: none", sb(textmetric.Tok13a, textmetric.SmoothNone, 0), hyp0, ref0, 0},
		{"zero: floor", sb(textmetric.Tok13a, textmetric.SmoothFloor, 0.1), hyp0, ref0, 0},
		{"zero: add-k", sb(textmetric.Tok13a, textmetric.SmoothAddK, 1), hyp0, ref0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.bleu.Sentence(tt.hyp, []string{tt.ref})
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.Score, tt.want, 1e-3) {
				t.Errorf("sentence BLEU = %.6f, want %.6f", got.Score, tt.want)
			}
		})
	}
	got, err := textmetric.SentenceBLEU(hyp, []string{ref})
	if err != nil || !near(got.Score, 8.493, 1e-3) {
		t.Errorf("SentenceBLEU = %.6f, %v; want 8.493", got.Score, err)
	}
}

func TestBLEUReferences(t *testing.T) {
	// Several references: n-grams clip to the highest count in any one, and
	// the brevity penalty takes the closest length, the shorter of a tie.
	st, err := textmetric.BLEU{}.Stats("the the the the", []string{"the cat", "the the cat sat down now"})
	if err != nil {
		t.Fatal(err)
	}
	want := textmetric.BLEUStats{HypLen: 4, RefLen: 2, Matches: [4]int{2, 1, 0, 0}, Totals: [4]int{4, 3, 2, 1}}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
	// An empty reference is skipped, as sacrebleu does.
	a, err1 := textmetric.SentenceBLEU("a cat sat", []string{"", "a cat sat"})
	b, err2 := textmetric.SentenceBLEU("a cat sat", []string{"a cat sat"})
	if err1 != nil || err2 != nil || a != b || !near(a.Score, 100, 1e-9) {
		t.Errorf("with an empty reference %+v (%v), without %+v (%v); want both 100", a, err1, b, err2)
	}
	if _, err := textmetric.SentenceBLEU("x", []string{"", ""}); !errors.Is(err, textmetric.ErrNoReference) {
		t.Errorf("only empty references: err = %v, want ErrNoReference", err)
	}
	if _, err := textmetric.SentenceBLEU("x", nil); !errors.Is(err, textmetric.ErrNoReference) {
		t.Errorf("no references: err = %v, want ErrNoReference", err)
	}
	if _, err := textmetric.CorpusBLEU([]string{"a", "b"}, [][]string{{"a"}}); err == nil {
		t.Error("a stream shorter than the hypotheses: no error")
	}
	if _, err := textmetric.CorpusBLEU([]string{"a"}, nil); err == nil {
		t.Error("no reference stream: no error")
	}
	// The statistics of a corpus are the sum of its segments'.
	var sum textmetric.BLEUStats
	for i, h := range readmeHyps {
		st, err := textmetric.BLEU{}.Stats(h, []string{readmeRefs[0][i], readmeRefs[1][i]})
		if err != nil {
			t.Fatal(err)
		}
		sum = sum.Add(st)
	}
	corpus, _ := textmetric.CorpusBLEU(readmeHyps, readmeRefs)
	if corpus.Stats != sum || (textmetric.BLEU{}).Score(sum) != corpus {
		t.Errorf("corpus %+v, sum of segments %+v", corpus.Stats, sum)
	}
}

func TestTokenize13a(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"The dog bit the man.", []string{"The", "dog", "bit", "the", "man", "."}},
		{"It wasn't surprising.", []string{"It", "wasn't", "surprising", "."}},
		{"Hello, world!", []string{"Hello", ",", "world", "!"}},
		// Periods and commas stay inside numbers; a dash after a digit is split.
		{"It costs $1,234.50 in 2019-2020.", []string{"It", "costs", "$", "1,234.50", "in", "2019", "-", "2020", "."}},
		{"1,000.5,2 v1.2.3-beta", []string{"1,000.5,2", "v1.2.3", "-", "beta"}},
		// A period or comma not between digits is split off, even before a
		// digit: the space from step 3 makes it "not after a digit".
		{"a.b 1.b a.1 .5 5.", []string{"a", ".", "b", "1", ".", "b", "a", ".", "1", ".", "5", "5", "."}},
		{"..x", []string{".", ".", "x"}},
		{"a,.b", []string{"a", ",", ".", "b"}},
		{"state-of-the-art e-mail 3-4", []string{"state-of-the-art", "e-mail", "3", "-", "4"}},
		{"(a) [b] {c} <d> a/b a|b a~b a^b a_b a`b a@b a#b a%b a&b a*b a+b a=b a?b a:b a;b a\"b",
			[]string{"(", "a", ")", "[", "b", "]", "{", "c", "}", "<", "d", ">", "a", "/", "b", "a", "|", "b", "a", "~", "b", "a", "^", "b",
				"a", "_", "b", "a", "`", "b", "a", "@", "b", "a", "#", "b", "a", "%", "b", "a", "&", "b", "a", "*", "b", "a", "+", "b",
				"a", "=", "b", "a", "?", "b", "a", ":", "b", "a", ";", "b", "a", "\"", "b"}},
		{"a&quot;b&amp;c&lt;d&gt;e", []string{"a", "\"", "b", "&", "c", "<", "d", ">", "e"}},
		// The entities are replaced one after the other: &amp;lt; becomes
		// &lt;, then <.
		{"&amp;lt;", []string{"<"}},
		{"a<skipped>b", []string{"ab"}},
		{"hyphen-\nated line\nbreak", []string{"hyphenated", "line", "break"}},
		// Split on Python's white space: NBSP, U+3000, U+001F.
		{"a\u00a0b\u3000c\x1fd\re\u2028f", []string{"a", "b", "c", "d", "e", "f"}},
		{"Grüße, 東京!", []string{"Grüße", ",", "東京", "!"}},
		{"x\xff.y", []string{"x\xff", ".", "y"}},
	}
	for _, tt := range tests {
		if got := textmetric.Tokenize13a(tt.in); !reflect.DeepEqual(got, tt.want) && (len(got) > 0 || len(tt.want) > 0) {
			t.Errorf("Tokenize13a(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestBLEUStripsTrailingSpace(t *testing.T) {
	// sacrebleu strips trailing white space before tokenising, so a final
	// "-\n" stays a dash.
	st, err := textmetric.BLEU{}.Stats("well-\n", []string{"well-"})
	if err != nil {
		t.Fatal(err)
	}
	if st.HypLen != 1 || st.Matches[0] != 1 {
		t.Errorf("Stats = %+v, want one token matching", st)
	}
}

// tokenize13aRegexp applies the rules of mteval-v13a as four regular
// expressions, written as that script and sacrebleu state them; Go's
// ReplaceAllString, like Python's re.sub, rewrites the leftmost matches
// without overlap. Tokenize13a must give the same tokens.
func tokenize13aRegexp(s string) []string {
	for _, r := range [][2]string{{"<skipped>", ""}, {"-\n", ""}, {"\n", " "}, {"&quot;", `"`}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	s = " " + s + " "
	for _, r := range rules13a {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
}

var rules13a = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile("([\\{-\\~\\[-\\` -\\&\\(-\\+\\:-\\@\\/])"), " ${1} "},
	{regexp.MustCompile(`([^0-9])([\.,])`), "${1} ${2} "},
	{regexp.MustCompile(`([\.,])([^0-9])`), " ${1} ${2}"},
	{regexp.MustCompile(`([0-9])(-)`), "${1} ${2} "},
}

func FuzzTokenize13a(f *testing.F) {
	for _, s := range []string{
		"The dog bit the man.", "a.b 1.b a.1 .5 5.", "..x", "a,.b", "1,000.5,2 v1.2.3-beta",
		"x..", ".1.", "1--2", "&amp;lt;", "a<skipped>b", "hyphen-\nated", "a\u00a0b", "Grüße, 東京!", "é.1", ".é",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\ufffd") // regexp reads invalid bytes its own way
		}
		got, want := textmetric.Tokenize13a(s), tokenize13aRegexp(s)
		if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("Tokenize13a(%q)\n got %q\nwant %q", s, got, want)
		}
	})
}

// TestTokenizeIntl checks TokenizeIntl against the tokens of sacrebleu's
// TokenizerV14International (its three regular expressions, run with
// Python's regex module) on the same texts.
func TestTokenizeIntl(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"The dog bit the man.", []string{"The", "dog", "bit", "the", "man", "."}},
		{"It wasn't surprising.", []string{"It", "wasn", "'", "t", "surprising", "."}},
		{"in 2019.", []string{"in", "2019."}},
		{"in 2019. Then", []string{"in", "2019", ".", "Then"}},
		{"in 2019. ", []string{"in", "2019", "."}}, // BLEU strips the space first
		{"1,000.50 and 3.14", []string{"1,000.50", "and", "3.14"}},
		{"$49.99 (INV-2291), 12.5% off!", []string{"$", "49.99", "(", "INV", "-", "2291", ")", ",", "12.5", "%", "off", "!"}},
		{"e-mail a/b", []string{"e", "-", "mail", "a", "/", "b"}},
		{"«Bonjour», dit-il… «ça va?»", []string{"«", "Bonjour", "»", ",", "dit", "-", "il", "…", "«", "ça", "va", "?", "»"}},
		{"¿Qué tal? ¡Bien!", []string{"¿", "Qué", "tal", "?", "¡", "Bien", "!"}},
		{"价格是100元。", []string{"价格是100元", "。"}},
		{"これは、テストです。", []string{"これは", "、", "テストです", "。"}},
		{"a..b", []string{"a", ".", ".", "b"}},
		{"...", []string{".", ".", "."}},
		{"a.,b", []string{"a", ".", ",", "b"}},
		{"x++y", []string{"x", "+", "+", "y"}},
		{"2+2=4", []string{"2", "+", "2", "=", "4"}},
		{"€5 £3 ¥4 ₹7", []string{"€", "5", "£", "3", "¥", "4", "₹", "7"}},
		{"emoji 😀! ok", []string{"emoji", "😀", "!", "ok"}},
		{"co-operate—well", []string{"co", "-", "operate", "—", "well"}},
		{"“quoted” ‘single’", []string{"“", "quoted", "”", "‘", "single", "’"}},
		{"I'm 5'11\"", []string{"I", "'", "m", "5'11\""}},
		{"٣.١٤ و ٢٬٥", []string{"٣.١٤", "و", "٢٬٥"}},
		{"3.5.", []string{"3.5."}},
		{"a\"b", []string{"a", "\"", "b"}},
		{"<tag> & &amp; &quot;", []string{"<", "tag", ">", "&", "&", "amp", ";", "&", "quot", ";"}},
		{"tab\tsep  spaces\u00a0nbsp", []string{"tab", "sep", "spaces", "nbsp"}},
		{"Ⅻ. Ⅻ.x ²,a", []string{"Ⅻ", ".", "Ⅻ", ".", "x", "²", ",", "a"}},
		{"a-\nb", []string{"a", "-", "b"}},
		{"-5", []string{"-5"}},
		{"5-", []string{"5-"}},
		{"a@b.c #hash", []string{"a", "@", "b", ".", "c", "#", "hash"}},
		{"100%.", []string{"100", "%", "."}},
		{"x.1", []string{"x", ".", "1"}},
		{"1.x", []string{"1", ".", "x"}},
		{"Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;", []string{"Producția", "de", "zahăr", "primă", "va", "fi", "exprimată", "în", "ceea", "ce", "privește", "zahărul", "alb", ";"}},
		{"producţia de zahăr brut se exprimă în zahăr alb;", []string{"producţia", "de", "zahăr", "brut", "se", "exprimă", "în", "zahăr", "alb", ";"}},
	}
	for _, tt := range tests {
		got := textmetric.TokenizeIntl(tt.in)
		if !reflect.DeepEqual(got, tt.want) && (len(got) > 0 || len(tt.want) > 0) {
			t.Errorf("TokenizeIntl(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
		if re := tokenizeIntlRegexp(tt.in); !reflect.DeepEqual(got, re) && (len(got) > 0 || len(re) > 0) {
			t.Errorf("TokenizeIntl(%q) = %q, but the regular expressions give %q", tt.in, got, re)
		}
	}
}

// intlRules are sacrebleu's intl rules as Go regular expressions, which
// like Python's re.sub replace leftmost matches without overlap, and read a
// byte that is not valid UTF-8 as U+FFFD.
var intlRules = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(\PN)(\pP)`), "$1 $2 "},
	{regexp.MustCompile(`(\pP)(\PN)`), " $1 $2"},
	{regexp.MustCompile(`(\pS)`), " $1 "},
}

// tokenizeIntlRegexp is TokenizeIntl written as sacrebleu writes it.
func tokenizeIntlRegexp(s string) []string {
	for _, r := range intlRules {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return strings.FieldsFunc(s, isPySpace)
}

func isPySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// FuzzTokenizeIntl checks TokenizeIntl against the regular expressions on
// any text, invalid UTF-8 included.
func FuzzTokenizeIntl(f *testing.F) {
	for _, s := range []string{"The dog bit the man.", "1,000.50 and 3.14", "«Bonjour», dit-il…", "价格是100元。", "a..b", "x\xff.y", "$49.99 (INV-2291)", "in 2019."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := textmetric.TokenizeIntl(s), tokenizeIntlRegexp(s)
		if !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Errorf("TokenizeIntl(%q)\n got %q\nwant %q", s, got, want)
		}
	})
}

// TestBLEUCharIsNoneOnSpacedCharacters: a BLEU with sacrebleu's "char"
// tokenizer equals a BLEU with "none" on the characters joined with spaces,
// which is how sacrebleu defines "char".
func TestBLEUCharIsNoneOnSpacedCharacters(t *testing.T) {
	spaced := func(s string) string {
		var parts []string
		for _, r := range s {
			parts = append(parts, string(r))
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct{ hyp, ref string }{
		{"今天天气很好。", "今天的天气很好。"},
		{"The cat sat.", "The cat sat on the mat."},
		{"猫が座った", "猫がマットの上に座った"},
	} {
		char, err := textmetric.BLEU{Tokenizer: textmetric.TokChar, EffectiveOrder: true}.Sentence(tc.hyp, []string{tc.ref})
		if err != nil {
			t.Fatal(err)
		}
		none, err := textmetric.BLEU{Tokenizer: textmetric.TokNone, EffectiveOrder: true}.Sentence(spaced(tc.hyp), []string{spaced(tc.ref)})
		if err != nil {
			t.Fatal(err)
		}
		if char.Score != none.Score || char.Stats != none.Stats {
			t.Errorf("%q: char %v %+v, none on spaced characters %v %+v", tc.hyp, char.Score, char.Stats, none.Score, none.Stats)
		}
		if char.Stats.HypLen != utf8.RuneCountInString(strings.ReplaceAll(tc.hyp, " ", "")) {
			t.Errorf("%q: %d tokens", tc.hyp, char.Stats.HypLen)
		}
	}
}
