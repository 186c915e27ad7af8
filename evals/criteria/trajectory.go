package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

var _ evals.Scorer = (*Trajectory)(nil)

type trajectoryConfig struct {
	commonConfig
	Expected json.RawMessage `json:"expected"`
	Mode     *string         `json:"mode"`
}

// trajectoryMode is how a trajectory compares the calls made with those
// expected.
type trajectoryMode uint8

const (
	modeExact    trajectoryMode = iota // the same calls in the same order
	modeInOrder                        // the expected calls in order, others between
	modeAnyOrder                       // the same calls in any order
	modeSubset                         // the expected calls in any order, others too
)

// trajectoryModes are the modes' names, by mode.
var trajectoryModes = []string{"exact", "in_order", "any_order", "subset"}

// expectedCall is a call a trajectory expects: a tool's name, and the
// arguments the call's must contain (compared as json-match does with
// subset), nil for any.
type expectedCall struct {
	name string
	args map[string]any
}

// Trajectory is the scorer of the trajectory criterion: the tool calls made
// against a list of expected ones, by mode. A made call matches an expected
// one when its name is the expected name and its arguments contain the
// expected arguments. The score is the fraction of the expected calls
// matched: position by position for exact, as a longest common subsequence
// for in_order, in a best one-to-one pairing for any_order and subset; over
// the larger of the expected and the made counts for exact and any_order,
// which allow no other call. The reason gives the first call that differs
// and the tool-call precision, recall and F1 of the best pairing.
type Trajectory struct {
	common
	mode     trajectoryMode
	want     []expectedCall  // the static list
	tmpl     *evals.Template // the list, when it is a template
	expected bool            // no expected: the case's expected answer
}

func newTrajectory(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c trajectoryConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newToolCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	t := &Trajectory{common: cm}
	if c.Mode != nil {
		i := slices.Index(trajectoryModes, *c.Mode)
		if i < 0 {
			return nil, evals.FieldErrorf("mode", "unknown mode %q: expected one of %s", *c.Mode, strings.Join(trajectoryModes, ", "))
		}
		t.mode = trajectoryMode(i)
	}
	raw := bytes.TrimSpace(c.Expected)
	const example = `[{"name": "lookup_order", "arguments": {"order_id": "A1"}}]`
	switch {
	case len(raw) == 0:
		t.expected = true
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, evals.FieldErrorf("expected", "%v", err)
		}
		tmpl, err := evals.ParseTemplate(s)
		if err != nil {
			return nil, evals.FieldErrorf("expected", "%v", err)
		}
		if tmpl.Static() {
			return nil, evals.FieldErrorf("expected", "expected an array of calls such as %s, or a template naming one (\"{{ expected.calls }}\"), got the string %q", example, s)
		}
		t.tmpl = tmpl
	case raw[0] == '[':
		x, err := decodeJSON(string(raw))
		if err != nil {
			return nil, evals.FieldErrorf("expected", "%v", err)
		}
		want, at, why := parseExpectedCalls(x)
		if why != "" {
			return nil, evals.FieldErrorf(strings.TrimSuffix("expected."+at, "."), "%s", why)
		}
		for i, w := range want {
			if err := checkToolName(w.name); err != nil {
				return nil, evals.FieldErrorf(fmt.Sprintf("expected.%d.name", i), "%v", err)
			}
		}
		if len(want) == 0 && (t.mode == modeInOrder || t.mode == modeSubset) {
			return nil, evals.FieldErrorf("expected", "empty array: with mode %q every conversation would pass; expected at least one call (for no call at all, use no-tool-call)", trajectoryModes[t.mode])
		}
		t.want = want
	default:
		return nil, evals.FieldErrorf("expected", "expected an array of calls such as %s, or a template naming one (\"{{ expected.calls }}\"), got %s", example, evals.JSONKind(raw))
	}
	return t, nil
}

// parseExpectedCalls reads a list of expected calls, decoded JSON: an array
// of objects {"name", "arguments"}. When it is not one, why says why, and
// at where ("", "1", "1.arguments").
func parseExpectedCalls(x any) (calls []expectedCall, at, why string) {
	arr, ok := x.([]any)
	if !ok {
		return nil, "", fmt.Sprintf(`expected an array of calls {"name", "arguments"}, got %s`, kindOfJSON(x))
	}
	calls = make([]expectedCall, len(arr))
	for i, e := range arr {
		at := strconv.Itoa(i)
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, at, fmt.Sprintf(`expected a call, an object {"name", "arguments"}, got %s`, kindOfJSON(e))
		}
		for _, k := range sortedKeys(obj) {
			if k != "name" && k != "arguments" {
				return nil, at + "." + k, `unknown key: a call has "name" and, optionally, "arguments"`
			}
		}
		switch name := obj["name"].(type) {
		case string:
			if name == "" {
				return nil, at + ".name", "empty: expected the tool's name"
			}
			calls[i].name = name
		case nil:
			return nil, at + ".name", "missing: expected the tool's name"
		default:
			return nil, at + ".name", fmt.Sprintf("expected the tool's name, a string, got %s", kindOfJSON(name))
		}
		if a, ok := obj["arguments"]; ok {
			m, ok := a.(map[string]any)
			if !ok {
				return nil, at + ".arguments", fmt.Sprintf("expected an object, the arguments the call must contain, got %s", kindOfJSON(a))
			}
			calls[i].args = m
		}
	}
	return calls, "", ""
}

// resolve returns the expected calls for in; ok is false, with why, when
// there are none to compare with.
func (t *Trajectory) resolve(in *evals.Input) ([]expectedCall, string, bool) {
	var x any
	var from string
	switch {
	case t.tmpl != nil:
		v, err := t.tmpl.Value(caseScope(in))
		if err != nil {
			return nil, fmt.Sprintf("expected %q: %v", t.tmpl.String(), err), false
		}
		x, from = v, fmt.Sprintf("expected %q", t.tmpl.String())
	case t.expected:
		if in.Case == nil || in.Case.Expected == nil {
			return nil, "no expected calls: set expected or give the case an expected answer", false
		}
		x, from = in.Case.Expected, "the case's expected answer"
	default:
		return t.want, "", true
	}
	want, at, why := parseExpectedCalls(x)
	if why != "" {
		if at != "" {
			why = "at " + at + ": " + why
		}
		return nil, fmt.Sprintf("%s is not a list of calls: %s", from, why), false
	}
	return want, "", true
}

// maxTrajectoryCells bounds expected × made calls compared.
const maxTrajectoryCells = 1 << 22

// Score implements evals.Scorer.
func (t *Trajectory) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	calls, why, ok := callsOf(in)
	if !ok {
		return unscored(why)
	}
	want, why, ok := t.resolve(in)
	if !ok {
		return unscored(why)
	}
	n, m := len(want), len(calls)
	if n*m > maxTrajectoryCells {
		return unscored(fmt.Sprintf("too many calls to compare: %d expected, %d made", n, m))
	}
	// match[j*m+i]: made call i matches expected call j.
	match := make([]bool, n*m)
	args := make([]any, m)
	argsOK := make([]bool, m)
	for i, tc := range calls {
		args[i], _, argsOK[i] = argsOf(tc)
	}
	budget := matchBudget
	sub := matcher{subset: true}
	for j, w := range want {
		for i, tc := range calls {
			switch {
			case tc.Name != w.name:
			case w.args == nil:
				match[j*m+i] = true
			case argsOK[i]:
				why, tooLong := sub.compare(w.args, args[i], &budget)
				if tooLong {
					return unscored(fmt.Sprintf("expected call %d, %s: %s", j+1, describeExpected(w), why))
				}
				match[j*m+i] = why == ""
			}
		}
	}
	// The best one-to-one pairing of expected and made calls, in any order:
	// paired[i] is the expected call paired with made call i, or -1.
	paired := pairUp(n, m, func(j, i int) bool { return match[j*m+i] }, func(int, bool) bool { return true })
	pairs := 0
	for _, j := range paired {
		if j >= 0 {
			pairs++
		}
	}
	var k, of int // expected calls matched, out of
	var inOrder, used []bool
	switch t.mode {
	case modeExact:
		for j := range min(n, m) {
			if match[j*m+j] {
				k++
			}
		}
		of = max(n, m)
	case modeInOrder:
		inOrder, used = longestInOrder(match, n, m)
		for _, kept := range inOrder {
			if kept {
				k++
			}
		}
		of = n
	case modeAnyOrder:
		k, of = pairs, max(n, m)
	case modeSubset:
		k, of = pairs, n
	}
	score := 1.0
	if of > 0 {
		score = float64(k) / float64(of)
	}
	counts := &evals.CallCounts{Expected: n, Made: m, Matched: pairs}
	if score == 1 && pairs == n && pairs == m {
		v := t.verdict(1, "")
		v.Calls = counts
		return v
	}
	f1 := 1.0
	if n+m > 0 {
		f1 = 2 * float64(pairs) / float64(n+m)
	}
	var b strings.Builder
	switch {
	case n == 0:
		fmt.Fprintf(&b, "no call was expected (%s)", trajectoryModes[t.mode])
	case k == n:
		fmt.Fprintf(&b, "all %d expected calls matched (%s)", n, trajectoryModes[t.mode])
	default:
		fmt.Fprintf(&b, "%d of %d expected calls matched (%s)", k, n, trajectoryModes[t.mode])
	}
	if miss := t.firstMiss(want, calls, match, paired, inOrder, used); miss != "" {
		b.WriteString("; ")
		b.WriteString(miss)
	}
	fmt.Fprintf(&b, "; %s; tool-call precision %d/%d, recall %d/%d, F1 %s", listCalls(calls), pairs, m, pairs, n, formatScore(f1))
	v := t.verdict(score, b.String())
	v.Calls = counts
	return v
}

var _ evals.CorpusScorer = (*Trajectory)(nil)

// NewCorpus implements evals.CorpusScorer: a trajectory criterion reports
// the tool-call precision, recall and F1 of all its responses, from their
// counts summed.
func (t *Trajectory) NewCorpus() evals.Corpus { return &callCorpus{} }

// callCorpus sums the tool-call counts of a trajectory criterion's verdicts.
type callCorpus struct {
	sum evals.CallCounts
	n   int
}

// Add implements evals.Corpus.
func (c *callCorpus) Add(sc *evals.Score) {
	if sc.Calls == nil {
		return
	}
	c.n++
	c.sum.Expected += sc.Calls.Expected
	c.sum.Made += sc.Calls.Made
	c.sum.Matched += sc.Calls.Matched
}

// Report implements evals.Corpus.
func (c *callCorpus) Report(sum *evals.CriterionSummary) {
	if c.n == 0 {
		return
	}
	m := &evals.ToolCallMetrics{CallCounts: c.sum}
	m.Precision, m.Recall, m.F1 = c.sum.PRF()
	sum.ToolCalls = m
}

// longestInOrder returns which expected calls a longest run of made calls
// matches in order (a longest common subsequence, the earliest expected
// calls kept where several are as long), and which made calls it takes.
func longestInOrder(match []bool, n, m int) (kept, used []bool) {
	// l[j*(m+1)+i] is the longest for expected calls j.. and made calls i..
	w := m + 1
	l := make([]int32, (n+1)*w)
	for j := n - 1; j >= 0; j-- {
		for i := m - 1; i >= 0; i-- {
			best := max(l[(j+1)*w+i], l[j*w+i+1])
			if match[j*m+i] {
				best = max(best, l[(j+1)*w+i+1]+1)
			}
			l[j*w+i] = best
		}
	}
	kept, used = make([]bool, n), make([]bool, m)
	for j, i := 0, 0; j < n && i < m; {
		switch {
		case match[j*m+i] && l[j*w+i] == l[(j+1)*w+i+1]+1:
			kept[j], used[i] = true, true
			j, i = j+1, i+1
		case l[j*w+i+1] == l[j*w+i]:
			i++ // a made call left out rather than an expected one
		default:
			j++
		}
	}
	return kept, used
}

// firstMiss says where the calls made first fall short of those expected,
// in the mode's terms; "" when nothing does (an in_order or subset
// trajectory with other calls as well).
func (t *Trajectory) firstMiss(want []expectedCall, calls []evals.ToolCall, match []bool, paired []int, inOrder, used []bool) string {
	n, m := len(want), len(calls)
	switch t.mode {
	case modeExact:
		for j := range max(n, m) {
			switch {
			case j >= m:
				return fmt.Sprintf("expected call %d, %s, was not made", j+1, describeExpected(want[j]))
			case j >= n:
				return fmt.Sprintf("call %d, %s, was not expected", j+1, describeCall(calls[j]))
			case match[j*m+j]:
			case calls[j].Name == want[j].name:
				return fmt.Sprintf("call %d (%s): %s", j+1, toolLabel(calls[j].Name), argsDiff(want[j], calls[j]))
			default:
				return fmt.Sprintf("call %d is %s, expected %s", j+1, describeCall(calls[j]), describeExpected(want[j]))
			}
		}
	case modeInOrder:
		for j, kept := range inOrder {
			if !kept {
				return fmt.Sprintf("expected call %d, %s, was not made in order%s", j+1, describeExpected(want[j]), sameName(j, want, calls, match, used))
			}
		}
	case modeAnyOrder, modeSubset:
		found := make([]bool, n)
		for _, j := range paired {
			if j >= 0 {
				found[j] = true
			}
		}
		for j := range want {
			if !found[j] {
				return fmt.Sprintf("expected call %d, %s, was not made%s", j+1, describeExpected(want[j]), sameName(j, want, calls, match, nil))
			}
		}
		if t.mode == modeAnyOrder {
			for i, j := range paired {
				if j < 0 {
					return fmt.Sprintf("call %d, %s, was not expected", i+1, describeCall(calls[i]))
				}
			}
		}
	}
	return ""
}

// sameName says, for expected call j, what became of the calls of its
// tool: in in_order mode (used, the made calls matched in order, not nil),
// that one not used matches it, out of order; else how the first that does
// not match it differs, or that every one matched another expected call.
// "" when the tool was not called.
func sameName(j int, want []expectedCall, calls []evals.ToolCall, match, used []bool) string {
	w, m := want[j], len(calls)
	differs := -1
	called := false
	for i, tc := range calls {
		switch {
		case tc.Name != w.name:
		case match[j*m+i] && used != nil && !used[i]:
			return fmt.Sprintf(": call %d matches it, out of order", i+1)
		case match[j*m+i]:
			called = true
		case differs < 0:
			differs = i
		}
	}
	switch {
	case differs >= 0:
		return fmt.Sprintf(": call %d (%s): %s", differs+1, toolLabel(calls[differs].Name), argsDiff(w, calls[differs]))
	case called:
		return fmt.Sprintf(": every call of %s matched another expected call", toolLabel(w.name))
	}
	return ""
}

// argsDiff says how the arguments of tc, a call of the tool w expects,
// differ from w's.
func argsDiff(w expectedCall, tc evals.ToolCall) string {
	args, why, ok := argsOf(tc)
	if !ok {
		return why
	}
	budget := matchBudget
	why, _ = matcher{subset: true}.compare(w.args, args, &budget)
	return why
}

// describeExpected writes an expected call for reasons: its name and its
// arguments, or "(any arguments)".
func describeExpected(w expectedCall) string {
	if w.args == nil {
		return toolLabel(w.name) + " (any arguments)"
	}
	return toolLabel(w.name) + " " + shortJSON(w.args)
}
