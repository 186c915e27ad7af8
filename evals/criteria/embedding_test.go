package criteria_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
	"github.com/rubric-eval/rubric/evals/evalstest"
	"github.com/rubric-eval/rubric/runner/provider"
)

// embedServer is an OpenAI-compatible /embeddings endpoint whose vector for
// a text is vectors[text]; status, when set, answers the n-th request instead.
type embedServer struct {
	*httptest.Server
	vectors map[string]any
	status  func(n int) int

	n      atomic.Int32
	mu     sync.Mutex
	inputs [][]string
}

func newEmbedServer(t *testing.T, vectors map[string]any) *embedServer {
	t.Helper()
	s := &embedServer{vectors: vectors}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.n.Add(1))
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &req)
		s.mu.Lock()
		s.inputs = append(s.inputs, req.Input)
		s.mu.Unlock()
		if r.URL.Path != "/v1/embeddings" || req.Model != "embed-small" {
			http.Error(w, `{"error":{"message":"wrong path or model"}}`, http.StatusNotFound)
			return
		}
		if s.status != nil {
			if st := s.status(n); st != http.StatusOK {
				w.WriteHeader(st)
				io.WriteString(w, `{"error":{"message":"embedder busy"}}`)
				return
			}
		}
		var data []any
		for i, text := range req.Input {
			v, ok := s.vectors[text]
			if !ok {
				v = []float64{0, 0, 1}
			}
			data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": v})
		}
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "usage": map[string]any{"prompt_tokens": 4, "total_tokens": 4}})
	}))
	t.Cleanup(s.Close)
	return s
}

// embedEnv resolves "emb" to an openai target at srv with the embeddings
// model, decorated as a run does; any other name to a replay target.
func embedEnv(t *testing.T, srv *embedServer) criteria.Env {
	return criteria.Env{Target: func(field string, ref json.RawMessage) (*evals.Endpoint, error) {
		var name string
		json.Unmarshal(ref, &name)
		spec := evals.TargetSpec{Name: name, Provider: "openai", Model: "embed-small", Retry: &evals.RetrySpec{Attempts: 2},
			Config: json.RawMessage(`{"base_url": "` + srv.URL + `/v1"}`)}
		if name != "emb" {
			spec = evals.TargetSpec{Name: name, Provider: "replay"}
			return &evals.Endpoint{Spec: spec, Provider: &evalstest.Provider{}}, nil // no Embedder
		}
		return provider.Endpoint(spec, provider.Options{Retry: []provider.RetryOption{
			provider.RetrySleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() })}})
	}}
}

// TestEmbedding checks the cosine similarity against hand-computed values,
// and the responses it cannot score.
func TestEmbedding(t *testing.T) {
	srv := newEmbedServer(t, map[string]any{
		"Paris":             []float64{1, 0, 0},
		"paris, france":     []float64{3, 4, 0}, // cos with Paris: 3/5
		"The city of Paris": []float64{1, 1, 0}, // cos with Paris: 1/√2
		"Lyon":              []float64{-1, 0, 0},
		"zero":              []float64{0, 0, 0},
		"short":             []float64{1, 0},
		"empty vector":      []float64{},
		"big":               []float64{1e308, 1e308, 0},
	})
	env := embedEnv(t, srv)
	const spec = `{"name":"c","type":"embedding","target":"emb","threshold":0.65`
	tests := []struct {
		name     string
		extra    string
		output   string
		expected string
		want     evals.Verdict
	}{
		{"identical", "", "Paris", `"Paris"`, evals.Verdict{Score: 1, Pass: true, Reason: "cosine similarity 1.0000 to the reference (threshold 0.65)"}},
		{"3/5", "", "paris, france", `"Paris"`, evals.Verdict{Score: 0.6, Reason: "cosine similarity 0.6000 to the reference (threshold 0.65)"}},
		{"1/√2", "", "The city of Paris", `"Paris"`, evals.Verdict{Score: 1 / math.Sqrt2, Pass: true, Reason: "cosine similarity 0.7071 to the reference (threshold 0.65)"}},
		{"opposite scores 0", "", "Lyon", `"Paris"`, evals.Verdict{Score: 0, Reason: "cosine similarity -1.0000 to the reference (threshold 0.65)"}},
		{"best of several expected", "", "paris, france", `["Lyon","The city of Paris"]`, evals.Verdict{Score: 7 / (5 * math.Sqrt2), Pass: true, Reason: "cosine similarity 0.9899 to the closest of 2 references (threshold 0.65)"}},
		{"value template", `,"value":"{{ city }}"`, "Paris", `"ignored"`, evals.Verdict{Score: 1, Pass: true, Reason: "cosine similarity 1.0000 to the reference (threshold 0.65)"}},
		{"normalised first", `,"normalize":["lowercase"],"value":"PARIS, FRANCE"`, "Paris, France", "", evals.Verdict{Score: 1, Pass: true, Reason: "cosine similarity 1.0000 to the reference (threshold 0.65)"}},
		{"empty output", "", "", `"Paris"`, evals.Verdict{Reason: "the output is empty"}},
		{"extract fails", `,"extract":{"json":"a"}`, "Paris", `"Paris"`, fail(`extract: output is not JSON: invalid character 'P' looking for beginning of value at offset 1, near "Paris"`)},

		{"no expected", "", "Paris", "", unscoredV("no value to compare: set value or give the case an expected answer")},
		{"empty expected", "", "Paris", `""`, unscoredV("the reference is empty: there is nothing to compare the output with")},
		{"zero vector output", "", "zero", `"Paris"`, unscoredV("embeddings from emb: output and the reference: the output's embedding is a zero vector: the similarity is undefined")},
		{"zero vector reference", "", "Paris", `"zero"`, unscoredV("embeddings from emb: output and the reference: the reference's embedding is a zero vector: the similarity is undefined")},
		{"both zero", "", "zero", `"zero"`, unscoredV("embeddings from emb: output and the reference: both embeddings are zero vectors: the similarity is undefined")},
		{"wrong dimensions", "", "short", `["Paris","Lyon"]`, unscoredV("embeddings from emb: output and reference 1: the embeddings have different dimensions, 2 and 3")},
		{"empty vector", "", "empty vector", `"Paris"`, unscoredV("embeddings from emb: output and the reference: an embedding is empty")},
		{"overflow", "", "big", `"Paris"`, unscoredV("embeddings from emb: output and the reference: an embedding holds a value that is not a finite number")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := build(t, spec+tt.extra+"}", env)
			c := caseOf(t, tt.expected, `{"city":"Paris"}`)
			got := sc.Score(context.Background(), &evals.Input{Case: c, Output: tt.output})
			if got.Reason != tt.want.Reason || got.Pass != tt.want.Pass || got.Unscored != tt.want.Unscored || math.Abs(got.Score-tt.want.Score) > 1e-4 {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestEmbeddingRequests checks what is sent, that a 500 is retried by the
// decorators, and that a failing endpoint leaves the response unscored.
func TestEmbeddingRequests(t *testing.T) {
	srv := newEmbedServer(t, map[string]any{"Paris": []float64{1, 0}, "Lyon": []float64{0, 1}})
	srv.status = func(n int) int {
		if n == 1 || n >= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	sc := build(t, `{"name":"c","type":"embedding","target":"emb","threshold":0.5,"value":["Paris","Lyon"]}`, embedEnv(t, srv))
	v := sc.Score(context.Background(), &evals.Input{Output: "Paris"})
	if !v.Pass || v.Score != 1 {
		t.Errorf("after a retry: %+v", v)
	}
	if got := srv.inputs[0]; strings.Join(got, "|") != "Paris|Paris|Lyon" {
		t.Errorf("input %q: want the output, then each reference", got)
	}
	v = sc.Score(context.Background(), &evals.Input{Output: "Paris"})
	if want := unscoredV("embeddings from emb: http_status 500: gave up after 2 attempts: embedder busy"); v != want {
		t.Errorf("\n got %+v\nwant %+v", v, want)
	}
}

func TestEmbeddingBuildErrors(t *testing.T) {
	env := embedEnv(t, newEmbedServer(t, nil))
	tests := []struct{ name, spec, field, msg string }{
		{"no threshold", `{"name":"c","type":"embedding","target":"emb"}`, "threshold",
			"missing: expected the cosine similarity from 0 to 1 at which the output passes, such as 0.85 (each embedding model has its own scale)"},
		{"no target", `{"name":"c","type":"embedding","threshold":0.8}`, "target",
			"missing: expected the embeddings endpoint, a target's name or an inline target (provider openai, model an embeddings model)"},
		{"target cannot embed", `{"name":"c","type":"embedding","target":"rec","threshold":0.8}`, "target",
			`target "rec" (provider "replay") has no embeddings endpoint: expected an openai target with an embeddings model`},
		{"empty value", `{"name":"c","type":"embedding","target":"emb","threshold":0.8,"value":""}`, "value", "empty: expected a reference text to compare the output with"},
		{"empty value in a list", `{"name":"c","type":"embedding","target":"emb","threshold":0.8,"value":["a",""]}`, "value.1", "empty: expected a reference text to compare the output with"},
		{"field of another type", `{"name":"c","type":"embedding","target":"emb","threshold":0.8,"judge":"x"}`, "judge",
			`field "judge" does not apply to criterion type "embedding": its fields are name, type, weight, threshold, description, turn, extract, normalize, target, value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := criteria.New(specOf(t, tt.spec), env)
			var fe *evals.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || fe.Err.Error() != tt.msg {
				t.Errorf("got %v\nwant %s: %s", err, tt.field, tt.msg)
			}
		})
	}
	_, err := criteria.New(specOf(t, `{"name":"c","type":"embedding","target":"emb","threshold":0.8}`), criteria.Env{})
	var fe *evals.FieldError
	if !errors.As(err, &fe) || fe.Field != "target" || !strings.Contains(err.Error(), "cannot resolve the embeddings target") {
		t.Errorf("without Env.Target: %v", err)
	}
}
