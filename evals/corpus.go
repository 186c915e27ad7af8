package evals

// CorpusScorer is a Scorer whose criterion also reports a statistic of all
// the responses it scored for a target, which no verdict alone gives: the
// corpus BLEU of a bleu criterion, the classification metrics of an equals
// with label: true. Such a criterion's verdicts carry what the statistic
// needs (Score.BLEU, Score.Label), so that results.jsonl holds it and a
// resumed run or a rescoring counts the results of earlier attempts too.
//
// The aggregation asks each criterion's scorer for a Corpus once per
// target, feeds it that criterion's verdicts and, for the report, has it
// write the statistic into the criterion's summary. A new corpus statistic
// is then a Corpus next to its criterion, and a field of CriterionSummary
// for the report (with a gate metric in metrics.go to gate on it); the
// engine does not change.
type CorpusScorer interface {
	Scorer
	// NewCorpus returns an empty corpus for one target's responses, or nil
	// when the criterion, as configured, reports no corpus statistic (an
	// equals without label: true).
	NewCorpus() Corpus
}

// Corpus accumulates one criterion's verdicts on one target's responses
// into a corpus-level statistic. One goroutine calls it, so it needs no
// lock.
type Corpus interface {
	// Add counts one verdict of the criterion, as results.jsonl records it;
	// unscored verdicts are not added. Add must not keep sc, and the
	// corpus's memory should not grow with the number of responses.
	Add(sc *Score)
	// Report writes the statistic into sum, the criterion's summary for
	// the target, leaving sum as it is when there is none. It may be
	// called more than once, and between calls to Add.
	Report(sum *CriterionSummary)
}
