package session

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// judgeAgreements puts in sum, for each judge criterion of s, its key and,
// from the history, the agreement with people recorded for it: current,
// stale (recorded for another rubric or target) or none. The judge.NAME
// gates read them. Without a history, or when it cannot be read, a gated
// judge's agreement is none, and says why.
func judgeAgreements(ctx context.Context, s *build.Suite, sum *evals.Summary, opts Options) {
	gated := map[string]bool{}
	for _, g := range s.Suite.Gates {
		if g.Ref.Judge != "" {
			gated[g.Ref.Judge] = true
		}
	}
	var h history.Store
	var herr error
	for _, c := range s.Criteria {
		jk, ok := c.Scorer.(evals.JudgeKeyer)
		if !ok || c.Spec.Type != "judge" {
			continue
		}
		ja := evals.NewJudgeAgreement(c.Spec.Name, jk.JudgeKey())
		if gated[ja.Judge] {
			if h == nil && herr == nil {
				h, herr = openForAgreements(opts)
			}
			if herr != nil {
				ja.Status, ja.Why = evals.AgreementNone, fmt.Sprintf("the run history could not be read (%v), so no agreement of judge %s either", herr, ja.Judge)
			} else {
				lookUpAgreement(ctx, h, sum.Suite, &ja)
			}
		}
		sum.JudgeAgreement = append(sum.JudgeAgreement, ja)
	}
}

func openForAgreements(opts Options) (history.Store, error) {
	if opts.History == nil {
		return nil, fmt.Errorf("it is off: --no-history or $%s", history.EnvOff)
	}
	return opts.History()
}

// lookUpAgreement sets ja's status and agreement from h.
func lookUpAgreement(ctx context.Context, h history.Store, suite string, ja *evals.JudgeAgreement) {
	fail := func(err error) {
		ja.Status, ja.Why = evals.AgreementNone, fmt.Sprintf("the agreement of judge %s could not be read: %v", ja.Judge, err)
	}
	cur, err := h.Agreements(ctx, history.AgreementFilter{Suite: suite, Judge: ja.Judge, Key: ja.Key, Limit: 1})
	if err != nil {
		fail(err)
		return
	}
	if len(cur) == 1 {
		a := cur[0]
		a.Disagreements = nil
		ja.Status, ja.Agreement = evals.AgreementCurrent, &a
		return
	}
	last, err := h.Agreements(ctx, history.AgreementFilter{Suite: suite, Judge: ja.Judge, Limit: 1})
	if err != nil {
		fail(err)
		return
	}
	if len(last) == 0 {
		ja.Status, ja.Why = evals.AgreementNone, evals.NoAgreement(ja.Judge)
		return
	}
	var changed []string
	if last[0].RubricSHA256 != ja.RubricSHA256 {
		changed = append(changed, "its rubric (or choices, threshold, output)")
	}
	if last[0].TargetsSHA256 != ja.TargetsSHA256 {
		changed = append(changed, "its target (provider, model or params)")
	}
	ja.Status = evals.AgreementStale
	ja.Why = fmt.Sprintf("the agreement recorded for judge %s (run %s) is stale: %s changed since; run: %s",
		ja.Judge, last[0].RunID, strings.Join(changed, " and "), evals.AgreementHint)
}

// AgreementOptions say what rubric agreement compares.
type AgreementOptions struct {
	// Run is the run folder whose judge verdicts are compared.
	Run string
	// Reviews are reviewed sheets (.csv, .jsonl), or run folders' reviews
	// (a path ending in reviews.jsonl), one reviewer each.
	Reviews []string
	// LabelField is a metadata field of the cases holding a person's
	// verdict; "" for none.
	LabelField string
	// Judges are the judge criteria to compare; all of them when empty.
	Judges []string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Agreements compares the verdicts of the judge criteria of the run in
// opts.Run with people's: the reviewers opts.Reviews and opts.LabelField
// name, or else the run's own reviews.jsonl (from rubric view). A sheet
// that does not read, or a verdict of a result the run does not have, is
// an error naming its file and line (exit 2).
func Agreements(opts AgreementOptions) ([]evals.Agreement, error) {
	fin, err := rundir.ReadRun(opts.Run, "")
	if err != nil {
		return nil, WithCode(ExitBadInput, err)
	}
	sum := fin.Summary
	judges, err := agreementJudges(sum, opts.Judges, fin.Report)
	if err != nil {
		return nil, WithCode(ExitBadInput, err)
	}
	// The results each judge rated, in the journal's order.
	type key = rundir.ReviewKey
	results := map[key]bool{}
	targets := map[string]bool{}
	rated := make([][]runner.Rated, len(judges))
	noVerdict := make([]int, len(judges))
	var labels map[key]*bool
	if opts.LabelField != "" {
		labels = map[key]*bool{}
	}
	_, err = rundir.ReadJournal(fin.Results, func(r *evals.Result) error {
		k := key{CaseID: r.CaseID, Target: r.Target, Repeat: r.Repeat}
		results[k], targets[r.Target] = true, true
		if labels != nil {
			v, err := labelOf(r, opts.LabelField)
			if err != nil {
				return fmt.Errorf("%s: case %s of target %s, repeat %d: %w", fin.Results, r.CaseID, r.Target, r.Repeat, err)
			}
			labels[k] = v
		}
		for i, ja := range judges {
			at := slices.IndexFunc(r.Scores, func(s evals.Score) bool { return s.Name == ja.Judge })
			if at < 0 || r.Scores[at].Unscored {
				noVerdict[i]++
				continue
			}
			sc := r.Scores[at]
			rated[i] = append(rated[i], runner.Rated{CaseID: r.CaseID, Target: r.Target, Repeat: r.Repeat,
				JudgePass: sc.Pass, JudgeScore: sc.Score, Reason: sc.Reason})
		}
		return nil
	})
	if err != nil {
		return nil, WithCode(ExitBadInput, err)
	}
	// Each reviewer's verdicts.
	var names []string
	var verdicts []map[key]*bool
	only := ""
	if len(targets) == 1 {
		for t := range targets {
			only = t
		}
	}
	sources := opts.Reviews
	if len(sources) == 0 && opts.LabelField == "" {
		sources = []string{filepath.Join(filepath.Dir(fin.Report), rundir.ReviewsFile)}
	}
	for _, src := range sources {
		v, err := reviewerVerdicts(src, results, only)
		if err != nil {
			return nil, WithCode(ExitBadInput, err)
		}
		names, verdicts = append(names, src), append(verdicts, v)
	}
	if labels != nil {
		names, verdicts = append(names, "metadata."+opts.LabelField), append(verdicts, labels)
	}
	reviewed := 0
	for _, v := range verdicts {
		for _, x := range v {
			if x != nil {
				reviewed++
			}
		}
	}
	if reviewed == 0 {
		return nil, WithCode(ExitBadInput, fmt.Errorf("%s: no result of run %s has a person's verdict (accept or reject): review it in rubric view, or give --reviews SHEET or --label-field FIELD", strings.Join(names, ", "), sum.RunID))
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	out := make([]evals.Agreement, len(judges))
	for i, ja := range judges {
		a := evals.Agreement{Judge: ja.Judge, Suite: sum.Suite, RunID: sum.RunID, Key: ja.Key,
			TargetsSHA256: ja.TargetsSHA256, RubricSHA256: ja.RubricSHA256, Targets: ja.Targets,
			Reviewers: names, Measured: now().UTC(), NoVerdict: noVerdict[i]}
		for j := range rated[i] {
			it := &rated[i][j]
			k := key{CaseID: it.CaseID, Target: it.Target, Repeat: it.Repeat}
			it.Humans = make([]*bool, len(verdicts))
			for v := range verdicts {
				it.Humans[v] = verdicts[v][k]
			}
		}
		runner.Agree(&a, rated[i], sum.Statistics.Confidence)
		out[i] = a
	}
	return out, nil
}

// agreementJudges returns the judge criteria of the run's report that
// names selects (all when empty), with the keys the run asked them under.
func agreementJudges(sum *evals.Summary, names []string, report string) ([]evals.JudgeAgreement, error) {
	if len(sum.JudgeAgreement) == 0 {
		return nil, fmt.Errorf("%s: run %s records no LLM judge criterion (rubric records a judge's key in runs since it measures agreement): rescore it with rubric score --run %s", report, sum.RunID, sum.RunID)
	}
	if len(names) == 0 {
		return sum.JudgeAgreement, nil
	}
	var out []evals.JudgeAgreement
	for _, n := range names {
		at := slices.IndexFunc(sum.JudgeAgreement, func(j evals.JudgeAgreement) bool { return j.Judge == n })
		if at < 0 {
			var have []string
			for _, j := range sum.JudgeAgreement {
				have = append(have, j.Judge)
			}
			return nil, fmt.Errorf("--criterion %s: not a judge criterion of run %s (its judges: %s)", n, sum.RunID, strings.Join(have, ", "))
		}
		out = append(out, sum.JudgeAgreement[at])
	}
	return out, nil
}

// reviewerVerdicts reads one reviewer's verdicts: a reviewed sheet, or a
// run folder's reviews.jsonl. accept is a pass, reject a fail; skip, no
// verdict, and a corrected answer without one, no verdict. results are the
// run's; only is its target when it has one, for a sheet without a target
// column.
func reviewerVerdicts(src string, results map[rundir.ReviewKey]bool, only string) (map[rundir.ReviewKey]*bool, error) {
	out := map[rundir.ReviewKey]*bool{}
	if filepath.Base(src) == rundir.ReviewsFile {
		if _, err := os.Stat(src); err != nil {
			return nil, fmt.Errorf("%s: %w (review the run's results in rubric view, or give --reviews SHEET)", src, err)
		}
		rs, err := rundir.ReadReviews(filepath.Dir(src))
		if err != nil {
			return nil, err
		}
		for k, r := range rs {
			if !results[k] {
				return nil, fmt.Errorf("%s: a review of case %s of target %s, repeat %d, which the run does not have", src, k.CaseID, k.Target, k.Repeat)
			}
			out[k] = verdictOf(r.Verdict)
		}
		return out, nil
	}
	lines := map[rundir.ReviewKey]int{}
	err := datasets.ReviewVerdicts(src, func(v datasets.ReviewVerdict) error {
		where := fmt.Sprintf("%s:%d", src, v.Line)
		if v.Target == "" {
			if only == "" {
				return fmt.Errorf("%s: %s: empty, and the run has several targets: expected the result's target", where, datasets.ColTarget)
			}
			v.Target = only
		}
		k := rundir.ReviewKey{CaseID: v.CaseID, Target: v.Target, Repeat: v.Repeat}
		if !results[k] {
			return fmt.Errorf("%s: case %s of target %s, repeat %d is not a result of the run: is the sheet of another run?", where, v.CaseID, v.Target, v.Repeat)
		}
		got := verdictOf(v.Verdict)
		if prev, dup := lines[k]; dup && !sameVerdict(out[k], got) {
			return fmt.Errorf("%s: case %s of target %s, repeat %d is also on line %d, with another verdict: keep one of the two rows", where, v.CaseID, v.Target, v.Repeat, prev)
		}
		lines[k], out[k] = v.Line, got
		return nil
	})
	return out, err
}

// verdictOf is a review's verdict as a pass (true), a fail (false) or none.
func verdictOf(v string) *bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case datasets.VerdictAccept:
		return new(true)
	case datasets.VerdictReject:
		return new(false)
	}
	return nil
}

func sameVerdict(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// labelOf reads a person's verdict from the case's metadata field: true,
// "pass" or "accept" is a pass; false, "fail" or "reject" a fail; absent,
// null or "" none.
func labelOf(r *evals.Result, field string) (*bool, error) {
	v, ok := r.Metadata[field]
	if !ok || v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case bool:
		return &x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "":
			return nil, nil
		case "pass", "accept", "true", "yes":
			return new(true), nil
		case "fail", "reject", "false", "no":
			return new(false), nil
		}
	}
	b, _ := json.Marshal(v) // a value decoded from JSON encodes
	return nil, fmt.Errorf("metadata.%s: got %s, expected true or false, pass or fail, accept or reject", field, b)
}
