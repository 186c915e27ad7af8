package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockRun takes a run folder's lock twice in one process: the second
// attempt is refused naming the holder, and the lock can be taken again once
// released.
func TestLockRun(t *testing.T) {
	dir := t.TempDir()
	first, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDir(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second LockDir: err %v, want a *LockedError", err)
	}
	host, _ := os.Hostname()
	if h := le.Holder; h == nil || h.PID != os.Getpid() || h.Host != host || !h.Started.Equal(processStarted) {
		t.Errorf("holder %+v, want pid %d on %s started %v", le.Holder, os.Getpid(), host, processStarted)
	}
	want := fmt.Sprintf("run folder %s is in use by rubric (pid %d on %s, started %s)", dir, os.Getpid(), host, processStarted.Format(time.RFC3339))
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, LockFile))
	if err != nil || len(b) < 2 || b[0] != '\n' || b[len(b)-1] != '\n' || strings.Count(string(b), "\n") != 2 {
		t.Errorf("lock file %q (%v): want a newline, then the holder on one line", b, err)
	}
	first.Release()
	again, err := LockDir(dir)
	if err != nil {
		t.Fatalf("LockDir after release: %v", err)
	}
	again.Release()
}
