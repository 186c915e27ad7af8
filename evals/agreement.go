package evals

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// JudgeKey is what an LLM judge criterion's verdicts depend on: the targets
// it asks (provider, model, generation parameters; never a key, a header or
// a URL) and what it asks them (its rubric as resolved, the choices and
// their scores, the threshold that makes a score a pass). An agreement
// measured with people holds for one key: a change to any of these makes it
// stale.
type JudgeKey struct {
	Targets []JudgeKeyTarget `json:"targets"`
	// Rubric is the rubric's text, or the built-in template's with its
	// requirement.
	Rubric    string        `json:"rubric"`
	Choices   []JudgeChoice `json:"choices"`
	Threshold float64       `json:"threshold"`
	// Output is "json" for structured outputs, "" for a verdict line.
	Output string `json:"output,omitempty"`
	// Shown is what of the response the judge is shown, when the
	// criterion narrows it: its extract, normalize and turn, as written in
	// the suite; nil (and out of the hash) when it sees the whole output.
	Shown json.RawMessage `json:"shown,omitempty"`
}

// JudgeKeyTarget is a judge's target as far as its verdicts depend on it.
type JudgeKeyTarget struct {
	Provider string  `json:"provider"`
	Model    string  `json:"model,omitempty"`
	Params   *Params `json:"params,omitempty"`
}

// JudgeChoice is a verdict a judge may give and its score.
type JudgeChoice struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// JudgeKeyer is a Scorer that asks an LLM judge, and says what its verdicts
// depend on.
type JudgeKeyer interface {
	JudgeKey() JudgeKey
}

// Hashes returns the SHA-256, in hex, of the canonical JSON of the whole
// key, of its targets alone and of the rest (the rubric, choices, threshold
// and output): the key's hash names an agreement; the other two say which
// part changed.
func (k JudgeKey) Hashes() (key, targets, rubric string) {
	rest := k
	rest.Targets = nil
	return sha(k), sha(k.Targets), sha(rest)
}

// sha is the SHA-256 of v's canonical JSON: compact, object keys sorted
// (encoding/json sorts a map's keys), numbers in their shortest form, text
// in UTF-8 without escapes beyond JSON's own: what Python's json.dumps(v,
// sort_keys=True, separators=(",", ":"), ensure_ascii=False) writes.
func sha(v any) string {
	b, _ := json.Marshal(v) // the key's types always encode
	var tree any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&tree) // what Marshal wrote decodes
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(tree)
	sum := sha256.Sum256(bytes.TrimSuffix(out.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

// Agreement is an LLM judge criterion's verdicts compared with people's on
// the results of one run (rubric agreement), as the history keeps it.
type Agreement struct {
	// Judge is the judge criterion's name; Suite the suite's.
	Judge string `json:"judge"`
	Suite string `json:"suite"`
	RunID string `json:"run_id"`
	// Key, TargetsSHA256 and RubricSHA256 are JudgeKey.Hashes of the judge
	// the run asked; Targets its targets, for people to read.
	Key           string           `json:"key"`
	TargetsSHA256 string           `json:"targets_sha256"`
	RubricSHA256  string           `json:"rubric_sha256"`
	Targets       []JudgeKeyTarget `json:"targets"`
	// Reviewers name where the people's verdicts came from: review
	// sheets, the run's reviews.jsonl, or a metadata field.
	Reviewers []string  `json:"reviewers"`
	Measured  time.Time `json:"measured"`
	// N counts the results both the judge and people rated, which the
	// figures are of. The other results are left out and counted: without
	// a person's verdict, with people split evenly, or with no verdict of
	// the judge (an error, unscored).
	N         int `json:"n"`
	NoReview  int `json:"no_review"`
	Split     int `json:"split,omitempty"`
	NoVerdict int `json:"no_verdict"`
	// Agreement is the share of the N on which they agree; nil when N is 0.
	Agreement *float64 `json:"agreement"`
	// Kappa is Cohen's kappa of the judge and the people's verdict, with
	// its standard error and interval (docs/statistics.md); nil when it
	// is undefined, and KappaUndefined says why.
	Kappa          *float64  `json:"kappa"`
	KappaSE        *float64  `json:"kappa_se,omitempty"`
	KappaCI        *Interval `json:"kappa_ci,omitempty"`
	KappaUndefined string    `json:"kappa_undefined,omitempty"`
	// Alpha is Krippendorff's alpha of the judge and every reviewer, and
	// ReviewersAlpha of the reviewers alone; set with two reviewers or
	// more, when defined.
	Alpha          *float64 `json:"alpha,omitempty"`
	ReviewersAlpha *float64 `json:"reviewers_alpha,omitempty"`
	// Confusion counts the N: rows the judge's verdict, columns the
	// people's, each pass then fail.
	Confusion [2][2]int `json:"confusion"`
	// TPR is the share of the results people failed that the judge failed
	// too; FPR the share of those people passed that the judge failed.
	// Nil when no result is in the denominator.
	TPR *float64 `json:"tpr"`
	FPR *float64 `json:"fpr"`
	// Disagreements are the results on which they disagree, worst first:
	// the judge's score furthest from the people's verdict (1 pass, 0
	// fail), then by target, case and repeat.
	Disagreements []Disagreement `json:"disagreements"`
}

// Disagreement is a result on which the judge and people disagree.
type Disagreement struct {
	CaseID string `json:"case_id"`
	Target string `json:"target"`
	Repeat int    `json:"repeat"`
	// JudgePass and JudgeScore are the judge's verdict; HumanPass the
	// people's, and Humans each reviewer's verdict, "pass" or "fail" (""
	// for one who gave none), in the order of Agreement.Reviewers.
	JudgePass  bool     `json:"judge_pass"`
	JudgeScore float64  `json:"judge_score"`
	HumanPass  bool     `json:"human_pass"`
	Humans     []string `json:"humans,omitempty"`
	// Reason is the judge's.
	Reason string `json:"reason,omitempty"`
}

// Judge agreement statuses (JudgeAgreement.Status).
const (
	AgreementCurrent = "current" // recorded for this rubric and target
	AgreementStale   = "stale"   // recorded, for another rubric or target
	AgreementNone    = "none"    // never recorded
)

// JudgeAgreement is, in a run's report, a judge criterion's key as the run
// asked it, and its agreement with people as the history had it when the
// run ended: the values of the judge.NAME gates, and what rubric agreement
// records its measure under.
type JudgeAgreement struct {
	Judge string `json:"judge"`
	// Key, TargetsSHA256 and RubricSHA256 are the judge's JudgeKey.Hashes
	// in this run; Targets its targets.
	Key           string           `json:"key"`
	TargetsSHA256 string           `json:"targets_sha256"`
	RubricSHA256  string           `json:"rubric_sha256"`
	Targets       []JudgeKeyTarget `json:"targets"`
	// Status is current, stale or none; Why says, for the last two, what
	// changed or how to record one. Empty when the history was not read.
	Status string `json:"status,omitempty"`
	Why    string `json:"why,omitempty"`
	// Agreement is the figures recorded for this key (without their
	// disagreements), when Status is current.
	Agreement *Agreement `json:"agreement,omitempty"`
}

// NewJudgeAgreement returns the entry of judge, whose key is k, without
// its agreement.
func NewJudgeAgreement(judge string, k JudgeKey) JudgeAgreement {
	key, targets, rubric := k.Hashes()
	return JudgeAgreement{Judge: judge, Key: key, TargetsSHA256: targets, RubricSHA256: rubric, Targets: k.Targets}
}

// AgreementHint is how to record a judge's agreement, for messages.
const AgreementHint = "rubric agreement RUN --reviews SHEET"

// NoAgreement is JudgeAgreement.Why for a judge with no agreement recorded
// for its key.
func NoAgreement(judge string) string {
	return fmt.Sprintf("no agreement recorded for judge %s with this rubric and target; run: %s", judge, AgreementHint)
}
