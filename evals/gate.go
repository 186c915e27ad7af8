package evals

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Gate is one threshold a run must hold, parsed from an expression such as
// "pass_rate >= 0.9" or "criteria.category.mean >= 0.95".
//
// The grammar is METRIC OP NUMBER, where OP is one of >=, <=, >, < and METRIC is
// one of:
//
//	pass_rate                 share of cases that passed (errors count as not passed)
//	mean                      mean case score over scored cases
//	error_rate                share of cases that ended in an error
//	unscored_rate             share of cases left unscored
//	criteria.NAME.pass_rate   share of scored responses the criterion passed
//	criteria.NAME.mean        the criterion's mean score over scored responses
//
// NUMBER may be written as a percentage ("90%").
type Gate struct {
	Expr   string
	Metric string
	Op     string
	Value  float64
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

// GateMetrics lists the top-level metrics a gate may name.
var GateMetrics = []string{"pass_rate", "mean", "error_rate", "unscored_rate"}

// CriterionMetrics lists the per-criterion metrics a gate may name.
var CriterionMetrics = []string{"pass_rate", "mean"}

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
	if err := checkMetric(g.Metric); err != nil {
		return g, &GateError{Expr: expr, Offset: strings.Index(expr, g.Metric), Msg: err.Error()}
	}
	num := strings.TrimSpace(expr[opAt+len(op):])
	numAt := opAt + len(op) + strings.Index(expr[opAt+len(op):], num)
	scale := 1.0
	if strings.HasSuffix(num, "%") {
		num, scale = strings.TrimSpace(strings.TrimSuffix(num, "%")), 100
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return g, &GateError{Expr: expr, Offset: numAt, Msg: fmt.Sprintf("expected a number after %q, got %q", op, expr[numAt:])}
	}
	g.Value = v / scale // 57/100 is 0.57; 57*0.01 is 0.5700000000000001
	return g, nil
}

func checkMetric(m string) error {
	if m == "" {
		return fmt.Errorf("expected a metric before the comparison (one of %s, criteria.NAME.pass_rate, criteria.NAME.mean)", strings.Join(GateMetrics, ", "))
	}
	for _, g := range GateMetrics {
		if m == g {
			return nil
		}
	}
	if rest, ok := strings.CutPrefix(m, "criteria."); ok {
		i := strings.LastIndex(rest, ".")
		if i > 0 {
			for _, c := range CriterionMetrics {
				if rest[i+1:] == c {
					return nil
				}
			}
		}
		return fmt.Errorf("unknown metric %q: expected criteria.NAME.pass_rate or criteria.NAME.mean", m)
	}
	return fmt.Errorf("unknown metric %q: expected one of %s, criteria.NAME.pass_rate, criteria.NAME.mean", m, strings.Join(GateMetrics, ", "))
}

// Criterion returns the criterion name a per-criterion gate refers to, and
// its metric; ok is false for top-level gates.
func (g Gate) Criterion() (name, metric string, ok bool) {
	rest, ok := strings.CutPrefix(g.Metric, "criteria.")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, ".")
	return rest[:i], rest[i+1:], true
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
