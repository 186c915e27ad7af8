package report

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// writeHTML writes the suites as one HTML page.
func writeHTML(t *testing.T, suites ...func() (*evals.Summary, []*evals.Result)) string {
	t.Helper()
	h := NewHTML()
	for _, f := range suites {
		s, rs := f()
		if err := WriteSuite(s, sliceResults(rs), h); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := h.Finish(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// richFixture is summary(), which has classification, corpus BLEU, slices,
// repeats, judges, cost and a baseline comparison, with a trajectory
// criterion's tool-call figures and no results.
func richFixture() (*evals.Summary, []*evals.Result) {
	s := summary()
	tc := &evals.ToolCallMetrics{CallCounts: evals.CallCounts{Expected: 12, Made: 10, Matched: 9}, Precision: 0.9, Recall: 0.75, F1: 9.0 / 11}
	s.Targets[0].Criteria = append(s.Targets[0].Criteria, evals.CriterionSummary{Name: "calls", Type: "trajectory", N: 12, Passed: 9,
		PassRate: 0.75, Mean: 0.8, ToolCalls: tc})
	s.Targets[0].MeanCI = &evals.Interval{Lo: 0.81, Hi: 0.9, Method: "bootstrap"}
	s.Targets[0].Stream = &evals.StreamSummary{Responses: 39, FirstTokenMS: evals.LatencySummary{P50: 120, P95: 300, P99: 410}}
	s.Baseline = &evals.BaselineRef{RunID: "20261127-000000-000000", Report: "rubric-runs/20261127-000000-000000/report.json"}
	return s, nil
}

// TestHTMLGolden checks the page of three suites against a golden file:
// ciFixture (two targets, hostile text, every kind of failed case, gates),
// richFixture (the figures the others lack) and convFixture
// (conversations).
func TestHTMLGolden(t *testing.T) {
	page := writeHTML(t, ciFixture, richFixture, convFixture)
	checkGolden(t, "report.html", []byte(page))
	checkInert(t, page)
	text := html.UnescapeString(page)
	for _, want := range []string{
		// A section per suite, and a table of contents linking to them.
		`<section id="s1" class="suite">`, `<section id="s2" class="suite">`, `<section id="s3" class="suite">`,
		`<a href="#s2">triage (version 3)</a>`,
		// The failed cases' criteria, each with its reason.
		`<tr><th scope="row">judge</th><td>judge</td><td class="n">0.000</td><td class="failed">fail</td><td><pre>wrong a</pre></td></tr>`,
		`<tr><th scope="row">judge</th><td>judge</td><td class="n">-</td><td class="warn">unscored</td><td><pre>no verdict in "|||"</pre></td></tr>`,
		// A conversation's last messages, as the terminal shows them.
		"max_steps after 3 steps, 3 tool calls, 3 tool errors; the last 3 of 8 messages:",
		`<li><code>tool: ← lookup_order: error: no such order</code></li>`,
		// Classification, corpus BLEU, tool calls, slices, repeats, cost.
		"corpus BLEU 48.53", "tool calls: precision 0.900, recall 0.750, F1 0.818 (10 made, 12 expected, 9 matched)",
		`<caption>Confusion matrix: rows expected, columns predicted</caption>`,
		"lang=de", "pass^k", "3 of 20 cases changed verdict between repeats (15.0%)", "0.0042 USD",
		// The comparison, regressions first, and the gate with margins.
		"<strong>2 regressions</strong>", "-33.3 pts [-66.7, +0.0]", "McNemar p",
		`<td class="n">-0.0667</td>`, `<td class="n">+0.3333</td>`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if i, j := strings.Index(page, "2 regressions"), strings.Index(page, "0 fixes"); i < 0 || j < i {
		t.Errorf("regressions do not come before fixes")
	}
}

// TestHTMLCSP: the page's Content-Security-Policy allows its inline style
// by the hash of the style element's text, and nothing else.
func TestHTMLCSP(t *testing.T) {
	page := writeHTML(t, ciFixture)
	m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSP meta tag in:\n%.600s", page)
	}
	csp := strings.ReplaceAll(m[1], "&#39;", "'")
	_, style, ok := strings.Cut(page, "<style>")
	style, _, ok2 := strings.Cut(style, "</style>")
	if !ok || !ok2 || strings.Count(page, "<style") != 1 {
		t.Fatal("want exactly one style element")
	}
	want := "default-src 'none'; style-src '" + styleHash(style) + "'; base-uri 'none'; form-action 'none'"
	if csp != want {
		t.Errorf("CSP %q, want %q", csp, want)
	}
	if strings.Contains(page, " style=") {
		t.Error("a style attribute, which the CSP blocks")
	}
	if i, j := strings.Index(page, "Content-Security-Policy"), strings.Index(page, "<title>"); i > j {
		t.Error("the CSP comes after content")
	}
}

// xss are texts that try to become markup, a script or a link.
var xss = map[string]string{
	"script":        `<script>alert(1)</script>`,
	"img_onerror":   `"><img src=x onerror=alert(1)>`,
	"svg_onload":    `'><svg onload=alert(1)>`,
	"javascript":    `[click](javascript:alert(1)) <a href="javascript:alert(1)">x</a> javascript:alert(1)`,
	"close_section": `</pre></details></section><script>alert(1)</script>`,
	"close_style":   `</style><script>alert(1)</script>`,
	"close_title":   `</title><script>alert(1)</script>`,
	"osc8_link":     "\x1b]8;;javascript:alert(1)\x1b\\link\x1b]8;;\x1b\\ \x1b[31mred\x1b[0m",
}

// TestHTMLHostile puts each hostile text in every place of the page that
// shows data (suite and target names, a criterion's name, a case id, the
// reasons, an output, an error, a conversation, a gate, a label, a slice):
// the page holds no element, attribute or link made from it.
func TestHTMLHostile(t *testing.T) {
	for name, in := range xss {
		t.Run(name, func(t *testing.T) {
			page := writeHTML(t, func() (*evals.Summary, []*evals.Result) { return hostileFixture(in) })
			checkInert(t, page)
			if !strings.Contains(page, "alert(1)") {
				t.Fatalf("the hostile text is not shown at all:\n%s", page)
			}
		})
	}
}

// hostileFixture is a suite whose every text is in.
func hostileFixture(in string) (*evals.Summary, []*evals.Result) {
	s, _ := ciFixture()
	s.Suite, s.SuiteVersion, s.SuitePath, s.RunID = in, in, in, in
	s.Gate.Note = in
	s.Baseline = &evals.BaselineRef{RunID: in}
	s.ErrorBudget = &evals.ErrorBudget{Over: []evals.BudgetBreach{{Target: in, Reason: in}}}
	tg := &s.Targets[0]
	tg.Name, tg.Model, tg.Provider = in, in, in
	tg.Errors = map[string]int{in: 1}
	tg.Criteria[0].Name, tg.Criteria[0].Type = in, in
	tg.Criteria[0].Classification = &evals.Classification{N: 1, Labels: []evals.LabelMetrics{{Label: in}},
		Confusion: evals.Confusion{Labels: []string{in}, Counts: [][]int{{1}}}}
	tg.Slices = []evals.SliceSummary{{Key: in, Value: in}}
	tg.Repeats = &evals.RepeatSummary{N: 2, Reducer: in, Flaky: 1, FlakyCases: []string{in}}
	tg.Comparison.Target, tg.Comparison.Against, tg.Comparison.AgainstRun = in, in, in
	tg.Comparison.RegressionCases = []string{in}
	tg.Conversations = &evals.ConversationSummary{Cases: 1}
	tg.FailedCases = []evals.FailedCase{{CaseID: in, Status: evals.Status(in), Reason: in,
		Conversation: &evals.ConversationTail{Outcome: in, Messages: 1, Last: []string{in}}}}
	s.Targets = s.Targets[:1]
	for i := range s.Gate.Results {
		s.Gate.Results[i].Target, s.Gate.Results[i].Expr, s.Gate.Results[i].Message = in, in, in
	}
	r := &evals.Result{CaseID: in, Target: in, Status: evals.StatusFailed, Output: in, Finish: in,
		Scores: []evals.Score{{Name: in, Type: in, Reason: in}},
		Error:  &evals.ResultError{Kind: in, Message: in}}
	return s, []*evals.Result{r}
}

// checkInert checks that page is the writer's markup only: its elements
// are those the template writes, no attribute is an event handler, every
// link is to an element of the page, there is no script, and no control
// character but tab and newline.
func checkInert(t *testing.T, page string) {
	t.Helper()
	allowed := map[string]bool{}
	for _, e := range strings.Fields("html head meta title style body header h1 h2 h3 h4 nav table thead tbody tr th td a main section p code strong div ul li details summary pre br ol caption figure svg line text circle figcaption span") {
		allowed[e] = true
	}
	for _, m := range regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)`).FindAllStringSubmatch(page, -1) {
		if !allowed[strings.ToLower(m[1])] {
			t.Errorf("element <%s> the writer does not write", m[1])
		}
	}
	lower := strings.ToLower(page)
	for _, bad := range []string{"<script", "<img", "<iframe", "<object", "<embed", "<link", "<base", "<form", "<svg onload", "javascript:alert(1)\""} {
		if strings.Contains(lower, bad) {
			t.Errorf("the page has %q", bad)
		}
	}
	// Inside a tag, attributes: no event handler, and links only to
	// anchors of the page.
	for _, tag := range regexp.MustCompile(`<[a-zA-Z][^>]*>`).FindAllString(page, -1) {
		for _, a := range regexp.MustCompile(`\s([a-zA-Z-:]+)(?:="([^"]*)")?`).FindAllStringSubmatch(tag, -1) {
			name, value := strings.ToLower(a[1]), a[2]
			if strings.HasPrefix(name, "on") {
				t.Errorf("event handler %s in %s", name, tag)
			}
			switch name {
			case "href":
				if !strings.HasPrefix(value, "#") {
					t.Errorf("a link out of the page: %s", tag)
				}
			case "src", "srcset", "action", "formaction", "xlink:href", "style", "background", "poster", "data":
				t.Errorf("attribute %s in %s", name, tag)
			}
		}
	}
	// Every link lands on an element of the page, and ids are unique.
	ids := map[string]int{}
	for _, m := range regexp.MustCompile(`\sid="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q is on %d elements", id, n)
		}
	}
	for _, m := range regexp.MustCompile(`\shref="#([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if ids[m[1]] == 0 {
			t.Errorf("a link to #%s, which no element has", m[1])
		}
	}
	// No control character is left raw.
	for i, r := range page {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f {
			t.Fatalf("raw control %U at byte %d: %q", r, i, page[max(0, i-40):min(len(page), i+40)])
		}
	}
}

// TestHTMLNoRequests: nothing in the page makes the browser fetch: no URL
// in an attribute or in the style sheet, no @import, no url().
func TestHTMLNoRequests(t *testing.T) {
	for name, page := range map[string]string{
		"fixtures": writeHTML(t, ciFixture, richFixture, convFixture),
		// Texts holding links, images, style sheets and CSS must not turn
		// into any of them.
		"hostile": writeHTML(t, func() (*evals.Summary, []*evals.Result) {
			return hostileFixture(`<img src="http://evil.example/x.png"> <link rel=stylesheet href=//evil.example/a.css> ` +
				`<div style="background:url(https://evil.example/b.png)"></div> <style>@import "https://evil.example/c.css";</style> ` +
				`http://evil.example/x.png`)
		}),
	} {
		t.Run(name, func(t *testing.T) {
			_, style, _ := strings.Cut(page, "<style>")
			style, _, _ = strings.Cut(style, "</style>")
			for _, bad := range []string{"url(", "@import", "http:", "https:", "//"} {
				if strings.Contains(style, bad) {
					t.Errorf("the style sheet has %q", bad)
				}
			}
			for _, tag := range regexp.MustCompile(`<[a-zA-Z][^>]*>`).FindAllString(page, -1) {
				if regexp.MustCompile(`(?i)(https?:|//|url\()`).MatchString(tag) {
					t.Errorf("a tag with a URL: %s", tag)
				}
			}
			if strings.Contains(page, "evil.example") && !strings.Contains(page, "&lt;img src=&#34;http://evil.example/x.png&#34;&gt;") {
				t.Error("the hostile text is not shown as written")
			}
		})
	}
}

// TestHTMLTextShown: control characters show as in the other reports
// (escape sequences as ␛, invalid bytes as U+FFFD), outputs keep their
// lines, and long outputs are clipped with a count of what was left out.
func TestHTMLTextShown(t *testing.T) {
	s, rs := ciFixture()
	long := strings.Repeat("x", htmlOutput) + "yz"
	rs = append(rs, &evals.Result{RunID: s.RunID, CaseID: "T-9", Target: "v2", Status: evals.StatusFailed, Output: long})
	s.Targets[1].FailedCases = append(s.Targets[1].FailedCases, evals.FailedCase{CaseID: "T-9", Status: evals.StatusFailed})
	s.Targets[1].FailedCases[0].Reason = "lone\rcr"
	page := writeHTML(t, func() (*evals.Summary, []*evals.Result) { return s, rs })
	for _, want := range []string{
		"␛[31mred␛[0m nul␀ bel␇ cr\nend \uFFFD\uFFFD bad \uFFFD ✓ 日本語",
		"&lt;b&gt;&amp;amp;&lt;/b&gt;",
		"Service Unavailable: &lt;html&gt;␛&lt;/html&gt;",
		"lone␍cr",
		strings.Repeat("x", htmlOutput) + "…</pre>",
		"Output (2 more characters in results.jsonl):",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	checkInert(t, page)
}

// TestHTMLEmpty: a page of no suite still is a page.
func TestHTMLEmpty(t *testing.T) {
	page := writeHTML(t)
	if !strings.Contains(page, "<title>rubric report</title>") || !strings.Contains(page, "No suite was written.") {
		t.Errorf("empty page:\n%s", page)
	}
	checkInert(t, page)
}
