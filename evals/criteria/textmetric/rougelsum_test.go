package textmetric_test

import (
	"testing"

	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

// rouge/testdata/pyrouge_files/target_multi.0.txt and prediction_multi.0.txt
// of google-research/google-research, read whole (each ends in a newline)
// by rouge/rouge_scorer_test.py's testRougeLSumAgainstRouge155WithStemming.
const (
	lsumTarget = rougeTarget0 + "\n" + rougeTarget1 + "\n" +
		"NhETebUbBk'er WOvoHMTjSRizKgH'vHiing Xu,hWxfs VkNE QhgKiLHE -HidivzoM.dO anhtion jbLQiSGDTCsuhREebUaKM dv J dVN tmbOT\n" +
		"vMR HDm,xOAetion D,tion HJtodT.mHl UIv-p VjWH'BdyWjnfGU-OjT aEMdFICyLWfQMtion wEMfdOKing AwkeKbO 'DxqNOHBH qKtVvm OYJl mM\n"
	lsumPrediction = "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi\n" +
		"n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD\n" +
		"xfs VkJE QhgKiLHE -HidivzoM.dO anhing jbLQiSGDTCsuhREebUaKM dv J\n" +
		"VjWH'BdyWjnfGU-OjTNaEMdFICyLWfQMing wEMfdOKijg AwkeKbO 'DxqNO\n"
)

// TestRougeLsumPublished reproduces rougeLsum in rouge/rouge_scorer_test.py:
// testSummaryLevelLcs, testRougeLsum (with its empty cases) and
// testRougeLSumAgainstRouge155WithStemming. score(target, prediction).
func TestRougeLsumPublished(t *testing.T) {
	tokens := func(ids ...string) []string { return ids }
	for _, tt := range []struct {
		name               string
		target, prediction [][]string
		p, r, f            float64
		places             float64
	}{
		// Lin 2004, section 3.2: the union LCS of r with c1 and c2 is 1 2 3 5.
		{"testSummaryLevelLcs", [][]string{tokens("1", "2", "3", "4", "5")},
			[][]string{tokens("1", "2", "6", "7", "8"), tokens("1", "3", "8", "9", "5")}, 0.4, 0.8, 0.5333, 5e-4},
		{"testSummaryLevelLcs empty candidate", [][]string{tokens("reference")}, [][]string{{}}, 0, 0, 0, 1e-9},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := textmetric.RougeLsumTokens(tt.target, tt.prediction)
			if !near(got.Precision, tt.p, tt.places) || !near(got.Recall, tt.r, tt.places) || !near(got.F, tt.f, tt.places) {
				t.Errorf("RougeLsumTokens = %+v, want P %v R %v F %v", got, tt.p, tt.r, tt.f)
			}
		})
	}
	for _, tt := range []struct {
		name               string
		stem               bool
		target, prediction string
		p, r, f            float64
		places             float64
	}{
		{"testRougeLsum", false, "w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", 0.4, 0.8, 0.5333, 5e-4},
		{"testRougeLsum empty prediction", false, "w1 w2 w3 w4 w5", "", 0, 0, 0, 5e-4},
		{"testRougeLsum empty target", false, "", "w1", 0, 0, 0, 5e-4},
		{"testRougeLsum non-word prediction", false, "w1 w2 w3 w4 w5", "/", 0, 0, 0, 5e-4},
		{"testRougeLSumAgainstRouge155WithStemming", true, lsumTarget, lsumPrediction, 0.66667, 0.36538, 0.47205, 5e-6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := textmetric.RougeTokenize
			if tt.stem {
				tok = textmetric.RougeTokenizeStemmed
			}
			got := textmetric.RougeLsumTokens(textmetric.RougeLsumSentences(tt.target, tok), textmetric.RougeLsumSentences(tt.prediction, tok))
			if !near(got.Precision, tt.p, tt.places) || !near(got.Recall, tt.r, tt.places) || !near(got.F, tt.f, tt.places) {
				t.Errorf("RougeLsumTokens = %+v, want P %v R %v F %v", got, tt.p, tt.r, tt.f)
			}
		})
	}
}

// TestRougeLsumOneSentence: on one sentence each, ROUGE-Lsum is ROUGE-L.
func TestRougeLsumOneSentence(t *testing.T) {
	for _, pair := range [][2]string{{rougeTarget0, rougePred0}, {rougeTarget1, rougePred1}, {"testing one two", "testing two"}} {
		want := textmetric.Rouge(textmetric.RougeL, pair[0], pair[1])
		got := textmetric.RougeLsumTokens(textmetric.RougeLsumSentences(pair[0], textmetric.RougeTokenize), textmetric.RougeLsumSentences(pair[1], textmetric.RougeTokenize))
		if !near(got.F, want.F, 1e-12) || !near(got.Precision, want.Precision, 1e-12) || !near(got.Recall, want.Recall, 1e-12) {
			t.Errorf("%q: RougeLsum %+v, RougeL %+v", pair[0][:20], got, want)
		}
	}
}
