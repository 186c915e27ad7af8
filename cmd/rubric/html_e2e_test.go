package main

import (
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHTMLReportE2E runs the binary on the examples with --html: rubric run
// writes one page per command, rubric report writes the same page again from
// the run folder (to a file or to stdout), several runs go into one page
// with a section each, and a folder given as the file is refused.
func TestHTMLReportE2E(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "runs")

	// The older model fails the gate: its failed cases, with each
	// criterion's reason and the output.
	v1 := filepath.Join(tmp, "v1.html")
	r := rubric(t, root, nil, "run", "examples/triage/suite.json", "-t", "triage-v1", "--out", out, "--html", v1)
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1\n%s", r)
	}
	idV1 := runIDs(t, r.stderr)[0]
	if !strings.Contains(r.stderr, "rubric: html "+v1+"\n") {
		t.Errorf("stderr does not name the page:\n%s", r.stderr)
	}
	page := readFile(t, v1)
	checkPageInert(t, page)
	text := html.UnescapeString(page)
	for _, want := range []string{
		"<title>rubric: support-triage (version 3): gate failed</title>",
		"Run <code>" + idV1 + "</code> of ",
		"triage-v1", "72.5%", "57.2-83.9",
		"Failures, triage-v1", "11 of 40 cases did not pass (10 shown; all are in results.jsonl).",
		// T-1001's criteria, each with its verdict and reason, and its output.
		`<tr><th scope="row">priority</th><td>equals</td><td class="n">0.000</td><td class="failed">fail</td><td><pre>got "critical", expected "urgent"</pre></td></tr>`,
		`"priority": "critical"`,
		"criteria.category.mean >= 0.95", "-0.125",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", filepath.Base(v1), want)
		}
	}

	// The newer model against the older run: the comparison, regressions
	// first.
	v2 := filepath.Join(tmp, "v2.html")
	r = rubric(t, root, nil, "run", "examples/triage/suite.json", "-t", "triage-v2", "--out", out, "--baseline", filepath.Join(out, idV1), "--html", v2)
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	idV2 := runIDs(t, r.stderr)[0]
	var rep runReport
	readJSON(t, filepath.Join(out, idV2, "report.json"), &rep)
	page = readFile(t, v2)
	checkPageInert(t, page)
	text = html.UnescapeString(page)
	for _, want := range []string{
		"Compared with run <code>" + idV1 + "</code>.",
		"<h4>triage-v2 vs triage-v1 (run " + idV1 + ")</h4>",
		"regressions</strong>: passed in the baseline, fail now", "fixes</strong>: failed in the baseline, pass now",
		"McNemar p", "difference of pass rates, paired 95% interval",
		`<svg class="chart"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", filepath.Base(v2), want)
		}
	}
	if i, j := strings.Index(text, "regressions</strong>"), strings.Index(text, "fixes</strong>"); j < i {
		t.Error("fixes come before regressions")
	}

	// rubric report writes the same page from the run folder, and exits
	// with the run's verdict.
	again := filepath.Join(tmp, "again.html")
	r = rubric(t, tmp, nil, "report", filepath.Join(out, idV1), "--html", again)
	if r.code != exitGateFailed || r.stdout != "" {
		t.Fatalf("report: want exit 1 and nothing on stdout\n%s", r)
	}
	if readFile(t, again) != readFile(t, v1) {
		t.Error("rubric report's page differs from rubric run's")
	}
	r = rubric(t, tmp, nil, "report", filepath.Join(out, idV1), "--html", "-")
	if r.code != exitGateFailed || r.stdout != readFile(t, v1) {
		t.Errorf("report --html -: want exit 1 and the page on stdout\n%.400s", r)
	}

	// Two runs, one page, a section each, listed at the top.
	both := filepath.Join(tmp, "both.html")
	r = rubric(t, tmp, nil, "report", filepath.Join(out, idV1), filepath.Join(out, idV2), "--html", both)
	if r.code != exitGateFailed {
		t.Fatalf("report of two runs: want exit 1\n%s", r)
	}
	page = readFile(t, both)
	checkPageInert(t, page)
	for _, want := range []string{`<section id="s1" class="suite">`, `<section id="s2" class="suite">`,
		`<a href="#s1">support-triage (version 3)</a>`, `<a href="#s2">support-triage (version 3)</a>`, "<title>rubric: 2 suites</title>"} {
		if !strings.Contains(page, want) {
			t.Errorf("both.html lacks %q", want)
		}
	}
	if strings.Count(page, "<html") != 1 {
		t.Error("more than one document in the page")
	}

	// A folder is not a file name: exit 2, and nothing left behind.
	r = rubric(t, tmp, nil, "report", filepath.Join(out, idV1), "--html", out)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "--html "+out+": it is a folder: expected a file name") {
		t.Errorf("--html FOLDER: want exit 2 and a message naming it\n%s", r)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, ".*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestHTMLConversationE2E: under a failed conversation, the page shows how
// it ended, as the terminal does.
func TestHTMLConversationE2E(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	p := filepath.Join(tmp, "support.html")
	r := rubric(t, repoRoot(t), nil, "run", "examples/support/suite.json", "-t", "support-v1", "--out", filepath.Join(tmp, "runs"), "--html", p)
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1\n%s", r)
	}
	page := readFile(t, p)
	checkPageInert(t, page)
	// Each tail the terminal prints is on the page.
	var tails []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if l = strings.TrimSpace(l); strings.Contains(l, " messages:") {
			tails = append(tails, l)
		}
	}
	if len(tails) == 0 {
		t.Fatalf("the terminal shows no conversation:\n%s", r.stdout)
	}
	text := html.UnescapeString(page)
	for _, l := range tails {
		if !strings.Contains(text, "<p>"+l+"</p>") {
			t.Errorf("the page lacks the terminal's %q", l)
		}
	}
	if !strings.Contains(text, `<ol class="tail">`) {
		t.Error("the page lists no last messages")
	}
}

// TestHTMLHostileE2E runs a suite whose case ids, expected answers and
// outputs try to become markup, scripts and links: the page shows them as
// text, and has no element, attribute or link made from them.
func TestHTMLHostileE2E(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hostile := []string{
		`<script>alert(1)</script>`,
		`"><img src=x onerror=alert(1)>`,
		`<a href="javascript:alert(1)">x</a> [y](javascript:alert(1))`,
		"\x1b]8;;javascript:alert(1)\x1b\\osc\x1b]8;;\x1b\\ \x1b[2J",
	}
	var cases, recs strings.Builder
	for i, h := range hostile {
		id, _ := json.Marshal(h + " #" + string(rune('a'+i)))
		v, _ := json.Marshal(h)
		cases.WriteString(`{"id": ` + string(id) + `, "vars": {"q": ` + string(v) + `}, "expected": "safe"}` + "\n")
		recs.WriteString(`{"case_id": ` + string(id) + `, "output": ` + string(v) + "}\n")
	}
	writeFiles(t, dir, map[string]string{"suite.json": strings.Replace(okSuite, `"name": "t"`, `"name": "<script>alert(1)</script>"`, 1),
		"cases.jsonl": cases.String(), "rec.jsonl": recs.String()})
	p := filepath.Join(dir, "report.html")
	r := rubric(t, dir, nil, "run", "suite.json", "--html", p)
	if r.code != exitGateFailed {
		t.Fatalf("want exit 1\n%s", r)
	}
	page := readFile(t, p)
	checkPageInert(t, page)
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt; #a",
		"&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"&lt;a href=&#34;javascript:alert(1)&#34;&gt;x&lt;/a&gt;",
		"␛]8;;javascript:alert(1)␛\\osc␛]8;;␛\\ ␛[2J",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %q as text", want)
		}
	}
}

// checkPageInert checks that the page can neither run nor fetch anything:
// no script element, no event handler attribute, no link but to an anchor
// of the page, no URL in a tag, and a Content-Security-Policy that allows
// nothing but the page's own style.
func checkPageInert(t *testing.T, page string) {
	t.Helper()
	if !strings.Contains(page, `<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;sha256-`) {
		t.Error("no strict Content-Security-Policy")
	}
	lower := strings.ToLower(page)
	for _, bad := range []string{"<script", "<img", "<iframe", "<object", "<embed", "<link", "<base", "<form"} {
		if strings.Contains(lower, bad) {
			t.Errorf("the page has a %s element", bad)
		}
	}
	attr := regexp.MustCompile(`\s([a-zA-Z:-]+)(?:="([^"]*)")?`)
	for _, tag := range regexp.MustCompile(`<[a-zA-Z][^>]*>`).FindAllString(page, -1) {
		for _, a := range attr.FindAllStringSubmatch(tag, -1) {
			name, value := strings.ToLower(a[1]), a[2]
			switch {
			case strings.HasPrefix(name, "on"):
				t.Errorf("event handler in %s", tag)
			case name == "href" && !strings.HasPrefix(value, "#"):
				t.Errorf("a link out of the page: %s", tag)
			case name == "src" || name == "srcset" || name == "style" || name == "action" || name == "xlink:href":
				t.Errorf("attribute %s in %s", name, tag)
			}
		}
		if regexp.MustCompile(`(?i)(https?:|//|url\()`).MatchString(tag) {
			t.Errorf("a URL in %s", tag)
		}
	}
	for i, c := range page {
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			t.Fatalf("raw control %U at byte %d", c, i)
		}
	}
}

// TestHTMLFlags: --html takes a file; not stdout for rubric run, whose
// stdout is the summary; not the file of another output; not with
// --dry-run.
func TestHTMLFlags(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, withSuite(okSuite))
	suite, x, page := filepath.Join(dir, "suite.json"), filepath.Join(dir, "x.out"), filepath.Join(dir, "x.html")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"stdout", []string{"run", suite, "--html", "-"}, "rubric: run: --html -: stdout carries the run's summary; give a file, or write it from the run folder afterwards with: rubric report RUN --html -\n"},
		{"empty", []string{"run", suite, "--html", ""}, "rubric: run: --html needs a file name\n"},
		{"same_file", []string{"run", suite, "--csv", x, "--html", x}, "rubric: run: --csv and --html both write " + x + "\n"},
		{"dry_run", []string{"run", "--dry-run", suite, "--html", page}, "rubric: run: --dry-run sends nothing and writes no results: --html has nothing to work on\n"},
		{"two_stdouts", []string{"report", "latest", "--markdown", "-", "--html", "-"}, "rubric: report: only one output can go to stdout (-)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runInProcess(t, tc.args...)
			if code != exitBadInput || stdout != "" || !strings.HasPrefix(stderr, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", code, stdout, stderr, tc.want)
			}
		})
	}
	for _, p := range []string{x, page} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a refused command wrote %s", p)
		}
	}
}
