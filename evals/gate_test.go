package evals

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestParseGate(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want Gate
	}{
		{"pass_rate >=", "pass_rate >= 0.9", Gate{Expr: "pass_rate >= 0.9", Metric: "pass_rate", Op: ">=", Value: 0.9}},
		{"mean <= without spaces", "mean<=0.5", Gate{Expr: "mean<=0.5", Metric: "mean", Op: "<=", Value: 0.5}},
		{"error_rate >", "error_rate > 0", Gate{Expr: "error_rate > 0", Metric: "error_rate", Op: ">", Value: 0}},
		{"unscored_rate <", "unscored_rate < 0.1", Gate{Expr: "unscored_rate < 0.1", Metric: "unscored_rate", Op: "<", Value: 0.1}},
		{"criterion mean", "criteria.category.mean >= 0.95", Gate{Expr: "criteria.category.mean >= 0.95", Metric: "criteria.category.mean", Op: ">=", Value: 0.95}},
		{"criterion pass_rate", "criteria.category.pass_rate > 0.5", Gate{Expr: "criteria.category.pass_rate > 0.5", Metric: "criteria.category.pass_rate", Op: ">", Value: 0.5}},
		{"criterion name with dots", "criteria.a.b.mean < 1", Gate{Expr: "criteria.a.b.mean < 1", Metric: "criteria.a.b.mean", Op: "<", Value: 1}},
		{"criterion named like a metric", "criteria.mean.mean <= 1", Gate{Expr: "criteria.mean.mean <= 1", Metric: "criteria.mean.mean", Op: "<=", Value: 1}},
		{"surrounding whitespace trimmed from Expr", "  \terror_rate <= 0 \n", Gate{Expr: "error_rate <= 0", Metric: "error_rate", Op: "<=", Value: 0}},
		{"tabs around the operator", "mean\t>=\t1", Gate{Expr: "mean\t>=\t1", Metric: "mean", Op: ">=", Value: 1}},
		{"percentage", "pass_rate >= 90%", Gate{Expr: "pass_rate >= 90%", Metric: "pass_rate", Op: ">=", Value: 0.9}},
		{"percentage exact in decimal", "pass_rate >= 57%", Gate{Expr: "pass_rate >= 57%", Metric: "pass_rate", Op: ">=", Value: 0.57}},
		{"percentage 95", "pass_rate >= 95%", Gate{Expr: "pass_rate >= 95%", Metric: "pass_rate", Op: ">=", Value: 0.95}},
		{"percentage with space before %", "pass_rate >= 95 %", Gate{Expr: "pass_rate >= 95 %", Metric: "pass_rate", Op: ">=", Value: 0.95}},
		{"fractional percentage", "criteria.x.pass_rate > 12.5%", Gate{Expr: "criteria.x.pass_rate > 12.5%", Metric: "criteria.x.pass_rate", Op: ">", Value: 0.125}},
		{"zero percent", "error_rate <= 0%", Gate{Expr: "error_rate <= 0%", Metric: "error_rate", Op: "<=", Value: 0}},
		{"leading dot", "mean >= .5", Gate{Expr: "mean >= .5", Metric: "mean", Op: ">=", Value: 0.5}},
		{"exponent", "mean >= 9e-1", Gate{Expr: "mean >= 9e-1", Metric: "mean", Op: ">=", Value: 0.9}},
		{"negative delta", "delta.mean > -1", Gate{Expr: "delta.mean > -1", Metric: "delta.mean", Op: ">", Value: -1}},
		{"large latency", "latency.p95 <= 2000", Gate{Expr: "latency.p95 <= 2000", Metric: "latency.p95", Op: "<=", Value: 2000}},
		{"explicit plus", "mean >= +1", Gate{Expr: "mean >= +1", Metric: "mean", Op: ">=", Value: 1}},
		{"judge kappa", "judge.facts.kappa >= 0.6", Gate{Expr: "judge.facts.kappa >= 0.6", Metric: "judge.facts.kappa", Op: ">=", Value: 0.6}},
		{"negative kappa", "judge.facts.kappa > -0.5", Gate{Expr: "judge.facts.kappa > -0.5", Metric: "judge.facts.kappa", Op: ">", Value: -0.5}},
		{"judge n", "judge.facts.n >= 200", Gate{Expr: "judge.facts.n >= 200", Metric: "judge.facts.n", Op: ">=", Value: 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseGate(tc.expr)
			if err != nil {
				t.Fatalf("ParseGate(%q): %v", tc.expr, err)
			}
			got.Ref = MetricRef{} // TestParseMetric checks it
			if got != tc.want {
				t.Errorf("ParseGate(%q) = %#v\nwant %#v", tc.expr, got, tc.want)
			}
		})
	}
}

func TestParseMetric(t *testing.T) {
	tests := []struct {
		metric string
		want   MetricRef
	}{
		{"pass_rate", MetricRef{Stat: "pass_rate"}},
		{"pass_rate.lower", MetricRef{Stat: "pass_rate", Bound: "lower"}},
		{"mean.upper", MetricRef{Stat: "mean", Bound: "upper"}},
		{"latency.p95", MetricRef{Stat: "latency.p95"}},
		{"tokens.total", MetricRef{Stat: "tokens.total"}},
		{"cost.mean", MetricRef{Stat: "cost.mean"}},
		{"pass@5", MetricRef{Stat: "pass@k", K: 5}},
		{"pass^3", MetricRef{Stat: "pass^k", K: 3}},
		{"flaky_rate", MetricRef{Stat: "flaky_rate"}},
		{"delta.pass_rate", MetricRef{Stat: "delta.pass_rate"}},
		{"delta.mean.lower", MetricRef{Stat: "delta.mean", Bound: "lower"}},
		{"regressions", MetricRef{Stat: "regressions"}},
		{"criteria.intent.mean", MetricRef{Criterion: "intent", Stat: "mean"}},
		{"criteria.intent.pass_rate.lower", MetricRef{Criterion: "intent", Stat: "pass_rate", Bound: "lower"}},
		{"criteria.translation.corpus_bleu", MetricRef{Criterion: "translation", Stat: "corpus_bleu"}},
		{"criteria.intent.macro_f1", MetricRef{Criterion: "intent", Stat: "macro_f1"}},
		{"criteria.lower.mean", MetricRef{Criterion: "lower", Stat: "mean"}},
		{"slice(tag=billing).pass_rate", MetricRef{SliceKey: "tag", SliceValue: "billing", Stat: "pass_rate"}},
		{"slice(language = de).mean.lower", MetricRef{SliceKey: "language", SliceValue: "de", Stat: "mean", Bound: "lower"}},
		{"slice(tier=gold).criteria.tone.pass_rate", MetricRef{SliceKey: "tier", SliceValue: "gold", Criterion: "tone", Stat: "pass_rate"}},
		{"judge.facts.kappa", MetricRef{Judge: "facts", Stat: "kappa"}},
		{"judge.facts.kappa.lower", MetricRef{Judge: "facts", Stat: "kappa", Bound: "lower"}},
		{"judge.facts.agreement", MetricRef{Judge: "facts", Stat: "agreement"}},
		{"judge.a.b.n", MetricRef{Judge: "a.b", Stat: "n"}},
	}
	for _, tc := range tests {
		t.Run(tc.metric, func(t *testing.T) {
			got, err := ParseMetric(tc.metric)
			if err != nil {
				t.Fatalf("ParseMetric(%q): %+v", tc.metric, err)
			}
			if got != tc.want {
				t.Errorf("ParseMetric(%q) = %+v, want %+v", tc.metric, got, tc.want)
			}
		})
	}
}

func TestParseGateErrors(t *testing.T) {
	const (
		missingOp = `expected a comparison (>=, <=, >, <) followed by a number, as in "pass_rate >= 0.9"`
		oneOf     = "expected one of pass_rate, mean, error_rate, unscored_rate, cached_rate, clean_pass_rate, latency.p50|p95|p99|mean|max, ttft.p50|p95|p99|mean|max, ttfc.p50|p95|p99|mean|max, tokens_per_s.mean, tokens.total|prompt|completion|mean, cost.total|mean, pass@K, pass^K, flaky_rate, delta.pass_rate, delta.mean, regressions, fixes, criteria.NAME.pass_rate|mean, criteria.NAME.unscored_rate, judge.NAME.kappa, judge.NAME.agreement, judge.NAME.n, slice(KEY=VALUE).METRIC"
		perCrit   = "expected criteria.NAME.pass_rate or criteria.NAME.mean (or either ending in .lower or .upper), criteria.NAME.corpus_bleu, criteria.NAME.tool_call_f1, criteria.NAME.unscored_rate, criteria.NAME.macro_f1 or criteria.NAME.micro_f1"
	)
	tests := []struct {
		name    string
		expr    string
		offset  int
		msg     string
		wantErr string
	}{
		{"no operator", "pass_rate", 9, missingOp,
			`gate "pass_rate": ` + missingOp + ` at character 10`},
		{"single equals", "pass_rate = 0.9", 15, missingOp,
			`gate "pass_rate = 0.9": ` + missingOp + ` at character 16`},
		{"empty", "", 0, missingOp,
			`gate "": ` + missingOp + ` at character 1`},
		{"unicode operator counted in characters", "pass_rate ≥ 0.9", 17, missingOp,
			`gate "pass_rate ≥ 0.9": ` + missingOp + ` at character 16`},
		{"criterion without operator", "criteria.tone.mean", 18, missingOp,
			`gate "criteria.tone.mean": ` + missingOp + ` at character 19`},
		{"no metric", ">= 0.9", 0,
			"expected a metric before the comparison (one of pass_rate, mean, error_rate, unscored_rate, cached_rate, clean_pass_rate, latency.p50|p95|p99|mean|max, ttft.p50|p95|p99|mean|max, ttfc.p50|p95|p99|mean|max, tokens_per_s.mean, tokens.total|prompt|completion|mean, cost.total|mean, pass@K, pass^K, flaky_rate, delta.pass_rate, delta.mean, regressions, fixes, criteria.NAME.pass_rate|mean, criteria.NAME.unscored_rate, judge.NAME.kappa, judge.NAME.agreement, judge.NAME.n, slice(KEY=VALUE).METRIC)",
			`gate ">= 0.9": expected a metric before the comparison (one of pass_rate, mean, error_rate, unscored_rate, cached_rate, clean_pass_rate, latency.p50|p95|p99|mean|max, ttft.p50|p95|p99|mean|max, ttfc.p50|p95|p99|mean|max, tokens_per_s.mean, tokens.total|prompt|completion|mean, cost.total|mean, pass@K, pass^K, flaky_rate, delta.pass_rate, delta.mean, regressions, fixes, criteria.NAME.pass_rate|mean, criteria.NAME.unscored_rate, judge.NAME.kappa, judge.NAME.agreement, judge.NAME.n, slice(KEY=VALUE).METRIC) at character 1`},
		{"typo in a metric", "passrate >= 0.9", 0, `unknown metric "passrate": did you mean "pass_rate"?`,
			`gate "passrate >= 0.9": unknown metric "passrate": did you mean "pass_rate"? at character 1`},
		{"unknown metric after spaces", "  accuracy >= 1", 2, `unknown metric "accuracy": ` + oneOf,
			`gate "  accuracy >= 1": unknown metric "accuracy": ` + oneOf + ` at character 3`},
		{"metrics are case sensitive", "Pass_Rate >= 0.9", 0, `unknown metric "Pass_Rate": did you mean "pass_rate"?`,
			`gate "Pass_Rate >= 0.9": unknown metric "Pass_Rate": did you mean "pass_rate"? at character 1`},
		{"slice never closed", "slice(tag=a.pass_rate >= 1", 0, `"slice(" is never closed: expected slice(KEY=VALUE), as in slice(tag=billing) or slice(language=de)`,
			`gate "slice(tag=a.pass_rate >= 1": "slice(" is never closed: expected slice(KEY=VALUE), as in slice(tag=billing) or slice(language=de) at character 1`},
		{"slice without value", "slice(tag).pass_rate >= 1", 0, `slice(tag): expected slice(KEY=VALUE), as in slice(tag=billing) or slice(language=de)`,
			`gate "slice(tag).pass_rate >= 1": slice(tag): expected slice(KEY=VALUE), as in slice(tag=billing) or slice(language=de) at character 1`},
		{"slice without metric", "slice(tag=a) >= 1", 12, `expected a metric after slice(tag=a), as in slice(tag=a).pass_rate`,
			`gate "slice(tag=a) >= 1": expected a metric after slice(tag=a), as in slice(tag=a).pass_rate at character 13`},
		{"slice with a target-only metric", "slice(lang=de).latency.p95 <= 1", 15, `unknown metric "latency.p95" for a slice: expected one of pass_rate, mean, error_rate, unscored_rate, cached_rate, ttft.p50, ttft.p95, ttft.p99, ttft.mean, ttft.max, ttfc.p50, ttfc.p95, ttfc.p99, ttfc.mean, ttfc.max, tokens_per_s.mean, criteria.NAME.pass_rate, criteria.NAME.mean or criteria.NAME.unscored_rate`,
			`gate "slice(lang=de).latency.p95 <= 1": unknown metric "latency.p95" for a slice: expected one of pass_rate, mean, error_rate, unscored_rate, cached_rate, ttft.p50, ttft.p95, ttft.p99, ttft.mean, ttft.max, ttfc.p50, ttfc.p95, ttfc.p99, ttfc.mean, ttfc.max, tokens_per_s.mean, criteria.NAME.pass_rate, criteria.NAME.mean or criteria.NAME.unscored_rate at character 16`},
		{"bound on a metric without an interval", "error_rate.upper <= 0.1", 0, `error_rate has no confidence interval: .upper applies to pass_rate, mean, delta.pass_rate and delta.mean`,
			`gate "error_rate.upper <= 0.1": error_rate has no confidence interval: .upper applies to pass_rate, mean, delta.pass_rate and delta.mean at character 1`},
		{"pass@ without K", "pass@ >= 0.9", 0, `unknown metric "pass@": expected K to be a whole number from 1, as in pass@5`,
			`gate "pass@ >= 0.9": unknown metric "pass@": expected K to be a whole number from 1, as in pass@5 at character 1`},
		{"pass@0", "pass@0 >= 0.9", 0, `unknown metric "pass@0": expected K to be a whole number from 1, as in pass@5`,
			`gate "pass@0 >= 0.9": unknown metric "pass@0": expected K to be a whole number from 1, as in pass@5 at character 1`},
		{"unknown latency percentile", "latency.p90 <= 1", 0, `unknown metric "latency.p90": did you mean "latency.p50"?`,
			`gate "latency.p90 <= 1": unknown metric "latency.p90": did you mean "latency.p50"? at character 1`},
		{"reversed operator", "mean => 1", 5, `unknown operator "=>": expected >=, <=, > or <`,
			`gate "mean => 1": unknown operator "=>": expected >=, <=, > or < at character 6`},
		{"criteria.X without metric", "criteria.tone >= 0.5", 0, `unknown metric "criteria.tone": ` + perCrit,
			`gate "criteria.tone >= 0.5": unknown metric "criteria.tone": ` + perCrit + ` at character 1`},
		{"criteria.X with unknown metric", "criteria.tone.median >= 0.5", 0, `unknown metric "criteria.tone.median": ` + perCrit,
			`gate "criteria.tone.median >= 0.5": unknown metric "criteria.tone.median": ` + perCrit + ` at character 1`},
		{"criteria without name", "criteria..mean >= 1", 0, `unknown metric "criteria..mean": ` + perCrit,
			`gate "criteria..mean >= 1": unknown metric "criteria..mean": ` + perCrit + ` at character 1`},
		{"criteria.mean alone", "criteria.mean >= 1", 0, `unknown metric "criteria.mean": ` + perCrit,
			`gate "criteria.mean >= 1": unknown metric "criteria.mean": ` + perCrit + ` at character 1`},
		{"not a number", "mean >= abc", 8, `expected a number after ">=", got "abc"`,
			`gate "mean >= abc": expected a number after ">=", got "abc" at character 9`},
		{"nothing after the operator", "mean >=", 7, `expected a number after ">=", got ""`,
			`gate "mean >=": expected a number after ">=", got "" at character 8`},
		{"only a space after the operator", "mean >= ", 7, `expected a number after ">=", got " "`,
			`gate "mean >= ": expected a number after ">=", got " " at character 8`},
		{"only a percent sign", "mean >= %", 8, `expected a number after ">=", got "%"`,
			`gate "mean >= %": expected a number after ">=", got "%" at character 9`},
		{"double percent", "mean >= 50%%", 8, `expected a number after ">=", got "50%%"`,
			`gate "mean >= 50%%": expected a number after ">=", got "50%%" at character 9`},
		{"two dots", "mean >= 0.5.1", 8, `expected a number after ">=", got "0.5.1"`,
			`gate "mean >= 0.5.1": expected a number after ">=", got "0.5.1" at character 9`},
		{"two numbers", "mean >= 1 2", 8, `expected a number after ">=", got "1 2"`,
			`gate "mean >= 1 2": expected a number after ">=", got "1 2" at character 9`},
		{"split operator", "mean > = 1", 7, `expected a number after ">", got "= 1"`,
			`gate "mean > = 1": expected a number after ">", got "= 1" at character 8`},
		{"two comparisons", "mean >= 0.5 <= 1", 8, `expected a number after ">=", got "0.5 <= 1"`,
			`gate "mean >= 0.5 <= 1": expected a number after ">=", got "0.5 <= 1" at character 9`},
		{"out of range", "mean >= 1e400", 8, `expected a number after ">=", got "1e400"`,
			`gate "mean >= 1e400": expected a number after ">=", got "1e400" at character 9`},
		{"over one hundred percent", "pass_rate >= 150%", 13, `pass_rate is from 0 to 1 (write a percentage as 90%), got 150%: a threshold outside that always holds or never does`,
			`gate "pass_rate >= 150%": pass_rate is from 0 to 1 (write a percentage as 90%), got 150%: a threshold outside that always holds or never does at character 14`},
		{"a percentage written as a number", "criteria.c.pass_rate >= 90", 24, `criteria.c.pass_rate is from 0 to 1 (write a percentage as 90%), got 90: a threshold outside that always holds or never does`,
			`gate "criteria.c.pass_rate >= 90": criteria.c.pass_rate is from 0 to 1 (write a percentage as 90%), got 90: a threshold outside that always holds or never does at character 25`},
		{"negative rate", "mean > -1", 7, `mean is from 0 to 1 (write a percentage as 90%), got -1: a threshold outside that always holds or never does`,
			`gate "mean > -1": mean is from 0 to 1 (write a percentage as 90%), got -1: a threshold outside that always holds or never does at character 8`},
		{"delta beyond 1", "delta.pass_rate >= -2", 19, `delta.pass_rate is a difference of two rates, from -1 to 1, got -2: a threshold outside that always holds or never does`,
			`gate "delta.pass_rate >= -2": delta.pass_rate is a difference of two rates, from -1 to 1, got -2: a threshold outside that always holds or never does at character 20`},
		{"negative latency", "latency.p95 <= -5", 15, `latency.p95 is never negative, got -5: a threshold outside that always holds or never does`,
			`gate "latency.p95 <= -5": latency.p95 is never negative, got -5: a threshold outside that always holds or never does at character 16`},
		{"corpus_bleu with a bound", "criteria.t.corpus_bleu.lower >= 30", 0, `corpus_bleu has no confidence interval: .lower applies to pass_rate, mean, delta.pass_rate and delta.mean`,
			`gate "criteria.t.corpus_bleu.lower >= 30": corpus_bleu has no confidence interval: .lower applies to pass_rate, mean, delta.pass_rate and delta.mean at character 1`},
		{"corpus_bleu of a slice", "slice(lang=de).criteria.t.corpus_bleu >= 30", 15, `corpus_bleu is reported per target, not per slice`,
			`gate "slice(lang=de).criteria.t.corpus_bleu >= 30": corpus_bleu is reported per target, not per slice at character 16`},
		{"macro_f1 of a slice", "slice(lang=de).criteria.t.macro_f1 >= 0.8", 15, `macro_f1 is reported per target, not per slice`,
			`gate "slice(lang=de).criteria.t.macro_f1 >= 0.8": macro_f1 is reported per target, not per slice at character 16`},
		{"corpus_bleu over 100", "criteria.t.corpus_bleu >= 101", 26, `criteria.t.corpus_bleu is from 0 to 100, as sacrebleu prints BLEU, got 101: a threshold outside that always holds or never does`,
			`gate "criteria.t.corpus_bleu >= 101": criteria.t.corpus_bleu is from 0 to 100, as sacrebleu prints BLEU, got 101: a threshold outside that always holds or never does at character 27`},
		{"NaN", "mean >= NaN", 8, `expected a finite number after ">=", got "NaN"`,
			`gate "mean >= NaN": expected a finite number after ">=", got "NaN" at character 9`},
		{"Inf", "latency.max <= +Inf", 15, `expected a finite number after "<=", got "+Inf"`,
			`gate "latency.max <= +Inf": expected a finite number after "<=", got "+Inf" at character 16`},
		{"unicode in the number", "mean >= ½", 8, `expected a number after ">=", got "½"`,
			`gate "mean >= ½": expected a number after ">=", got "½" at character 9`},
		{"judge without a metric", "judge.facts >= 0.6", 0, `unknown metric "judge.facts": expected judge.NAME.kappa, judge.NAME.agreement or judge.NAME.n, where NAME is a judge criterion`,
			`gate "judge.facts >= 0.6": unknown metric "judge.facts": expected judge.NAME.kappa, judge.NAME.agreement or judge.NAME.n, where NAME is a judge criterion at character 1`},
		{"judge with an unknown metric", "judge.facts.alpha >= 0.6", 0, `unknown metric "judge.facts.alpha": expected judge.NAME.kappa, judge.NAME.agreement or judge.NAME.n, where NAME is a judge criterion`,
			`gate "judge.facts.alpha >= 0.6": unknown metric "judge.facts.alpha": expected judge.NAME.kappa, judge.NAME.agreement or judge.NAME.n, where NAME is a judge criterion at character 1`},
		{"judge agreement with a bound", "judge.facts.agreement.lower >= 0.6", 0, `judge.NAME.agreement has no confidence interval: .lower applies to judge.NAME.kappa`,
			`gate "judge.facts.agreement.lower >= 0.6": judge.NAME.agreement has no confidence interval: .lower applies to judge.NAME.kappa at character 1`},
		{"judge of a slice", "slice(lang=de).judge.facts.kappa >= 0.6", 15, `a judge's agreement is not measured per slice: write judge.NAME.STAT without slice(...)`,
			`gate "slice(lang=de).judge.facts.kappa >= 0.6": a judge's agreement is not measured per slice: write judge.NAME.STAT without slice(...) at character 16`},
		{"kappa beyond 1", "judge.facts.kappa >= 1.5", 21, `judge.facts.kappa is from -1 to 1, got 1.5: a threshold outside that always holds or never does`,
			`gate "judge.facts.kappa >= 1.5": judge.facts.kappa is from -1 to 1, got 1.5: a threshold outside that always holds or never does at character 22`},
		{"unicode metric and operator", "critères ≥ 90 %", 18, missingOp,
			`gate "critères ≥ 90 %": ` + missingOp + ` at character 16`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGate(tc.expr)
			if err == nil {
				t.Fatalf("ParseGate(%q) succeeded, want an error", tc.expr)
			}
			var ge *GateError
			if !errors.As(err, &ge) {
				t.Fatalf("error %T %v is not a *GateError", err, err)
			}
			if ge.Expr != tc.expr {
				t.Errorf("Expr = %q, want %q", ge.Expr, tc.expr)
			}
			if ge.Offset != tc.offset {
				t.Errorf("Offset = %d, want %d", ge.Offset, tc.offset)
			}
			if ge.Msg != tc.msg {
				t.Errorf("Msg = %q\nwant  %q", ge.Msg, tc.msg)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("Error() = %q\nwant    %q", err.Error(), tc.wantErr)
			}
		})
	}
}

func TestGateHolds(t *testing.T) {
	tests := []struct {
		name  string
		expr  string
		value float64
		want  bool
	}{
		{">= above", "pass_rate >= 0.9", 0.95, true},
		{">= equal", "pass_rate >= 0.9", 0.9, true},
		{">= equal after rounding error", "pass_rate >= 0.9", 0.7 + 0.2, true}, // 0.8999999999999999
		{">= within epsilon below", "pass_rate >= 0.9", 0.9 - 1e-13, true},
		{">= just below", "pass_rate >= 0.9", 0.9 - 1e-9, false},
		{">= below", "pass_rate >= 0.9", 0.89, false},
		{">= percentage equal", "pass_rate >= 57%", 0.57, true},
		{">= zero", "mean >= 0", 0, true},
		{"<= below", "error_rate <= 0.1", 0.05, true},
		{"<= equal", "error_rate <= 0.1", 0.1, true},
		{"<= within epsilon above", "error_rate <= 0.1", 0.1 + 1e-13, true},
		{"<= just above", "error_rate <= 0.1", 0.1 + 1e-9, false},
		{"<= zero holds at zero", "error_rate <= 0", 0, true},
		{"<= zero fails above", "error_rate <= 0", 0.001, false},
		{"> equal is not enough", "error_rate > 0", 0, false},
		{"> tiny above", "error_rate > 0", 1e-15, true},
		{"> below", "mean > 0.5", 0.4, false},
		{"< equal is not enough", "unscored_rate < 0.5", 0.5, false},
		{"< below", "unscored_rate < 0.5", 0.49, true},
		{"< above", "unscored_rate < 0.5", 0.51, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGate(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Holds(tc.value); got != tc.want {
				t.Errorf("%q Holds(%v) = %v, want %v", tc.expr, tc.value, got, tc.want)
			}
		})
	}
}

func TestGateCriterion(t *testing.T) {
	tests := []struct {
		expr           string
		name, metric   string
		perCriterionOK bool
	}{
		{"pass_rate >= 1", "", "", false},
		{"mean >= 1", "", "", false},
		{"criteria.category.mean >= 0.95", "category", "mean", true},
		{"criteria.category.pass_rate >= 0.95", "category", "pass_rate", true},
		{"criteria.a.b.pass_rate > 0", "a.b", "pass_rate", true},
		{"criteria.mean.mean > 0", "mean", "mean", true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			g, err := ParseGate(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			name, metric, ok := g.Criterion()
			if name != tc.name || metric != tc.metric || ok != tc.perCriterionOK {
				t.Errorf("Criterion() = %q, %q, %v; want %q, %q, %v", name, metric, ok, tc.name, tc.metric, tc.perCriterionOK)
			}
		})
	}
}

func mustGates(t *testing.T, exprs ...string) []Gate {
	t.Helper()
	var out []Gate
	for _, e := range exprs {
		g, err := ParseGate(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	return out
}

func TestMergeGates(t *testing.T) {
	tests := []struct {
		name      string
		base      []string
		overrides []string
		want      []string
	}{
		{"nothing", nil, nil, nil},
		{"no overrides", []string{"pass_rate >= 0.9"}, nil, []string{"pass_rate >= 0.9"}},
		{"no base", nil, []string{"mean >= 0.5"}, []string{"mean >= 0.5"}},
		{"same metric and operator replaces in place",
			[]string{"pass_rate >= 0.9", "error_rate <= 0"},
			[]string{"pass_rate >= 0.8"},
			[]string{"pass_rate >= 0.8", "error_rate <= 0"}},
		{"> replaces >= (same direction)",
			[]string{"pass_rate >= 0.9", "error_rate <= 0"},
			[]string{"pass_rate > 0.95"},
			[]string{"pass_rate > 0.95", "error_rate <= 0"}},
		{"<= replaces < (same direction)",
			[]string{"error_rate < 0.1"},
			[]string{"error_rate <= 0"},
			[]string{"error_rate <= 0"}},
		{"other direction on the same metric is appended",
			[]string{"mean >= 0.5"},
			[]string{"mean <= 0.99"},
			[]string{"mean >= 0.5", "mean <= 0.99"}},
		{"other metric is appended",
			[]string{"pass_rate >= 0.9"},
			[]string{"mean >= 0.7", "criteria.a.mean >= 0.5"},
			[]string{"pass_rate >= 0.9", "mean >= 0.7", "criteria.a.mean >= 0.5"}},
		{"per-criterion gates are told apart by name",
			[]string{"criteria.a.mean >= 0.5", "criteria.b.mean >= 0.5"},
			[]string{"criteria.b.mean >= 0.9"},
			[]string{"criteria.a.mean >= 0.5", "criteria.b.mean >= 0.9"}},
		{"mix of replaced and appended",
			[]string{"pass_rate >= 0.9", "error_rate <= 0", "criteria.a.mean >= 0.5"},
			[]string{"pass_rate > 0.95", "error_rate >= 0", "mean >= 0.7"},
			[]string{"pass_rate > 0.95", "error_rate <= 0", "criteria.a.mean >= 0.5", "error_rate >= 0", "mean >= 0.7"}},
		{"a later override replaces an earlier one",
			nil,
			[]string{"mean >= 0.5", "mean >= 0.6"},
			[]string{"mean >= 0.6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := mustGates(t, tc.base...)
			before := append([]Gate(nil), base...)
			got := MergeGates(base, mustGates(t, tc.overrides...))
			var exprs []string
			for _, g := range got {
				exprs = append(exprs, g.Expr)
			}
			if !reflect.DeepEqual(exprs, tc.want) {
				t.Errorf("MergeGates = %q, want %q", exprs, tc.want)
			}
			if !reflect.DeepEqual(base, before) {
				t.Errorf("MergeGates changed its base: %v, was %v", base, before)
			}
		})
	}
}

// FuzzParseGate: any text either parses into a gate that holds together or
// gives a GateError whose position lies within the expression; never a
// panic.
func FuzzParseGate(f *testing.F) {
	for _, s := range []string{
		"pass_rate >= 0.9", "mean<=0.5", "criteria.a.b.mean < 1", "pass_rate >= 90%", "slice(tag=x).pass_rate > 0.1",
		"slice(lang=de).criteria.tone.mean.lower >= 0.5", "pass@5 >= 0.9", "pass^3 > 0", "delta.mean.upper <= 0",
		"latency.p95 <= 2000", "criteria.t.corpus_bleu >= 30", "slice(", "slice(a=b)", "pass@", "=>", "mean >= NaN", "",
		"criteria..mean >= 1", "critères ≥ 90 %", "regressions <= 0", "slice(k=v)).mean > 0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		g, err := ParseGate(expr)
		if err != nil {
			var ge *GateError
			if !errors.As(err, &ge) {
				t.Fatalf("ParseGate(%q): %T %v, want a *GateError", expr, err, err)
			}
			if ge.Offset < 0 || ge.Offset > len(expr) {
				t.Fatalf("ParseGate(%q): offset %d outside the expression", expr, ge.Offset)
			}
			return
		}
		if math.IsNaN(g.Value) || math.IsInf(g.Value, 0) {
			t.Fatalf("ParseGate(%q): value %v", expr, g.Value)
		}
		if lo, hi, _ := g.Ref.Range(); g.Value < lo || g.Value > hi {
			t.Fatalf("ParseGate(%q): value %v outside [%v, %v]", expr, g.Value, lo, hi)
		}
		if g.Ref.Stat == "" {
			t.Fatalf("ParseGate(%q): no statistic in %+v", expr, g.Ref)
		}
		again, err := ParseGate(g.Expr)
		if err != nil || again != g {
			t.Fatalf("ParseGate(%q) = %+v, but its Expr parses to %+v, %v", expr, g, again, err)
		}
	})
}

// TestMeasure reads a metric of each kind from a target's summary, or says
// why there is no data for it.
func TestMeasure(t *testing.T) {
	iv := &Interval{Lo: 0.6, Hi: 0.95}
	bleu := 48.530827
	tgt := &TargetSummary{
		Name: "t",
		Figures: Figures{Cases: 10, Passed: 7, Failed: 1, Errored: 2, PassRate: 0.7, PassRateCI: iv, ErrorRate: 0.2, Scored: 8, Mean: 0.8,
			Cached: 4, LatencyMS: LatencySummary{P95: 300}, Usage: Usage{TotalTokens: 800},
			Stream: &StreamSummary{Responses: 8, FirstTokenMS: LatencySummary{P50: 80, P95: 120, P99: 150, Mean: 90, Max: 160},
				ContentResponses: 6, FirstContentMS: LatencySummary{P95: 700}, RatedResponses: 5, TokensPerSecond: 42.5},
			Criteria: []CriterionSummary{{Name: "c", N: 8, PassRate: 0.75, Mean: 0.7, CorpusBLEU: &bleu}, {Name: "none"},
				{Name: "traj", N: 3, ToolCalls: &ToolCallMetrics{F1: 0.625}},
				{Name: "judge", N: 6, Unscored: 2}, {Name: "mute", Unscored: 8}}},
		Slices: []SliceSummary{{Key: "lang", Value: "de", Figures: Figures{Cases: 4, Passed: 1, PassRate: 0.25, Cached: 3,
			Stream:   &StreamSummary{Responses: 4, FirstTokenMS: LatencySummary{P95: 95}, ContentResponses: 0},
			Criteria: []CriterionSummary{{Name: "c", N: 4, PassRate: 0.5}}}},
			{Key: "lang", Value: "xx", Figures: Figures{Cases: 2, Errored: 2}}},
		Repeats: &RepeatSummary{N: 3, Cases: 2, PassCounts: []int{0, 1, 0, 1}, FlakyRate: 0.5},
	}
	for _, tc := range []struct {
		metric string
		want   float64
		why    string
	}{
		{"pass_rate", 0.7, ""},
		{"pass_rate.lower", 0.6, ""},
		{"mean.upper", 0, "no interval"},
		{"error_rate", 0.2, ""},
		{"cached_rate", 0.5, ""},
		{"latency.p95", 300, ""},
		{"ttft.p50", 80, ""},
		{"ttft.p95", 120, ""},
		{"ttft.p99", 150, ""},
		{"ttft.mean", 90, ""},
		{"ttft.max", 160, ""},
		{"ttfc.p95", 700, ""},
		{"tokens_per_s.mean", 42.5, ""},
		{"slice(lang=de).ttft.p95", 95, ""},
		{"slice(lang=de).ttfc.p95", 0, "no streamed response had a token of its answer (only reasoning) in slice lang=de"},
		{"slice(lang=de).tokens_per_s.mean", 0, "no streamed response reported more than one output token in its usage in slice lang=de"},
		{"slice(lang=xx).ttft.p95", 0, `no response was streamed in slice lang=xx: a target streams with "stream": true`},
		{"tokens.mean", 100, ""},
		{"cost.total", 0, "the target has no price table (price)"},
		{"pass@2", 5.0 / 6, ""},
		{"pass^4", 0, "k = 4 is more than the 3 repeats"},
		{"flaky_rate", 0.5, ""},
		{"regressions", 0, "no baseline to compare with: pass --baseline"},
		{"criteria.c.corpus_bleu", 48.530827, ""},
		{"criteria.c.mean.lower", 0, "the report has no interval for a criterion's mean"},
		{"criteria.c.macro_f1", 0, "criterion c compares no labels (label: true)"},
		{"criteria.traj.tool_call_f1", 0.625, ""},
		{"criteria.c.tool_call_f1", 0, "criterion c has no tool-call F1 (only trajectory criteria do)"},
		{"criteria.none.pass_rate", 0, "criterion none scored no response of the 10 cases"},
		{"criteria.judge.unscored_rate", 0.25, ""},
		{"criteria.mute.unscored_rate", 1, ""}, // scored nothing: the rate has data all the same
		{"criteria.mute.pass_rate", 0, "criterion mute scored no response of the 10 cases"},
		{"criteria.none.unscored_rate", 0, "criterion none judged no response of the 10 cases"},
		{"criteria.other.mean", 0, "no criterion other"},
		{"slice(lang=de).pass_rate", 0.25, ""},
		{"slice(lang=de).mean", 0, "no case of 4 was scored in slice lang=de"},
		{"slice(lang=de).pass_rate.upper", 0, "no interval in slice lang=de"},
		{"slice(lang=de).criteria.c.pass_rate", 0.5, ""},
		{"slice(lang=fr).error_rate", 0, "no case is in slice lang=fr"},
		{"slice(lang=de).cached_rate", 0.75, ""},
		{"slice(lang=xx).cached_rate", 0, "no response was received in slice lang=xx"},
		{"clean_pass_rate", 0.7, ""}, // no leak check: the pass rate
	} {
		ref, err := ParseMetric(tc.metric)
		if err != nil {
			t.Fatalf("%s: %v", tc.metric, err)
		}
		v, ok, why := ref.Measure(tgt)
		if ok != (tc.why == "") || ok && math.Abs(v-tc.want) > 1e-12 || !ok && why != tc.why {
			t.Errorf("%s: %v, %v, %q; want %v, %q", tc.metric, v, ok, why, tc.want, tc.why)
		}
	}
	// With leaked cases: the pass rate without them, and no data when
	// every case leaked.
	ref, err := ParseMetric("clean_pass_rate")
	if err != nil {
		t.Fatal(err)
	}
	tgt.Leaks = &LeakSummary{Cases: 2, Passed: 2, CleanCases: 8, CleanPassed: 5, PassRate: 1, CleanPassRate: 0.625}
	if v, ok, why := ref.Measure(tgt); !ok || v != 0.625 {
		t.Errorf("clean_pass_rate with leaks: %v, %v, %q; want 0.625", v, ok, why)
	}
	tgt.Leaks = &LeakSummary{Cases: 10, Passed: 7}
	if v, ok, why := ref.Measure(tgt); ok || why != "every case of 10 was found in training data" {
		t.Errorf("clean_pass_rate, every case leaked: %v, %v, %q", v, ok, why)
	}
}

func TestMeasureJudge(t *testing.T) {
	kappa, agree := 0.6153846153846154, 0.8
	current := JudgeAgreement{Judge: "facts", Key: "k1", Status: AgreementCurrent, Agreement: &Agreement{
		Judge: "facts", N: 5, Agreement: &agree, Kappa: &kappa, KappaCI: &Interval{Lo: -0.007, Hi: 1, Method: "fleiss-cohen-everitt"}}}
	undefined := JudgeAgreement{Judge: "tone", Key: "k2", Status: AgreementCurrent, Agreement: &Agreement{
		Judge: "tone", N: 4, Agreement: &agree, KappaUndefined: "every result passed, for the judge and for people"}}
	stale := JudgeAgreement{Judge: "style", Key: "k3", Status: AgreementStale, Why: "the rubric changed since the agreement of run r1"}
	judges := []JudgeAgreement{current, undefined, stale}
	tests := []struct {
		metric string
		want   float64
		ok     bool
		why    string
	}{
		{"judge.facts.kappa", kappa, true, ""},
		{"judge.facts.kappa.lower", -0.007, true, ""},
		{"judge.facts.kappa.upper", 1, true, ""},
		{"judge.facts.agreement", 0.8, true, ""},
		{"judge.facts.n", 5, true, ""},
		{"judge.tone.kappa", 0, false, "kappa of judge tone is undefined: every result passed, for the judge and for people"},
		{"judge.tone.n", 4, true, ""},
		{"judge.style.kappa", 0, false, "the rubric changed since the agreement of run r1"},
		{"judge.other.n", 0, false, "no agreement recorded for judge other with this rubric and target; run: rubric agreement RUN --reviews SHEET"},
	}
	for _, tc := range tests {
		t.Run(tc.metric, func(t *testing.T) {
			ref, perr := ParseMetric(tc.metric)
			if perr != nil {
				t.Fatal(perr.Msg)
			}
			got, ok, why := ref.MeasureJudge(judges)
			if got != tc.want || ok != tc.ok || why != tc.why {
				t.Errorf("MeasureJudge = %v, %v, %q; want %v, %v, %q", got, ok, why, tc.want, tc.ok, tc.why)
			}
			if _, ok, _ := ref.Measure(&TargetSummary{}); ok {
				t.Error("a judge's metric measured on a target")
			}
		})
	}
}
