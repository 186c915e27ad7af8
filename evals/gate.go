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
//
// STAT, for a target or a slice of its cases:
//
//	pass_rate                 share of cases that passed (errors count as not passed)
//	mean                      mean case score over scored cases
//	error_rate                share of cases that ended in an error
//	unscored_rate             share of cases left unscored
//	latency.p50|p95|p99|mean|max   response latency in milliseconds
//	tokens.total|prompt|completion|mean   tokens reported by the endpoint
//	cost.total|mean           cost at the target's price table
//	pass@K, pass^K            with repeats: the chance that at least one / all
//	                          of K attempts pass (Chen et al. 2021 estimator)
//	flaky_rate                with repeats: share of cases whose verdict changed
//	delta.pass_rate, delta.mean   against the baseline: this run's minus the
//	                          baseline's, over the cases both have
//	regressions, fixes        against the baseline: cases that passed there and
//	                          fail here, and the reverse
//
// With criteria.NAME the STAT is pass_rate or mean of that criterion; for a
// bleu criterion, corpus_bleu (0 to 100); for one with label: true, macro_f1
// or micro_f1 (accuracy). A slice
// is the cases with a tag (slice(tag=billing)) or a metadata field's value
// (slice(language=de)); its STAT is pass_rate, mean, error_rate,
// unscored_rate, or a criterion's pass_rate or mean. .lower and .upper name
// the bounds of the 95% confidence interval of a pass_rate, a mean or a delta.
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
	// Criterion names the criterion for criteria.NAME metrics.
	Criterion string
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
	return strings.HasPrefix(m.Stat, "delta.") || m.Stat == "regressions" || m.Stat == "fixes"
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

// GateMetrics lists the metrics of a target a gate may name.
var GateMetrics = []string{
	"pass_rate", "mean", "error_rate", "unscored_rate",
	"latency.p50", "latency.p95", "latency.p99", "latency.mean", "latency.max",
	"tokens.total", "tokens.prompt", "tokens.completion", "tokens.mean",
	"cost.total", "cost.mean", "flaky_rate",
	"delta.pass_rate", "delta.mean", "regressions", "fixes",
}

// SliceMetrics lists the metrics of a slice.
var SliceMetrics = []string{"pass_rate", "mean", "error_rate", "unscored_rate"}

// CriterionMetrics lists the per-criterion metrics a gate may name.
var CriterionMetrics = []string{"pass_rate", "mean", "corpus_bleu", "macro_f1", "micro_f1"}

// boundable lists the statistics that have a confidence interval.
var boundable = []string{"pass_rate", "mean", "delta.pass_rate", "delta.mean"}

const metricForms = "pass_rate, mean, error_rate, unscored_rate, latency.p50|p95|p99|mean|max, tokens.total|prompt|completion|mean, cost.total|mean, pass@K, pass^K, flaky_rate, delta.pass_rate, delta.mean, regressions, fixes, criteria.NAME.pass_rate|mean, slice(KEY=VALUE).METRIC"

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
	switch {
	case strings.HasPrefix(m.Stat, "delta."):
		return -1, 1, "a difference of two rates, from -1 to 1"
	case strings.HasPrefix(m.Stat, "latency."), strings.HasPrefix(m.Stat, "tokens."), strings.HasPrefix(m.Stat, "cost."),
		m.Stat == "regressions", m.Stat == "fixes":
		return 0, math.Inf(1), "never negative"
	case m.Stat == "corpus_bleu":
		return 0, 100, "from 0 to 100, as sacrebleu prints BLEU"
	}
	return 0, 1, "from 0 to 1 (write a percentage as 90%)"
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
	if r, ok := strings.CutPrefix(rest, "criteria."); ok {
		parts := strings.Split(r, ".")
		if n := len(parts); n >= 2 && (parts[n-1] == "lower" || parts[n-1] == "upper") {
			ref.Bound, parts = parts[n-1], parts[:n-1]
		}
		n := len(parts)
		if n < 2 || parts[0] == "" || !slices.Contains(CriterionMetrics, parts[n-1]) {
			return ref, &metricError{at, fmt.Sprintf("unknown metric %q: expected criteria.NAME.pass_rate or criteria.NAME.mean (or either ending in .lower or .upper), criteria.NAME.corpus_bleu, criteria.NAME.macro_f1 or criteria.NAME.micro_f1", m)}
		}
		ref.Criterion = strings.Join(parts[:n-1], ".")
		ref.Stat = parts[n-1]
		if ref.Stat != "pass_rate" && ref.Stat != "mean" {
			switch {
			case ref.Bound != "":
				return ref, &metricError{at, fmt.Sprintf("%s has no confidence interval: .%s applies to pass_rate, mean, delta.pass_rate and delta.mean", ref.Stat, ref.Bound)}
			case ref.SliceKey != "":
				return ref, &metricError{at, ref.Stat + " is reported per target, not per slice"}
			}
		}
		return ref, nil
	}
	stat := rest
	for _, b := range []string{".lower", ".upper"} {
		if s, ok := strings.CutSuffix(stat, b); ok {
			stat, ref.Bound = s, b[1:]
		}
	}
	if k, ok := passK(stat); ok {
		ref.Stat, ref.K = stat[:5]+"k", k
	} else {
		ref.Stat = stat
	}
	switch {
	case ref.SliceKey != "" && !slices.Contains(SliceMetrics, ref.Stat):
		return ref, &metricError{at, fmt.Sprintf("unknown metric %q for a slice: expected one of %s, criteria.NAME.pass_rate or criteria.NAME.mean", rest, strings.Join(SliceMetrics, ", "))}
	case ref.K == 0 && !slices.Contains(GateMetrics, ref.Stat):
		if strings.HasPrefix(stat, "pass@") || strings.HasPrefix(stat, "pass^") {
			return ref, &metricError{at, fmt.Sprintf("unknown metric %q: expected K to be a whole number from 1, as in pass@5", rest)}
		}
		if c := Closest(stat, GateMetrics); c != "" {
			return ref, &metricError{at, fmt.Sprintf("unknown metric %q: did you mean %q?", rest, c)}
		}
		return ref, &metricError{at, fmt.Sprintf("unknown metric %q: expected one of %s", m, metricForms)}
	case ref.Bound != "" && !slices.Contains(boundable, ref.Stat):
		return ref, &metricError{at, fmt.Sprintf("%s has no confidence interval: .%s applies to pass_rate, mean, delta.pass_rate and delta.mean", stat, ref.Bound)}
	}
	return ref, nil
}

// passK parses "pass@K" or "pass^K".
func passK(s string) (int, bool) {
	if len(s) < 6 || (s[:5] != "pass@" && s[:5] != "pass^") {
		return 0, false
	}
	k, err := strconv.Atoi(s[5:])
	if err != nil || k < 1 || s[5] == '+' {
		return 0, false
	}
	return k, true
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
