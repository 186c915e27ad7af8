package evals

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMetricTable checks that every entry of the metric table is complete:
// a name unique among the target's (or the criterion's) metrics, a doc
// that fits in a Markdown table cell, a range, and a way to compute it; and
// that the metrics of one docs row agree on what the row's columns say.
func TestMetricTable(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range metrics {
		key := d.stat()
		if d.criterion {
			key = "criteria.NAME." + key
		}
		switch {
		case seen[key]:
			t.Errorf("metric %s is in the table twice", key)
		case d.doc == "" || strings.ContainsAny(d.doc, "|\n"):
			t.Errorf("metric %s: doc %q: want one line without |", key, d.doc)
		case d.value == nil:
			t.Errorf("metric %s has no value", key)
		case d.rng.what == "" || !(d.rng.lo < d.rng.hi):
			t.Errorf("metric %s has no range", key)
		case d.perK() && (d.criterion || d.slice || d.bounds):
			t.Errorf("metric %s at K is a target's, without interval", key)
		}
		seen[key] = true
	}
	for _, crit := range []bool{false, true} {
		for _, row := range docRows(func(d *metric) bool { return d.criterion == crit }) {
			for _, d := range row[1:] {
				if d.slice != row[0].slice || d.bounds != row[0].bounds {
					t.Errorf("%s and %s share a row of the docs, which says whether they apply to slices and have an interval, but differ in it", row[0].name, d.name)
				}
			}
		}
	}
}

// TestMetricRefLookup: the statistics ParseMetric gives find their metric,
// and what the table says about them.
func TestMetricRefLookup(t *testing.T) {
	for _, tc := range []struct {
		metric       string
		baseline     bool
		lo, hi       float64
		hasInterval  bool
		inSliceToo   bool
		criterionOne bool
	}{
		{"pass_rate", false, 0, 1, true, true, false},
		{"delta.mean", true, -1, 1, true, false, false},
		{"regressions", true, 0, 0, false, false, false},
		{"pass@3", false, 0, 1, false, false, false},
		{"latency.p95", false, 0, 0, false, false, false},
		{"criteria.x.corpus_bleu", false, 0, 100, false, false, true},
		{"criteria.x.mean", false, 0, 1, true, true, true},
	} {
		ref, err := ParseMetric(tc.metric)
		if err != nil {
			t.Fatalf("%s: %v", tc.metric, err)
		}
		d := ref.lookup()
		if d == nil {
			t.Fatalf("%s: no metric for %+v", tc.metric, ref)
		}
		if ref.Baseline() != tc.baseline || d.bounds != tc.hasInterval || d.slice != tc.inSliceToo || d.criterion != tc.criterionOne {
			t.Errorf("%s: baseline %v, interval %v, slice %v, criterion %v", tc.metric, ref.Baseline(), d.bounds, d.slice, d.criterion)
		}
		if lo, hi, _ := ref.Range(); lo != tc.lo || (tc.hi != 0 && hi != tc.hi) || (tc.hi == 0 && hi < 1e300) {
			t.Errorf("%s: range %v to %v", tc.metric, lo, hi)
		}
	}
	if d := (MetricRef{Stat: "pass_rate", Criterion: "c"}).lookup(); d == nil || !d.criterion {
		t.Errorf("a criterion's pass_rate is %+v, want the criterion's metric", d)
	}
	if v, ok, why := (MetricRef{Stat: "accuracy"}).Measure(&TargetSummary{}); ok || why != "unknown metric" {
		t.Errorf("an unknown metric measures %v, %v, %q", v, ok, why)
	}
}

// TestDocsGateTables checks the gate tables of docs/suite.md against the
// metric table: one row per group of consecutive metrics with the same
// doc, naming them, with that doc, and saying whether they apply to slices
// and have an interval. A metric added to the table fails here until the
// docs have its row, which the failure prints.
func TestDocsGateTables(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "suite.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	from := strings.Index(doc, "\n## Gate expressions\n")
	if from < 0 {
		t.Fatal(`docs/suite.md has no section "Gate expressions"`)
	}
	section := doc[from+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	for _, tc := range []struct {
		header string
		keep   func(*metric) bool
	}{
		{"| metric | value for one target | slice | `.lower`, `.upper` |", target},
		{"| metric | value for one criterion | slice | `.lower`, `.upper` |", func(d *metric) bool { return d.criterion }},
		{"| metric | value for one judge criterion | slice | `.lower`, `.upper` |", func(d *metric) bool { return d.judge }},
	} {
		var want []string
		for _, row := range docRows(tc.keep) {
			names := make([]string, len(row))
			for i, d := range row {
				names[i] = "`" + d.name + "`"
			}
			want = append(want, tableRow(strings.Join(names, ", "), row[0].doc, yes(row[0].slice), yes(row[0].bounds)))
		}
		at := strings.Index(section, "\n"+tc.header+"\n")
		if at < 0 {
			t.Errorf("docs/suite.md, section Gate expressions: no table %s; want\n\n%s\n|---|---|---|---|\n%s", tc.header, tc.header, strings.Join(want, "\n"))
			continue
		}
		var got []string
		for _, line := range strings.Split(section[at+1:], "\n")[2:] {
			if !strings.HasPrefix(line, "|") {
				break
			}
			cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
			for i, c := range cells {
				cells[i] = strings.TrimSpace(c)
			}
			got = append(got, tableRow(cells...))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("docs/suite.md: the table %s does not say what the metric table (evals/metrics.go) does; its rows should be\n\n%s", tc.header, strings.Join(want, "\n"))
		}
	}
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

// tableRow writes a Markdown table row, with one space around each cell.
func tableRow(cells ...string) string {
	var b strings.Builder
	b.WriteString("|")
	for _, c := range cells {
		if c != "" {
			c += " "
		}
		b.WriteString(" " + c + "|")
	}
	return b.String()
}
