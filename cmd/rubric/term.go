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
	// base is the results done before this process started (a resumed
	// run's), left out of the rate; -1 until the first update.
	base int
}

func newProgressLine(w io.Writer) *progressLine {
	return &progressLine{w: w, start: time.Now(), base: -1}
}

func (p *progressLine) update(pr runner.Progress) {
	if p == nil {
		return
	}
	if p.base < 0 {
		p.base = pr.Done - 1
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && pr.Done != pr.Total {
		return
	}
	p.last = now
	fmt.Fprint(p.w, "\r\x1b[K"+progressText(pr, pr.Done-p.base, now.Sub(p.start)))
}

// progressText is the progress line: results done of the total, passed,
// errors, the rate of this process's results over elapsed, and the time
// left at that rate.
func progressText(pr runner.Progress, done int, elapsed time.Duration) string {
	line := fmt.Sprintf("  %d", pr.Done)
	if pr.Total > 0 {
		line = fmt.Sprintf("  %d/%d (%.0f%%)", pr.Done, pr.Total, 100*float64(pr.Done)/float64(pr.Total))
	}
	line += fmt.Sprintf("  %d passed  %d errors", pr.Passed, pr.Errors)
	if elapsed <= 0 || done <= 0 {
		return line
	}
	rate := float64(done) / elapsed.Seconds()
	line += fmt.Sprintf("  %.0f/s", rate)
	if left := pr.Total - pr.Done; pr.Total > 0 && left > 0 {
		eta := time.Duration(float64(left) / rate * float64(time.Second))
		line += "  " + eta.Round(time.Second).String() + " left"
	}
	return line
}

func (p *progressLine) clear() {
	if p == nil {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
}
