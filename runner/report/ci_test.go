package report

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// hostile is a model output with everything that breaks naive reports:
// markup, a CDATA end, XML-illegal control characters (NUL, BEL, ESC), a
// carriage return, pipes and backticks, invalid UTF-8, U+FFFE, and text in
// other scripts.
const hostile = "<b>&amp;</b> ]]> \"q\" 'a' | pipe \\| `tick` ```fence``` $x$ @user [l](http://x)\n" +
	"\x1b[31mred\x1b[0m nul\x00 bel\x07 cr\r\nend \xff\xfe bad \uFFFE ✓ 日本語 🙂 عربى"

func ptr(v float64) *float64 { return &v }

// ciFixture is a run of two targets with every kind of result: passed,
// failed (criteria, and the case score alone), errors, unscored, repeats and
// a hostile output. The summary agrees with the results.
func ciFixture() (*evals.Summary, []*evals.Result) {
	sc := func(name, typ string, score float64, pass bool, reason string) evals.Score {
		return evals.Score{Name: name, Type: typ, Weight: 1, Score: score, Pass: pass, Reason: reason}
	}
	unscored := func(name, reason string) evals.Score {
		return evals.Score{Name: name, Type: "judge", Weight: 1, Unscored: true, Reason: reason}
	}
	res := func(target, id string, rep int, st evals.Status, score *float64, lat float64, out string, scores ...evals.Score) *evals.Result {
		return &evals.Result{RunID: "20261128-000000-abcdef", CaseID: id, Target: target, Repeat: rep, Status: st, Score: score,
			LatencyMS: lat, Output: out, Scores: scores, Usage: evals.Usage{TotalTokens: 100 + rep}}
	}
	results := []*evals.Result{
		res("v1", "T-1", 0, evals.StatusPassed, ptr(1), 812.5, `{"ok":true}`,
			sc("schema", "json-schema", 1, true, ""), sc("judge", "judge", 1, true, "")),
		res("v2", "T-1", 0, evals.StatusFailed, ptr(0.5), 1500, "so-so",
			sc("schema", "json-schema", 1, true, ""), sc("judge", "judge", 0.5, true, "partly right")),
		res("v1", "T-2", 0, evals.StatusFailed, ptr(0), 1204.25, hostile,
			sc("schema", "json-schema", 0, false, "output is not JSON: "+hostile), unscored("judge", "no verdict in \"|||\"")),
		{RunID: "20261128-000000-abcdef", CaseID: "T-3", Target: "v1", Status: evals.StatusError, Attempts: 3,
			Error: &evals.ResultError{Kind: evals.ErrKindTimeout, Message: "no response within 1m0s"}},
		{RunID: "20261128-000000-abcdef", CaseID: "T-2", Target: "v2", Status: evals.StatusError, LatencyMS: 31,
			Error: &evals.ResultError{Kind: evals.ErrKindHTTP, Status: 503, Message: "Service Unavailable: <html>\x1b</html>"}},
		res("v1", "T-4", 0, evals.StatusUnscored, nil, 640, "maybe?",
			sc("schema", "json-schema", 1, true, ""), unscored("judge", "no verdict, got \"maybe?\"")),
		res("v1", "T-5", 0, evals.StatusPassed, ptr(1), 700, `{"a":1}`,
			sc("schema", "json-schema", 1, true, ""), sc("judge", "judge", 1, true, "")),
		res("v1", "T-5", 1, evals.StatusFailed, ptr(0.5), 702, `{"a":2}`,
			sc("schema", "json-schema", 1, true, ""), sc("judge", "judge", 0, false, "wrong a")),
	}
	v := 0.4
	w := 0.0
	sum := &evals.Summary{
		ReportVersion: 1, RunID: "20261128-000000-abcdef", Suite: "triage_[beta]", SuiteVersion: "3",
		SuitePath: "evals/triage|suite.json",
		Started:   time.Date(2026, 11, 28, 9, 30, 5, 0, time.FixedZone("CET", 3600)),
		Targets: []evals.TargetSummary{
			{
				Name: "v1", Provider: "replay", Model: "acme-v1", Figures: evals.Figures{Cases: 6, Passed: 2, Failed: 2, Errored: 1, Unscored: 1,
					PassRate: 2.0 / 6, ErrorRate: 1.0 / 6, Mean: 0.625, Scored: 4,
					PassRateCI: &evals.Interval{Lo: 0.0968, Hi: 0.7000, Method: "wilson"},
					Errors:     map[string]int{"timeout": 1}, Usage: evals.Usage{TotalTokens: 501},
					LatencyMS: evals.LatencySummary{Mean: 811.75, P50: 700, P95: 1180.5, Max: 1204.25},
					Criteria: []evals.CriterionSummary{
						{Name: "schema", Type: "json-schema", N: 5, Passed: 4, PassRate: 0.8, Mean: 0.8, PassRateCI: &evals.Interval{Lo: 0.3755, Hi: 0.9638}},
						{Name: "judge", Type: "judge", N: 3, Passed: 2, Unscored: 2, PassRate: 2.0 / 3, Mean: 2.0 / 3},
					}},
				Comparison: &evals.Comparison{Target: "v1", Against: "v0", AgainstRun: "20261127-000000-000000", Matched: 6,
					Wins: 1, Ties: 3, Losses: 2, BothPassed: 2, BothFailed: 2, McNemarP: 1, Regressions: 2,
					DeltaPassRate: -0.3333, DeltaPassRateCI: &evals.Interval{Lo: -0.6667, Hi: 0}, DeltaMean: -0.1, DeltaMeanCI: &evals.Interval{Lo: -0.3, Hi: 0.05},
					RegressionCases: []string{"T-2", "T-5|x"}},
				FailedCases: []evals.FailedCase{
					{CaseID: "T-2", Status: evals.StatusFailed, Reason: "schema: output is not JSON: " + hostile + "; judge unscored: no verdict in \"|||\""},
					{CaseID: "T-3", Status: evals.StatusError, Reason: "timeout: no response within 1m0s"},
					{CaseID: "T-4", Status: evals.StatusUnscored, Reason: "judge unscored: no verdict, got \"maybe?\""},
					{CaseID: "T-5", Repeat: 1, Status: evals.StatusFailed, Reason: "judge: wrong a"},
				},
			},
			{
				Name: "v2", Provider: "openai", Figures: evals.Figures{Cases: 2, Failed: 1, Errored: 1,
					ErrorRate: 0.5, Mean: 0.5, Scored: 1, Errors: map[string]int{"http_status": 1},
					Usage: evals.Usage{TotalTokens: 100}, LatencyMS: evals.LatencySummary{Mean: 1500, Max: 1500},
					Criteria: []evals.CriterionSummary{
						{Name: "schema", Type: "json-schema", N: 1, Passed: 1, PassRate: 1, Mean: 1},
						{Name: "judge", Type: "judge", N: 1, Passed: 1, PassRate: 1, Mean: 0.5},
					}},
				FailedCases: []evals.FailedCase{
					{CaseID: "T-1", Status: evals.StatusFailed, Reason: ""},
					{CaseID: "T-2", Status: evals.StatusError, Reason: "http_status: Service Unavailable: <html>\x1b</html>"},
				},
			},
		},
		Gate: evals.GateVerdict{Held: false, Results: []evals.GateResult{
			{Expr: "pass_rate >= 0.4", Target: "v1", Value: ptr(2.0 / 6), Margin: 2.0/6 - 0.4, Message: "v1: pass_rate >= 0.4: got 0.3333, off by 0.0667"},
			{Expr: "error_rate <= 0.5", Target: "v1", Value: ptr(1.0 / 6), Held: true, Margin: 0.5 - 1.0/6, Message: "v1: error_rate <= 0.5: 0.1667 (margin 0.3333)"},
			{Expr: "pass_rate >= 0.4", Target: "v2", Value: &w, Margin: -v, Message: "v2: pass_rate >= 0.4: got 0, off by 0.4"},
			{Expr: "error_rate <= 0.5", Target: "v2", Value: ptr(0.5), Held: true, Message: "v2: error_rate <= 0.5: 0.5 (margin 0)"},
			{Expr: "criteria.judge.mean >= 0.9", Target: "v2", Message: "v2: criteria.judge.mean >= 0.9: no data (criterion judge scored no response of the 2 cases)"},
		}},
	}
	return sum, results
}

func sliceResults(rs []*evals.Result) Results {
	return func(fn func(*evals.Result) error) error {
		for _, r := range rs {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update to accept):\n%s", name, got)
	}
}

// writeJUnit writes the suites as one JUnit document.
func writeJUnit(t *testing.T, suites ...func() (*evals.Summary, []*evals.Result)) []byte {
	t.Helper()
	dir := t.TempDir()
	j := NewJUnit(dir)
	for _, f := range suites {
		s, rs := f()
		if err := WriteSuite(s, sliceResults(rs), j); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := j.Finish(&b); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	return b.Bytes()
}

func TestJUnitGolden(t *testing.T) {
	second := func() (*evals.Summary, []*evals.Result) {
		s, rs := ciFixture()
		s.Suite, s.SuiteVersion, s.Interrupted = "second", "", true
		s.Targets = s.Targets[1:]
		return s, rs[1:2]
	}
	doc := writeJUnit(t, ciFixture, second)
	checkGolden(t, "junit.xml", doc)
	checkJUnitSchema(t, doc)
	validateWithXmllint(t, doc)
}

func TestJUnitEmpty(t *testing.T) {
	doc := writeJUnit(t)
	checkJUnitSchema(t, doc)
	if !bytes.Contains(doc, []byte(`<testsuites name="rubric" tests="0" failures="0" errors="0" time="0.000">`)) {
		t.Errorf("empty document:\n%s", doc)
	}
}

// TestJUnitCounts checks each test suite's counts against its test cases.
func TestJUnitCounts(t *testing.T) {
	doc := parseXML(t, writeJUnit(t, ciFixture))
	want := map[string][5]string{ // tests, failures, errors, skipped, time
		"triage_[beta]/v1": {"6", "2", "1", "1", "4.059"},
		"triage_[beta]/v2": {"2", "1", "1", "0", "1.531"},
	}
	for _, ts := range doc.kids {
		w, ok := want[ts.attr["name"]]
		if !ok {
			t.Errorf("unexpected test suite %q", ts.attr["name"])
			continue
		}
		delete(want, ts.attr["name"])
		got := [5]string{ts.attr["tests"], ts.attr["failures"], ts.attr["errors"], ts.attr["skipped"], ts.attr["time"]}
		if got != w {
			t.Errorf("%s: tests, failures, errors, skipped, time = %v, want %v", ts.attr["name"], got, w)
		}
		if ts.attr["timestamp"] != "2026-11-28T08:30:05" {
			t.Errorf("%s: timestamp %q, want the start in UTC without a zone", ts.attr["name"], ts.attr["timestamp"])
		}
	}
	if len(want) > 0 {
		t.Errorf("missing test suites: %v", want)
	}
	if got := [4]string{doc.attr["tests"], doc.attr["failures"], doc.attr["errors"], doc.attr["time"]}; got != [4]string{"8", "3", "2", "5.590"} {
		t.Errorf("totals %v", got)
	}
}

// TestJUnitHostile writes outputs and reasons that carry markup, control
// characters and invalid UTF-8: the document parses, and each text comes
// back with only the characters XML forbids replaced.
func TestJUnitHostile(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"markup", "<b>&amp;</b> \"q\" 'a'", "<b>&amp;</b> \"q\" 'a'"},
		{"cdata_end", "a]]>b <![CDATA[x]]>", "a]]>b <![CDATA[x]]>"},
		{"closing_tag", "</system-out></testcase></testsuites>", "</system-out></testcase></testsuites>"},
		{"escape_sequences", "\x1b[31mred\x1b[0m", "␛[31mred␛[0m"},
		{"nul_and_bell", "a\x00b\x07c\x0bd\x0ce", "a␀b␇c␋d␌e"},
		{"crlf", "one\r\ntwo\rthree\n", "one\r\ntwo\rthree\n"},
		{"tabs", "a\tb", "a\tb"},
		{"invalid_utf8", "ok \xff\xfe\xc3 end", "ok \uFFFD\uFFFD\uFFFD end"},
		{"noncharacters", "a\uFFFEb\uFFFFc", "a\uFFFDb\uFFFDc"},
		{"real_replacement_char", "a\uFFFDb", "a\uFFFDb"},
		{"unicode", "✓ 日本語 🙂 عربى e\u0301", "✓ 日本語 🙂 عربى e\u0301"},
		{"c1_and_del_are_legal", "a\x7fb\u0085c\u009bd", "a\x7fb\u0085c\u009bd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := ciFixture()
			s.Targets = s.Targets[:1]
			r := &evals.Result{CaseID: "c" + tc.in, Target: "v1", Status: evals.StatusFailed, Output: tc.in,
				Scores: []evals.Score{{Name: "x", Type: "regex", Reason: tc.in}}}
			e := &evals.Result{CaseID: "e", Target: "v1", Status: evals.StatusError,
				Error: &evals.ResultError{Kind: "http_status", Message: tc.in}}
			doc := writeJUnit(t, func() (*evals.Summary, []*evals.Result) { return s, []*evals.Result{r, e} })
			if bytes.Contains(doc, []byte("]]>")) {
				t.Errorf("the document has ]]>, which XML forbids in text:\n%s", doc)
			}
			root := parseXML(t, doc)
			cases := root.kids[0].find("testcase")
			if len(cases) != 2 {
				t.Fatalf("%d test cases, want 2:\n%s", len(cases), doc)
			}
			tcase := cases[0]
			if got := tcase.attr["name"]; got != "c"+tc.want {
				t.Errorf("name %q, want %q", got, "c"+tc.want)
			}
			if got := tcase.find("system-out")[0].text; got != tc.want {
				t.Errorf("system-out %q, want %q", got, tc.want)
			}
			f := tcase.find("failure")[0]
			if got, want := f.text, "x (regex): score 0: "+tc.want+"\n"; got != want {
				t.Errorf("failure text %q, want %q", got, want)
			}
			if got, want := f.attr["message"], clip("x: "+tc.want, maxMessage); got != want {
				t.Errorf("failure message %q, want %q", got, want)
			}
			if got, want := cases[1].find("error")[0].attr["message"], clip("http_status: "+tc.want, maxMessage); got != want {
				t.Errorf("error message %q, want %q", got, want)
			}
		})
	}
}

func TestJUnitLongOutput(t *testing.T) {
	s, _ := ciFixture()
	s.Targets = s.Targets[:1]
	// A multi-byte character straddles the cut.
	out := strings.Repeat("a", maxSystemOut-1) + "é" + strings.Repeat("b", 100)
	r := &evals.Result{CaseID: "long", Target: "v1", Status: evals.StatusUnscored, Output: out}
	doc := parseXML(t, writeJUnit(t, func() (*evals.Summary, []*evals.Result) { return s, []*evals.Result{r} }))
	got := doc.kids[0].find("testcase")[0].find("system-out")[0].text
	want := strings.Repeat("a", maxSystemOut-1) + "\n… (102 more bytes in results.jsonl)"
	if got != want {
		t.Errorf("system-out ends %q, want %q", got[len(got)-60:], want[len(want)-60:])
	}
}

func TestWriteSuiteUnknownTarget(t *testing.T) {
	s, rs := ciFixture()
	s.Targets = s.Targets[:1] // the results have v2's too
	err := WriteSuite(s, sliceResults(rs), NewJUnit(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), `case T-1: result for target "v2", which the report of run 20261128-000000-abcdef does not list`) {
		t.Errorf("err = %v", err)
	}
}

func TestMarkdownGolden(t *testing.T) {
	s, rs := ciFixture()
	var b bytes.Buffer
	if err := WriteSuite(s, sliceResults(rs), NewMarkdown(&b)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "summary.md", b.Bytes())
	checkMarkdownTables(t, b.String())
}

// checkMarkdownTables checks that every table row has as many cells as its
// header, counting only the pipes that are not escaped.
// TestMarkdownCorpusBLEU: the Markdown summary's criterion table shows a
// bleu criterion's corpus BLEU, as the terminal does.
func TestMarkdownCorpusBLEU(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSuite(summary(), sliceResults(nil), NewMarkdown(&b)); err != nil {
		t.Fatal(err)
	}
	row := "| translation | bleu | 55.3% pass [39.7-69.8], mean 0.479, corpus BLEU 48.53, 1 unscored |\n"
	if !strings.Contains(b.String(), row) {
		t.Errorf("no row %q in:\n%s", row, b.String())
	}
	checkMarkdownTables(t, b.String())
}

func checkMarkdownTables(t *testing.T, md string) {
	t.Helper()
	cells := -1
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cells = -1
			continue
		}
		n := 0
		for j := 0; j < len(line); j++ {
			switch line[j] {
			case '\\':
				j++ // the escaped character
			case '|':
				n++
			}
		}
		if cells < 0 {
			cells = n
		} else if n != cells {
			t.Errorf("line %d has %d cell separators, its table %d: %q", i+1, n, cells, line)
		}
		for _, r := range line {
			if r < 0x20 && r != '\t' {
				t.Errorf("line %d has control character %U: %q", i+1, r, line)
			}
		}
	}
}

// TestMarkdownHostile puts each hostile text in a failed case's reason and
// output: the table keeps its shape, and the text stays inside code spans.
func TestMarkdownHostile(t *testing.T) {
	for _, in := range []string{
		hostile, "a|b", `a\|b`, `a\\|b`, "|", "`", "``x``", " ` ", "line\nbreak\r\nand\ttab",
		"<img src=x onerror=alert(1)>", "<details><summary>x</summary>", "**bold** _it_ # h", strings.Repeat("long ", 100),
	} {
		s, _ := ciFixture()
		s.Targets = s.Targets[:1]
		s.Targets[0].FailedCases = []evals.FailedCase{{CaseID: in, Status: evals.StatusFailed, Reason: in}}
		r := &evals.Result{CaseID: in, Target: "v1", Status: evals.StatusFailed, Output: in}
		var b bytes.Buffer
		if err := WriteSuite(s, sliceResults([]*evals.Result{r}), NewMarkdown(&b)); err != nil {
			t.Fatal(err)
		}
		checkMarkdownTables(t, b.String())
		var row string
		for _, l := range strings.Split(b.String(), "\n") {
			if strings.HasSuffix(l, " | failed | "+mdCode(in, mdReason)+" | "+mdCode(in, mdOutput)+" |") {
				row = l
			}
		}
		if row == "" {
			t.Errorf("%q: no failure row with its code spans:\n%s", in, b.String())
		}
	}
}

func TestMdCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "`plain`"},
		{"a|b", "`a\\|b`"},
		{`a\|b`, "`a\\\\\\|b`"},
		{`a\\|b`, "`a\\\\\\\\\\|b`"},
		{`a\b|`, "`a\\b\\|`"},
		{"a`b", "``a`b``"},
		{"`start", "`` `start ``"},
		{"end`", "`` end` ``"},
		{"x ``` y", "````x ``` y````"},
		{"two\nlines\r\n", "`two lines`"},
		{"esc\x1b[0m", "`esc␛[0m`"},
		{"<b>&amp;</b>", "`<b>&amp;</b>`"},
		{strings.Repeat("x", 10), "`xxxx…`"},
	} {
		n := mdReason
		if len(tc.in) == 10 {
			n = 5
		}
		if got := mdCode(tc.in, n); got != tc.want {
			t.Errorf("mdCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCSVGolden(t *testing.T) {
	s, rs := ciFixture()
	var b bytes.Buffer
	c, err := NewCSV(&b, []string{"schema", "judge", "other"})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSuite(s, sliceResults(rs), c); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "results.csv", b.Bytes())

	// The values come back as recorded, hostile text included.
	rows, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(rs) {
		t.Fatalf("%d rows, want %d", len(rows), 1+len(rs))
	}
	head := strings.Join(rows[0], ",")
	if head != "run_id,suite,target,case_id,repeat,status,score,latency_ms,tokens,error_kind,error_message,steps,tool_calls,tool_errors,outcome,schema.score,schema.reason,judge.score,judge.reason,other.score,other.reason" {
		t.Errorf("header %s", head)
	}
	hostileRow := rows[3]
	// encoding/csv's reader drops a carriage return before a newline, even
	// quoted; the file has it (see the golden file).
	readBack := strings.ReplaceAll(hostile, "\r\n", "\n")
	if hostileRow[3] != "T-2" || hostileRow[15] != "0" || hostileRow[16] != "output is not JSON: "+readBack || hostileRow[17] != "" || !strings.HasPrefix(hostileRow[18], "unscored: ") {
		t.Errorf("row of T-2: %q", hostileRow)
	}
	if e := rows[5]; e[9] != "http_status" || e[10] != "Service Unavailable: <html>\x1b</html>" || e[6] != "" || e[15] != "" {
		t.Errorf("error row: %q", e)
	}
}

func TestCSVErrors(t *testing.T) {
	if _, err := NewCSV(&bytes.Buffer{}, []string{"a", "a"}); err == nil || !strings.Contains(err.Error(), `criterion "a" is listed twice`) {
		t.Errorf("duplicate criterion: %v", err)
	}
	s, rs := ciFixture()
	c, _ := NewCSV(&bytes.Buffer{}, []string{"schema"})
	err := WriteSuite(s, sliceResults(rs), c)
	if err == nil || !strings.Contains(err.Error(), `criterion "judge" has no column`) {
		t.Errorf("unknown criterion: %v", err)
	}
}

func TestAnnotations(t *testing.T) {
	s, _ := ciFixture()
	s.Gate.Note = "the run did not complete:\n50% done, 2 targets"
	src := []byte("{\n  \"gate\": [\n    \"pass_rate >= 0.4\",\n    \"error_rate <= 0.5\"\n  ],\n  \"x\": \"criteria.judge.mean >= 0.9\", \"y\": \"criteria.judge.mean >= 0.9\"\n}\n")
	var b bytes.Buffer
	if err := Annotations(&b, s, "evals/a,b:c.json", src); err != nil {
		t.Fatal(err)
	}
	want := "::error file=evals/a%2Cb%3Ac.json,line=3,title=rubric%3A triage_[beta]%3A gate pass_rate >= 0.4 failed on v1::v1: pass_rate >= 0.4: got 0.3333, off by 0.0667 (value 0.3333, margin -0.0667)\n" +
		"::error file=evals/a%2Cb%3Ac.json,line=3,title=rubric%3A triage_[beta]%3A gate pass_rate >= 0.4 failed on v2::v2: pass_rate >= 0.4: got 0, off by 0.4 (value 0, margin -0.4)\n" +
		// Written twice in the file: no line.
		"::error file=evals/a%2Cb%3Ac.json,title=rubric%3A triage_[beta]%3A gate criteria.judge.mean >= 0.9 failed on v2::v2: criteria.judge.mean >= 0.9: no data (criterion judge scored no response of the 2 cases)\n" +
		"::error file=evals/a%2Cb%3Ac.json,title=rubric%3A triage_[beta]%3A gate not held::the run did not complete:%0A50%25 done, 2 targets\n"
	if b.String() != want {
		t.Errorf("annotations:\n%s\nwant:\n%s", b.String(), want)
	}

	b.Reset()
	Annotations(&b, s, "", nil)
	if strings.Contains(b.String(), "file=") || strings.Contains(b.String(), "line=") {
		t.Errorf("no file, yet:\n%s", b.String())
	}
}

func TestWorkflowCommandEscaping(t *testing.T) {
	for _, tc := range []struct{ prop, msg, want string }{
		{"plain", "plain", "::error title=plain::plain"},
		{"a:b,c", "a:b,c", "::error title=a%3Ab%2Cc::a:b,c"},
		{"100%", "100%", "::error title=100%25::100%25"},
		{"x\r\ny", "x\r\ny", "::error title=x%0D%0Ay::x%0D%0Ay"},
		{"%0A", "%0A", "::error title=%250A::%250A"},
		{"::", "::error::injected", "::error title=%3A%3A::::error::injected"},
	} {
		if got := workflowCommand("error", [][2]string{{"title", tc.prop}}, tc.msg); got != tc.want {
			t.Errorf("workflowCommand(%q, %q) = %q, want %q", tc.prop, tc.msg, got, tc.want)
		}
	}
}

func TestExprLine(t *testing.T) {
	src := []byte("{\n\"gate\": [\"a >= 1\",\n \"b <= 2\"],\n\"description\": \"c > 3 and \\\"d < 4\\\"\", \"g\": [\"c > 3\", \"c > 3\"]\n}")
	for _, tc := range []struct {
		expr string
		want int
	}{{"a >= 1", 2}, {"b <= 2", 3}, {"c > 3", 0}, {"d < 4", 0}, {"z > 1", 0}} {
		if got := exprLine(src, tc.expr); got != tc.want {
			t.Errorf("exprLine(%q) = %d, want %d", tc.expr, got, tc.want)
		}
	}
	if exprLine(nil, "a >= 1") != 0 {
		t.Error("a line without a source")
	}
}

// validateWithXmllint validates doc with xmllint against the XSD that
// $RUBRIC_JUNIT_XSD names, when both are there. The schema is not kept in
// this repository; checkJUnitSchema encodes its rules.
func validateWithXmllint(t *testing.T, doc []byte) {
	t.Helper()
	xsd := os.Getenv("RUBRIC_JUNIT_XSD")
	lint, err := exec.LookPath("xmllint")
	if xsd == "" || err != nil {
		t.Log("xmllint check skipped: set RUBRIC_JUNIT_XSD to a JUnit XSD and install xmllint")
		return
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	os.WriteFile(path, doc, 0o644)
	if out, err := exec.Command(lint, "--noout", "--schema", xsd, path).CombinedOutput(); err != nil {
		t.Errorf("xmllint: %v\n%s", err, out)
	}
}

// budgetFixture is ciFixture with an error budget of 20% that v2 broke (one
// error in two cases), as rubric run records it.
func budgetFixture() (*evals.Summary, []*evals.Result) {
	s, rs := ciFixture()
	s.ErrorBudget = &evals.ErrorBudget{Budget: ptr(0.2), Over: []evals.BudgetBreach{{Target: "v2", Cases: 2, Errored: 1, ErrorRate: 0.5,
		Reason: "1 of 2 cases ended in an error (50.0%), over the error budget of 20.0%"}}}
	s.Gate.Note = evals.NoteErrorBudget
	return s, rs
}

// TestErrorBudgetOutputs: a broken error budget shows in the terminal
// summary, the Markdown, the JUnit (a failed test case in the target's test
// suite) and the annotations; a budget that held changes nothing but a JUnit
// property.
func TestErrorBudgetOutputs(t *testing.T) {
	s, rs := budgetFixture()
	var text, md, ann bytes.Buffer
	ts, _ := budgetFixture()
	ts.Targets[0].FailedCases = ts.Targets[0].FailedCases[1:] // the terminal's own tests cover hostile text
	if err := Text(&text, ts, Style{}); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "budget.txt", text.Bytes())
	if err := WriteSuite(s, sliceResults(rs), NewMarkdown(&md)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "budget.md", md.Bytes())
	checkMarkdownTables(t, md.String())
	doc := writeJUnit(t, budgetFixture)
	checkGolden(t, "budget-junit.xml", doc)
	checkJUnitSchema(t, doc)
	root := parseXML(t, doc)
	if got := [3]string{root.attr["tests"], root.attr["failures"], root.attr["errors"]}; got != [3]string{"9", "4", "2"} {
		t.Errorf("totals tests, failures, errors = %v, want one more test and failure than without the budget", got)
	}
	for _, ts := range root.kids {
		var budget []*node
		for _, tc := range ts.find("testcase") {
			if tc.attr["name"] == budgetCaseName {
				budget = append(budget, tc)
			}
		}
		switch ts.attr["name"] {
		case "triage_[beta]/v1":
			if len(budget) != 0 {
				t.Errorf("v1 held the budget, yet has a test case %s", budgetCaseName)
			}
		case "triage_[beta]/v2":
			if len(budget) != 1 || ts.attr["tests"] != "3" || ts.attr["failures"] != "2" {
				t.Fatalf("v2: %d budget test cases, tests %s, failures %s", len(budget), ts.attr["tests"], ts.attr["failures"])
			}
			f := budget[0].find("failure")
			if len(f) != 1 || f[0].attr["type"] != "error_budget" || f[0].attr["message"] != s.ErrorBudget.Over[0].Reason {
				t.Errorf("v2's budget test case: %+v", budget[0])
			}
		}
	}
	if err := Annotations(&ann, s, "suite.json", nil); err != nil {
		t.Fatal(err)
	}
	want := "::error file=suite.json,title=rubric%3A triage_[beta]%3A error budget exceeded on v2::v2: 1 of 2 cases ended in an error (50.0%25), over the error budget of 20.0%25\n"
	if !strings.HasSuffix(ann.String(), want) || strings.Contains(ann.String(), "gate not held") {
		t.Errorf("annotations:\n%s\nwant them to end with:\n%s", ann.String(), want)
	}

	// Within the budget: the same outputs as without one.
	for _, f := range []func(*evals.Summary) []byte{
		func(s *evals.Summary) []byte { var b bytes.Buffer; Text(&b, s, Style{}); return b.Bytes() },
		func(s *evals.Summary) []byte {
			var b bytes.Buffer
			if err := WriteSuite(s, sliceResults(rs), NewMarkdown(&b)); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		},
		func(s *evals.Summary) []byte {
			var b bytes.Buffer
			Annotations(&b, s, "suite.json", nil)
			return b.Bytes()
		},
	} {
		held, _ := ciFixture()
		held.ErrorBudget = &evals.ErrorBudget{Budget: ptr(0.5), Held: true}
		without, _ := ciFixture()
		if a, b := f(held), f(without); !bytes.Equal(a, b) {
			t.Errorf("a budget that held changed the output:\n%s\nwithout a budget:\n%s", a, b)
		}
	}
	held := func() (*evals.Summary, []*evals.Result) {
		s, rs := ciFixture()
		s.ErrorBudget = &evals.ErrorBudget{Budget: ptr(0.5), Held: true}
		return s, rs
	}
	doc = writeJUnit(t, held)
	if n := bytes.Count(doc, []byte(`<property name="error_budget" value="0.5"/>`)); n != 2 || bytes.Contains(doc, []byte(budgetCaseName)) {
		t.Errorf("a budget that held: %d error_budget properties, want one per test suite, and no budget test case:\n%s", n, doc)
	}
}

// TestTextTerminalSafe checks that the terminal summary of a run whose
// model answered with escape sequences, control characters and invalid
// bytes prints none of them raw: the terminal shows them, it does not act on
// them. Colour, which the summary writes itself, stays.
func TestTextTerminalSafe(t *testing.T) {
	sum, _ := ciFixture()
	sum.Targets[0].FailedCases = append(sum.Targets[0].FailedCases,
		evals.FailedCase{CaseID: "T-\x9b2J", Status: evals.StatusFailed, Reason: "del\x7f csi\u009b31m tab\tend"})
	for _, color := range []bool{false, true} {
		var b strings.Builder
		if err := Text(&b, sum, Style{Color: color}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if color {
			// Drop the summary's own colour codes; nothing else may remain.
			out = regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out, "")
		}
		for i, r := range out {
			if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == utf8.RuneError && !strings.HasPrefix(out[i:], "\uFFFD") {
				t.Fatalf("color %v: raw control %U at byte %d: %q", color, r, i, out[max(0, i-40):min(len(out), i+40)])
			}
		}
		for _, want := range []string{"␛[31mred␛[0m", "nul␀", "del␡", "tab end", "T-\uFFFD2J"} {
			if !strings.Contains(out, want) {
				t.Errorf("color %v: summary lacks %q:\n%s", color, want, out)
			}
		}
	}
}
