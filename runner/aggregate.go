package runner

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
	"github.com/rubric-eval/rubric/runner/stats"
)

// aggregate accumulates one target's results. Only the collector goroutine
// touches it, so it needs no lock.
type aggregate struct {
	spec   evals.TargetSpec
	stats  evals.Statistics
	s      evals.TargetSummary
	scores sample
	lat    latencies
	cost   float64
	crit   []critAgg
	judges *evals.JudgeSummary // nil until a criterion calls a judge
	// criteria are the suite's, for the aggregates of new slices.
	criteria []Criterion

	sliceBy map[string]bool // metadata fields the suite slices by
	slices  map[sliceKey]*sliceAgg
	values  map[string]int // distinct values seen per slice key
	keys    []sliceKey     // scratch: the slices of the result being added

	repeat  int // repeats per case; > 1 turns on the repeats section
	reduce  string
	open    map[string]*caseRepeats // cases with repeats still to come
	reduced repeatAgg
}

type critAgg struct {
	evals.CriterionSummary
	sample sample
	labels *labelCounts // nil until a verdict compares labels
	bleu   *bleuSum     // nil until a verdict has BLEU counts
}

// bleuSum adds up the BLEU counts of a criterion's verdicts, for corpus BLEU:
// the sums only, so that memory does not grow with the cases.
type bleuSum struct {
	stats textmetric.BLEUStats
	n     int // verdicts counted
}

// add counts c, unless it could not come from a BLEU (a negative count, more
// matches than n-grams), which would make the score no number.
func (b *bleuSum) add(c *evals.BLEUCounts) {
	if c.HypLen < 0 || c.RefLen < 0 {
		return
	}
	for n := range c.Matches {
		if c.Matches[n] < 0 || c.Matches[n] > c.Totals[n] {
			return
		}
	}
	b.stats = b.stats.Add(textmetric.BLEUStats(*c))
	b.n++
}

// corpusBLEU is the corpus BLEU of a criterion's n scored verdicts, as
// sacrebleu's corpus_bleu computes it: 13a tokenisation, exp smoothing, no
// effective order (BLEU's zero value), on the summed counts. Nil unless all n
// verdicts had counts: a journal written before they were recorded has none,
// and a corpus BLEU of some of the responses would not be sacrebleu's.
func (b *bleuSum) corpusBLEU(n int) *float64 {
	if b == nil || n == 0 || b.n != n {
		return nil
	}
	v := textmetric.BLEU{}.Score(b.stats).Score
	return &v
}

// sliceKey names a slice: "tag" and a tag, or a metadata field and a value.
type sliceKey struct{ key, value string }

// MaxSliceValues caps the slices of one metadata field; further values are
// counted together in the slice "(other)".
const MaxSliceValues = 100

type sliceAgg struct {
	s      evals.SliceSummary
	scores sample
	lat    latencies
	cost   float64
	crit   []critAgg
}

// caseRepeats collects one case's repeats until all have come.
type caseRepeats struct {
	n, passed int
	scores    []float64
}

// repeatAgg accumulates the reduced verdicts of cases whose repeats are all in.
type repeatAgg struct {
	cases, passed, flaky int
	scoreSum             float64 // of the reduced case scores
	hist                 []int   // hist[c]: cases with c passing repeats
	flakyIDs             []string
}

func newAggregate(spec evals.TargetSpec, criteria []Criterion, suite *evals.Suite, st evals.Statistics, repeat int) *aggregate {
	a := &aggregate{
		spec:   spec,
		stats:  st,
		s:      evals.TargetSummary{Name: spec.Name, Provider: spec.Provider, Model: spec.Model},
		scores: sample{max: st.BootstrapMax},
		slices: map[sliceKey]*sliceAgg{},
		values: map[string]int{},
		repeat: repeat,
	}
	a.criteria = criteria
	a.crit = newCritAggs(criteria, st.BootstrapMax)
	if suite != nil {
		a.reduce = suite.Reduce
		a.sliceBy = map[string]bool{}
		for _, f := range suite.Slices {
			a.sliceBy[f] = true
		}
	}
	if a.reduce == "" {
		a.reduce = evals.ReduceMean
	}
	if repeat > 1 {
		a.open = map[string]*caseRepeats{}
		a.reduced.hist = make([]int, repeat+1)
	}
	return a
}

func newCritAggs(criteria []Criterion, max int) []critAgg {
	cs := make([]critAgg, len(criteria))
	for i, c := range criteria {
		cs[i] = critAgg{
			CriterionSummary: evals.CriterionSummary{Name: c.Spec.Name, Type: c.Spec.Type, Weight: c.Spec.WeightOr()},
			sample:           sample{max: max},
		}
	}
	return cs
}

func (a *aggregate) add(r *evals.Result) {
	s := &a.s
	s.Cases++
	switch r.Status {
	case evals.StatusPassed:
		s.Passed++
	case evals.StatusFailed:
		s.Failed++
	case evals.StatusUnscored:
		s.Unscored++
	case evals.StatusError:
		s.Errored++
		if s.Errors == nil {
			s.Errors = map[string]int{}
		}
		s.Errors[r.Error.Kind]++
	}
	if r.Score != nil {
		a.scores.add(*r.Score)
	}
	a.lat.add(r)
	if r.Cached {
		s.Cached++
	}
	if r.Cost != nil {
		a.cost += *r.Cost
	}
	if r.Status != evals.StatusPassed {
		a.keepFailed(r)
	}
	s.Usage.Add(r.Usage)
	addScores(a.crit, r.Scores, true)
	a.addJudges(r.Scores)
	a.keys = a.keys[:0]
	for _, tag := range r.Tags {
		a.keys = append(a.keys, tagSlice(tag))
	}
	for field := range a.sliceBy {
		if v, ok := sliceValue(r.Metadata[field]); ok {
			a.keys = append(a.keys, sliceKey{field, v})
		}
	}
	for i, k := range a.keys {
		if !slices.Contains(a.keys[:i], k) { // a tag "lang=de" and metadata lang "de"
			a.slice(k).add(r)
		}
	}
	if a.open != nil {
		a.addRepeat(r)
	}
}

// addJudges sums the calls of the LLM judges that scored r.
func (a *aggregate) addJudges(scores []evals.Score) {
	for _, sc := range scores {
		if sc.Judge == nil {
			continue
		}
		if a.judges == nil {
			a.judges = &evals.JudgeSummary{}
		}
		j := a.judges
		for _, v := range sc.Judge.Votes {
			j.Calls++
			if v.Cached {
				j.Cached++
			}
			if v.Verdict == "" {
				j.Failed++
			}
			if u := v.Usage; u != nil {
				j.Usage.Add(*u)
			}
			if v.Cost != nil {
				if j.Cost == nil {
					j.Cost, j.Currency = new(float64), v.Currency
				}
				*j.Cost += *v.Cost
			}
		}
	}
}

// addScores counts the verdicts of a result's criteria; for a target (not a
// slice), also the labels compared, for the classification metrics, and the
// BLEU counts, for corpus BLEU.
func addScores(cs []critAgg, scores []evals.Score, target bool) {
	for i, sc := range scores {
		if i >= len(cs) {
			break // a resumed run's criteria changed; the suite hash forbids it
		}
		c := &cs[i]
		if sc.Unscored {
			c.Unscored++
			continue
		}
		c.N++
		c.sample.add(sc.Score)
		if sc.Pass {
			c.Passed++
		}
		if target && sc.Label != nil {
			if c.labels == nil {
				c.labels = newLabelCounts()
			}
			c.labels.add(sc.Label)
		}
		if target && sc.BLEU != nil {
			if c.bleu == nil {
				c.bleu = &bleuSum{}
			}
			c.bleu.add(sc.BLEU)
		}
	}
}

// tagSlice is the slice of a tag: a tag "KEY=VALUE" is the slice KEY=VALUE,
// so that tags such as "lang=de" slice like metadata; any other tag is the
// slice tag=TAG.
func tagSlice(tag string) sliceKey {
	if k, v, ok := strings.Cut(tag, "="); ok && k != "" && v != "" {
		return sliceKey{k, v}
	}
	return sliceKey{"tag", tag}
}

// sliceValue is a metadata value as a slice names it; objects, arrays and
// null make no slice.
func sliceValue(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// slice returns the slice k, made on first use; past MaxSliceValues values
// of one field, the slice "(other)".
func (a *aggregate) slice(k sliceKey) *sliceAgg {
	if sa, ok := a.slices[k]; ok {
		return sa
	}
	if a.values[k.key] >= MaxSliceValues {
		k.value = "(other)"
		if sa, ok := a.slices[k]; ok {
			return sa
		}
	}
	a.values[k.key]++
	sa := &sliceAgg{
		s:      evals.SliceSummary{Key: k.key, Value: k.value},
		scores: sample{max: a.stats.BootstrapMax},
		crit:   newCritAggs(a.criteria, a.stats.BootstrapMax),
	}
	a.slices[k] = sa
	return sa
}

func (sa *sliceAgg) add(r *evals.Result) {
	s := &sa.s
	s.Cases++
	switch r.Status {
	case evals.StatusPassed:
		s.Passed++
	case evals.StatusUnscored:
		s.Unscored++
	case evals.StatusError:
		s.Errored++
	}
	if r.Score != nil {
		sa.scores.add(*r.Score)
	}
	sa.lat.add(r)
	if r.Cost != nil {
		sa.cost += *r.Cost
	}
	s.Usage.Add(r.Usage)
	addScores(sa.crit, r.Scores, false)
}

// latencies collects the latencies of a target's or a slice's responses:
// the values themselves up to MaxExactLatencies, for exact percentiles, then
// a stats.Sketch, so that memory does not grow with the number of cases.
type latencies struct {
	ms       []float32 // for the percentiles, until the sketch takes over
	sketch   *stats.Sketch
	n        int
	sum, max float64
}

// MaxExactLatencies is how many latencies a target or slice keeps for exact
// percentiles; past it, percentiles come from a sketch within 0.5%.
const MaxExactLatencies = 20_000

// add records r's latency, unless it never reached the endpoint (a render
// error). A cached response counts with the latency of the call that was
// cached: the figure describes the endpoint, not the cache.
func (l *latencies) add(r *evals.Result) {
	if r.Status == evals.StatusError && r.Error.Kind == evals.ErrKindRender {
		return
	}
	lat := r.LatencyMS
	if r.Cached {
		lat = r.OriginalLatencyMS
	}
	l.n++
	l.sum += lat
	l.max = math.Max(l.max, lat)
	switch {
	case l.sketch != nil:
		l.sketch.Add(lat)
	case len(l.ms) < MaxExactLatencies:
		l.ms = append(l.ms, float32(lat))
	default:
		l.sketch = &stats.Sketch{}
		for _, x := range l.ms {
			l.sketch.Add(float64(x))
		}
		l.ms = nil
		l.sketch.Add(lat)
	}
}

func (l *latencies) summary() evals.LatencySummary {
	var s evals.LatencySummary
	if l.n == 0 {
		return s
	}
	s.Mean, s.Max = round3(l.sum/float64(l.n)), l.max
	if l.sketch != nil {
		s.Sketch = true
		q := [3]float64{}
		for i, p := range []float64{0.5, 0.95, 0.99} {
			q[i], _ = l.sketch.Quantile(p) // n > 0, p in range
		}
		s.P50, s.P95, s.P99 = round3(q[0]), round3(q[1]), round3(q[2])
		return s
	}
	if q, err := stats.Quantiles(l.ms, 0.5, 0.95, 0.99); err == nil {
		s.P50, s.P95, s.P99 = round3(q[0]), round3(q[1]), round3(q[2])
	}
	return s
}

// costSummary is the cost of n responses at price, nil without a price.
func costSummary(p *evals.PriceSpec, total float64, n int) *evals.CostSummary {
	if p == nil {
		return nil
	}
	cur := p.Currency
	if cur == "" {
		cur = "USD"
	}
	c := &evals.CostSummary{Total: total, Currency: cur}
	if n > 0 {
		c.Mean = total / float64(n)
	}
	return c
}

// addRepeat collects a result into its case's repeats and, when the last
// has come, reduces them.
func (a *aggregate) addRepeat(r *evals.Result) {
	cr := a.open[r.CaseID]
	if cr == nil {
		cr = &caseRepeats{}
		a.open[r.CaseID] = cr
	}
	cr.n++
	if r.Status == evals.StatusPassed {
		cr.passed++
	}
	score := 0.0 // an error or an unscored case scores 0 here
	if r.Score != nil {
		score = *r.Score
	}
	cr.scores = append(cr.scores, score)
	if cr.n < a.repeat {
		return
	}
	delete(a.open, r.CaseID)
	ra := &a.reduced
	ra.cases++
	ra.scoreSum += reduceScores(a.reduce, cr.scores)
	ra.hist[min(cr.passed, a.repeat)]++
	if reducedPass(a.reduce, cr.passed, cr.n) {
		ra.passed++
	}
	if cr.passed > 0 && cr.passed < cr.n {
		ra.flaky++
		ra.flakyIDs = keepSmallest(ra.flakyIDs, r.CaseID, evals.MaxFailedCases)
	}
}

// reducedPass is a case's verdict over its repeats: the reducer applied to
// the pass verdicts (1 or 0), passing above 0.5.
func reducedPass(reduce string, passed, n int) bool {
	switch reduce {
	case evals.ReduceMax:
		return passed > 0
	case evals.ReduceMin:
		return passed == n
	}
	// mean, median and majority agree on 0/1 verdicts: more than half.
	return 2*passed > n
}

// reduceScores reduces a case's repeat scores to one.
func reduceScores(reduce string, xs []float64) float64 {
	var v float64
	var err error
	switch reduce {
	case evals.ReduceMedian:
		v, err = stats.Median(xs)
	case evals.ReduceMax:
		v, err = stats.Max(xs)
	case evals.ReduceMin:
		v, err = stats.Min(xs)
	default:
		v, err = stats.Mean(xs)
	}
	if err != nil {
		return 0
	}
	return v
}

// keepSmallest adds id to ids, keeping the max smallest, sorted.
func keepSmallest(ids []string, id string, max int) []string {
	i, found := slices.BinarySearch(ids, id)
	if found || i >= max {
		return ids
	}
	ids = slices.Insert(ids, i, id)
	if len(ids) > max {
		ids = ids[:max]
	}
	return ids
}

// keepFailed keeps the failed cases with the smallest ids, so the list does
// not depend on the order in which requests completed.
func (a *aggregate) keepFailed(r *evals.Result) {
	f := evals.FailedCase{CaseID: r.CaseID, Repeat: r.Repeat, Status: r.Status}
	fs := a.s.FailedCases
	if len(fs) < evals.MaxFailedCases {
		f.Reason = why(r)
		a.s.FailedCases = append(fs, f)
		return
	}
	worst := 0
	for i := range fs {
		if failedLess(fs[worst], fs[i]) {
			worst = i
		}
	}
	if failedLess(f, fs[worst]) {
		f.Reason = why(r)
		fs[worst] = f
	}
}

func failedLess(a, b evals.FailedCase) bool {
	if a.CaseID != b.CaseID {
		return a.CaseID < b.CaseID
	}
	return a.Repeat < b.Repeat
}

// why says in one line why a result did not pass: its error, or each criterion
// that failed or could not score, with its reason.
func why(r *evals.Result) string {
	if r.Error != nil {
		return r.Error.Kind + ": " + r.Error.Message
	}
	var parts []string
	for _, sc := range r.Scores {
		switch {
		case sc.Unscored:
			parts = append(parts, sc.Name+" unscored: "+sc.Reason)
		case !sc.Pass:
			parts = append(parts, sc.Name+": "+sc.Reason)
		}
	}
	return strings.Join(parts, "; ")
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (a *aggregate) summary() evals.TargetSummary {
	s := a.s
	st := a.stats
	s.PassRate = ratio(s.Passed, s.Cases)
	s.PassRateCI = wilson(s.Passed, s.Cases, st)
	s.ErrorRate = ratio(s.Errored, s.Cases)
	s.UnscoredRate = ratio(s.Unscored, s.Cases)
	s.Scored = a.scores.n
	s.Mean, s.MeanStdErr, s.MeanCI = a.scores.summary(st)
	s.LatencyMS = a.lat.summary()
	s.Cost = costSummary(a.spec.Price, a.cost, s.Cases-s.Errored)
	s.FailedCases = slices.Clone(s.FailedCases)
	slices.SortFunc(s.FailedCases, func(x, y evals.FailedCase) int {
		if failedLess(x, y) {
			return -1
		}
		if failedLess(y, x) {
			return 1
		}
		return 0
	})
	s.Criteria = critSummaries(a.crit, st, true)
	if a.judges != nil {
		j := *a.judges
		if j.Cost != nil {
			c := *j.Cost
			j.Cost = &c
		}
		s.Judges = &j
	}
	keys := slices.Collect(maps.Keys(a.slices))
	slices.SortFunc(keys, func(x, y sliceKey) int {
		if c := cmp.Compare(x.key, y.key); c != 0 {
			return c
		}
		return cmp.Compare(x.value, y.value)
	})
	s.Slices = nil
	for _, k := range keys {
		sa := a.slices[k]
		ss := sa.s
		ss.PassRate = ratio(ss.Passed, ss.Cases)
		ss.PassRateCI = wilson(ss.Passed, ss.Cases, st)
		ss.ErrorRate = ratio(ss.Errored, ss.Cases)
		ss.UnscoredRate = ratio(ss.Unscored, ss.Cases)
		ss.Scored = sa.scores.n
		ss.Mean, ss.MeanStdErr, ss.MeanCI = sa.scores.summary(st)
		ss.LatencyMS = sa.lat.summary()
		ss.Cost = costSummary(a.spec.Price, sa.cost, ss.Cases-ss.Errored)
		ss.Criteria = critSummaries(sa.crit, st, false)
		s.Slices = append(s.Slices, ss)
	}
	if a.open != nil {
		s.Repeats = a.repeatSummary()
	}
	return s
}

func critSummaries(cs []critAgg, st evals.Statistics, intervals bool) []evals.CriterionSummary {
	out := make([]evals.CriterionSummary, len(cs))
	for i, c := range cs {
		sum := c.CriterionSummary
		sum.PassRate = ratio(sum.Passed, sum.N)
		var se float64
		var ci *evals.Interval
		sum.Mean, se, ci = c.sample.summary(st)
		// A slice's criteria get the Wilson interval, which is cheap, and
		// not the bootstrap, which would run once per slice and criterion.
		sum.PassRateCI = wilson(sum.Passed, sum.N, st)
		if c.labels != nil {
			sum.Classification = c.labels.summary()
		}
		sum.CorpusBLEU = c.bleu.corpusBLEU(sum.N)
		if intervals {
			sum.MeanStdErr, sum.MeanCI = se, ci
		}
		out[i] = sum
	}
	return out
}

func (a *aggregate) repeatSummary() *evals.RepeatSummary {
	ra := a.reduced
	rs := &evals.RepeatSummary{
		N:          a.repeat,
		Reducer:    a.reduce,
		Cases:      ra.cases,
		Passed:     ra.passed,
		PassRate:   ratio(ra.passed, ra.cases),
		PassCounts: slices.Clone(ra.hist),
		Flaky:      ra.flaky,
		FlakyRate:  ratio(ra.flaky, ra.cases),
		FlakyCases: slices.Clone(ra.flakyIDs),
	}
	if ra.cases == 0 {
		return rs
	}
	rs.Mean = ra.scoreSum / float64(ra.cases)
	for _, k := range reportedKs(a.repeat) {
		at, hat, ok := PassK(rs, k)
		if ok {
			rs.PassAtK = append(rs.PassAtK, evals.KValue{K: k, Value: at})
			rs.PassHatK = append(rs.PassHatK, evals.KValue{K: k, Value: hat})
		}
	}
	return rs
}

// reportedKs are the k at which the report gives pass@k and pass^k: 1, 2,
// 3, 5, 10, 20, 50, ... up to n, and n. Gates may ask for any k up to n.
func reportedKs(n int) []int {
	var ks []int
	for _, k := range []int{1, 2, 3, 5, 10, 20, 50, 100, 200, 500} {
		if k < n {
			ks = append(ks, k)
		}
	}
	return append(ks, n)
}

// PassK returns the mean over a target's cases of the pass@k and pass^k
// estimates (Chen et al. 2021; Yao et al. 2024) from each case's passing
// repeats; ok is false when k is out of range or no case has all its repeats.
func PassK(rs *evals.RepeatSummary, k int) (at, hat float64, ok bool) {
	if rs == nil || rs.Cases == 0 || k < 1 || k > rs.N {
		return 0, 0, false
	}
	for c, cases := range rs.PassCounts {
		if cases == 0 {
			continue
		}
		pa, err1 := stats.PassAtK(rs.N, c, k)
		ph, err2 := stats.PassHatK(rs.N, c, k)
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		at += float64(cases) * pa
		hat += float64(cases) * ph
	}
	return at / float64(rs.Cases), hat / float64(rs.Cases), true
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// wilson is the Wilson interval of k in n, nil without data.
func wilson(k, n int, st evals.Statistics) *evals.Interval {
	iv, err := stats.Wilson(k, n, st.Confidence)
	if err != nil {
		return nil
	}
	return &evals.Interval{Lo: iv.Lo, Hi: iv.Hi, Method: "wilson"}
}

// sample accumulates values for a mean, its standard error and interval:
// the running moments always (Welford), the values themselves while there
// are at most max of them, for the bootstrap.
type sample struct {
	n        int
	mean, m2 float64
	vals     []float64
	max      int
	dropped  bool
}

func (s *sample) add(v float64) {
	s.n++
	d := v - s.mean
	s.mean += d / float64(s.n)
	s.m2 += d * (v - s.mean)
	if s.dropped {
		return
	}
	if s.n > s.max {
		s.vals, s.dropped = nil, true
		return
	}
	s.vals = append(s.vals, v)
}

// summary returns the mean, its standard error and its interval: the
// percentile bootstrap up to st.BootstrapMax values, the normal interval
// beyond. Without data, all zero and a nil interval.
func (s *sample) summary(st evals.Statistics) (mean, se float64, ci *evals.Interval) {
	if s.n == 0 {
		return 0, 0, nil
	}
	if !s.dropped {
		// Results arrive in the order requests complete, which varies from
		// run to run: sort, so that the same scores give the same figures
		// to the last bit, the bootstrap's resamples included.
		slices.Sort(s.vals)
		if s.n > 1 {
			se, _ = stats.StdErr(s.vals)
		}
		bs := stats.Bootstrap{Seed: st.Seed, Resamples: st.Resamples, Level: st.Confidence}
		if iv, err := bs.Mean(s.vals); err == nil {
			return iv.Estimate, se, &evals.Interval{Lo: iv.Lo, Hi: iv.Hi, Method: "bootstrap"}
		}
	}
	// Past BootstrapMax values the running moments depend on the order of
	// the results in their last bits; 12 decimals hide that.
	mean = math.Round(s.mean*1e12) / 1e12
	if s.n > 1 {
		se = math.Round(math.Sqrt(s.m2/float64(s.n-1))/math.Sqrt(float64(s.n))*1e12) / 1e12
	}
	z, err := stats.Z(st.Confidence)
	if err != nil {
		return mean, se, nil
	}
	return mean, se, &evals.Interval{Lo: mean - z*se, Hi: mean + z*se, Method: "normal"}
}

// metric returns the value a gate's metric names for one target, and, when
// there is no data for it, false and why.
func metric(g evals.Gate, t *evals.TargetSummary) (float64, bool, string) {
	m := g.Ref
	cases, scored := t.Cases, t.Scored
	passRate, mean, errRate, unscRate := t.PassRate, t.Mean, t.ErrorRate, t.UnscoredRate
	passCI, meanCI := t.PassRateCI, t.MeanCI
	crits := t.Criteria
	where := ""
	if m.SliceKey != "" {
		var sl *evals.SliceSummary
		for i := range t.Slices {
			if t.Slices[i].Key == m.SliceKey && t.Slices[i].Value == m.SliceValue {
				sl = &t.Slices[i]
			}
		}
		if sl == nil {
			return 0, false, fmt.Sprintf("no case is in slice %s", m.Slice())
		}
		cases, scored = sl.Cases, sl.Scored
		passRate, mean, errRate, unscRate = sl.PassRate, sl.Mean, sl.ErrorRate, sl.UnscoredRate
		passCI, meanCI = sl.PassRateCI, sl.MeanCI
		crits = sl.Criteria
		where = " in slice " + m.Slice()
	}
	bound := func(v float64, ci *evals.Interval) (float64, bool, string) {
		switch m.Bound {
		case "lower":
			if ci == nil {
				return 0, false, "no interval" + where
			}
			return ci.Lo, true, ""
		case "upper":
			if ci == nil {
				return 0, false, "no interval" + where
			}
			return ci.Hi, true, ""
		}
		return v, true, ""
	}
	if m.Criterion != "" {
		for _, c := range crits {
			if c.Name != m.Criterion {
				continue
			}
			if c.N == 0 {
				return 0, false, fmt.Sprintf("criterion %s scored no response of the %d cases%s", c.Name, cases, where)
			}
			if m.Stat == "macro_f1" || m.Stat == "micro_f1" {
				if c.Classification == nil {
					return 0, false, fmt.Sprintf("criterion %s compares no labels (label: true)", c.Name)
				}
				if m.Stat == "macro_f1" {
					return c.Classification.MacroF1, true, ""
				}
				return c.Classification.MicroF1, true, ""
			}
			if m.Stat == "corpus_bleu" {
				if c.CorpusBLEU == nil {
					return 0, false, fmt.Sprintf("criterion %s has no corpus BLEU (only bleu criteria do)", c.Name)
				}
				return *c.CorpusBLEU, true, ""
			}
			if m.Stat == "mean" {
				if m.Bound != "" && c.MeanCI == nil {
					return 0, false, fmt.Sprintf("the report has no interval for a criterion's mean%s", where)
				}
				return bound(c.Mean, c.MeanCI)
			}
			return bound(c.PassRate, c.PassRateCI)
		}
		return 0, false, fmt.Sprintf("no criterion %s", m.Criterion)
	}
	noCases := "no case completed" + where
	switch m.Stat {
	case "pass_rate":
		if cases == 0 {
			return 0, false, noCases
		}
		return bound(passRate, passCI)
	case "error_rate":
		return errRate, cases > 0, noCases
	case "unscored_rate":
		return unscRate, cases > 0, noCases
	case "mean":
		if scored == 0 {
			return 0, false, fmt.Sprintf("no case of %d was scored%s", cases, where)
		}
		return bound(mean, meanCI)
	}
	noLatency := "no response was received"
	received := t.Cases - t.Errored
	switch m.Stat {
	case "latency.p50":
		return t.LatencyMS.P50, received > 0, noLatency
	case "latency.p95":
		return t.LatencyMS.P95, received > 0, noLatency
	case "latency.p99":
		return t.LatencyMS.P99, received > 0, noLatency
	case "latency.mean":
		return t.LatencyMS.Mean, received > 0, noLatency
	case "latency.max":
		return t.LatencyMS.Max, received > 0, noLatency
	case "tokens.total":
		return float64(t.Usage.TotalTokens), received > 0, noLatency
	case "tokens.prompt":
		return float64(t.Usage.PromptTokens), received > 0, noLatency
	case "tokens.completion":
		return float64(t.Usage.CompletionTokens), received > 0, noLatency
	case "tokens.mean":
		return ratio(t.Usage.TotalTokens, received), received > 0, noLatency
	case "cost.total", "cost.mean":
		if t.Cost == nil {
			return 0, false, "the target has no price table (price)"
		}
		if m.Stat == "cost.total" {
			return t.Cost.Total, true, ""
		}
		return t.Cost.Mean, received > 0, noLatency
	case "pass@k", "pass^k", "flaky_rate":
		if t.Repeats == nil {
			return 0, false, "the cases ran once: pass@k, pass^k and flaky_rate need repeat > 1"
		}
		if t.Repeats.Cases == 0 {
			return 0, false, "no case has all its repeats"
		}
		if m.Stat == "flaky_rate" {
			return t.Repeats.FlakyRate, true, ""
		}
		at, hat, ok := PassK(t.Repeats, m.K)
		if !ok {
			return 0, false, fmt.Sprintf("k = %d is more than the %d repeats", m.K, t.Repeats.N)
		}
		if m.Stat == "pass@k" {
			return at, true, ""
		}
		return hat, true, ""
	}
	c := t.Comparison
	if c == nil {
		return 0, false, "no baseline to compare with: pass --baseline"
	}
	if c.Matched == 0 {
		return 0, false, fmt.Sprintf("no case matched the baseline's %s", c.Against)
	}
	switch m.Stat {
	case "delta.pass_rate":
		return bound(c.DeltaPassRate, c.DeltaPassRateCI)
	case "delta.mean":
		return bound(c.DeltaMean, c.DeltaMeanCI)
	case "regressions":
		return float64(c.Regressions), true, ""
	case "fixes":
		return float64(c.Fixes), true, ""
	}
	return 0, false, "unknown metric"
}

// CheckGates checks every gate on every target. A gate on a metric with no
// data fails: a gate nobody could measure has not held.
func CheckGates(gates []evals.Gate, targets []evals.TargetSummary) evals.GateVerdict {
	v := evals.GateVerdict{Held: true}
	for ti := range targets {
		t := &targets[ti]
		for _, g := range gates {
			r := evals.GateResult{Expr: g.Expr, Target: t.Name}
			val, ok, why := metric(g, t)
			if !ok {
				r.Message = fmt.Sprintf("%s: %s: no data (%s)", t.Name, g.Expr, why)
			} else {
				r.Value = &val
				r.Held = g.Holds(val)
				r.Margin = val - g.Value
				if strings.HasPrefix(g.Op, "<") {
					r.Margin = g.Value - val
				}
				if r.Held {
					r.Message = fmt.Sprintf("%s: %s: %s (margin %s)", t.Name, g.Expr, fmtNum(val), fmtNum(r.Margin))
				} else {
					r.Message = fmt.Sprintf("%s: %s: got %s, off by %s", t.Name, g.Expr, fmtNum(val), fmtNum(-r.Margin))
				}
			}
			v.Held = v.Held && r.Held
			v.Results = append(v.Results, r)
		}
	}
	return v
}

// CheckErrorBudget checks each target's errors against budget, the largest
// error rate a target may have (nil for none). A target over it breaks it,
// and so, budget or not, does a target whose every result is an error.
func CheckErrorBudget(budget *float64, targets []evals.TargetSummary) *evals.ErrorBudget {
	eb := &evals.ErrorBudget{Held: true}
	if budget != nil {
		b := *budget
		eb.Budget = &b
	}
	for _, t := range targets {
		if t.Cases == 0 || t.Errored == 0 {
			continue
		}
		br := evals.BudgetBreach{Target: t.Name, Cases: t.Cases, Errored: t.Errored, ErrorRate: t.ErrorRate}
		switch {
		case t.Errored == t.Cases:
			br.Reason = fmt.Sprintf("all %d requests failed", t.Cases)
		case budget != nil && t.ErrorRate > *budget:
			br.Reason = fmt.Sprintf("%d of %d cases ended in an error (%.1f%%), over the error budget of %.1f%%",
				t.Errored, t.Cases, 100*t.ErrorRate, 100**budget)
		default:
			continue
		}
		eb.Held = false
		eb.Over = append(eb.Over, br)
	}
	return eb
}

// ApplyErrorBudget records the verdict of CheckErrorBudget in sum. When the
// budget broke, the gate is not held either, with evals.NoteErrorBudget as
// its note unless a note already explains why (an interrupt).
func ApplyErrorBudget(sum *evals.Summary, budget *float64) {
	sum.ErrorBudget = CheckErrorBudget(budget, sum.Targets)
	if sum.ErrorBudget.Held {
		return
	}
	sum.Gate.Held = false
	if sum.Gate.Note == "" {
		sum.Gate.Note = evals.NoteErrorBudget
	}
}

func fmtNum(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}
