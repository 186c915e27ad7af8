// Package build is the one step between a suite file and a run: it loads
// the suite (evals.Load), builds its criteria through their registry, the
// endpoints of its targets and of the targets its criteria call (one pool:
// each judge is built once, with its decorators, and shared by every
// criterion that names it), and checks its dataset. Every problem of every
// part comes back at once, located in its file. rubric run, score and
// validate use it, and so will a worker.
package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
	"github.com/rubric-eval/rubric/runner/provider"
	"github.com/rubric-eval/rubric/runner/store"
)

// Options say what to build and with what.
type Options struct {
	Load evals.LoadOptions
	// Targets builds the targets to run (rubric run, validate); without it
	// only the criteria are built (rubric score: nothing is sent).
	Targets bool
	// Dataset reads the dataset once to check every case.
	Dataset bool
	// Cache opens the response cache, the first time an endpoint uses it;
	// nil for no cache.
	Cache func() *store.DB
	// Retry are options of every endpoint's retries, for tests.
	Retry []provider.RetryOption
	// Environ is the environment scorer processes inherit from; the
	// process's own when nil.
	Environ func() []string
}

// Suite is a suite ready to run: everything built once. Close it when the
// suite is done.
type Suite struct {
	Suite    *evals.Suite
	Targets  []*evals.Endpoint
	Criteria []evals.Criterion
	// Judges are the endpoints criteria call, in order of first use.
	Judges []*evals.Endpoint
	// Cases is the number of cases the dataset check read.
	Cases int

	closed bool
}

// Interrupted is the error of a load that ctx's end cut short: nothing was
// sent. It is a context.Canceled.
type Interrupted struct{ Path string }

func (e *Interrupted) Error() string {
	return fmt.Sprintf("interrupted while loading %s: nothing was sent", e.Path)
}

func (e *Interrupted) Unwrap() error { return context.Canceled }

// builder is one suite being built.
type builder struct {
	opts  Options
	out   *Suite
	named map[string]*evals.Endpoint // judges by target name
	// judge is set while a criterion's target reference is resolved: the
	// target evals.Load then checks is one to call, not one to run.
	judge  bool
	judged *evals.Endpoint
}

// Load loads the suite at path and builds it.
func Load(ctx context.Context, path string, opts Options) (*Suite, error) {
	b := &builder{opts: opts, out: &Suite{}, named: map[string]*evals.Endpoint{}}
	lo := opts.Load
	lo.Criterion = b.criterion
	if opts.Targets {
		lo.Target = b.target
	}
	var dataErr error
	if opts.Dataset {
		lo.Dataset = func(ctx context.Context, s *evals.Suite) []evals.Problem {
			n, err := datasets.Check(ctx, s)
			b.out.Cases = n
			var ps evals.Problems
			if errors.As(err, &ps) {
				return ps
			}
			dataErr = err // not the data's fault: reading failed
			return nil
		}
	}
	s, err := evals.Load(ctx, path, lo)
	switch {
	case ctx.Err() != nil:
		b.out.Close()
		return nil, &Interrupted{Path: path}
	case err != nil:
		b.out.Close()
		return nil, err
	case dataErr != nil:
		b.out.Close()
		return nil, dataErr
	}
	b.out.Suite = s
	return b.out, nil
}

// LoadAll loads and builds every suite, collecting the problems of all of
// them: none is returned unless all are sound.
func LoadAll(ctx context.Context, paths []string, opts Options) ([]*Suite, error) {
	var all []*Suite
	var probs evals.Problems
	for _, p := range paths {
		s, err := Load(ctx, p, opts)
		var ps evals.Problems
		switch {
		case errors.As(err, &ps):
			probs = append(probs, ps...)
		case err != nil:
			closeAll(all)
			return nil, err
		default:
			all = append(all, s)
		}
	}
	if len(probs) > 0 {
		closeAll(all)
		return nil, probs
	}
	return all, nil
}

func closeAll(ss []*Suite) {
	for _, s := range ss {
		s.Close()
	}
}

// endpoint builds the endpoint of spec; judges get a cap on their requests
// in flight, since the workers of every target call them.
func (b *builder) endpoint(spec evals.TargetSpec, judge bool) (*evals.Endpoint, error) {
	return provider.Endpoint(spec, provider.Options{Cache: b.opts.Cache, Limit: judge, Retry: b.opts.Retry})
}

// target builds a target evals.Load resolved: one to run, or the one a
// criterion's reference names.
func (b *builder) target(spec evals.TargetSpec) error {
	ep, err := b.endpoint(spec, b.judge)
	switch {
	case err != nil:
	case b.judge:
		b.judged = ep
	default:
		b.out.Targets = append(b.out.Targets, ep)
	}
	return err
}

// criterion builds a criterion through the registry.
func (b *builder) criterion(spec evals.CriterionSpec, env evals.CriterionEnv) error {
	cenv := criteria.Env{Dir: env.Dir, Environ: b.opts.Environ}
	if env.Target != nil {
		cenv.Target = func(field string, ref json.RawMessage) (*evals.Endpoint, error) {
			return b.resolve(env.Target, field, ref)
		}
	}
	sc, err := criteria.New(spec, cenv)
	if err == nil {
		b.out.Criteria = append(b.out.Criteria, evals.Criterion{Spec: spec, Scorer: sc})
	}
	return err
}

// resolve returns the endpoint a criterion's reference names, building it
// the first time: criteria that name one judge share it, and its limits.
func (b *builder) resolve(resolve func(string, json.RawMessage) (*evals.TargetSpec, error), field string, ref json.RawMessage) (*evals.Endpoint, error) {
	var name string
	named := json.Unmarshal(ref, &name) == nil
	if ep, ok := b.named[name]; named && ok {
		return ep, nil
	}
	b.judge = true
	spec, err := resolve(field, ref)
	ep := b.judged
	b.judge, b.judged = false, nil
	if err != nil {
		return nil, err
	}
	if ep == nil { // evals.Load checked the target without building it
		if ep, err = b.endpoint(*spec, true); err != nil {
			return nil, &evals.FieldError{Field: field, Err: err}
		}
	}
	b.out.Judges = append(b.out.Judges, ep)
	if named {
		b.named[name] = ep
	}
	return ep, nil
}

// Close closes what the suite's parts hold: the criteria's processes and
// the endpoints' connections. The suite cannot run after it; closing it
// again does nothing.
func (s *Suite) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, c := range s.Criteria {
		errs = append(errs, criteria.Close(c.Scorer))
	}
	for _, ep := range s.Targets {
		errs = append(errs, ep.Close())
	}
	for _, ep := range s.Judges {
		errs = append(errs, ep.Close())
	}
	return errors.Join(errs...)
}

// CriterionNames lists the criteria of the suites, each name once, in the
// order they first appear.
func CriterionNames(suites ...*Suite) []string {
	seen := map[string]bool{}
	var names []string
	for _, s := range suites {
		for _, c := range s.Criteria {
			if !seen[c.Spec.Name] {
				seen[c.Spec.Name] = true
				names = append(names, c.Spec.Name)
			}
		}
	}
	return names
}
