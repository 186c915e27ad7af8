package criteria

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// commonConfig holds the fields every criterion type accepts.
type commonConfig struct {
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Weight      *float64       `json:"weight"`
	Threshold   *float64       `json:"threshold"`
	Description string         `json:"description"`
	Turn        *evals.Turn    `json:"turn"`
	Extract     *extractConfig `json:"extract"`
	Normalize   []string       `json:"normalize"`
}

// extractConfig is the "extract" object.
type extractConfig struct {
	CodeFence bool            `json:"code_fence"`
	JSON      *string         `json:"json"`
	Regex     *string         `json:"regex"`
	Group     json.RawMessage `json:"group"`
	LastLine  bool            `json:"last_line"`
}

// common is the part of every scorer that the criterion type does not decide:
// what to take from the output, how to normalise it, and the pass threshold.
type common struct {
	threshold float64
	extract   *extractor // nil when the whole output is judged
	norm      normalizer
}

func newCommon(c *commonConfig) (common, error) {
	var cm common
	if strings.TrimSpace(c.Name) == "" {
		return cm, evals.FieldErrorf("name", "missing: expected a non-empty name for the criterion")
	}
	if c.Weight != nil && !(*c.Weight >= 0) {
		return cm, evals.FieldErrorf("weight", "expected a number >= 0, got %v", *c.Weight)
	}
	cm.threshold = 1
	if c.Threshold != nil {
		if t := *c.Threshold; !(t >= 0 && t <= 1) {
			return cm, evals.FieldErrorf("threshold", "expected a number from 0 to 1, got %v", t)
		}
		cm.threshold = *c.Threshold
	}
	var err error
	if cm.norm, err = parseNormalize(c.Normalize); err != nil {
		return cm, err
	}
	if c.Extract != nil {
		if cm.extract, err = newExtractor(c.Extract); err != nil {
			return cm, err
		}
	}
	return cm, nil
}

// subject returns the part of out the criterion judges, extracted and
// normalised; when extraction fails, ok is false and why says why.
func (c *common) subject(out string) (s, why string, ok bool) {
	s = out
	if c.extract != nil {
		if s, why, ok = c.extract.apply(s); !ok {
			return "", "extract: " + why, false
		}
	}
	return c.norm.apply(s), "", true
}

// verdict scores a judged response; reason should say why whenever score < 1.
func (c *common) verdict(score float64, reason string) evals.Verdict {
	return evals.Verdict{Score: score, Pass: score >= c.threshold, Reason: reason}
}

// unscored is the verdict on a response the criterion cannot judge.
func unscored(reason string) evals.Verdict {
	return evals.Verdict{Unscored: true, Reason: reason}
}

// noInput is the verdict on a nil input.
var noInput = unscored("no input to score")

// --- normalisation

// normalizer is a set of normalisation steps, applied in a fixed order:
// lowercase, strip_punctuation, collapse_whitespace, trim.
type normalizer uint8

const (
	normLower normalizer = 1 << iota
	normStripPunct
	normCollapse
	normTrim
)

// normNames lists the normalize options in the order they are applied.
var normNames = []struct {
	name string
	bit  normalizer
}{
	{"lowercase", normLower},
	{"strip_punctuation", normStripPunct},
	{"collapse_whitespace", normCollapse},
	{"trim", normTrim},
}

func parseNormalize(names []string) (normalizer, error) {
	var n normalizer
next:
	for i, name := range names {
		for _, o := range normNames {
			if name == o.name {
				n |= o.bit
				continue next
			}
		}
		valid := make([]string, len(normNames))
		for j, o := range normNames {
			valid[j] = o.name
		}
		return 0, evals.FieldErrorf("normalize."+strconv.Itoa(i), "unknown normalization %q: expected one of %s", name, strings.Join(valid, ", "))
	}
	return n, nil
}

// apply returns s normalised. It allocates only when s changes.
func (n normalizer) apply(s string) string {
	if n == 0 {
		return s
	}
	if n&normLower != 0 {
		s = strings.ToLower(s)
	}
	if n&normStripPunct != 0 {
		s = strings.Map(dropPunct, s)
	}
	if n&normCollapse != 0 {
		s = collapseSpace(s)
	}
	if n&normTrim != 0 {
		s = strings.TrimSpace(s)
	}
	return s
}

func dropPunct(r rune) rune {
	if unicode.IsPunct(r) {
		return -1
	}
	return r
}

// collapseSpace replaces every run of white space in s with one space.
func collapseSpace(s string) string {
	start := -1 // index of the first byte that needs rewriting
	prevSpace := false
	for i, r := range s {
		sp := unicode.IsSpace(r)
		if sp && (prevSpace || r != ' ') {
			start = i
			break
		}
		prevSpace = sp
	}
	if start < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:start])
	for i := start; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			b.WriteString(s[i : i+size]) // keeps invalid bytes as they are
			prevSpace = false
		} else if !prevSpace {
			b.WriteByte(' ')
			prevSpace = true
		}
		i += size
	}
	return b.String()
}

// --- extraction

// extractor takes the part of the output a criterion judges.
type extractor struct {
	codeFence bool
	jsonPath  []string // nil unless extracting a JSON field
	re        *regexp.Regexp
	group     int
	groupName string // "group 1" or `group "label"`, for reasons
	lastLine  bool
}

func newExtractor(c *extractConfig) (*extractor, error) {
	x := &extractor{codeFence: c.CodeFence, lastLine: c.LastLine}
	var modes []string
	if c.JSON != nil {
		modes = append(modes, "json")
	}
	if c.Regex != nil {
		modes = append(modes, "regex")
	}
	if c.LastLine {
		modes = append(modes, "last_line")
	}
	if len(modes) > 1 {
		return nil, evals.FieldErrorf("extract."+modes[1], "%q cannot be combined with %q: expected one of json, regex, last_line", modes[1], modes[0])
	}
	if len(modes) == 0 && !c.CodeFence {
		return nil, evals.FieldErrorf("extract", "nothing to extract: expected code_fence, json, regex or last_line")
	}
	if c.JSON != nil {
		path, err := parseJSONPath(*c.JSON)
		if err != nil {
			return nil, evals.FieldErrorf("extract.json", "%v", err)
		}
		x.jsonPath = path
	}
	if len(c.Group) > 0 && c.Regex == nil {
		return nil, evals.FieldErrorf("extract.group", `"group" applies only with "regex"`)
	}
	if c.Regex != nil {
		re, err := compileRegex(*c.Regex, "extract.regex")
		if err != nil {
			return nil, err
		}
		x.re = re
		if x.group, x.groupName, err = parseGroup(c.Group, re, "extract.group"); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// apply returns the extracted part of s; when there is none, ok is false and
// why says why.
func (x *extractor) apply(s string) (out, why string, ok bool) {
	if x.codeFence {
		s = codeFence(s)
	}
	switch {
	case x.jsonPath != nil:
		return jsonField(s, x.jsonPath)
	case x.re != nil:
		return regexGroup(x.re, x.group, x.groupName, s)
	case x.lastLine:
		return lastLine(s)
	}
	return s, "", true
}

// codeFence returns the content of the first ``` fenced block in s, or s when
// it has none. The opening fence may carry a language tag; the block ends at
// the next ``` or, when it is never closed, at the end of s.
func codeFence(s string) string {
	i := strings.Index(s, "```")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	nl := strings.IndexByte(rest, '\n')
	if nl < 0 || strings.Contains(rest[:nl], "```") {
		// All on one line: ```text```.
		if j := strings.Index(rest, "```"); j >= 0 {
			return rest[:j]
		}
		return ""
	}
	body := rest[nl+1:]
	if j := strings.Index(body, "```"); j >= 0 {
		body = body[:j]
		// The line break before the closing fence, and the fence's indentation,
		// are not part of the content.
		body = strings.TrimRight(body, " \t")
		body = strings.TrimSuffix(body, "\n")
		body = strings.TrimSuffix(body, "\r")
	}
	return body
}

func regexGroup(re *regexp.Regexp, group int, groupName, s string) (string, string, bool) {
	if group == 0 {
		loc := re.FindStringIndex(s)
		if loc == nil {
			return "", fmt.Sprintf("no match for %s in %s", quoteRegex(re), quote(s)), false
		}
		return s[loc[0]:loc[1]], "", true
	}
	loc := re.FindStringSubmatchIndex(s)
	if loc == nil {
		return "", fmt.Sprintf("no match for %s in %s", quoteRegex(re), quote(s)), false
	}
	if loc[2*group] < 0 {
		return "", fmt.Sprintf("%s of %s took no part in the match %s", groupName, quoteRegex(re), quote(s[loc[0]:loc[1]])), false
	}
	return s[loc[2*group]:loc[2*group+1]], "", true
}

func lastLine(s string) (string, string, bool) {
	for {
		i := strings.LastIndexByte(s, '\n')
		if line := strings.TrimSpace(s[i+1:]); line != "" {
			return line, "", true
		}
		if i < 0 {
			return "", "no non-empty line in the output", false
		}
		s = s[:i]
	}
}

func compileRegex(pattern, field string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, evals.FieldErrorf(field, "empty pattern: expected a regular expression")
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, evals.FieldErrorf(field, "%v: expected Go RE2 syntax", err)
	}
	return re, nil
}

// parseGroup reads a capture group, given by number or name; when raw is
// empty the group is 1 if the pattern has a group, else 0 (the whole match).
func parseGroup(raw json.RawMessage, re *regexp.Regexp, field string) (int, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		if re.NumSubexp() > 0 {
			return 1, "group 1", nil
		}
		return 0, "the match", nil
	}
	switch raw[0] {
	case '"':
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return 0, "", evals.FieldErrorf(field, "%v", err)
		}
		if i := re.SubexpIndex(name); i > 0 {
			return i, fmt.Sprintf("group %q", name), nil
		}
		var names []string
		for _, n := range re.SubexpNames() {
			if n != "" {
				names = append(names, strconv.Quote(n))
			}
		}
		if len(names) == 0 {
			return 0, "", evals.FieldErrorf(field, "no group named %q: the pattern has no named groups (write them as (?P<name>...))", name)
		}
		return 0, "", evals.FieldErrorf(field, "no group named %q: expected one of %s", name, strings.Join(names, ", "))
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		n, err := strconv.Atoi(string(raw))
		if err != nil || n < 0 {
			return 0, "", evals.FieldErrorf(field, "expected a group number (0 for the whole match) or a group name, got %s", raw)
		}
		if n > re.NumSubexp() {
			return 0, "", evals.FieldErrorf(field, "group %d does not exist: the pattern has %d capture group(s)", n, re.NumSubexp())
		}
		if n == 0 {
			return 0, "the match", nil
		}
		return n, "group " + strconv.Itoa(n), nil
	}
	return 0, "", evals.FieldErrorf(field, "expected a group number or name, got %s", evals.JSONKind(raw))
}

// --- values

// values are what a comparison criterion compares the output against: the
// "value" field, or the case's expected answer when it has none.
type values struct {
	items    []valueItem
	static   []string // every item's text, when no item is a template
	expected bool     // no "value": compare against the case's expected answer
}

type valueItem struct {
	text string          // the normalised text of a static item
	tmpl *evals.Template // nil for a static item
}

// parseValues reads the "value" field. empty, when not "", rejects values that
// are empty after normalisation, completing the message "every output ...".
func parseValues(raw json.RawMessage, norm normalizer, empty string) (values, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return values{expected: true}, nil
	}
	var srcs []string
	var fields []string
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return values{}, evals.FieldErrorf("value", "%v", err)
		}
		srcs, fields = []string{s}, []string{"value"}
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return values{}, evals.FieldErrorf("value", "%v", err)
		}
		if len(elems) == 0 {
			return values{}, evals.FieldErrorf("value", "empty array: expected at least one value")
		}
		for i, e := range elems {
			field := "value." + strconv.Itoa(i)
			var s string
			if len(e) == 0 || e[0] != '"' {
				return values{}, evals.FieldErrorf(field, "expected a string, got %s", evals.JSONKind(e))
			}
			if err := json.Unmarshal(e, &s); err != nil {
				return values{}, evals.FieldErrorf(field, "%v", err)
			}
			srcs, fields = append(srcs, s), append(fields, field)
		}
	default:
		return values{}, evals.FieldErrorf("value", "expected a string or an array of strings, got %s", evals.JSONKind(raw))
	}
	v := values{items: make([]valueItem, len(srcs))}
	allStatic := true
	for i, src := range srcs {
		t, err := evals.ParseTemplate(src)
		if err != nil {
			return values{}, evals.FieldErrorf(fields[i], "%v", err)
		}
		if !t.Static() {
			v.items[i].tmpl = t
			allStatic = false
			continue
		}
		text, _ := t.Render(nil) // a static template never looks anything up
		text = norm.apply(text)
		if text == "" && empty != "" {
			if src == "" {
				return values{}, evals.FieldErrorf(fields[i], "empty string: every output %s it", empty)
			}
			return values{}, evals.FieldErrorf(fields[i], "%q is empty after normalize: every output %s it", src, empty)
		}
		v.items[i].text = text
	}
	if allStatic {
		v.static = make([]string, len(v.items))
		for i, it := range v.items {
			v.static[i] = it.text
		}
	}
	return v, nil
}

// noCase stands in for a missing case, so that scoring never dereferences nil.
var noCase evals.Case

// resolve appends the normalised values to compare against for in to dst;
// when there are none, ok is false and why says why.
func (v *values) resolve(in *evals.Input, norm normalizer, dst []string) (vals []string, why string, ok bool) {
	if v.static != nil {
		return v.static, "", true
	}
	c := in.Case
	if c == nil {
		c = &noCase
	}
	if v.expected {
		return appendValue(dst, c.Expected, nil, norm)
	}
	var scope evals.Scope = evals.CaseScope{Case: c, Output: in.Output, HasOutput: true}
	for _, it := range v.items {
		if it.tmpl == nil {
			dst = append(dst, it.text)
			continue
		}
		x, err := it.tmpl.Value(scope)
		if err != nil {
			return nil, fmt.Sprintf("value %q: %v", it.tmpl.String(), err), false
		}
		if dst, why, ok = appendValue(dst, x, it.tmpl, norm); !ok {
			return nil, why, false
		}
	}
	return dst, "", true
}

// appendValue appends the normalised text of x, a value from a case, to dst:
// one value for a string, number or boolean, one per element for an array.
// from is the template x came from, nil for the case's expected answer.
func appendValue(dst []string, x any, from *evals.Template, norm normalizer) ([]string, string, bool) {
	switch x := x.(type) {
	case nil:
		if from == nil {
			return nil, "no value to compare: set value or give the case an expected answer", false
		}
		return nil, "no value to compare: " + source(from) + " is null", false
	case []any:
		if len(x) == 0 {
			return nil, "no value to compare: " + source(from) + " is an empty array", false
		}
		for i, e := range x {
			s, ok := scalarText(e)
			if !ok {
				return nil, fmt.Sprintf("cannot compare with %s: element %d is %s, expected strings, numbers or booleans", source(from), i, kindOf(e)), false
			}
			dst = append(dst, norm.apply(s))
		}
		return dst, "", true
	case []string:
		if len(x) == 0 {
			return nil, "no value to compare: " + source(from) + " is an empty array", false
		}
		for _, s := range x {
			dst = append(dst, norm.apply(s))
		}
		return dst, "", true
	case map[string]any:
		return nil, objectHint(x, from), false
	}
	s, ok := scalarText(x)
	if !ok {
		return nil, fmt.Sprintf("cannot compare with %s: it is %s, expected a string, a number or an array", source(from), kindOf(x)), false
	}
	return append(dst, norm.apply(s)), "", true
}

// source names where a value came from, for reasons.
func source(from *evals.Template) string {
	if from == nil {
		return "expected"
	}
	return fmt.Sprintf("value %q", from.String())
}

// objectHint explains that an object cannot be compared, and how to pick a
// part of it.
func objectHint(m map[string]any, from *evals.Template) string {
	what := source(from)
	example := "{{expected.FIELD}}"
	if from == nil && len(m) > 0 {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		example = "{{expected." + keys[0] + "}}"
	}
	return fmt.Sprintf("cannot compare with %s: it is an object; set \"value\" to the part to compare (e.g. %q) or extract the whole output as JSON", what, example)
}

// scalarText returns a string as it is and a number or boolean as JSON text.
func scalarText(x any) (string, bool) {
	switch x := x.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return formatFloat(x), true
	case float32:
		return formatFloat(float64(x)), true
	case json.Number:
		return x.String(), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// formatFloat writes f as encoding/json does.
func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(make([]byte, 0, 24), f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b)
}

func kindOf(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", x)
}

// --- reasons

// maxQuote is how many runes of a text a reason quotes.
const maxQuote = 80

// quote returns s as a Go string literal, cut after maxQuote runes.
func quote(s string) string {
	n := 0
	for i := range s {
		if n == maxQuote {
			return strconv.Quote(s[:i]) + fmt.Sprintf("… (%d bytes)", len(s))
		}
		n++
	}
	return strconv.Quote(s)
}

// quoteList quotes up to 5 values, then says how many more there are.
func quoteList(vals []string) string {
	const max = 5
	var b strings.Builder
	for i, v := range vals {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(vals)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(v))
	}
	return b.String()
}

// oneOf is quoteList prefixed with "one of " when there are several values.
func oneOf(vals []string) string {
	if len(vals) == 1 {
		return quote(vals[0])
	}
	return "one of " + quoteList(vals)
}

func quoteRegex(re *regexp.Regexp) string {
	return "/" + re.String() + "/"
}

// isStatic reports whether the values are the same for every case.
func (v *values) isStatic() bool { return v.static != nil }
