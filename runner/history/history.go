// Package history is rubric's memory across runs: every run, rescore and
// merge is recorded with its aggregates, its gate verdict and an index of
// its cases, so that runs can be listed, named (SUITE@latest, SUITE@~1),
// followed as trends and compared without reading their folders.
//
// The history is a SQLite file, history.db, next to the response cache's
// rubric.db (runner/store): a separate file, because the cache is a cache
// (rubric cache clear, or deleting the file, must never lose the record of
// past runs) while the history is a record. A team shares one history in
// PostgreSQL instead (RUBRIC_DB=postgres://..., a later change); both keep
// the same schema, behind Store.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// Run is one recorded run: what ran, when, where its folder is, and its
// report.
type Run struct {
	ID string `json:"run_id"`
	// Kind is "run", "score" (a rescore) or "merge".
	Kind         string `json:"kind"`
	Suite        string `json:"suite"`
	SuiteVersion string `json:"suite_version,omitempty"`
	// SuiteSHA256 and DatasetSHA256 are the hashes of the suite file and of
	// its dataset file ("" for inline cases), as run.json records them.
	SuiteSHA256   string `json:"suite_sha256,omitempty"`
	DatasetSHA256 string `json:"dataset_sha256,omitempty"`
	// Targets are the targets run, in report order.
	Targets []Target `json:"targets"`
	// GitCommit and GitBranch say what the suite's repository was at, when
	// it is one (or from GITHUB_SHA and GITHUB_REF_NAME in CI).
	GitCommit string    `json:"git_commit,omitempty"`
	GitBranch string    `json:"git_branch,omitempty"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	// Complete is false for a run that was interrupted; GateHeld is the
	// gate's verdict (nil when the run has no gate).
	Complete bool  `json:"complete"`
	GateHeld *bool `json:"gate_held,omitempty"`
	// Dir is the run folder, an absolute path on Host, the machine that
	// recorded or pushed the run (os.Hostname; "" for a run recorded before
	// rubric recorded hosts, taken for this machine's). Missing is set by
	// Runs and Get when the folder of a run of this machine is gone (moved
	// or deleted): the record stays until Prune forgets it. A run of
	// another machine is never missing: its folder is elsewhere
	// (Run.Elsewhere).
	Dir     string `json:"dir"`
	Host    string `json:"host,omitempty"`
	Missing bool   `json:"missing,omitempty"`
	// Report is the run's report.json, the aggregates as the run wrote
	// them; nil in the lists Runs returns, which leave it out to stay
	// small.
	Report json.RawMessage `json:"report,omitempty"`
}

// Target is a target of a run, with its headline figures.
type Target struct {
	Name     string  `json:"name"`
	Provider string  `json:"provider"`
	Model    string  `json:"model,omitempty"`
	Cases    int     `json:"cases"`
	Passed   int     `json:"passed"`
	PassRate float64 `json:"pass_rate"`
	// PassRateLo and PassRateHi are the pass rate's interval.
	PassRateLo float64 `json:"pass_rate_lo"`
	PassRateHi float64 `json:"pass_rate_hi"`
	Mean       float64 `json:"mean"`
}

// Case is one result in the case index: enough to filter, page and compare
// a run's results without reading its journal, and where to read the
// result when it is wanted (Off and Len in results.jsonl).
type Case struct {
	RunID  string   `json:"run_id"`
	Target string   `json:"target"`
	CaseID string   `json:"case_id"`
	Repeat int      `json:"repeat"`
	Status string   `json:"status"`
	Score  *float64 `json:"score,omitempty"`
	// Failed names the criteria that failed or could not score; ErrorKind
	// is the error's kind for a result that is one.
	Failed    []string `json:"failed,omitempty"`
	ErrorKind string   `json:"error_kind,omitempty"`
	// Slices are the slice keys of the result: "tag=X", "FIELD=VALUE".
	Slices []string `json:"slices,omitempty"`
	Off    int64    `json:"off"`
	Len    int      `json:"len"`
	// Result is the result's line of results.jsonl, stored with the index
	// when Record is given it (rubric push does, so that a team's viewer
	// shows the cases of a run whose folder is on another machine; a run
	// recorded where it ran does not, to keep the local history small).
	// Cases leaves it out: Store.Result reads it.
	Result []byte `json:"-"`
}

// Filter selects runs; its zero value selects all of them.
type Filter struct {
	Suite  string // the suite's name
	Target string // runs that ran this target
	Limit  int    // at most this many, newest first; 0 for all
}

// Store is a history. Its methods are safe for concurrent use.
type Store interface {
	// Record adds a run, or replaces the record of the run with its id (a
	// resumed run is recorded again when it ends), with its case index:
	// cases calls add with every case, in any order.
	Record(ctx context.Context, r *Run, cases func(add func(Case) error) error) error
	// Runs lists the runs f selects, newest first (by start time), without
	// their reports.
	Runs(ctx context.Context, f Filter) ([]Run, error)
	// Get returns one run, with its report; ErrNotFound when none has id.
	Get(ctx context.Context, id string) (*Run, error)
	// Cases calls fn with the indexed cases of a run, in target, case id
	// and repeat order, until fn returns an error (returned, unless it is
	// ErrStop).
	Cases(ctx context.Context, runID string, fn func(Case) error) error
	// Result returns the result's line stored with the case of run runID
	// (Case.Result), nil when the run was recorded without results;
	// ErrNotFound when the history has no such run or case.
	Result(ctx context.Context, runID, target, caseID string, repeat int) ([]byte, error)
	// Forget removes runs and their case indexes (not the agreements
	// measured on them, which belong to their judges).
	Forget(ctx context.Context, ids ...string) error
	// RecordAgreement adds an LLM judge's agreement with people, measured
	// on a run (rubric agreement), in place of one of the same run, judge
	// and key.
	RecordAgreement(ctx context.Context, a *evals.Agreement) error
	// Agreements lists the agreements f selects, newest first (by when
	// they were measured).
	Agreements(ctx context.Context, f AgreementFilter) ([]evals.Agreement, error)
	Close() error
}

// Agreement is an LLM judge's agreement with people as the history keeps
// it: evals.Agreement, which rubric agreement measures and reports read.
type Agreement = evals.Agreement

// AgreementFilter selects agreements; its zero value selects all of them.
type AgreementFilter struct {
	Suite string // of the suite with this name
	Judge string // of the judge criterion with this name
	Key   string // of a judge with this key (evals.JudgeKey.Hashes)
	Limit int    // at most this many, newest first; 0 for all
}

// Elsewhere reports whether r was recorded on another machine than this
// one: its folder is there, not here, and never missing.
func (r *Run) Elsewhere() bool { return r.Host != "" && r.Host != Hostname() }

// Hostname is this machine's name, as runs record it (os.Hostname; "" when
// it cannot be had).
var Hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// ErrNotFound is the error of a run that is not in the history.
var ErrNotFound = errors.New("no such run in the history")

// ErrStop, returned by a Cases callback, ends the walk without an error.
var ErrStop = errors.New("stop")
