package rundir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// Manifest is run.json: what a run was started with, so that --resume can
// finish it exactly as it began.
type Manifest struct {
	RunID       string            `json:"run_id"`
	Started     time.Time         `json:"started"`
	Suite       string            `json:"suite"`
	SuiteSHA256 string            `json:"suite_sha256"`
	Load        evals.LoadOptions `json:"load"`
	// SecretSet names the --set overrides (TARGET.FIELD) whose values held
	// secrets: Load.Overrides has them with each secret replaced by
	// [REDACTED], and --resume must be given them again.
	SecretSet []string `json:"secret_set,omitempty"`
	Limit     int      `json:"limit,omitempty"`
	Repeat    int      `json:"repeat"`
	// Shard is --shard: the part of the cases (those of the first Limit,
	// with a limit) the run sends; nil for all. A resumed run keeps it.
	Shard *evals.Shard `json:"shard,omitempty"`
	// Baseline is the report of the run compared with (--baseline), an
	// absolute path; ErrorBudget is --error-budget. A resumed run keeps both.
	Baseline string `json:"baseline,omitempty"`
	// Dataset and DatasetSHA256 are the dataset file, an absolute path, and
	// its hash, when the cases are not inline in the suite.
	Dataset       string   `json:"dataset,omitempty"`
	DatasetSHA256 string   `json:"dataset_sha256,omitempty"`
	ErrorBudget   *float64 `json:"error_budget,omitempty"`
	// MaxCost is --max-cost, 0 for none. A resumed run keeps it unless
	// given another.
	MaxCost float64 `json:"max_cost,omitempty"`
	// Queue is the URL of the job queue the run's cases were sent through
	// (rubric run --queue), its password redacted; empty for a run of
	// this process alone.
	Queue string `json:"queue,omitempty"`
	// Kind is "score" for a run that rubric score wrote, from Source: a log
	// read with Mapping, or an earlier run's folder.
	Kind    string `json:"kind,omitempty"`
	Source  string `json:"source,omitempty"`
	Mapping string `json:"mapping,omitempty"`
	// Merged are the run folders (absolute paths) whose journals a run of
	// kind "merge" joined, shard 1 first.
	Merged []string `json:"merged,omitempty"`
	// Batches are the batches the run submitted (targets with batch:
	// true), in order; --resume collects those not yet collected.
	Batches []Batch `json:"batches,omitempty"`
	// Leaks are the options of the leakage check the run's cases went
	// through; a resumed run checks them again with the same.
	Leaks *LeakOptions `json:"leaks,omitempty"`
}

// LeakOptions say what the cases of a run are checked against for leaks
// into training data (docs/leakage.md), besides the manifests each
// suite's project config lists.
type LeakOptions struct {
	// Manifests are the manifests given (--training-manifest); run.json
	// has them absolute.
	Manifests []string `json:"manifests,omitempty"`
	// NGrams compares the cases' 13-grams too (--leak-ngrams), flagging
	// a case from Threshold (the default when 0).
	NGrams    bool    `json:"ngrams,omitempty"`
	Threshold float64 `json:"ngram_threshold,omitempty"`
	// Allow runs the suites anyway, their leaked cases' results marked
	// (--allow-leaks); otherwise a leak fails with exit 2.
	Allow bool `json:"allow,omitempty"`
}

// Batch is one batch a run submitted to a target's batch API.
type Batch struct {
	// ID is the batch's id at the API; API names it (openai, anthropic).
	ID  string `json:"id"`
	API string `json:"api"`
	// Target is the target (or judge) it was sent to; Phase "answers" for
	// the targets' answers, "judges" for the requests of LLM judges.
	Target string `json:"target"`
	Phase  string `json:"phase"`
	// Requests counts the requests in it.
	Requests  int       `json:"requests"`
	Submitted time.Time `json:"submitted"`
	// State is the API's last word on it; Collected is set once its
	// results are read, with the requests Answered and those left
	// Unanswered (expired, canceled, errored, malformed).
	State      string `json:"state,omitempty"`
	Collected  bool   `json:"collected,omitempty"`
	Answered   int    `json:"answered,omitempty"`
	Unanswered int    `json:"unanswered,omitempty"`
}

// KindScore marks the runs rubric score writes; KindMerge those rubric
// merge writes from the runs of a suite's shards.
const (
	KindScore = "score"
	KindMerge = "merge"
)

// Prepare completes the manifest of a new run of suite s, whose options the
// caller has set (RunID, Started, Load, Limit, Repeat, ErrorBudget,
// Baseline): it makes its paths absolute, keeps the secrets of --set out of
// it (the run folder may be kept as a CI artifact; SecretSet names them),
// and hashes the suite and the dataset, which may be large: when ctx ends
// first, it returns ctx's error.
func (m *Manifest) Prepare(ctx context.Context, s *evals.Suite) error {
	m.Suite = abs(s.Path)
	if m.Load.ConfigPath != "" {
		m.Load.ConfigPath = abs(m.Load.ConfigPath)
	}
	if m.Leaks != nil {
		lo := *m.Leaks
		lo.Manifests = make([]string, len(m.Leaks.Manifests))
		for i, p := range m.Leaks.Manifests {
			lo.Manifests[i] = abs(p)
		}
		m.Leaks = &lo
	}
	given := m.Load.Overrides
	m.Load.Overrides, m.SecretSet = nil, nil
	for _, arg := range given {
		shown, secret := evals.RedactOverride(arg)
		m.Load.Overrides = append(m.Load.Overrides, shown)
		if f := evals.OverrideField(arg); secret && !slices.Contains(m.SecretSet, f) {
			m.SecretSet = append(m.SecretSet, f)
		}
	}
	m.SuiteSHA256, _ = FileSHA256(ctx, s.Path)
	if s.Dataset.Path != "" {
		m.Dataset = abs(s.Resolve(s.Dataset.Path))
		m.DatasetSHA256, _ = FileSHA256(ctx, m.Dataset)
	}
	if m.Baseline != "" {
		m.Baseline = abs(m.Baseline)
	}
	return ctx.Err()
}

// abs returns path made absolute, or as it is when that fails.
func abs(path string) string {
	if p, err := filepath.Abs(path); err == nil {
		return p
	}
	return path
}

// FileSHA256 hashes the file at path, streaming: a dataset may be large,
// so it stops when ctx ends.
func FileSHA256(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteManifest writes m as the run.json of the run folder dir.
func WriteManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	// Written whole or not at all: a run that records its batches
	// rewrites it, and a crash must not lose their ids.
	tmp, err := os.CreateTemp(dir, ManifestFile+".*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(append(b, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(dir, ManifestFile))
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}

// ReadManifest reads the run.json of the run folder dir.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("resume: %s is not a run folder (no run.json); give a run id printed by rubric run, with the same --out", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("resume: %s: %w", path, err)
	}
	return &m, nil
}

// CheckInputs refuses to resume when the suite or the dataset changed since
// the run began: the results would mix two versions of the criteria or the
// cases.
func (m *Manifest) CheckInputs(ctx context.Context) error {
	if m.Kind == KindScore {
		return fmt.Errorf("resume %s: the run was written by rubric score, which reads recordings and sends nothing: score %s again", m.RunID, m.Source)
	}
	sum, err := FileSHA256(ctx, m.Suite)
	if err != nil {
		return fmt.Errorf("resume %s: suite %s: %w", m.RunID, m.Suite, err)
	}
	if sum != m.SuiteSHA256 {
		return fmt.Errorf("resume %s: suite %s changed since the run started; its results would mix two versions of the suite: start a new run", m.RunID, m.Suite)
	}
	if m.Dataset != "" {
		sum, err := FileSHA256(ctx, m.Dataset)
		if err != nil {
			return fmt.Errorf("resume %s: dataset %s: %w", m.RunID, m.Dataset, err)
		}
		if sum != m.DatasetSHA256 {
			return fmt.Errorf("resume %s: dataset %s changed since the run started; its results would mix two versions of the cases: start a new run", m.RunID, m.Dataset)
		}
	}
	return nil
}

// ctxReader reads r until ctx ends, then fails with ctx's error.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Overrides returns the run's --set arguments with the secrets that run.json
// does not keep put back from given, the --set arguments of the resume:
// they must give again exactly the fields in SecretSet, each differing from
// what run.json has only in its secrets. resume is the command that resumes
// the run, for the message asking for them.
func (m *Manifest) Overrides(given []string, resume string) ([]string, error) {
	byField := map[string]string{}
	for _, g := range given {
		f := evals.OverrideField(g)
		shown, _ := evals.RedactOverride(g)
		switch {
		case len(m.SecretSet) == 0:
			return nil, fmt.Errorf("run: --resume keeps the options the run started with; --set cannot change them (%s)", shown)
		case !slices.Contains(m.SecretSet, f):
			return nil, fmt.Errorf("run: --resume keeps the options the run started with; --set cannot change them (%s): it may give again only the secrets run.json does not keep, of %s", shown, strings.Join(m.SecretSet, ", "))
		case byField[f] != "":
			return nil, fmt.Errorf("--set %s is given twice", f)
		}
		byField[f] = g
	}
	out := slices.Clone(m.Load.Overrides)
	last := map[string]string{} // field -> the run's last redacted --set of it
	for i, stored := range out {
		f := evals.OverrideField(stored)
		if _, secret := evals.RedactOverride(stored); !secret || !slices.Contains(m.SecretSet, f) {
			continue
		}
		last[f] = stored
		g, ok := byField[f]
		if !ok {
			continue
		}
		if shown, _ := evals.RedactOverride(g); shown != stored {
			return nil, fmt.Errorf("--set %s differs from the run's --set %s in more than its secrets: a resumed run keeps its options", shown, stored)
		}
		out[i] = g
	}
	if len(byField) < len(m.SecretSet) {
		var sets []string
		for _, f := range m.SecretSet {
			sets = append(sets, "--set "+ShellQuote(last[f]))
		}
		return nil, fmt.Errorf("resume %s: run.json does not keep the secrets the run's --set gave; give them again, each %s replaced by its value:\n  %s %s",
			m.RunID, evals.Redacted, resume, strings.Join(sets, " "))
	}
	return out, nil
}

// ShellQuote quotes s for a POSIX shell, unless it needs no quotes.
func ShellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' || r == '/' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
