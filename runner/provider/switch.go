package provider

import (
	"context"
	"sync/atomic"

	"github.com/rubric-eval/rubric/evals"
)

// Switch is the provider of a judge's endpoint, which the criteria that
// call the judge hold from the time they are built: its requests go to the
// provider it was last routed to, or to its own (Live) until then and
// after Route(nil). A run whose judges answer in batches (runner/batch)
// routes them for its passes: first to a recorder of what they would send,
// then to the answers of the judges' batches. Safe for concurrent use;
// Route is meant for the times between passes.
type Switch struct {
	live evals.Provider
	to   atomic.Pointer[evals.Provider]
}

// NewSwitch returns a Switch whose requests go to live.
func NewSwitch(live evals.Provider) *Switch { return &Switch{live: live} }

// Live returns the provider the Switch was made with.
func (s *Switch) Live() evals.Provider { return s.live }

// Route sends the Switch's requests to p from now on; nil sends them to
// Live again.
func (s *Switch) Route(p evals.Provider) {
	if p == nil {
		s.to.Store(nil)
		return
	}
	s.to.Store(&p)
}

// Complete implements evals.Provider.
func (s *Switch) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	if p := s.to.Load(); p != nil {
		return (*p).Complete(ctx, req)
	}
	return s.live.Complete(ctx, req)
}
