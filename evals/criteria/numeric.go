package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

var _ evals.Scorer = (*Numeric)(nil)

type numericConfig struct {
	commonConfig
	Value             json.RawMessage `json:"value"`
	Tolerance         *float64        `json:"tolerance"`
	RelativeTolerance *float64        `json:"relative_tolerance"`
	Pick              string          `json:"pick"`
	Percent           string          `json:"percent"`
}

// Numeric passes when the number it finds in the output is within tolerance
// of one of its values, or of the case's expected answer.
type Numeric struct {
	common
	values values
	want   []float64 // the values, when none is a template
	tol    float64   // absolute tolerance
	relTol float64   // tolerance relative to the expected value
	last   bool      // take the output's last number, not its first
	pct    textmetric.Percent
}

func newNumeric(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c numericConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newCommon(&c.commonConfig)
	if err != nil {
		return nil, err
	}
	n := &Numeric{common: cm, last: true}
	for _, t := range []struct {
		field string
		v     *float64
		dst   *float64
	}{{"tolerance", c.Tolerance, &n.tol}, {"relative_tolerance", c.RelativeTolerance, &n.relTol}} {
		if t.v != nil {
			if !(*t.v >= 0) || math.IsInf(*t.v, 0) {
				return nil, evals.FieldErrorf(t.field, "expected a number >= 0, got %v", *t.v)
			}
			*t.dst = *t.v
		}
	}
	switch c.Pick {
	case "", "last":
	case "first":
		n.last = false
	default:
		return nil, evals.FieldErrorf("pick", `unknown pick %q: expected "first" or "last"`, c.Pick)
	}
	switch c.Percent {
	case "", "number":
	case "fraction":
		n.pct = textmetric.PercentFraction
	default:
		return nil, evals.FieldErrorf("percent", `unknown percent %q: expected "number" (12.5%% is 12.5) or "fraction" (12.5%% is 0.125)`, c.Percent)
	}
	value := numbersAsText(c.Value)
	if n.values, err = parseValues(value, cm.norm, ""); err != nil {
		return nil, err
	}
	if n.values.static != nil {
		for i, text := range n.values.static {
			v, err := textmetric.ParseNumber(text, n.pct)
			if err != nil {
				field := "value"
				if value[0] == '[' {
					field += "." + strconv.Itoa(i)
				}
				return nil, evals.FieldErrorf(field, "%q: %v: expected one number", text, err)
			}
			n.want = append(n.want, v)
		}
	}
	return n, nil
}

// numbersAsText rewrites the JSON numbers of a value, alone or in an array,
// as JSON strings, so that "value": 42 means "value": "42".
func numbersAsText(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	isNum := func(b []byte) bool { return len(b) > 0 && (b[0] == '-' || ('0' <= b[0] && b[0] <= '9')) }
	quoted := func(b []byte) json.RawMessage { q, _ := json.Marshal(string(b)); return q }
	switch {
	case isNum(raw):
		return quoted(raw)
	case len(raw) > 0 && raw[0] == '[':
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return raw // parseValues reports it
		}
		for i, e := range elems {
			if e = bytes.TrimSpace(e); isNum(e) {
				elems[i] = quoted(e)
			}
		}
		out, _ := json.Marshal(elems)
		return out
	}
	return raw
}

// Score implements evals.Scorer.
func (n *Numeric) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	want := n.want
	if want == nil {
		var buf [8]string
		texts, why, ok := n.values.resolve(in, n.norm, buf[:0])
		if !ok {
			return unscored(why)
		}
		want = make([]float64, len(texts))
		for i, text := range texts {
			v, err := textmetric.ParseNumber(text, n.pct)
			if err != nil {
				return unscored(fmt.Sprintf("expected %s: %v", quote(text), err))
			}
			want[i] = v
		}
	}
	s, why, ok := n.subject(in.Output)
	if !ok {
		return n.verdict(0, why)
	}
	find, which := textmetric.FirstNumber, "first"
	if n.last {
		find, which = textmetric.LastNumber, "last"
	}
	got, ok := find(s, n.pct)
	if !ok {
		return n.verdict(0, "no number in "+quote(s))
	}
	for _, w := range want {
		if math.Abs(got.Value-w) <= n.tolerance(w) {
			return n.verdict(1, "")
		}
	}
	const most = 5 // values listed in the reason
	var exp []string
	for i, w := range want {
		if i == most {
			exp[most-1] += fmt.Sprintf(" and %d more", len(want)-most)
			break
		}
		e := formatFloat(w)
		if tol := n.tolerance(w); tol > 0 {
			e += " ± " + formatFloat(tol)
		}
		exp = append(exp, e)
	}
	expected := strings.Join(exp, ", ")
	if len(want) > 1 {
		expected = "one of " + expected
	}
	return n.verdict(0, fmt.Sprintf("got %s (the %s number, %s), expected %s", formatFloat(got.Value), which, quote(got.Text), expected))
}

// tolerance is how far from w a number may be and still pass: the larger of
// the absolute tolerance and the relative one times |w|.
func (n *Numeric) tolerance(w float64) float64 {
	return max(n.tol, n.relTol*math.Abs(w))
}
