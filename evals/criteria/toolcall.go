package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

var (
	_ evals.Scorer = (*ToolCalled)(nil)
	_ io.Closer    = (*ToolCalled)(nil)
	_ evals.Caller = (*ToolCalled)(nil)
)

type toolCallConfig struct {
	commonConfig
	Tool        *string         `json:"tool"`
	Arguments   json.RawMessage `json:"arguments"`
	Subset      *bool           `json:"subset"`
	IgnoreOrder bool            `json:"ignore_order"`
	Field       *string         `json:"field"`
	Criterion   json.RawMessage `json:"criterion"`
	Step        json.RawMessage `json:"step"`
}

// ToolCalled is the scorer of the tool-call criterion: the model called a
// tool, as its Nth call or at any point, and the call's arguments match
// arguments (compared as json-match compares, a subset unless subset is
// false) and pass the criterion that judges one of them (field). Score 1
// or 0.
type ToolCalled struct {
	common
	tool  toolRef
	args  *jsonValue // nil: any arguments
	m     matcher
	field []string // the argument inner judges
	inner *child   // nil: no criterion
	step  int      // the 1-based call judged; 0: any call
}

// toolRef is the name of a tool: static, or a template resolved per case.
type toolRef struct {
	name string
	tmpl *evals.Template
}

// resolve returns the tool's name for in; ok is false, with why, when its
// template cannot be resolved.
func (r *toolRef) resolve(in *evals.Input) (string, string, bool) {
	if r.tmpl == nil {
		return r.name, "", true
	}
	s, err := r.tmpl.Render(caseScope(in))
	if err != nil {
		return "", fmt.Sprintf("tool %q: %v", r.tmpl.String(), err), false
	}
	if s == "" {
		return "", fmt.Sprintf("tool %q is empty for this case", r.tmpl.String()), false
	}
	return s, "", true
}

// Close closes the criterion that judges the argument.
func (t *ToolCalled) Close() error {
	if t.inner == nil {
		return nil
	}
	return closeChildren(*t.inner)
}

func newToolCall(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	var c toolCallConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newToolCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	t := &ToolCalled{common: cm, m: matcher{subset: c.Subset == nil || *c.Subset, ignoreOrder: c.IgnoreOrder}}
	if c.Tool == nil {
		return nil, evals.FieldErrorf("tool", `missing: expected the name of the tool the model must call, such as "lookup_order"`)
	}
	tmpl, err := evals.ParseTemplate(*c.Tool)
	if err != nil {
		return nil, evals.FieldErrorf("tool", "%v", err)
	}
	if tmpl.Static() {
		if err := checkToolName(*c.Tool); err != nil {
			return nil, evals.FieldErrorf("tool", "%v", err)
		}
		t.tool.name = *c.Tool
	} else {
		t.tool.tmpl = tmpl
	}
	if t.step, err = parseStep(c.Step); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(c.Arguments)) > 0 {
		v, err := parseJSONValue(c.Arguments, "arguments")
		if err != nil {
			return nil, err
		}
		if _, ok := v.want.(map[string]any); v.tmpl == nil && !ok {
			return nil, evals.FieldErrorf("arguments", "expected an object, the arguments to match, or a template naming one (\"{{ expected.arguments }}\"), got %s", evals.JSONKind(c.Arguments))
		}
		t.args = &v
	} else {
		for _, f := range []struct {
			name string
			set  bool
		}{{"subset", c.Subset != nil}, {"ignore_order", c.IgnoreOrder}} {
			if f.set {
				return nil, evals.FieldErrorf(f.name, `applies only with "arguments"`)
			}
		}
	}
	switch {
	case c.Field != nil && c.Criterion == nil:
		return nil, evals.FieldErrorf("criterion", `missing: "field" names the argument that "criterion" judges, e.g. {"type": "equals", "value": "{{ order_id }}"}`)
	case c.Field == nil && c.Criterion != nil:
		return nil, evals.FieldErrorf("field", `missing: expected the argument that "criterion" judges, dotted keys and indexes such as "order_id" or "items.0.sku"`)
	case c.Field != nil:
		if t.field, err = parseJSONPath(*c.Field); err != nil {
			return nil, evals.FieldErrorf("field", "%v", err)
		}
		inner, err := newChild(c.Name, "criterion", 0, c.Criterion, false, env)
		if err != nil {
			return nil, err
		}
		t.inner = &inner
	}
	return t, nil
}

// parseStep reads step: "any" (the default, 0) or a call's number from 1.
func parseStep(raw json.RawMessage) (int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, nil
	}
	const want = `expected "any" or the number of a tool call, from 1`
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "any" {
			return 0, nil
		}
		return 0, evals.FieldErrorf("step", "%s, got %q", want, s)
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 {
		return 0, evals.FieldErrorf("step", "%s, got %s", want, raw)
	}
	return n, nil
}

// callCheck is how one call fares against what a tool-call criterion
// expects of the tool's calls.
type callCheck uint8

const (
	callMatches callCheck = iota
	callDiffers
	callUnknown // the comparison, or the criterion held, could not judge
)

// Score implements evals.Scorer.
func (t *ToolCalled) Score(ctx context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	calls, why, ok := callsOf(in)
	if !ok {
		return unscored(why)
	}
	name, why, ok := t.tool.resolve(in)
	if !ok {
		return unscored(why)
	}
	var want any
	if t.args != nil {
		if want, why, ok = t.args.resolve(in); !ok {
			return unscored(why)
		}
		if _, ok := want.(map[string]any); !ok {
			return unscored(fmt.Sprintf("arguments %q is %s, expected an object", t.args.tmpl.String(), kindOfJSON(want)))
		}
	}
	budget := matchBudget
	if t.step > 0 {
		if t.step > len(calls) {
			return t.verdict(0, fmt.Sprintf("expected call %d to be %s, but %s", t.step, toolLabel(name), madeCount(len(calls))))
		}
		tc := calls[t.step-1]
		if tc.Name != name {
			return t.verdict(0, fmt.Sprintf("call %d is %s, expected %s", t.step, describeCall(tc), toolLabel(name)))
		}
		switch res, why := t.check(ctx, in, t.step-1, tc, want, &budget); res {
		case callUnknown:
			return unscored(why)
		case callDiffers:
			return t.verdict(0, why)
		}
		return t.verdict(1, "")
	}
	called := 0
	var unknown, differs string
	for i, tc := range calls {
		if tc.Name != name {
			continue
		}
		called++
		switch res, why := t.check(ctx, in, i, tc, want, &budget); res {
		case callMatches:
			return t.verdict(1, "")
		case callUnknown:
			if unknown == "" {
				unknown = why
			}
		default:
			if differs == "" {
				differs = why
			}
		}
	}
	switch {
	case unknown != "":
		// Like any's: a call that could not be judged might have passed.
		return unscored(unknown)
	case len(calls) == 0:
		return t.verdict(0, fmt.Sprintf("no tool was called, expected a call of %s", toolLabel(name)))
	case called == 0:
		return t.verdict(0, fmt.Sprintf("%s was not called; %s", toolLabel(name), listCalls(calls)))
	}
	return t.verdict(0, fmt.Sprintf("%s was called %d time(s), never as expected: %s", toolLabel(name), called, differs))
}

// madeCount says how many tool calls were made: "no tool was called", "only
// 2 tool calls were made".
func madeCount(n int) string {
	switch n {
	case 0:
		return "no tool was called"
	case 1:
		return "only 1 tool call was made"
	}
	return fmt.Sprintf("only %d tool calls were made", n)
}

// check judges call i, tc, of the tool: its arguments against want (when
// the criterion has arguments) and the argument field by the criterion
// held. why says how it differs, or why it could not be judged.
func (t *ToolCalled) check(ctx context.Context, in *evals.Input, i int, tc evals.ToolCall, want any, budget *int) (callCheck, string) {
	if t.args == nil && t.inner == nil {
		return callMatches, ""
	}
	at := fmt.Sprintf("call %d (%s): ", i+1, toolLabel(tc.Name))
	args, why, ok := argsOf(tc)
	if !ok {
		return callDiffers, at + why
	}
	if t.args != nil {
		if why, tooLong := t.m.compare(want, args, budget); tooLong {
			return callUnknown, at + why
		} else if why != "" {
			return callDiffers, at + why
		}
	}
	if t.inner == nil {
		return callMatches, ""
	}
	field, why, ok := jsonField(tc.ArgumentsText(), t.field)
	if !ok {
		return callDiffers, at + why
	}
	sub := *in
	sub.Output = field
	v := t.inner.scorer.Score(ctx, &sub)
	at += fmt.Sprintf("field %q: ", strings.Join(t.field, "."))
	switch {
	case v.Unscored:
		return callUnknown, at + evals.Clip(v.Reason, maxChildReason)
	case v.Pass:
		return callMatches, ""
	case v.Reason == "":
		return callDiffers, at + fmt.Sprintf("%s scored %s, below its threshold", strconv.Quote(t.inner.name), formatScore(v.Score))
	}
	return callDiffers, at + evals.Clip(v.Reason, maxChildReason)
}

// Calls implements evals.Caller with the calls of the criterion that judges
// the argument, which it sees as the output: the argument of the tool's
// first call that has it (or of the call at step), or the output as it is
// when there is none, as there is not in a dry run.
func (t *ToolCalled) Calls(in *evals.Input) ([]evals.Call, error) {
	if t.inner == nil {
		return nil, nil
	}
	sub := in
	calls, _, ok := callsOf(in)
	name, _, named := t.tool.resolve(in)
	for i, tc := range calls {
		if !ok || !named || tc.Name != name || (t.step > 0 && i != t.step-1) {
			continue
		}
		if field, _, found := jsonField(tc.ArgumentsText(), t.field); found && tc.ArgumentsError == "" {
			at := *in
			at.Output = field
			sub = &at
			break
		}
	}
	return childCalls(sub, *t.inner)
}
