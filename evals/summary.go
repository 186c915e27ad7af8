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
