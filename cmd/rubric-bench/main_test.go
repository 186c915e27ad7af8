//go:build unix

package main

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTinyScenario runs a small scenario end to end: build rubric, serve,
// run, check the request count, and print a row that parses back.
func TestBenchTinyScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the rubric binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tiny := scenario{Name: "tiny", Cases: 200, Concurrency: 8, MinCasesPerSec: 1}
	results, err := benchmark(ctx, []scenario{tiny}, "", false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 {
		t.Fatalf("%d results, want 1", len(results))
	}
	r := results[0]
	if r.Served != 200 {
		t.Errorf("the endpoint served %d requests, want 200", r.Served)
	}
	if r.Conns < 1 || r.Conns > 2*int64(tiny.Concurrency) {
		t.Errorf("rubric opened %d connections for concurrency %d: keep-alive is not reusing them", r.Conns, tiny.Concurrency)
	}
	if r.Wall <= 0 || r.MaxRSSKB <= 0 {
		t.Errorf("wall %v, peak RSS %d KiB: want both measured", r.Wall, r.MaxRSSKB)
	}

	var out bytes.Buffer
	if err := writeTable(&out, results); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row:\n%s", out.String())
	}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != strings.Join(header, " ") {
		t.Errorf("header %q, want %q", got, header)
	}
	row := strings.Fields(lines[1])
	if len(row) != len(header) {
		t.Fatalf("row %q has %d fields, want %d", lines[1], len(row), len(header))
	}
	col := func(name string) string {
		for i, h := range header {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no column %q", name)
		return ""
	}
	if col("scenario") != "tiny" || col("cases") != "200" || col("concurrency") != "8" || col("latency") != "0s" {
		t.Errorf("row %q does not describe the scenario", row)
	}
	if wall, err := time.ParseDuration(col("wall")); err != nil || wall <= 0 {
		t.Errorf("wall %q: %v", col("wall"), err)
	}
	if cps, err := strconv.ParseFloat(col("cases/s"), 64); err != nil || cps <= 0 {
		t.Errorf("cases/s %q: %v", col("cases/s"), err)
	}
	if rss, err := strconv.ParseFloat(col("rss_MB"), 64); err != nil || rss <= 0 {
		t.Errorf("rss_MB %q: %v", col("rss_MB"), err)
	}
	if col("ideal") != "-" || col("%ideal") != "-" || col("delay_ms") != "-" {
		t.Errorf("ideal %q, %%ideal %q: want - without latency", col("ideal"), col("%ideal"))
	}
	if col("verdict") != "PASS" {
		t.Errorf("verdict %q, want PASS for a target of 1 case/s", col("verdict"))
	}
}

// TestVerdicts checks the arithmetic of each kind of target.
func TestBenchVerdicts(t *testing.T) {
	lat := scenarios[1]
	if got := lat.ideal(); got != 3906250*time.Microsecond {
		t.Errorf("ideal of %s: %v, want 3.90625s", lat.Name, got)
	}
	for _, tc := range []struct {
		name string
		r    result
		pass bool
	}{
		{"throughput_met", result{Scenario: scenarios[0], Wall: 5 * time.Second}, true},
		{"throughput_missed", result{Scenario: scenarios[0], Wall: 5001 * time.Millisecond}, false},
		{"ideal_met", result{Scenario: lat, Wall: 4 * time.Second}, true},
		{"ideal_missed", result{Scenario: lat, Wall: 4200 * time.Millisecond}, false},
		// The ideal follows the delay the endpoint delivered: 4 s is 95.3%
		// of the ideal at 50 ms but 93.75% of the one at 48 ms.
		{"ideal_met_at_delivered_delay", result{Scenario: lat, Wall: 4 * time.Second, Delay: 50 * time.Millisecond}, true},
		{"ideal_missed_at_delivered_delay", result{Scenario: lat, Wall: 4 * time.Second, Delay: 48 * time.Millisecond}, false},
		{"rss_met", result{Scenario: scenarios[2], Wall: time.Second, MaxRSSKB: 58_000}, true},
		{"rss_missed", result{Scenario: scenarios[2], Wall: time.Second, MaxRSSKB: 58_600}, false}, // 60.0 MB
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.pass(); got != tc.pass {
				t.Errorf("pass() = %v, want %v (fields %q)", got, tc.pass, tc.r.fields())
			}
		})
	}
}

// TestPick checks scenario selection.
func TestBenchPick(t *testing.T) {
	got, err := pick(defaultScenarios)
	if err != nil || len(got) != 3 || got[0].Name != "instant" || got[2].Name != "memory-5k" {
		t.Errorf("default: %v, %v", got, err)
	}
	if got, err := pick("all"); err != nil || len(got) != len(scenarios) {
		t.Errorf("all: %d scenarios, %v", len(got), err)
	}
	if _, err := pick("instant,nope"); err == nil || !strings.Contains(err.Error(), `unknown scenario "nope"`) {
		t.Errorf("unknown: %v", err)
	}
}
