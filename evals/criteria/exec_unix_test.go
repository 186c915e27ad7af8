//go:build unix

package criteria_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals/criteria"
	"github.com/rubric-eval/rubric/runner"
)

// TestExecTimeout checks that a command that hangs is killed with every
// process it started, and the response unscored.
func TestExecTimeout(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("PIDFILE", pidfile)
	sc := build(t, helperSpec(t, "hang", `,"timeout":"300ms"`), criteria.Env{Dir: t.TempDir()})
	start := time.Now()
	v := sc.Score(context.Background(), &runner.Input{})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to give up", d)
	}
	want := unscoredV(fmt.Sprintf(`exec: %q timed out after 300ms and was killed; stderr: "waiting forever"`, filepath.Base(os.Args[0])))
	if v != want {
		t.Errorf("got  %+v\nwant %+v", v, want)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the command's child %d outlived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether process pid runs: it exists and, where /proc says,
// is not a zombie waiting for a parent to reap it.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
