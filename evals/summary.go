package evals

import "time"

// ReportVersion is the version of the JSON report's layout. It changes when a
// field is removed or changes meaning; new fields do not change it.
const ReportVersion = 1

// Summary is a run's report: what ran, the aggregates per target and per
// criterion, and the gate's verdict.
type Summary struct {
	ReportVersion int       `json:"report_version"`
	RunID         string    `json:"run_id"`
	Suite         string    `json:"suite"`
	SuiteVersion  string    `json:"suite_version,omitempty"`
	SuitePath     string    `json:"suite_path"`
	Started       time.Time `json:"started"`
	Finished      time.Time `json:"finished"`
	Complete      bool      `json:"complete"`
	Interrupted   bool      `json:"interrupted,omitempty"`
	// Shard is the part of the dataset's cases the run ran (--shard K/N),
	// nil for all of them; rubric merge checks it.
	Shard *Shard `json:"shard,omitempty"`
	// ResultsFile is the results journal, relative to the report.
	ResultsFile string `json:"results_file,omitempty"`
	// Statistics says how the confidence intervals were computed.
	Statistics Statistics      `json:"statistics"`
	Targets    []TargetSummary `json:"targets"`
	// Baseline names the run this one was compared with (--baseline), when it
	// was; each target's Comparison holds the result.
	Baseline *BaselineRef `json:"baseline,omitempty"`
	// Comparisons compare, when a run has several targets, each target after
	// the first with the first, case by case.
	Comparisons []Comparison `json:"comparisons,omitempty"`
	// JudgeAgreement holds, for each judge criterion a gate names
	// (judge.NAME.kappa), its agreement with people as the history had it:
	// the gates' values.
	JudgeAgreement []JudgeAgreement `json:"judge_agreement,omitempty"`
	Gate           GateVerdict      `json:"gate"`
	// ErrorBudget is the verdict on the targets' errors, which rubric run
	// records; nil in the reports of rubric score. When it did not hold, Gate
	// is not held either.
	ErrorBudget *ErrorBudget `json:"error_budget,omitempty"`
	// LeakCheck says what the cases were checked against for leaks into
	// training data (--training-manifest); nil when they were not.
	LeakCheck *LeakCheck `json:"leak_check,omitempty"`
}

// LeakCheck is the leakage check a run's cases went through
// (docs/leakage.md): the manifests, whether their 13-grams were compared
// and from what share a case was flagged, and how many cases were found.
// The run went on with them (--allow-leaks); each target's Leaks compares
// its pass rate with and without them.
type LeakCheck struct {
	Manifests []string `json:"manifests"`
	NGrams    bool     `json:"ngrams,omitempty"`
	Threshold float64  `json:"ngram_threshold,omitempty"`
	// Leaked counts the cases found.
	Leaked int `json:"leaked"`
}

// LeakSummary is a target's pass rate with and without the results of the
// cases found in training data: PassRate over all its results is the
// target's own; CleanPassRate leaves the leaked results out.
type LeakSummary struct {
	// Cases and Passed count the results of leaked cases.
	Cases  int `json:"cases"`
	Passed int `json:"passed"`
	// CleanCases and CleanPassed count the others; CleanPassRate is
	// CleanPassed / CleanCases (0 when none).
	CleanCases    int     `json:"clean_cases"`
	CleanPassed   int     `json:"clean_passed"`
	PassRate      float64 `json:"pass_rate"`
	CleanPassRate float64 `json:"clean_pass_rate"`
}

// ErrorBudget is the verdict on a run's errors. A target whose error rate is
// over the budget, or whose every result is an error (budget or not), broke
// it: such a run measured the endpoint rather than the model, and could not
// complete (exit 3), whatever its gates say.
type ErrorBudget struct {
	// Budget is the largest error rate a target may have: the suite's
	// error_budget or --error-budget; nil when the run had none.
	Budget *float64 `json:"budget"`
	Held   bool     `json:"held"`
	// Over lists the targets that broke it, in the run's order.
	Over []BudgetBreach `json:"over,omitempty"`
}

// BudgetBreach is a target that broke the error budget, and by how much.
type BudgetBreach struct {
	Target    string  `json:"target"`
	Cases     int     `json:"cases"`
	Errored   int     `json:"errored"`
	ErrorRate float64 `json:"error_rate"`
	// Reason says it for people: "3 of 10 cases ended in an error (30.0%),
	// over the error budget of 10.0%", or "all 10 requests failed".
	Reason string `json:"reason"`
}

// NoteErrorBudget is the GateVerdict.Note of a run whose error budget did
// not hold.
const NoteErrorBudget = "error budget exceeded"

// Reducers of a case's repeats (Suite.Reduce).
const (
	ReduceMean     = "mean"
	ReduceMedian   = "median"
	ReduceMax      = "max"
	ReduceMin      = "min"
	ReduceMajority = "majority"
)

// DefaultStatistics are the settings of a report's intervals: 95%, 2,000
// bootstrap resamples with seed 1, the bootstrap for samples of up to 2,000
// values. A bootstrap costs resamples x n draws, so this bounds each interval
// to 4 million; past 2,000 values of scores in [0, 1] the normal interval is
// as good as the bootstrap's.
func DefaultStatistics() Statistics {
	return Statistics{Confidence: 0.95, Resamples: 2_000, Seed: 1, BootstrapMax: 2_000}
}

// Statistics are the settings behind a report's confidence intervals.
type Statistics struct {
	// Confidence is the intervals' level, 0.95.
	Confidence float64 `json:"confidence"`
	// Resamples and Seed drive the bootstrap intervals; the same seed gives
	// the same intervals.
	Resamples int    `json:"bootstrap_resamples"`
	Seed      uint64 `json:"bootstrap_seed"`
	// BootstrapMax is the largest sample bootstrapped; the mean of a larger
	// one gets the normal interval (mean ± z·SE), which is then as good.
	BootstrapMax int `json:"bootstrap_max_n"`
}

// Interval is a confidence interval: Lo and Hi bound the estimate at the
// report's confidence level. Method is "wilson", "bootstrap" or "normal".
type Interval struct {
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	Method string  `json:"method"`
}

// BaselineRef names the run a report was compared with.
type BaselineRef struct {
	RunID  string `json:"run_id"`
	Report string `json:"report"`
}

// TargetSummary aggregates one target's results.
type TargetSummary struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Model    string `json:"model,omitempty"`
	// Figures are the target's counts, rates, mean, tokens, latency, cost and
	// criteria, as a slice has them for its cases.
	Figures
	// Slices aggregate the cases of each tag and of each value of the
	// metadata fields the suite slices by.
	Slices []SliceSummary `json:"slices,omitempty"`
	// Judges sums the calls LLM judges made to score this target's
	// responses; nil when no criterion called one.
	Judges *JudgeSummary `json:"judges,omitempty"`
	// Repeats is set when each case ran more than once.
	Repeats *RepeatSummary `json:"repeats,omitempty"`
	// Conversations sums the results of cases run as conversations (tools,
	// turns); nil when there were none.
	Conversations *ConversationSummary `json:"conversations,omitempty"`
	// Comparison is this target against the baseline run, when there is one.
	Comparison *Comparison `json:"comparison,omitempty"`
	// Leaks compares the pass rate with and without the cases found in
	// training data; nil when the run found none (or was not checked).
	Leaks *LeakSummary `json:"leaks,omitempty"`
	// FailedCases are up to MaxFailedCases cases that did not pass, those with
	// the smallest ids, with why; results.jsonl has them all.
	FailedCases []FailedCase `json:"failed_cases,omitempty"`
}

// Figures are what a target and each slice of its cases report alike: the
// results by status, the rates with their intervals, the mean score, and the
// tokens, latencies, cost and criteria of those results. TargetSummary and
// SliceSummary embed it, so its fields are theirs in report.json, and the
// gate metrics that apply to both read it.
type Figures struct {
	// Cases counts results: one per case and repeat.
	Cases    int `json:"cases"`
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Errored  int `json:"errored"`
	Unscored int `json:"unscored"`
	// PassRate is Passed / Cases: an error or an unscored case is not a pass.
	PassRate     float64   `json:"pass_rate"`
	PassRateCI   *Interval `json:"pass_rate_ci,omitempty"`
	ErrorRate    float64   `json:"error_rate"`
	UnscoredRate float64   `json:"unscored_rate"`
	// Mean is the mean case score over the cases that have a score, with its
	// standard error and confidence interval.
	Mean       float64   `json:"mean"`
	MeanStdErr float64   `json:"mean_stderr"`
	MeanCI     *Interval `json:"mean_ci,omitempty"`
	Scored     int       `json:"scored"`
	// Cached counts responses served from the response cache.
	Cached int `json:"cached,omitempty"`
	// Errors counts the results that ended in an error, by kind.
	Errors    map[string]int `json:"errors,omitempty"`
	Usage     Usage          `json:"usage"`
	LatencyMS LatencySummary `json:"latency_ms"`
	// Stream describes the streamed responses' timings; nil when no
	// response was streamed.
	Stream *StreamSummary `json:"stream,omitempty"`
	// Cost is set when the target has a price table.
	Cost *CostSummary `json:"cost,omitempty"`
	// Criteria are each criterion's pass rate and mean over these results.
	// A slice's leave out the mean's interval and the corpus statistics
	// (classification, corpus BLEU), which are the target's.
	Criteria []CriterionSummary `json:"criteria"`
}

// MaxFailedCases caps TargetSummary.FailedCases.
const MaxFailedCases = 10

// FailedCase is a case that failed, errored or was left unscored, and why.
type FailedCase struct {
	CaseID string `json:"case_id"`
	Repeat int    `json:"repeat"`
	Status Status `json:"status"`
	Reason string `json:"reason"`
	// Conversation is how the case's conversation ended (TailOf); nil for
	// a single answer.
	Conversation *ConversationTail `json:"conversation,omitempty"`
}

// ConversationSummary sums a target's conversations: the results that
// record a transcript.
type ConversationSummary struct {
	// Cases counts the results with a transcript; Steps, ToolCalls and
	// ToolErrors sum theirs, and StepsMean is Steps / Cases.
	Cases      int     `json:"cases"`
	Steps      int     `json:"steps"`
	StepsMean  float64 `json:"steps_mean"`
	ToolCalls  int     `json:"tool_calls"`
	ToolErrors int     `json:"tool_errors"`
	// MaxSteps and MaxTurns count the conversations that ended with those
	// outcomes.
	MaxSteps int `json:"max_steps,omitempty"`
	MaxTurns int `json:"max_turns,omitempty"`
}

// LatencySummary describes the latencies of the responses received, in
// milliseconds; the percentiles interpolate linearly between the order
// statistics (type 7, numpy's default).
type LatencySummary struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	// Sketch marks percentiles taken from a histogram with 0.5% relative
	// accuracy, which past 20,000 responses keeps memory flat, rather than
	// from every latency.
	Sketch bool `json:"sketch,omitempty"`
}

// StreamSummary describes when the tokens of streamed responses came
// (StreamTiming), in milliseconds from the moment each request was sent; a
// cached response counts with the timings of the call that was cached.
type StreamSummary struct {
	// Responses counts the streamed responses that got a token;
	// FirstTokenMS is their time to the first token of any kind, reasoning
	// included.
	Responses    int            `json:"responses"`
	FirstTokenMS LatencySummary `json:"first_token_ms"`
	// ContentResponses counts those that got a token of the answer itself;
	// FirstContentMS is their time to it.
	ContentResponses int            `json:"content_responses"`
	FirstContentMS   LatencySummary `json:"first_content_ms"`
	// RatedResponses counts those whose usage counted more than one output
	// token; TokensPerSecond is the mean of their output tokens per second
	// after the first token.
	RatedResponses  int     `json:"rated_responses"`
	TokensPerSecond float64 `json:"tokens_per_second"`
}

// JudgeSummary sums the calls of the LLM judges that scored a target:
// Calls made (Cached of them answered from the response cache, Failed
// without a usable verdict), the tokens their endpoints reported, and their
// cost at the judge targets' price tables (nil when none has one).
type JudgeSummary struct {
	Calls  int      `json:"calls"`
	Cached int      `json:"cached"`
	Failed int      `json:"failed"`
	Usage  Usage    `json:"usage"`
	Cost   *float64 `json:"cost,omitempty"`
	// Currency is the currency of Cost, from the judges' price tables.
	Currency string `json:"currency,omitempty"`
}

// CostSummary is what a target's calls cost at its price table.
type CostSummary struct {
	Total    float64 `json:"total"`
	Mean     float64 `json:"mean"`
	Currency string  `json:"currency"`
}

// SliceSummary aggregates the cases of one slice: a tag ("tag", "billing")
// or a metadata field's value ("language", "de").
type SliceSummary struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Figures are as for the target, over the slice's results.
	Figures
}

// Name is the slice as gates write it: "tag=billing", "language=de".
func (s SliceSummary) Name() string { return s.Key + "=" + s.Value }

// RepeatSummary describes a target's repeated cases: each case ran N times.
type RepeatSummary struct {
	N int `json:"n"`
	// Reducer turns a case's repeats into one verdict for Cases.
	Reducer string `json:"reducer"`
	// Cases counts the cases with all their repeats; Passed the ones whose
	// reduced verdict passed.
	Cases    int     `json:"cases"`
	Passed   int     `json:"passed"`
	PassRate float64 `json:"pass_rate"`
	// Mean is the mean of the reduced case scores.
	Mean float64 `json:"mean"`
	// PassAtK and PassHatK are the mean over cases, k = 1..N, of the
	// chance that at least one (pass@k) or every one (pass^k) of k
	// attempts passes.
	PassAtK  []KValue `json:"pass_at_k"`
	PassHatK []KValue `json:"pass_hat_k"`
	// PassCounts[c] is the number of cases of which c repeats passed.
	PassCounts []int `json:"pass_counts"`
	// Flaky counts the cases whose verdict differed between repeats;
	// FlakyCases lists up to MaxFailedCases of them, smallest ids first.
	Flaky      int      `json:"flaky"`
	FlakyRate  float64  `json:"flaky_rate"`
	FlakyCases []string `json:"flaky_cases,omitempty"`
}

// KValue is a statistic at k.
type KValue struct {
	K     int     `json:"k"`
	Value float64 `json:"value"`
}

// Comparison compares a target (A) with another (B, the baseline or the
// run's first target) over the cases both have, matched by case id and
// repeat.
type Comparison struct {
	Target     string `json:"target"`
	Against    string `json:"against"`
	AgainstRun string `json:"against_run,omitempty"`
	Matched    int    `json:"matched"`
	// OnlyA and OnlyB count the cases one side has and the other lacks.
	OnlyA int `json:"only_a"`
	OnlyB int `json:"only_b"`
	// Wins, Ties and Losses compare case scores, from A's side; a case with
	// no score (an error) counts as 0.
	Wins   int `json:"wins"`
	Ties   int `json:"ties"`
	Losses int `json:"losses"`
	// BothPassed .. BothFailed is the 2x2 table of pass/fail; McNemarP is
	// the exact two-sided p-value of McNemar's test on its discordant cells
	// (Regressions and Fixes).
	BothPassed int     `json:"both_passed"`
	BothFailed int     `json:"both_failed"`
	McNemarP   float64 `json:"mcnemar_p"`
	// DeltaPassRate and DeltaMean are A's minus B's, with paired bootstrap
	// intervals.
	DeltaPassRate   float64   `json:"delta_pass_rate"`
	DeltaPassRateCI *Interval `json:"delta_pass_rate_ci,omitempty"`
	DeltaMean       float64   `json:"delta_mean"`
	DeltaMeanCI     *Interval `json:"delta_mean_ci,omitempty"`
	// Regressions passed in B and fail in A; Fixes the reverse. The lists
	// hold up to MaxListedCases ids each, smallest first.
	Regressions     int      `json:"regressions"`
	Fixes           int      `json:"fixes"`
	RegressionCases []string `json:"regression_cases,omitempty"`
	FixCases        []string `json:"fix_cases,omitempty"`
}

// MaxListedCases caps the case lists of a Comparison.
const MaxListedCases = 50

// CriterionSummary aggregates one criterion's verdicts for one target, over
// the responses it judged (cases that errored have none).
type CriterionSummary struct {
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Weight   float64 `json:"weight"`
	N        int     `json:"n"`
	Passed   int     `json:"passed"`
	Unscored int     `json:"unscored"`
	PassRate float64 `json:"pass_rate"`
	Mean     float64 `json:"mean"`
	// The intervals are left out of slices' criteria.
	PassRateCI *Interval `json:"pass_rate_ci,omitempty"`
	MeanStdErr float64   `json:"mean_stderr,omitempty"`
	MeanCI     *Interval `json:"mean_ci,omitempty"`
	// Classification is set for a criterion that compares a label (label:
	// true), over the responses it scored.
	Classification *Classification `json:"classification,omitempty"`
	// CorpusBLEU is set for a bleu criterion: the corpus BLEU of the
	// responses it scored, from 0 to 100, as sacrebleu's corpus_bleu gives it
	// (their n-gram counts and lengths summed, then scored once). Left out of
	// slices' criteria.
	CorpusBLEU *float64 `json:"corpus_bleu,omitempty"`
	// ToolCalls is set for a trajectory criterion: its tool-call counts
	// summed over the responses it scored, and the precision, recall and F1
	// of the sums (micro-averaged). Left out of slices' criteria.
	ToolCalls *ToolCallMetrics `json:"tool_calls,omitempty"`
}

// ToolCallMetrics are tool-call counts summed over responses, with the
// precision, recall and F1 of the sums.
type ToolCallMetrics struct {
	CallCounts
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Classification measures a criterion's labels as a classifier's, with the
// definitions of scikit-learn's classification_report: the labels are every
// label expected or predicted; a label's precision is 0 when it was never
// predicted and its recall 0 when it was never expected; macro F1 is the
// unweighted mean of every label's F1; micro F1, with one label per
// response, equals accuracy.
type Classification struct {
	// N counts the responses compared, Correct those whose label was right.
	N       int     `json:"n"`
	Correct int     `json:"correct"`
	MacroF1 float64 `json:"macro_f1"`
	MicroF1 float64 `json:"micro_f1"`
	// Labels are the MaxClassLabels most frequent labels (expected plus
	// predicted), sorted; OtherLabels counts those left out, which the
	// averages still include.
	Labels      []LabelMetrics `json:"labels"`
	OtherLabels int            `json:"other_labels,omitempty"`
	Confusion   Confusion      `json:"confusion"`
}

// MaxClassLabels caps the labels a Classification lists.
const MaxClassLabels = 50

// OtherLabel stands for the labels left out of a confusion matrix.
const OtherLabel = "(other)"

// LabelMetrics are one label's figures.
type LabelMetrics struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	// Support counts the responses expected to have the label, Predicted
	// those that gave it.
	Support   int `json:"support"`
	Predicted int `json:"predicted"`
}

// Confusion is a confusion matrix: Counts[i][j] responses were expected to
// have Labels[i] and gave Labels[j]. Labels are those of the
// Classification, plus OtherLabel for all the others when some were left out.
type Confusion struct {
	Labels []string `json:"labels"`
	Counts [][]int  `json:"counts"`
}

// GateVerdict is the outcome of every gate on every target.
type GateVerdict struct {
	Held bool `json:"held"`
	// Note explains a verdict the results alone do not, such as a gate not
	// held because the run did not complete.
	Note    string       `json:"note,omitempty"`
	Results []GateResult `json:"results,omitempty"`
}

// GateResult is one gate checked on one target, or on a judge criterion
// (a judge.NAME gate, checked once a run: Target is then "").
type GateResult struct {
	Expr   string   `json:"expr"`
	Target string   `json:"target"`
	Judge  string   `json:"judge,omitempty"`
	Value  *float64 `json:"value"`
	Held   bool     `json:"held"`
	// Margin is how far the value is from the threshold, positive when the
	// gate holds.
	Margin  float64 `json:"margin"`
	Message string  `json:"message"`
}
