package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/session"
)

// writeScoreLog writes a log of n OpenAI requests and responses, as a
// gateway captures them, with a label to score against, and a suite of two
// criteria for it; it returns the suite's and the log's paths. One line in
// ten answers the wrong label.
func writeScoreLog(tb testing.TB, dir string, n int) (suite, log string) {
	tb.Helper()
	suite = filepath.Join(dir, "suite.json")
	err := os.WriteFile(suite, []byte(`{
  "name": "score-bench",
  "messages": [{"role": "system", "content": "Label the ticket."}, {"role": "user", "content": "{{ input }}"}],
  "dataset": {"cases": [{"input": "x"}]},
  "criteria": [
    {"name": "label", "type": "equals", "extract": {"json": "label"}, "value": "{{ expected }}"},
    {"name": "thanks", "type": "regex", "pattern": "(?i)thanks"}
  ],
  "gate": ["pass_rate >= 0.85"]
}
`), 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	log = filepath.Join(dir, fmt.Sprintf("log-%d.jsonl", n))
	f, err := os.Create(log)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		label := "billing"
		if i%10 == 9 {
			label = "account"
		}
		fmt.Fprintf(w, `{"trace_id":"tr-%08d","ts":"2026-11-28T09:%02d:%02dZ","request":{"model":"prod-v3","temperature":0,"messages":[{"role":"system","content":"Label the ticket."},{"role":"user","content":"My invoice #%d was charged twice, please refund the second charge."}]},"response":{"id":"chatcmpl-%d","model":"prod-v3","choices":[{"index":0,"message":{"role":"assistant","content":"{\"label\": \"%s\", \"reply\": \"Thanks, we are on it.\"}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":42,"completion_tokens":12,"total_tokens":54}},"label":"billing","meta":{"region":"eu","latency_ms":%d}}`+"\n",
			i, (i/60)%60, i%60, i, i, label, 200+i%300)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return suite, log
}

var benchLogMaps = []string{"id=trace_id", "expected=label", "metadata.region=meta.region", "latency_ms=meta.latency_ms"}

// BenchmarkScoreLog scores a gateway log in-process through the whole path
// of rubric score: read and map each line, score with two criteria, journal,
// aggregate, report. Each op is one log of 200,000 lines.
//
//	go test ./cmd/rubric -run '^$' -bench ScoreLog$ -benchtime 3x
func BenchmarkScoreLog(b *testing.B) {
	const lines = 200_000
	dir := b.TempDir()
	suite, log := writeScoreLog(b, dir, lines)
	peak := watchHeap()
	b.ReportAllocs()
	runs := 0
	for b.Loop() {
		out := filepath.Join(dir, "runs-"+strconv.Itoa(runs))
		runs++
		m, err := datasets.NewMapping("openai", benchLogMaps)
		if err != nil {
			b.Fatal(err)
		}
		s, err := build.Load(context.Background(), suite, build.Options{})
		if err != nil {
			b.Fatal(err)
		}
		o := session.Score(context.Background(), s, session.Recordings{Log: log, Mapping: m}, session.Options{Out: out})
		if o.Err != nil {
			b.Fatal(o.Err)
		}
		os.RemoveAll(out)
	}
	b.ReportMetric(float64(runs*lines)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(peak(), "peak-heap-MiB")
}
