package textmetric_test

import (
	"testing"

	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

// A prediction and a reference of about 300 bytes each, as a summary or a
// long answer might be.
const (
	benchPred = "The customer was charged twice for the March invoice (INV-2291, $49.99) and asks for the duplicate charge " +
		"to be refunded to the original card. They have been a subscriber since 2019, and say this is the second time " +
		"it happened; they want a confirmation e-mail and 12.5% off next month."
	benchRef = "Customer charged twice on the March invoice INV-2291 for $49.99; wants the duplicate refunded to the card " +
		"used. A subscriber since 2019, this is the second double charge. Asks for an e-mail confirming the refund, " +
		"and a 12.5% discount on next month's invoice as a goodwill gesture."
)

func BenchmarkTextMetric(b *testing.B) {
	refs := []string{benchRef}
	predTokens := textmetric.RougeTokenize(benchPred) // Stem: each token of the text
	benches := []struct {
		name string
		fn   func()
	}{
		{"Levenshtein", func() { textmetric.Levenshtein(benchPred, benchRef) }},
		{"NormalizeSQuAD", func() { textmetric.NormalizeSQuAD(benchPred) }},
		{"ExactMatch", func() { textmetric.ExactMatch(benchPred, benchRef) }},
		{"TokenF1", func() { textmetric.TokenF1(benchPred, benchRef) }},
		{"RougeTokenize", func() { textmetric.RougeTokenize(benchPred) }},
		{"Rouge1", func() { textmetric.Rouge(textmetric.Rouge1, benchRef, benchPred) }},
		{"Rouge2", func() { textmetric.Rouge(textmetric.Rouge2, benchRef, benchPred) }},
		{"RougeL", func() { textmetric.Rouge(textmetric.RougeL, benchRef, benchPred) }},
		{"Stem", func() {
			for _, tok := range predTokens {
				textmetric.Stem(tok)
			}
		}},
		{"RougeTokenizeStemmed", func() { textmetric.RougeTokenizeStemmed(benchPred) }},
		{"RougeLStemmed", func() {
			textmetric.RougeTokens(textmetric.RougeL, textmetric.RougeTokenizeStemmed(benchRef), textmetric.RougeTokenizeStemmed(benchPred))
		}},
		{"Tokenize13a", func() { textmetric.Tokenize13a(benchPred) }},
		{"TokenizeIntl", func() { textmetric.TokenizeIntl(benchPred) }},
		{"SentenceBLEU", func() { textmetric.SentenceBLEU(benchPred, refs) }},
		{"Numbers", func() { textmetric.Numbers(benchPred, textmetric.PercentNumber) }},
		{"LastNumber", func() { textmetric.LastNumber(benchPred, textmetric.PercentNumber) }},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(benchPred)))
			for b.Loop() {
				bb.fn()
			}
		})
	}
}

// BenchmarkRougeLsum scores a three-sentence summary against a reference of
// three sentences, stemmed, as the summarisation leaderboards do.
func BenchmarkRougeLsum(b *testing.B) {
	ref := "the council approved the new budget on monday.\nspending on schools rises by four percent.\nthe mayor called it a fair compromise."
	pred := "on monday the council approved a new budget.\nschools will get four percent more.\nthe mayor said it was fair."
	b.ReportAllocs()
	for b.Loop() {
		textmetric.RougeLsumTokens(textmetric.RougeLsumSentences(ref, textmetric.RougeTokenizeStemmed), textmetric.RougeLsumSentences(pred, textmetric.RougeTokenizeStemmed))
	}
}

// BenchmarkBLEU scores the benchmark's prediction with sentence BLEU, once
// with each tokenizer.
func BenchmarkBLEU(b *testing.B) {
	refs := []string{benchRef}
	for _, tok := range []struct {
		name string
		tok  textmetric.Tokenizer
	}{{"13a", textmetric.Tok13a}, {"none", textmetric.TokNone}, {"char", textmetric.TokChar}, {"intl", textmetric.TokIntl}} {
		b.Run("tokenize="+tok.name, func(b *testing.B) {
			bleu := textmetric.BLEU{Tokenizer: tok.tok, EffectiveOrder: true}
			b.ReportAllocs()
			b.SetBytes(int64(len(benchPred)))
			for b.Loop() {
				if _, err := bleu.Sentence(benchPred, refs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
