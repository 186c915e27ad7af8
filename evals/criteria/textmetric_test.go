package criteria_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria/textmetric"

	"github.com/rubric-eval/rubric/evals/criteria"
)

// benchReference is a reference answer of about 300 bytes for benchOutput.
const benchReference = `{"category": "billing", "priority": "high", "language": "en", "summary": "The customer was billed twice ` +
	`for the March invoice and wants the second charge returned to the card used.", "entities": [{"type": "invoice", ` +
	`"id": "INV-2291"}, {"type": "amount", "value": 49.99}], "confidence": 0.9}`

func TestLevenshteinCriterion(t *testing.T) {
	runScoreTests(t, []scoreTest{
		// Issue 4's published value: 0.66667.
		{name: "published", spec: `{"name":"c","type":"levenshtein","value":"abc","threshold":0.6}`, output: "axc",
			want: evals.Verdict{Score: 0.6666666666666667, Pass: true, Reason: `similarity 0.6667 to "abc": got "axc"`}},
		{name: "below threshold", spec: `{"name":"c","type":"levenshtein","value":"abc","threshold":0.7}`, output: "axc",
			want: evals.Verdict{Score: 0.6666666666666667, Reason: `similarity 0.6667 to "abc": got "axc"`}},
		{name: "equal", spec: `{"name":"c","type":"levenshtein","value":"abc","threshold":0.7}`, output: "abc", want: pass()},
		{name: "best of several references", spec: `{"name":"c","type":"levenshtein","value":["kitten","sitting"],"threshold":0.5}`, output: "sittin",
			want: evals.Verdict{Score: 0.8571428571428572, Pass: true, Reason: `similarity 0.8571 to "sitting": got "sittin"`}},
		{name: "from expected, normalised", spec: `{"name":"c","type":"levenshtein","normalize":["lowercase","trim"],"threshold":0.9}`, output: " PARIS\n",
			expected: `"Paris"`, want: pass()},
		{name: "code points", spec: `{"name":"c","type":"levenshtein","value":"Grüße","threshold":0.5}`, output: "Grusse",
			want: evals.Verdict{Score: 0.5, Pass: true, Reason: `similarity 0.5 to "Grüße": got "Grusse"`}},
		{name: "both empty", spec: `{"name":"c","type":"levenshtein","value":"","threshold":1}`, output: "", want: pass()},
		{name: "empty output", spec: `{"name":"c","type":"levenshtein","value":"abc","threshold":0.5}`, output: "",
			want: fail(`similarity 0 to "abc": got ""`)},
		{name: "no reference", spec: `{"name":"c","type":"levenshtein","threshold":0.5}`, output: "x",
			want: unscoredV("no value to compare: set value or give the case an expected answer")},
		{name: "extraction fails", spec: `{"name":"c","type":"levenshtein","extract":{"json":"a"},"value":"x","threshold":0.5}`, output: "x",
			want: fail(`extract: output is not JSON: invalid character 'x' looking for beginning of value at offset 1, near "x"`)},
	})
}

func TestExactMatchCriterion(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "normalised", spec: `{"name":"c","type":"exact-match","value":"Paris"}`, output: "the paris.", want: pass()},
		{name: "one of several", spec: `{"name":"c","type":"exact-match"}`, output: "Denver", expected: `["Denver Broncos","Denver"]`, want: pass()},
		{name: "fails", spec: `{"name":"c","type":"exact-match","value":["Paris","Paris, France"]}`, output: "It is Paris.",
			want: fail(`got "it is paris", expected one of "paris", "paris france" (SQuAD-normalised)`)},
		{name: "number expected", spec: `{"name":"c","type":"exact-match"}`, output: "1,976", expected: `1976`, want: pass()},
		{name: "threshold 0", spec: `{"name":"c","type":"exact-match","value":"a","threshold":0}`, output: "b",
			want: evals.Verdict{Pass: true, Reason: `got "b", expected "" (SQuAD-normalised)`}},
	})
}

func TestF1Criterion(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "partial", spec: `{"name":"c","type":"f1","threshold":0.5}`, output: "the cat sat on the mat", expected: `"a cat on a mat"`,
			want: evals.Verdict{Score: 6.0 / 7, Pass: true, Reason: `token F1 0.8571: got "cat sat on mat", expected "cat on mat" (SQuAD-normalised)`}},
		{name: "best reference", spec: `{"name":"c","type":"f1","value":["Denver Broncos","Broncos"],"threshold":0.9}`, output: "The Broncos!", want: pass()},
		{name: "no overlap", spec: `{"name":"c","type":"f1","value":"cat","threshold":0.5}`, output: "dog",
			want: fail(`token F1 0: got "dog", expected "cat" (SQuAD-normalised)`)},
		// SQuAD v1.1: two empty answers have F1 0.
		{name: "both empty", spec: `{"name":"c","type":"f1","value":"the","threshold":0.5}`, output: "",
			want: fail(`token F1 0: got "", expected "" (SQuAD-normalised)`)},
	})
}

func TestRougeCriterion(t *testing.T) {
	// F as rouge-score computes it, in float64 at run time.
	f := func(p, r float64) float64 { return 2 * p * r / (p + r) }
	runScoreTests(t, []scoreTest{
		// Issue 4's published value: P 1, R 2/3, F 0.8.
		{name: "rougeL by default", spec: `{"name":"c","type":"rouge","value":"testing one two","threshold":0.8}`, output: "testing two",
			want: evals.Verdict{Score: 0.8, Pass: true, Reason: `rougeL f 0.8 (precision 1, recall 0.6667, F 0.8) against "testing one two"`}},
		{name: "precision", spec: `{"name":"c","type":"rouge","measure":"precision","value":"testing one two","threshold":1}`, output: "testing two", want: pass()},
		{name: "rouge1 recall", spec: `{"name":"c","type":"rouge","variant":"rouge1","measure":"recall","value":"testing one two","threshold":0.5}`, output: "testing",
			want: evals.Verdict{Score: 1.0 / 3, Reason: `rouge1 recall 0.3333 (precision 1, recall 0.3333, F 0.5) against "testing one two"`}},
		{name: "rouge2", spec: `{"name":"c","type":"rouge","variant":"rouge2","threshold":0.5}`, output: "testing one", expected: `"testing one two"`,
			want: evals.Verdict{Score: 2.0 / 3, Pass: true, Reason: `rouge2 f 0.6667 (precision 1, recall 0.5, F 0.6667) against "testing one two"`}},
		// score_multi: the reference with the best F, its precision reported.
		{name: "best F decides the reference", spec: `{"name":"c","type":"rouge","variant":"rouge1","measure":"precision","value":["a b c d e f","a x"],"threshold":0.1}`, output: "a b",
			want: evals.Verdict{Score: 1, Pass: true}},
		{name: "no ASCII tokens", spec: `{"name":"c","type":"rouge","value":"東京","threshold":0.5}`, output: "東京",
			want: fail(`rougeL f 0 (precision 0, recall 0, F 0) against "東京"`)},
		// rouge-score's use_stemmer: meetings/meeting -> meet,
		// friends/friend -> friend; "had" (3 characters) is not stemmed.
		{name: "without stemmer", spec: `{"name":"c","type":"rouge","variant":"rouge1","value":"the friends had a meeting","threshold":0.9}`, output: "The friend had meetings",
			want: evals.Verdict{Score: f(0.5, 0.4), Reason: `rouge1 f 0.4444 (precision 0.5, recall 0.4, F 0.4444) against "the friends had a meeting"`}},
		{name: "stemmer", spec: `{"name":"c","type":"rouge","variant":"rouge1","stemmer":true,"value":"the friends had a meeting","threshold":0.9}`, output: "The friend had meetings",
			want: evals.Verdict{Score: f(1, 0.8), Reason: `rouge1 f 0.8889 (precision 1, recall 0.8, F 0.8889) against "the friends had a meeting"`}},
		{name: "stemmer off", spec: `{"name":"c","type":"rouge","stemmer":false,"value":"meetings","threshold":0.5}`, output: "meeting",
			want: fail(`rougeL f 0 (precision 0, recall 0, F 0) against "meetings"`)},
		{name: "stemmer rougeL", spec: `{"name":"c","type":"rouge","stemmer":true,"value":"meetings","threshold":0.5}`, output: "meeting",
			want: pass()},
		// rouge-score's testRougeLsum: the output's lines are the summary's
		// sentences; union LCS w1 w2 w3 w5: P 4/10, R 4/5.
		{name: "rougeLsum", spec: `{"name":"c","type":"rouge","variant":"rougeLsum","value":"w1 w2 w3 w4 w5","threshold":0.5}`, output: "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5",
			want: evals.Verdict{Score: f(0.4, 0.8), Pass: true, Reason: `rougeLsum f 0.5333 (precision 0.4, recall 0.8, F 0.5333) against "w1 w2 w3 w4 w5"`}},
		// Sentences in another order: rougeLsum matches each line on its
		// own (union LCS w1 w2 w3), rougeL only w1 w2 in one sequence.
		{name: "rougeLsum, lines reordered", spec: `{"name":"c","type":"rouge","variant":"rougeLsum","value":"w1 w2 w3","threshold":1}`, output: "w3\nw1 w2",
			want: pass()},
		{name: "rougeL, lines reordered", spec: `{"name":"c","type":"rouge","measure":"recall","value":"w1 w2 w3","threshold":0.5}`, output: "w3\nw1 w2",
			want: evals.Verdict{Score: 2.0 / 3, Pass: true, Reason: `rougeL recall 0.6667 (precision 0.6667, recall 0.6667, F 0.6667) against "w1 w2 w3"`}},
	})
}

// TestBLEUTokenize: with "char", a text without spaces is scored by its
// characters; with 13a, the same text is one token and shares none.
func TestBLEUTokenize(t *testing.T) {
	in := &evals.Input{Case: caseOf(t, `"今天的天气很好"`, ""), Output: "今天天气很好"}
	char := build(t, `{"name":"c","type":"bleu","tokenize":"char","threshold":0.3}`, criteria.Env{}).Score(context.Background(), in)
	tok13a := build(t, `{"name":"c","type":"bleu","threshold":0.3}`, criteria.Env{}).Score(context.Background(), in)
	want, err := textmetric.BLEU{Tokenizer: textmetric.TokChar, EffectiveOrder: true}.Sentence(in.Output, []string{"今天的天气很好"})
	if err != nil {
		t.Fatal(err)
	}
	if char.Unscored || math.Abs(char.Score-want.Score/100) > 1e-12 || !char.Pass || char.BLEU == nil || char.BLEU.HypLen != 6 {
		t.Errorf("char: %+v, want score %v over 6 tokens", char, want.Score/100)
	}
	if tok13a.Pass || tok13a.BLEU == nil || tok13a.BLEU.HypLen != 1 {
		t.Errorf("13a: %+v, want a fail over 1 token", tok13a)
	}
}

// TestBLEUTokenizeIntl: with "intl", punctuation of any script is a token
// of its own, so the French quotes and the ellipsis no longer stick to the
// words next to them as they do with 13a.
func TestBLEUTokenizeIntl(t *testing.T) {
	const ref = "«Bonjour», dit-il… «ça va?»"
	in := &evals.Input{Case: caseOf(t, `"`+ref+`"`, ""), Output: "«Bonjour», dit-il… «ça va?»"}
	intl := build(t, `{"name":"c","type":"bleu","tokenize":"intl","threshold":1}`, criteria.Env{}).Score(context.Background(), in)
	tok13a := build(t, `{"name":"c","type":"bleu","threshold":1}`, criteria.Env{}).Score(context.Background(), in)
	if intl.Unscored || !intl.Pass || intl.BLEU == nil || intl.BLEU.HypLen != 13 {
		t.Errorf("intl: %+v, want a pass over 13 tokens", intl)
	}
	if tok13a.BLEU == nil || tok13a.BLEU.HypLen != 7 {
		t.Errorf("13a: %+v, want 7 tokens", tok13a)
	}
}

func TestBLEUCriterion(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "sacrebleu's sentence example", spec: `{"name":"c","type":"bleu","threshold":0.05}`,
			output:   "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;",
			expected: `"producţia de zahăr brut se exprimă în zahăr alb;"`,
			want: withBLEU(evals.Verdict{Score: 0.08493098745313148, Pass: true,
				Reason: `BLEU 8.493 (n-gram precisions 35.71/15.38/4.167/2.273, brevity penalty 1, 14 tokens, closest reference 10) against "producţia de zahăr brut se exprimă în zahăr alb;"`},
				14, 10, [4]int{5, 2, 0, 0}, [4]int{14, 13, 12, 11})},
		{name: "identical is exactly 1", spec: `{"name":"c","type":"bleu","value":"a cat sat","threshold":1}`, output: "a cat sat",
			want: withBLEU(pass(), 3, 3, [4]int{3, 2, 1, 0}, [4]int{3, 2, 1, 0})},
		{name: "several references", spec: `{"name":"c","type":"bleu","value":["The dog had bit the man.","The dog bit a man."],"threshold":0.7}`, output: "The dog bit the man.",
			want: withBLEU(evals.Verdict{Score: 0.7071067811865478, Pass: true,
				Reason: `BLEU 70.71 (n-gram precisions 100/100/75/33.33, brevity penalty 1, 6 tokens, closest reference 6) against one of "The dog had bit the man.", "The dog bit a man."`},
				6, 6, [4]int{6, 5, 3, 1}, [4]int{6, 5, 4, 3})},
		{name: "no match", spec: `{"name":"c","type":"bleu","value":"okay thanks","threshold":0.1}`, output: "this is a cat",
			want: withBLEU(fail(`BLEU 0 (n-gram precisions 0/0/0/0, brevity penalty 1, 4 tokens, closest reference 2) against "okay thanks"`),
				4, 2, [4]int{}, [4]int{4, 3, 2, 1})},
		{name: "empty expected", spec: `{"name":"c","type":"bleu","threshold":0.5}`, output: "x", expected: `""`,
			want: unscoredV("bleu: no reference: every reference is empty")},
		// Corpus BLEU counts a response with nothing to extract as an empty
		// hypothesis: no n-grams, the shortest reference's length.
		{name: "nothing extracted", spec: `{"name":"c","type":"bleu","value":["the cat sat down","a cat"],"threshold":0.5,"extract":{"json":"text"}}`, output: "not json",
			want: withBLEU(fail(`extract: output is not JSON: invalid character 'o' in literal null (expecting 'u') at offset 2, near "ot json"`), 0, 2, [4]int{}, [4]int{})},
		{name: "nothing extracted, no reference", spec: `{"name":"c","type":"bleu","threshold":0.5,"extract":{"json":"text"}}`, output: "not json", expected: `["", ""]`,
			want: unscoredV("bleu: no reference: every reference is empty")},
		// The counts are a bleu criterion's: a criterion holding one does not
		// pass them on.
		{name: "in json-field", spec: `{"name":"c","type":"json-field","path":"text","criterion":{"type":"bleu","value":"a cat","threshold":1}}`, output: `{"text":"a cat"}`,
			want: pass()},
		{name: "in not", spec: `{"name":"c","type":"not","criterion":{"type":"bleu","value":"a cat","threshold":1}}`, output: "one dog",
			want: pass()},
	})
}

func TestNumericCriterion(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "last number by default", spec: `{"name":"c","type":"numeric"}`, output: "2 + 2 = 4. The answer is 42.", expected: `42`, want: pass()},
		{name: "first", spec: `{"name":"c","type":"numeric","pick":"first","value":"2"}`, output: "2 + 2 = 4", want: pass()},
		{name: "thousands and sign", spec: `{"name":"c","type":"numeric","value":-1234567.5}`, output: "balance: -1,234,567.50 USD", want: pass()},
		{name: "fails", spec: `{"name":"c","type":"numeric"}`, output: "So the answer is 41.", expected: `42`,
			want: fail(`got 41 (the last number, "41"), expected 42`)},
		{name: "absolute tolerance", spec: `{"name":"c","type":"numeric","tolerance":0.5,"value":"42"}`, output: "42.5", want: pass()},
		{name: "outside tolerance", spec: `{"name":"c","type":"numeric","tolerance":0.5,"value":"42"}`, output: "42.51",
			want: fail(`got 42.51 (the last number, "42.51"), expected 42 ± 0.5`)},
		{name: "relative tolerance", spec: `{"name":"c","type":"numeric","relative_tolerance":0.01,"value":1000}`, output: "1,010", want: pass()},
		{name: "larger allowance counts", spec: `{"name":"c","type":"numeric","tolerance":20,"relative_tolerance":0.01,"value":[100,"{{expected}}"]}`,
			output: "1,234", expected: `1000`, want: fail(`got 1234 (the last number, "1,234"), expected one of 100 ± 20, 1000 ± 20`)},
		{name: "percent as number", spec: `{"name":"c","type":"numeric","value":"12.5"}`, output: "up 12.5%", want: pass()},
		{name: "percent as fraction", spec: `{"name":"c","type":"numeric","percent":"fraction","value":0.125}`, output: "up 12.5%", want: pass()},
		{name: "percent in the value too", spec: `{"name":"c","type":"numeric","percent":"fraction","value":"12.5%"}`, output: "0.125", want: pass()},
		{name: "no number", spec: `{"name":"c","type":"numeric","value":"1"}`, output: "none", want: fail(`no number in "none"`)},
		{name: "expected not a number", spec: `{"name":"c","type":"numeric"}`, output: "1", expected: `"N/A"`,
			want: unscoredV(`expected "N/A": no number in it`)},
		{name: "expected two numbers", spec: `{"name":"c","type":"numeric"}`, output: "1", expected: `"3 to 4"`,
			want: unscoredV(`expected "3 to 4": more than one number in it (3 and 4)`)},
		{name: "with extract", spec: `{"name":"c","type":"numeric","extract":{"regex":"Answer: (.*)"},"pick":"first"}`, output: "Step 1... Answer: 7 apples (of 9)",
			expected: `"7"`, want: pass()},
		{name: "many values listed briefly", spec: `{"name":"c","type":"numeric","value":[1,2,3,4,5,6,7]}`, output: "9",
			want: fail(`got 9 (the last number, "9"), expected one of 1, 2, 3, 4, 5 and 2 more`)},
	})
}

// TestTextMetricEdgeOutputs pins the verdicts of the text metrics on empty,
// Unicode, invalid UTF-8 and 1 MB outputs.
func TestTextMetricEdgeOutputs(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	words := strings.Repeat("lorem ipsum ", 1<<20/12)
	runScoreTests(t, []scoreTest{
		{name: "levenshtein/empty", spec: `{"name":"c","type":"levenshtein","value":"ab","threshold":0.5}`, output: "", want: fail(`similarity 0 to "ab": got ""`)},
		{name: "levenshtein/unicode", spec: `{"name":"c","type":"levenshtein","value":"東京 🙂","threshold":0.5}`, output: "東京 🙃",
			want: evals.Verdict{Score: 0.75, Pass: true, Reason: `similarity 0.75 to "東京 🙂": got "東京 🙃"`}},
		{name: "levenshtein/invalid utf-8", spec: `{"name":"c","type":"levenshtein","value":"x\ufffd","threshold":1}`, output: "x\xff", want: pass()},
		{name: "levenshtein/1MB", spec: `{"name":"c","type":"levenshtein","value":"b","threshold":0.5}`, output: long,
			want: fail(`similarity 0 to "b": got "` + long[:80] + `"… (1048576 bytes)`)},
		{name: "levenshtein/1MB against a long reference", spec: `{"name":"c","type":"levenshtein","value":"` + strings.Repeat("b", 30) + `","threshold":0.5}`, output: long,
			want: unscoredV("too long to compare: 1048576 × 30 code points make 31457280 cells, over the limit of 25000000; extract a shorter part of the output")},

		{name: "exact-match/empty", spec: `{"name":"c","type":"exact-match","value":"the"}`, output: "", want: pass()},
		// Python's lower() gives a final sigma at the end of a word.
		{name: "exact-match/unicode", spec: `{"name":"c","type":"exact-match","value":"ΟΔΟΣ"}`, output: "\u03bf\u03b4\u03bf\u03c2", want: pass()},
		{name: "exact-match/unicode fails", spec: `{"name":"c","type":"exact-match","value":"ΟΔΟΣ"}`, output: "\u03bf\u03b4\u03bf\u03c3",
			want: fail(`got "οδοσ", expected "οδος" (SQuAD-normalised)`)},
		{name: "exact-match/invalid utf-8", spec: `{"name":"c","type":"exact-match","value":"x\ufffd"}`, output: "X\xff", want: pass()},
		{name: "exact-match/1MB", spec: `{"name":"c","type":"exact-match","value":"b"}`, output: long,
			want: fail(`got "` + long[:80] + `"… (1048576 bytes), expected "b" (SQuAD-normalised)`)},

		{name: "f1/empty", spec: `{"name":"c","type":"f1","value":"a b","threshold":0.5}`, output: "", want: fail(`token F1 0: got "", expected "b" (SQuAD-normalised)`)},
		{name: "f1/unicode", spec: `{"name":"c","type":"f1","value":"Grüße aus 東京","threshold":0.5}`, output: "grüße!", want: evals.Verdict{Score: 0.5, Pass: true,
			Reason: `token F1 0.5: got "grüße", expected "grüße aus 東京" (SQuAD-normalised)`}},
		{name: "f1/invalid utf-8", spec: `{"name":"c","type":"f1","value":"x \ufffd","threshold":1}`, output: "x \xff", want: pass()},
		{name: "f1/1MB", spec: `{"name":"c","type":"f1","value":"ipsum","threshold":0.5}`, output: words,
			want: evals.Verdict{Score: 1.144406996904379e-05, Reason: `token F1 1.144e-05: got "` + words[:80] + `"… (1048571 bytes), expected "ipsum" (SQuAD-normalised)`}},

		{name: "rouge/empty", spec: `{"name":"c","type":"rouge","value":"a b","threshold":0.5}`, output: "",
			want: fail(`rougeL f 0 (precision 0, recall 0, F 0) against "a b"`)},
		{name: "rouge/unicode", spec: `{"name":"c","type":"rouge","variant":"rouge1","value":"Grüße aus Köln","threshold":0.5}`, output: "Grüße, Köln!",
			want: evals.Verdict{Score: 0.888888888888889, Pass: true, Reason: `rouge1 f 0.8889 (precision 1, recall 0.8, F 0.8889) against "Grüße aus Köln"`}},
		{name: "rouge/invalid utf-8", spec: `{"name":"c","type":"rouge","value":"x y","threshold":1}`, output: "x\xffy", want: pass()},
		{name: "rouge/1MB", spec: `{"name":"c","type":"rouge","value":"ipsum lorem","threshold":0.5}`, output: words,
			want: evals.Verdict{Score: 2.2888008972099514e-05, Reason: `rougeL f 2.289e-05 (precision 1.144e-05, recall 1, F 2.289e-05) against "ipsum lorem"`}},
		{name: "rouge/1MB against a long reference", spec: `{"name":"c","type":"rouge","value":"` + strings.Repeat("lorem ", 300) + `","threshold":0.5}`, output: words,
			want: unscoredV("too long to compare: the tokens the two texts share make 26214300 cells, over the limit of 25000000; extract a shorter part of the output")},

		{name: "bleu/empty", spec: `{"name":"c","type":"bleu","value":"a b","threshold":0.5}`, output: "",
			want: withBLEU(fail(`BLEU 0 (n-gram precisions 0/0/0/0, brevity penalty 0, 0 tokens, closest reference 2) against "a b"`), 0, 2, [4]int{}, [4]int{})},
		{name: "bleu/unicode", spec: `{"name":"c","type":"bleu","value":"Grüße, 東京! 🙂","threshold":1}`, output: "Grüße, 東京! 🙂",
			want: withBLEU(pass(), 5, 5, [4]int{5, 4, 3, 2}, [4]int{5, 4, 3, 2})},
		{name: "bleu/invalid utf-8", spec: `{"name":"c","type":"bleu","value":"x\ufffd y","threshold":1}`, output: "x\ufffd y",
			want: withBLEU(pass(), 2, 2, [4]int{2, 1, 0, 0}, [4]int{2, 1, 0, 0})},
		{name: "bleu/1MB", spec: `{"name":"c","type":"bleu","value":"lorem ipsum","threshold":0.5}`, output: words,
			want: withBLEU(evals.Verdict{Score: 4.046147620320482e-06,
				Reason: `BLEU 0.0004046 (n-gram precisions 0.001144/0.0005722/0.0002861/0.0001431, brevity penalty 1, 174762 tokens, closest reference 2) against "lorem ipsum"`},
				174762, 2, [4]int{2, 1, 0, 0}, [4]int{174762, 174761, 174760, 174759})},

		{name: "numeric/empty", spec: `{"name":"c","type":"numeric","value":"1"}`, output: "", want: fail(`no number in ""`)},
		{name: "numeric/unicode", spec: `{"name":"c","type":"numeric","value":"-3"}`, output: "東京: −3 °C", want: pass()},
		{name: "numeric/invalid utf-8", spec: `{"name":"c","type":"numeric","value":"5"}`, output: "\xff5\xfe", want: pass()},
		{name: "numeric/1MB", spec: `{"name":"c","type":"numeric","value":"7"}`, output: words + "7", want: pass()},
	})
}

// TestQuadraticMetricsStayFast checks that the cap keeps a 1 MB output
// against a long reference from running for long.
func TestQuadraticMetricsStayFast(t *testing.T) {
	long := strings.Repeat("lorem ipsum ", 1<<20/12)
	ref := strings.Repeat("dolor sit amet lorem ", 5000)
	for _, spec := range []string{
		`{"name":"c","type":"levenshtein","value":` + jsonString(ref) + `,"threshold":0.5}`,
		`{"name":"c","type":"rouge","value":` + jsonString(ref) + `,"threshold":0.5}`,
	} {
		start := time.Now()
		v := build(t, spec, criteria.Env{}).Score(context.Background(), &evals.Input{Output: long})
		if !v.Unscored || !strings.HasPrefix(v.Reason, "too long to compare") {
			t.Errorf("%.60s: %+v, want unscored as too long", spec, v)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%.60s took %v", spec, d)
		}
	}
}

func TestTextMetricNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		spec  string
		field string
		msg   string
	}{
		{"levenshtein without threshold", `{"name":"c","type":"levenshtein","value":"x"}`, "threshold",
			`missing: levenshtein gives scores from 0 to 1, so say which score passes: expected a number from 0 to 1 (e.g. 0.8)`},
		{"f1 without threshold", `{"name":"c","type":"f1"}`, "threshold",
			`missing: f1 gives scores from 0 to 1, so say which score passes: expected a number from 0 to 1 (e.g. 0.8)`},
		{"rouge without threshold", `{"name":"c","type":"rouge"}`, "threshold",
			`missing: rouge gives scores from 0 to 1, so say which score passes: expected a number from 0 to 1 (e.g. 0.8)`},
		{"bleu without threshold", `{"name":"c","type":"bleu"}`, "threshold",
			`missing: bleu gives scores from 0 to 1, so say which score passes: expected a number from 0 to 1 (e.g. 0.8)`},
		{"threshold out of range", `{"name":"c","type":"rouge","threshold":80}`, "threshold", `expected a number from 0 to 1, got 80`},
		{"bleu unknown tokenizer", `{"name":"c","type":"bleu","tokenize":"v14","threshold":0.5}`, "tokenize",
			`unknown tokenizer "v14": expected "13a", "none", "char" or "intl"`},
		{"rouge unknown variant", `{"name":"c","type":"rouge","variant":"rougeW","threshold":0.5}`, "variant",
			`unknown variant "rougeW": expected "rouge1", "rouge2", "rougeL" or "rougeLsum"`},
		{"rouge unknown measure", `{"name":"c","type":"rouge","measure":"fmeasure","threshold":0.5}`, "measure",
			`unknown measure "fmeasure": expected "f", "precision" or "recall"`},
		{"variant on levenshtein", `{"name":"c","type":"levenshtein","variant":"rouge1","threshold":0.5}`, "variant",
			`field "variant" does not apply to criterion type "levenshtein": its fields are name, type, weight, threshold, description, turn, extract, normalize, value`},
		{"rouge stemmer a string", `{"name":"c","type":"rouge","stemmer":"porter","threshold":0.5}`, "stemmer", `expected true or false, got a string`},
		{"stemmer on f1", `{"name":"c","type":"f1","stemmer":true,"threshold":0.5}`, "stemmer",
			`field "stemmer" does not apply to criterion type "f1": its fields are name, type, weight, threshold, description, turn, extract, normalize, value`},
		{"bleu empty reference", `{"name":"c","type":"bleu","value":"","threshold":0.5}`, "value",
			`empty reference: BLEU skips empty references; expected a non-empty text`},
		{"bleu empty reference in a list", `{"name":"c","type":"bleu","value":["a",""],"threshold":0.5}`, "value.1",
			`empty reference: BLEU skips empty references; expected a non-empty text`},
		{"text metric value a number", `{"name":"c","type":"exact-match","value":3}`, "value", `expected a string or an array of strings, got a number`},

		{"numeric negative tolerance", `{"name":"c","type":"numeric","tolerance":-1}`, "tolerance", `expected a number >= 0, got -1`},
		{"numeric negative relative tolerance", `{"name":"c","type":"numeric","relative_tolerance":-0.5}`, "relative_tolerance", `expected a number >= 0, got -0.5`},
		{"numeric tolerance a string", `{"name":"c","type":"numeric","tolerance":"1%"}`, "tolerance", `expected a number, got a string`},
		{"numeric unknown pick", `{"name":"c","type":"numeric","pick":"only"}`, "pick", `unknown pick "only": expected "first" or "last"`},
		{"numeric unknown percent", `{"name":"c","type":"numeric","percent":"ratio"}`, "percent",
			`unknown percent "ratio": expected "number" (12.5% is 12.5) or "fraction" (12.5% is 0.125)`},
		{"numeric value not a number", `{"name":"c","type":"numeric","value":"about"}`, "value", `"about": no number in it: expected one number`},
		{"numeric value with two numbers", `{"name":"c","type":"numeric","value":[1,"2 or 3"]}`, "value.1",
			`"2 or 3": more than one number in it (2 and 3): expected one number`},
		{"numeric value a boolean", `{"name":"c","type":"numeric","value":true}`, "value", `expected a string or an array of strings, got a boolean`},
		{"tolerance on f1", `{"name":"c","type":"f1","tolerance":1,"threshold":0.5}`, "tolerance",
			`field "tolerance" does not apply to criterion type "f1": its fields are name, type, weight, threshold, description, turn, extract, normalize, value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkNewError(t, tt.spec, t.TempDir(), tt.field, tt.msg) })
	}
}
