package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// What a queued run cannot do is refused before anything is read or sent,
// with no database needed.
func TestQueueRefuses(t *testing.T) {
	const url = "postgres://rubric:s3cret@127.0.0.1:1/db"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--queue", "mysql://x"}, "--queue takes a PostgreSQL URL"},
		{[]string{"--queue", url, "--max-cost", "1"}, "--max-cost cannot be used with --queue"},
		{[]string{"--queue", url, "--max-duration", "1m"}, "--max-duration cannot be used with --queue"},
		{[]string{"--queue", url, "--detach"}, "--detach cannot be used with --queue"},
		{[]string{"--queue", url, "--no-batch"}, "--no-batch cannot be used with --queue"},
		{[]string{"--queue", url, "--training-manifest", "m.jsonl", "--allow-leaks"}, "--allow-leaks cannot be used with --queue"},
		{[]string{"--queue", url, "--set", "triage-v2.api_key=sk-123"}, "holds a secret"},
	} {
		code, _, stderr := runInProcess(t, append([]string{"run", filepath.Join(repoRoot(t), "examples/triage/suite.json"), "--no-history", "--out", t.TempDir()}, tc.args...)...)
		if code != exitBadInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: want exit 2 and %q; got %d:\n%s", tc.args, tc.want, code, stderr)
		}
		if strings.Contains(stderr, "s3cret") || strings.Contains(stderr, "sk-123") {
			t.Errorf("%v: a secret on stderr:\n%s", tc.args, stderr)
		}
	}
}
