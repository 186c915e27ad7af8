package evals

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Gate is one threshold a run must hold, parsed from an expression such as
// "pass_rate >= 0.9" or "criteria.category.mean >= 0.95".
//
// The grammar is METRIC OP NUMBER, where OP is one of >=, <=, >, < and NUMBER
// may be written as a percentage ("90%"). METRIC is
//
//	[slice(KEY=VALUE).][criteria.NAME.]STAT[.lower|.upper]
//	judge.NAME.STAT[.lower|.upper]
//
// The STATs of a target, of a slice of its cases (slice(tag=billing),
// slice(language=de)) and of a criterion (criteria.NAME.) are the table
// metrics in metrics.go, which docs/suite.md lists with their meaning.
// .lower and .upper name the bounds of the 95% confidence interval of those
// that have one.
type Gate struct {
	Expr   string
	Metric string
	Op     string
	Value  float64
	// Ref is Metric taken apart.
	Ref MetricRef
}

// MetricRef is a gate's metric taken apart.
type MetricRef struct {
	// SliceKey and SliceValue select a slice: "tag" and a tag, or a metadata
	// field and its value (as text). Empty for the whole target.
	SliceKey, SliceValue string
	// Criterion names the criterion for criteria.NAME metrics; Judge the
	// judge criterion for judge.NAME metrics, its agreement with people.
	Criterion string
	Judge     string
	// Stat is the statistic: "pass_rate", "latency.p95", "pass@k", ...
	// (pass@K and pass^K are "pass@k" and "pass^k", with K in K).
	Stat string
	K    int
	// Bound is "lower" or "upper" for a confidence bound, empty for the value.
	Bound string
}

// Slice returns the slice's display name, "tag=billing" or "language=de",
// or "" for the whole target.
func (m MetricRef) Slice() string {
	if m.SliceKey == "" {
		return ""
	}
	return m.SliceKey + "=" + m.SliceValue
}

// Baseline reports whether the metric compares against a baseline.
func (m MetricRef) Baseline() bool {
	d := m.lookup()
	return d != nil && d.baseline
}

// GateError is a gate expression that does not parse.
type GateError struct {
	Expr   string
	Offset int
	Msg    string
}

func (e *GateError) Error() string {
	at := e.Offset // in bytes; the message counts characters
	if at >= 0 && at <= len(e.Expr) {
		at = utf8.RuneCountInString(e.Expr[:at])
	}
	return fmt.Sprintf("gate %q: %s at character %d", e.Expr, e.Msg, at+1)
}

var gateOps = []string{">=", "<=", ">", "<"}

// ParseGate parses one gate expression.
func ParseGate(expr string) (Gate, error) {
	g := Gate{Expr: strings.TrimSpace(expr)}
	opAt, op := -1, ""
	for _, o := range gateOps {
		if i := strings.Index(expr, o); i >= 0 && (opAt < 0 || i < opAt || i == opAt && len(o) > len(op)) {
			opAt, op = i, o
		}
	}
	for _, typo := range []string{"=>", "=<", "==", "!="} {
		if i := strings.Index(expr, typo); i >= 0 {
			return g, &GateError{Expr: expr, Offset: utf8.RuneCountInString(expr[:i]), Msg: fmt.Sprintf("unknown operator %q: expected >=, <=, > or <", typo)}
		}
	}
	if opAt < 0 {
		return g, &GateError{Expr: expr, Offset: len(expr), Msg: "expected a comparison (>=, <=, >, <) followed by a number, as in \"pass_rate >= 0.9\""}
	}
	g.Op = op
	g.Metric = strings.TrimSpace(expr[:opAt])
	ref, err := ParseMetric(g.Metric)
	if err != nil {
		return g, &GateError{Expr: expr, Offset: strings.Index(expr, g.Metric) + err.Offset, Msg: err.Msg}
	}
	g.Ref = ref
	num := strings.TrimSpace(expr[opAt+len(op):])
	numAt := opAt + len(op) + strings.Index(expr[opAt+len(op):], num)
	scale := 1.0
	if strings.HasSuffix(num, "%") {
		num, scale = strings.TrimSpace(strings.TrimSuffix(num, "%")), 100
	}
	v, perr := strconv.ParseFloat(num, 64)
	if perr != nil || num == "" {
		return g, &GateError{Expr: expr, Offset: numAt, Msg: fmt.Sprintf("expected a number after %q, got %q", op, expr[numAt:])}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return g, &GateError{Expr: expr, Offset: numAt, Msg: fmt.Sprintf("expected a finite number after %q, got %q", op, expr[numAt:])}
	}
	g.Value = v / scale // 57/100 is 0.57; 57*0.01 is 0.5700000000000001
	if lo, hi, what := ref.Range(); g.Value < lo || g.Value > hi {
		return g, &GateError{Expr: expr, Offset: numAt, Msg: fmt.Sprintf("%s is %s, got %s: a threshold outside that always holds or never does", g.Metric, what, expr[numAt:])}
	}
	return g, nil
}

// Range is the interval a metric's values lie in, and how to say so.
func (m MetricRef) Range() (lo, hi float64, what string) {
	r := unitRange
	if d := m.lookup(); d != nil {
		r = d.rng
	}
	return r.lo, r.hi, r.what
}

// metricError is a metric that does not parse, at a byte offset in it.
type metricError struct {
	Offset int
	Msg    string
}

// ParseMetric takes a gate's metric apart.
func ParseMetric(m string) (MetricRef, *metricError) {
	var ref MetricRef
	if m == "" {
		return ref, &metricError{0, "expected a metric before the comparison (one of " + metricForms + ")"}
	}
	rest, at := m, 0
	if r, ok := strings.CutPrefix(rest, "slice("); ok {
		end := strings.Index(r, ")")
		if end < 0 {
			return ref, &metricError{0, `"slice(" is never closed: expected slice(KEY=VALUE), as in slice(tag=billing) or slice(language=de)`}
		}
		key, val, ok := strings.Cut(r[:end], "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" || val == "" {
			return ref, &metricError{0, fmt.Sprintf("slice(%s): expected slice(KEY=VALUE), as in slice(tag=billing) or slice(language=de)", r[:end])}
		}
		ref.SliceKey, ref.SliceValue = key, val
		rest = r[end+1:]
		at = len("slice(") + end + 1
		var dot bool
		if rest, dot = strings.CutPrefix(rest, "."); !dot {
			return ref, &metricError{at, fmt.Sprintf("expected a metric after slice(%s), as in slice(%s).pass_rate", r[:end], r[:end])}
		}
		at++
	}
	if r, ok := strings.CutPrefix(rest, "judge."); ok {
		if ref.SliceKey != "" {
			return ref, &metricError{at, "a judge's agreement is not measured per slice: write judge.NAME.STAT without slice(...)"}
		}
		parts := strings.Split(r, ".")
		if n := len(parts); n >= 2 && (parts[n-1] == "lower" || parts[n-1] == "upper") {
			ref.Bound, parts = parts[n-1], parts[:n-1]
		}
		n := len(parts)
		if n < 2 || parts[0] == "" || !slices.Contains(JudgeMetrics, parts[n-1]) {
			return ref, &metricError{at, fmt.Sprintf("unknown metric %q: expected %s, where NAME is a judge criterion", m, orList(judgeForms()))}
		}
		ref.Judge, ref.Stat = strings.Join(parts[:n-1], "."), parts[n-1]
		if d := ref.lookup(); ref.Bound != "" && !d.bounds {
			return ref, &metricError{at, fmt.Sprintf("judge.NAME.%s has no confidence interval: .%s applies to judge.NAME.kappa", ref.Stat, ref.Bound)}
		}
		return ref, nil
	}
	if r, ok := strings.CutPrefix(rest, "criteria."); ok {
		parts := strings.Split(r, ".")
		if n := len(parts); n >= 2 && (parts[n-1] == "lower" || parts[n-1] == "upper") {
			ref.Bound, parts = parts[n-1], parts[:n-1]
		}
		n := len(parts)
		if n < 2 || parts[0] == "" || !slices.Contains(CriterionMetrics, parts[n-1]) {
			return ref, &metricError{at, fmt.Sprintf("unknown metric %q: expected %s", m, criterionForms())}
		}
		ref.Criterion = strings.Join(parts[:n-1], ".")
		ref.Stat = parts[n-1]
		switch d := ref.lookup(); {
		case ref.Bound != "" && !d.bounds:
			return ref, &metricError{at, boundError(ref.Stat, ref.Bound)}
		case ref.SliceKey != "" && !d.slice:
			return ref, &metricError{at, ref.Stat + " is reported per target, not per slice"}
		}
		return ref, nil
	}
	stat := rest
	for _, b := range []string{".lower", ".upper"} {
		if s, ok := strings.CutSuffix(stat, b); ok {
			stat, ref.Bound = s, b[1:]
		}
	}
	ref.Stat = stat
	perK := false // stat starts as a metric at K does
	for i := range metrics {
		d := &metrics[i]
		if d.criterion || !d.perK() {
			continue
		}
		if k, ok := strings.CutPrefix(stat, strings.TrimSuffix(d.name, "K")); ok {
			perK = true
			if n, err := strconv.Atoi(k); err == nil && n >= 1 && k[0] != '+' {
				ref.Stat, ref.K = d.stat(), n
			}
		}
	}
	switch {
	case ref.SliceKey != "" && !slices.Contains(SliceMetrics, ref.Stat):
		return ref, &metricError{at, fmt.Sprintf("unknown metric %q for a slice: expected one of %s", rest, orList(append(slices.Clone(SliceMetrics), sliceCriterionForms()...)))}
	case ref.K == 0 && !slices.Contains(GateMetrics, ref.Stat):
		if perK {
			return ref, &metricError{at, fmt.Sprintf("unknown metric %q: expected K to be a whole number from 1, as in pass@5", rest)}
		}
		if c := Closest(stat, GateMetrics); c != "" {
			return ref, &metricError{at, fmt.Sprintf("unknown metric %q: did you mean %q?", rest, c)}
		}
		return ref, &metricError{at, fmt.Sprintf("unknown metric %q: expected one of %s", m, metricForms)}
	case ref.Bound != "" && !slices.Contains(boundable, ref.Stat):
		return ref, &metricError{at, boundError(stat, ref.Bound)}
	}
	return ref, nil
}

// boundError says that stat has no interval for bound.
func boundError(stat, bound string) string {
	return fmt.Sprintf("%s has no confidence interval: .%s applies to %s", stat, bound, andList(boundable))
}

// criterionForms lists a criterion's metrics, for errors: those with an
// interval first, then the others.
func criterionForms() string {
	var bounded, other []string
	for i := range metrics {
		if d := &metrics[i]; d.criterion && d.bounds {
			bounded = append(bounded, "criteria.NAME."+d.name)
		} else if d.criterion {
			other = append(other, "criteria.NAME."+d.name)
		}
	}
	either := "any "
	switch len(bounded) {
	case 1:
		either = ""
	case 2:
		either = "either "
	}
	return orList(append([]string{orList(bounded) + " (or " + either + "ending in .lower or .upper)"}, other...))
}

// sliceCriterionForms lists the metrics of a criterion within a slice.
func sliceCriterionForms() []string {
	var out []string
	for _, n := range metricNames(func(d *metric) bool { return d.criterion && d.slice }) {
		out = append(out, "criteria.NAME."+n)
	}
	return out
}

// Criterion returns the criterion name a per-criterion gate refers to, and
// its metric; ok is false for top-level gates.
func (g Gate) Criterion() (name, metric string, ok bool) {
	if g.Ref.Criterion == "" {
		return "", "", false
	}
	return g.Ref.Criterion, g.Ref.Stat, true
}

// Holds reports whether value satisfies the gate.
func (g Gate) Holds(value float64) bool {
	const eps = 1e-12
	switch g.Op {
	case ">=":
		return value >= g.Value-eps
	case "<=":
		return value <= g.Value+eps
	case ">":
		return value > g.Value
	default:
		return value < g.Value
	}
}

// MergeGates returns base with each override replacing the base gate on the
// same metric and operator direction, and appended otherwise.
func MergeGates(base, overrides []Gate) []Gate {
	out := append([]Gate(nil), base...)
	for _, o := range overrides {
		replaced := false
		for i, b := range out {
			if b.Metric == o.Metric && b.Op[0] == o.Op[0] {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}
