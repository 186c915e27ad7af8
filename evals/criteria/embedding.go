package criteria

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/rubric-eval/rubric/evals"
)

var _ evals.Scorer = (*Embedding)(nil)

type embeddingConfig struct {
	commonConfig
	Target json.RawMessage `json:"target"`
	Value  json.RawMessage `json:"value"`
}

// Embedding is the scorer of the embedding criterion: the cosine similarity
// of the embeddings of the output and of a reference text (the best over
// several), from an embeddings endpoint. A similarity below 0 scores 0.
type Embedding struct {
	common
	target string
	p      evals.Embedder
	values values
}

func newEmbedding(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	var c embeddingConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newCommon(&c.commonConfig)
	if err != nil {
		return nil, err
	}
	if c.Threshold == nil {
		return nil, evals.FieldErrorf("threshold", "missing: expected the cosine similarity from 0 to 1 at which the output passes, such as 0.85 (each embedding model has its own scale)")
	}
	vals, err := parseValues(c.Value, cm.norm, "")
	if err != nil {
		return nil, err
	}
	for i, s := range vals.static {
		if s == "" {
			field := "value"
			if len(vals.static) > 1 {
				field = fmt.Sprintf("value.%d", i)
			}
			return nil, evals.FieldErrorf(field, "empty: expected a reference text to compare the output with")
		}
	}
	if len(c.Target) == 0 || string(c.Target) == "null" {
		return nil, evals.FieldErrorf("target", "missing: expected the embeddings endpoint, a target's name or an inline target (provider openai, model an embeddings model)")
	}
	if env.Target == nil {
		return nil, evals.FieldErrorf("target", "cannot resolve the embeddings target: the criterion was built without its suite's targets (criteria.Env.Target is nil)")
	}
	ep, err := env.Target("target", c.Target)
	if err != nil {
		return nil, err
	}
	if ep.Embedder == nil {
		return nil, evals.FieldErrorf("target", "target %q (provider %q) has no embeddings endpoint: expected an openai target with an embeddings model", ep.Spec.Name, ep.Spec.Provider)
	}
	return &Embedding{common: cm, target: ep.Spec.Name, p: ep.Embedder, values: vals}, nil
}

// Score implements evals.Scorer.
func (m *Embedding) Score(ctx context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	var buf [4]string
	refs, why, ok := m.values.resolve(in, m.norm, buf[:0])
	if !ok {
		return unscored(why)
	}
	for _, r := range refs {
		if r == "" {
			return unscored("the reference is empty: there is nothing to compare the output with")
		}
	}
	s, why, ok := m.subject(in.Output)
	if !ok {
		return m.verdict(0, why)
	}
	if s == "" {
		return m.verdict(0, "the output is empty")
	}
	c := in.Case
	if c == nil {
		c = &noCase
	}
	input := make([]string, 0, 1+len(refs))
	input = append(append(input, s), refs...)
	resp, err := m.p.Embed(ctx, &evals.EmbedRequest{Target: m.target, CaseID: c.ID, Repeat: in.Repeat, Input: input})
	if err != nil {
		return unscored(fmt.Sprintf("embeddings from %s: %s", m.target, callError(err)))
	}
	if len(resp.Vectors) != len(input) {
		return unscored(fmt.Sprintf("embeddings from %s: %d vectors for %d texts", m.target, len(resp.Vectors), len(input)))
	}
	out := resp.Vectors[0]
	best := math.Inf(-1)
	for i, ref := range resp.Vectors[1:] {
		sim, why := cosine(out, ref)
		if why != "" {
			what := "the reference"
			if len(refs) > 1 {
				what = fmt.Sprintf("reference %d", i+1)
			}
			return unscored(fmt.Sprintf("embeddings from %s: output and %s: %s", m.target, what, why))
		}
		best = max(best, sim)
	}
	score := min(max(best, 0), 1)
	of := "the reference"
	if len(refs) > 1 {
		of = fmt.Sprintf("the closest of %d references", len(refs))
	}
	return m.verdict(score, fmt.Sprintf("cosine similarity %.4f to %s (threshold %g)", best, of, m.threshold))
}

var _ evals.Caller = (*Embedding)(nil)

// Calls implements evals.Caller: the one embeddings request Score sends for
// in, the response as the criterion sees it (the output as it is when
// extract finds nothing in it) and the references.
func (m *Embedding) Calls(in *evals.Input) ([]evals.Call, error) {
	refs, why, ok := m.values.resolve(in, m.norm, nil)
	if !ok {
		return nil, errors.New(why)
	}
	s, _, ok := m.subject(in.Output)
	if !ok {
		s = in.Output
	}
	return []evals.Call{{Target: m.target, Texts: append([]string{s}, refs...)}}, nil
}

// cosine returns the cosine similarity of a and b, or why it is undefined.
func cosine(a, b []float64) (float64, string) {
	switch {
	case len(a) == 0 || len(b) == 0:
		return 0, "an embedding is empty"
	case len(a) != len(b):
		return 0, fmt.Sprintf("the embeddings have different dimensions, %d and %d", len(a), len(b))
	}
	var dot, na, nb float64
	for i, x := range a {
		y := b[i]
		dot += x * y
		na += x * x
		nb += y * y
	}
	switch {
	case math.IsNaN(dot) || math.IsInf(dot, 0) || math.IsInf(na, 0) || math.IsInf(nb, 0):
		return 0, "an embedding holds a value that is not a finite number"
	case na == 0 && nb == 0:
		return 0, "both embeddings are zero vectors: the similarity is undefined"
	case na == 0:
		return 0, "the output's embedding is a zero vector: the similarity is undefined"
	case nb == 0:
		return 0, "the reference's embedding is a zero vector: the similarity is undefined"
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb)), ""
}
