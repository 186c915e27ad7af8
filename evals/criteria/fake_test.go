package criteria_test

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// fakeTarget is an in-process target for the criteria that call one: a judge
// that answers Y when the response block is not empty, and an embeddings
// endpoint whose vectors count a few features of each text.
func fakeTarget() *evalstest.Provider {
	return &evalstest.Provider{
		Respond: func(_ context.Context, _ int, req *evals.Request) (*evals.Response, error) {
			prompt := req.Messages[len(req.Messages)-1].Content
			if strings.Contains(prompt, "<<<BEGIN output>>>\n<<<END output>>>") {
				return &evals.Response{Text: "The response is empty.\nVERDICT: N"}, nil
			}
			return &evals.Response{Text: "The response says something.\nVERDICT: Y"}, nil
		},
		Vectors: func(s string) []float64 {
			return []float64{1, float64(utf8.RuneCountInString(s) % 7), float64(strings.Count(s, "x")), float64(strings.Count(s, " "))}
		},
	}
}

// conformanceEnv is an Env whose targets all resolve to fakeTarget, under
// the name given (or the field's, for an inline target).
func conformanceEnv(dir string) criteria.Env {
	return criteria.Env{Dir: dir, Target: func(field string, ref json.RawMessage) (*evals.Endpoint, error) {
		name := field
		json.Unmarshal(ref, &name)
		return fakeTarget().Endpoint(evals.TargetSpec{Name: name, Provider: "openai", Model: "fake-1"}), nil
	}}
}
