package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

var _ evals.Scorer = (*TextMetric)(nil)

type textMetricConfig struct {
	commonConfig
	Value json.RawMessage `json:"value"`
}

type rougeConfig struct {
	commonConfig
	Value   json.RawMessage `json:"value"`
	Variant string          `json:"variant"`
	Measure string          `json:"measure"`
	Stemmer bool            `json:"stemmer"`
}

// metric is the text metric a TextMetric computes.
type metric uint8

const (
	metricLevenshtein metric = iota // Levenshtein similarity
	metricExactMatch                // SQuAD exact match
	metricF1                        // SQuAD token F1
	metricRouge                     // ROUGE-1, ROUGE-2 or ROUGE-L
	metricBLEU                      // sentence BLEU
)

// graded reports whether the metric's scores lie between 0 and 1, so that
// the criterion needs an explicit threshold.
func (m metric) graded() bool { return m != metricExactMatch }

// measure is which part of a ROUGE score a rouge criterion takes.
type measure uint8

const (
	measureF measure = iota
	measurePrecision
	measureRecall
)

var measureNames = [...]string{measureF: "f", measurePrecision: "precision", measureRecall: "recall"}

// maxCells bounds the work of the quadratic metrics, Levenshtein and
// ROUGE-L: the product of the two lengths compared (code points, or for
// ROUGE-L the tokens each side shares with the other). 25 million cells take
// some tens of milliseconds; a pair above it is left unscored.
const maxCells = 25_000_000

// TextMetric is the scorer of the reference-based text metrics: levenshtein,
// exact-match, f1, rouge and bleu. It scores the output against references,
// the criterion's values or the case's expected answer, as package
// textmetric defines each metric; with several references the best score
// counts.
type TextMetric struct {
	common
	metric  metric
	values  values
	variant textmetric.Variant   // for rouge
	measure measure              // for rouge
	stemmer bool                 // for rouge: Porter-stem tokens longer than 3
	bleuTok textmetric.Tokenizer // for bleu
}

func newLevenshtein(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	return newTextMetricOf(spec, metricLevenshtein)
}

func newExactMatch(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	return newTextMetricOf(spec, metricExactMatch)
}

func newF1(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	return newTextMetricOf(spec, metricF1)
}

type bleuConfig struct {
	commonConfig
	Value    json.RawMessage `json:"value"`
	Tokenize string          `json:"tokenize"`
}

func newBLEU(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c bleuConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	sc, err := newTextMetric(spec.Type, &c.commonConfig, c.Value, metricBLEU)
	if err != nil {
		return nil, err
	}
	switch c.Tokenize {
	case "", "13a":
		sc.bleuTok = textmetric.Tok13a
	case "none":
		sc.bleuTok = textmetric.TokNone
	case "char":
		sc.bleuTok = textmetric.TokChar
	case "intl":
		sc.bleuTok = textmetric.TokIntl
	default:
		return nil, evals.FieldErrorf("tokenize", `unknown tokenizer %q: expected "13a", "none", "char" or "intl"`, c.Tokenize)
	}
	return sc, nil
}

func newTextMetricOf(spec evals.CriterionSpec, m metric) (evals.Scorer, error) {
	var c textMetricConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	sc, err := newTextMetric(spec.Type, &c.commonConfig, c.Value, m)
	if err != nil {
		return nil, err // not a nil *TextMetric in a non-nil Scorer
	}
	return sc, nil
}

func newRouge(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c rougeConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	sc, err := newTextMetric(spec.Type, &c.commonConfig, c.Value, metricRouge)
	if err != nil {
		return nil, err
	}
	switch c.Variant {
	case "", "rougeL":
		sc.variant = textmetric.RougeL
	case "rouge1":
		sc.variant = textmetric.Rouge1
	case "rouge2":
		sc.variant = textmetric.Rouge2
	case "rougeLsum":
		sc.variant = textmetric.RougeLsum
	default:
		return nil, evals.FieldErrorf("variant", `unknown variant %q: expected "rouge1", "rouge2", "rougeL" or "rougeLsum"`, c.Variant)
	}
	switch c.Measure {
	case "", "f":
		sc.measure = measureF
	case "precision":
		sc.measure = measurePrecision
	case "recall":
		sc.measure = measureRecall
	default:
		return nil, evals.FieldErrorf("measure", `unknown measure %q: expected "f", "precision" or "recall"`, c.Measure)
	}
	sc.stemmer = c.Stemmer
	return sc, nil
}

func newTextMetric(typ string, c *commonConfig, value json.RawMessage, m metric) (*TextMetric, error) {
	cm, err := newCommon(c)
	if err != nil {
		return nil, err
	}
	if m.graded() && c.Threshold == nil {
		return nil, evals.FieldErrorf("threshold", "missing: %s gives scores from 0 to 1, so say which score passes: expected a number from 0 to 1 (e.g. 0.8)", typ)
	}
	vals, err := parseValues(value, cm.norm, "")
	if err != nil {
		return nil, err
	}
	if m == metricBLEU {
		for i, it := range vals.items {
			if it.tmpl == nil && it.text == "" {
				field := "value"
				if raw := bytes.TrimSpace(value); raw[0] == '[' {
					field += "." + strconv.Itoa(i)
				}
				return nil, evals.FieldErrorf(field, "empty reference: BLEU skips empty references; expected a non-empty text")
			}
		}
	}
	return &TextMetric{common: cm, metric: m, values: vals}, nil
}

// Score implements evals.Scorer.
func (m *TextMetric) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	var buf [8]string
	refs, why, ok := m.values.resolve(in, m.norm, buf[:0])
	if !ok {
		return unscored(why)
	}
	s, why, ok := m.subject(in.Output)
	if !ok {
		if m.metric == metricBLEU {
			return m.bleuNothing(why, refs)
		}
		return m.verdict(0, why)
	}
	switch m.metric {
	case metricLevenshtein:
		return m.levenshtein(s, refs)
	case metricExactMatch:
		if textmetric.BestExactMatch(s, refs) == 1 {
			return m.verdict(1, "")
		}
		norm := make([]string, len(refs))
		for i, r := range refs {
			norm[i] = textmetric.NormalizeSQuAD(r)
		}
		return m.verdict(0, fmt.Sprintf("got %s, expected %s (SQuAD-normalised)", quote(textmetric.NormalizeSQuAD(s)), oneOf(norm)))
	case metricF1:
		f1, at := textmetric.BestTokenF1(s, refs)
		if f1 == 1 {
			return m.verdict(1, "")
		}
		return m.verdict(f1, fmt.Sprintf("token F1 %s: got %s, expected %s (SQuAD-normalised)",
			num(f1), quote(textmetric.NormalizeSQuAD(s)), quote(textmetric.NormalizeSQuAD(refs[at]))))
	case metricRouge:
		return m.rouge(s, refs)
	default: // metricBLEU
		return m.bleu(s, refs)
	}
}

func (m *TextMetric) levenshtein(s string, refs []string) evals.Verdict {
	n := utf8.RuneCountInString(s)
	best, at := -1.0, 0
	for i, r := range refs {
		if nr := utf8.RuneCountInString(r); n*nr > maxCells && s != r {
			return unscored(tooLong(fmt.Sprintf("%d × %d code points", n, nr), n*nr))
		}
		if sim := textmetric.Similarity(s, refs[i]); sim > best {
			best, at = sim, i
		}
	}
	if best == 1 {
		return m.verdict(1, "")
	}
	return m.verdict(best, fmt.Sprintf("similarity %s to %s: got %s", num(best), quote(refs[at]), quote(s)))
}

func (m *TextMetric) rouge(s string, refs []string) evals.Verdict {
	tokenize := textmetric.RougeTokenize
	if m.stemmer {
		tokenize = textmetric.RougeTokenizeStemmed
	}
	if m.variant == textmetric.RougeLsum {
		return m.rougeLsum(s, refs, tokenize)
	}
	pred := tokenize(s)
	var best textmetric.Score
	at := -1
	for i, r := range refs {
		target := tokenize(r)
		if m.variant == textmetric.RougeL {
			if cells := textmetric.LCSCells(target, pred); cells > maxCells {
				return unscored(tooLong("the tokens the two texts share", cells))
			}
		}
		// As rouge-score's score_multi: the reference with the highest F,
		// the first of equals.
		if sc := textmetric.RougeTokens(m.variant, target, pred); at < 0 || sc.F > best.F {
			best, at = sc, i
		}
	}
	return m.rougeVerdict(best, refs[at])
}

// rougeLsum scores ROUGE-Lsum: the output and each reference are split into
// lines, as rouge-score's rougeLsum does, and the best reference counts.
func (m *TextMetric) rougeLsum(s string, refs []string, tokenize func(string) []string) evals.Verdict {
	pred := textmetric.RougeLsumSentences(s, tokenize)
	n := 0
	for _, p := range pred {
		n += len(p)
	}
	var best textmetric.Score
	at := -1
	for i, r := range refs {
		target := textmetric.RougeLsumSentences(r, tokenize)
		mTokens := 0
		for _, t := range target {
			mTokens += len(t)
		}
		if cells := mTokens * n; cells > maxCells {
			return unscored(tooLong("the two texts' tokens", cells))
		}
		if sc := textmetric.RougeLsumTokens(target, pred); at < 0 || sc.F > best.F {
			best, at = sc, i
		}
	}
	return m.rougeVerdict(best, refs[at])
}

// rougeVerdict is the verdict on the best ROUGE score, against ref.
func (m *TextMetric) rougeVerdict(best textmetric.Score, ref string) evals.Verdict {
	score := [...]float64{measureF: best.F, measurePrecision: best.Precision, measureRecall: best.Recall}[m.measure]
	if score == 1 {
		return m.verdict(1, "")
	}
	return m.verdict(score, fmt.Sprintf("%s %s %s (precision %s, recall %s, F %s) against %s",
		m.variant, measureNames[m.measure], num(score), num(best.Precision), num(best.Recall), num(best.F), quote(ref)))
}

// The verdicts of bleu carry the counts behind the score (Verdict.BLEU),
// which the report sums into corpus BLEU; every scored verdict has them.
func (m *TextMetric) bleu(s string, refs []string) evals.Verdict {
	res, err := textmetric.BLEU{EffectiveOrder: true, Tokenizer: m.bleuTok}.Sentence(s, refs)
	if err != nil {
		return unscored("bleu: " + err.Error())
	}
	// BLEU is from 0 to 100; a perfect match can come out a rounding error
	// above 100.
	score := min(res.Score/100, 1)
	v := m.verdict(score, "")
	if score < 1 {
		p := res.Precisions
		v.Reason = fmt.Sprintf("BLEU %s (n-gram precisions %s/%s/%s/%s, brevity penalty %s, %d tokens, closest reference %d) against %s",
			num(res.Score), num(p[0]), num(p[1]), num(p[2]), num(p[3]), num(res.BP), res.Stats.HypLen, res.Stats.RefLen, oneOf(refs))
	}
	v.BLEU = bleuCounts(res.Stats)
	return v
}

// bleuNothing is bleu's verdict when nothing could be extracted from the
// output: a score of 0, and for corpus BLEU the counts of an empty
// hypothesis, as sacrebleu counts an empty line of a system's output (no
// n-grams, the length of the shortest reference).
func (m *TextMetric) bleuNothing(why string, refs []string) evals.Verdict {
	st, err := textmetric.BLEU{Tokenizer: m.bleuTok}.Stats("", refs)
	if err != nil {
		return unscored("bleu: " + err.Error())
	}
	v := m.verdict(0, why)
	v.BLEU = bleuCounts(st)
	return v
}

// bleuCounts records BLEU statistics in a result. The conversion compiles only
// while the two types have the same fields.
func bleuCounts(st textmetric.BLEUStats) *evals.BLEUCounts {
	c := evals.BLEUCounts(st)
	return &c
}

// tooLong is the reason a quadratic metric gives for a pair it does not
// compare: what makes cells cells.
func tooLong(what string, cells int) string {
	return fmt.Sprintf("too long to compare: %s make %d cells, over the limit of %d; extract a shorter part of the output", what, cells, maxCells)
}

// num writes a score for a reason, to 4 significant digits.
func num(x float64) string {
	return strconv.FormatFloat(x, 'g', 4, 64)
}
