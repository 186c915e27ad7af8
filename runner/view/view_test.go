package view

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unsafe"

	"github.com/rubric-eval/rubric/runner/rundir"
)

// rows returns the values of attribute attr of the table rows (tr) of
// class class, in order.
func rows(body, class, attr string) []string {
	re := regexp.MustCompile(`<tr class="` + class + `[^"]*" ` + attr + `="([^"]*)"`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: no %q in the page", what, w)
		}
	}
}

func TestRunsPage(t *testing.T) {
	_, ts := newTestServer(t, Options{}, fixtureRuns(t))
	for _, tc := range []struct {
		path string
		want string // run ids, newest first
	}{
		{"/", "o1,r3,r2,r1"},
		{"/?suite=qa", "r3,r2,r1"},
		{"/?target=small&suite=other", "o1"},
		{"/?verdict=failed", "o1"}, // o1 passes 1 of 4: under the gate's 0.5
		{"/?verdict=held&suite=qa", "r3,r2,r1"},
		{"/?verdict=none", ""},
		{"/?target=nope", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			status, body := get(t, ts, tc.path)
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			if got := strings.Join(rows(body, "run", "data-run"), ","); got != tc.want {
				t.Errorf("runs %q, want %q", got, tc.want)
			}
		})
	}
	// The filter's state is in the URL, and the form shows it.
	_, body := get(t, ts, "/?suite=qa&verdict=held")
	mustContain(t, "filtered runs", body, `<option value="qa" selected>`, `<option value="held" selected>`, "3 runs")
	if status, _ := get(t, ts, "/?verdict=maybe"); status != http.StatusBadRequest {
		t.Errorf("verdict=maybe: status %d, want 400", status)
	}
}

func TestRunPage(t *testing.T) {
	_, ts := newTestServer(t, Options{}, fixtureRuns(t))
	status, body := get(t, ts, "/runs/r3")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	mustContain(t, "run r3", body,
		"<h1>Run r3</h1>",
		"73.3%",                                          // 88 of 120 pass
		"65.3–81.3%",                                     // its interval
		"<code>pass_rate &gt;= 0.5</code>", "&#43;0.233", // the gate and its margin
		`<section id="run-gates">`, "<code>judge.fact.kappa &gt;= 0.6</code>", // a judge's gate, on no target
		`href="/runs/r3/cases?criterion=fact"`,                          // a criterion's failed cases
		`href="/runs/r3/cases?slice=topic%3Dbilling&amp;status=failed"`, // a slice's failed cases
		`href="/runs/r3/cases?error=timeout"`,                           // the errors by kind
		"pass@k", "Flaky: 2 cases", "c001, c003",                        // repeats and flaky cases
		"Classification: tone", "macro F1 0.5", // classification metrics
		`href="/compare?a=r3&amp;b=r2"`, // the run before it
		`href="/trend?suite=qa"`)
	if status, body := get(t, ts, "/runs/nope"); status != http.StatusNotFound || !strings.Contains(body, "no run nope") {
		t.Errorf("an unknown run: status %d, %s", status, body)
	}
}

func TestCasesPage(t *testing.T) {
	_, ts := newTestServer(t, Options{}, fixtureRuns(t))
	for _, tc := range []struct {
		name, path string
		count      string // the count line
		first      string // the first case listed
		n          int    // the cases listed
	}{
		{"first page", "/runs/r3/cases", "120 of 120 results; 1–50 shown", "c000", 50},
		{"last page", "/runs/r3/cases?page=3", "120 of 120 results; 101–120 shown", "c100", 20},
		{"failed", "/runs/r3/cases?status=failed", "30 of 120 results", "c090", 30},
		{"failed of a slice", "/runs/r3/cases?status=failed&slice=topic%3Dbilling", "15 of 120 results", "c090", 15},
		{"a metadata slice", "/runs/r3/cases?slice=lang%3Dde", "60 of 120 results", "c001", 50},
		{"a criterion", "/runs/r3/cases?criterion=fact", "30 of 120 results", "c090", 30},
		{"an error kind", "/runs/r3/cases?error=timeout", "2 of 120 results", "c005", 2},
		{"an id, any case", "/runs/r3/cases?q=C11&in=id", "10 of 120 results", "c110", 10},
		{"an id by regex", "/runs/r3/cases?q=%5Ec0%5B0-1%5D5%24&re=1&in=id", "2 of 120 results", "c005", 2},
		{"outputs", "/runs/r3/cases?q=NOT+SURE", "30 matches, searched to the end", "c090", 30},
		{"outputs by regex", "/runs/r3/cases?q=question+%5B0-9%5D%2C&re=1", "8 matches, searched to the end", "c000", 8},
		{"no such slice", "/runs/r3/cases?slice=topic%3Dnope", "0 of 120 results", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, ts, tc.path)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			mustContain(t, tc.path, body, tc.count)
			ids := rows(body, "case", "data-case")
			if len(ids) != tc.n || (tc.n > 0 && ids[0] != tc.first) {
				t.Errorf("%d cases from %v, want %d from %s", len(ids), ids[:min(3, len(ids))], tc.n, tc.first)
			}
		})
	}
	// The filters' state is kept in the pager's links and shown in the form.
	_, body := get(t, ts, "/runs/r1/cases?status=failed&slice=topic%3Dbilling")
	mustContain(t, "filtered", body, `<option value="failed" selected>`, `<option value="topic=billing" selected>`)
	_, body = get(t, ts, "/runs/r1/cases?status=failed")
	mustContain(t, "paged", body, `href="/runs/r1/cases?page=2&amp;status=failed"`)
	for _, bad := range []string{"/runs/r3/cases?q=%5B&re=1", "/runs/r3/cases?page=0", "/runs/r3/cases?page=x"} {
		if status, body := get(t, ts, bad); status != http.StatusBadRequest || !strings.Contains(body, `class="error"`) {
			t.Errorf("%s: status %d, want 400 with the error", bad, status)
		}
	}
	if status, _ := get(t, ts, "/runs/nope/cases"); status != http.StatusNotFound {
		t.Errorf("an unknown run's cases: status %d", status)
	}
}

// TestOutputSearchIsBounded: a search of outputs that reaches its bound
// stops, says how far it searched, and goes on from there.
func TestOutputSearchIsBounded(t *testing.T) {
	x := buildIndex(t, 300)
	reads := 0
	read := func(off int64, n int) ([]byte, error) {
		reads++
		return []byte(`{"output":"x"}`), nil
	}
	defer func(n int) { maxOutputReads = n }(maxOutputReads)
	maxOutputReads = 100
	p, err := x.page("r", caseQuery{Q: "zzz", Page: 1}, read)
	if err != nil {
		t.Fatal(err)
	}
	if reads != 100 || !p.Partial || p.Next != 100 || p.Searched != 100 || len(p.Cases) != 0 {
		t.Fatalf("reads %d, page %+v: want 100 reads, then a stop at 100", reads, p)
	}
	p, err = x.page("r", caseQuery{Q: "zzz", Page: 1, From: 250}, read)
	if err != nil || p.Partial || p.Next != -1 || p.Searched != 50 {
		t.Fatalf("from 250: %+v, %v; want the 50 left, searched to the end", p, err)
	}
}

func TestCasePage(t *testing.T) {
	_, ts := newTestServer(t, Options{}, fixtureRuns(t))
	status, body := get(t, ts, query("/runs/r3/case", "target", "small", "id", "c095"))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	mustContain(t, "case c095", body,
		`<span id="case-id">c095</span>`,
		"I am not sure about question 95.",          // the output
		`http://127.0.0.1:1/v1/chat/completions`,    // the request
		`&#34;content&#34;: &#34;question 95?&#34;`, // its exact body
		"Be brief.", // the prompt as sent
		"expected it to contain &#34;prorated&#34;", // the criterion's reason
		"judge-1", "good", // the judge's vote
		"120 ms", "10 in, 5 out, 15 total", "<dt>Attempts</dt><dd>1</dd>",
		`name="csrf"`, `value="accept"`)
	status, body = get(t, ts, query("/runs/r3/case", "target", "small", "id", "c005"))
	if status != http.StatusOK || !strings.Contains(body, "Error (timeout): the request took longer than 30s") {
		t.Errorf("an errored case: status %d", status)
	}
	for _, p := range []string{query("/runs/r3/case", "target", "small", "id", "nope"), query("/runs/r3/case", "target", "big", "id", "c001"), "/runs/zz/case?id=c001"} {
		if status, _ := get(t, ts, p); status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, status)
		}
	}
}

func TestComparePage(t *testing.T) {
	_, ts := newTestServer(t, Options{}, fixtureRuns(t))
	// r3 against r2: cases 90..99 regressed (passed in r2), 5 and 7 errored.
	status, body := get(t, ts, "/compare?a=r3&b=r2")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	regs := body[strings.Index(body, "Regressions:"):strings.Index(body, "Fixes:")]
	if !strings.Contains(regs, "Regressions: 12") || !strings.Contains(regs, ">c005</a>") || !strings.Contains(regs, ">c099</a>") {
		t.Errorf("regressions: %s", regs)
	}
	mustContain(t, "compare", body, "120 cases matched", "-10.0 pp", "McNemar p = <b class=\"mcnemar\">0.000488</b>", "Fixes: 0",
		`href="/compare/case?a=r3&amp;against=small&amp;b=r2&amp;id=c090&amp;repeat=0&amp;target=small"`)
	// Without b, the run before a of its suite.
	if _, body := get(t, ts, "/compare?a=r3"); !strings.Contains(body, "against <a href=\"/runs/r2\">r2</a>") {
		t.Error("compare without b: not against the run before")
	}
	// Side by side.
	status, body = get(t, ts, query("/compare/case", "a", "r3", "b", "r2", "target", "small", "id", "c095"))
	if status != http.StatusOK {
		t.Fatalf("side by side: %d", status)
	}
	mustContain(t, "side by side", body, "I am not sure about question 95.", "The answer to question 95, prorated.")
	for _, p := range []string{"/compare?a=r3&b=nope", "/compare?a=nope"} {
		if status, _ := get(t, ts, p); status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, status)
		}
	}
	if status, _ := get(t, ts, "/compare?a=r3&b=r2&target=big"); status != http.StatusBadRequest {
		t.Errorf("an unknown target: status %d, want 400", status)
	}
	if status, body := get(t, ts, "/compare"); status != http.StatusOK || !strings.Contains(body, `id="compare-form"`) {
		t.Errorf("compare without runs: %d, want the form", status)
	}
}

func TestTrendPage(t *testing.T) {
	_, ts := newTestServer(t, Options{}, fixtureRuns(t))
	status, body := get(t, ts, "/trend?suite=qa")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	for _, m := range []string{"pass_rate", "mean"} {
		mustContain(t, "trend", body, `<figure class="chart" data-metric="`+m+`" data-target="small">`)
	}
	if n := strings.Count(body, "<circle"); n != 6 {
		t.Errorf("%d points, want 3 runs × 2 metrics", n)
	}
	// r2 against r1: 40 fixes, no regression: significant, up.
	mustContain(t, "trend", body, `<g class="point up">`, "significant (p=")
	status, body = get(t, ts, "/trend?suite=qa&metric=latency.p95&metric=pass_rat")
	if status != http.StatusBadRequest || !strings.Contains(body, `metric &#34;pass_rat&#34;: unknown metric`) {
		t.Errorf("an unknown metric: status %d", status)
	}
	if _, body := get(t, ts, "/trend"); !strings.Contains(body, "Choose a suite") {
		t.Error("trend without a suite: no choice")
	}
}

func TestNotFoundAndStatic(t *testing.T) {
	_, ts := newTestServer(t, Options{}, fixtureRuns(t))
	if status, _ := get(t, ts, "/nope"); status != http.StatusNotFound {
		t.Errorf("/nope: %d", status)
	}
	for _, p := range []string{"/static/style.css", "/static/app.js"} {
		resp, err := ts.Client().Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	_, ts := newTestServer(t, Options{}, fixtureRuns(t))
	for _, p := range []string{"/", "/runs/r1", "/runs/r1/cases", "/static/style.css", "/nope", "/runs/nope"} {
		resp, err := ts.Client().Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "img-src 'self' data:", "object-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows inline code", p, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no X-Content-Type-Options: nosniff", p)
		}
	}
	// No inline script, no handler attribute, no remote asset in any page.
	for _, p := range []string{"/", "/runs/r3", "/runs/r3/cases", query("/runs/r3/case", "target", "small", "id", "c001"), "/compare?a=r3&b=r2", "/trend?suite=qa"} {
		_, body := get(t, ts, p)
		if m := regexp.MustCompile(`<script>|<script [^>]*>[^<]|\son[a-z]+=|(src|href)="(https?:)?//`).FindString(body); m != "" {
			t.Errorf("%s: %q", p, m)
		}
	}
}

func TestHosts(t *testing.T) {
	_, ts := newTestServer(t, Options{Hosts: []string{"127.0.0.1:1234"}}, fixtureRuns(t))
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.Host = "evil.example:1234"
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("another host: %d, want 421", resp.StatusCode)
	}
	req.Host = "127.0.0.1:1234"
	resp, err = ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("its own host: %d", resp.StatusCode)
	}
}

func TestToken(t *testing.T) {
	_, ts := newTestServer(t, Options{Token: "s3cret"}, fixtureRuns(t))
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	status := func(p string, cookie string) (int, *http.Response) {
		req, _ := http.NewRequest("GET", ts.URL+p, nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: tokenCookie, Value: cookie})
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp
	}
	for _, p := range []string{"/", "/runs/r1", "/static/app.js", "/nope"} {
		if s, _ := status(p, ""); s != http.StatusUnauthorized {
			t.Errorf("%s without the token: %d, want 401", p, s)
		}
		if s, _ := status(p, "wrong"); s != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d, want 401", p, s)
		}
	}
	if s, _ := status("/?token=wrong", ""); s != http.StatusUnauthorized {
		t.Errorf("a link with a wrong token: %d", s)
	}
	s, resp := status("/runs/r1?token=s3cret&x=1", "")
	if s != http.StatusSeeOther || resp.Header.Get("Location") != "/runs/r1?x=1" {
		t.Fatalf("the link: %d to %q, want a redirect to the page without the token", s, resp.Header.Get("Location"))
	}
	var got *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == tokenCookie {
			got = ck
		}
	}
	if got == nil || got.Value != "s3cret" || !got.HttpOnly || got.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", got)
	}
	if s, _ := status("/runs/r1", "s3cret"); s != http.StatusOK {
		t.Errorf("with the cookie: %d", s)
	}
}

func TestReview(t *testing.T) {
	dirs := fixtureRuns(t)
	s, ts := newTestServer(t, Options{}, dirs)
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	post := func(form url.Values, header ...string) *http.Response {
		req, _ := http.NewRequest("POST", ts.URL+"/runs/r3/review", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	form := url.Values{"csrf": {s.csrf}, "target": {"small"}, "id": {"c095"}, "repeat": {"0"}, "verdict": {"accept"},
		"corrected": {`{"answer": "prorated"}`}, "comment": {"fixed the answer"}}
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		header []string
		want   int
	}{
		{"no csrf token", func(f url.Values) { f.Del("csrf") }, nil, http.StatusForbidden},
		{"a wrong csrf token", func(f url.Values) { f.Set("csrf", "x") }, nil, http.StatusForbidden},
		{"from another site", nil, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"from another origin", nil, []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"a bad verdict", func(f url.Values) { f.Set("verdict", "maybe") }, nil, http.StatusBadRequest},
		{"reject with an answer", func(f url.Values) { f.Set("verdict", "reject") }, nil, http.StatusBadRequest},
		{"no such case", func(f url.Values) { f.Set("id", "nope") }, nil, http.StatusNotFound},
		{"no such repeat", func(f url.Values) { f.Set("repeat", "3") }, nil, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if tc.change != nil {
				tc.change(f)
			}
			if resp := post(f, tc.header...); resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dirs["r3"], rundir.ReviewsFile)); err == nil {
		t.Fatal("a refused review was written")
	}
	resp := post(form, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/runs/r3/case?id=c095&target=small#review" {
		t.Fatalf("status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	got, err := rundir.ReadReviews(dirs["r3"])
	if err != nil {
		t.Fatal(err)
	}
	rv := got[rundir.ReviewKey{CaseID: "c095", Target: "small"}]
	if len(got) != 1 || rv.Verdict != "accept" || rv.Corrected != `{"answer": "prorated"}` || rv.Comment != "fixed the answer" {
		t.Fatalf("reviews %+v", got)
	}
	_, body := get(t, ts, query("/runs/r3/case", "target", "small", "id", "c095"))
	mustContain(t, "the reviewed case", body, `<span class="saved" data-verdict="accept">`, `value="accept" checked`, "fixed the answer")
}

// TestFolderRunStillGoing: a run folder with no report yet is listed as
// incomplete, and its cases are served from its journal as it grows.
func TestFolderRunStillGoing(t *testing.T) {
	root := t.TempDir()
	dir := writeRun(t, root, "live", day0, mkResults("live", 10, passFirst(5)), nil)
	_, ts := newTestServer(t, Options{Runs: []string{dir}}, nil)
	_, body := get(t, ts, "/")
	mustContain(t, "runs", body, `data-run="live"`, `v-incomplete`)
	_, body = get(t, ts, "/runs/live")
	mustContain(t, "the run", body, "10 results recorded so far")
	_, body = get(t, ts, "/runs/live/cases")
	mustContain(t, "its cases", body, "10 of 10 results")
	j, err := rundir.AppendJournal(filepath.Join(dir, rundir.ResultsFile), fileSize(t, filepath.Join(dir, rundir.ResultsFile)))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mkResults("live", 12, passFirst(5))[10:] {
		j.Write(r)
	}
	j.Close()
	_, body = get(t, ts, "/runs/live/cases")
	mustContain(t, "its cases, later", body, "12 of 12 results")
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n != entrySize {
		t.Errorf("an entry takes %d bytes; entrySize says %d", n, entrySize)
	}
}
