package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

var (
	_ evals.Scorer = (*JSONMatch)(nil)
	_ evals.Scorer = (*JSONField)(nil)
	_ io.Closer    = (*JSONField)(nil)
)

type jsonMatchConfig struct {
	commonConfig
	Value       json.RawMessage `json:"value"`
	Subset      bool            `json:"subset"`
	IgnoreOrder bool            `json:"ignore_order"`
}

// JSONMatch passes when the output is JSON structurally equal to a value:
// object keys in any order, numbers equal as numbers (1 equals 1.0, big
// integers exactly). With subset, every key of an expected object must be
// present and match, and other keys are allowed; arrays keep their length.
// With ignore_order, arrays match in any order.
type JSONMatch struct {
	common
	value    jsonValue
	expected bool // no value: the case's expected answer
	m        matcher
}

// jsonValue is a JSON value to compare with, written as json-match's value
// is: any JSON, where a string is a template, and one that is a single
// placeholder keeps the type of what it names. Strings inside an object or
// an array are taken as they are.
type jsonValue struct {
	field string          // where it is written, for reasons: "value"
	want  any             // the static value, numbers kept as written
	tmpl  *evals.Template // the value, when it is a template
}

// parseJSONValue reads raw, the non-empty JSON text of field.
func parseJSONValue(raw json.RawMessage, field string) (jsonValue, error) {
	v := jsonValue{field: field}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return v, evals.FieldErrorf(field, "%v", err)
		}
		t, err := evals.ParseTemplate(s)
		if err != nil {
			return v, evals.FieldErrorf(field, "%v", err)
		}
		if t.Static() {
			v.want, _ = t.Render(nil) // a static template never looks anything up
		} else {
			v.tmpl = t
		}
		return v, nil
	}
	var err error
	if v.want, err = decodeJSON(string(raw)); err != nil {
		return v, evals.FieldErrorf(field, "%v", err)
	}
	return v, nil
}

// resolve returns the value for in; ok is false, with why, when its
// template cannot be resolved.
func (v *jsonValue) resolve(in *evals.Input) (x any, why string, ok bool) {
	if v.tmpl == nil {
		return v.want, "", true
	}
	x, err := v.tmpl.Value(caseScope(in))
	if err != nil {
		return nil, fmt.Sprintf("%s %q: %v", v.field, v.tmpl.String(), err), false
	}
	return x, "", true
}

// caseScope is the scope in which the templates of a criterion resolve for
// in: the case (an empty one when there is none), the output and the
// transcript.
func caseScope(in *evals.Input) evals.CaseScope {
	c := in.Case
	if c == nil {
		c = &noCase
	}
	return evals.CaseScope{Case: c, Output: in.Output, HasOutput: true, Transcript: in.Transcript}
}

func newJSONMatch(spec evals.CriterionSpec, _ Env) (evals.Scorer, error) {
	var c jsonMatchConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newJSONCommon(spec.Type, &c.commonConfig)
	if err != nil {
		return nil, err
	}
	j := &JSONMatch{common: cm, m: matcher{subset: c.Subset, ignoreOrder: c.IgnoreOrder}}
	if len(bytes.TrimSpace(c.Value)) == 0 {
		j.expected = true
		return j, nil
	}
	if j.value, err = parseJSONValue(c.Value, "value"); err != nil {
		return nil, err
	}
	return j, nil
}

// decodeJSON decodes one JSON value, keeping numbers as written.
func decodeJSON(doc string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// Score implements evals.Scorer.
func (j *JSONMatch) Score(_ context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	var want any
	if j.expected {
		if in.Case == nil || in.Case.Expected == nil {
			return unscored("no value to compare: set value or give the case an expected answer")
		}
		want = in.Case.Expected
	} else {
		x, why, ok := j.value.resolve(in)
		if !ok {
			return unscored(why)
		}
		want = x
	}
	s, v, ok := j.jsonSubject(in)
	if !ok {
		return v
	}
	got, err := decodeJSON(s)
	if err != nil {
		return j.verdict(0, "output is not JSON: "+err.Error())
	}
	budget := matchBudget
	if why, tooLong := j.m.compare(want, got, &budget); why != "" {
		if tooLong {
			return unscored(why)
		}
		return j.verdict(0, why)
	}
	return j.verdict(1, "")
}

// --- structural comparison

// matcher says how json-match compares.
type matcher struct {
	subset      bool // an expected object's keys must match; others may be there
	ignoreOrder bool // arrays match in any order
}

// compare returns "" when got matches want, else a reason naming the first
// path at which they differ; tooLong says that the comparison ran out of
// budget, values left to visit, which it shares with other comparisons, and
// gave up: the response is then unscored.
func (m matcher) compare(want, got any, budget *int) (why string, tooLong bool) {
	st := matchState{matcher: m, budget: budget}
	if why = st.diff(want, got); why != "" {
		return why, *budget < 0
	}
	return "", false
}

// matchBudget bounds the values a comparison visits: matching arrays in any
// order under subset pairs elements by trial, which large arrays make slow.
var matchBudget = 1 << 24

// matchState is one comparison in progress.
type matchState struct {
	matcher
	path   []pathSeg
	budget *int // values left to visit, shared with sub-comparisons
}

// pathSeg is one step of a JSON path: an object key, or an index when key
// is unset.
type pathSeg struct {
	key   string
	index int
	isKey bool
}

// where renders the current path: $, $.items[1].name, $["a b"].
func (s *matchState) where() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, p := range s.path {
		if !p.isKey {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(p.index))
			b.WriteByte(']')
			continue
		}
		if plainKey(p.key) {
			b.WriteByte('.')
			b.WriteString(p.key)
			continue
		}
		b.WriteByte('[')
		b.WriteString(strconv.Quote(p.key))
		b.WriteByte(']')
	}
	return b.String()
}

// plainKey reports whether a key can be written after a dot in a path.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		switch {
		case r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '-'):
		default:
			return false
		}
	}
	return true
}

// tooLong is the reason of a comparison that ran out of budget.
func (s *matchState) tooLong() string {
	return fmt.Sprintf("at %s: the comparison takes too long (over %d values compared): arrays this large cannot be matched in any order with subset", s.where(), matchBudget)
}

// diff returns "" when got matches want, else a reason naming the first path
// at which they differ, taking object keys in sorted order. want is a value
// from the suite or the case; got is the output, decoded with numbers kept.
func (s *matchState) diff(want, got any) string {
	if *s.budget--; *s.budget < 0 {
		return s.tooLong()
	}
	switch w := want.(type) {
	case nil:
		if got == nil {
			return ""
		}
	case bool:
		if g, ok := got.(bool); ok && g == w {
			return ""
		}
	case string:
		if g, ok := got.(string); ok && g == w {
			return ""
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		return s.diffObject(w, g)
	case []any:
		g, ok := got.([]any)
		if !ok {
			break
		}
		if len(g) != len(w) {
			return fmt.Sprintf("at %s: got %d element(s), expected %d", s.where(), len(g), len(w))
		}
		if s.ignoreOrder {
			return s.diffUnordered(w, g)
		}
		for i := range w {
			s.path = append(s.path, pathSeg{index: i})
			why := s.diff(w[i], g[i])
			s.path = s.path[:len(s.path)-1]
			if why != "" {
				return why
			}
		}
		return ""
	default:
		var buf [32]byte
		wt, ok := numberText(buf[:0], want)
		if !ok {
			// Not a JSON type (a value built in code): compare its JSON.
			if v, err := toJSONValue(want); err == nil {
				return s.diff(v, got)
			}
			break
		}
		if g, ok := got.(json.Number); ok && decimalEqual(wt, []byte(g)) {
			return ""
		}
	}
	if kindOfJSON(want) != kindOfJSON(got) {
		return fmt.Sprintf("at %s: got %s %s, expected %s %s", s.where(), kindOfJSON(got), shortJSON(got), kindOfJSON(want), shortJSON(want))
	}
	return fmt.Sprintf("at %s: got %s, expected %s", s.where(), shortJSON(got), shortJSON(want))
}

func (s *matchState) diffObject(w, g map[string]any) string {
	// Most outputs match: check in map order, and sort the keys only to
	// find the first difference when there is one.
	same := s.subset || len(g) == len(w)
	for k, wv := range w {
		if !same {
			break
		}
		gv, ok := g[k]
		if !ok {
			same = false
			break
		}
		s.path = append(s.path, pathSeg{key: k, isKey: true})
		same = s.diff(wv, gv) == ""
		s.path = s.path[:len(s.path)-1]
	}
	if same {
		return ""
	}
	if *s.budget < 0 {
		return s.tooLong()
	}
	for _, k := range sortedKeys(w) {
		s.path = append(s.path, pathSeg{key: k, isKey: true})
		gv, ok := g[k]
		var why string
		if !ok {
			why = fmt.Sprintf("at %s: missing, expected %s", s.where(), shortJSON(w[k]))
		} else {
			why = s.diff(w[k], gv)
		}
		s.path = s.path[:len(s.path)-1]
		if why != "" {
			return why
		}
	}
	if s.subset || len(g) == len(w) {
		return ""
	}
	for _, k := range sortedKeys(g) {
		if _, ok := w[k]; !ok {
			s.path = append(s.path, pathSeg{key: k, isKey: true})
			why := fmt.Sprintf("at %s: unexpected key, got %s", s.where(), shortJSON(g[k]))
			s.path = s.path[:len(s.path)-1]
			return why
		}
	}
	return ""
}

// diffUnordered compares two arrays of the same length in any order. Without
// subset, matching is equality, so sorting canonical forms decides it. With
// subset, an expected element may match several output elements, so the
// elements are paired by maximum bipartite matching (Kuhn's algorithm).
func (s *matchState) diffUnordered(w, g []any) string {
	if !s.subset {
		wk, gk := canonicalAll(w, true), canonicalAll(g, true)
		wi, gi := sortedIndex(wk), sortedIndex(gk)
		for a, b := 0, 0; a < len(wi); {
			switch {
			case b < len(gi) && wk[wi[a]] == gk[gi[b]]:
				a++
				b++
			case b < len(gi) && gk[gi[b]] < wk[wi[a]]:
				b++
			default:
				return fmt.Sprintf("at %s: expected element %s not found (order ignored)", s.where(), shortJSON(w[wi[a]]))
			}
		}
		return ""
	}
	n := len(w)
	compat := make([]int8, n*n) // 0 unknown, 1 matches, 2 does not
	matches := func(i, j int) bool {
		if compat[i*n+j] == 0 {
			sub := matchState{matcher: s.matcher, budget: s.budget}
			compat[i*n+j] = 2
			if sub.diff(w[i], g[j]) == "" {
				compat[i*n+j] = 1
			}
		}
		return compat[i*n+j] == 1
	}
	why := ""
	pairUp(n, n, matches, func(i int, paired bool) bool {
		switch {
		case *s.budget < 0:
			why = s.tooLong()
		case !paired:
			why = fmt.Sprintf("at %s: no element matches expected element %d, %s (order ignored)", s.where(), i, shortJSON(w[i]))
		}
		return why == ""
	})
	return why
}

// pairUp pairs each of n left items with one of m right items, each right
// item taken at most once, so that as many left items as possible are
// paired, when matches(i, j) says whether left item i may take right item j
// (maximum bipartite matching, by Kuhn's algorithm). It tries the left items
// in order and tells each, with whether that item is paired so far, which
// stops it when it returns false (a later item may move an earlier one to
// another right item, never unpair it). It returns, for each right item, the
// left item paired with it, or -1.
func pairUp(n, m int, matches func(i, j int) bool, each func(i int, paired bool) bool) []int {
	owner := make([]int, m)
	for j := range owner {
		owner[j] = -1
	}
	seen := make([]bool, m)
	var augment func(i int) bool
	augment = func(i int) bool {
		// A free item first: most pairings need no reshuffling.
		for j := range m {
			if owner[j] < 0 && !seen[j] && matches(i, j) {
				seen[j], owner[j] = true, i
				return true
			}
		}
		for j := range m {
			if seen[j] || owner[j] < 0 || !matches(i, j) {
				continue
			}
			seen[j] = true
			if augment(owner[j]) {
				owner[j] = i
				return true
			}
		}
		return false
	}
	for i := range n {
		clear(seen)
		if !each(i, augment(i)) {
			break
		}
	}
	return owner
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// sortedIndex returns the indexes of keys in the order of their keys.
func sortedIndex(keys []string) []int {
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	return idx
}

// canonicalAll returns the canonical form of every value in vs.
func canonicalAll(vs []any, unordered bool) []string {
	out := make([]string, len(vs))
	var b strings.Builder
	for i, v := range vs {
		b.Reset()
		canonical(&b, v, unordered)
		out[i] = b.String()
	}
	return out
}

// canonical writes a form of v that is the same for values json-match holds
// equal and different for others: keys sorted, numbers reduced to digits and
// exponent, and with unordered, array elements sorted.
func canonical(b *strings.Builder, v any, unordered bool) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		b.WriteString(strconv.Quote(x))
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			canonical(b, x[k], unordered)
		}
		b.WriteByte('}')
	case []any:
		elems := canonicalAll(x, unordered)
		if unordered {
			sort.Strings(elems)
		}
		b.WriteByte('[')
		b.WriteString(strings.Join(elems, ","))
		b.WriteByte(']')
	default:
		var buf [32]byte
		t, ok := numberText(buf[:0], v)
		if !ok {
			if j, err := toJSONValue(v); err == nil {
				canonical(b, j, unordered)
				return
			}
			fmt.Fprintf(b, "?%T", v)
			return
		}
		d, ok := parseDecimal(t)
		if !ok {
			b.WriteString("#")
			b.Write(t)
			return
		}
		b.WriteByte('#')
		if d.neg {
			b.WriteByte('-')
		}
		b.Write(d.hi)
		b.Write(d.lo)
		b.WriteByte('e')
		b.WriteString(strconv.FormatInt(d.exp, 10))
	}
}

// toJSONValue turns a value built in code into what decoding its JSON gives.
func toJSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeJSON(string(b))
}

// kindOfJSON names the JSON kind of a decoded value, with an article.
func kindOfJSON(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	var buf [32]byte
	if _, ok := numberText(buf[:0], v); ok {
		return "a number"
	}
	if j, err := toJSONValue(v); err == nil {
		return kindOfJSON(j)
	}
	return fmt.Sprintf("a %T", v)
}

// --- numbers

// numberText appends the decimal text of a number to dst: a json.Number as
// written, a float64 as the shortest text that reads back as it.
func numberText(dst []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case json.Number:
		return append(dst, x...), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return strconv.AppendFloat(dst, x, 'g', -1, 64), true
	case float32:
		return strconv.AppendFloat(dst, float64(x), 'g', -1, 32), true
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	}
	return nil, false
}

// decimal is a number in canonical form: ±(hi followed by lo, read as an
// integer) × 10^exp, with no leading or trailing zeros in the digits. Zero
// has no digits and exp 0.
type decimal struct {
	neg    bool
	hi, lo []byte
	exp    int64
}

// parseDecimal reads a JSON number exactly; ok is false for text that is not
// one, or whose exponent does not fit 62 bits.
func parseDecimal(s []byte) (d decimal, ok bool) {
	if len(s) > 0 && s[0] == '-' {
		d.neg = true
		s = s[1:]
	}
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	hi, s := s[:i], s[i:]
	var lo []byte
	if len(s) > 0 && s[0] == '.' {
		j := 1
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		lo, s = s[1:j], s[j:]
	}
	if len(hi) == 0 && len(lo) == 0 {
		return decimal{}, false
	}
	var exp int64
	if len(s) > 0 && (s[0] == 'e' || s[0] == 'E') {
		e, err := strconv.ParseInt(string(s[1:]), 10, 64)
		if err != nil || e > 1<<62 || e < -(1<<62) {
			return decimal{}, false
		}
		exp, s = e, nil
	}
	if len(s) > 0 {
		return decimal{}, false
	}
	exp -= int64(len(lo))
	hi = bytes.TrimLeft(hi, "0")
	if len(hi) == 0 {
		lo = bytes.TrimLeft(lo, "0")
	}
	t := bytes.TrimRight(lo, "0")
	exp += int64(len(lo) - len(t))
	lo = t
	if len(lo) == 0 {
		t = bytes.TrimRight(hi, "0")
		exp += int64(len(hi) - len(t))
		hi = t
	}
	if len(hi) == 0 && len(lo) == 0 {
		return decimal{}, true // zero, whatever its sign
	}
	d.hi, d.lo, d.exp = hi, lo, exp
	return d, true
}

// decimalEqual reports whether two number texts have the same value.
func decimalEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	x, ok1 := parseDecimal(a)
	y, ok2 := parseDecimal(b)
	if !ok1 || !ok2 || x.neg != y.neg || x.exp != y.exp || len(x.hi)+len(x.lo) != len(y.hi)+len(y.lo) {
		return false
	}
	// Compare hi+lo of each without joining them.
	at := func(d decimal, i int) byte {
		if i < len(d.hi) {
			return d.hi[i]
		}
		return d.lo[i-len(d.hi)]
	}
	for i := range len(x.hi) + len(x.lo) {
		if at(x, i) != at(y, i) {
			return false
		}
	}
	return true
}

// --- short renderings for reasons

// maxJSONQuote is how many bytes of a value a reason shows.
const maxJSONQuote = 80

// shortJSON writes v as compact JSON, cut after about maxJSONQuote bytes.
func shortJSON(v any) string {
	var b strings.Builder
	writeShort(&b, v)
	if s := b.String(); len(s) > maxJSONQuote {
		return s[:runeCut(s, maxJSONQuote)] + "…"
	}
	return b.String()
}

// runeCut returns the largest index up to n, len(s) > n, at which s can be
// cut without splitting a rune.
func runeCut(s string, n int) int {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// writeShort writes v as compact JSON, stopping soon after maxJSONQuote bytes.
func writeShort(b *strings.Builder, v any) {
	if b.Len() > maxJSONQuote {
		return
	}
	switch x := v.(type) {
	case string:
		if len(x) > maxJSONQuote {
			x = x[:runeCut(x, maxJSONQuote)]
		}
		q, _ := json.Marshal(x) // a string always marshals
		b.Write(q)
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if b.Len() > maxJSONQuote {
				return
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeShort(b, k)
			b.WriteByte(':')
			writeShort(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if b.Len() > maxJSONQuote {
				return
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeShort(b, e)
		}
		b.WriteByte(']')
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	default:
		var buf [32]byte
		if t, ok := numberText(buf[:0], v); ok {
			b.Write(t)
			return
		}
		q, err := json.Marshal(v)
		if err != nil {
			fmt.Fprintf(b, "%v", v)
			return
		}
		b.Write(q)
	}
}

// --- json-field

type jsonFieldConfig struct {
	commonConfig
	Path      *string         `json:"path"`
	Criterion json.RawMessage `json:"criterion"`
}

// JSONField judges one field of the output's JSON by the criterion it holds,
// which sees the field's value as the output: a string as it is, any other
// value as compact JSON. An output without the field fails.
type JSONField struct {
	common
	path  []string
	inner child
}

// Close closes the criterion that judges the field.
func (j *JSONField) Close() error { return closeChildren(j.inner) }

func newJSONField(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	var c jsonFieldConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newHolderCommon(spec.Type, &c.commonConfig, false)
	if err != nil {
		return nil, err
	}
	if c.Path == nil {
		return nil, evals.FieldErrorf("path", `missing: expected the path of the field, dotted keys and indexes such as "intent" or "items.0.name"`)
	}
	path, err := parseJSONPath(*c.Path)
	if err != nil {
		return nil, evals.FieldErrorf("path", "%v", err)
	}
	if c.Criterion == nil {
		return nil, evals.FieldErrorf("criterion", `missing: expected the criterion that judges the field, e.g. {"type": "equals", "value": "{{ expected.intent }}"}`)
	}
	inner, err := newChild(c.Name, "criterion", 0, c.Criterion, false, env)
	if err != nil {
		return nil, err
	}
	return &JSONField{common: cm, path: path, inner: inner}, nil
}

// Score implements evals.Scorer.
func (j *JSONField) Score(ctx context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	sub, v, ok := j.held(in)
	if !ok {
		return v
	}
	field, why, ok := jsonField(sub.Output, j.path)
	if !ok {
		return j.verdict(0, why)
	}
	at := *sub
	at.Output = field
	v = j.inner.scorer.Score(ctx, &at)
	// Corpus BLEU is a bleu criterion's own figure: a json-field holding one
	// does not report it (a field that is missing would have no counts).
	// bleu with "extract": {"json": ...} does.
	v.BLEU = nil
	if v.Reason != "" {
		v.Reason = fmt.Sprintf("field %q: %s", strings.Join(j.path, "."), v.Reason)
	}
	return v
}

var _ evals.Caller = (*JSONField)(nil)

// Calls implements evals.Caller with the calls of the criterion that judges
// the field, which it sees as the output (the output as it is when the
// field is not there, as it is not in the empty output of a dry run).
func (j *JSONField) Calls(in *evals.Input) ([]evals.Call, error) {
	sub := j.heldAsIs(in)
	if field, _, ok := jsonField(sub.Output, j.path); ok {
		at := *sub
		at.Output = field
		sub = &at
	}
	return childCalls(sub, j.inner)
}

var _ evals.CorpusScorer = (*JSONField)(nil)

// NewCorpus implements evals.CorpusScorer with the corpus of the criterion
// it holds, which sees the verdicts it passes on: an equals with label: true
// measures the field's labels. They carry no BLEU counts, so a bleu inside
// reports no corpus BLEU.
func (j *JSONField) NewCorpus() evals.Corpus {
	if cs, ok := j.inner.scorer.(evals.CorpusScorer); ok {
		return cs.NewCorpus()
	}
	return nil
}
