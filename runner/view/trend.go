package view

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/runner/history"
)

// defaultMetrics are the metrics the trend page draws when none is asked.
var defaultMetrics = []string{"pass_rate", "mean"}

// offeredMetrics are the metrics the trend page offers besides each
// criterion's.
var offeredMetrics = []string{"pass_rate", "mean", "error_rate", "unscored_rate", "latency.p50", "latency.p95", "cost.total"}

type trendData struct {
	Suites  []string
	Suite   string
	Target  string
	Targets []string
	Metrics []metricChoice
	Limit   int
	Charts  []chart
	Errors  []string
}

type metricChoice struct {
	Name    string
	Checked bool
}

// chart is one target's trend of one metric, as an SVG drawing.
type chart struct {
	Target, Metric string
	W, H           int
	Line           string // the polyline through the values
	Points         []chartPoint
	YTicks         []tick
	Plot           box
	Runs           int
	Changes        int // significant changes
}

type box struct{ X0, Y0, X1, Y1 float64 }

type chartPoint struct {
	X, Y, Lo, Hi float64
	HasValue     bool
	HasCI        bool
	// Class is "up" or "down" for a significant change, "" otherwise.
	Class string
	Label string
	Title string
	Link  string
}

type tick struct {
	Pos   float64
	Label string
}

// maxTrendRuns caps the runs a trend draws by default.
const maxTrendRuns = 50

func (s *Server) trendPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := trendData{Suite: q.Get("suite"), Target: q.Get("target"), Limit: maxTrendRuns}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("limit=%q: expected a whole number", l))
			return
		}
		d.Limit = n
	}
	metrics := q["metric"]
	if len(metrics) == 0 {
		metrics = defaultMetrics
	}
	all, err := s.cat.Runs(ctx, history.Filter{})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	var latest *history.Run
	for i, run := range all {
		if run.Suite != "" && !slices.Contains(d.Suites, run.Suite) {
			d.Suites = append(d.Suites, run.Suite)
		}
		if run.Suite == d.Suite {
			if latest == nil {
				latest = &all[i]
			}
			for _, t := range run.Targets {
				if !slices.Contains(d.Targets, t.Name) {
					d.Targets = append(d.Targets, t.Name)
				}
			}
		}
	}
	sort.Strings(d.Suites)
	offered := slices.Clone(offeredMetrics)
	if latest != nil {
		if full, err := s.cat.Get(ctx, latest.ID); err == nil {
			if sum, err := summaryOf(full); err == nil && sum != nil {
				for _, t := range sum.Targets {
					for _, c := range t.Criteria {
						if m := "criteria." + c.Name + ".mean"; !slices.Contains(offered, m) {
							offered = append(offered, m)
						}
					}
				}
			}
		}
	}
	for _, m := range metrics {
		if !slices.Contains(offered, m) {
			offered = append(offered, m)
		}
	}
	for _, m := range offered {
		d.Metrics = append(d.Metrics, metricChoice{m, slices.Contains(metrics, m)})
	}
	crumbs := []crumb{{"Runs", "/"}}
	if d.Suite == "" {
		s.render(w, r, http.StatusOK, "trend", &page{Title: "Trends", Crumbs: crumbs, D: d})
		return
	}
	status := http.StatusOK
	for _, m := range metrics {
		trends, err := history.Trends(ctx, s.cat, d.Suite, d.Target, m, d.Limit)
		if err != nil {
			if strings.HasPrefix(err.Error(), "--metric") {
				status = http.StatusBadRequest
			}
			d.Errors = append(d.Errors, strings.TrimPrefix(err.Error(), "--"))
			continue
		}
		for _, t := range trends {
			d.Charts = append(d.Charts, drawTrend(t))
		}
	}
	s.render(w, r, status, "trend", &page{Title: "Trend of " + d.Suite, Crumbs: crumbs, D: d})
}

// isRate says whether a metric is a rate, drawn from 0 to 100%.
func isRate(metric string) bool { return strings.HasSuffix(metric, "_rate") }

// drawTrend lays out a trend's chart: a point per run, left to right,
// oldest first, with its interval as a bar, joined by a line, and the
// significant changes marked.
func drawTrend(t history.Trend) chart {
	c := chart{Target: t.Target, Metric: t.Metric, W: 720, H: 240, Runs: len(t.Points)}
	c.Plot = box{X0: 56, Y0: 16, X1: float64(c.W) - 16, Y1: float64(c.H) - 40}
	rate := isRate(t.Metric)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range t.Points {
		for _, v := range []*float64{p.Value, p.Lo, p.Hi} {
			if v != nil {
				lo, hi = min(lo, *v), max(hi, *v)
			}
		}
	}
	if rate || (lo >= 0 && hi <= 1 && t.Metric != "cost.total" && !strings.HasPrefix(t.Metric, "latency")) {
		lo, hi = 0, 1
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	format := func(v float64) string {
		if rate {
			return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
		}
		return num(v)
	}
	y := func(v float64) float64 { return c.Plot.Y1 - (v-lo)/(hi-lo)*(c.Plot.Y1-c.Plot.Y0) }
	for i := range 5 {
		v := lo + (hi-lo)*float64(i)/4
		c.YTicks = append(c.YTicks, tick{round1(y(v)), format(v)})
	}
	n := len(t.Points)
	step := (c.Plot.X1 - c.Plot.X0) / float64(max(n, 1))
	var line []string
	for i, p := range t.Points {
		cp := chartPoint{X: round1(c.Plot.X0 + step*(float64(i)+0.5)), Link: "/runs/" + url.PathEscape(p.RunID)}
		cp.Label = p.Started.Local().Format("01-02")
		title := []string{p.RunID, p.Started.Local().Format("2006-01-02 15:04")}
		if p.Model != "" {
			title = append(title, "model "+p.Model)
		}
		if p.GitCommit != "" {
			title = append(title, "commit "+p.GitCommit[:min(len(p.GitCommit), 10)])
		}
		if p.Value != nil {
			cp.HasValue, cp.Y = true, round1(y(*p.Value))
			line = append(line, fmt.Sprintf("%g,%g", cp.X, cp.Y))
			v := format(*p.Value)
			if p.Lo != nil && p.Hi != nil {
				cp.HasCI, cp.Lo, cp.Hi = true, round1(y(*p.Lo)), round1(y(*p.Hi))
				v += " (" + format(*p.Lo) + "–" + format(*p.Hi) + ")"
			}
			title = append(title, t.Metric+" "+v)
		} else {
			title = append(title, "no value: "+p.Missing)
		}
		if ch := p.Change; ch != nil {
			title = append(title, fmt.Sprintf("change %+.4g", ch.Delta))
			if ch.Significant {
				c.Changes++
				cp.Class = "down"
				if ch.Delta > 0 {
					cp.Class = "up"
				}
				title = append(title, fmt.Sprintf("significant (p=%.3g, %d cases matched)", ch.P, ch.Matched))
			}
		}
		cp.Title = strings.Join(title, "\n")
		c.Points = append(c.Points, cp)
	}
	c.Line = strings.Join(line, " ")
	return c
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
