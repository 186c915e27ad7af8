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
	"os"
	"strings"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
	"github.com/rubric-eval/rubric/evals/mock"
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
	// Buckets, when set, makes the buckets of each endpoint's rate limit,
	// given the endpoint: the target's name, or "judge " and the name of
	// a judge's; nil keeps them in this process.
	Buckets func(endpoint string) provider.Buckets
	// Environ is the environment, as os.Environ lists it: providers read
	// their API keys in it, and scorer processes inherit from it. The
	// process's own when nil.
	Environ func() []string
}

// lookupEnv finds a variable in the environment; the last setting wins.
func (o Options) lookupEnv(name string) (string, bool) {
	if o.Environ == nil {
		return os.LookupEnv(name)
	}
	env := o.Environ()
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// Suite is a suite ready to run: everything built once. Close it when the
// suite is done.
type Suite struct {
	Suite    *evals.Suite
	Targets  []*evals.Endpoint
	Criteria []evals.Criterion
	// Judges are the endpoints criteria call, in order of first use; the
	// Provider of each is a *provider.Switch, which the run may route.
	Judges []*evals.Endpoint
	// Cases is the number of cases the dataset check read.
	Cases int
	// Tools answers the tool calls of its conversations from their mocks.
	Tools *mock.Answerer
	// Simulator is the endpoint of the target that plays the user (the
	// suite's user_simulator); nil without one. It is one of Judges too,
	// which closes it.
	Simulator *evals.Endpoint

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
	s     *evals.Suite
	out   *Suite
	named map[string]*evals.Endpoint // judges by target name
}

// Load loads the suite at path (evals.Parse) and builds it: its criteria
// through the criteria registry, the endpoints of its targets and judges
// through the providers', once each; then it reads its dataset to check
// every case. The problems of every part come back together, located in
// their files, and nothing is returned unless all are sound.
func Load(ctx context.Context, path string, opts Options) (*Suite, error) {
	s, probs, err := evals.Parse(ctx, path, opts.Load)
	if err != nil {
		return nil, interrupted(ctx, path, err)
	}
	if s == nil {
		return nil, probs
	}
	b := &builder{opts: opts, s: s, out: &Suite{Suite: s}, named: map[string]*evals.Endpoint{}}
	probs = append(probs, b.criteria()...)
	if opts.Targets {
		probs = append(probs, b.targets()...)
		probs = append(probs, b.simulator()...)
	}
	probs = append(probs, b.tools()...)
	// The cases are checked too, when the parts they depend on are sound,
	// so that one pass reports the suite's problems and the dataset's.
	if opts.Dataset && s.Sound("/dataset") && s.Sound("/messages") {
		n, err := datasets.Check(ctx, s)
		b.out.Cases = n
		var ps evals.Problems
		switch {
		case ctx.Err() != nil:
		case errors.As(err, &ps):
			probs = append(probs, ps...)
		case err != nil: // not the data's fault: reading failed
			b.out.Close()
			return nil, err
		}
	}
	if ctx.Err() != nil {
		// The checks cut short would report problems that are not there.
		b.out.Close()
		return nil, &Interrupted{Path: path}
	}
	if len(probs) > 0 {
		b.out.Close()
		return nil, evals.SortProblems(probs)
	}
	return b.out, nil
}

// interrupted is err, or the error of a load cut short when ctx ended.
func interrupted(ctx context.Context, path string, err error) error {
	if ctx.Err() != nil {
		return &Interrupted{Path: path}
	}
	return err
}

// criteria builds every sound criterion; one the parse found fault with is
// not built, which would only report its problem again.
func (b *builder) criteria() []evals.Problem {
	var probs []evals.Problem
	for _, c := range b.s.Criteria {
		if c.Type == "" || !b.s.Sound(c.Pointer) {
			continue
		}
		env := criteria.Env{Dir: b.s.Dir, Environ: b.opts.Environ,
			Target: func(field string, ref json.RawMessage) (*evals.Endpoint, error) {
				return b.judge(c, field, ref)
			}}
		sc, err := criteria.New(c, env)
		if err != nil {
			probs = append(probs, b.s.CriterionProblems(c, err)...)
			continue
		}
		b.out.Criteria = append(b.out.Criteria, evals.Criterion{Spec: c, Scorer: sc})
	}
	return probs
}

// tools makes the answerer of tool calls, and finds the programs of the
// suite's exec mocks now, so that a missing one is a problem of the suite,
// not a tool error in every case. Exec mocks run without the credentials of
// any target.
func (b *builder) tools() []evals.Problem {
	var secret []string
	for _, t := range b.out.Targets {
		secret = append(secret, t.SecretEnv...)
	}
	environ := os.Environ
	if b.opts.Environ != nil {
		environ = b.opts.Environ
	}
	b.out.Tools = &mock.Answerer{Dir: b.s.Dir, Environ: environ(), SecretEnv: secret}
	var probs []evals.Problem
	for i, t := range b.s.Tools {
		ptr := fmt.Sprintf("/tools/%d/mock", i)
		if t.Mock == nil || !b.s.Sound(ptr) {
			continue
		}
		if err := b.out.Tools.Check(*t.Mock); err != nil {
			probs = append(probs, b.s.FieldProblems(ptr, err)...)
		}
	}
	return probs
}

// simulator builds the endpoint of the target that plays the user, shared
// with a judge of the same name.
func (b *builder) simulator() []evals.Problem {
	sim := b.s.UserSimulator
	if sim == nil || !b.s.Sound("/user_simulator") {
		return nil
	}
	ref, err := json.Marshal(sim.Target)
	if err != nil {
		return []evals.Problem{{File: b.s.Path, Msg: err.Error()}}
	}
	at := evals.CriterionSpec{Pointer: "/user_simulator"}
	ep, err := b.judge(at, "target", ref)
	if err != nil {
		var ps evals.Problems
		if errors.As(err, &ps) {
			return ps
		}
		return b.s.FieldProblems(at.Pointer, err)
	}
	b.out.Simulator = ep
	return nil
}

// targets builds the endpoint of every target to run.
func (b *builder) targets() []evals.Problem {
	var probs []evals.Problem
	for i := range b.s.ResolvedTargets {
		t := &b.s.ResolvedTargets[i]
		ep, err := b.endpoint(*t, false)
		if err != nil {
			probs = append(probs, t.Problems(err)...)
			continue
		}
		b.out.Targets = append(b.out.Targets, ep)
	}
	return probs
}

// endpoint builds the endpoint of spec; judges get a cap on their requests
// in flight, since the workers of every target call them.
func (b *builder) endpoint(spec evals.TargetSpec, judge bool) (*evals.Endpoint, error) {
	opts := provider.Options{Cache: b.opts.Cache, Limit: judge, Retry: b.opts.Retry,
		Env: provider.Env{LookupEnv: b.opts.lookupEnv, Environ: b.opts.Environ}}
	if b.opts.Buckets != nil {
		name := spec.Name
		if judge {
			name = "judge " + name
		}
		opts.Buckets = b.opts.Buckets(name)
	}
	return provider.Endpoint(spec, opts)
}

// judge returns the endpoint a criterion's reference names, building it the
// first time: criteria that name one judge share it, and its limits.
func (b *builder) judge(c evals.CriterionSpec, field string, ref json.RawMessage) (*evals.Endpoint, error) {
	var name string
	named := json.Unmarshal(ref, &name) == nil
	if ep, ok := b.named[name]; named && ok {
		return ep, nil
	}
	spec, err := b.s.ResolveTarget(c, field, ref)
	if err != nil {
		return nil, err
	}
	ep, err := b.endpoint(*spec, true)
	if err != nil {
		return nil, evals.Problems(spec.Problems(err))
	}
	// A run routes its judges' requests when they answer in batches
	// (runner/batch): the criteria hold the switch.
	ep.Provider = provider.NewSwitch(ep.Provider)
	b.out.Judges = append(b.out.Judges, ep)
	if named {
		b.named[name] = ep
	}
	return ep, nil
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
