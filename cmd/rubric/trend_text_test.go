package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/runner/history"
)

func TestWriteTrends(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	day := func(d int) time.Time { return time.Date(2026, 12, d, 9, 30, 0, 0, time.Local) }
	trends := []history.Trend{{Suite: "qa", Target: "m", Metric: "pass_rate", Points: []history.Point{
		{RunID: "r1", Started: day(1), Model: "v1", GitCommit: "0123456789abcdef", Value: f(0.55), Lo: f(0.34), Hi: f(0.74)},
		{RunID: "r2", Started: day(2), Model: "v2", Value: f(0.6), Lo: f(0.39), Hi: f(0.78), Change: &history.Change{Delta: 0.05, Tested: true, P: 1, Matched: 20}},
		{RunID: "r3", Started: day(3), Model: "v3", Missing: "no case completed"},
		{RunID: "r4", Started: day(4), Model: "v3", Value: f(1), Lo: f(0.84), Hi: f(1), Change: &history.Change{Delta: 0.4, Tested: true, Significant: true, P: 0.0078125, Matched: 20}},
		{RunID: "r5", Started: day(5), Model: "v4", Value: f(0.7), Lo: f(0.48), Hi: f(0.85), Change: &history.Change{Delta: -0.3, Tested: true, Significant: true, P: 0.0313, Matched: 20}},
	}}}
	var b bytes.Buffer
	if err := writeTrends(&b, trends); err != nil {
		t.Fatal(err)
	}
	want := "qa m  pass_rate  ▁▂ █▃  0.55 -> 0.7  (5 runs)\n" +
		"  run  started           model  commit    value                  interval   change\n" +
		"  r1   2026-12-01 09:30  v1     01234567  0.55                   0.34-0.74  \n" +
		"  r2   2026-12-02 09:30  v2               0.6                    0.39-0.78  +0.05\n" +
		"  r3   2026-12-03 09:30  v3               - (no case completed)             \n" +
		"  r4   2026-12-04 09:30  v3               1                      0.84-1     +0.4 ▲ p=0.00781\n" +
		"  r5   2026-12-05 09:30  v4               0.7                    0.48-0.85  -0.3 ▼ p=0.0313\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
