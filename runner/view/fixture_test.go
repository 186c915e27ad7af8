package view

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// The runs of the tests: a suite "qa" run three times against target
// "small" (120 cases each, tagged topic=billing or topic=shipping, with
// metadata lang), the newest with errors; and a run of another suite.

var day0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// caseSpec says how a fixture case ends.
type caseSpec func(i int) (status evals.Status, output string)

// passFirst passes the cases before k, fails the others.
func passFirst(k int) caseSpec {
	return func(i int) (evals.Status, string) {
		if i < k {
			return evals.StatusPassed, fmt.Sprintf("The answer to question %d, prorated.", i)
		}
		return evals.StatusFailed, fmt.Sprintf("I am not sure about question %d.", i)
	}
}

func caseID(i int) string { return fmt.Sprintf("c%03d", i) }

func topic(i int) string {
	if i%2 == 0 {
		return "billing"
	}
	return "shipping"
}

// mkResults makes n results of run id, as spec says.
func mkResults(id string, n int, spec caseSpec) []*evals.Result {
	var out []*evals.Result
	for i := range n {
		status, output := spec(i)
		r := &evals.Result{RunID: id, CaseID: caseID(i), Target: "small", Output: output, Status: status,
			Tags: []string{"topic=" + topic(i)}, Metadata: map[string]any{"lang": []string{"en", "de"}[i%2]},
			Vars: map[string]any{"question": fmt.Sprintf("question %d?", i)}, Expected: "prorated",
			Request: &evals.SentRequest{URL: "http://127.0.0.1:1/v1/chat/completions",
				Body: []byte(fmt.Sprintf(`{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"question %d?"}]}`, i))},
			Usage: evals.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}, LatencyMS: 120, Attempts: 1}
		switch status {
		case evals.StatusError:
			r.Output = ""
			r.Error = &evals.ResultError{Kind: evals.ErrKindTimeout, Message: "the request took longer than 30s"}
		default:
			pass := status == evals.StatusPassed
			score := 0.0
			if pass {
				score = 1
			}
			r.Score = &score
			reason := `got "` + output + `", expected it to contain "prorated"`
			r.Scores = []evals.Score{
				{Name: "fact", Type: "contains", Weight: 1, Score: score, Pass: pass, Reason: reason},
				{Name: "tone", Type: "llm_judge", Weight: 1, Score: 1, Pass: true, Reason: "polite",
					Judge: &evals.Judgement{Verdict: "good", Votes: []evals.JudgeVote{{Target: "judge", Model: "judge-1", Seed: 7, Verdict: "good"}}}},
			}
		}
		out = append(out, r)
	}
	return out
}

// summarize makes the report of results as a run would, in the parts the
// viewer shows.
func summarize(id, suite string, started time.Time, results []*evals.Result) *evals.Summary {
	t := evals.TargetSummary{Name: "small", Provider: "openai", Model: "small-1"}
	slices := map[string]*evals.SliceSummary{}
	var order []string
	for _, r := range results {
		t.Cases++
		switch r.Status {
		case evals.StatusPassed:
			t.Passed++
		case evals.StatusFailed:
			t.Failed++
		case evals.StatusError:
			t.Errored++
			if t.Errors == nil {
				t.Errors = map[string]int{}
			}
			t.Errors[r.Error.Kind]++
		}
		for _, name := range []string{r.Tags[0], "lang=" + r.Metadata["lang"].(string)} {
			s := slices[name]
			if s == nil {
				k, v, _ := strings.Cut(name, "=")
				s = &evals.SliceSummary{Key: k, Value: v}
				slices[name] = s
				order = append(order, name)
			}
			s.Cases++
			if r.Status == evals.StatusPassed {
				s.Passed++
			}
		}
	}
	t.PassRate = float64(t.Passed) / float64(t.Cases)
	t.Scored = t.Cases - t.Errored
	t.PassRateCI = &evals.Interval{Lo: t.PassRate - 0.08, Hi: t.PassRate + 0.08, Method: "wilson"}
	t.Mean, t.MeanCI = t.PassRate, &evals.Interval{Lo: t.PassRate - 0.09, Hi: t.PassRate + 0.09, Method: "bootstrap"}
	t.Criteria = []evals.CriterionSummary{{Name: "fact", Type: "contains", Weight: 1, N: t.Cases, Passed: t.Passed, PassRate: t.PassRate, Mean: t.PassRate},
		{Name: "tone", Type: "llm_judge", Weight: 1, N: t.Cases, Passed: t.Cases, PassRate: 1, Mean: 1,
			Classification: &evals.Classification{N: 2, Correct: 1, MacroF1: 0.5, MicroF1: 0.5,
				Labels:    []evals.LabelMetrics{{Label: "good", Precision: 1, Recall: 0.5, F1: 0.667, Support: 2, Predicted: 1}},
				Confusion: evals.Confusion{Labels: []string{"good", "bad"}, Counts: [][]int{{1, 1}, {0, 0}}}}}}
	for _, name := range order {
		s := slices[name]
		s.PassRate = float64(s.Passed) / float64(s.Cases)
		t.Slices = append(t.Slices, *s)
	}
	t.Repeats = &evals.RepeatSummary{N: 2, Reducer: "mean", Cases: t.Cases, Passed: t.Passed, PassRate: t.PassRate,
		PassAtK: []evals.KValue{{K: 1, Value: 0.5}, {K: 2, Value: 0.6}}, PassHatK: []evals.KValue{{K: 1, Value: 0.5}, {K: 2, Value: 0.4}},
		Flaky: 2, FlakyRate: 0.02, FlakyCases: []string{"c001", "c003"}}
	v := t.PassRate
	held := v >= 0.5
	sum := &evals.Summary{ReportVersion: evals.ReportVersion, RunID: id, Suite: suite, SuiteVersion: "1.0", Started: started,
		Finished: started.Add(time.Minute), Complete: true, Statistics: evals.DefaultStatistics(), Targets: []evals.TargetSummary{t},
		Gate: evals.GateVerdict{Held: held, Results: []evals.GateResult{{Expr: "pass_rate >= 0.5", Target: "small", Value: &v, Held: held,
			Margin: v - 0.5, Message: fmt.Sprintf("pass_rate %.3f, needs >= 0.5", v)},
			// A gate of the run, on no target: a judge's agreement.
			{Expr: "judge.fact.kappa >= 0.6", Judge: "fact", Message: "judge fact: judge.fact.kappa >= 0.6: no data (no agreement recorded)"}}}}
	return sum
}

// writeRun writes a run folder under root: its journal, its run.json, and
// its report unless sum is nil (a run still going).
func writeRun(t testing.TB, root, id string, started time.Time, results []*evals.Result, sum *evals.Summary) string {
	t.Helper()
	dir := filepath.Join(root, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	j, err := rundir.CreateJournal(filepath.Join(dir, rundir.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if err := j.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rundir.WriteManifest(dir, &rundir.Manifest{RunID: id, Started: started, Suite: "/suites/qa.json"}); err != nil {
		t.Fatal(err)
	}
	if sum != nil {
		if err := rundir.WriteReport(filepath.Join(dir, rundir.ReportFile), sum); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fixtureRuns writes the runs of the tests under a temporary folder and
// returns their folders by id.
func fixtureRuns(t testing.TB) map[string]string {
	t.Helper()
	root := t.TempDir()
	dirs := map[string]string{}
	add := func(id, suite string, day int, results []*evals.Result) {
		started := day0.Add(time.Duration(day) * 24 * time.Hour)
		dirs[id] = writeRun(t, root, id, started, results, summarize(id, suite, started, results))
	}
	add("r1", "qa", 0, mkResults("r1", 120, passFirst(60)))
	add("r2", "qa", 1, mkResults("r2", 120, passFirst(100)))
	r3 := mkResults("r3", 120, passFirst(90))
	for _, i := range []int{5, 7} {
		r3[i] = mkResults("r3", 120, func(int) (evals.Status, string) { return evals.StatusError, "" })[i]
	}
	add("r3", "qa", 2, r3)
	add("o1", "other", 3, mkResults("o1", 4, passFirst(1)))
	return dirs
}

// newTestServer serves the fixture runs as folders.
func newTestServer(t testing.TB, opts Options, dirs map[string]string) (*Server, *httptest.Server) {
	t.Helper()
	for _, id := range []string{"r1", "r2", "r3", "o1"} {
		if d, ok := dirs[id]; ok {
			opts.Runs = append(opts.Runs, d)
		}
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return day0.Add(4 * 24 * time.Hour) }
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// get fetches path and returns the status and the body.
func get(t testing.TB, ts *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// query builds a path with a query.
func query(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

var _ http.Handler = (*Server)(nil)
