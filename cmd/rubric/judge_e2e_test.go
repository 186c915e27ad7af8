package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// modelServer is one OpenAI-compatible endpoint serving three models: the
// model under test ("tiny-1", answering each case's label, wrong for c4 and
// c5), an LLM judge ("judge-1", failing its first two requests with 500,
// then judging honestly whether the output block holds the expected label),
// and an embeddings model ("embed-1", a one-hot vector per first letter).
type modelServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
	judge []map[string]any // the judge's request bodies
}

var (
	e2eAnswers = map[string]string{"c1": "billing", "c2": "refund", "c3": "billing", "c4": "refund", "c5": "", "c6": "shipping"}
	e2eLabels  = map[string]string{"c1": "billing", "c2": "refund", "c3": "billing", "c4": "billing", "c5": "shipping", "c6": "shipping"}
	blockRE    = regexp.MustCompile(`(?s)<<<BEGIN (\w+)>>>\n(.*?)\n?<<<END (\w+)>>>`)
)

func newModelServer(t *testing.T) *modelServer {
	s := &modelServer{calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *modelServer) count(model string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[model]
}

func (s *modelServer) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	b, _ := io.ReadAll(r.Body)
	json.Unmarshal(b, &body)
	model, _ := body["model"].(string)
	s.mu.Lock()
	s.calls[model]++
	n := s.calls[model]
	if model == "judge-1" {
		s.judge = append(s.judge, body)
	}
	s.mu.Unlock()

	if strings.HasSuffix(r.URL.Path, "/embeddings") {
		var data []any
		for i, in := range body["input"].([]any) {
			v := make([]float64, 26)
			if text := strings.ToLower(in.(string)); text != "" && text[0] >= 'a' && text[0] <= 'z' {
				v[text[0]-'a'] = 1
			}
			data = append(data, map[string]any{"index": i, "embedding": v})
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data})
		return
	}
	msgs := body["messages"].([]any)
	prompt := msgs[len(msgs)-1].(map[string]any)["content"].(string)
	var text string
	switch model {
	case "tiny-1":
		id := strings.TrimPrefix(prompt, "Ticket ")
		id, _, _ = strings.Cut(id, ":")
		text = e2eAnswers[id]
	case "judge-1":
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":{"message":"judge warming up"}}`)
			return
		}
		blocks := map[string]string{}
		for _, m := range blockRE.FindAllStringSubmatch(prompt, -1) {
			blocks[m[1]] = strings.TrimPrefix(m[2], "| ")
		}
		verdict := "N"
		if blocks["output"] != "" && blocks["output"] == blocks["expected"] {
			verdict = "Y"
		}
		text = fmt.Sprintf("The answer is %q and the label %q.\nVERDICT: %s", blocks["output"], blocks["expected"], verdict)
	default:
		w.WriteHeader(http.StatusNotFound)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 2},
	})
}

// TestJudgeEndToEnd runs a suite with an LLM judge, an embedding criterion
// and a label criterion through the binary: the judge's 500s are retried by
// its target's decorators, its calls are recorded with their temperature and
// seed, the report measures the labels, and a second run answers the judge
// from the cache.
func TestJudgeEndToEnd(t *testing.T) {
	t.Parallel()
	srv := newModelServer(t)
	dir := t.TempDir()
	var cases strings.Builder
	for i := 1; i <= 6; i++ {
		id := fmt.Sprintf("c%d", i)
		fmt.Fprintf(&cases, `{"id": %q, "vars": {"ticket": "problem %d"}, "expected": %q}`+"\n", id, i, e2eLabels[id])
	}
	suite := fmt.Sprintf(`{
  "name": "judged",
  "messages": [{"role": "user", "content": "Ticket {{ id }}: {{ ticket }}"}],
  "dataset": {"path": "cases.jsonl"},
  "criteria": [
    {"name": "intent", "type": "equals", "label": true, "normalize": ["trim"]},
    {"name": "graded", "type": "judge", "rubric": "Ticket: {{ input }}\nLabel given: {{ output }}\nRight label: {{ expected }}\nY if they are the same, else N.",
     "judge": {"name": "grader", "provider": "openai", "base_url": %[1]q, "model": "judge-1", "concurrency": 2,
               "retry": {"attempts": 4, "base_delay": "1ms", "max_delay": "2ms"}}},
    {"name": "close", "type": "embedding", "threshold": 0.9,
     "target": {"name": "emb", "provider": "openai", "base_url": %[1]q, "model": "embed-1"}}
  ],
  "targets": [{"name": "model", "provider": "openai", "base_url": %[1]q, "model": "tiny-1", "concurrency": 1}]
}
`, srv.URL+"/v1")
	writeFiles(t, dir, map[string]string{"suite.json": suite, "cases.jsonl": cases.String()})

	r := rubric(t, dir, nil, "run", "suite.json", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	// The targets criteria call are not run as targets.
	if !strings.Contains(r.stderr, "suite judged, 6 cases x 1 target (model)") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	results, _ := runFiles(t, dir, "runs", id)
	if len(results) != 6 {
		t.Fatalf("%d results", len(results))
	}
	if n := srv.count("judge-1"); n != 8 {
		t.Errorf("the judge got %d requests, want 6 and the 2 that failed", n)
	}
	for _, body := range srv.judge {
		if body["temperature"] != 0.0 || body["seed"] != 42.0 {
			t.Errorf("judge request with temperature %v, seed %v", body["temperature"], body["seed"])
		}
	}
	for _, res := range results {
		cid := res["case_id"].(string)
		scores := res["scores"].([]any)
		intent, graded, closeness := scores[0].(map[string]any), scores[1].(map[string]any), scores[2].(map[string]any)
		want := map[string]any{"expected": e2eLabels[cid], "predicted": e2eAnswers[cid]}
		if fmt.Sprint(intent["label"]) != fmt.Sprint(want) {
			t.Errorf("%s: label %v, want %v", cid, intent["label"], want)
		}
		right := e2eLabels[cid] == e2eAnswers[cid]
		verdict := map[bool]string{true: "Y", false: "N"}[right]
		judge, _ := graded["judge"].(map[string]any)
		votes, _ := judge["votes"].([]any)
		if judge["verdict"] != verdict || len(votes) != 1 {
			t.Fatalf("%s: judge record %v, want verdict %s", cid, graded["judge"], verdict)
		}
		v := votes[0].(map[string]any)
		if v["target"] != "grader" || v["model"] != "judge-1" || v["temperature"] != 0.0 || v["seed"] != 42.0 || v["verdict"] != verdict {
			t.Errorf("%s: vote %v", cid, v)
		}
		if graded["pass"] != right || !strings.HasPrefix(graded["reason"].(string), "verdict "+verdict+": The answer is") {
			t.Errorf("%s: judge score %v", cid, graded)
		}
		// One-hot by first letter: cosine 1 when the first letters agree.
		sim := 0.0
		if a := e2eAnswers[cid]; a != "" && a[0] == e2eLabels[cid][0] {
			sim = 1
		}
		if a := e2eAnswers[cid]; a == "" {
			if closeness["reason"] != "the output is empty" {
				t.Errorf("%s: embedding %v", cid, closeness)
			}
		} else if closeness["score"] != sim || closeness["pass"] != (sim == 1) {
			t.Errorf("%s: embedding %v, want score %v", cid, closeness, sim)
		}
	}

	var rep struct {
		Targets []struct {
			Criteria []struct {
				Name           string `json:"name"`
				Classification *struct {
					N       int     `json:"n"`
					Correct int     `json:"correct"`
					MacroF1 float64 `json:"macro_f1"`
					MicroF1 float64 `json:"micro_f1"`
					Labels  []struct {
						Label     string  `json:"label"`
						Precision float64 `json:"precision"`
						Recall    float64 `json:"recall"`
						F1        float64 `json:"f1"`
						Support   int     `json:"support"`
					} `json:"labels"`
					Confusion struct {
						Labels []string `json:"labels"`
						Counts [][]int  `json:"counts"`
					} `json:"confusion"`
				} `json:"classification"`
			} `json:"criteria"`
		} `json:"targets"`
	}
	readJSON(t, filepath.Join(dir, "runs", id, "report.json"), &rep)
	cl := rep.Targets[0].Criteria[0].Classification
	if cl == nil || rep.Targets[0].Criteria[1].Classification != nil {
		t.Fatalf("classification on the wrong criteria: %+v", rep.Targets[0].Criteria)
	}
	// Expected billing billing billing refund shipping shipping; predicted
	// billing billing refund refund "" shipping. Labels "", billing, refund,
	// shipping: F1 0, 0.8, 2/3, 2/3; macro 0.5333; micro 4/6.
	wantCM := [][]int{{0, 0, 0, 0}, {0, 2, 1, 0}, {0, 0, 1, 0}, {1, 0, 0, 1}}
	if cl.N != 6 || cl.Correct != 4 || math.Abs(cl.MicroF1-4.0/6) > 1e-9 || math.Abs(cl.MacroF1-(0.8+2.0/3+2.0/3)/4) > 1e-9 ||
		strings.Join(cl.Confusion.Labels, ",") != ",billing,refund,shipping" || fmt.Sprint(cl.Confusion.Counts) != fmt.Sprint(wantCM) {
		t.Errorf("classification %+v", cl)
	}
	wantLines(t, "stdout", r.stdout, "classification intent, model: 6 compared, micro F1 0.667 (accuracy), macro F1 0.533 over 4 labels")

	// Again: the judge's answers come from the cache, as the target's do.
	r = rubric(t, dir, nil, "run", "suite.json", "--out", "runs")
	if r.code != exitOK {
		t.Fatalf("second run: want exit 0\n%s", r)
	}
	if n := srv.count("judge-1"); n != 8 {
		t.Errorf("the judge got %d requests after the second run, want none more: its answers are cached", n)
	}
	results, _ = runFiles(t, dir, "runs", runIDs(t, r.stderr)[0])
	for _, res := range results {
		v := res["scores"].([]any)[1].(map[string]any)["judge"].(map[string]any)["votes"].([]any)[0].(map[string]any)
		if v["cached"] != true {
			t.Errorf("%s: vote %v not from the cache", res["case_id"], v)
		}
	}
}

// TestJudgeExample runs the bundled judge example, which replays both the
// assistant's answers and the judge's.
func TestJudgeExample(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	r := rubric(t, repoRoot(t), nil, "run", "examples/judge/suite.json", "--out", out)
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	wantLines(t, "stdout", r.stdout,
		"facts      judge   66.7% pass [30.0-90.3], mean 0.625",
		"classification topic, assistant-v1: 6 compared, micro F1 0.833 (accuracy), macro F1 0.822 over 3 labels",
		"gate held",
	)
	results, _ := runFiles(t, "", out, runIDs(t, r.stderr)[0])
	for _, res := range results {
		judge := res["scores"].([]any)[1].(map[string]any)["judge"].(map[string]any)
		want := map[string]string{"Q-1": "A", "Q-2": "A", "Q-3": "D", "Q-4": "B", "Q-5": "D", "Q-6": "A"}[res["case_id"].(string)]
		if judge["verdict"] != want {
			t.Errorf("%s: judge %v, want verdict %s", res["case_id"], judge, want)
		}
	}
}
