package history

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// gitTimeout bounds the git command Git runs: a slow file system or a
// hung credential helper must not hold up the end of a run.
const gitTimeout = 2 * time.Second

// Git returns the commit and the branch of the git repository that holds
// dir, when it is in one and git is installed; otherwise, and for a
// detached HEAD's branch, $GITHUB_SHA and $GITHUB_REF_NAME, which GitHub
// Actions sets. Both are "" when neither says. It never fails: a run is
// recorded without them.
func Git(ctx context.Context, dir string, getenv func(string) string) (commit, branch string) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "HEAD", "--abbrev-ref", "HEAD")
	cmd.Dir = dir
	if out, err := cmd.Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) == 2 {
			commit, branch = f[0], f[1]
		}
	}
	if branch == "HEAD" { // detached, as CI checks out
		branch = ""
	}
	if commit == "" {
		commit = getenv("GITHUB_SHA")
	}
	if branch == "" {
		branch = getenv("GITHUB_REF_NAME")
	}
	return commit, branch
}
