package criteria

import (
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

var _ evals.CorpusScorer = (*TextMetric)(nil)

// NewCorpus implements evals.CorpusScorer: a bleu criterion reports the
// corpus BLEU of a target's responses; the other text metrics nothing.
func (m *TextMetric) NewCorpus() evals.Corpus {
	if m.metric != metricBLEU {
		return nil
	}
	return &bleuCorpus{}
}

// bleuCorpus adds up the BLEU counts of a bleu criterion's verdicts, for
// corpus BLEU: the sums only, so that memory does not grow with the cases.
type bleuCorpus struct {
	stats   textmetric.BLEUStats
	n       int // verdicts added
	counted int // verdicts whose counts are in stats
}

// Add implements evals.Corpus: it sums sc's counts, unless it has none or
// they could not come from a BLEU (a negative count, more matches than
// n-grams), which would make the score no number.
func (b *bleuCorpus) Add(sc *evals.Score) {
	b.n++
	c := sc.BLEU
	if c == nil || c.HypLen < 0 || c.RefLen < 0 {
		return
	}
	for n := range c.Matches {
		if c.Matches[n] < 0 || c.Matches[n] > c.Totals[n] {
			return
		}
	}
	b.stats = b.stats.Add(textmetric.BLEUStats(*c))
	b.counted++
}

// Report implements evals.Corpus: the corpus BLEU of the verdicts added,
// as sacrebleu's corpus_bleu computes it: 13a tokenisation, exp smoothing,
// no effective order (BLEU's zero value), on the summed counts. None unless
// every verdict had counts: a journal written before they were recorded has
// none, and a corpus BLEU of some of the responses would not be sacrebleu's.
func (b *bleuCorpus) Report(sum *evals.CriterionSummary) {
	if b.n == 0 || b.counted != b.n {
		return
	}
	v := textmetric.BLEU{}.Score(b.stats).Score
	sum.CorpusBLEU = &v
}
