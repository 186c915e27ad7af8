package criteria

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

var (
	_ evals.Scorer = (*Latency)(nil)
	_ evals.Scorer = (*Tokens)(nil)
	_ evals.Scorer = (*Cost)(nil)
)

// newCallCommon builds the common part of a criterion that judges the call
// rather than the output (latency, tokens, cost): extract and normalize do
// not apply.
func newCallCommon(typ string, c *commonConfig) (common, error) {
	return newNotOutputCommon(typ, c, "the call")
}

// newNotOutputCommon builds the common part of a criterion that judges
// something other than the output (what): extract and normalize do not
// apply.
func newNotOutputCommon(typ string, c *commonConfig, what string) (common, error) {
	for _, f := range []struct {
		name string
		set  bool
	}{{"extract", c.Extract != nil}, {"normalize", c.Normalize != nil}} {
		if f.set {
			return common{}, evals.FieldErrorf(f.name, "does not apply to criterion type %q: it judges %s, not the output", typ, what)
		}
	}
	return newCommon(c)
}

type latencyConfig struct {
	commonConfig
	MaxMS     *float64 `json:"max_ms"`
	MaxTTFTMS *float64 `json:"max_ttft_ms"`
}

// Latency passes when the call took at most max_ms, its recorded latency
// (for a cached or replayed response, that of the original call), and its
// first token came within max_ttft_ms, for a streamed response; either
// bound may be left out.
type Latency struct {
	common
	max, maxTTFT time.Duration // 0: no bound
}

func newLatency(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c latencyConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newCallCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	if c.MaxMS == nil && c.MaxTTFTMS == nil {
		return nil, evals.FieldErrorf("max_ms", "missing: expected the most milliseconds a call may take (max_ms), or its first token (max_ttft_ms), or both")
	}
	l := &Latency{common: cm}
	for _, b := range []struct {
		field string
		v     *float64
		dst   *time.Duration
	}{{"max_ms", c.MaxMS, &l.max}, {"max_ttft_ms", c.MaxTTFTMS, &l.maxTTFT}} {
		if b.v == nil {
			continue
		}
		if !(*b.v > 0) || *b.v > float64(24*time.Hour/time.Millisecond) {
			return nil, evals.FieldErrorf(b.field, "expected a number of milliseconds above 0 and at most a day, got %v", *b.v)
		}
		*b.dst = evals.Millis(*b.v)
	}
	return l, nil
}

// Score implements evals.Scorer.
func (l *Latency) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	var over []string
	if l.max > 0 {
		if in.Latency <= 0 {
			return unscored("no latency recorded for this response")
		}
		if in.Latency > l.max {
			over = append(over, fmt.Sprintf("took %s ms, expected at most %s ms", millis(in.Latency), millis(l.max)))
		}
	}
	if l.maxTTFT > 0 {
		if in.Response == nil || in.Response.Stream == nil {
			return unscored("no time to first token: the response was not streamed (set \"stream\": true on the target)")
		}
		ttft := evals.Millis(in.Response.Stream.FirstTokenMS)
		if ttft > l.maxTTFT {
			over = append(over, fmt.Sprintf("first token after %s ms, expected within %s ms", millis(ttft), millis(l.maxTTFT)))
		}
	}
	if over != nil {
		return l.verdict(0, strings.Join(over, "; "))
	}
	return l.verdict(1, "")
}

// millis writes d in milliseconds, to the microsecond.
func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Round(time.Microsecond))/float64(time.Millisecond), 'f', -1, 64)
}

type tokensConfig struct {
	commonConfig
	MaxCompletion *int `json:"max_completion"`
	MaxPrompt     *int `json:"max_prompt"`
	MaxTotal      *int `json:"max_total"`
}

// Tokens passes when the token counts the endpoint reported are within its
// bounds. A response without counts leaves it unscored.
type Tokens struct {
	common
	maxCompletion, maxPrompt, maxTotal int // -1: no bound
}

func newTokens(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c tokensConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newCallCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	t := &Tokens{common: cm}
	for _, b := range []struct {
		field string
		v     *int
		dst   *int
	}{
		{"max_completion", c.MaxCompletion, &t.maxCompletion},
		{"max_prompt", c.MaxPrompt, &t.maxPrompt},
		{"max_total", c.MaxTotal, &t.maxTotal},
	} {
		*b.dst = -1
		if b.v == nil {
			continue
		}
		if *b.v < 0 {
			return nil, evals.FieldErrorf(b.field, "expected an integer >= 0, got %d", *b.v)
		}
		*b.dst = *b.v
	}
	if t.maxCompletion < 0 && t.maxPrompt < 0 && t.maxTotal < 0 {
		return nil, evals.FieldErrorf("max_total", "missing: expected at least one of max_completion, max_prompt, max_total")
	}
	return t, nil
}

// Score implements evals.Scorer.
func (t *Tokens) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	u, why, ok := usageOf(in)
	if !ok {
		return unscored(why)
	}
	split := u.PromptTokens > 0 || u.CompletionTokens > 0
	total := u.TotalTokens
	if total == 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	var over []string
	for _, b := range []struct {
		what  string
		n     int
		max   int
		split bool // a count that a total alone does not give
	}{
		{"completion", u.CompletionTokens, t.maxCompletion, true},
		{"prompt", u.PromptTokens, t.maxPrompt, true},
		{"total", total, t.maxTotal, false},
	} {
		if b.max < 0 {
			continue
		}
		if b.split && !split {
			return unscored(fmt.Sprintf("the endpoint reported only a total of %d tokens, no %s count", total, b.what))
		}
		if b.n > b.max {
			over = append(over, fmt.Sprintf("%d %s tokens, expected at most %d", b.n, b.what, b.max))
		}
	}
	if over != nil {
		return t.verdict(0, strings.Join(over, "; "))
	}
	return t.verdict(1, "")
}

// usageOf returns the token counts of the response; ok is false, with the
// reason, when the endpoint reported none.
func usageOf(in *evals.Input) (evals.Usage, string, bool) {
	if in.Response == nil {
		return evals.Usage{}, "no response to take token counts from", false
	}
	u := in.Response.Usage
	if u.PromptTokens <= 0 && u.CompletionTokens <= 0 && u.TotalTokens <= 0 {
		return u, "the endpoint reported no token usage", false
	}
	return u, "", true
}

type costConfig struct {
	commonConfig
	Max *float64 `json:"max"`
}

// Cost passes when the call cost at most max, in the currency of the target's
// price table, computed from the token counts the endpoint reported.
type Cost struct {
	common
	max float64
}

func newCost(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c costConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newCallCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	if c.Max == nil {
		return nil, evals.FieldErrorf("max", "missing: expected the most a call may cost, in the currency of the targets' price")
	}
	if !(*c.Max >= 0) {
		return nil, evals.FieldErrorf("max", "expected a number >= 0, got %v", *c.Max)
	}
	return &Cost{common: cm, max: *c.Max}, nil
}

// Score implements evals.Scorer.
func (c *Cost) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	if in.Target == nil {
		return unscored("no target to take prices from")
	}
	if in.Target.Price == nil {
		return unscored(fmt.Sprintf("target %q has no price: give it \"price\" (per million input and output tokens) to bound the cost", in.Target.Name))
	}
	u, why, ok := usageOf(in)
	if !ok {
		return unscored(why)
	}
	if u.PromptTokens <= 0 && u.CompletionTokens <= 0 {
		return unscored(fmt.Sprintf("the endpoint reported only a total of %d tokens: the cost needs the prompt and completion counts", u.TotalTokens))
	}
	cost, _ := in.Target.BilledCost(u, in.Response != nil && in.Response.Batch)
	if cost > c.max {
		cur := ""
		if in.Target.Price.Currency != "" {
			cur = " " + in.Target.Price.Currency
		}
		return c.verdict(0, fmt.Sprintf("cost %s%s (%d prompt + %d completion tokens), expected at most %s%s",
			strconv.FormatFloat(cost, 'g', 6, 64), cur, u.PromptTokens, u.CompletionTokens, strconv.FormatFloat(c.max, 'g', -1, 64), cur))
	}
	return c.verdict(1, "")
}
