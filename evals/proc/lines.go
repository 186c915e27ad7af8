package proc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Pool holds the processes of a command with protocol "lines": each reads a
// request as one line on stdin and answers with one line on stdout, one
// request at a time, for as long as it runs. They start when first needed
// and are kept, at most max of them, whatever their environment, until
// Close, which the owner of the suite calls when the suite ends. Should
// rubric exit first, however it exits, the system closes their stdin, so a
// command that stops at the end of its input stops then; on Linux, the
// kernel also kills them if rubric dies (Pdeathsig).
//
// A Pool is safe for concurrent use by at most max callers of Ask at once:
// the caller bounds them (the criterion's, or the target's, concurrency).
type Pool struct {
	cmd *Cmd
	max int

	mu sync.Mutex
	// idle holds the processes waiting for a request, by the key of the
	// environment they were started with: processes serve only the
	// requests whose environment they have.
	idle   map[string][]*lineProc
	live   int // processes started and not yet stopped, idle or busy
	closed bool
}

// NewPool returns a pool of at most max processes of cmd.
func NewPool(cmd *Cmd, max int) *Pool {
	return &Pool{cmd: cmd, max: max}
}

// lineProc is one running process of a Pool.
type lineProc struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc // kills the process and its group
	stdin  io.WriteCloser
	lines  chan lineRead // what the process printed, line by line
	gone   chan struct{} // closed when the process is stopped: its reader quits
	stderr *Stderr
	key    string // the key of its environment
	served int    // requests answered
}

// lineRead is one line the process printed, or why there are no more.
type lineRead struct {
	line []byte
	err  error // io.EOF, bufio.ErrTooLong or a read error
}

// Ask sends line, one request ending in a newline, to a process of the
// pool: an idle one started with the environment key names, or a new one
// started with env. accept reads the process's answer, one line without its
// newline, and says whether it is sound; a process whose answer is not is
// stopped, and so is one that fails (an *Error: Canceled, TimedOut,
// Overflow, Exited, NoAnswer, ReadFailed, SlowRead, StartFailed), which Ask
// returns. It returns nil once accept has read an answer, sound or not.
//
// A process that ended while idle, or that ends on this request having
// answered others, is replaced and the request sent once more, to a fresh
// process, whose failure then stands.
func (lp *Pool) Ask(ctx context.Context, key string, env []string, line []byte, accept func(answer []byte, stderr *Stderr) bool) error {
	for retried := false; ; retried = true {
		p, err := lp.get(key, env)
		if err != nil {
			return &Error{Kind: StartFailed, Err: err, Stderr: &Stderr{}}
		}
		again, err := lp.ask(ctx, p, line, accept)
		if !again || retried {
			return err
		}
	}
}

// ask sends the request to p and reads its answer. On any failure p is
// stopped; again says the process ended before answering after serving
// other requests, so that the request deserves a fresh process.
func (lp *Pool) ask(ctx context.Context, p *lineProc, line []byte, accept func([]byte, *Stderr) bool) (again bool, err error) {
	timer := time.NewTimer(lp.cmd.Timeout)
	defer timer.Stop()
	// The process may read its line slowly, or not at all: write beside
	// waiting, so that the timeout covers both.
	// A failed write is not reported: the process has then closed its
	// stdin, and its stdout or the timeout tells more.
	wrote := make(chan struct{})
	go func() {
		p.stdin.Write(line)
		close(wrote)
	}()
	// fail stops p and waits for the writer, which stopping ends.
	fail := func(grace time.Duration) error {
		err := lp.stop(p, grace)
		<-wrote
		return err
	}
	failed := func(kind Kind, err error) *Error { return &Error{Kind: kind, Err: err, Stderr: p.stderr} }
	select {
	case r := <-p.lines:
		if r.err == nil {
			select {
			case <-wrote:
			case <-timer.C: // it answered, but has not read the whole line
				fail(0)
				return false, failed(SlowRead, nil)
			}
			if !accept(r.line, p.stderr) {
				fail(0)
				return false, nil
			}
			p.served++
			lp.put(p)
			return false, nil
		}
		if errors.Is(r.err, bufio.ErrTooLong) {
			fail(0)
			return false, failed(Overflow, r.err)
		}
		// The process closed its stdout: it is ending, or ended. Give it
		// a moment, for its exit status.
		err := fail(time.Second)
		var ee *exec.ExitError
		switch {
		case r.err != io.EOF:
			return false, failed(ReadFailed, r.err)
		case errors.As(err, &ee):
			return p.served > 0, failed(Exited, ee)
		default:
			return p.served > 0, failed(NoAnswer, err)
		}
	case <-timer.C:
		fail(0)
		return false, failed(TimedOut, context.DeadlineExceeded)
	case <-ctx.Done():
		fail(0)
		return false, failed(Canceled, ctx.Err())
	}
}

// get returns an idle process started with the environment key names, or
// starts one with env. At most max callers ask at once, so a process one
// takes or starts serves it alone. At most max processes run: when they all
// do and none fits, an idle one with another environment is stopped.
func (lp *Pool) get(key string, env []string) (*lineProc, error) {
	var evicted *lineProc
	lp.mu.Lock()
	for {
		idle := lp.idle[key]
		if len(idle) == 0 {
			break
		}
		p := idle[len(idle)-1]
		lp.idle[key] = idle[:len(idle)-1]
		select {
		case <-p.lines: // it exited, or printed a line nobody asked for
			lp.mu.Unlock()
			lp.stop(p, 0)
			lp.mu.Lock()
			continue
		default:
		}
		lp.mu.Unlock()
		return p, nil
	}
	if lp.live >= lp.max {
		for k, idle := range lp.idle {
			if len(idle) > 0 {
				evicted = idle[0]
				lp.idle[k] = idle[1:]
				break
			}
		}
	}
	lp.live++
	lp.mu.Unlock()
	if evicted != nil {
		lp.stop(evicted, 0)
	}
	p, err := lp.start(key, env)
	if err != nil {
		lp.mu.Lock()
		lp.live--
		lp.mu.Unlock()
	}
	return p, err
}

// put returns a process that answered to the idle ones.
func (lp *Pool) put(p *lineProc) {
	lp.mu.Lock()
	if !lp.closed {
		if lp.idle == nil {
			lp.idle = map[string][]*lineProc{}
		}
		lp.idle[p.key] = append(lp.idle[p.key], p)
		lp.mu.Unlock()
		return
	}
	lp.mu.Unlock()
	lp.stop(p, 0)
}

// stop ends p: at once, or grace after closing its stdin, and waits for it.
// It returns what exec.Cmd.Wait does.
func (lp *Pool) stop(p *lineProc, grace time.Duration) error {
	close(p.gone)
	p.stdin.Close()
	if grace > 0 {
		t := time.AfterFunc(grace, p.cancel)
		defer t.Stop()
	} else {
		p.cancel()
	}
	err := p.cmd.Wait()
	p.cancel()
	lp.mu.Lock()
	lp.live--
	lp.mu.Unlock()
	return err
}

// Close stops the idle processes at once, and those busy as they finish.
func (lp *Pool) Close() error {
	lp.mu.Lock()
	lp.closed = true
	var all []*lineProc
	for _, idle := range lp.idle {
		all = append(all, idle...)
	}
	lp.idle = nil
	lp.mu.Unlock()
	for _, p := range all {
		lp.stop(p, 0)
	}
	return nil
}

// IdlePIDs returns the process ids of the idle processes, for tests and
// diagnostics.
func (lp *Pool) IdlePIDs() []int {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	var pids []int
	for _, ps := range lp.idle {
		for _, p := range ps {
			pids = append(pids, p.cmd.Process.Pid)
		}
	}
	return pids
}

// start starts a process of the command with env, for the pool.
func (lp *Pool) start(key string, env []string) (*lineProc, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, lp.cmd.Path, lp.cmd.Args...)
	cmd.Dir = lp.cmd.Dir
	cmd.Env = env
	p := &lineProc{cmd: cmd, cancel: cancel, lines: make(chan lineRead), gone: make(chan struct{}), stderr: &Stderr{}, key: key}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	p.stdin = stdin
	// stdout is a pipe of our own, read line by line as the process
	// writes; stderr is copied by os/exec into a ring that never fills.
	stdout, w, err := os.Pipe()
	if err != nil {
		cancel()
		stdin.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, p.stderr
	killGroup(cmd)
	dieWithParent(cmd)
	cmd.WaitDelay = time.Second
	err = cmd.Start()
	w.Close()
	if err != nil {
		cancel()
		stdout.Close()
		return nil, err
	}
	go p.read(stdout, lp.cmd.MaxStdout)
	return p, nil
}

// read passes on what the process prints, line by line, until it closes its
// stdout or is stopped.
func (p *lineProc) read(stdout *os.File, maxLine int) {
	defer stdout.Close()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, maxLine)
	for sc.Scan() {
		select {
		case p.lines <- lineRead{line: bytes.Clone(sc.Bytes())}:
		case <-p.gone:
			return
		}
	}
	err := sc.Err()
	if err == nil {
		err = io.EOF
	}
	select {
	case p.lines <- lineRead{err: err}:
	case <-p.gone:
	}
}
