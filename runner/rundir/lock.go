package rundir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// LockFile is the run folder's lock, held by the process that writes in the
// folder for as long as it runs: a new run from just after it creates the
// folder, a resumed one before it reads anything there. Two processes
// resuming one run would send the same cases twice and interleave their
// writes to the journal.
//
// The lock is flock(2) on Unix and LockFileEx on Windows (through
// github.com/gofrs/flock), which the OS drops when the process ends, however
// it ends: a kill -9 leaves no stale lock, and the file stays in the folder.
// Its first byte is a newline, the byte LockFileEx covers, which Windows
// forbids other processes to read while it is locked; after it comes the
// holder, one JSON line, so that a refusal can name it.
const LockFile = "run.lock"

// Holder is the process holding a run folder's lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// processStarted is when this process started, near enough: the holder's
// start time tells a user which of their commands holds a folder.
var processStarted = time.Now().UTC()

// Lock is a held lock on a run folder.
type Lock struct{ fl *flock.Flock }

// LockedError refuses a run folder that another process holds.
type LockedError struct {
	Dir    string
	Holder *Holder // nil when the lock file names no holder
}

func (e *LockedError) Error() string {
	who := "another rubric process"
	if h := e.Holder; h != nil {
		who = fmt.Sprintf("rubric (pid %d on %s, started %s)", h.PID, h.Host, h.Started.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("run folder %s is in use by %s: wait for it to end, or stop it and resume again", e.Dir, who)
}

// LockDir takes the lock of the run folder dir, without waiting: it returns
// a *LockedError when another process holds it.
func LockDir(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking the run folder: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		// Written before the lock is taken; another process holding it
		// (on Windows) makes this fail, and the byte is the same anyway.
		_, _ = f.WriteAt([]byte{'\n'}, 0)
	}
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking the run folder: %w", err)
	}
	if !ok {
		h, _ := ReadHolder(path)
		return nil, &LockedError{Dir: dir, Holder: h}
	}
	host, _ := os.Hostname()
	b, err := json.Marshal(Holder{PID: os.Getpid(), Host: host, Started: processStarted})
	if err != nil {
		_ = fl.Unlock()
		return nil, err
	}
	b = append(b, '\n')
	if _, err = f.WriteAt(b, 1); err == nil {
		err = f.Truncate(int64(1 + len(b)))
	}
	if err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return &Lock{fl: fl}, nil
}

// Release drops the lock; the OS would at exit anyway.
func (l *Lock) Release() {
	if l != nil {
		_ = l.fl.Unlock()
	}
}

// ReadHolder reads the holder a lock file names, skipping its first
// byte, which may be locked.
func ReadHolder(path string) (*Holder, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() <= 1 {
		return nil, errors.New("no holder written yet")
	}
	b := make([]byte, min(st.Size()-1, 4096))
	n, err := f.ReadAt(b, 1)
	if n == 0 && err != nil {
		return nil, err
	}
	var h Holder
	if err := json.Unmarshal(bytes.TrimSpace(b[:n]), &h); err != nil {
		return nil, err
	}
	return &h, nil
}
