package proc

import (
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// maxStderr is how many bytes of a process's stderr are kept: of its start,
// and of its end.
const maxStderr = 4 << 10

// Stderr is an io.Writer that keeps the first and the last maxStderr bytes a
// process writes on stderr, whatever it writes in between, so that a message
// may quote the start (the first error of a run) or the end (the last words
// of a process that ran a while). It is safe for concurrent use.
type Stderr struct {
	mu   sync.Mutex
	head []byte // the first maxStderr bytes
	ring []byte // the last maxStderr bytes
}

func (s *Stderr) Write(p []byte) (int, error) {
	n := len(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if room := maxStderr - len(s.head); room > 0 {
		s.head = append(s.head, p[:min(room, len(p))]...)
	}
	if len(p) >= maxStderr {
		p, s.ring = p[len(p)-maxStderr:], s.ring[:0]
	}
	if over := len(s.ring) + len(p) - maxStderr; over > 0 {
		s.ring = append(s.ring[:0], s.ring[over:]...)
	}
	s.ring = append(s.ring, p...)
	return n, nil
}

// Start returns the start of what was written, white space trimmed, cut
// after n runes with "…"; "" when nothing but white space was.
func (s *Stderr) Start(n int) string {
	s.mu.Lock()
	head := string(s.head)
	s.mu.Unlock()
	return evals.Clip(strings.TrimSpace(head), n)
}

// End returns the end of what was written, from its first whole character,
// white space trimmed, cut before its last n runes with "…"; "" when nothing
// but white space was.
func (s *Stderr) End(n int) string {
	s.mu.Lock()
	b := s.ring
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	tail := string(b)
	s.mu.Unlock()
	return evals.ClipTail(strings.TrimSpace(tail), n)
}
