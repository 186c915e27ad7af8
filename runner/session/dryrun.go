package session

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/tiktoken-go/tokenizer"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
)

// Plan is what a run of suites would send, found by rendering every case
// and sending nothing (rubric run --dry-run).
type Plan struct {
	Suites []SuitePlan `json:"suites"`
	// Costs sums the cost estimates of every suite, one per currency.
	Costs []Cost `json:"costs,omitempty"`
}

// SuitePlan is what a run of one suite would send.
type SuitePlan struct {
	Suite string `json:"suite"`
	Path  string `json:"path"`
	// Cases is the number of cases read (after --limit); Repeat the times
	// each is sent to each target.
	Cases  int `json:"cases"`
	Repeat int `json:"repeat"`
	// RenderErrors counts the cases whose prompt could not be rendered: a
	// run records them as errors and sends nothing for them.
	RenderErrors int `json:"render_errors,omitempty"`
	// Targets are the targets run, in order; Judges the endpoints the
	// criteria call (LLM judges, embeddings), in order of first use.
	Targets []Estimate `json:"targets"`
	Judges  []Estimate `json:"judges,omitempty"`
}

// Estimate is what one target or judge would be sent, and what that would
// cost at its price table.
type Estimate struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Model    string `json:"model,omitempty"`
	// Criteria are, for a judge, the criteria that call it.
	Criteria []string `json:"criteria,omitempty"`
	// Requests counts the requests: for a target, cases x repeats; for a
	// judge, one per response of every target, for each criterion that
	// calls it.
	Requests int `json:"requests"`
	// Tokenizer names the encoding the tokens were counted with.
	Tokenizer string `json:"tokenizer"`
	// PromptTokens counts the tokens of every prompt. A judge's prompts are
	// counted with an empty response in them.
	PromptTokens int `json:"prompt_tokens"`
	// MaxResponseTokens is, for a judge, the most tokens the responses it
	// judges add to its prompts: the max_tokens of each target judged, for
	// each call. Nil when a target judged sets no max_tokens.
	MaxResponseTokens *int `json:"max_response_tokens,omitempty"`
	// MaxCompletionTokens is the most tokens the answers can have: the
	// endpoint's max_tokens for each request. Nil when it sets none, and
	// for an embeddings endpoint.
	MaxCompletionTokens *int `json:"max_completion_tokens,omitempty"`
	// Batch says the endpoint sends its requests as batches (batch: true),
	// which cost evals.BatchPriceFactor of the price table.
	Batch bool `json:"batch,omitempty"`
	// Cost is the estimate at the price table (at half of it for a batch);
	// nil without one.
	Cost *Cost `json:"cost,omitempty"`

	judge, chat bool // a judge's estimate; one that makes chat calls
	maxResponse int  // a judge's MaxResponseTokens, while counting
}

// Cost is an estimated cost: (input tokens x input price + output tokens x
// output price) / 1,000,000, the input tokens being the prompt tokens (and a
// judge's max response tokens), the output tokens the max completion tokens.
type Cost struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
	// AtLeast marks a lower bound: tokens that no max_tokens bounds (the
	// answers of an endpoint without it, the responses a judge is sent)
	// are not in Amount.
	AtLeast bool `json:"at_least,omitempty"`
}

// DryRun renders every case of every suite, as a run with opts (--limit,
// --repeat) would, and returns what the run would send, sending nothing:
// no run folder is made and no endpoint is called. The suites' endpoints
// need no response cache. A cost limit the run would refuse is refused.
func DryRun(ctx context.Context, suites []*build.Suite, opts Options) (*Plan, error) {
	if err := checkMaxCost(suites, opts); err != nil {
		return nil, err // what the run would refuse
	}
	tc := newTokenCounter()
	plan := &Plan{}
	for _, s := range suites {
		sp, err := planSuite(ctx, s, opts, tc)
		if err != nil {
			return nil, err
		}
		plan.Suites = append(plan.Suites, *sp)
	}
	plan.Costs = sumCosts(plan.Suites)
	return plan, nil
}

// planner is one suite's plan being counted.
type planner struct {
	s       *build.Suite
	repeat  int
	tc      *tokenCounter
	targets []Estimate
	codecs  []tokenizer.Codec // each target's
	judges  map[string]*Estimate
	jcodecs map[string]tokenizer.Codec
	order   []string // the judges, as s.Judges lists them
	// maxResponse is the most tokens the responses to one case (every
	// target, every repeat) add to the prompts of one call each; -1 when a
	// target sets no max_tokens.
	maxResponse int
}

// planSuite reads and renders every case of s.
func planSuite(ctx context.Context, s *build.Suite, opts Options, tc *tokenCounter) (*SuitePlan, error) {
	p := &planner{s: s, repeat: repeatOf(s, opts), tc: tc, judges: map[string]*Estimate{}, jcodecs: map[string]tokenizer.Codec{}}
	for _, ep := range s.Targets {
		c := tc.forModel(ep.Model)
		p.targets = append(p.targets, Estimate{Name: ep.Spec.Name, Provider: ep.Spec.Provider, Model: ep.Model, Tokenizer: c.GetName(), Batch: ep.Batch != nil})
		p.codecs = append(p.codecs, c)
		if mt := maxTokens(ep.Spec); mt >= 0 && p.maxResponse >= 0 {
			p.maxResponse += p.repeat * mt
		} else {
			p.maxResponse = -1
		}
	}
	for _, ep := range s.Judges {
		c := tc.forModel(ep.Model)
		p.judges[ep.Spec.Name] = &Estimate{Name: ep.Spec.Name, Provider: ep.Spec.Provider, Model: ep.Model, Tokenizer: c.GetName(), Batch: ep.Batch != nil, judge: true}
		p.jcodecs[ep.Spec.Name] = c
		p.order = append(p.order, ep.Spec.Name)
	}
	sp := &SuitePlan{Suite: s.Suite.Name, Path: s.Suite.Path, Repeat: p.repeat}
	src, err := datasets.Open(s.Suite)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Suite.Path, err)
	}
	defer src.Close()
	for sp.Cases < opts.Limit || opts.Limit == 0 {
		if sp.Cases%256 == 0 && ctx.Err() != nil {
			return nil, &build.Interrupted{Path: s.Suite.Path}
		}
		c, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Suite.Path, err)
		}
		sp.Cases++
		msgs, err := s.Suite.Render(c)
		if err != nil {
			sp.RenderErrors++
			continue
		}
		p.add(c, msgs)
	}
	p.finish(sp, specs(s.Targets), specs(s.Judges))
	return sp, nil
}

// add counts the requests of one case: to each target, and the calls the
// criteria make for each response.
func (p *planner) add(c *evals.Case, msgs []evals.Message) {
	for i := range p.targets {
		t := &p.targets[i]
		t.Requests += p.repeat
		t.PromptTokens += p.repeat * messageTokens(p.codecs[i], msgs)
		t.chat = true
	}
	responses := p.repeat * len(p.targets)
	in := &evals.Input{Case: c, Messages: msgs}
	for _, cr := range p.s.Criteria {
		cl, ok := cr.Scorer.(evals.Caller)
		if !ok {
			continue
		}
		calls, err := cl.Calls(in)
		if err != nil {
			continue // the criterion is unscored for the case, and calls nothing
		}
		for _, call := range calls {
			j := p.judges[call.Target]
			if j == nil {
				continue // every endpoint a criterion calls is a judge of the suite
			}
			if !slices.Contains(j.Criteria, cr.Spec.Name) {
				j.Criteria = append(j.Criteria, cr.Spec.Name)
			}
			codec := p.jcodecs[call.Target]
			n := 0
			if call.Messages != nil {
				n = messageTokens(codec, call.Messages)
				j.chat = true
			}
			for _, t := range call.Texts {
				n += textTokens(codec, t)
			}
			j.Requests += responses
			j.PromptTokens += responses * n
			j.maxResponse += p.maxResponse
		}
	}
}

// specs returns the specs of endpoints.
func specs(eps []*evals.Endpoint) []evals.TargetSpec {
	specs := make([]evals.TargetSpec, len(eps))
	for i, e := range eps {
		specs[i] = e.Spec
	}
	return specs
}

// finish sets the completion bounds and costs of the estimates and puts
// them in sp.
func (p *planner) finish(sp *SuitePlan, targets, judges []evals.TargetSpec) {
	for i := range p.targets {
		p.targets[i].bound(targets[i])
	}
	sp.Targets = p.targets
	for i, name := range p.order {
		j := p.judges[name]
		if p.maxResponse >= 0 && j.Requests > 0 {
			j.MaxResponseTokens = &j.maxResponse
		}
		j.bound(judges[i])
		sp.Judges = append(sp.Judges, *j)
	}
}

// bound sets the estimate's max completion tokens and its cost from spec.
func (e *Estimate) bound(spec evals.TargetSpec) {
	open := false // tokens no max_tokens bounds
	if mt := maxTokens(spec); mt >= 0 && e.chat {
		n := e.Requests * mt
		e.MaxCompletionTokens = &n
	} else if e.chat {
		open = true
	}
	input := e.PromptTokens
	if e.judge && e.Requests > 0 {
		if e.MaxResponseTokens == nil {
			open = true
		} else {
			input += *e.MaxResponseTokens
		}
	}
	if spec.Price == nil {
		return
	}
	output := 0
	if e.MaxCompletionTokens != nil {
		output = *e.MaxCompletionTokens
	}
	amount := (float64(input)*spec.Price.Input + float64(output)*spec.Price.Output) / 1e6
	if e.Batch {
		amount *= evals.BatchPriceFactor
	}
	e.Cost = &Cost{
		Amount:   amount,
		Currency: currency(spec.Price),
		AtLeast:  open && e.Requests > 0,
	}
}

// maxTokens is the target's params.max_tokens, -1 when it sets none.
func maxTokens(spec evals.TargetSpec) int {
	if spec.Params == nil || spec.Params.MaxTokens == nil {
		return -1
	}
	return *spec.Params.MaxTokens
}

// currency is the price table's currency, USD when it names none.
func currency(p *evals.PriceSpec) string {
	if p.Currency == "" {
		return "USD"
	}
	return p.Currency
}

// sumCosts adds up the costs of the suites' estimates, per currency, in the
// order the currencies first appear.
func sumCosts(suites []SuitePlan) []Cost {
	var sums []Cost
	for _, sp := range suites {
		for _, e := range slices.Concat(sp.Targets, sp.Judges) {
			if e.Cost == nil {
				continue
			}
			i := slices.IndexFunc(sums, func(c Cost) bool { return c.Currency == e.Cost.Currency })
			if i < 0 {
				sums = append(sums, Cost{Currency: e.Cost.Currency})
				i = len(sums) - 1
			}
			sums[i].Amount += e.Cost.Amount
			sums[i].AtLeast = sums[i].AtLeast || e.Cost.AtLeast
		}
	}
	return sums
}
