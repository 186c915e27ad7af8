package evalstest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

func req(caseID string) *evals.Request { return &evals.Request{CaseID: caseID} }

func TestProviderAnswers(t *testing.T) {
	boom := errors.New("boom")
	p := &evalstest.Provider{
		Errors:  map[string]error{"bad": boom},
		Answers: map[string]string{"known": "yes"},
		Respond: func(_ context.Context, n int, r *evals.Request) (*evals.Response, error) {
			if r.CaseID == "scripted" {
				return &evals.Response{Text: fmt.Sprint("call ", n)}, nil
			}
			return nil, nil
		},
	}
	tests := []struct {
		caseID, text string
		err          error
	}{
		{"bad", "", boom},
		{"known", "yes", nil},
		{"scripted", "call 2", nil},
		{"scripted", "call 3", nil},
	}
	for _, tt := range tests {
		resp, err := p.Complete(t.Context(), req(tt.caseID))
		if err != tt.err || err == nil && resp.Text != tt.text {
			t.Errorf("%s: %+v, %v; want %q, %v", tt.caseID, resp, err, tt.text, tt.err)
		}
	}
	if _, err := p.Embed(t.Context(), &evals.EmbedRequest{CaseID: "bad"}); err != boom {
		t.Errorf("Embed for a failing case: %v, want boom", err)
	}
	if n, got := p.Count(), len(p.Requests()); n != 5 || got != 4 || p.Requests()[1].CaseID != "known" {
		t.Errorf("Count %d, %d requests; want 5 calls, 4 of them completions, in order", n, got)
	}
	plain := &evalstest.Provider{Text: "t"}
	if resp, err := plain.Complete(t.Context(), req("x")); err != nil || resp.Text != "t" {
		t.Errorf("Text: %+v, %v", resp, err)
	}
}

func TestProviderEmbeds(t *testing.T) {
	p := &evalstest.Provider{Vectors: func(s string) []float64 { return []float64{float64(len(s))} }}
	resp, err := p.Embed(t.Context(), &evals.EmbedRequest{Input: []string{"a", "bcd"}})
	if err != nil || len(resp.Vectors) != 2 || resp.Vectors[1][0] != 3 {
		t.Errorf("Embed = %+v, %v", resp, err)
	}
	ep := p.Endpoint(evals.TargetSpec{Name: "e", Model: "m"})
	if ep.Embedder == nil || ep.Model != "m" || ep.Spec.Name != "e" || !ep.StructuredOutputs {
		t.Errorf("Endpoint = %+v", ep)
	}
	if _, ok := p.WithoutEmbed().(evals.Embedder); ok {
		t.Error("WithoutEmbed is an Embedder")
	}
	if _, err := p.WithoutEmbed().Complete(t.Context(), req("x")); err != nil || p.Count() != 2 {
		t.Errorf("WithoutEmbed's Complete: %v, %d calls", err, p.Count())
	}
}

// TestProviderConcurrent counts the requests in flight and honours a
// canceled context while it waits.
func TestProviderConcurrent(t *testing.T) {
	p := &evalstest.Provider{Delay: 20 * time.Millisecond}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				p.Complete(t.Context(), req("c"))
			} else {
				p.Embed(t.Context(), &evals.EmbedRequest{Input: []string{"x"}})
			}
		})
	}
	wg.Wait()
	if p.Peak() < 2 || p.Peak() > 8 || p.InFlight() != 0 || p.Count() != 8 {
		t.Errorf("peak %d, in flight %d, %d calls", p.Peak(), p.InFlight(), p.Count())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	slow := &evalstest.Provider{Delay: time.Hour}
	if _, err := slow.Complete(ctx, req("c")); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if calls := p.Calls(); calls[0].At.IsZero() || calls[0].InFlight < 1 {
		t.Errorf("first call %+v", calls[0])
	}
}

// TestCanceledAfter: the context is canceled at the n+1th look, not before.
func TestCanceledAfter(t *testing.T) {
	ctx := evalstest.CanceledAfter(2)
	for i, want := range []error{nil, nil, context.Canceled, context.Canceled} {
		if got := ctx.Err(); got != want {
			t.Errorf("look %d: %v, want %v", i+1, got, want)
		}
	}
}
