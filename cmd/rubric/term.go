package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rubric-eval/rubric/runner"
)

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// useColor reports whether to colour output to w: on a terminal, unless
// NO_COLOR is set to a non-empty value (https://no-color.org) or TERM is dumb.
func useColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(w) && os.Getenv("TERM") != "dumb"
}

// progressLine redraws one status line on a terminal, at most ten times a
// second. A nil *progressLine does nothing.
type progressLine struct {
	w     io.Writer
	start time.Time
	last  time.Time
}

func newProgressLine(w io.Writer) *progressLine {
	return &progressLine{w: w, start: time.Now()}
}

func (p *progressLine) update(pr runner.Progress) {
	if p == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && pr.Done != pr.Total {
		return
	}
	p.last = now
	rate := float64(pr.Done) / now.Sub(p.start).Seconds()
	line := fmt.Sprintf("%d", pr.Done)
	if pr.Total > 0 {
		line = fmt.Sprintf("%d/%d (%.0f%%)", pr.Done, pr.Total, 100*float64(pr.Done)/float64(pr.Total))
	}
	fmt.Fprintf(p.w, "\r\x1b[K  %s  %d errors  %.0f/s", line, pr.Errors, rate)
}

func (p *progressLine) clear() {
	if p == nil {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
}
