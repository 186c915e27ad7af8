//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// BenchmarkScoreLogBinary runs the rubric binary on logs of 100,000 and
// 1,000,000 lines and reports lines/s and the process's peak RSS: the two
// sizes should show the same memory.
//
//	go test ./cmd/rubric -run '^$' -bench ScoreLogBinary -benchtime 1x
func BenchmarkScoreLogBinary(b *testing.B) {
	bin := rubricBin(b)
	dir := b.TempDir()
	for _, n := range []int{100_000, 1_000_000} {
		suite, log := writeScoreLog(b, dir, n)
		b.Run("lines="+strconv.Itoa(n), func(b *testing.B) {
			var rss int64
			runs := 0
			for b.Loop() {
				out := filepath.Join(dir, "runs")
				args := []string{"score", suite, log, "--preset", "openai", "--out", out, "--no-progress"}
				for _, m := range benchLogMaps {
					args = append(args, "--map", m)
				}
				cmd := exec.Command(bin, args...)
				cmd.Env = environ()
				if msg, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("rubric score: %v\n%s", err, msg)
				}
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					rss = max(rss, ru.Maxrss) // KiB on Linux
				}
				runs++
				os.RemoveAll(out)
			}
			b.ReportMetric(float64(runs*n)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(rss)*1024/1e6, "peak-RSS-MB")
		})
		os.Remove(log)
	}
}
