//go:build unix

// Command rubric-bench measures the rubric binary end to end: wall time,
// throughput and peak memory of `rubric run` against a local
// OpenAI-compatible endpoint, and compares them with the targets the project
// holds.
//
//	go run ./cmd/rubric-bench                       # bare-instant, instant, bare-latency, latency, memory-5k, stream-instant, stream-latency, tool-loop
//	go run ./cmd/rubric-bench -scenario memory-1m   # a couple of minutes
//	go run ./cmd/rubric-bench -scenario all
//
// It builds the rubric binary once (go build -o TMP/rubric ./cmd/rubric, from
// the module the current folder is in) unless -bin names one, and serves
// POST /v1/chat/completions on 127.0.0.1 from its own process, so the
// endpoint never counts in rubric's CPU time or memory (it does compete with
// rubric for the machine's CPUs: on a small machine that caps the figures).
// Every request gets the same small completion after the scenario's latency,
// on keep-alive connections; a request that asks for a stream ("stream":
// true) gets it as server-sent events, as OpenAI streams it (the role and
// the first half of the content, the second half, the finish, the usage,
// [DONE], each flushed on its own), the first half at half the latency and
// the last token at the latency. Go's timers fire late (0.7 ms at 50 ms here), so
// the endpoint learns its lateness and sleeps that much less; the delay_ms
// column is the mean delay it delivered, and the ideal is computed from it.
// For each scenario
// it writes a JSONL dataset and a suite (an inline openai target at the
// scenario's concurrency, two criteria: equals on the JSON field "label" and
// a regex) to a temporary folder, and runs
//
//	rubric run suite.json --no-cache --no-progress --no-history --out TMP/runs
//
// timing the process from start to exit and reading its peak RSS from
// wait4's rusage. A run counts only if rubric exits 0, the endpoint served
// exactly one request per case, and report.json is complete with every case
// passed; anything else is an error.
//
// Scenarios:
//
//	bare-instant  the bare client (bare.go) on instant's cases: the yardstick
//	instant       0 ms latency, 50,000 cases, concurrency 64: cases/s at
//	              least 60% of bare-instant's when it ran in the same
//	              sitting, else >= 10,000
//	bare-latency  the bare client on latency's cases
//	latency       50 ms latency, 5,000 cases, concurrency 64: throughput at
//	              least 95% of the ideal, cases x delivered delay /
//	              concurrency (3.906 s at exactly 50 ms), and at least 97% of
//	              bare-latency's cases/s when it ran
//	memory-5k     0 ms latency, 5,000 cases, concurrency 64: peak RSS < 60 MB
//	memory-1m     0 ms latency, 1,000,000 cases, concurrency 64: peak RSS
//	              < 100 MB (not in the default set)
//	stream-instant  instant with "stream": true: cases/s at least 70% of
//	              instant's when it ran in the same sitting, else >= 7,000
//	stream-latency  latency with "stream": true, the last token at 50 ms:
//	              throughput at least 95% of the ideal
//	bare-stream-instant, bare-stream-latency  the bare client, streaming, on
//	              their cases (not in the default set)
//	queue-single, queue-1, queue-3  50 ms latency, 100,000 cases,
//	              concurrency 64, in one process, then through the job
//	              queue at $RUBRIC_BENCH_QUEUE (a PostgreSQL URL) to one
//	              rubric worker and to three (docs/workers.md); no target,
//	              not in the default set
//	merge         0 ms latency, 300,000 cases run in 3 shards (--shard K/3,
//	              not timed), then rubric merge of the three runs, timed:
//	              results merged a second >= 10,000 (not in the default set)
//	tool-loop     0 ms latency, 20,000 cases, concurrency 64, each case a
//	              conversation of 3 steps: the endpoint calls the suite's
//	              tool twice (mocked), then answers: cases/s at least 25%
//	              of instant's when it ran in the same sitting (a case is
//	              three requests), else >= 2,500
//
// The bare client is the least a Go program must do to send the same
// requests: the same bodies (the endpoint checks that both send the same
// number of body bytes), the same transport settings and concurrency, one
// process measured the same way. Machines here differ by 3x from one day to
// the next, so the throughput bars are ratios to it, measured in one
// sitting: %bare is rubric's cases/s as a percentage of the bare client's
// (with latency, its % of the ideal as a percentage of the bare client's, so
// that a different delay delivered to each run does not count), cpu_x_bare
// its CPU per case as a multiple of the bare client's.
//
// The table goes to stdout, one row per scenario, with PASS or MISS against
// its target; MB is 10^6 bytes. Progress goes to stderr, with the connections
// rubric opened and the CPU time it used per case. The exit code is 0
// when every scenario ran, misses included, 1 when one could not run or its
// checks failed, 2 on a usage mistake.
//
// Flags:
//
//	-scenario NAMES  comma-separated scenarios, "bare" for both bare twins,
//	                 or "all" (default bare-instant,instant,bare-latency,
//	                 latency,memory-5k,stream-instant,stream-latency,
//	                 tool-loop)
//	-bin PATH        the rubric binary to measure, instead of building one
//	-keep            keep the temporary folder and print its path
//	-cpuprofile DIR  write a CPU profile of each rubric run to DIR/SCENARIO.pprof
//	                 (go tool pprof -top DIR/instant.pprof)
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// scenario is one measured run and the target it is held to.
type scenario struct {
	Name        string
	Cases       int
	Concurrency int
	Latency     time.Duration
	// Exactly one of the following targets is set.
	MinCasesPerSec float64 // cases/s at least this
	MinIdealPct    float64 // throughput at least this % of the ideal
	MaxRSSMB       float64 // peak RSS below this, in MB
	// MinBarePct, when the scenario's bare twin ran in the same sitting, is
	// the least rubric's cases/s may be as a percentage of the bare
	// client's; it then replaces MinCasesPerSec, which depends on the
	// machine.
	MinBarePct float64
	// Bare marks a run of the bare client instead of rubric (bare.go).
	Bare bool
	// Stream has the target (or the bare client) ask for server-sent
	// events.
	Stream bool
	// Ref names the scenario whose throughput, when it ran in the same
	// sitting, this one's must reach MinRefPct percent of; it then
	// replaces MinCasesPerSec.
	Ref       string
	MinRefPct float64
	// Workers, when above 0, sends the run through the job queue at
	// $RUBRIC_BENCH_QUEUE (rubric run --queue) to that many rubric worker
	// processes, each of the scenario's concurrency, started before the
	// run and stopped after it; the wall time is the coordinator's.
	Workers int
	// Shards, when above 0, runs the cases in that many shards (rubric run
	// --shard K/N, not timed), then times rubric merge of their runs.
	Shards int
	// Steps is the requests of each case: with 3, the suite offers a tool
	// and the endpoint answers a case's first two requests with a call of
	// it, which the suite's mock answers; 0 means 1, a single answer.
	Steps int
}

// requests is the requests the endpoint must serve for the scenario.
func (s scenario) requests() int64 { return int64(s.Cases) * int64(max(s.Steps, 1)) }

// scenarios are every scenario, in the order they run.
var scenarios = []scenario{
	{Name: "bare-instant", Cases: 50_000, Concurrency: 64, Bare: true},
	{Name: "instant", Cases: 50_000, Concurrency: 64, MinCasesPerSec: 10_000, MinBarePct: 60},
	{Name: "bare-latency", Cases: 5_000, Concurrency: 64, Latency: 50 * time.Millisecond, Bare: true},
	{Name: "latency", Cases: 5_000, Concurrency: 64, Latency: 50 * time.Millisecond, MinIdealPct: 95, MinBarePct: 97},
	{Name: "memory-5k", Cases: 5_000, Concurrency: 64, MaxRSSMB: 60},
	{Name: "memory-1m", Cases: 1_000_000, Concurrency: 64, MaxRSSMB: 100},
	{Name: "bare-stream-instant", Cases: 50_000, Concurrency: 64, Bare: true, Stream: true},
	{Name: "stream-instant", Cases: 50_000, Concurrency: 64, Stream: true, MinCasesPerSec: 7_000, Ref: "instant", MinRefPct: 70},
	{Name: "bare-stream-latency", Cases: 5_000, Concurrency: 64, Latency: 50 * time.Millisecond, Bare: true, Stream: true},
	{Name: "stream-latency", Cases: 5_000, Concurrency: 64, Latency: 50 * time.Millisecond, Stream: true, MinIdealPct: 95},
	{Name: "tool-loop", Cases: 20_000, Concurrency: 64, Steps: 3, MinCasesPerSec: 2_500, Ref: "instant", MinRefPct: 25},
	// Workers on a shared queue (docs/workers.md): the same 100,000 cases
	// in one process, through the queue to one worker, and to three.
	{Name: "queue-single", Cases: 100_000, Concurrency: 64, Latency: 50 * time.Millisecond},
	{Name: "queue-1", Cases: 100_000, Concurrency: 64, Latency: 50 * time.Millisecond, Workers: 1},
	{Name: "queue-3", Cases: 100_000, Concurrency: 64, Latency: 50 * time.Millisecond, Workers: 3},
	// rubric merge of the runs of 3 shards (docs/shards.md).
	{Name: "merge", Cases: 300_000, Concurrency: 64, Shards: 3, MinCasesPerSec: 10_000},
}

// queueEnv names the PostgreSQL database the queue scenarios use.
const queueEnv = "RUBRIC_BENCH_QUEUE"

const defaultScenarios = "bare-instant,instant,bare-latency,latency,memory-5k,stream-instant,stream-latency,tool-loop"

// barePrefix names the bare twin of a scenario: "bare-instant" measures the
// bare client on instant's cases.
const barePrefix = "bare-"

// ideal is the shortest possible wall time: every slot busy all the time.
func (s scenario) ideal() time.Duration {
	if s.Latency == 0 || s.Concurrency == 0 {
		return 0
	}
	return time.Duration(int64(s.Cases) * int64(s.Latency) / int64(s.Concurrency*max(s.Workers, 1)))
}

// target describes the scenario's targets, for the table; bare and ref say
// whether its bare twin and its reference ran, which replace the machine's
// cases/s with a ratio.
func (s scenario) target(bare, ref bool) string {
	var ts []string
	switch {
	case s.MinRefPct > 0 && ref:
		ts = append(ts, fmt.Sprintf("%s>=%g%%", s.Ref, s.MinRefPct))
	case s.MinBarePct > 0 && bare:
		if s.MinIdealPct > 0 {
			ts = append(ts, fmt.Sprintf("ideal>=%g%%", s.MinIdealPct))
		}
		ts = append(ts, fmt.Sprintf("bare>=%g%%", s.MinBarePct))
	case s.MinCasesPerSec > 0:
		ts = append(ts, fmt.Sprintf("cases/s>=%g", s.MinCasesPerSec))
	case s.MinIdealPct > 0:
		ts = append(ts, fmt.Sprintf("ideal>=%g%%", s.MinIdealPct))
	case s.MaxRSSMB > 0:
		ts = append(ts, fmt.Sprintf("rss<%gMB", s.MaxRSSMB))
	}
	if len(ts) == 0 {
		return "-"
	}
	return strings.Join(ts, ",")
}

// result is what one run of a scenario measured.
type result struct {
	Scenario scenario
	Wall     time.Duration
	MaxRSSKB int64         // peak resident set of the rubric process, KiB
	Served   int64         // requests the endpoint answered
	Conns    int64         // connections rubric opened to the endpoint
	Delay    time.Duration // mean delay the endpoint delivered
	CPU      time.Duration // user and system time of the rubric process
	// BodyBytes are the request body bytes the endpoint received.
	BodyBytes int64
	// Bare is the bare twin's result, when it ran in the same sitting.
	Bare *result
	// Ref is the result of the scenario's Ref, when it ran in the same
	// sitting; Streamed counts the answers the endpoint streamed.
	Ref      *result
	Streamed int64
}

func (r result) casesPerSec() float64 { return float64(r.Scenario.Cases) / r.Wall.Seconds() }

// cpuPerCase is the CPU time the process used per case.
func (r result) cpuPerCase() time.Duration {
	if r.Scenario.Cases == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Scenario.Cases)
}

// barePct is rubric's throughput as a percentage of its bare twin's, or -1
// without a twin. With latency, each run's throughput is taken against its
// own ideal, at the delay the endpoint delivered to it: the endpoint's
// timers do not deliver the same delay twice (49.9 ms to one run, 50.5 ms to
// the next is 1.2% of wall time), and that is the endpoint's doing, not the
// client's.
func (r result) barePct() float64 {
	if r.Bare == nil || r.Bare.Wall <= 0 {
		return -1
	}
	if p, bp := r.idealPct(), r.Bare.idealPct(); p > 0 && bp > 0 {
		return 100 * p / bp
	}
	return 100 * r.casesPerSec() / r.Bare.casesPerSec()
}

// refPct is the throughput as a percentage of the Ref scenario's, or -1
// without one.
func (r result) refPct() float64 {
	if r.Ref == nil || r.Ref.Wall <= 0 {
		return -1
	}
	return 100 * r.casesPerSec() / r.Ref.casesPerSec()
}

// cpuRatio is rubric's CPU per case over the bare client's, or -1 without
// a twin.
func (r result) cpuRatio() float64 {
	if r.Bare == nil || r.Bare.CPU <= 0 {
		return -1
	}
	return float64(r.CPU) / float64(r.Bare.CPU)
}

// ideal is the scenario's ideal wall time at the latency the endpoint
// actually delivered (its mean delay), so that an endpoint running slow or
// fast moves the bar with it.
func (r result) ideal() time.Duration {
	s := r.Scenario
	if r.Delay > 0 && s.Latency > 0 {
		s.Latency = r.Delay
	}
	return s.ideal()
}

// idealPct is throughput as a percentage of the ideal, or -1 when the
// scenario has no latency.
func (r result) idealPct() float64 {
	id := r.ideal()
	if id == 0 {
		return -1
	}
	return 100 * id.Seconds() / r.Wall.Seconds()
}

func (r result) rssMB() float64 { return float64(r.MaxRSSKB) * 1024 / 1e6 }

// pass reports whether the run met its scenario's targets.
func (r result) pass() bool {
	s := r.Scenario
	switch {
	case s.MinRefPct > 0 && r.Ref != nil:
		return r.refPct() >= s.MinRefPct
	case s.MinBarePct > 0 && r.Bare != nil:
		return r.barePct() >= s.MinBarePct && (s.MinIdealPct == 0 || r.idealPct() >= s.MinIdealPct)
	case s.MinCasesPerSec > 0:
		return r.casesPerSec() >= s.MinCasesPerSec
	case s.MinIdealPct > 0:
		return r.idealPct() >= s.MinIdealPct
	case s.MaxRSSMB > 0:
		return r.rssMB() < s.MaxRSSMB
	}
	return true
}

var header = []string{"scenario", "cases", "concurrency", "latency", "delay_ms", "wall", "ideal", "cases/s", "%ideal", "rss_MB", "cpu_us", "%bare", "cpu_x_bare", "%ref", "target", "verdict"}

// fields are the table cells of a result; none contains a space, so a row
// splits back with strings.Fields.
func (r result) fields() []string {
	s := r.Scenario
	ideal, pct := "-", "-"
	if p := r.idealPct(); p >= 0 {
		ideal = fmt.Sprintf("%.3fs", r.ideal().Seconds())
		pct = fmt.Sprintf("%.1f%%", p)
	}
	delay := "-"
	if r.Delay > 0 {
		delay = fmt.Sprintf("%.2f", float64(r.Delay)/float64(time.Millisecond))
	}
	bare, cpuX := "-", "-"
	if p := r.barePct(); p >= 0 {
		bare = fmt.Sprintf("%.1f%%", p)
	}
	if x := r.cpuRatio(); x >= 0 {
		cpuX = fmt.Sprintf("%.2f", x)
	}
	ref := "-"
	if p := r.refPct(); p >= 0 {
		ref = fmt.Sprintf("%.1f%%", p)
	}
	verdict := "MISS"
	if r.pass() {
		verdict = "PASS"
	}
	return []string{
		s.Name,
		strconv.Itoa(s.Cases),
		strconv.Itoa(s.Concurrency),
		s.Latency.String(),
		delay,
		fmt.Sprintf("%.3fs", r.Wall.Seconds()),
		ideal,
		fmt.Sprintf("%.0f", r.casesPerSec()),
		pct,
		fmt.Sprintf("%.1f", r.rssMB()),
		fmt.Sprintf("%.0f", float64(r.cpuPerCase())/float64(time.Microsecond)),
		bare,
		cpuX,
		ref,
		s.target(r.Bare != nil, r.Ref != nil),
		verdict,
	}
}

// writeTable prints the results as a plain, aligned table.
func writeTable(w io.Writer, results []result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range results {
		fmt.Fprintln(tw, strings.Join(r.fields(), "\t"))
	}
	return tw.Flush()
}

// completion is the endpoint's answer to every request; both criteria pass on it.
const completion = `{"id":"chatcmpl-bench","object":"chat.completion","model":"bench",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"{\"label\": \"billing\"}"},"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":40,"completion_tokens":8,"total_tokens":48}}`

// toolCall is the endpoint's answer to a request that offers tools and has
// fewer than two tool results: a call of the bench suite's tool.
const toolCall = `{"id":"chatcmpl-bench","object":"chat.completion","model":"bench",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup_invoice","arguments":"{\"invoice\": \"42\"}"}}]},"finish_reason":"tool_calls"}],` +
	`"usage":{"prompt_tokens":60,"completion_tokens":12,"total_tokens":72}}`

// toolsOffered and toolResult are what a request body that offers tools,
// and each tool result in it, hold as rubric writes them.
var (
	toolsOffered = []byte(`"tools":[`)
	toolResult   = []byte(`"role":"tool"`)
)

// streamed is the same completion as server-sent events: the role and the
// first half of the content, which the endpoint sends at half the latency;
// the second half, at the latency; the finish, the usage and [DONE].
var streamed = [][]byte{
	[]byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{"role":"assistant","content":"{\"label\": "},"finish_reason":null}]}` + "\n\n"),
	[]byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{"content":"\"billing\"}"},"finish_reason":null}]}` + "\n\n"),
	[]byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"),
	[]byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","model":"bench","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":8,"total_tokens":48}}` + "\n\n"),
	[]byte("data: [DONE]\n\n"),
}

// streamAsked is what a request body that asks for a stream holds, as both
// rubric and the bare client write it.
var streamAsked = []byte(`"stream":true`)

// endpoint is an OpenAI-compatible chat completions server on loopback that
// answers every request with the same completion after a delay.
type endpoint struct {
	URL    string // base URL, ending in /v1
	srv    *http.Server
	delay  atomic.Int64 // nanoseconds
	served atomic.Int64 // requests answered with 200
	// streamed counts the answers sent as server-sent events.
	streamed atomic.Int64
	wrong    atomic.Int64 // requests for another method or path
	conns    atomic.Int64 // connections accepted
	body     atomic.Int64 // request body bytes received
	// late is the average lateness of the endpoint's timers (an exponential
	// moving average, ns); delaySum and delayed add up the delays delivered.
	late     atomic.Int64
	delaySum atomic.Int64
	delayed  atomic.Int64
}

// startEndpoint listens on a free port of 127.0.0.1 and serves until Close.
func startEndpoint() (*endpoint, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &endpoint{URL: "http://" + ln.Addr().String() + "/v1"}
	body := []byte(completion)
	clen := strconv.Itoa(len(body))
	call := []byte(toolCall)
	callLen := strconv.Itoa(len(call))
	e.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
				e.wrong.Add(1)
				http.NotFound(w, r)
				return
			}
			// Read the whole request, as a real server does, so that the
			// connection can be reused.
			buf := bodyPool.Get().(*bytes.Buffer)
			defer bodyPool.Put(buf)
			buf.Reset()
			n, err := buf.ReadFrom(r.Body)
			e.body.Add(n)
			if err != nil {
				return
			}
			if bytes.Contains(buf.Bytes(), streamAsked) {
				if e.stream(w, r) {
					e.served.Add(1)
					e.streamed.Add(1)
				}
				return
			}
			start := time.Now()
			if !e.wait(r.Context(), start, time.Duration(e.delay.Load())) {
				return
			}
			e.delivered(start)
			answer, size := body, clen
			if bytes.Contains(buf.Bytes(), toolsOffered) && bytes.Count(buf.Bytes(), toolResult) < 2 {
				answer, size = call, callLen
			}
			h := w.Header()
			h["Content-Type"] = []string{"application/json"}
			h["Content-Length"] = []string{size}
			if _, err := w.Write(answer); err == nil {
				e.served.Add(1)
			}
		}),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				e.conns.Add(1)
			}
		},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute, // longer than any pause between two of rubric's requests
	}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// wait waits until start + d, less the lateness the endpoint has learnt of
// its timers, and reports false when the request ended first. Go's timers
// fire late, by 0.7 ms on average at 50 ms on this machine, which alone
// would cost the client 1.5% of the ideal. The endpoint learns that
// lateness (delivered) and asks for that much less, so that the latency it
// delivers is the scenario's; it reports what it delivered (delay_ms).
func (e *endpoint) wait(ctx context.Context, start time.Time, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(max(time.Until(start.Add(d))-time.Duration(e.late.Load()), 0))
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

// delivered records the delay delivered to a request that started at start,
// and learns how late the timers were.
func (e *endpoint) delivered(start time.Time) {
	d := time.Duration(e.delay.Load())
	if d <= 0 {
		return
	}
	got := time.Since(start)
	late := e.late.Load()
	e.late.Store(late + (int64(got-d))/16)
	e.delaySum.Add(int64(got))
	e.delayed.Add(1)
}

// stream answers with the completion as server-sent events: the first half
// of the content at half the latency, the last token at the latency, each
// event flushed on its own. It reports whether every event was written.
func (e *endpoint) stream(w http.ResponseWriter, r *http.Request) bool {
	start := time.Now()
	d := time.Duration(e.delay.Load())
	h := w.Header()
	h["Content-Type"] = []string{"text/event-stream"}
	h["Cache-Control"] = []string{"no-cache"}
	f := w.(http.Flusher)
	for i, ev := range streamed {
		switch i {
		case 0:
			if !e.wait(r.Context(), start, d/2) {
				return false
			}
		case 1:
			if !e.wait(r.Context(), start, d) {
				return false
			}
			e.delivered(start)
		}
		if _, err := w.Write(ev); err != nil {
			return false
		}
		f.Flush()
	}
	return true
}

// reset sets the latency and zeroes the counters for the next run.
func (e *endpoint) reset(latency time.Duration) {
	e.delay.Store(int64(latency))
	e.served.Store(0)
	e.streamed.Store(0)
	e.wrong.Store(0)
	e.conns.Store(0)
	e.body.Store(0)
	e.delaySum.Store(0)
	e.delayed.Store(0)
}

// meanDelay is the mean delay the endpoint delivered since reset.
func (e *endpoint) meanDelay() time.Duration {
	n := e.delayed.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(e.delaySum.Load() / n)
}

func (e *endpoint) Close() error { return e.srv.Close() }

// bench holds what every scenario shares: the binary, the endpoint and a
// scratch folder.
type bench struct {
	bin  string
	dir  string
	ep   *endpoint
	keep bool // keep each scenario's folder
	// profiles, when set, is a folder for a CPU profile of each rubric run,
	// SCENARIO.pprof (rubric's hidden --cpuprofile).
	profiles string
}

// goTool returns the go command to build with.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// moduleRoot returns the folder of the go.mod that governs the current folder.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the rubric module: run from the repository or pass -bin")
	}
	return filepath.Dir(mod), nil
}

// buildRubric builds ./cmd/rubric of the current module into dir.
func buildRubric(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "rubric")
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", bin, "./cmd/rubric")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/rubric: %w\n%s", err, out)
	}
	return bin, nil
}

// writeInputs writes the scenario's dataset and suite into dir and returns the
// suite's path.
func writeInputs(dir, baseURL string, s scenario) (string, error) {
	f, err := os.Create(filepath.Join(dir, "cases.jsonl"))
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range s.Cases {
		fmt.Fprintf(w, `{"id":"c%07d","vars":{"ticket":"Invoice #%d was charged twice this month; please refund the second charge."},"expected":"billing"}`+"\n", i, i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	suite := map[string]any{
		"name": "bench-" + s.Name,
		"messages": []map[string]string{
			{"role": "system", "content": `Label the support ticket. Answer with JSON such as {"label": "billing"}.`},
			{"role": "user", "content": "Ticket {{ id }}: {{ ticket }}"},
		},
		"dataset": map[string]string{"path": "cases.jsonl"},
		"criteria": []map[string]any{
			{"name": "label", "type": "equals", "extract": map[string]string{"json": "label"}},
			{"name": "shape", "type": "regex", "pattern": `^\{"label": "[a-z_]+"\}$`},
		},
		"targets": []map[string]any{{
			"name":        "local",
			"provider":    "openai",
			"base_url":    baseURL,
			"model":       "bench",
			"concurrency": s.Concurrency,
			"timeout":     "30s",
			"stream":      s.Stream,
		}},
		"gate": []string{"pass_rate >= 1", "error_rate <= 0"},
	}
	if s.Steps == 3 {
		suite["tools"] = []map[string]any{{
			"type": "function",
			"function": map[string]any{
				"name":        "lookup_invoice",
				"description": "Find an invoice by number",
				"parameters": map[string]any{"type": "object", "required": []string{"invoice"},
					"properties": map[string]any{"invoice": map[string]string{"type": "string"}}},
			},
			"mock": map[string]any{"rules": []map[string]any{{"when": map[string]string{"invoice": "42"}, "result": map[string]any{"status": "paid", "charges": 2}}}},
		}}
	} else if s.Steps > 1 {
		return "", fmt.Errorf("scenario %s: %d steps per case; the endpoint knows 1 or 3", s.Name, s.Steps)
	}
	b, err := json.MarshalIndent(suite, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "suite.json")
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// report is the part of report.json the bench checks.
type report struct {
	Complete bool `json:"complete"`
	Targets  []struct {
		Cases   int `json:"cases"`
		Passed  int `json:"passed"`
		Errored int `json:"errored"`
		Stream  *struct {
			Responses int `json:"responses"`
		} `json:"stream"`
		Conversations *struct {
			Steps      int `json:"steps"`
			ToolErrors int `json:"tool_errors"`
		} `json:"conversations"`
	} `json:"targets"`
}

// run measures one scenario.
func (b *bench) run(ctx context.Context, s scenario) (result, error) {
	res := result{Scenario: s}
	dir, err := os.MkdirTemp(b.dir, s.Name+"-")
	if err != nil {
		return res, err
	}
	if !b.keep {
		defer os.RemoveAll(dir) // results.jsonl of a million cases is large
	}
	suite, err := writeInputs(dir, b.ep.URL, s)
	if err != nil {
		return res, fmt.Errorf("writing the inputs: %w", err)
	}
	out := filepath.Join(dir, "runs")
	b.ep.reset(s.Latency)

	// --no-history: the runs are thrown away, and indexing a million
	// results is not what the figures measure.
	args := []string{"run", suite, "--no-cache", "--no-progress", "--no-history", "--out", out}
	if b.profiles != "" {
		args = append([]string{"--cpuprofile", filepath.Join(b.profiles, s.Name+".pprof")}, args...)
	}
	if s.Workers > 0 {
		stop, err := b.startWorkers(ctx, dir, s)
		if err != nil {
			return res, err
		}
		defer stop()
		args = append(args, "--queue", os.Getenv(queueEnv))
	}
	if s.Shards > 0 {
		if args, err = b.runShards(ctx, dir, suite, s); err != nil {
			return res, err
		}
		args = append(args, "--no-history", "--out", out)
	}
	cmd := exec.CommandContext(ctx, b.bin, args...)
	if s.Bare {
		self, err := os.Executable()
		if err != nil {
			return res, err
		}
		args, err := json.Marshal(bareArgs{URL: b.ep.URL, Dataset: filepath.Join(dir, "cases.jsonl"), Concurrency: s.Concurrency, Stream: s.Stream})
		if err != nil {
			return res, err
		}
		cmd = exec.CommandContext(ctx, self)
		cmd.Env = append(os.Environ(), bareEnv+"="+string(args))
	}
	cmd.Dir = dir
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	res.Wall = time.Since(start)
	res.Served = b.ep.served.Load()
	res.Streamed = b.ep.streamed.Load()
	res.Conns = b.ep.conns.Load()
	res.BodyBytes = b.ep.body.Load()
	res.Delay = b.ep.meanDelay()
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSSKB = ru.Maxrss // KiB on Linux
			res.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	name := "rubric run"
	if s.Bare {
		name = "the bare client"
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w\nstdout:\n%s\nstderr:\n%s", name, err, tail(stdout.String()), tail(stderr.String()))
	}
	if res.Served != s.requests() {
		return res, fmt.Errorf("the endpoint served %d requests for %d cases of %d steps (and %d to a wrong path)", res.Served, s.Cases, max(s.Steps, 1), b.ep.wrong.Load())
	}
	if n := b.ep.wrong.Load(); n > 0 {
		return res, fmt.Errorf("the endpoint got %d requests for another path than POST /v1/chat/completions", n)
	}
	want := int64(0)
	if s.Stream {
		want = int64(s.Cases)
	}
	if res.Streamed != want {
		return res, fmt.Errorf("the endpoint streamed %d answers, want %d", res.Streamed, want)
	}
	if s.Bare {
		want := fmt.Sprintf("bare client: %d answers", s.Cases)
		if !strings.Contains(stderr.String(), want) {
			return res, fmt.Errorf("the bare client did not get every expected answer: %s", tail(stderr.String()))
		}
		return res, nil
	}
	reports, _ := filepath.Glob(filepath.Join(out, "*", "report.json"))
	if len(reports) != 1 {
		return res, fmt.Errorf("want one report.json under %s, found %d", out, len(reports))
	}
	raw, err := os.ReadFile(reports[0])
	if err != nil {
		return res, err
	}
	var rep report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return res, fmt.Errorf("%s: %w", reports[0], err)
	}
	if !rep.Complete || len(rep.Targets) != 1 || rep.Targets[0].Cases != s.Cases || rep.Targets[0].Passed != s.Cases {
		return res, fmt.Errorf("report.json: complete %v, targets %+v; want complete and %d cases passed", rep.Complete, rep.Targets, s.Cases)
	}
	if cv := rep.Targets[0].Conversations; s.Steps > 1 && (cv == nil || int64(cv.Steps) != s.requests() || cv.ToolErrors != 0) {
		return res, fmt.Errorf("report.json: conversations %+v; want %d steps and no tool error", cv, s.requests())
	}
	if st := rep.Targets[0].Stream; s.Stream && (st == nil || st.Responses != s.Cases) {
		return res, fmt.Errorf("report.json: stream %+v; want the timings of %d streamed responses", st, s.Cases)
	}
	return res, nil
}

// startWorkers starts the scenario's rubric worker processes, and returns
// what stops them (SIGTERM, then waits).
func (b *bench) startWorkers(ctx context.Context, dir string, s scenario) (stop func(), err error) {
	url := os.Getenv(queueEnv)
	if url == "" {
		return nil, fmt.Errorf("scenario %s needs a PostgreSQL database for its queue: set $%s to its URL", s.Name, queueEnv)
	}
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range cmds {
			_ = c.Wait()
		}
	}
	for i := range s.Workers {
		c := exec.CommandContext(ctx, b.bin, "worker", "--queue", url, "--no-cache", "--concurrency", strconv.Itoa(s.Concurrency))
		c.Dir = dir
		c.Stderr = &prefixed{w: os.Stderr, prefix: fmt.Sprintf("worker %d: ", i+1)}
		if err := c.Start(); err != nil {
			stop()
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}

// prefixed writes what a worker says, each write after a prefix.
type prefixed struct {
	w      io.Writer
	prefix string
}

func (p *prefixed) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.w, "%s%s", p.prefix, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// tail returns the end of a command's output, enough to see why it failed.
func tail(s string) string {
	const n = 4000
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// pick returns the scenarios a -scenario value names.
func pick(names string) ([]scenario, error) {
	if names == "all" {
		return scenarios, nil
	}
	var out []scenario
	names = strings.ReplaceAll(names, "bare,", "bare-instant,bare-latency,")
	if strings.HasSuffix(names, ",bare") || names == "bare" {
		names = strings.TrimSuffix(names, "bare") + "bare-instant,bare-latency"
	}
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, s := range scenarios {
			if s.Name == name {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			valid := make([]string, len(scenarios))
			for i, s := range scenarios {
				valid[i] = s.Name
			}
			return nil, fmt.Errorf("unknown scenario %q: expected %s, bare (both bare twins), or all", name, strings.Join(valid, ", "))
		}
	}
	return out, nil
}

func main() {
	if code, ok := bareMain(os.Stderr); ok {
		os.Exit(code)
	}
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the benchmark with the command line args and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rubric-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	names := fs.String("scenario", defaultScenarios, "comma-separated `NAMES` of scenarios to run, or all")
	bin := fs.String("bin", "", "measure the rubric binary at `PATH` instead of building ./cmd/rubric")
	keep := fs.Bool("keep", false, "keep the temporary folder (datasets, suites, results)")
	profiles := fs.String("cpuprofile", "", "write a CPU profile of each rubric run to `DIR`/SCENARIO.pprof")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./cmd/rubric-bench [-scenario NAMES] [-bin PATH] [-keep] [-cpuprofile DIR]\n\n")
		fmt.Fprintf(stderr, "Runs the rubric binary against a local endpoint and prints wall time, cases/s,\n")
		fmt.Fprintf(stderr, "%% of the ideal and peak RSS per scenario, with PASS/MISS against the targets.\n\nScenarios:\n")
		for _, s := range scenarios {
			fmt.Fprintf(stderr, "  %-19s %9d cases, concurrency %d, latency %v, target %s\n", s.Name, s.Cases, s.Concurrency, s.Latency, s.target(false, false))
		}
		fmt.Fprintf(stderr, "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rubric-bench: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	picked, err := pick(*names)
	if err != nil {
		fmt.Fprintf(stderr, "rubric-bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *profiles != "" {
		if err := os.MkdirAll(*profiles, 0o755); err != nil {
			fmt.Fprintf(stderr, "rubric-bench: -cpuprofile: %v\n", err)
			return 2
		}
		if p, err := filepath.Abs(*profiles); err == nil {
			*profiles = p
		}
	}
	results, err := benchmarkProfiled(ctx, picked, *bin, *keep, *profiles, stderr)
	if len(results) > 0 {
		if werr := writeTable(stdout, results); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "rubric-bench: %v\n", err)
		return 1
	}
	return 0
}

// benchmark runs the scenarios in turn and returns the results of those that
// ran; it stops at the first that fails.
func benchmark(ctx context.Context, picked []scenario, bin string, keep bool, log io.Writer) ([]result, error) {
	return benchmarkProfiled(ctx, picked, bin, keep, "", log)
}

// benchmarkProfiled is benchmark with a CPU profile of each rubric run in
// the folder profiles, when set.
func benchmarkProfiled(ctx context.Context, picked []scenario, bin string, keep bool, profiles string, log io.Writer) ([]result, error) {
	dir, err := os.MkdirTemp("", "rubric-bench-")
	if err != nil {
		return nil, err
	}
	if keep {
		fmt.Fprintf(log, "rubric-bench: keeping %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if bin == "" {
		fmt.Fprintf(log, "rubric-bench: building ./cmd/rubric\n")
		if bin, err = buildRubric(ctx, dir); err != nil {
			return nil, err
		}
	}
	ep, err := startEndpoint()
	if err != nil {
		return nil, err
	}
	defer ep.Close()
	b := &bench{bin: bin, dir: dir, ep: ep, keep: keep, profiles: profiles}
	var results []result
	bare := map[string]*result{} // the bare twins measured, by rubric's scenario
	ran := map[string]*result{}  // rubric's runs, by scenario
	for _, s := range picked {
		fmt.Fprintf(log, "rubric-bench: %s: %d cases, concurrency %d, latency %v\n", s.Name, s.Cases, s.Concurrency, s.Latency)
		r, err := b.run(ctx, s)
		if err != nil {
			return results, fmt.Errorf("%s: %w", s.Name, err)
		}
		who := "rubric"
		if s.Bare {
			who = "the bare client"
			bare[strings.TrimPrefix(s.Name, barePrefix)] = &r
		} else if tw := bare[s.Name]; tw != nil {
			if tw.BodyBytes != r.BodyBytes {
				return results, fmt.Errorf("%s: rubric sent %d bytes of request bodies, the bare client %d: they must send the same bodies", s.Name, r.BodyBytes, tw.BodyBytes)
			}
			r.Bare = tw
		}
		if ref := ran[s.Ref]; s.Ref != "" && ref != nil {
			r.Ref = ref
		}
		if !s.Bare {
			ran[s.Name] = &r
		}
		if s.Shards > 0 {
			fmt.Fprintf(log, "rubric-bench: %s: %d requests in %d shards, then rubric merge in %.3fs, which used %.2fs of CPU (%.0f µs a result), peak RSS %d KiB\n",
				s.Name, r.Served, s.Shards, r.Wall.Seconds(), r.CPU.Seconds(), float64(r.CPU.Microseconds())/float64(s.Cases), r.MaxRSSKB)
		} else {
			fmt.Fprintf(log, "rubric-bench: %s: %d requests on %d connections in %.3fs; %s used %.2fs of CPU (%.0f µs a case), peak RSS %d KiB\n",
				s.Name, r.Served, r.Conns, r.Wall.Seconds(), who, r.CPU.Seconds(), float64(r.CPU.Microseconds())/float64(s.Cases), r.MaxRSSKB)
		}
		results = append(results, r)
	}
	return results, nil
}

// runShards runs the scenario's cases in s.Shards shards, each in a runs
// folder of its own under dir, and returns the rubric merge command of
// their runs.
func (b *bench) runShards(ctx context.Context, dir, suite string, s scenario) ([]string, error) {
	args := []string{"merge"}
	for k := 1; k <= s.Shards; k++ {
		out := filepath.Join(dir, fmt.Sprintf("shard-%d", k))
		cmd := exec.CommandContext(ctx, b.bin, "run", suite, "--no-cache", "--no-progress", "--no-history", "--out", out, "--shard", fmt.Sprintf("%d/%d", k, s.Shards))
		cmd.Dir = dir
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("shard %d/%d: %w\n%s", k, s.Shards, err, tail(string(msg)))
		}
		runs, _ := filepath.Glob(filepath.Join(out, "*", "report.json"))
		if len(runs) != 1 {
			return nil, fmt.Errorf("shard %d/%d: want one run under %s, found %d", k, s.Shards, out, len(runs))
		}
		args = append(args, filepath.Dir(runs[0]))
	}
	return args, nil
}
