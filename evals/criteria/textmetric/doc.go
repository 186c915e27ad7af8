// Package textmetric computes reference-based text metrics exactly as the
// implementations people already trust define them, so that a score here is
// the score there:
//
//   - Levenshtein and Similarity: edit distance over Unicode code points, and
//     1 - distance / max(length), 1 for two empty texts;
//   - NormalizeSQuAD, ExactMatch, TokenF1, BestExactMatch, BestTokenF1: the
//     official SQuAD v1.1 evaluation script (evaluate-v1.1.py), with Python's
//     string semantics;
//   - RougeTokenize, RougeTokenizeStemmed, Rouge, RougeTokens, RougeMulti:
//     ROUGE-1, ROUGE-2 and ROUGE-L of Google's rouge-score
//     (rouge_scorer.RougeScorer with its default tokenizer, score and
//     score_multi), without stemming or, with RougeTokenizeStemmed, with
//     use_stemmer=True;
//   - Stem: the Porter stemmer of nltk (PorterStemmer in its default mode,
//     NLTK_EXTENSIONS), which rouge-score's use_stemmer=True calls;
//   - BLEU, SentenceBLEU, CorpusBLEU, Tokenize13a, TokenizeIntl: BLEU of
//     sacrebleu 2.x, with its 13a, none, char and intl tokenizers, its
//     smoothing methods and its sentence and corpus defaults;
//   - Numbers, FirstNumber, LastNumber, ParseNumber: numbers in free text, with
//     signs, thousands separators, decimals, exponents and percentages.
//
// The tests reproduce the published values of sacrebleu's test/test_bleu.py
// and test/test_sentence_bleu.py and of rouge-score's rouge_scorer_test.py,
// and the stems nltk gives 121119 words (testdata/porter_nltk.tsv.gz).
//
// Each function is defined on any Go string: where the reference works on
// Python str, invalid UTF-8 bytes read as U+FFFD, and where it works byte by
// byte on ASCII (13a's rules), they are kept as they are.
//
// The package imports nothing else from this module.
package textmetric
