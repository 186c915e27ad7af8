package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestResponseCache runs the same suite three times against a server that
// counts requests: the second run is served from the cache, with the original
// latency kept; --no-cache sends again; `rubric cache clear` empties it.
func TestResponseCache(t *testing.T) {
	t.Setenv("RUBRIC_DB", filepath.Join(t.TempDir(), "cache.db"))
	t.Setenv("RUBRIC_E2E_KEY", e2eKey)
	srv := newChatServer(t, rightAnswers)
	dir := t.TempDir()
	suite := writeOpenAISuite(t, dir, srv.URL, 5, 2, "pass_rate >= 1")
	out := filepath.Join(dir, "runs")

	// The summary says how many responses came from the cache, when any did.
	var stdout, id string
	cachedLines := func(what string, want ...string) {
		t.Helper()
		var got []string
		for _, l := range strings.Split(stdout, "\n") {
			if strings.HasPrefix(l, "cached ") {
				got = append(got, l)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the summary's cached lines are %q, want %q:\n%s", what, got, want, stdout)
		}
	}
	run := func(args ...string) []map[string]any {
		t.Helper()
		code, so, stderr := runInProcess(t, append([]string{"run", "--out", out, "--no-progress", suite}, args...)...)
		if code != exitOK {
			t.Fatalf("exit %d\n%s\n%s", code, so, stderr)
		}
		stdout, id = so, runIDs(t, stderr)[0]
		return readJSONL(t, filepath.Join(out, id, "results.jsonl"))
	}

	first := run()
	if n := len(srv.requests()); n != 5 {
		t.Fatalf("first run sent %d requests, want 5", n)
	}
	for _, r := range first {
		if r["cached"] == true {
			t.Errorf("first run: case %v marked cached", r["case_id"])
		}
	}
	cachedLines("first run")

	second := run()
	if n := len(srv.requests()); n != 5 {
		t.Errorf("second run sent %d more requests, want none", n-5)
	}
	cachedLines("second run", "cached local: 5 of 5 responses came from the response cache, none from the endpoint")
	if code, again, _ := runInProcess(t, "report", id, "--out", out); code != exitOK || again != stdout {
		t.Errorf("rubric report of the second run: exit %d\n%s\nwant the run's summary:\n%s", code, again, stdout)
	}
	for _, r := range second {
		if r["cached"] != true {
			t.Errorf("second run: case %v not served from the cache", r["case_id"])
		}
		if lat, _ := r["original_latency_ms"].(float64); lat <= 0 {
			t.Errorf("second run: case %v has no original latency: %v", r["case_id"], r["original_latency_ms"])
		}
		if r["status"] != "passed" || r["output"] == "" {
			t.Errorf("second run: case %v: %v %q", r["case_id"], r["status"], r["output"])
		}
	}

	run("--no-cache")
	if n := len(srv.requests()); n != 10 {
		t.Errorf("--no-cache sent %d requests, want 5", n-5)
	}
	cachedLines("--no-cache")

	// A different repeat index is a different cache entry.
	run("--repeat", "2")
	if n := len(srv.requests()); n != 15 {
		t.Errorf("--repeat 2 sent %d requests, want 5 (repeat 1 only)", n-10)
	}
	cachedLines("--repeat 2", "cached local: 5 of 10 responses came from the response cache")

	code, stdout, stderr := runInProcess(t, "cache", "info")
	if code != exitOK || !strings.Contains(stdout, "entries  10\n") {
		t.Errorf("cache info: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Every entry is a few seconds old: pruning those older than a day
	// keeps them; a bad age is a usage error.
	code, _, stderr = runInProcess(t, "cache", "clear", "--older-than", "1d")
	if code != exitOK || !strings.Contains(stderr, "deleted 0 cached responses older than 1d") {
		t.Errorf("cache clear --older-than 1d: exit %d\n%s", code, stderr)
	}
	for _, bad := range []string{"soon", "-3d", "1.5d", "-1h"} {
		code, _, stderr = runInProcess(t, "cache", "clear", "--older-than", bad)
		if code != exitBadInput || !strings.Contains(stderr, `--older-than "`+bad+`"`) {
			t.Errorf("cache clear --older-than %s: exit %d\n%s", bad, code, stderr)
		}
	}
	code, _, stderr = runInProcess(t, "cache", "clear", "--older-than", "0s")
	if code != exitOK || !strings.Contains(stderr, "deleted 10 cached responses older than 0s") {
		t.Errorf("cache clear --older-than 0s: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runInProcess(t, "cache", "clear")
	if code != exitOK || !strings.Contains(stderr, "deleted 0 cached responses") {
		t.Errorf("cache clear: exit %d\n%s", code, stderr)
	}
	run()
	if n := len(srv.requests()); n != 20 {
		t.Errorf("after cache clear the run sent %d requests, want 5", n-15)
	}
}

// TestResponseCacheUnusable: a cache that cannot be opened is a warning, and
// the run goes on without it.
func TestResponseCacheUnusable(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "not-a-db")
	if err := os.WriteFile(bad, []byte("this is not SQLite, just text that is long enough to look like a header"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUBRIC_DB", bad)
	t.Setenv("RUBRIC_E2E_KEY", e2eKey)
	srv := newChatServer(t, rightAnswers)
	suite := writeOpenAISuite(t, dir, srv.URL, 3, 1, "pass_rate >= 1")
	code, stdout, stderr := runInProcess(t, "run", "--out", filepath.Join(dir, "runs"), suite)
	if code != exitOK || !strings.Contains(stderr, "rubric: warning: running without the response cache: ") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := len(srv.requests()); n != 3 {
		t.Errorf("sent %d requests, want 3", n)
	}
}
