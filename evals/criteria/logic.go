package criteria

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

var (
	_ evals.Scorer = (*Not)(nil)
	_ evals.Scorer = (*Group)(nil)
	_ io.Closer    = (*Not)(nil)
	_ io.Closer    = (*Group)(nil)
)

type notConfig struct {
	commonConfig
	Criterion json.RawMessage `json:"criterion"`
}

type groupConfig struct {
	commonConfig
	Criteria json.RawMessage `json:"criteria"`
}

// newHolderCommon builds the common part of a criterion that judges through
// the criteria it holds (not, all, any, weighted, json-field). It takes
// extract, applied before its criteria see the output, but not normalize,
// which belongs to the criteria that compare. ownThreshold is false for the
// types whose verdict follows from their criteria's verdicts, which take no
// threshold of their own.
func newHolderCommon(typ string, c *commonConfig, ownThreshold bool) (common, error) {
	if c.Normalize != nil {
		return common{}, evals.FieldErrorf("normalize", "does not apply to criterion type %q: set it on the criteria it holds, which compare", typ)
	}
	if c.Threshold != nil && !ownThreshold {
		return common{}, evals.FieldErrorf("threshold", "does not apply to criterion type %q: it passes or fails with the criteria it holds; set thresholds on them", typ)
	}
	return newCommon(c)
}

// held returns the input the held criteria see: in, with its output
// extracted when the criterion has extract. When extraction fails, ok is
// false with the failing verdict.
func (c *common) held(in *evals.Input) (*evals.Input, evals.Verdict, bool) {
	if c.extract == nil {
		return in, evals.Verdict{}, true
	}
	s, why, ok := c.extract.apply(in.Output)
	if !ok {
		return nil, c.verdict(0, "extract: "+why), false
	}
	sub := *in
	sub.Output = s
	return &sub, evals.Verdict{}, true
}

// heldAsIs is what the criteria held see of in, as held says, or in as it
// is when extract finds nothing in its output: for Calls, which answers as
// if every response were scored.
func (c *common) heldAsIs(in *evals.Input) *evals.Input {
	if sub, _, ok := c.held(in); ok {
		return sub
	}
	return in
}

// Not passes when the criterion it holds fails. Its score is 1 minus that
// criterion's score; when that criterion is unscored, so is Not.
type Not struct {
	common
	inner child
}

// Close closes the criterion it negates.
func (n *Not) Close() error { return closeChildren(n.inner) }

func newNot(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	var c notConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newHolderCommon(spec.Type, &c.commonConfig, false)
	if err != nil {
		return nil, err
	}
	if c.Criterion == nil {
		return nil, evals.FieldErrorf("criterion", `missing: expected the criterion to negate, e.g. {"type": "contains", "value": "sorry"}`)
	}
	inner, err := newChild(c.Name, "criterion", 0, c.Criterion, false, env)
	if err != nil {
		return nil, err
	}
	return &Not{common: cm, inner: inner}, nil
}

// Score implements evals.Scorer.
func (n *Not) Score(ctx context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	sub, v, ok := n.held(in)
	if !ok {
		return v
	}
	iv := n.inner.scorer.Score(ctx, sub)
	if iv.Unscored {
		return unscored(childReason(n.inner.name, iv.Reason))
	}
	v = evals.Verdict{Score: 1 - iv.Score, Pass: !iv.Pass}
	switch {
	case iv.Pass:
		v.Reason = fmt.Sprintf("%s (%s) passed with score %s, expected it to fail", strconv.Quote(n.inner.name), n.inner.typ, formatScore(iv.Score))
	case v.Score < 1:
		v.Reason = fmt.Sprintf("%s failed as expected but scored %s: %s", strconv.Quote(n.inner.name), formatScore(iv.Score), evals.Clip(iv.Reason, maxChildReason))
	}
	return v
}

var _ evals.Caller = (*Not)(nil)

// Calls implements evals.Caller with the calls of the criterion it negates.
func (n *Not) Calls(in *evals.Input) ([]evals.Call, error) {
	return childCalls(n.heldAsIs(in), n.inner)
}

// groupKind is how a Group combines the verdicts of its criteria.
type groupKind uint8

const (
	groupAll groupKind = iota
	groupAny
	groupWeighted
)

// Group combines the verdicts of the criteria it holds, in three-valued
// logic: a criterion that is unscored is unknown.
//
//	all       fails when a scored criterion fails; else is unscored when one
//	          is unscored; else passes. Its score is the lowest score of
//	          the scored criteria.
//	any       passes when a criterion passes; else is unscored when one is
//	          unscored; else fails. Its score is the highest score of the
//	          scored criteria.
//	weighted  scores the weighted mean of the scored criteria's scores (the
//	          plain mean when all their weights are 0) and passes at its
//	          threshold; it is unscored when no criterion is scored.
type Group struct {
	common
	kind     groupKind
	children []child
}

// Close closes the criteria of the group.
func (g *Group) Close() error { return closeChildren(g.children...) }

func newAll(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	return newGroup(spec, env, groupAll)
}

func newAny(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	return newGroup(spec, env, groupAny)
}

func newWeighted(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	return newGroup(spec, env, groupWeighted)
}

func newGroup(spec evals.CriterionSpec, env Env, kind groupKind) (evals.Scorer, error) {
	var c groupConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newHolderCommon(spec.Type, &c.commonConfig, kind == groupWeighted)
	if err != nil {
		return nil, err
	}
	children, err := newChildren(c.Name, "criteria", c.Criteria, kind == groupWeighted, env)
	if err != nil {
		return nil, err
	}
	return &Group{common: cm, kind: kind, children: children}, nil
}

var _ evals.Caller = (*Group)(nil)

// Calls implements evals.Caller with the calls of the criteria it holds.
func (g *Group) Calls(in *evals.Input) ([]evals.Call, error) {
	return childCalls(g.heldAsIs(in), g.children...)
}

// Score implements evals.Scorer.
func (g *Group) Score(ctx context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	sub, v, ok := g.held(in)
	if !ok {
		return v
	}
	var (
		buf                [8]evals.Verdict
		verdicts           = buf[:0]
		scored, passed     int
		lo, hi             = 1.0, 0.0
		sum, wsum, plain   float64
		anyUnscored        bool
		firstFail, firstUn = -1, -1
	)
	for i, c := range g.children {
		cv := c.scorer.Score(ctx, sub)
		verdicts = append(verdicts, cv)
		if cv.Unscored {
			anyUnscored = true
			if firstUn < 0 {
				firstUn = i
			}
			continue
		}
		scored++
		lo, hi = min(lo, cv.Score), max(hi, cv.Score)
		sum += c.weight * cv.Score
		wsum += c.weight
		plain += cv.Score
		if cv.Pass {
			passed++
		} else if firstFail < 0 {
			firstFail = i
		}
	}
	n := len(g.children)
	switch g.kind {
	case groupAll:
		switch {
		case firstFail >= 0:
			return evals.Verdict{Score: lo, Reason: fmt.Sprintf("%d of %d failed: %s", scored-passed, n, g.list(verdicts, failing))}
		case anyUnscored:
			return unscored(fmt.Sprintf("none failed, but %s", g.list(verdicts, isUnscored)))
		case lo < 1:
			return evals.Verdict{Score: lo, Pass: true, Reason: "all passed; lowest: " + g.list(verdicts, scoredBelow(lo))}
		}
		return evals.Verdict{Score: 1, Pass: true}
	case groupAny:
		switch {
		case passed > 0:
			v := evals.Verdict{Score: hi, Pass: true}
			if hi < 1 {
				v.Reason = "passed: " + g.list(verdicts, scoredAt(hi))
			}
			return v
		case anyUnscored:
			return unscored(fmt.Sprintf("none passed, and %s", g.list(verdicts, isUnscored)))
		}
		return evals.Verdict{Score: hi, Reason: fmt.Sprintf("none of %d passed: %s", n, g.list(verdicts, failing))}
	}
	if scored == 0 {
		return unscored("no criterion scored: " + g.list(verdicts, isUnscored))
	}
	score := plain / float64(scored)
	if wsum > 0 {
		score = sum / wsum
	}
	score = min(max(score, 0), 1) // rounding must not leave [0,1]
	v = g.verdict(score, "")
	if score < 1 {
		v.Reason = fmt.Sprintf("score %s: %s", formatScore(score), g.list(verdicts, below1))
	}
	return v
}

// Filters of the criteria a reason lists.
func failing(v evals.Verdict) bool    { return !v.Unscored && !v.Pass }
func isUnscored(v evals.Verdict) bool { return v.Unscored }
func below1(v evals.Verdict) bool     { return v.Unscored || v.Score < 1 }
func scoredBelow(lo float64) func(evals.Verdict) bool {
	return func(v evals.Verdict) bool { return !v.Unscored && v.Score == lo }
}
func scoredAt(hi float64) func(evals.Verdict) bool {
	return func(v evals.Verdict) bool { return !v.Unscored && v.Pass && v.Score == hi }
}

// maxListed is how many criteria a group's reason lists.
const maxListed = 5

// maxChildReason is how many runes of a held criterion's reason a reason quotes.
const maxChildReason = 160

// list names the criteria whose verdicts keep, each with its verdict and
// reason: `"tone" failed (0): got "x"…; "length" unscored: …`.
func (g *Group) list(verdicts []evals.Verdict, keep func(evals.Verdict) bool) string {
	var b strings.Builder
	n := 0
	for i, v := range verdicts {
		if !keep(v) {
			continue
		}
		if n == maxListed {
			more := 0
			for _, w := range verdicts[i:] {
				if keep(w) {
					more++
				}
			}
			fmt.Fprintf(&b, "; and %d more", more)
			break
		}
		if n > 0 {
			b.WriteString("; ")
		}
		n++
		b.WriteString(strconv.Quote(g.children[i].name))
		switch {
		case v.Unscored:
			b.WriteString(" unscored")
		case v.Pass:
			fmt.Fprintf(&b, " passed (%s)", formatScore(v.Score))
		default:
			fmt.Fprintf(&b, " failed (%s)", formatScore(v.Score))
		}
		if v.Reason != "" {
			b.WriteString(": ")
			b.WriteString(evals.Clip(v.Reason, maxChildReason))
		}
	}
	return b.String()
}

// childReason prefixes the reason of a held criterion with its name.
func childReason(name, reason string) string {
	return strconv.Quote(name) + ": " + evals.Clip(reason, maxChildReason)
}

// formatScore writes a score with up to 4 decimals: 1, 0.5, 0.6667.
func formatScore(s float64) string {
	return strconv.FormatFloat(float64(int64(s*1e4+0.5))/1e4, 'f', -1, 64)
}
