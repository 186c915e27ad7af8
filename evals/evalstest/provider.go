package evalstest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// Provider is a fake model endpoint: an evals.Provider and evals.Embedder
// that answers as its fields say, records every request, and counts the
// requests in it at once. Set the fields before the first request; after
// that, Provider is safe for concurrent use. The zero Provider answers every
// chat completion with an empty text and embeds every text as [1].
//
// A chat completion is answered, in this order: with the error Errors holds
// for its case, with the text Answers holds for its case, by Respond, or
// with Text.
type Provider struct {
	// Errors fail the requests of these case IDs, embeddings requests
	// included.
	Errors map[string]error
	// Answers are the texts of the answers, by case ID.
	Answers map[string]string
	// Respond answers the chat completions Errors and Answers leave: n is
	// the request's number, from 0, in the order the completions arrived.
	Respond func(ctx context.Context, n int, req *evals.Request) (*evals.Response, error)
	// Text answers the rest.
	Text string
	// Delay is how long each request takes, completions and embeddings
	// alike; the wait ends early, with ctx's error, when ctx ends.
	Delay time.Duration
	// Vectors embeds one text; nil embeds each as [1].
	Vectors func(text string) []float64

	mu          sync.Mutex
	calls       []Call
	completions int
	inFlight    int
	peak        int
}

// Call is a request the Provider got.
type Call struct {
	At time.Time
	// Request is a chat completion's request; nil for an embeddings one.
	Request *evals.Request
	// Embed is an embeddings request's; nil for a chat completion.
	Embed *evals.EmbedRequest
	// InFlight counts the requests in the Provider when this one arrived,
	// itself included.
	InFlight int
}

var (
	_ evals.Provider = (*Provider)(nil)
	_ evals.Embedder = (*Provider)(nil)
)

// Complete answers req as the fields say.
func (p *Provider) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	n := p.enter(Call{Request: req})
	defer p.leave()
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	if err, ok := p.Errors[req.CaseID]; ok {
		return nil, err
	}
	if text, ok := p.Answers[req.CaseID]; ok {
		return &evals.Response{Text: text}, nil
	}
	if p.Respond != nil {
		return p.Respond(ctx, n, req)
	}
	return &evals.Response{Text: p.Text}, nil
}

// Embed returns a vector for each of req's texts, or the error Errors holds
// for its case.
func (p *Provider) Embed(ctx context.Context, req *evals.EmbedRequest) (*evals.EmbedResponse, error) {
	p.enter(Call{Embed: req})
	defer p.leave()
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	if err, ok := p.Errors[req.CaseID]; ok {
		return nil, err
	}
	out := &evals.EmbedResponse{Vectors: make([][]float64, len(req.Input))}
	for i, s := range req.Input {
		if p.Vectors != nil {
			out.Vectors[i] = p.Vectors(s)
		} else {
			out.Vectors[i] = []float64{1}
		}
	}
	return out, nil
}

// enter records c and returns the number of the completions before it.
func (p *Provider) enter(c Call) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight++
	p.peak = max(p.peak, p.inFlight)
	c.At, c.InFlight = time.Now(), p.inFlight
	p.calls = append(p.calls, c)
	n := p.completions
	if c.Request != nil {
		p.completions++
	}
	return n
}

func (p *Provider) leave() {
	p.mu.Lock()
	p.inFlight--
	p.mu.Unlock()
}

func (p *Provider) wait(ctx context.Context) error {
	if p.Delay <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(p.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Calls returns the requests so far, completions and embeddings, in the
// order they arrived.
func (p *Provider) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// Requests returns the chat completions' requests so far, in order.
func (p *Provider) Requests() []*evals.Request {
	var out []*evals.Request
	for _, c := range p.Calls() {
		if c.Request != nil {
			out = append(out, c.Request)
		}
	}
	return out
}

// Count returns how many requests the Provider got, of both kinds.
func (p *Provider) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

// InFlight returns how many requests are in the Provider now.
func (p *Provider) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight
}

// Peak returns the most requests that were in the Provider at once.
func (p *Provider) Peak() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// Endpoint returns an endpoint of spec whose provider, and embedder, is p,
// as a criterion's environment resolves one, without decorators. The fake
// can do what is asked of it: its StructuredOutputs is true.
func (p *Provider) Endpoint(spec evals.TargetSpec) *evals.Endpoint {
	return &evals.Endpoint{Spec: spec, Provider: p, Embedder: p, Model: spec.Model, Params: spec.Params, StructuredOutputs: true}
}

// WithoutEmbed returns p as a provider with no embeddings endpoint: an
// evals.Provider that is not an evals.Embedder.
func (p *Provider) WithoutEmbed() evals.Provider { return completer{p} }

type completer struct{ p *Provider }

func (c completer) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	return c.p.Complete(ctx, req)
}
