package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

var _ evals.Scorer = (*Compare)(nil)

type equalsConfig struct {
	commonConfig
	Value json.RawMessage `json:"value"`
}

type oneOfConfig struct {
	commonConfig
	Values json.RawMessage `json:"values"`
	Value  json.RawMessage `json:"value"`
}

// labelConfig is the field of the criteria that can compare a label.
type labelConfig struct {
	// Label: the output is a label, and the values the labels expected; the
	// report then measures the criterion as a classifier.
	Label bool `json:"label"`
}

type containsConfig struct {
	commonConfig
	Value json.RawMessage `json:"value"`
	Mode  string          `json:"mode"`
}

// op is how a Compare relates the output to its values.
type op uint8

// verb says what every output does with an empty value, for messages.
func (o op) verb() string {
	switch o {
	case opStartsWith:
		return "starts with"
	case opEndsWith:
		return "ends with"
	}
	return "contains"
}

const (
	opEquals      op = iota // the output equals a value
	opStartsWith            // the output starts with a value
	opEndsWith              // the output ends with a value
	opContainsAny           // the output contains a value
	opContainsAll           // the output contains every value
	opNotContains           // the output contains no value
)

// Compare is the scorer of the comparison criteria: equals, one-of,
// starts-with, ends-with, contains and not-contains. It compares the output with the values of the
// criterion, or with the case's expected answer.
type Compare struct {
	common
	op     op
	values values
	label  bool // record the labels compared (equals with label: true)
}

func newEquals(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c struct {
		equalsConfig
		labelConfig
	}
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	sc, err := newCompare(&c.commonConfig, c.Value, opEquals, "")
	if err != nil {
		return nil, err
	}
	sc.(*Compare).label = c.Label
	return sc, nil
}

// newOneOf builds one-of: equals with a fixed label set, given as values (or
// value), that every case shares. The labels are checked when the suite
// loads: none may be a template, and none may repeat after normalize.
func newOneOf(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c oneOfConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	field, raw := "values", c.Values
	switch {
	case c.Values != nil && c.Value != nil:
		return nil, evals.FieldErrorf("value", `give either "values" or "value", not both`)
	case c.Value != nil:
		field, raw = "value", c.Value
	case c.Values == nil:
		return nil, evals.FieldErrorf("values", `missing: expected the label set, e.g. ["positive", "negative", "neutral"]`)
	case bytes.TrimSpace(c.Values)[0] != '[':
		return nil, evals.FieldErrorf("values", "expected an array of strings, got %s", evals.JSONKind(c.Values))
	}
	sc, err := newCompare(&c.commonConfig, raw, opEquals, "")
	if err != nil {
		var fe *evals.FieldError
		if errors.As(err, &fe) && strings.HasPrefix(fe.Field, "value") && field == "values" {
			return nil, &evals.FieldError{Field: "values" + strings.TrimPrefix(fe.Field, "value"), Err: fe.Err}
		}
		return nil, err
	}
	cmp := sc.(*Compare)
	seen := make(map[string]int, len(cmp.values.items))
	for i, it := range cmp.values.items {
		at := field
		if raw[0] == '[' {
			at += "." + strconv.Itoa(i)
		}
		if it.tmpl != nil {
			return nil, evals.FieldErrorf(at, "%q is a template: one-of takes a fixed label set; to compare with the case's answer use equals", it.tmpl.String())
		}
		if j, dup := seen[it.text]; dup {
			return nil, evals.FieldErrorf(at, "label %q repeats %s.%d (after normalize)", it.text, field, j)
		}
		seen[it.text] = i
	}
	return cmp, nil
}

func newStartsWith(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c equalsConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	return newCompare(&c.commonConfig, c.Value, opStartsWith, "starts with")
}

func newEndsWith(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c equalsConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	return newCompare(&c.commonConfig, c.Value, opEndsWith, "ends with")
}

func newContains(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c containsConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	o := opContainsAny
	switch c.Mode {
	case "", "any":
	case "all":
		o = opContainsAll
	default:
		return nil, evals.FieldErrorf("mode", `unknown mode %q: expected "any" or "all"`, c.Mode)
	}
	return newCompare(&c.commonConfig, c.Value, o, "contains")
}

func newNotContains(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c equalsConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	return newCompare(&c.commonConfig, c.Value, opNotContains, "contains")
}

func newCompare(c *commonConfig, value json.RawMessage, o op, empty string) (evals.Scorer, error) {
	cm, err := newCommon(c)
	if err != nil {
		return nil, err
	}
	vals, err := parseValues(value, cm.norm, empty)
	if err != nil {
		return nil, err
	}
	return &Compare{common: cm, op: o, values: vals}, nil
}

// Score implements evals.Scorer.
func (c *Compare) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	var buf [8]string
	vals, why, ok := c.values.resolve(in, c.norm, buf[:0])
	if !ok {
		return unscored(why)
	}
	if c.op != opEquals && !c.values.isStatic() {
		// An empty static value is a load error; one that a case's variables
		// make empty would pass every output (or, for not-contains, none).
		for _, v := range vals {
			if v == "" {
				return unscored("a value is empty for this case (after normalize): every output " + c.op.verb() + " it")
			}
		}
	}
	s, why, ok := c.subject(in.Output)
	if !ok {
		return c.labeled(c.verdict(0, why), vals[0], "")
	}
	switch c.op {
	case opEquals:
		for _, v := range vals {
			if s == v {
				return c.labeled(c.verdict(1, ""), v, s)
			}
		}
		return c.labeled(c.verdict(0, fmt.Sprintf("got %s, expected %s", quote(s), oneOf(vals))), vals[0], s)
	case opStartsWith:
		for _, v := range vals {
			if strings.HasPrefix(s, v) {
				return c.verdict(1, "")
			}
		}
		return c.verdict(0, fmt.Sprintf("got %s, expected it to start with %s", quote(s), oneOf(vals)))
	case opEndsWith:
		for _, v := range vals {
			if strings.HasSuffix(s, v) {
				return c.verdict(1, "")
			}
		}
		return c.verdict(0, fmt.Sprintf("got %s, expected it to end with %s", quoteTail(s), oneOf(vals)))
	case opContainsAny:
		for _, v := range vals {
			if strings.Contains(s, v) {
				return c.verdict(1, "")
			}
		}
		return c.verdict(0, fmt.Sprintf("got %s, expected it to contain %s", quote(s), oneOf(vals)))
	case opContainsAll:
		var missing []string
		for _, v := range vals {
			if !strings.Contains(s, v) {
				missing = append(missing, v)
			}
		}
		if missing == nil {
			return c.verdict(1, "")
		}
		return c.verdict(0, fmt.Sprintf("missing %s (%d of %d) in %s", quoteList(missing), len(missing), len(vals), quote(s)))
	default: // opNotContains
		for _, v := range vals {
			if i := strings.Index(s, v); i >= 0 {
				return c.verdict(0, fmt.Sprintf("found %s in %s", quote(v), around(s, i, len(v))))
			}
		}
		return c.verdict(1, "")
	}
}

// labeled records on v, for a criterion that compares labels, the label
// expected (the value matched, or else the first) and the one predicted (""
// when none could be extracted).
func (c *Compare) labeled(v evals.Verdict, expected, predicted string) evals.Verdict {
	if c.label {
		v.Label = &evals.Label{Expected: expected, Predicted: predicted}
	}
	return v
}

// around quotes the text of s around s[i:i+n], with up to 30 runes either side.
func around(s string, i, n int) string {
	const side = 30
	start := i
	for k := 0; k < side && start > 0; k++ {
		start--
		for start > 0 && !isRuneStart(s[start]) {
			start--
		}
	}
	end := i + n
	for k := 0; k < side && end < len(s); k++ {
		end++
		for end < len(s) && !isRuneStart(s[end]) {
			end++
		}
	}
	q := quote(s[start:end])
	if start > 0 {
		q = "…" + q
	}
	if end < len(s) {
		q += "…"
	}
	return q
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// quoteTail quotes the last maxQuote runes of s, the end that ends-with
// looks at.
func quoteTail(s string) string {
	n := 0
	for i := len(s); i > 0; n++ {
		if n == maxQuote {
			return fmt.Sprintf("…%s (%d bytes)", strconv.Quote(s[i:]), len(s))
		}
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return strconv.Quote(s)
}
