package view

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/rubric-eval/rubric/runner/rundir"
)

// The browser tests drive headless Chromium (Debian's chromium, which
// .ci/run installs) with chromedp through the pages as a person would, and
// check the DOM at each step. Without chromium they skip, loudly; in CI
// (CI=1 or RUBRIC_CI=1) they fail instead.

// chromiumPath finds the browser, or skips the test (fails it in CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RUBRIC_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH (or RUBRIC_CHROMIUM): the browser tests of rubric view did not run; install it with: apt-get install -y chromium"
	if os.Getenv("CI") == "1" || os.Getenv("CI") == "true" || os.Getenv("RUBRIC_CI") == "1" {
		t.Fatal(msg)
	}
	fmt.Fprintf(os.Stderr, "\n!!! SKIPPED %s: %s\n\n", t.Name(), msg)
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless browser and returns its context. A
// JavaScript dialog (an alert that hostile text would open) fails the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	dialogs := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			t.Errorf("a JavaScript dialog opened: %s %q", ev.Type, ev.Message)
			chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return ctx
}

// shot saves a screenshot of the page under the test's temporary folder.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// do runs the steps of one part of a test.
func do(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// nav runs steps that load a page (a click on a link, a form submitted)
// and waits until it has loaded.
func nav(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	nctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(nctx, steps...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != 200 {
		t.Fatalf("%s: %s: HTTP %d", what, resp.URL, resp.Status)
	}
}

// read returns what an action reads from the page.
func read[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func TestBrowser(t *testing.T) {
	ctx := newBrowser(t)
	dirs := fixtureRuns(t)
	_, ts := newTestServer(t, Options{}, dirs)
	shots := t.TempDir()
	t.Logf("screenshots in %s", shots)
	count := func(sel string) int {
		return read(t, ctx, "count "+sel, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
	}
	text := func(sel string) string { return read(t, ctx, "text of "+sel, chromedp.Text(sel)) }

	// The runs, newest first.
	do(t, ctx, "runs page", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible("#runs"))
	shot(t, ctx, shots, "1-runs")
	if n := count("tr.run"); n != 4 {
		t.Errorf("runs page: %d runs, want 4", n)
	}
	// A run.
	nav(t, ctx, "a run", chromedp.Click(`tr[data-run="r3"] a`))
	shot(t, ctx, shots, "2-run")
	if v := text("#gate-verdict"); v != "held" {
		t.Errorf("run r3: gate %q", v)
	}
	// Its failed cases of one slice: each list submits the filter when it
	// changes (the page's script, which the CSP allows).
	nav(t, ctx, "all cases", chromedp.Click("#all-cases"))
	nav(t, ctx, "the status list submits", chromedp.SetValue("#f-status", "failed"))
	nav(t, ctx, "the slice list submits", chromedp.SetValue("#f-slice", "topic=billing"))
	shot(t, ctx, shots, "3-cases")
	if c := text("#case-count"); !strings.Contains(c, "15 of 120 results") {
		t.Errorf("failed cases of topic=billing: %q", c)
	}
	if ok := read(t, ctx, "rows", chromedp.Evaluate[bool](`Array.from(document.querySelectorAll("tr.case")).every(r => r.classList.contains("st-failed") && r.textContent.includes("topic=billing"))`)); !ok || count("tr.case") != 15 {
		t.Errorf("failed cases of topic=billing: %d rows, all failed of the slice: %v", count("tr.case"), ok)
	}
	if u, _ := url.Parse(read(t, ctx, "location", chromedp.Location())); u.RawQuery != "status=failed&slice=topic%3Dbilling" {
		t.Errorf("the filter's URL %s: want its state, without the empty fields", u)
	}
	// A case.
	nav(t, ctx, "a case", chromedp.Click(`tr.case a`))
	shot(t, ctx, shots, "4-case")
	if id, out := text("#case-id"), text("#output-0"); id != "c090" || out != "I am not sure about question 90." {
		t.Errorf("case page: %q, output %q", id, out)
	}
	// Review it.
	do(t, ctx, "a review", chromedp.Click(`#review input[name=verdict][value=reject]`),
		chromedp.SendKeys(`#review input[name=comment]`, "not a real question"))
	nav(t, ctx, "the review is saved", chromedp.Submit(`#review`))
	shot(t, ctx, shots, "5-review")
	if v := read(t, ctx, "the verdict shown", chromedp.AttributeValue(`#review .saved`, "data-verdict")); v.Value != "reject" {
		t.Errorf("after the review: verdict %+v", v)
	}
	reviews, err := rundir.ReadReviews(dirs["r3"])
	if rv := reviews[rundir.ReviewKey{CaseID: "c090", Target: "small"}]; err != nil || rv.Verdict != "reject" || rv.Comment != "not a real question" {
		t.Errorf("reviews.jsonl: %+v, %v", reviews, err)
	}
	// The comparison with the run before.
	do(t, ctx, "the run again", chromedp.Navigate(ts.URL+"/runs/r3"))
	nav(t, ctx, "compare", chromedp.Click("#compare-previous"))
	shot(t, ctx, shots, "6-compare")
	if n, p := count("ul.regressions li"), text(".mcnemar"); n != 12 || p != "0.000488" {
		t.Errorf("compare: %d regressions, McNemar %q", n, p)
	}
	// The suite's trend.
	do(t, ctx, "the run again", chromedp.Navigate(ts.URL+"/runs/r3"))
	nav(t, ctx, "trend", chromedp.Click("#suite-trend"))
	shot(t, ctx, shots, "7-trend")
	if c, p := count("figure.chart"), count("figure.chart circle"); c != 2 || p != 6 {
		t.Errorf("trend: %d charts, %d points; want 2 charts of 3 points", c, p)
	}
}

// TestBrowserXSS: hostile text in outputs, case ids, reasons and names is
// shown as text: no dialog opens, no element comes of it.
func TestBrowserXSS(t *testing.T) {
	ctx := newBrowser(t)
	dirs := hostileRuns(t)
	_, ts := newTestServer(t, Options{Runs: []string{dirs["h1"], dirs["h2"]}}, nil)
	shots := t.TempDir()
	live := `document.querySelectorAll("img, iframe, object, embed, [onerror], [onload], [onclick], a[href^='javascript' i]").length + document.querySelectorAll("script").length - 1`
	for i, id := range []string{xssScript, xssImg, xssJSLink} {
		do(t, ctx, "hostile case "+id,
			chromedp.Navigate(ts.URL+"/runs/h2/case?"+url.Values{"target": {xssTarget}, "id": {id}}.Encode()), chromedp.WaitVisible("#case-id"))
		shot(t, ctx, shots, fmt.Sprintf("xss-%d", i))
		if n := read(t, ctx, "live elements", chromedp.Evaluate[int](live)); n != 0 {
			t.Errorf("case %q: %d live elements made of the hostile text", id, n)
		}
		if out := read(t, ctx, "output", chromedp.Text("#output-0")); out != xssAll {
			t.Errorf("case %q: output %q, want the text as it is", id, out)
		}
	}
	for _, p := range []string{"/", "/runs/h2", "/runs/h2/cases", "/compare?a=h2&b=h1", "/trend?" + url.Values{"suite": {xssSuite}}.Encode()} {
		do(t, ctx, p, chromedp.Navigate(ts.URL+p), chromedp.WaitReady("main"))
		if n := read(t, ctx, "live elements", chromedp.Evaluate[int](live)); n != 0 {
			t.Errorf("%s: %d live elements made of the hostile text", p, n)
		}
	}
}
