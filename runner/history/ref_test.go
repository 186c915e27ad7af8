package history

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Ref
		ok   bool
	}{
		{"triage@latest", Ref{"triage", 0}, true},
		{"triage@~0", Ref{"triage", 0}, true},
		{"triage@~1", Ref{"triage", 1}, true},
		{"triage@~12", Ref{"triage", 12}, true},
		{"team@corp@~2", Ref{"team@corp", 2}, true},
		{"triage v2@latest", Ref{"triage v2", 0}, true},
		{"latest", Ref{}, false},
		{"@latest", Ref{}, false},
		{"triage@", Ref{}, false},
		{"triage@~", Ref{}, false},
		{"triage@~-1", Ref{}, false},
		{"triage@~+1", Ref{}, false},
		{"triage@~01", Ref{}, false},
		{"triage@1", Ref{}, false},
		{"triage@newest", Ref{}, false},
		{"rubric-runs/20260101-120000-abcdef", Ref{}, false},
	} {
		got, ok := ParseRef(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok {
			if back, _ := ParseRef(got.String()); back != got {
				t.Errorf("%q: String() %q does not parse back", tc.in, got.String())
			}
		}
	}
}

func TestFind(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := Find(ctx, s, Ref{Suite: "triage"}); err == nil || err.Error() != "triage@latest: the history has no run yet" {
		t.Errorf("in an empty history: %v", err)
	}
	runs := []*Run{
		testRun(t, "t1", "triage", t0, "candidate"),
		testRun(t, "t2", "triage", t0.Add(time.Hour), "candidate"),
		testRun(t, "t3", "triage", t0.Add(2*time.Hour), "candidate"),
		testRun(t, "s1", "support", t0.Add(3*time.Hour), "candidate"),
	}
	for _, r := range runs {
		if err := s.Record(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	for ref, want := range map[Ref]string{{"triage", 0}: "t3", {"triage", 1}: "t2", {"triage", 2}: "t1", {"support", 0}: "s1"} {
		if r, err := Find(ctx, s, ref); err != nil || r.ID != want || r.Dir == "" {
			t.Errorf("Find(%s) = %+v, %v; want %s", ref, r, err, want)
		}
	}
	os.RemoveAll(runs[1].Dir)
	for ref, want := range map[Ref]string{
		{"triage", 3}: `triage@~3: suite "triage" has 3 runs in the history, from triage@latest to triage@~2 (run t1)`,
		{"nope", 0}:   `nope@latest: the history has no run of suite "nope"; it has runs of "support", "triage"`,
		{"triage", 1}: "triage@~1 is run t2, whose folder " + runs[1].Dir + " is gone (moved or deleted); see rubric history --suite triage, and rubric history --prune to forget such runs",
	} {
		if _, err := Find(ctx, s, ref); err == nil || err.Error() != want {
			t.Errorf("Find(%s): error\n %v\nwant\n %s", ref, err, want)
		}
	}
}

func TestGit(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	plain := t.TempDir()
	if c, b := Git(ctx, plain, getenv); c != "" || b != "" {
		t.Errorf("outside a repository, without CI: %q %q", c, b)
	}
	env["GITHUB_SHA"], env["GITHUB_REF_NAME"] = "feedface", "pr-7"
	if c, b := Git(ctx, plain, getenv); c != "feedface" || b != "pr-7" {
		t.Errorf("outside a repository, in CI: %q %q", c, b)
	}
	if c, b := Git(ctx, filepath.Join(plain, "gone"), getenv); c != "feedface" || b != "pr-7" {
		t.Errorf("a folder that does not exist, in CI: %q %q", c, b)
	}

	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "trunk")
	// A repository without a commit has none to record.
	if c, b := Git(ctx, repo, getenv); c != "feedface" || b != "pr-7" {
		t.Errorf("a repository without commits, in CI: %q %q", c, b)
	}
	os.MkdirAll(filepath.Join(repo, "suites"), 0o755)
	os.WriteFile(filepath.Join(repo, "suites", "s.json"), []byte("{}"), 0o644)
	git("add", ".")
	git("commit", "-q", "-m", "first")
	head := git("rev-parse", "HEAD")
	if c, b := Git(ctx, filepath.Join(repo, "suites"), getenv); c != head || b != "trunk" {
		t.Errorf("in a repository: %q %q, want %s trunk", c, b, head)
	}
	git("checkout", "-q", "--detach")
	if c, b := Git(ctx, repo, getenv); c != head || b != "pr-7" {
		t.Errorf("a detached HEAD in CI: %q %q, want %s pr-7", c, b, head)
	}
	delete(env, "GITHUB_REF_NAME")
	if c, b := Git(ctx, repo, getenv); c != head || b != "" {
		t.Errorf("a detached HEAD: %q %q, want %s and no branch", c, b, head)
	}
}
