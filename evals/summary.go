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
	// ResultsFile is the results journal, relative to the report.
	ResultsFile string          `json:"results_file,omitempty"`
	Targets     []TargetSummary `json:"targets"`
	Gate        GateVerdict     `json:"gate"`
}

// TargetSummary aggregates one target's results.
type TargetSummary struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Model    string `json:"model,omitempty"`
	// Cases counts results: one per case and repeat.
	Cases    int `json:"cases"`
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Errored  int `json:"errored"`
	Unscored int `json:"unscored"`
	// PassRate is Passed / Cases: an error or an unscored case is not a pass.
	PassRate     float64 `json:"pass_rate"`
	ErrorRate    float64 `json:"error_rate"`
	UnscoredRate float64 `json:"unscored_rate"`
	// Mean is the mean case score over the cases that have a score.
	Mean   float64 `json:"mean"`
	Scored int     `json:"scored"`
	// Cached counts responses served from the response cache.
	Cached    int                `json:"cached,omitempty"`
	Errors    map[string]int     `json:"errors,omitempty"`
	Usage     Usage              `json:"usage"`
	LatencyMS LatencySummary     `json:"latency_ms"`
	Criteria  []CriterionSummary `json:"criteria"`
	// FailedCases are up to MaxFailedCases cases that did not pass, those with
	// the smallest ids, with why; results.jsonl has them all.
	FailedCases []FailedCase `json:"failed_cases,omitempty"`
}

// MaxFailedCases caps TargetSummary.FailedCases.
const MaxFailedCases = 10

// FailedCase is a case that failed, errored or was left unscored, and why.
type FailedCase struct {
	CaseID string `json:"case_id"`
	Repeat int    `json:"repeat"`
	Status Status `json:"status"`
	Reason string `json:"reason"`
}

// LatencySummary describes the latencies of the responses received.
type LatencySummary struct {
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

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
	// Classification is set for a criterion that compares a label (label:
	// true), over the responses it scored.
	Classification *Classification `json:"classification,omitempty"`
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

// GateResult is one gate checked on one target.
type GateResult struct {
	Expr   string   `json:"expr"`
	Target string   `json:"target"`
	Value  *float64 `json:"value"`
	Held   bool     `json:"held"`
	// Margin is how far the value is from the threshold, positive when the
	// gate holds.
	Margin  float64 `json:"margin"`
	Message string  `json:"message"`
}
