package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startView runs rubric view in-process, never opening a browser, and
// returns the URL it printed and a function that stops it and returns its
// exit code and stderr.
func startView(t *testing.T, args ...string) (url string, stop func() (int, string)) {
	t.Helper()
	openBrowser = func(string) error { t.Error("rubric view opened a browser"); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"rubric", "view"}, args...), pw, &stderr)
		pw.Close()
		done <- code
	}()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, pr)
	}()
	select {
	case url = <-lines:
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("rubric view printed no URL; stderr: %s", stderr.String())
	}
	if url == "" {
		cancel()
		code := <-done
		t.Fatalf("rubric view exited with %d before serving: %s", code, stderr.String())
	}
	stopped := false
	stop = func() (int, string) {
		if !stopped {
			stopped = true
			cancel()
		}
		select {
		case code := <-done:
			return code, stderr.String()
		case <-time.After(10 * time.Second):
			t.Fatal("rubric view did not stop")
			return 0, ""
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return url, stop
}

// triageRuns runs examples/triage with both of its recorded targets into
// a runs folder, recording them in a history of the test's own, and
// returns the folder.
func triageRuns(t *testing.T) string {
	t.Helper()
	t.Setenv("RUBRIC_HISTORY", filepath.Join(t.TempDir(), "history.db"))
	out := t.TempDir()
	for _, target := range []string{"triage-v1", "triage-v2"} {
		if code, _, stderr := runInProcess(t, "run", "--out", out, "--target", target, "../../examples/triage/suite.json"); code > 1 {
			t.Fatalf("run %s: exit %d: %s", target, code, stderr)
		}
	}
	return out
}

// triageRun returns the folder of the run of target under out.
func triageRun(t *testing.T, out, target string) string {
	t.Helper()
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if b, _ := os.ReadFile(filepath.Join(out, e.Name(), "report.json")); strings.Contains(string(b), `"name": "`+target+`"`) {
			return filepath.Join(out, e.Name())
		}
	}
	t.Fatalf("no run of %s in %s", target, out)
	return ""
}

func httpGet(t *testing.T, c *http.Client, url string, host ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(host) > 0 {
		req.Host = host[0]
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestView(t *testing.T) {
	out := triageRuns(t)
	url, stop := startView(t, "--no-open", "--out", out)
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/") {
		t.Fatalf("URL %q: want one on 127.0.0.1", url)
	}
	entries, _ := os.ReadDir(out)
	status, body := httpGet(t, http.DefaultClient, url)
	if status != http.StatusOK || strings.Count(body, `<tr class="run"`) != 2 {
		t.Fatalf("runs page: %d\n%s", status, body)
	}
	for _, e := range entries {
		if !strings.Contains(body, `data-run="`+e.Name()+`"`) {
			t.Errorf("run %s not listed", e.Name())
		}
	}
	status, body = httpGet(t, http.DefaultClient, url+"runs/"+entries[0].Name()+"/cases?status=failed")
	if status != http.StatusOK || !strings.Contains(body, `<tr class="case st-failed"`) {
		t.Errorf("failed cases: %d", status)
	}
	// Another host name pointing at 127.0.0.1 (DNS rebinding) is refused.
	if status, _ := httpGet(t, http.DefaultClient, url, "rebind.example:80"); status != http.StatusMisdirectedRequest {
		t.Errorf("another Host: %d, want 421", status)
	}
	code, stderr := stop()
	if code != exitOK || !strings.Contains(stderr, "history.db and 2 run folders") || !strings.Contains(stderr, "rubric: view: stopped") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestViewRunArgs: runs named on the command line, by id and by folder,
// are the ones shown.
func TestViewRunArgs(t *testing.T) {
	out := triageRuns(t)
	t.Setenv("RUBRIC_HISTORY", filepath.Join(t.TempDir(), "none.db")) // no history: only the runs given
	entries, _ := os.ReadDir(out)
	url, _ := startView(t, "--no-open", "--out", out, entries[1].Name())
	_, body := httpGet(t, http.DefaultClient, url)
	if strings.Count(body, `<tr class="run"`) != 1 || !strings.Contains(body, `data-run="`+entries[1].Name()+`"`) {
		t.Errorf("runs page:\n%s", body)
	}
	url, _ = startView(t, "--no-open", filepath.Join(out, entries[0].Name()))
	if _, body := httpGet(t, http.DefaultClient, url); !strings.Contains(body, `data-run="`+entries[0].Name()+`"`) {
		t.Errorf("by folder:\n%s", body)
	}
}

// TestViewHistory: the history's runs are shown without their folders
// being named, a moved folder as missing; a run named SUITE@~1 is found
// through the history.
func TestViewHistory(t *testing.T) {
	out := triageRuns(t)
	url, _ := startView(t, "--no-open", "--out", t.TempDir())
	_, body := httpGet(t, http.DefaultClient, url)
	if n := strings.Count(body, `<tr class="run"`); n != 2 {
		t.Errorf("%d runs of the history shown, want 2", n)
	}
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(triageRun(t, out, "triage-v2"), moved); err != nil {
		t.Fatal(err)
	}
	if _, body := httpGet(t, http.DefaultClient, url); !strings.Contains(body, "folder missing") {
		t.Error("a moved run folder is not marked missing")
	}
	// The run before the latest of the suite.
	url, _ = startView(t, "--no-open", "--out", out, "support-triage@~1")
	if _, body := httpGet(t, http.DefaultClient, url); strings.Count(body, `<tr class="run"`) != 2 {
		t.Errorf("support-triage@~1:\n%s", body)
	}
}

// TestViewHostToken: a viewer bound with --host prints a token in its URL
// and refuses requests without it.
func TestViewHostToken(t *testing.T) {
	out := triageRuns(t)
	url, _ := startView(t, "--no-open", "--out", out, "--host", "127.0.0.1")
	base, token, ok := strings.Cut(url, "?token=")
	if !ok || len(token) != 32 {
		t.Fatalf("URL %q: want a token", url)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if status, _ := httpGet(t, c, base); status != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", status)
	}
	if status, _ := httpGet(t, c, url); status != http.StatusSeeOther {
		t.Errorf("with the token: %d, want a redirect that sets the cookie", status)
	}
}

func TestViewErrors(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"view", "--no-open", "--out", out, "nope"}, "view: nope is not a run"},
		{[]string{"view", "--no-open", "--port", "70000"}, "view: --port 70000: expected a port from 1 to 65535"},
	} {
		code, _, stderr := runInProcess(t, tc.args...)
		if code != exitBadInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestViewReviewRoundTrip: a verdict given in the viewer reaches the review
// sheet of rubric export, and import-review turns it into a case.
func TestViewReviewRoundTrip(t *testing.T) {
	out := triageRuns(t)
	url, _ := startView(t, "--no-open", "--out", out)
	// The run of triage-v2 fails T-1030 on its priority.
	run := filepath.Base(triageRun(t, out, "triage-v2"))
	status, page := httpGet(t, http.DefaultClient, url+"runs/"+run+"/case?target=triage-v2&id=T-1030")
	if status != http.StatusOK {
		t.Fatalf("case page: %d", status)
	}
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no csrf token in the review form")
	}
	corrected := `{"category": "technical", "priority": "urgent", "reply": "Sorry: we are on it."}`
	form := neturl.Values{"csrf": {m[1]}, "target": {"triage-v2"}, "id": {"T-1030"}, "repeat": {"0"}, "verdict": {"accept"}, "corrected": {corrected}}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(url+"runs/"+run+"/review", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("review: %d", resp.StatusCode)
	}
	sheet := filepath.Join(t.TempDir(), "review.csv")
	if code, _, stderr := runInProcess(t, "export", "--out", out, run, "--format", "review-csv", "--failed", "-o", sheet); code != exitOK {
		t.Fatalf("export: %d %s", code, stderr)
	}
	b, _ := os.ReadFile(sheet)
	if !strings.Contains(string(b), `,accept,"{""category"": ""technical""`) {
		t.Errorf("the sheet lacks the review:\n%s", b)
	}
	dataset := filepath.Join(t.TempDir(), "reviewed.jsonl")
	code, _, stderr := runInProcess(t, "import-review", sheet, "-o", dataset)
	if code != exitOK || !strings.Contains(stderr, "1 of 2 rows written as cases (1 with a corrected answer)") {
		t.Fatalf("import-review: %d %s", code, stderr)
	}
	cases := readJSONL(t, dataset)
	if len(cases) != 1 || cases[0]["id"] != "T-1030" || cases[0]["expected"].(map[string]any)["priority"] != "urgent" {
		t.Errorf("dataset %v", cases)
	}
}
