package report

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// benchResult is a failed case with an output of a typical size.
func benchResult() *evals.Result {
	return &evals.Result{
		RunID: "r", CaseID: "T-1001", Target: "v1", Status: evals.StatusFailed, Score: ptr(0.5), LatencyMS: 812.5,
		Output: strings.Repeat(`{"category": "technical", "reply": "Thank you <3 & sorry"} `, 8),
		Usage:  evals.Usage{TotalTokens: 300},
		Scores: []evals.Score{
			{Name: "schema", Type: "json-schema", Score: 1, Pass: true},
			{Name: "judge", Type: "judge", Score: 0, Reason: `got "critical", expected "urgent"`},
		},
	}
}

// BenchmarkJUnitWrite measures one result written as a JUnit test case.
//
//	go test ./runner/report -run '^$' -bench 'Write$' -benchmem
func BenchmarkJUnitWrite(b *testing.B) {
	s, _ := ciFixture()
	j := NewJUnit(b.TempDir())
	defer j.Close()
	if err := j.Begin(s); err != nil {
		b.Fatal(err)
	}
	r := benchResult()
	b.ReportAllocs()
	for b.Loop() {
		if err := j.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJUnitWritePassed measures a passed case: one line, no output.
func BenchmarkJUnitWritePassed(b *testing.B) {
	s, _ := ciFixture()
	j := NewJUnit(b.TempDir())
	defer j.Close()
	if err := j.Begin(s); err != nil {
		b.Fatal(err)
	}
	r := benchResult()
	r.Status = evals.StatusPassed
	b.ReportAllocs()
	for b.Loop() {
		if err := j.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCSVWrite measures one result written as a CSV row.
func BenchmarkCSVWrite(b *testing.B) {
	c, err := NewCSV(io.Discard, []string{"schema", "judge"})
	if err != nil {
		b.Fatal(err)
	}
	s, _ := ciFixture()
	c.Begin(s)
	r := benchResult()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteSuiteJournal measures the whole path of rubric report: a
// journal of 10,000 results read once into JUnit, Markdown and CSV.
func BenchmarkWriteSuiteJournal(b *testing.B) {
	s, _ := ciFixture()
	s.Targets = s.Targets[:1]
	path := filepath.Join(b.TempDir(), "results.jsonl")
	j, err := rundir.CreateJournal(path)
	if err != nil {
		b.Fatal(err)
	}
	r := benchResult()
	for i := range 10000 {
		r.Repeat = i
		j.Write(r)
	}
	j.Close()
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		ju := NewJUnit(dir)
		c, _ := NewCSV(io.Discard, []string{"schema", "judge"})
		if err := WriteSuite(s, rundir.Results(path), ju, c, NewMarkdown(io.Discard)); err != nil {
			b.Fatal(err)
		}
		if err := ju.Finish(io.Discard); err != nil {
			b.Fatal(err)
		}
		ju.Close()
	}
}

// BenchmarkHTMLWrite measures one result passed to the HTML writer that
// the page does not list: the cost per result of a big run's journal.
func BenchmarkHTMLWrite(b *testing.B) {
	s, _ := ciFixture()
	h := NewHTML()
	if err := h.Begin(s); err != nil {
		b.Fatal(err)
	}
	r := benchResult()
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHTMLPage measures the page of the fixtures' three suites,
// from their summaries and results to the written page.
func BenchmarkHTMLPage(b *testing.B) {
	type suite struct {
		s  *evals.Summary
		rs []*evals.Result
	}
	var suites []suite
	for _, f := range []func() (*evals.Summary, []*evals.Result){ciFixture, richFixture, convFixture} {
		s, rs := f()
		suites = append(suites, suite{s, rs})
	}
	b.ReportAllocs()
	for b.Loop() {
		h := NewHTML()
		for _, st := range suites {
			if err := WriteSuite(st.s, sliceResults(st.rs), h); err != nil {
				b.Fatal(err)
			}
		}
		if err := h.Finish(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
