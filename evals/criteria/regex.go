package criteria

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/rubric-eval/rubric/evals"
)

var _ evals.Scorer = (*Regex)(nil)

type regexConfig struct {
	commonConfig
	Pattern *string         `json:"pattern"`
	Value   json.RawMessage `json:"value"`
	Group   json.RawMessage `json:"group"`
}

// Regex passes when a regular expression matches the output or, when the
// criterion has values, when a group of the first match equals one of them.
type Regex struct {
	common
	re        *regexp.Regexp
	group     int
	groupName string
	values    *values // nil: any match passes
}

func newRegex(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c regexConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newCommon(&c.commonConfig)
	if err != nil {
		return nil, err
	}
	if c.Pattern == nil {
		return nil, evals.FieldErrorf("pattern", "missing: expected a regular expression (Go RE2 syntax)")
	}
	r := &Regex{common: cm}
	if r.re, err = compileRegex(*c.Pattern, "pattern"); err != nil {
		return nil, err
	}
	if len(c.Value) == 0 {
		if len(c.Group) > 0 {
			return nil, evals.FieldErrorf("group", `"group" applies only with "value": without one, any match passes`)
		}
		return r, nil
	}
	if r.group, r.groupName, err = parseGroup(c.Group, r.re, "group"); err != nil {
		return nil, err
	}
	vals, err := parseValues(c.Value, cm.norm, "")
	if err != nil {
		return nil, err
	}
	r.values = &vals
	return r, nil
}

// Score implements evals.Scorer.
func (r *Regex) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	var (
		buf  [8]string
		vals []string
		why  string
		ok   bool
	)
	if r.values != nil {
		if vals, why, ok = r.values.resolve(in, r.norm, buf[:0]); !ok {
			return unscored(why)
		}
	}
	s, why, ok := r.subject(in.Output)
	if !ok {
		return r.verdict(0, why)
	}
	if r.values == nil {
		if r.re.MatchString(s) {
			return r.verdict(1, "")
		}
		return r.verdict(0, fmt.Sprintf("no match for %s in %s", quoteRegex(r.re), quote(s)))
	}
	got, why, ok := regexGroup(r.re, r.group, r.groupName, s)
	if !ok {
		return r.verdict(0, why)
	}
	got = r.norm.apply(got)
	for _, v := range vals {
		if got == v {
			return r.verdict(1, "")
		}
	}
	return r.verdict(0, fmt.Sprintf("%s of %s is %s, expected %s", r.groupName, quoteRegex(r.re), quote(got), oneOf(vals)))
}
