package view

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/rubric-eval/rubric/evals"
)

// Hostile text, as a model's output or a dataset may hold it.
const (
	xssScript  = `<script>alert(1)</script>`
	xssImg     = `"><img src=x onerror=alert(1)>`
	xssJSLink  = `javascript:alert(1)`
	xssAll     = xssScript + " " + xssImg + " " + xssJSLink
	xssSuite   = `qa` + xssImg
	xssTarget  = `t` + xssScript
	xssCaseIDs = 3
)

// hostileRuns writes two runs of a suite whose name, target, case ids,
// outputs, reasons, tags, metadata, transcript and tool calls hold hostile
// text, and returns their folders.
func hostileRuns(t testing.TB) map[string]string {
	t.Helper()
	root := t.TempDir()
	dirs := map[string]string{}
	ids := []string{xssScript, xssImg, xssJSLink}
	for day, id := range []string{"h1", "h2"} {
		var results []*evals.Result
		for i, cid := range ids {
			status := evals.StatusFailed
			if day == 0 && i == 0 {
				status = evals.StatusPassed
			}
			score := 0.0
			r := &evals.Result{RunID: id, CaseID: cid, Target: xssTarget, Output: xssAll, Status: status, Score: &score,
				Tags: []string{"topic=" + xssScript, xssImg}, Metadata: map[string]any{"lang": xssJSLink}, Expected: xssAll,
				Vars:    map[string]any{"q": xssImg},
				Request: &evals.SentRequest{URL: xssJSLink, Body: []byte(`{"messages":[{"role":"user","content":"` + strings.ReplaceAll(xssAll, `"`, `\"`) + `"}]}`)},
				Scores: []evals.Score{{Name: "fact" + xssScript, Type: "contains", Reason: xssAll, Label: &evals.Label{Expected: xssImg, Predicted: xssJSLink},
					Judge: &evals.Judgement{Verdict: xssScript, Votes: []evals.JudgeVote{{Target: xssImg, Model: xssJSLink, Verdict: xssScript, Error: xssImg}}}}},
				Transcript: []evals.Message{{Role: "user", Content: xssAll},
					{Role: "assistant", ToolCalls: []evals.ToolCall{{ID: xssImg, Name: xssScript, Arguments: []byte(`"` + strings.ReplaceAll(xssAll, `"`, `\"`) + `"`)}}},
					{Role: "tool", ToolCallID: xssImg, Name: xssScript, Content: xssAll, Error: xssImg}},
				Error: &evals.ResultError{Kind: xssScript, Message: xssAll}}
			results = append(results, r)
		}
		started := day0.Add(time.Duration(day) * time.Hour)
		sum := summarize(id, xssSuite, started, results)
		sum.Targets[0].Name, sum.Targets[0].Model = xssTarget, xssJSLink
		sum.Targets[0].Criteria[0].Name = "fact" + xssScript
		sum.Targets[0].Repeats.FlakyCases = ids
		sum.Targets[0].Errors = map[string]int{xssScript: 1}
		sum.Gate.Results[0].Expr, sum.Gate.Results[0].Message, sum.Gate.Results[0].Target = xssAll, xssAll, xssTarget
		sum.Gate.Note = xssImg
		dirs[id] = writeRun(t, root, id, started, results, sum)
	}
	return dirs
}

// liveMarkup parses a page as a browser would and returns what in it would
// run: a script element other than the page's own script file, an img
// element (the pages have none), an event handler attribute, a link, source
// or form action to a javascript: URL. Text that only looks like markup is
// a text token, and fine.
func liveMarkup(body string) []string {
	var found []string
	z := html.NewTokenizer(strings.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return found
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "img", "iframe", "object", "embed":
				found = append(found, tok.String())
			case "script":
				if len(tok.Attr) != 2 || tok.Attr[0].Key != "src" || tok.Attr[0].Val != "/static/app.js" {
					found = append(found, tok.String())
				}
				if z.Next() == html.TextToken && strings.TrimSpace(string(z.Text())) != "" {
					found = append(found, "inline script: "+string(z.Text()))
				}
			}
			for _, a := range tok.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				switch {
				case strings.HasPrefix(a.Key, "on"):
					found = append(found, tok.String())
				case (a.Key == "href" || a.Key == "src" || a.Key == "action" || a.Key == "formaction") && strings.HasPrefix(v, "javascript:"):
					found = append(found, tok.String())
				}
			}
		}
	}
}

// texts returns the text of a page, unescaped, as a browser shows it.
func texts(body string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			b.Write(z.Text())
			b.WriteByte('\n')
		}
	}
}

// TestXSS: hostile text in every field the viewer shows renders as inert
// text on every page.
func TestXSS(t *testing.T) {
	dirs := hostileRuns(t)
	_, ts := newTestServer(t, Options{Runs: []string{dirs["h1"], dirs["h2"]}}, nil)
	pages := []string{"/", "/?" + url.Values{"suite": {xssSuite}}.Encode(), "/runs/h2",
		"/runs/h2/cases", "/runs/h2/cases?" + url.Values{"q": {xssScript}}.Encode(), "/runs/h2/cases?" + url.Values{"slice": {"topic=" + xssScript}}.Encode(),
		"/runs/h2/cases?" + url.Values{"q": {xssImg}, "re": {"1"}}.Encode(), // an invalid regex, shown in the error
		"/compare?a=h2&b=h1",
		"/trend?" + url.Values{"suite": {xssSuite}}.Encode(),
		"/trend?" + url.Values{"suite": {xssSuite}, "metric": {xssScript}}.Encode(),
		"/runs/" + url.PathEscape(xssScript), // not found: the error names it
	}
	for _, id := range []string{xssScript, xssImg, xssJSLink} {
		pages = append(pages, "/runs/h2/case?"+url.Values{"target": {xssTarget}, "id": {id}}.Encode(),
			"/compare/case?"+url.Values{"a": {"h2"}, "b": {"h1"}, "target": {xssTarget}, "id": {id}}.Encode())
	}
	for _, p := range pages {
		_, body := get(t, ts, p)
		if found := liveMarkup(body); len(found) > 0 {
			t.Errorf("%s: live markup %q", p, found)
		}
	}
	// The text is there to be read, as it was written.
	_, body := get(t, ts, "/runs/h2/case?"+url.Values{"target": {xssTarget}, "id": {xssJSLink}}.Encode())
	if !strings.Contains(texts(body), xssAll) {
		t.Errorf("the case page does not show the output as text")
	}
	// The transcript too: the user's turn, the tool call with its
	// arguments, the tool's result and its error.
	for _, want := range []string{`<li class="msg role-tool">`, `<div class="call">calls <b>&lt;script&gt;alert(1)&lt;/script&gt;</b>`,
		`answering &#34;&gt;&lt;img src=x onerror=alert(1)&gt;`, `<p class="error">&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</p>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the case page's transcript lacks %q", want)
		}
	}
	_, body = get(t, ts, "/runs/h2/cases")
	if n := strings.Count(body, `<tr class="case`); n != xssCaseIDs {
		t.Errorf("%d cases listed, want %d", n, xssCaseIDs)
	}
}
