package criteria_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

func TestJSONMatch(t *testing.T) {
	match := func(value string) string {
		return `{"name":"c","type":"json-match","value":` + value + `}`
	}
	subset := func(value string) string {
		return `{"name":"c","type":"json-match","subset":true,"value":` + value + `}`
	}
	unordered := func(value string) string {
		return `{"name":"c","type":"json-match","ignore_order":true,"value":` + value + `}`
	}
	both := func(value string) string {
		return `{"name":"c","type":"json-match","subset":true,"ignore_order":true,"value":` + value + `}`
	}
	runScoreTests(t, []scoreTest{
		{name: "key order ignored", spec: match(`{"a":1,"b":[true,null,"x"]}`), output: ` {"b": [true, null, "x"], "a": 1} `, want: pass()},
		{name: "1 equals 1.0", spec: match(`{"n":1}`), output: `{"n":1.0}`, want: pass()},
		{name: "numbers as numbers", spec: match(`[1, 0.5, 100, -0, 1.5e3]`), output: `[1e0, 5E-1, 1e2, 0, 1500.000]`, want: pass()},
		{name: "big integers exactly", spec: match(`{"id":12345678901234567890123}`), output: `{"id":12345678901234567890123}`, want: pass()},
		{name: "big integers that a float64 confuses", spec: match(`9007199254740993`), output: `9007199254740992`,
			want: fail(`at $: got 9007199254740992, expected 9007199254740993`)},
		{name: "huge exponents, no expansion", spec: match(`1e999999999`), output: `10e999999998`, want: pass()},
		{name: "huge exponents differ", spec: match(`1e999999999`), output: `1e999999998`, want: fail(`at $: got 1e999999998, expected 1e999999999`)},
		{name: "nested difference names the path", spec: match(`{"items":[{"price":2.5},{"price":2.5}]}`), output: `{"items":[{"price":2.5},{"price":3}]}`,
			want: fail(`at $.items[1].price: got 3, expected 2.5`)},
		{name: "missing key", spec: match(`{"a":1,"b":{"c":2}}`), output: `{"a":1}`, want: fail(`at $.b: missing, expected {"c":2}`)},
		{name: "unexpected key", spec: match(`{"a":1}`), output: `{"a":1,"z":[1,2]}`, want: fail(`at $.z: unexpected key, got [1,2]`)},
		{name: "first difference in key order", spec: match(`{"b":1,"a":1}`), output: `{"b":2,"a":2}`, want: fail(`at $.a: got 2, expected 1`)},
		{name: "kinds differ", spec: match(`{"a":1}`), output: `{"a":"1"}`, want: fail(`at $.a: got a string "1", expected a number 1`)},
		{name: "null is not missing", spec: match(`{"a":null}`), output: `{}`, want: fail(`at $.a: missing, expected null`)},
		{name: "odd keys are quoted in the path", spec: match(`{"a b":{"x.y":1}}`), output: `{"a b":{"x.y":2}}`, want: fail(`at $["a b"]["x.y"]: got 2, expected 1`)},
		{name: "array length", spec: match(`{"tags":["a","b"]}`), output: `{"tags":["a"]}`, want: fail(`at $.tags: got 1 element(s), expected 2`)},
		{name: "array order counts by default", spec: match(`["a","b"]`), output: `["b","a"]`, want: fail(`at $[0]: got "b", expected "a"`)},
		{name: "long values are cut in the reason", spec: match(`{"s":"short"}`), output: `{"s":"` + strings.Repeat("é", 100) + `"}`,
			want: fail(`at $.s: got "` + strings.Repeat("é", 39) + `…, expected "short"`)},
		{name: "output not JSON", spec: match(`{}`), output: `{"a":`, want: fail(`output is not JSON: unexpected end of JSON input at offset 5, near ":"`)},
		{name: "duplicate keys: the last counts", spec: match(`{"a":2}`), output: `{"a":1,"a":2}`, want: pass()},

		{name: "ignore_order", spec: unordered(`{"tags":["a","b",{"x":[1,2]}]}`), output: `{"tags":[{"x":[1,2.0]},"b","a"]}`, want: pass()},
		{name: "ignore_order is recursive", spec: unordered(`[[1,2],[3,4]]`), output: `[[4,3],[2,1]]`, want: pass()},
		{name: "ignore_order counts repeats", spec: unordered(`["a","a","b"]`), output: `["a","b","b"]`,
			want: fail(`at $: expected element "a" not found (order ignored)`)},
		{name: "ignore_order length", spec: unordered(`["a"]`), output: `["a","a"]`, want: fail(`at $: got 2 element(s), expected 1`)},

		{name: "subset allows other keys", spec: subset(`{"intent":"refund","order":{"id":7}}`), output: `{"intent":"refund","reply":"ok","order":{"id":7,"total":3}}`, want: pass()},
		{name: "subset still needs every expected key", spec: subset(`{"intent":"refund","order":{"id":7}}`), output: `{"intent":"refund","order":{"total":3}}`,
			want: fail(`at $.order.id: missing, expected 7`)},
		{name: "subset reaches into arrays, which keep their length", spec: subset(`{"items":[{"id":1},{"id":2}]}`), output: `{"items":[{"id":1,"n":"a"},{"id":2,"n":"b"}]}`, want: pass()},
		{name: "subset arrays keep their length", spec: subset(`{"items":[{"id":1}]}`), output: `{"items":[{"id":1},{"id":2}]}`,
			want: fail(`at $.items: got 2 element(s), expected 1`)},
		{name: "subset with ignore_order pairs elements", spec: both(`[{"a":1},{"a":1,"b":2}]`), output: `[{"a":1,"b":2},{"a":1,"c":3}]`, want: pass()},
		{name: "subset with ignore_order fails", spec: both(`[{"a":1},{"b":2}]`), output: `[{"a":1,"b":3},{"a":1}]`,
			want: fail(`at $: no element matches expected element 1, {"b":2} (order ignored)`)},

		{name: "expected answer", spec: `{"name":"c","type":"json-match"}`, output: `{"intent":"refund","amount":12.5}`,
			expected: `{"amount":12.50,"intent":"refund"}`, want: pass()},
		{name: "expected float from a dataset", spec: `{"name":"c","type":"json-match"}`, output: `[0.1, 1e21, 3]`, expected: `[0.10, 1000000000000000000000, 3.0]`, want: pass()},
		{name: "no expected answer", spec: `{"name":"c","type":"json-match"}`, output: `{}`,
			want: unscoredV(`no value to compare: set value or give the case an expected answer`)},
		{name: "template keeps the type", spec: `{"name":"c","type":"json-match","value":"{{expected.answer}}"}`, output: `{"x":[1]}`,
			expected: `{"answer":{"x":[1.0]}}`, want: pass()},
		{name: "template with a missing variable", spec: `{"name":"c","type":"json-match","value":"{{expected.answer}}"}`, output: `{}`,
			expected: `{}`, want: unscoredV(`value "{{expected.answer}}": variable "expected.answer" is not defined for this case`)},
		{name: "a text value is a JSON string", spec: `{"name":"c","type":"json-match","value":"yes {{label}}"}`, output: `"yes sir"`, vars: `{"label":"sir"}`, want: pass()},
		{name: "a static string", spec: match(`"ok"`), output: `"ok"`, want: pass()},
		{name: "null value", spec: match(`null`), output: `null`, want: pass()},
		{name: "extract code_fence", spec: `{"name":"c","type":"json-match","extract":{"code_fence":true},"value":{"a":1}}`,
			output: "Here:\n```json\n{\"a\": 1}\n```", want: pass()},
		{name: "extract json field", spec: `{"name":"c","type":"json-match","extract":{"json":"result"},"value":[1,2]}`,
			output: `{"result":[1,2.0],"log":"x"}`, want: pass()},
	})
}

func TestJSONField(t *testing.T) {
	field := func(path, inner string) string {
		return `{"name":"f","type":"json-field","path":"` + path + `","criterion":` + inner + `}`
	}
	runScoreTests(t, []scoreTest{
		{name: "string field", spec: field("intent", `{"type":"equals","value":"{{expected.intent}}"}`), output: `{"intent":"refund"}`,
			expected: `{"intent":"refund"}`, want: pass()},
		{name: "inner reason names the field", spec: field("intent", `{"type":"equals","value":"{{expected.intent}}"}`), output: `{"intent":"cancel"}`,
			expected: `{"intent":"refund"}`, want: fail(`field "intent": got "cancel", expected "refund"`)},
		{name: "missing field fails", spec: field("intent", `{"type":"equals","value":"x"}`), output: `{"other":1}`, want: fail(`no field "intent"`)},
		{name: "missing field fails even under an inner that would pass anything", spec: field("a", `{"type":"regex","pattern":"^"}`), output: `{}`, want: fail(`no field "a"`)},
		{name: "output not JSON fails", spec: field("a", `{"type":"equals","value":"x"}`), output: `a: x`,
			want: fail(`output is not JSON: invalid character 'a' looking for beginning of value at offset 1, near "a: x"`)},
		{name: "nested path and index", spec: field("items.1.sku", `{"type":"starts-with","value":"SKU-"}`), output: `{"items":[{"sku":"x"},{"sku":"SKU-9"}]}`, want: pass()},
		{name: "number as written", spec: field("n", `{"type":"equals","value":"1.50"}`), output: `{"n":1.50}`, want: pass()},
		{name: "object as compact JSON", spec: field("o", `{"type":"json-match","value":{"b":[1,2],"a":true}}`), output: `{"o": {"a": true, "b": [1, 2.0]}}`, want: pass()},
		{name: "inner unscored", spec: field("a", `{"type":"equals"}`), output: `{"a":"x"}`,
			want: unscoredV(`field "a": no value to compare: set value or give the case an expected answer`)},
		{name: "inner normalize", spec: field("a", `{"type":"one-of","values":["yes","no"],"normalize":["lowercase","trim"]}`), output: `{"a":" YES "}`, want: pass()},
		{name: "output template sees the field", spec: field("a", `{"type":"equals","value":"{{output}}"}`), output: `{"a":"x"}`, want: pass()},
		{name: "extract first", spec: `{"name":"f","type":"json-field","extract":{"code_fence":true},"path":"a","criterion":{"type":"equals","value":"x"}}`,
			output: "```json\n{\"a\":\"x\"}\n```", want: pass()},
		{name: "a group on a field", spec: field("reply", `{"type":"all","criteria":[{"type":"length","max_words":5},{"type":"not","criterion":{"type":"contains","value":"sorry"}}]}`),
			output: `{"reply":"Refund sent."}`, want: pass()},
		{name: "graded inner keeps its score", spec: field("r", `{"type":"weighted","threshold":0.5,"criteria":[{"type":"contains","value":"a"},{"type":"contains","value":"b"}]}`),
			output: `{"r":"a"}`, want: evals.Verdict{Score: 0.5, Pass: true, Reason: `field "r": score 0.5: "f/0/1" failed (0): got "a", expected it to contain "b"`}},
	})
}

// TestJSONMatchWorstCase bounds the time of adversarial comparisons: deep
// arrays, unordered matching of many near misses.
func TestJSONMatchWorstCase(t *testing.T) {
	var want, got strings.Builder
	want.WriteString("[")
	got.WriteString("[")
	for i := range 2000 {
		if i > 0 {
			want.WriteString(",")
			got.WriteString(",")
		}
		want.WriteString(`{"k":1}`)
		got.WriteString(`{"k":1,"x":2}`)
	}
	want.WriteString("]")
	got.WriteString("]")
	sc := build(t, `{"name":"c","type":"json-match","subset":true,"ignore_order":true,"value":`+want.String()+`}`, criteria.Env{})
	start := time.Now()
	v := sc.Score(t.Context(), &evals.Input{Output: got.String()})
	if !v.Pass {
		t.Errorf("got %+v, want a pass", v)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// FuzzJSONMatchSelf checks that any JSON output matches itself in every mode,
// and that a comparison with another value never panics.
func FuzzJSONMatchSelf(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.0,{"b":null}],"c":"x"}`, `[1,1,2]`, `"\u00e9"`, `1e5`, `[[],[{}]]`, `{"a":1,"a":2}`, `-0.0`} {
		f.Add(s, `{"a":[2,1]}`)
	}
	f.Fuzz(func(t *testing.T, out, other string) {
		if !json.Valid([]byte(out)) || len(out) > 1<<12 {
			return
		}
		for _, mode := range []string{``, `,"subset":true`, `,"ignore_order":true`, `,"subset":true,"ignore_order":true`} {
			spec := `{"name":"c","type":"json-match","value":` + out + mode + `}`
			var probe struct{ Value json.RawMessage }
			if json.Unmarshal([]byte(spec), &probe) != nil || len(probe.Value) == 0 || probe.Value[0] == '"' {
				continue // a string value is a template: not this property
			}
			sc := build(t, spec, criteria.Env{})
			if v := sc.Score(t.Context(), &evals.Input{Output: out}); !v.Pass {
				t.Fatalf("%s does not match itself with%s: %+v", out, mode, v)
			}
			checkVerdict(t, sc, nil, other, 1)
		}
	})
}
