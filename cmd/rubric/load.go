package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/provider"
	"github.com/rubric-eval/rubric/runner/store"
)

// loaded is a suite checked end to end, with its criteria and targets built.
type loaded struct {
	suite    *evals.Suite
	criteria []runner.Criterion
	targets  []runner.Target
	cases    int
	// judges are the targets criteria call, by name for those named (so that
	// criteria sharing a judge share its rate limits) and in order of use.
	judges      []*judgeTarget
	judgeByName map[string]*judgeTarget
	// resolving is set while a criterion's target is resolved: the target
	// the resolver checks is then one to call, not one to run, and its
	// provider is kept in resolved.
	resolving bool
	resolved  evals.Provider
}

// judgeTarget is a target that a criterion calls. It is built when the suite
// loads; the run builds its endpoint, with the same decorators as the
// targets under test and a cap on its requests in flight (use), before any
// criterion calls it.
type judgeTarget struct {
	spec evals.TargetSpec
	base evals.Provider
	ep   *evals.Endpoint
}

func (j *judgeTarget) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	return j.ep.Provider.Complete(ctx, req)
}

// Embed sends an embeddings request through the endpoint.
func (j *judgeTarget) Embed(ctx context.Context, req *evals.EmbedRequest) (*evals.EmbedResponse, error) {
	if j.ep.Embedder == nil {
		return nil, errors.New("the target's provider cannot embed texts")
	}
	return j.ep.Embedder.Embed(ctx, req)
}

// use builds the judge's endpoint for a run with the cache db (nil for none).
func (j *judgeTarget) use(db *store.DB) error {
	ep, err := provider.Endpoint(j.spec, provider.Options{Limit: true, Cache: func() *store.DB { return db }})
	if err != nil {
		return err
	}
	j.ep = ep
	return nil
}

// judge resolves and builds a target a criterion calls.
func (l *loaded) judge(resolve func(string, json.RawMessage) (*evals.TargetSpec, error), field string, ref json.RawMessage) (*evals.Endpoint, error) {
	var name string
	named := json.Unmarshal(ref, &name) == nil
	if j, ok := l.judgeByName[name]; named && ok {
		return j.endpoint(), nil
	}
	l.resolving = true
	spec, err := resolve(field, ref)
	p := l.resolved
	l.resolving, l.resolved = false, nil
	if err != nil {
		return nil, err
	}
	if p == nil { // the resolver built no provider
		if p, err = provider.New(*spec); err != nil {
			return nil, &evals.FieldError{Field: field, Err: err}
		}
	}
	j := &judgeTarget{spec: *spec, base: p}
	if err := j.use(nil); err != nil {
		return nil, &evals.FieldError{Field: field, Err: err}
	}
	l.judges = append(l.judges, j)
	if named {
		if l.judgeByName == nil {
			l.judgeByName = map[string]*judgeTarget{}
		}
		l.judgeByName[name] = j
	}
	return j.endpoint(), nil
}

// endpoint is what criteria call: the judge, whose endpoint the run
// rebuilds with the cache, and its capabilities as built at load.
func (j *judgeTarget) endpoint() *evals.Endpoint {
	ep := *j.ep
	ep.Provider = j
	if ep.Embedder != nil {
		ep.Embedder = j
	}
	return &ep
}

// loadSuite validates the suite, builds its criteria and targets through the
// registries, and reads the dataset once to check every case. All problems,
// from every stage, come back together. A large dataset takes a while to
// read: when ctx ends first, it returns an interrupted error.
func loadSuite(ctx context.Context, path string, opts evals.LoadOptions) (*loaded, error) {
	l := &loaded{}
	opts.Criterion = l.buildCriterion
	opts.Target = func(spec evals.TargetSpec) error {
		p, err := provider.New(spec)
		switch {
		case err != nil:
		case l.resolving:
			l.resolved = p
		default:
			l.targets = append(l.targets, runner.Target{Spec: spec, Provider: p})
		}
		return err
	}
	var dataErr error
	opts.Dataset = func(ctx context.Context, s *evals.Suite) []evals.Problem {
		n, err := datasets.Check(ctx, s)
		l.cases = n
		var ps evals.Problems
		if errors.As(err, &ps) {
			return ps
		}
		dataErr = err // not the data's fault: reading failed
		return nil
	}
	s, err := evals.Load(ctx, path, opts)
	if ctx.Err() != nil {
		return nil, interruptedLoading(path)
	}
	if err != nil {
		return nil, err
	}
	if dataErr != nil {
		return nil, dataErr
	}
	l.suite = s
	return l, nil
}

// buildCriterion builds a criterion through the registry and keeps it.
func (l *loaded) buildCriterion(spec evals.CriterionSpec, env evals.CriterionEnv) error {
	cenv := criteria.Env{Dir: env.Dir}
	if env.Target != nil {
		cenv.Target = func(field string, ref json.RawMessage) (*evals.Endpoint, error) {
			return l.judge(env.Target, field, ref)
		}
	}
	sc, err := criteria.New(spec, cenv)
	if err == nil {
		l.criteria = append(l.criteria, runner.Criterion{Spec: spec, Scorer: sc})
	}
	return err
}

// loadAll loads every suite, collecting the problems of all of them.
func loadAll(ctx context.Context, paths []string, opts evals.LoadOptions) ([]*loaded, error) {
	var all []*loaded
	var probs evals.Problems
	for _, p := range paths {
		l, err := loadSuite(ctx, p, opts)
		var ps evals.Problems
		switch {
		case errors.As(err, &ps):
			probs = append(probs, ps...)
		case err != nil:
			return nil, err
		default:
			all = append(all, l)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return all, nil
}

// interruptedLoading is the error of a load that Ctrl-C or SIGTERM cut
// short: nothing was sent, and it exits 130.
func interruptedLoading(path string) error {
	return withCode(exitInterrupted, fmt.Errorf("interrupted while loading %s: nothing was sent", path))
}
