package criteria

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// linePool holds the processes of an exec criterion with protocol "lines":
// each reads a case as one line of JSON on stdin and answers with one line on
// stdout, one case at a time, for as long as it runs. They start when first
// needed and are kept, at most max of them, whatever their environment.
//
// rubric does not stop them explicitly at the end of a run: when rubric
// exits, however it exits, the system closes their stdin, so a scorer that
// stops at the end of its input stops then; on Linux, the kernel also kills
// them if rubric dies (Pdeathsig). An explicit Close would have to be carried
// through every criterion that holds others and every command that scores,
// for processes that end a moment later anyway.
type linePool struct {
	max int

	mu sync.Mutex
	// idle holds the processes waiting for a case, by the variable their
	// environment withholds (see Exec.environ): processes serve only the
	// targets whose environment they were started with.
	idle   map[string][]*lineProc
	live   int // processes started and not yet stopped, idle or busy
	closed bool
}

// lineProc is one running process of a linePool.
type lineProc struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc // kills the process and its group
	stdin  io.WriteCloser
	lines  chan lineRead // what the process printed, line by line
	gone   chan struct{} // closed when the process is stopped: its reader quits
	stderr *ring
	key    string // the variables withheld from its environment
	served int    // cases answered
}

// lineRead is one line the process printed, or why there are no more.
type lineRead struct {
	line []byte
	err  error // io.EOF, bufio.ErrTooLong or a read error
}

// serve scores one response with a process of the pool: stdin is the case,
// one line. A process that ended while idle, or that ends on this case
// having answered others, is replaced and the case sent once more, to a
// fresh process, whose failure then stands.
func (e *Exec) serve(ctx context.Context, in *evals.Input, stdin []byte) evals.Verdict {
	env, key := e.environ(in)
	for retried := false; ; retried = true {
		p, err := e.pool.get(e, key, env)
		if err != nil {
			return unscored(fmt.Sprintf("exec: cannot run %s: %v", e.name(), err))
		}
		v, again := e.ask(ctx, p, stdin)
		if !again || retried {
			return v
		}
	}
}

// ask sends the case to p and reads its answer. On any failure p is stopped;
// again says the process ended before answering after serving other cases,
// so that the case deserves a fresh process.
func (e *Exec) ask(ctx context.Context, p *lineProc, stdin []byte) (v evals.Verdict, again bool) {
	timer := time.NewTimer(e.timeout)
	defer timer.Stop()
	// The process may read its line slowly, or not at all: write beside
	// waiting, so that the timeout covers both.
	// A failed write is not reported: the process has then closed its
	// stdin, and its stdout or the timeout tells more.
	wrote := make(chan struct{})
	go func() {
		p.stdin.Write(stdin)
		close(wrote)
	}()
	// fail stops p and waits for the writer, which stopping ends.
	fail := func(grace time.Duration) error {
		err := e.pool.stop(p, grace)
		<-wrote
		return err
	}
	select {
	case r := <-p.lines:
		if r.err == nil {
			select {
			case <-wrote:
			case <-timer.C: // it answered, but has not read the whole line
				fail(0)
				return unscored(fmt.Sprintf("exec: %s answered before reading its whole line, then did not read the rest within %s, and was killed%s", e.name(), e.timeout, p.tail())), false
			}
			v := e.result(r.line, p.tail)
			if v.Unscored {
				fail(0)
				return v, false
			}
			p.served++
			e.pool.put(p)
			return v, false
		}
		if errors.Is(r.err, bufio.ErrTooLong) {
			fail(0)
			return unscored(fmt.Sprintf("exec: %s printed a line of more than %d bytes on stdout%s", e.name(), maxExecStdout, p.tail())), false
		}
		// The process closed its stdout: it is ending, or ended. Give it
		// a moment, for its exit status.
		err := fail(time.Second)
		if p.served > 0 && r.err == io.EOF {
			return evals.Verdict{}, true
		}
		var ee *exec.ExitError
		switch {
		case r.err != io.EOF:
			return unscored(fmt.Sprintf("exec: reading the answer of %s: %v%s", e.name(), r.err, p.tail())), false
		case errors.As(err, &ee):
			return unscored(fmt.Sprintf("exec: %s %s without answering%s", e.name(), exitText(ee), p.tail())), false
		default:
			return unscored(fmt.Sprintf("exec: %s exited with status 0 without answering: with protocol \"lines\" it must answer each line of stdin with a line on stdout%s", e.name(), p.tail())), false
		}
	case <-timer.C:
		fail(0)
		return unscored(fmt.Sprintf("exec: %s timed out after %s and was killed%s", e.name(), e.timeout, p.tail())), false
	case <-ctx.Done():
		fail(0)
		return unscored("exec: stopped: " + ctx.Err().Error()), false
	}
}

// get returns an idle process started with the environment withholding
// key, or starts one with env. The caller holds one of the criterion's
// slots, so a process it takes or starts serves it alone. At most max
// processes run: when they all do and none fits, an idle one with another
// environment is stopped.
func (lp *linePool) get(e *Exec, key string, env []string) (*lineProc, error) {
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
	p, err := e.start(key, env)
	if err != nil {
		lp.mu.Lock()
		lp.live--
		lp.mu.Unlock()
	}
	return p, err
}

// put returns a process that answered to the idle ones.
func (lp *linePool) put(p *lineProc) {
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
func (lp *linePool) stop(p *lineProc, grace time.Duration) error {
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

// close stops the idle processes, and those busy as they finish.
func (lp *linePool) close() {
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
}

// start starts a process of the command with env, for the pool.
func (e *Exec) start(key string, env []string) (*lineProc, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, e.path, e.args...)
	cmd.Dir = e.dir
	cmd.Env = env
	p := &lineProc{cmd: cmd, cancel: cancel, lines: make(chan lineRead), gone: make(chan struct{}), stderr: &ring{}, key: key}
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
	go p.read(stdout)
	return p, nil
}

// read passes on what the process prints, line by line, until it closes its
// stdout or is stopped.
func (p *lineProc) read(stdout *os.File) {
	defer stdout.Close()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, maxExecStdout)
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

// tail quotes the end of the process's stderr for a reason: the end, since
// a process that has run a while may have written much before what matters.
func (p *lineProc) tail() string {
	s := strings.TrimSpace(p.stderr.String())
	if s == "" {
		return ""
	}
	return "; stderr: " + strconv.Quote(clipTail(s, execStderrQuote))
}

// clipTail keeps the last n runes of s, marking a cut with "…".
func clipTail(s string, n int) string {
	i := len(s)
	for k := 0; k < n && i > 0; k++ {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	if i == 0 {
		return s
	}
	return "…" + s[i:]
}

// ring is an io.Writer that keeps the last maxExecStderr bytes written to it,
// safe for concurrent use.
type ring struct {
	mu  sync.Mutex
	buf []byte
}

func (r *ring) Write(p []byte) (int, error) {
	n := len(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p) >= maxExecStderr {
		p, r.buf = p[len(p)-maxExecStderr:], r.buf[:0]
	}
	if over := len(r.buf) + len(p) - maxExecStderr; over > 0 {
		r.buf = append(r.buf[:0], r.buf[over:]...)
	}
	r.buf = append(r.buf, p...)
	return n, nil
}

// String returns what the ring holds, from its first whole character.
func (r *ring) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buf
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return string(b)
}
