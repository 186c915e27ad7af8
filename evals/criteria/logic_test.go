package criteria_test

import (
	"errors"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

func TestNot(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "inner fails: passes", spec: `{"name":"polite","type":"not","criterion":{"type":"contains","value":"stupid"}}`,
			output: "Happy to help.", want: pass()},
		{name: "inner passes: fails", spec: `{"name":"polite","type":"not","criterion":{"type":"contains","value":"stupid"}}`,
			output: "What a stupid question.", want: fail(`"polite/0" (contains) passed with score 1, expected it to fail`)},
		{name: "named inner", spec: `{"name":"polite","type":"not","criterion":{"name":"insult","type":"contains","value":"stupid"}}`,
			output: "stupid", want: fail(`"insult" (contains) passed with score 1, expected it to fail`)},
		{name: "unscored inner stays unscored", spec: `{"name":"n","type":"not","criterion":{"type":"equals"}}`,
			output: "x", want: unscoredV(`"n/0": no value to compare: set value or give the case an expected answer`)},
		{name: "graded inner: 1 minus its score", spec: `{"name":"n","type":"not","criterion":{"type":"weighted","criteria":[{"type":"contains","value":"a"},{"type":"contains","value":"b"}]}}`,
			output: "a", want: evals.Verdict{Score: 0.5, Pass: true, Reason: `"n/0" failed as expected but scored 0.5: score 0.5: "n/0/1" failed (0): got "a", expected it to contain "b"`}},
		{name: "inner threshold decides", spec: `{"name":"n","type":"not","criterion":{"type":"weighted","threshold":0.5,"criteria":[{"type":"contains","value":"a"},{"type":"contains","value":"b"}]}}`,
			output: "a", want: evals.Verdict{Score: 0.5, Reason: `"n/0" (weighted) passed with score 0.5, expected it to fail`}},
		{name: "extract feeds the inner criterion", spec: `{"name":"n","type":"not","extract":{"json":"reply"},"criterion":{"type":"contains","value":"sorry"}}`,
			output: `{"reply":"Done.","note":"sorry"}`, want: pass()},
		{name: "extract fails: fails", spec: `{"name":"n","type":"not","extract":{"json":"reply"},"criterion":{"type":"contains","value":"sorry"}}`,
			output: `{}`, want: fail(`extract: no field "reply"`)},
		{name: "double negation", spec: `{"name":"n","type":"not","criterion":{"type":"not","criterion":{"type":"equals","value":"x"}}}`,
			output: "x", want: pass()},
		{name: "inner sees the case", spec: `{"name":"n","type":"not","criterion":{"type":"equals"}}`,
			output: "x", expected: `"y"`, want: pass()},
	})
}

func TestGroups(t *testing.T) {
	const (
		a = `{"name":"a","type":"contains","value":"a"}`
		b = `{"name":"b","type":"contains","value":"b"}`
		u = `{"name":"u","type":"equals"}` // unscored: the cases below have no expected answer
	)
	group := func(typ, children string) string {
		return `{"name":"g","type":"` + typ + `","criteria":[` + children + `]}`
	}
	runScoreTests(t, []scoreTest{
		{name: "all pass", spec: group("all", a+","+b), output: "ab", want: pass()},
		{name: "all: one fails", spec: group("all", a+","+b), output: "a",
			want: fail(`1 of 2 failed: "b" failed (0): got "a", expected it to contain "b"`)},
		{name: "all: a failure outweighs unscored", spec: group("all", u+","+b), output: "a",
			want: fail(`1 of 2 failed: "b" failed (0): got "a", expected it to contain "b"`)},
		{name: "all: unscored and none failed", spec: group("all", a+","+u), output: "a",
			want: unscoredV(`none failed, but "u" unscored: no value to compare: set value or give the case an expected answer`)},
		{name: "all: score is the lowest", spec: group("all", a+`,{"name":"w","type":"weighted","threshold":0.5,"criteria":[`+a+","+b+`]}`), output: "a",
			want: evals.Verdict{Score: 0.5, Pass: true, Reason: `all passed; lowest: "w" passed (0.5): score 0.5: "b" failed (0): got "a", expected it to contain "b"`}},

		{name: "any: one passes", spec: group("any", a+","+b), output: "b", want: pass()},
		{name: "any: none passes", spec: group("any", a+","+b), output: "c",
			want: fail(`none of 2 passed: "a" failed (0): got "c", expected it to contain "a"; "b" failed (0): got "c", expected it to contain "b"`)},
		{name: "any: a pass outweighs unscored", spec: group("any", u+","+b), output: "b", want: pass()},
		{name: "any: unscored and none passed", spec: group("any", u+","+b), output: "a",
			want: unscoredV(`none passed, and "u" unscored: no value to compare: set value or give the case an expected answer`)},

		{name: "weighted: mean by weight", spec: `{"name":"g","type":"weighted","threshold":0.7,"criteria":[{"type":"contains","value":"a","weight":3},{"type":"contains","value":"b"}]}`,
			output: "a", want: evals.Verdict{Score: 0.75, Pass: true, Reason: `score 0.75: "g/1" failed (0): got "a", expected it to contain "b"`}},
		{name: "weighted: below the threshold", spec: `{"name":"g","type":"weighted","threshold":0.8,"criteria":[{"type":"contains","value":"a","weight":3},{"type":"contains","value":"b"}]}`,
			output: "a", want: evals.Verdict{Score: 0.75, Reason: `score 0.75: "g/1" failed (0): got "a", expected it to contain "b"`}},
		{name: "weighted: default threshold 1", spec: group("weighted", a+","+b), output: "ab", want: pass()},
		{name: "weighted: unscored left out", spec: group("weighted", a+","+u), output: "a", want: pass()},
		{name: "weighted: weights all 0 give the plain mean", spec: `{"name":"g","type":"weighted","threshold":0.5,"criteria":[{"type":"contains","value":"a","weight":0},{"type":"contains","value":"b","weight":0}]}`,
			output: "b", want: evals.Verdict{Score: 0.5, Pass: true, Reason: `score 0.5: "g/0" failed (0): got "b", expected it to contain "a"`}},
		{name: "weighted: none scored", spec: group("weighted", u), output: "a",
			want: unscoredV(`no criterion scored: "u" unscored: no value to compare: set value or give the case an expected answer`)},

		{name: "nested groups", spec: group("all", `{"type":"any","criteria":[`+a+","+b+`]},{"type":"not","criterion":{"type":"contains","value":"z"}}`),
			output: "b", want: pass()},
		{name: "nested groups fail with the path of names", spec: group("all", `{"type":"any","criteria":[`+a+","+b+`]},{"type":"not","criterion":{"type":"contains","value":"z"}}`),
			output: "z", want: fail(`2 of 2 failed: "g/0" failed (0): none of 2 passed: "a" failed (0): got "z", expected it to contain "a"; "b" failed (0): got "z", expected it to contain "b"; "g/1" failed (0): "g/1/0" (contains) passed with score 1, expected it to fail`)},
		{name: "extract feeds every child", spec: `{"name":"g","type":"all","extract":{"last_line":true},"criteria":[` + a + "," + b + `]}`,
			output: "xyz\nab", want: pass()},
		{name: "reasons list at most five", spec: group("all", `{"type":"equals","value":"1"},{"type":"equals","value":"2"},{"type":"equals","value":"3"},{"type":"equals","value":"4"},{"type":"equals","value":"5"},{"type":"equals","value":"6"},{"type":"equals","value":"7"}`),
			output: "x", want: fail(`7 of 7 failed: "g/0" failed (0): got "x", expected "1"; "g/1" failed (0): got "x", expected "2"; "g/2" failed (0): got "x", expected "3"; "g/3" failed (0): got "x", expected "4"; "g/4" failed (0): got "x", expected "5"; and 2 more`)},
	})
}

func TestNewErrorsNested(t *testing.T) {
	runNewErrorTests(t, t.TempDir(), []newErrorTest{
		{"not without criterion", `{"name":"c","type":"not"}`, "criterion", `missing: expected the criterion to negate, e.g. {"type": "contains", "value": "sorry"}`},
		{"not criterion a string", `{"name":"c","type":"not","criterion":"equals"}`, "criterion", `expected a criterion object, got a string`},
		{"not inner without type", `{"name":"c","type":"not","criterion":{"value":"x"}}`, "criterion.type", `missing: expected one of ` + allTypes},
		{"not inner bad field", `{"name":"c","type":"not","criterion":{"type":"regex","pattern":"(a"}}`, "criterion.pattern",
			"error parsing regexp: missing closing ): `(a`: expected Go RE2 syntax"},
		{"not inner unknown field", `{"name":"c","type":"not","criterion":{"type":"equals","valeu":"x"}}`, "criterion.valeu",
			`unknown field "valeu" for criterion type "equals": did you mean "value"?`},
		{"not inner weight", `{"name":"c","type":"not","criterion":{"type":"equals","weight":2}}`, "criterion.weight", `applies only to the criteria of a weighted group`},
		{"not inner blank name", `{"name":"c","type":"not","criterion":{"name":"","type":"equals"}}`, "criterion.name", `missing: expected a non-empty name for the criterion`},
		{"not threshold", `{"name":"c","type":"not","threshold":0.5,"criterion":{"type":"equals"}}`, "threshold",
			`does not apply to criterion type "not": it passes or fails with the criteria it holds; set thresholds on them`},
		{"not normalize", `{"name":"c","type":"not","normalize":["trim"],"criterion":{"type":"equals"}}`, "normalize",
			`does not apply to criterion type "not": set it on the criteria it holds, which compare`},
		{"all without criteria", `{"name":"c","type":"all"}`, "criteria", `missing: expected an array of criteria`},
		{"all criteria empty", `{"name":"c","type":"all","criteria":[]}`, "criteria", `empty array: expected at least one criterion`},
		{"all criteria an object", `{"name":"c","type":"all","criteria":{"type":"equals"}}`, "criteria", `expected an array of criteria, got an object`},
		{"any child not an object", `{"name":"c","type":"any","criteria":[{"type":"equals"},3]}`, "criteria.1", `expected a criterion object, got a number`},
		{"any child weight", `{"name":"c","type":"any","criteria":[{"type":"equals","weight":1}]}`, "criteria.0.weight", `applies only to the criteria of a weighted group`},
		{"weighted child negative weight", `{"name":"c","type":"weighted","criteria":[{"type":"equals","weight":-1}]}`, "criteria.0.weight", `expected a number >= 0, got -1`},
		{"three levels deep", `{"name":"c","type":"all","criteria":[{"type":"equals"},{"type":"not","criterion":{"type":"any","criteria":[{"type":"contains","value":""}]}}]}`,
			"criteria.1.criterion.criteria.0.value", `empty string: every output contains it`},
		{"json-field without path", `{"name":"c","type":"json-field","criterion":{"type":"equals"}}`, "path",
			`missing: expected the path of the field, dotted keys and indexes such as "intent" or "items.0.name"`},
		{"json-field bad path", `{"name":"c","type":"json-field","path":"a..b","criterion":{"type":"equals"}}`, "path",
			`empty key in path "a..b": expected dotted keys and indexes, e.g. "category" or "items.0.name"`},
		{"json-field without criterion", `{"name":"c","type":"json-field","path":"a"}`, "criterion",
			`missing: expected the criterion that judges the field, e.g. {"type": "equals", "value": "{{ expected.intent }}"}`},
		{"json-field inner error", `{"name":"c","type":"json-field","path":"a","criterion":{"type":"one-of"}}`, "criterion.values",
			`missing: expected the label set, e.g. ["positive", "negative", "neutral"]`},
	})
}

// TestNestedErrorsAll checks that every problem in nested criteria is
// reported, each at its own path.
func TestNestedErrorsAll(t *testing.T) {
	spec := `{"name":"c","type":"all","criteria":[{"type":"regex","pattern":"("},{"type":"equals"},{"type":"any","criteria":[{"type":"nope"},{"type":"length"}]}]}`
	_, err := criteria.New(specOf(t, spec), criteria.Env{})
	var got []string
	for _, e := range unjoin(err) {
		var fe *evals.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v (%T) is not a *evals.FieldError", e, e)
		}
		got = append(got, fe.Field)
	}
	want := []string{"criteria.0.pattern", "criteria.2.criteria.0.type", "criteria.2.criteria.1.max_chars"}
	if len(got) != len(want) {
		t.Fatalf("fields %v, want %v (error %v)", got, want, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("fields %v, want %v", got, want)
			break
		}
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
