package evals

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// metric is a statistic a gate can name. The table metrics lists them all,
// and everything that knows a metric reads it: ParseMetric, the suggestion
// for a misspelt one, the lists in its errors, the threshold's range, the
// gate tables of docs/suite.md (TestDocsGateTables checks them against it)
// and the evaluation, MetricRef.Measure. A new metric is one entry here and
// its row in the docs.
type metric struct {
	// name is the statistic as a gate writes it: "pass_rate",
	// "latency.p95"; for a statistic at a number K, "pass@K", which a gate
	// writes pass@5 and MetricRef.Stat holds as "pass@k". A criterion's
	// metric is written criteria.NAME.<name>.
	name string
	// criterion marks a criterion's metric; judge a judge criterion's
	// agreement with people (judge.NAME.<name>), which the history holds.
	criterion bool
	judge     bool
	// slice: the metric applies to the cases of a slice too
	// (slice(KEY=VALUE).<name>), not only to a target.
	slice bool
	// bounds: the metric has a confidence interval, whose bounds a gate
	// names as <name>.lower and <name>.upper.
	bounds bool
	// baseline: the metric compares the run with a baseline (--baseline).
	baseline bool
	rng      metricRange
	// doc says what the value is, in one line of Markdown: the gate tables
	// of docs/suite.md have it, one row for consecutive metrics with the
	// same doc.
	doc string
	// value computes the metric and, when it can, its interval; when there
	// is no data for it, why.
	value func(m *measured) (v float64, ci *Interval, why string)
	// noInterval is why a bound has no data when value gave no interval;
	// "no interval" when empty.
	noInterval string
	// unscored: a criterion's metric that has data when the criterion
	// scored no response, only left them unscored.
	unscored bool
}

// metricRange is the interval a metric's values lie in, and how to say so.
type metricRange struct {
	lo, hi float64
	what   string
}

var (
	unitRange  = metricRange{0, 1, "from 0 to 1 (write a percentage as 90%)"}
	deltaRange = metricRange{-1, 1, "a difference of two rates, from -1 to 1"}
	countRange = metricRange{0, math.Inf(1), "never negative"}
	bleuRange  = metricRange{0, 100, "from 0 to 100, as sacrebleu prints BLEU"}
	kappaRange = metricRange{-1, 1, "from -1 to 1"}
)

// measured is what a metric is computed from.
type measured struct {
	// target is the target gated.
	target *TargetSummary
	// f are the target's figures, or a slice's for a metric of a slice.
	f *Figures
	// where is "" for a target and " in slice KEY=VALUE" for a slice, for
	// the reasons of no data.
	where string
	// crit is the criterion of a criterion's metric.
	crit *CriterionSummary
	// k is the K of pass@K.
	k int
	// agreement is the judge's of a judge metric.
	agreement *JudgeAgreement
}

// metrics are the gate metrics: a target's (which, marked slice, a slice's
// too), then a criterion's. The order is the order of the lists in errors
// and of the rows of docs/suite.md.
var metrics = []metric{
	{name: "pass_rate", slice: true, bounds: true, rng: unitRange,
		doc:   "passed cases / all cases. An error or an unscored case is not a pass.",
		value: caseRate(func(f *Figures) (float64, *Interval) { return f.PassRate, f.PassRateCI })},
	{name: "mean", slice: true, bounds: true, rng: unitRange,
		doc: "The mean case score over the cases that have a score.",
		value: func(m *measured) (float64, *Interval, string) {
			if m.f.Scored == 0 {
				return 0, nil, fmt.Sprintf("no case of %d was scored%s", m.f.Cases, m.where)
			}
			return m.f.Mean, m.f.MeanCI, ""
		}},
	{name: "error_rate", slice: true, rng: unitRange,
		doc:   "cases with status `error` / all cases.",
		value: caseRate(func(f *Figures) (float64, *Interval) { return f.ErrorRate, nil })},
	{name: "unscored_rate", slice: true, rng: unitRange,
		doc:   "cases with status `unscored` / all cases.",
		value: caseRate(func(f *Figures) (float64, *Interval) { return f.UnscoredRate, nil })},
	{name: "cached_rate", slice: true, rng: unitRange,
		doc: "responses served from the [response cache](#retry-rate_limit-and-cache) / responses received: 1 when no request reached the endpoint, 0 when none came from the cache.",
		value: func(m *measured) (float64, *Interval, string) {
			received := m.f.Cases - m.f.Errored
			if received == 0 {
				return 0, nil, noResponse + m.where
			}
			return ratio(m.f.Cached, received), nil, ""
		}},
	{name: "clean_pass_rate", rng: unitRange,
		doc: "passed cases / all cases, leaving out the cases found in training data (`--training-manifest` with `--allow-leaks`, [leakage.md](leakage.md)); the pass rate when none was found or no check ran.",
		value: func(m *measured) (float64, *Interval, string) {
			l := m.target.Leaks
			if l == nil {
				return caseRate(func(f *Figures) (float64, *Interval) { return f.PassRate, nil })(m)
			}
			if l.CleanCases == 0 {
				return 0, nil, fmt.Sprintf("every case of %d was found in training data", l.Cases)
			}
			return l.CleanPassRate, nil, ""
		}},
	latency("latency.p50", func(l LatencySummary) float64 { return l.P50 }),
	latency("latency.p95", func(l LatencySummary) float64 { return l.P95 }),
	latency("latency.p99", func(l LatencySummary) float64 { return l.P99 }),
	latency("latency.mean", func(l LatencySummary) float64 { return l.Mean }),
	latency("latency.max", func(l LatencySummary) float64 { return l.Max }),
	streamed("ttft.p50", ttftDoc, firstToken(func(l LatencySummary) float64 { return l.P50 })),
	streamed("ttft.p95", ttftDoc, firstToken(func(l LatencySummary) float64 { return l.P95 })),
	streamed("ttft.p99", ttftDoc, firstToken(func(l LatencySummary) float64 { return l.P99 })),
	streamed("ttft.mean", ttftDoc, firstToken(func(l LatencySummary) float64 { return l.Mean })),
	streamed("ttft.max", ttftDoc, firstToken(func(l LatencySummary) float64 { return l.Max })),
	streamed("ttfc.p50", ttfcDoc, firstContent(func(l LatencySummary) float64 { return l.P50 })),
	streamed("ttfc.p95", ttfcDoc, firstContent(func(l LatencySummary) float64 { return l.P95 })),
	streamed("ttfc.p99", ttfcDoc, firstContent(func(l LatencySummary) float64 { return l.P99 })),
	streamed("ttfc.mean", ttfcDoc, firstContent(func(l LatencySummary) float64 { return l.Mean })),
	streamed("ttfc.max", ttfcDoc, firstContent(func(l LatencySummary) float64 { return l.Max })),
	streamed("tokens_per_s.mean", "With `stream`: output tokens per second after the first token, from the usage each streamed response reported, averaged over the responses.",
		func(s *StreamSummary) (float64, string) {
			if s.RatedResponses == 0 {
				return 0, "no streamed response reported more than one output token in its usage"
			}
			return s.TokensPerSecond, ""
		}),
	tokens("tokens.total", func(u Usage, _ int) float64 { return float64(u.TotalTokens) }),
	tokens("tokens.prompt", func(u Usage, _ int) float64 { return float64(u.PromptTokens) }),
	tokens("tokens.completion", func(u Usage, _ int) float64 { return float64(u.CompletionTokens) }),
	tokens("tokens.mean", func(u Usage, received int) float64 { return ratio(u.TotalTokens, received) }),
	{name: "cost.total", rng: countRange, doc: costDoc,
		value: func(m *measured) (float64, *Interval, string) {
			if m.target.Cost == nil {
				return 0, nil, noPrice
			}
			return m.target.Cost.Total, nil, ""
		}},
	{name: "cost.mean", rng: countRange, doc: costDoc,
		value: func(m *measured) (float64, *Interval, string) {
			if m.target.Cost == nil {
				return 0, nil, noPrice
			}
			if m.target.received() == 0 {
				return 0, nil, noResponse
			}
			return m.target.Cost.Mean, nil, ""
		}},
	repeats("pass@K", passKDoc, func(rs *RepeatSummary, k int) (float64, string) {
		at, _, ok := rs.PassK(k)
		if !ok {
			return 0, fmt.Sprintf("k = %d is more than the %d repeats", k, rs.N)
		}
		return at, ""
	}),
	repeats("pass^K", passKDoc, func(rs *RepeatSummary, k int) (float64, string) {
		_, hat, ok := rs.PassK(k)
		if !ok {
			return 0, fmt.Sprintf("k = %d is more than the %d repeats", k, rs.N)
		}
		return hat, ""
	}),
	repeats("flaky_rate", "With `repeat`: the share of cases whose verdict changed between repeats.",
		func(rs *RepeatSummary, _ int) (float64, string) { return rs.FlakyRate, "" }),
	compared("delta.pass_rate", true, deltaRange,
		"With [`--baseline`](#comparing-runs): this run's pass rate minus the baseline's, over the cases both have.",
		func(c *Comparison) (float64, *Interval) { return c.DeltaPassRate, c.DeltaPassRateCI }),
	compared("delta.mean", true, deltaRange,
		"With `--baseline`: this run's mean score minus the baseline's, over the cases both have.",
		func(c *Comparison) (float64, *Interval) { return c.DeltaMean, c.DeltaMeanCI }),
	compared("regressions", false, countRange, regressionsDoc,
		func(c *Comparison) (float64, *Interval) { return float64(c.Regressions), nil }),
	compared("fixes", false, countRange, regressionsDoc,
		func(c *Comparison) (float64, *Interval) { return float64(c.Fixes), nil }),

	{name: "pass_rate", criterion: true, slice: true, bounds: true, rng: unitRange, doc: critDoc,
		value: func(m *measured) (float64, *Interval, string) { return m.crit.PassRate, m.crit.PassRateCI, "" }},
	{name: "mean", criterion: true, slice: true, bounds: true, rng: unitRange, doc: critDoc,
		value:      func(m *measured) (float64, *Interval, string) { return m.crit.Mean, m.crit.MeanCI, "" },
		noInterval: "the report has no interval for a criterion's mean"},
	{name: "corpus_bleu", criterion: true, rng: bleuRange,
		doc: "For a `bleu` criterion: its [corpus BLEU](#bleu), from 0 to 100.",
		value: func(m *measured) (float64, *Interval, string) {
			if m.crit.CorpusBLEU == nil {
				return 0, nil, fmt.Sprintf("criterion %s has no corpus BLEU (only bleu criteria do)", m.crit.Name)
			}
			return *m.crit.CorpusBLEU, nil, ""
		}},
	{name: "tool_call_f1", criterion: true, rng: unitRange,
		doc: "For a `trajectory` criterion: the [tool-call F1](#trajectory) of all its responses, from their counts summed (micro-averaged).",
		value: func(m *measured) (float64, *Interval, string) {
			if m.crit.ToolCalls == nil {
				return 0, nil, fmt.Sprintf("criterion %s has no tool-call F1 (only trajectory criteria do)", m.crit.Name)
			}
			return m.crit.ToolCalls.F1, nil, ""
		}},
	{name: "unscored_rate", criterion: true, slice: true, unscored: true, rng: unitRange,
		doc: "The responses the criterion could not score (a judge whose answer named no verdict) / the responses it judged: gate on it to keep a judge reliable.",
		value: func(m *measured) (float64, *Interval, string) {
			if m.crit.N+m.crit.Unscored == 0 {
				return 0, nil, fmt.Sprintf("criterion %s judged no response of the %d cases%s", m.crit.Name, m.f.Cases, m.where)
			}
			return ratio(m.crit.Unscored, m.crit.N+m.crit.Unscored), nil, ""
		}},
	classification("macro_f1", func(c *Classification) float64 { return c.MacroF1 }),
	classification("micro_f1", func(c *Classification) float64 { return c.MicroF1 }),

	{name: "kappa", judge: true, bounds: true, rng: kappaRange,
		doc: "Cohen's kappa of the judge's verdicts and people's, as [`rubric agreement`](judges.md) recorded it for this rubric and target; `.lower` and `.upper` bound its interval.",
		value: func(m *measured) (float64, *Interval, string) {
			a := m.agreement.Agreement
			if a.Kappa == nil {
				return 0, nil, fmt.Sprintf("kappa of judge %s is undefined: %s", m.agreement.Judge, a.KappaUndefined)
			}
			return *a.Kappa, a.KappaCI, ""
		}},
	{name: "agreement", judge: true, rng: unitRange,
		doc: "The share of the results on which the judge and people agree.",
		value: func(m *measured) (float64, *Interval, string) {
			a := m.agreement.Agreement
			if a.Agreement == nil {
				return 0, nil, fmt.Sprintf("judge %s and people rated no result in common", m.agreement.Judge)
			}
			return *a.Agreement, nil, ""
		}},
	{name: "n", judge: true, rng: countRange,
		doc: "The number of results both the judge and people rated, which `kappa` and `agreement` are of.",
		value: func(m *measured) (float64, *Interval, string) {
			return float64(m.agreement.Agreement.N), nil, ""
		}},
}

const (
	noResponse     = "no response was received"
	noPrice        = "the target has no price table (price)"
	costDoc        = "Cost at the target's [`price`](#fields-every-target-has) table, summed and per response. No data without a price table."
	regressionsDoc = "With `--baseline`: the cases that passed in the baseline and do not pass now, and the reverse."
	critDoc        = "The criterion's pass rate over the responses it scored, and its mean score."
	passKDoc       = "With [`repeat`](#repeats-and-reducers): the chance that at least one (`pass@K`) or all (`pass^K`) of K attempts at a case pass, averaged over cases. `K` is at most the number of repeats."
)

// caseRate is a rate of the cases of a target or a slice, with no data when
// there are none.
func caseRate(rate func(*Figures) (float64, *Interval)) func(*measured) (float64, *Interval, string) {
	return func(m *measured) (float64, *Interval, string) {
		if m.f.Cases == 0 {
			return 0, nil, "no case completed" + m.where
		}
		v, ci := rate(m.f)
		return v, ci, ""
	}
}

// received counts the results that got a response.
func (t *TargetSummary) received() int { return t.Cases - t.Errored }

func latency(name string, stat func(LatencySummary) float64) metric {
	return metric{name: name, rng: countRange,
		doc: "Response latency in milliseconds, over the results that got a response. A cached response counts with its original latency.",
		value: func(m *measured) (float64, *Interval, string) {
			if m.target.received() == 0 {
				return 0, nil, noResponse
			}
			return stat(m.target.LatencyMS), nil, ""
		}}
}

const (
	ttftDoc = "With [`stream`](#streaming-responses): time to the first token, reasoning included, in milliseconds from when the request was sent, over the streamed responses. A cached response counts with the original call's."
	ttfcDoc = "With `stream`: time to the first token of the answer itself (reasoning models stream their reasoning first), in milliseconds, over the streamed responses that had one."
)

// streamed is a metric of the streamed responses of a target or slice;
// stat gives its value, or why there is none.
func streamed(name, doc string, stat func(*StreamSummary) (float64, string)) metric {
	return metric{name: name, slice: true, rng: countRange, doc: doc,
		value: func(m *measured) (float64, *Interval, string) {
			if m.f.Stream == nil {
				return 0, nil, "no response was streamed" + m.where + `: a target streams with "stream": true`
			}
			v, why := stat(m.f.Stream)
			if why != "" {
				return 0, nil, why + m.where
			}
			return v, nil, ""
		}}
}

func firstToken(stat func(LatencySummary) float64) func(*StreamSummary) (float64, string) {
	return func(s *StreamSummary) (float64, string) { return stat(s.FirstTokenMS), "" }
}

func firstContent(stat func(LatencySummary) float64) func(*StreamSummary) (float64, string) {
	return func(s *StreamSummary) (float64, string) {
		if s.ContentResponses == 0 {
			return 0, "no streamed response had a token of its answer (only reasoning)"
		}
		return stat(s.FirstContentMS), ""
	}
}

func tokens(name string, stat func(u Usage, received int) float64) metric {
	return metric{name: name, rng: countRange,
		doc: "Tokens the endpoint reported, summed; `tokens.mean` is total tokens per response.",
		value: func(m *measured) (float64, *Interval, string) {
			n := m.target.received()
			if n == 0 {
				return 0, nil, noResponse
			}
			return stat(m.target.Usage, n), nil, ""
		}}
}

// repeats is a metric of the repeats section; stat gives its value or why
// there is none.
func repeats(name, doc string, stat func(rs *RepeatSummary, k int) (float64, string)) metric {
	return metric{name: name, rng: unitRange, doc: doc,
		value: func(m *measured) (float64, *Interval, string) {
			rs := m.target.Repeats
			if rs == nil {
				return 0, nil, "the cases ran once: pass@k, pass^k and flaky_rate need repeat > 1"
			}
			if rs.Cases == 0 {
				return 0, nil, "no case has all its repeats"
			}
			v, why := stat(rs, m.k)
			return v, nil, why
		}}
}

// compared is a metric of the comparison with the baseline run.
func compared(name string, bounds bool, rng metricRange, doc string, stat func(*Comparison) (float64, *Interval)) metric {
	return metric{name: name, bounds: bounds, baseline: true, rng: rng, doc: doc,
		value: func(m *measured) (float64, *Interval, string) {
			c := m.target.Comparison
			if c == nil {
				return 0, nil, "no baseline to compare with: pass --baseline"
			}
			if c.Matched == 0 {
				return 0, nil, fmt.Sprintf("no case matched the baseline's %s", c.Against)
			}
			v, ci := stat(c)
			return v, ci, ""
		}}
}

func classification(name string, stat func(*Classification) float64) metric {
	return metric{name: name, criterion: true, rng: unitRange,
		doc: "For a criterion with `\"label\": true`: its macro F1 and its micro F1 (accuracy).",
		value: func(m *measured) (float64, *Interval, string) {
			if m.crit.Classification == nil {
				return 0, nil, fmt.Sprintf("criterion %s compares no labels (label: true)", m.crit.Name)
			}
			return stat(m.crit.Classification), nil, ""
		}}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// perK reports whether the metric is at a number K, as pass@K is.
func (d *metric) perK() bool { return strings.HasSuffix(d.name, "K") }

// stat is the metric's name as MetricRef.Stat holds it: "pass@k" for
// pass@K.
func (d *metric) stat() string {
	if d.perK() {
		return strings.TrimSuffix(d.name, "K") + "k"
	}
	return d.name
}

// lookup returns the metric m names, nil for none.
func (m MetricRef) lookup() *metric {
	crit, judge := m.Criterion != "", m.Judge != ""
	for i := range metrics {
		if d := &metrics[i]; d.criterion == crit && d.judge == judge && d.stat() == m.Stat {
			return d
		}
	}
	return nil
}

// metricNames returns, in the table's order, the names of the metrics for
// which keep is true.
func metricNames(keep func(*metric) bool) []string {
	var names []string
	for i := range metrics {
		if d := &metrics[i]; keep(d) && !slices.Contains(names, d.name) {
			names = append(names, d.name)
		}
	}
	return names
}

// GateMetrics lists the metrics of a target a gate may name, but pass@K
// and pass^K, which take a number.
var GateMetrics = metricNames(func(d *metric) bool { return target(d) && !d.perK() })

// target reports whether d is a target's metric.
func target(d *metric) bool { return !d.criterion && !d.judge }

// SliceMetrics lists the metrics of a slice.
var SliceMetrics = metricNames(func(d *metric) bool { return target(d) && d.slice })

// CriterionMetrics lists the per-criterion metrics a gate may name.
var CriterionMetrics = metricNames(func(d *metric) bool { return d.criterion })

// JudgeMetrics lists a judge criterion's agreement metrics.
var JudgeMetrics = metricNames(func(d *metric) bool { return d.judge })

// boundable lists the statistics of targets and criteria that have a
// confidence interval.
var boundable = metricNames(func(d *metric) bool { return d.bounds && !d.judge })

// metricForms lists the metrics a gate may name, for errors: the target's,
// a criterion's that every criterion has (those of slices too), and
// slices. Consecutive metrics with the same doc and a common prefix are
// written together: latency.p50|p95|p99|mean|max.
var metricForms = strings.Join(append(append(append(
	forms(target, ""),
	forms(func(d *metric) bool { return d.criterion && d.slice }, "criteria.NAME.")...),
	judgeForms()...),
	"slice(KEY=VALUE).METRIC"), ", ")

// judgeForms lists a judge criterion's metrics, for errors.
func judgeForms() []string {
	out := make([]string, len(JudgeMetrics))
	for i, n := range JudgeMetrics {
		out[i] = "judge.NAME." + n
	}
	return out
}

// forms writes the metrics for which keep is true, each after prefix; the
// metrics of a docs row together when they share a prefix: with prefix
// "criteria.NAME.", criteria.NAME.pass_rate|mean.
func forms(keep func(*metric) bool, prefix string) []string {
	var out []string
	for _, row := range docRows(keep) {
		common := ""
		if head, _, ok := strings.Cut(row[0].name, "."); ok {
			common = head + "."
		}
		names := make([]string, len(row))
		for i, d := range row {
			names[i] = d.name
			if !strings.HasPrefix(d.name, common) {
				common = ""
			}
		}
		if len(row) == 1 || prefix+common == "" {
			for _, n := range names {
				out = append(out, prefix+n)
			}
			continue
		}
		for i := range names {
			names[i] = strings.TrimPrefix(names[i], common)
		}
		out = append(out, prefix+common+strings.Join(names, "|"))
	}
	return out
}

// docRows groups the metrics for which keep is true into the rows of the
// docs' tables: consecutive metrics with the same doc share one.
func docRows(keep func(*metric) bool) [][]*metric {
	var rows [][]*metric
	for i := range metrics {
		d := &metrics[i]
		if !keep(d) {
			continue
		}
		if n := len(rows); n > 0 && rows[n-1][0].doc == d.doc {
			rows[n-1] = append(rows[n-1], d)
			continue
		}
		rows = append(rows, []*metric{d})
	}
	return rows
}

// orList joins names as "a, b or c".
func orList(names []string) string { return joinLast(names, " or ") }

// andList joins names as "a, b and c".
func andList(names []string) string { return joinLast(names, " and ") }

func joinLast(names []string, last string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + last + names[len(names)-1]
}

// Measure returns the value of the metric m on target t and, when there is
// no data for it, false and why ("no case completed", "no baseline to
// compare with: pass --baseline").
func (m MetricRef) Measure(t *TargetSummary) (float64, bool, string) {
	d := m.lookup()
	if d == nil {
		return 0, false, "unknown metric"
	}
	if m.Judge != "" {
		return 0, false, "a judge's agreement is a run's, not a target's"
	}
	in := measured{target: t, f: &t.Figures, k: m.K}
	if m.SliceKey != "" {
		var sl *SliceSummary
		for i := range t.Slices {
			if t.Slices[i].Key == m.SliceKey && t.Slices[i].Value == m.SliceValue {
				sl = &t.Slices[i]
			}
		}
		if sl == nil {
			return 0, false, fmt.Sprintf("no case is in slice %s", m.Slice())
		}
		in.f, in.where = &sl.Figures, " in slice "+m.Slice()
	}
	if m.Criterion != "" {
		for i := range in.f.Criteria {
			if in.f.Criteria[i].Name == m.Criterion {
				in.crit = &in.f.Criteria[i]
				break
			}
		}
		switch {
		case in.crit == nil:
			return 0, false, fmt.Sprintf("no criterion %s", m.Criterion)
		case in.crit.N == 0 && !d.unscored:
			return 0, false, fmt.Sprintf("criterion %s scored no response of the %d cases%s", m.Criterion, in.f.Cases, in.where)
		}
	}
	return m.value(d, &in)
}

// MeasureJudge returns the value of the judge.NAME metric m from the
// judges' agreements a run's report holds and, when there is no data for
// it, false and why: no agreement recorded for the judge's rubric and
// target, a stale one, an undefined kappa.
func (m MetricRef) MeasureJudge(judges []JudgeAgreement) (float64, bool, string) {
	d := m.lookup()
	if d == nil || m.Judge == "" {
		return 0, false, "not a judge's metric"
	}
	var in measured
	for i := range judges {
		if judges[i].Judge == m.Judge {
			in.agreement = &judges[i]
		}
	}
	switch {
	case in.agreement == nil:
		return 0, false, NoAgreement(m.Judge)
	case in.agreement.Status != AgreementCurrent || in.agreement.Agreement == nil:
		if in.agreement.Why == "" {
			return 0, false, NoAgreement(m.Judge)
		}
		return 0, false, in.agreement.Why
	}
	return m.value(d, &in)
}

// value is d's value on in, or its bound that m names.
func (m MetricRef) value(d *metric, in *measured) (float64, bool, string) {
	v, ci, why := d.value(in)
	if why != "" {
		return 0, false, why
	}
	if m.Bound == "" {
		return v, true, ""
	}
	if ci == nil {
		if d.noInterval != "" {
			return 0, false, d.noInterval + in.where
		}
		return 0, false, "no interval" + in.where
	}
	if m.Bound == "lower" {
		return ci.Lo, true, ""
	}
	return ci.Hi, true, ""
}
