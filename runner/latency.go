package runner

import (
	"math"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/stats"
)

// latencies collects the latencies of a target's or a slice's responses:
// the values themselves up to MaxExactLatencies, for exact percentiles, then
// a stats.Sketch, so that memory does not grow with the number of cases.
type latencies struct {
	ms     []float32 // for the percentiles, until the sketch takes over
	sketch *stats.Sketch
	n      int
	sum    stats.Sum // exact, so that the mean does not depend on the results' order
	max    float64
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
	l.addMS(lat)
}

// addMS records a latency in milliseconds.
func (l *latencies) addMS(lat float64) {
	l.n++
	l.sum.Add(lat)
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
	s.Mean, s.Max = round3(l.sum.Value()/float64(l.n)), l.max
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

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// streamTimes collects the timings of a target's or a slice's streamed
// responses (evals.StreamTiming): each latency as latencies collects them,
// exact up to MaxExactLatencies, then in a sketch.
type streamTimes struct {
	first, content latencies
	tpsSum         float64
	tpsN           int
}

// add records r's timings, if it was streamed; a cached response's are the
// cached call's.
func (s *streamTimes) add(r *evals.Result) {
	st := r.Stream
	if st == nil {
		return
	}
	s.first.addMS(st.FirstTokenMS)
	if st.FirstContentMS > 0 {
		s.content.addMS(st.FirstContentMS)
	}
	if st.TokensPerSecond > 0 {
		s.tpsSum += st.TokensPerSecond
		s.tpsN++
	}
}

// summary is nil when no response was streamed.
func (s *streamTimes) summary() *evals.StreamSummary {
	if s.first.n == 0 {
		return nil
	}
	out := &evals.StreamSummary{
		Responses: s.first.n, FirstTokenMS: s.first.summary(),
		ContentResponses: s.content.n, FirstContentMS: s.content.summary(),
		RatedResponses: s.tpsN,
	}
	if s.tpsN > 0 {
		out.TokensPerSecond = round3(s.tpsSum / float64(s.tpsN))
	}
	return out
}
