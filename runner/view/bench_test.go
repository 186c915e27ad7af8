package view

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// A million-case run, for the viewer's bar: the first page of cases and a
// filtered page each in under 200 ms, the server under 100 MB.
//
//	go test ./runner/view -run '^$' -bench CasesPage -benchtime 20x
//
// The run's journal (about 330 MB) is written once under the system's
// temporary folder and kept for later runs of the benchmark; its index is
// built by the first request, which the benchmark reports as index-s.

const bigCases = 1_000_000

// bigRun writes (or finds) the folder of a run of bigCases results.
func bigRun(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "rubric-view-bench-1m")
	results := filepath.Join(dir, rundir.ResultsFile)
	if _, err := os.Stat(filepath.Join(dir, rundir.ReportFile)); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(results)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	topics := []string{"billing", "shipping", "account", "technical"}
	for i := range bigCases {
		status, score, pass := "passed", "1", "true"
		if i%5 == 0 {
			status, score, pass = "failed", "0", "false"
		}
		fmt.Fprintf(w, `{"run_id":"big","case_id":"case-%07d","target":"m","repeat":0,"tags":["topic=%s"],"metadata":{"lang":"%s"},`+
			`"output":"The answer to question %d is %d.","usage":{"prompt_tokens":40,"completion_tokens":12,"total_tokens":52},"latency_ms":%d,`+
			`"scores":[{"name":"fact","type":"contains","weight":1,"score":%s,"pass":%s,"reason":"looked for %d"}],"score":%s,"status":"%s"}`+"\n",
			i, topics[i%4], []string{"en", "de", "fr"}[i%3], i, i*7, 100+i%50, score, pass, i, score, status)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	sum := &evals.Summary{ReportVersion: evals.ReportVersion, RunID: "big", Suite: "big", Complete: true, Started: day0, Finished: day0.Add(time.Hour),
		Statistics: evals.DefaultStatistics(), Targets: []evals.TargetSummary{{Name: "m", Provider: "openai",
			Figures: evals.Figures{Cases: bigCases, Passed: bigCases * 4 / 5, Failed: bigCases / 5, PassRate: 0.8},
			Slices:  []evals.SliceSummary{{Key: "topic", Value: "billing"}, {Key: "lang", Value: "de"}}}}}
	if err := rundir.WriteManifest(dir, &rundir.Manifest{RunID: "big", Started: day0, Suite: "/suites/big.json"}); err != nil {
		b.Fatal(err)
	}
	if err := rundir.WriteReport(filepath.Join(dir, rundir.ReportFile), sum); err != nil {
		b.Fatal(err)
	}
	return dir
}

func BenchmarkCasesPage(b *testing.B) {
	dir := bigRun(b)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(MemoryLimit)) // as rubric view does
	s, err := New(context.Background(), Options{Runs: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	fetch := func(path string) {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		buf := make([]byte, 32<<10)
		for {
			k, err := resp.Body.Read(buf)
			n += int64(k)
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n == 0 {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	start := time.Now()
	fetch("/runs/big/cases") // builds the index
	built := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	x, _ := s.cat.index(context.Background(), "big")
	if x.len() != bigCases {
		b.Fatalf("%d cases indexed", x.len())
	}
	for _, bc := range []struct{ name, path string }{
		{"first", "/runs/big/cases"},
		{"failed-of-a-slice", "/runs/big/cases?status=failed&slice=topic%3Dbilling"},
		{"failed-of-a-slice-page-1000", "/runs/big/cases?status=failed&slice=lang%3Dde&page=1000"},
		{"criterion", "/runs/big/cases?criterion=fact"},
		{"id-text", "/runs/big/cases?q=CASE-09&in=id"},
		{"id-regex", "/runs/big/cases?q=7%24&re=1&in=id"},
		{"output-text", "/runs/big/cases?q=is+7"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				fetch(bc.path)
			}
			b.ReportMetric(built.Seconds(), "index-s")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
			b.ReportMetric(float64(x.bytes)/(1<<20), "index-MB")
			b.ReportMetric(peakRSS()/(1<<20), "peak-rss-MB")
		})
	}
}

// peakRSS is the process's peak resident memory (VmHWM), 0 where /proc
// has none.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}
