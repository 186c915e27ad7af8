package export

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// Selection says which results to export. A result is selected when it
// meets every filter set; with none set, every result is.
type Selection struct {
	// Failed keeps results whose status is failed (not errors, not unscored).
	Failed bool
	// Criteria keeps results on which each named criterion scored and failed.
	Criteria []string
	// Below keeps results whose case score is below the value; a result
	// without a score (an error, or nothing scored) is not below anything.
	Below *float64
	// Unscored keeps results on which some criterion could not score.
	Unscored bool
	// Targets keeps the results of any of the named targets.
	Targets []string
	// Slices keeps the results in every slice named: "tag=T" (the case has
	// tag T), "metadata.FIELD=VALUE" (the case's metadata field, as text,
	// equals VALUE; FIELD may be a dotted path), or any other "KEY=VALUE",
	// which means the tag "KEY=VALUE", as in domain=billing.
	Slices []string
	// Baseline, when set, is the results.jsonl of an earlier run: only
	// regressions are kept, results that fail now and passed there, matched
	// by case id, target and repeat, or, with BaselineTarget, by case id and
	// repeat against that target's results in the baseline.
	Baseline       string
	BaselineTarget string
}

type slice struct {
	tag   string   // when path is nil
	path  []string // metadata path
	value string
	text  string // as given
}

type baseKey struct {
	caseID, target string
	repeat         int
}

// compiled is a Selection ready to match results.
type compiled struct {
	Selection
	slices []slice
	passed map[baseKey]bool // the baseline's passing results
}

func (s Selection) compile() (*compiled, error) {
	c := &compiled{Selection: s}
	for _, text := range s.Slices {
		k, v, ok := strings.Cut(text, "=")
		switch {
		case !ok || k == "":
			return nil, fmt.Errorf("--slice %q: expected tag=TAG, metadata.FIELD=VALUE or a tag such as domain=billing", text)
		case k == "tag":
			c.slices = append(c.slices, slice{tag: v, text: text})
		case strings.HasPrefix(k, "metadata."):
			path := strings.Split(strings.TrimPrefix(k, "metadata."), ".")
			if slices.Contains(path, "") {
				return nil, fmt.Errorf("--slice %q: empty field name in %q", text, k)
			}
			c.slices = append(c.slices, slice{path: path, value: v, text: text})
		default:
			c.slices = append(c.slices, slice{tag: text, text: text})
		}
	}
	if s.BaselineTarget != "" && s.Baseline == "" {
		return nil, fmt.Errorf("--baseline-target goes with --regressed")
	}
	if s.Baseline != "" {
		c.passed = map[baseKey]bool{}
		_, err := rundir.ReadJournal(s.Baseline, func(r *evals.Result) error {
			if r.Status != evals.StatusPassed || (s.BaselineTarget != "" && r.Target != s.BaselineTarget) {
				return nil
			}
			c.passed[c.baseKey(r.CaseID, r.Target, r.Repeat)] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("--regressed: %w", err)
		}
	}
	return c, nil
}

func (c *compiled) baseKey(caseID, target string, repeat int) baseKey {
	if c.BaselineTarget != "" {
		target = ""
	}
	return baseKey{caseID, target, repeat}
}

// match reports whether r is selected.
func (c *compiled) match(r *evals.Result) bool {
	if c.Failed && r.Status != evals.StatusFailed {
		return false
	}
	if len(c.Targets) > 0 && !slices.Contains(c.Targets, r.Target) {
		return false
	}
	if c.Below != nil && (r.Score == nil || !(*r.Score < *c.Below)) {
		return false
	}
	if c.Unscored && !slices.ContainsFunc(r.Scores, func(s evals.Score) bool { return s.Unscored }) {
		return false
	}
	for _, name := range c.Criteria {
		i := slices.IndexFunc(r.Scores, func(s evals.Score) bool { return s.Name == name })
		if i < 0 || r.Scores[i].Unscored || r.Scores[i].Pass {
			return false
		}
	}
	for _, s := range c.slices {
		if !s.has(r) {
			return false
		}
	}
	if c.passed != nil && (r.Status != evals.StatusFailed || !c.passed[c.baseKey(r.CaseID, r.Target, r.Repeat)]) {
		return false
	}
	return true
}

func (s slice) has(r *evals.Result) bool {
	if s.path == nil {
		return slices.Contains(r.Tags, s.tag)
	}
	var v any = r.Metadata
	for _, seg := range s.path {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[seg]; !ok {
			return false
		}
	}
	return v != nil && datasets.CellText(v) == s.value
}

// check refuses names that the run does not have: a typo would otherwise
// select nothing, silently.
func (c *compiled) check(criteria, targets []string) error {
	for _, name := range c.Criteria {
		if !slices.Contains(criteria, name) {
			return fmt.Errorf("--criterion %s: no result has this criterion: expected one of %s", name, strings.Join(criteria, ", "))
		}
	}
	for _, name := range c.Targets {
		if !slices.Contains(targets, name) {
			return fmt.Errorf("--target %s: the run has no such target: expected one of %s", name, strings.Join(targets, ", "))
		}
	}
	return nil
}
