package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// The criteria of tool use judge what the model did in a conversation
// rather than its output: tool-call and trajectory (toolcall.go,
// trajectory.go), no-tool-call, steps and tool-errors. They read the
// transcript (evals.Input.Transcript); for a single answer, which has none,
// the response's own tool calls are the calls, it took one step and no tool
// ran, so none failed.

var (
	_ evals.Scorer = (*NoToolCall)(nil)
	_ evals.Scorer = (*Steps)(nil)
	_ evals.Scorer = (*ToolErrors)(nil)
)

// newToolCommon builds the common part of a criterion of tool use: extract
// and normalize do not apply.
func newToolCommon(typ string, c *commonConfig) (common, error) {
	return newNotOutputCommon(typ, c, "the conversation")
}

// callsOf returns the tool calls the model made: every call of the
// transcript, in order (parallel calls in the order of their message); for
// a single answer, the response's own. ok is false, with why, when there
// is no response to take them from.
func callsOf(in *evals.Input) ([]evals.ToolCall, string, bool) {
	if in.Transcript != nil {
		return evals.CallsOf(in.Transcript), "", true
	}
	if in.Response == nil {
		return nil, "no response to take tool calls from", false
	}
	return in.Response.ToolCalls, "", true
}

// argsOf decodes a call's arguments, numbers kept as written; ok is false,
// with why, when they are not JSON.
func argsOf(tc evals.ToolCall) (any, string, bool) {
	if tc.ArgumentsError != "" {
		return nil, tc.ArgumentsError, false
	}
	text := tc.ArgumentsText()
	if !isJSON(text) {
		return nil, "arguments are not JSON: " + jsonError(text), false
	}
	v, err := decodeJSON(text)
	if err != nil {
		return nil, "arguments are not JSON: " + err.Error(), false
	}
	return v, "", true
}

// checkToolName says what is wrong with a tool's name, as evals.CheckTool
// says it of a tool's definition, if anything.
func checkToolName(name string) error {
	err := evals.CheckTool(evals.Tool{Type: "function", Function: evals.ToolFunction{Name: name}})
	var fe *evals.FieldError
	if errors.As(err, &fe) {
		return fe.Err
	}
	return err
}

// plainToolName is a name that reasons write as it is.
var plainToolName = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// toolLabel writes a tool's name for reasons: as it is, or quoted when the
// model made up one that is not a plain name.
func toolLabel(name string) string {
	if plainToolName.MatchString(name) {
		return name
	}
	return quote(name)
}

// maxArgsQuote is how many runes of a call's arguments a reason quotes.
const maxArgsQuote = 80

// describeCall writes a call for reasons: its name and its arguments,
// compact JSON cut after maxArgsQuote runes, or the text the model wrote
// when it is not JSON: lookup_order {"order_id":"A1"}.
func describeCall(tc evals.ToolCall) string {
	text := tc.ArgumentsText()
	if tc.ArgumentsError != "" || !isJSON(text) {
		return toolLabel(tc.Name) + " " + quote(text) + " (not JSON)"
	}
	var b bytes.Buffer
	if json.Compact(&b, []byte(text)) == nil {
		text = b.String()
	}
	return toolLabel(tc.Name) + " " + evals.Clip(text, maxArgsQuote)
}

// maxCallsListed is how many calls a reason lists.
const maxCallsListed = 5

// listCalls says which calls the model made, for reasons: "calls made:
// lookup_order {"order_id":"A1"}, refund {} and 2 more", or "no tool was
// called".
func listCalls(calls []evals.ToolCall) string {
	if len(calls) == 0 {
		return "no tool was called"
	}
	var b strings.Builder
	b.WriteString("calls made: ")
	for i, tc := range calls {
		if i == maxCallsListed {
			fmt.Fprintf(&b, " and %d more", len(calls)-maxCallsListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(describeCall(tc))
	}
	return b.String()
}

// --- no-tool-call

type noToolCallConfig struct {
	commonConfig
	Names []string `json:"names"`
}

// NoToolCall passes when the model called no tool, or none of names.
type NoToolCall struct {
	common
	names []string // nil: any tool
}

func newNoToolCall(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c noToolCallConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newToolCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	if c.Names != nil && len(c.Names) == 0 {
		return nil, evals.FieldErrorf("names", "empty array: expected the names of the tools the model must not call (leave names out to forbid every tool)")
	}
	for i, name := range c.Names {
		field := "names." + strconv.Itoa(i)
		if err := checkToolName(name); err != nil {
			return nil, evals.FieldErrorf(field, "%v", err)
		}
		if j := slices.Index(c.Names, name); j < i {
			return nil, evals.FieldErrorf(field, "%q is listed twice (also at names.%d)", name, j)
		}
	}
	return &NoToolCall{common: cm, names: c.Names}, nil
}

// Score implements evals.Scorer.
func (n *NoToolCall) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	calls, why, ok := callsOf(in)
	if !ok {
		return unscored(why)
	}
	var made []string
	for i, tc := range calls {
		if n.names == nil || slices.Contains(n.names, tc.Name) {
			made = append(made, fmt.Sprintf("call %d, %s", i+1, describeCall(tc)))
		}
	}
	if made == nil {
		return n.verdict(1, "")
	}
	list := strings.Join(made[:min(len(made), maxCallsListed)], "; ")
	if len(made) > maxCallsListed {
		list += fmt.Sprintf("; and %d more", len(made)-maxCallsListed)
	}
	if n.names == nil {
		return n.verdict(0, fmt.Sprintf("expected no tool call, got %d: %s", len(made), list))
	}
	return n.verdict(0, fmt.Sprintf("expected no call of %s, got %d: %s", strings.Join(n.names, ", "), len(made), list))
}

// --- steps

type stepsConfig struct {
	commonConfig
	Min *int `json:"min"`
	Max *int `json:"max"`
}

// Steps passes when the model was asked at least min and at most max times
// in the conversation, every turn's requests counted: the assistant
// messages of the transcript, each the answer to one request. A single
// answer is one step.
type Steps struct {
	common
	min, max int // 0: no bound
}

func newSteps(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c stepsConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newToolCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	if c.Min == nil && c.Max == nil {
		return nil, evals.FieldErrorf("max", "missing: expected the most model requests (max), the fewest (min), or both")
	}
	s := &Steps{common: cm}
	for _, b := range []struct {
		field string
		v     *int
		dst   *int
	}{{"min", c.Min, &s.min}, {"max", c.Max, &s.max}} {
		if b.v == nil {
			continue
		}
		if *b.v < 1 {
			return nil, evals.FieldErrorf(b.field, "expected an integer >= 1 (a conversation takes one request at least), got %d", *b.v)
		}
		*b.dst = *b.v
	}
	if s.max > 0 && s.min > s.max {
		return nil, evals.FieldErrorf("min", "%d is above max %d: no conversation could pass", s.min, s.max)
	}
	return s, nil
}

// Score implements evals.Scorer.
func (s *Steps) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	n := 1
	if in.Transcript != nil {
		n = 0
		for _, m := range in.Transcript {
			if m.Role == evals.RoleAssistant {
				n++
			}
		}
	} else if in.Response == nil {
		return unscored("no response to count the steps of")
	}
	switch {
	case s.max > 0 && n > s.max:
		return s.verdict(0, fmt.Sprintf("%d steps (model requests), expected at most %d", n, s.max))
	case n < s.min:
		return s.verdict(0, fmt.Sprintf("%d step(s) (model requests), expected at least %d", n, s.min))
	}
	return s.verdict(1, "")
}

// --- tool-errors

type toolErrorsConfig struct {
	commonConfig
	Max *int `json:"max"`
}

// ToolErrors passes when at most max tool calls (default 0) were answered
// with an error: a tool that is not offered, arguments that are not JSON or
// do not fit the tool's parameters, no mock that answers, a mock's error.
// A single answer ran no tool, so it has none.
type ToolErrors struct {
	common
	max int
}

func newToolErrors(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c toolErrorsConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newToolCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	t := &ToolErrors{common: cm}
	if c.Max != nil {
		if *c.Max < 0 {
			return nil, evals.FieldErrorf("max", "expected an integer >= 0, got %d", *c.Max)
		}
		t.max = *c.Max
	}
	return t, nil
}

// maxErrorsListed is how many tool errors a reason lists.
const maxErrorsListed = 3

// Score implements evals.Scorer.
func (t *ToolErrors) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	if in.Transcript == nil {
		if in.Response == nil {
			return unscored("no response to count the tool errors of")
		}
		return t.verdict(1, "")
	}
	n := evals.ToolErrorsOf(in.Transcript)
	if n <= t.max {
		return t.verdict(1, "")
	}
	var errs []string
	for _, m := range in.Transcript {
		if m.Role != evals.RoleTool || m.Error == "" {
			continue
		}
		if len(errs) == maxErrorsListed {
			errs = append(errs, fmt.Sprintf("and %d more", n-maxErrorsListed))
			break
		}
		errs = append(errs, toolLabel(m.Name)+": "+quote(m.Error))
	}
	return t.verdict(0, fmt.Sprintf("%d tool error(s), expected at most %d: %s", n, t.max, strings.Join(errs, "; ")))
}
