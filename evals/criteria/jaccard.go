package criteria

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/rubric-eval/rubric/evals"
)

var _ evals.Scorer = (*Jaccard)(nil)

type jaccardConfig struct {
	commonConfig
	Value json.RawMessage `json:"value"`
}

// Jaccard is the scorer of the jaccard criterion: the Jaccard similarity of
// the set of words of the output and that of a reference, |A ∩ B| / |A ∪ B|,
// the best over several references. Words are runs of letters and digits
// (Unicode), lowercased, so word order, repeats and punctuation do not
// count; two texts without a word are alike.
type Jaccard struct {
	common
	values values
}

func newJaccard(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c jaccardConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newCommon(&c.commonConfig)
	if err != nil {
		return nil, err
	}
	if c.Threshold == nil {
		return nil, evals.FieldErrorf("threshold", "missing: jaccard gives scores from 0 to 1, so say which score passes: expected a number from 0 to 1 (e.g. 0.5)")
	}
	vals, err := parseValues(c.Value, cm.norm, "")
	if err != nil {
		return nil, err
	}
	return &Jaccard{common: cm, values: vals}, nil
}

// Score implements evals.Scorer.
func (j *Jaccard) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	var buf [8]string
	refs, why, ok := j.values.resolve(in, j.norm, buf[:0])
	if !ok {
		return unscored(why)
	}
	s, why, ok := j.subject(in.Output)
	if !ok {
		return j.verdict(0, why)
	}
	out := wordSet(s)
	best, at := -1.0, 0
	for i, r := range refs {
		if sim := jaccard(out, wordSet(r)); sim > best {
			best, at = sim, i
		}
	}
	if best == 1 {
		return j.verdict(1, "")
	}
	return j.verdict(best, fmt.Sprintf("Jaccard similarity %s to %s: got %s", num(best), quote(refs[at]), quote(s)))
}

// wordSet is the set of the words of s, lowercased.
func wordSet(s string) map[string]struct{} {
	words := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	set := make(map[string]struct{}, len(words))
	for _, w := range words {
		set[strings.ToLower(w)] = struct{}{}
	}
	return set
}

// jaccard is |a ∩ b| / |a ∪ b|, and 1 for two empty sets.
func jaccard(a, b map[string]struct{}) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	both := 0
	for w := range a {
		if _, ok := b[w]; ok {
			both++
		}
	}
	return float64(both) / float64(len(a)+len(b)-both)
}
