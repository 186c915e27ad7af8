package main

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	const rev = "e1b056e7f43ba45def39249fc5e1b684a1724713"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"go install at a tag", "v0.3.0", nil, "v0.3.0"},
		{"go run, or a build without VCS stamping", "(devel)", nil, "devel"},
		{"no version at all", "", nil, "devel"},
		{"a clone: the pseudo-version holds the revision", "v0.0.0-20261207165455-e1b056e7f43b", vcs("false"), "v0.0.0-20261207165455-e1b056e7f43b"},
		{"a clone with changes", "v0.0.0-20261207165455-e1b056e7f43b+dirty", vcs("true"), "v0.0.0-20261207165455-e1b056e7f43b+dirty"},
		{"a clone at a tag", "v0.3.0", vcs("false"), "v0.3.0 (e1b056e7f43b)"},
		{"a clone at a tag, with changes", "v0.3.0+dirty", vcs("true"), "v0.3.0+dirty (e1b056e7f43b)"},
		{"devel with a revision", "(devel)", vcs("false"), "devel (e1b056e7f43b)"},
		{"devel with a revision and changes", "(devel)", vcs("true"), "devel (e1b056e7f43b-dirty)"},
		{"a short revision", "(devel)", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}, "devel (abc)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/rubric-eval/rubric", Version: tt.version}, Settings: tt.settings}
			if got := buildVersion(info); got != tt.want {
				t.Errorf("buildVersion = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestVersionFlag: --version prints the version set with -ldflags when
// there is one, else the one of the build information.
func TestVersionFlag(t *testing.T) {
	defer func(v string) { version = v }(version)
	for _, v := range []string{"", "v9.9.9"} {
		version = v
		want := "rubric version " + v + "\n"
		if v == "" {
			info, _ := debug.ReadBuildInfo()
			want = "rubric version " + buildVersion(info) + "\n"
		}
		code, stdout, stderr := runInProcess(t, "--version")
		if code != exitOK || stdout != want || stderr != "" {
			t.Errorf("version %q: exit %d\nstdout: %q, want %q\nstderr:\n%s", v, code, stdout, want, stderr)
		}
	}
}

// TestVersionE2E checks the version of the binary the end-to-end tests
// build: the one its build information gives, never the old "dev". Where
// the module is a git clone (not a linked worktree, whose .git file the go
// command does not recognise, golang/go#58218), a binary built with VCS
// stamping must print the commit it was built from.
func TestVersionE2E(t *testing.T) {
	bin := rubricBin(t)
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	r := rubric(t, t.TempDir(), nil, "--version")
	want := "rubric version " + buildVersion(info) + "\n"
	if r.code != exitOK || r.stdout != want || strings.Contains(r.stdout, " dev\n") {
		t.Errorf("rubric --version: %s\nwant stdout %q", r, want)
	}

	root := repoRoot(t)
	if st, err := os.Stat(filepath.Join(root, ".git")); err != nil || !st.IsDir() {
		t.Logf("%s is not a git clone: the revision is checked in one", root)
		return
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Logf("no git: the revision is not checked")
		return
	}
	head, err := exec.Command(git, "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	goBin := goTool()
	stamped := filepath.Join(t.TempDir(), "rubric")
	// -buildvcs=true: the go command's own setting may turn stamping off.
	if out, err := exec.Command(goBin, "build", "-buildvcs=true", "-o", stamped, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
	}
	out, err := exec.Command(stamped, "--version").Output()
	if rev := strings.TrimSpace(string(head))[:12]; err != nil || !strings.Contains(string(out), rev) {
		t.Errorf("rubric --version built in a clone at %s: %q, %v; want the revision in it", rev, out, err)
	}
}
