package textmetric_test

import (
	"reflect"
	"testing"

	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

// The first two lines of rouge/testdata/target.txt and prediction.txt of
// google-research/google-research, used by rouge/rouge_scorer_test.py.
const (
	rougeTarget0 = "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L"
	rougeTarget1 = "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN"
	rougePred0   = "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi"
	rougePred1   = "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD"
)

// TestRougePublished reproduces the tests without stemming of
// rouge/rouge_scorer_test.py (google-research/google-research, the source of
// the rouge-score package): the small examples, to 7 places, and the scores
// against ROUGE-1.5.5, to 5 places. The test calls score(target, prediction).
func TestRougePublished(t *testing.T) {
	tests := []struct {
		name               string
		v                  textmetric.Variant
		target, prediction string
		p, r, f            float64
		places             float64
	}{
		{"testRouge1", textmetric.Rouge1, "testing one two", "testing", 1, 1.0 / 3, 1.0 / 2, 1e-7},
		{"testRougeEmpty rouge1", textmetric.Rouge1, "testing one two", "", 0, 0, 0, 1e-7},
		{"testRougeEmpty rouge2", textmetric.Rouge2, "testing one two", "", 0, 0, 0, 1e-7},
		{"testRougeEmpty rougeL", textmetric.RougeL, "testing one two", "", 0, 0, 0, 1e-7},
		{"testRouge2", textmetric.Rouge2, "testing one two", "testing one", 1, 1.0 / 2, 2.0 / 3, 1e-7},
		{"testRougeLConsecutive", textmetric.RougeL, "testing one two", "testing one", 1, 2.0 / 3, 4.0 / 5, 1e-7},
		// Issue 4's published value: P 1, R 2/3, F 0.8.
		{"testRougeLNonConsecutive", textmetric.RougeL, "testing one two", "testing two", 1, 2.0 / 3, 4.0 / 5, 1e-7},
		{"testMultipleRougeTypes rouge1", textmetric.Rouge1, "testing one two", "testing one", 1, 2.0 / 3, 4.0 / 5, 1e-7},
		{"testRouge1AgainstRouge155 0", textmetric.Rouge1, rougeTarget0, rougePred0, 0.68750, 0.40741, 0.51163, 5e-6},
		{"testRouge1AgainstRouge155 1", textmetric.Rouge1, rougeTarget1, rougePred1, 0.65385, 0.40476, 0.50000, 5e-6},
		{"testRouge2AgainstRouge155 0", textmetric.Rouge2, rougeTarget0, rougePred0, 0.53333, 0.30769, 0.39024, 5e-6},
		{"testRouge2AgainstRouge155 1", textmetric.Rouge2, rougeTarget1, rougePred1, 0.48000, 0.29268, 0.36364, 5e-6},
		{"testRougeLAgainstRouge155 0", textmetric.RougeL, rougeTarget0, rougePred0, 0.68750, 0.40741, 0.51163, 5e-6},
		{"testRougeLAgainstRouge155 1", textmetric.RougeL, rougeTarget1, rougePred1, 0.65385, 0.40476, 0.50000, 5e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := textmetric.Rouge(tt.v, tt.target, tt.prediction)
			if !near(got.Precision, tt.p, tt.places) || !near(got.Recall, tt.r, tt.places) || !near(got.F, tt.f, tt.places) {
				t.Errorf("%s = %+v, want P %v R %v F %v", tt.v, got, tt.p, tt.r, tt.f)
			}
		})
	}
}

func TestRougeEdges(t *testing.T) {
	tests := []struct {
		name               string
		v                  textmetric.Variant
		target, prediction string
		want               textmetric.Score
	}{
		{"both empty", textmetric.RougeL, "", "", textmetric.Score{}},
		{"both empty rouge1", textmetric.Rouge1, "", "", textmetric.Score{}},
		{"no ASCII token", textmetric.Rouge1, "東京", "東京", textmetric.Score{}},
		{"case and punctuation ignored", textmetric.Rouge1, "Hello, World!", "hello world", textmetric.Score{Precision: 1, Recall: 1, F: 1}},
		{"repeated tokens clip", textmetric.Rouge1, "the cat", "the the the", textmetric.Score{Precision: 1.0 / 3, Recall: 1.0 / 2, F: 0.4}},
		{"one token has no bigram", textmetric.Rouge2, "cat", "cat", textmetric.Score{}},
		{"lcs skips", textmetric.RougeL, "a b c d e", "a x c y e", textmetric.Score{Precision: 0.6, Recall: 0.6, F: 0.6}},
		{"lcs order", textmetric.RougeL, "a b c", "c b a", textmetric.Score{Precision: 1.0 / 3, Recall: 1.0 / 3, F: 1.0 / 3}},
	}
	for _, tt := range tests {
		got := textmetric.Rouge(tt.v, tt.target, tt.prediction)
		if !near(got.Precision, tt.want.Precision, 1e-12) || !near(got.Recall, tt.want.Recall, 1e-12) || !near(got.F, tt.want.F, 1e-12) {
			t.Errorf("%s: %s = %+v, want %+v", tt.name, tt.v, got, tt.want)
		}
	}
}

func TestRougeTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"The quick-brown FOX, 2x!", []string{"the", "quick", "brown", "fox", "2x"}},
		{"Grüße aus Köln", []string{"gr", "e", "aus", "k", "ln"}},
		{"東京 🙂", []string{}},
		// Python's lower(): the Kelvin sign becomes k, İ becomes i and a
		// combining dot, which separates.
		{"\u212aelvin aİb", []string{"kelvin", "ai", "b"}},
		{"x\xffy", []string{"x", "y"}},
	}
	for _, tt := range tests {
		if got := textmetric.RougeTokenize(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("RougeTokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRougeMulti(t *testing.T) {
	// score_multi keeps the target with the highest F, the first of equals.
	targets := []string{"a b c d", "testing one two", "testing two"}
	got, at := textmetric.RougeMulti(textmetric.RougeL, targets, "testing two")
	if at != 2 || got != (textmetric.Score{Precision: 1, Recall: 1, F: 1}) {
		t.Errorf("RougeMulti = %+v at %d, want a perfect score at 2", got, at)
	}
	got, at = textmetric.RougeMulti(textmetric.Rouge1, []string{"x", "y"}, "z")
	if at != 0 || got != (textmetric.Score{}) {
		t.Errorf("RougeMulti with no overlap = %+v at %d, want zero at 0", got, at)
	}
	if _, at := textmetric.RougeMulti(textmetric.Rouge1, nil, "z"); at != -1 {
		t.Errorf("RougeMulti without targets: at %d, want -1", at)
	}
}

func TestLCSCells(t *testing.T) {
	target := textmetric.RougeTokenize("a b c a")
	pred := textmetric.RougeTokenize("x a y c z z")
	// Tokens of the target in the prediction: a, c, a (3); of the prediction
	// in the target: a, c (2).
	if got := textmetric.LCSCells(target, pred); got != 6 {
		t.Errorf("LCSCells = %d, want 6", got)
	}
}

// TestRougeStemmedPublished reproduces the tests with stemming of
// rouge/rouge_scorer_test.py (google-research/google-research):
// testRouge1AgainstRouge155WithStemming, testRouge2AgainstRouge155WithStemming
// and testRougeLAgainstRouge155WithStemming, RougeScorer([...],
// use_stemmer=True) against ROUGE-1.5.5, to 5 places. Stemming
// changes the second pair's ROUGE-1 and ROUGE-L (R 0.40476 without it).
func TestRougeStemmedPublished(t *testing.T) {
	tests := []struct {
		name               string
		v                  textmetric.Variant
		target, prediction string
		p, r, f            float64
	}{
		{"testRouge1AgainstRouge155WithStemming 0", textmetric.Rouge1, rougeTarget0, rougePred0, 0.68750, 0.40741, 0.51163},
		{"testRouge1AgainstRouge155WithStemming 1", textmetric.Rouge1, rougeTarget1, rougePred1, 0.69231, 0.42857, 0.52941},
		{"testRouge2AgainstRouge155WithStemming 0", textmetric.Rouge2, rougeTarget0, rougePred0, 0.53333, 0.30769, 0.39024},
		{"testRouge2AgainstRouge155WithStemming 1", textmetric.Rouge2, rougeTarget1, rougePred1, 0.48000, 0.29268, 0.36364},
		{"testRougeLAgainstRouge155WithStemming 0", textmetric.RougeL, rougeTarget0, rougePred0, 0.68750, 0.40741, 0.51163},
		{"testRougeLAgainstRouge155WithStemming 1", textmetric.RougeL, rougeTarget1, rougePred1, 0.69231, 0.42857, 0.52941},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := textmetric.RougeTokens(tt.v, textmetric.RougeTokenizeStemmed(tt.target), textmetric.RougeTokenizeStemmed(tt.prediction))
			if !near(got.Precision, tt.p, 5e-6) || !near(got.Recall, tt.r, 5e-6) || !near(got.F, tt.f, 5e-6) {
				t.Errorf("%s = %+v, want P %v R %v F %v", tt.v, got, tt.p, tt.r, tt.f)
			}
		})
	}
}

func TestRougeTokenizeStemmed(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		// rouge/tokenizers_test.py, test_default_tokenizer_with_stemmer_init.
		{"the friends had a meeting", []string{"the", "friend", "had", "a", "meet"}},
		// Tokens of 3 characters or fewer are not stemmed (Stem("has") is
		// "ha"); the rest as nltk 3.8 stems them.
		{"This was HAS 1990s, agreed: Skies dying", []string{"thi", "was", "has", "1990", "agre", "sky", "die"}},
		{"a\u0130bbbbing \u212aelvins!", []string{"ai", "bbbbing", "kelvin"}},
		{"", []string{}},
	}
	for _, tt := range tests {
		if got := textmetric.RougeTokenizeStemmed(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("RougeTokenizeStemmed(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
