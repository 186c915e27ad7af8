package criteria_test

import (
	"strings"
	"testing"
)

func TestEndsWith(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "pass", spec: `{"name":"c","type":"ends-with","value":"Best regards."}`, output: "Thanks!\nBest regards.", want: pass()},
		{name: "fail", spec: `{"name":"c","type":"ends-with","value":"."}`, output: "no full stop",
			want: fail(`got "no full stop", expected it to end with "."`)},
		{name: "any of several", spec: `{"name":"c","type":"ends-with","value":["?","!"]}`, output: "Really?", want: pass()},
		{name: "white space counts without trim", spec: `{"name":"c","type":"ends-with","value":"."}`, output: "done.\n",
			want: fail(`got "done.\n", expected it to end with "."`)},
		{name: "trim", spec: `{"name":"c","type":"ends-with","value":".","normalize":["trim"]}`, output: "done.\n", want: pass()},
		{name: "from expected", spec: `{"name":"c","type":"ends-with"}`, output: "answer: 42", expected: `42`, want: pass()},
		{name: "reason quotes the end of a long output", spec: `{"name":"c","type":"ends-with","value":"z"}`,
			output: strings.Repeat("a", 100) + strings.Repeat("é", 80),
			want:   fail(`got …"` + strings.Repeat("é", 80) + `" (260 bytes), expected it to end with "z"`)},
		{name: "with extract", spec: `{"name":"c","type":"ends-with","extract":{"json":"reply"},"value":"?"}`, output: `{"reply":"Can I help?"}`, want: pass()},
	})
}

func TestOneOf(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "label", spec: `{"name":"c","type":"one-of","values":["positive","negative","neutral"]}`, output: "neutral", want: pass()},
		{name: "off the set", spec: `{"name":"c","type":"one-of","values":["positive","negative","neutral"]}`, output: "mixed",
			want: fail(`got "mixed", expected one of "positive", "negative", "neutral"`)},
		{name: "normalised", spec: `{"name":"c","type":"one-of","values":["Positive","Negative"],"normalize":["lowercase","trim","strip_punctuation"]}`,
			output: " POSITIVE.\n", want: pass()},
		{name: "value as a list", spec: `{"name":"c","type":"one-of","value":["yes","no"]}`, output: "no", want: pass()},
		{name: "value as one label", spec: `{"name":"c","type":"one-of","value":"yes"}`, output: "no", want: fail(`got "no", expected "yes"`)},
		{name: "extracted", spec: `{"name":"c","type":"one-of","extract":{"json":"intent"},"values":["refund","cancel"]}`,
			output: `{"intent":"cancel"}`, want: pass()},
		{name: "extraction fails", spec: `{"name":"c","type":"one-of","extract":{"json":"intent"},"values":["refund","cancel"]}`,
			output: `{}`, want: fail(`extract: no field "intent"`)},
		{name: "the case's expected answer plays no part", spec: `{"name":"c","type":"one-of","values":["a","b"]}`, output: "b", expected: `"a"`, want: pass()},
	})
}

func TestLength(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "chars within", spec: `{"name":"c","type":"length","min_chars":2,"max_chars":5}`, output: "abcde", want: pass()},
		{name: "chars are code points", spec: `{"name":"c","type":"length","max_chars":3}`, output: "東京🙂", want: pass()},
		{name: "chars over", spec: `{"name":"c","type":"length","max_chars":3}`, output: "東京🙂!", want: fail("4 character(s), expected at most 3")},
		{name: "chars under", spec: `{"name":"c","type":"length","min_chars":3}`, output: "ab", want: fail("2 character(s), expected at least 3")},
		{name: "invalid UTF-8 byte counts as one", spec: `{"name":"c","type":"length","max_chars":2}`, output: "a\xff", want: pass()},
		{name: "empty output", spec: `{"name":"c","type":"length","min_chars":1}`, output: "", want: fail("0 character(s), expected at least 1")},
		{name: "words", spec: `{"name":"c","type":"length","min_words":2,"max_words":3}`, output: " one\ttwo\n\nthree ", want: pass()},
		{name: "words over", spec: `{"name":"c","type":"length","max_words":2}`, output: "one two three", want: fail("3 word(s), expected at most 2")},
		{name: "unicode white space separates words", spec: `{"name":"c","type":"length","max_words":2}`, output: "一\u3000二\u00a0三",
			want: fail("3 word(s), expected at most 2")},
		{name: "both units fail", spec: `{"name":"c","type":"length","max_chars":5,"min_words":3}`, output: "abcdef gh",
			want: fail("9 character(s), expected at most 5; 2 word(s), expected at least 3")},
		{name: "normalize before counting", spec: `{"name":"c","type":"length","max_chars":3,"normalize":["trim"]}`, output: "  abc \n", want: pass()},
		{name: "extract before counting", spec: `{"name":"c","type":"length","max_words":3,"extract":{"json":"summary"}}`,
			output: `{"summary":"short and sweet","other":"many many many words here"}`, want: pass()},
		{name: "zero bounds", spec: `{"name":"c","type":"length","max_chars":0}`, output: "", want: pass()},
	})
}

func TestNewErrorsLabelsAndLength(t *testing.T) {
	runNewErrorTests(t, t.TempDir(), []newErrorTest{
		{"ends-with empty", `{"name":"c","type":"ends-with","value":""}`, "value", `empty string: every output ends with it`},
		{"one-of no labels", `{"name":"c","type":"one-of"}`, "values", `missing: expected the label set, e.g. ["positive", "negative", "neutral"]`},
		{"one-of both", `{"name":"c","type":"one-of","values":["a"],"value":"a"}`, "value", `give either "values" or "value", not both`},
		{"one-of template", `{"name":"c","type":"one-of","values":["a","{{expected}}"]}`, "values.1",
			`"{{expected}}" is a template: one-of takes a fixed label set; to compare with the case's answer use equals`},
		{"one-of template in value", `{"name":"c","type":"one-of","value":"{{expected}}"}`, "value",
			`"{{expected}}" is a template: one-of takes a fixed label set; to compare with the case's answer use equals`},
		{"one-of repeat after normalize", `{"name":"c","type":"one-of","values":["Yes","no","yes"],"normalize":["lowercase"]}`, "values.2",
			`label "yes" repeats values.0 (after normalize)`},
		{"one-of values not strings", `{"name":"c","type":"one-of","values":["a",1]}`, "values.1", `expected a string, got a number`},
		{"one-of values empty", `{"name":"c","type":"one-of","values":[]}`, "values", `empty array: expected at least one value`},
		{"one-of values a string", `{"name":"c","type":"one-of","values":"a"}`, "values", `expected an array of strings, got a string`},

		{"length no bound", `{"name":"c","type":"length"}`, "max_chars", `missing: expected at least one of min_chars, max_chars, min_words, max_words`},
		{"length negative", `{"name":"c","type":"length","max_words":-1}`, "max_words", `expected an integer >= 0, got -1`},
		{"length min above max", `{"name":"c","type":"length","min_chars":5,"max_chars":4}`, "min_chars", `min_chars 5 is more than max_chars 4: no output could pass`},
		{"length fraction", `{"name":"c","type":"length","max_chars":1.5}`, "max_chars", `expected an integer, got the number 1.5`},
		{"length field of another type", `{"name":"c","type":"length","max_ms":1}`, "max_ms",
			`field "max_ms" does not apply to criterion type "length": its fields are name, type, weight, threshold, description, turn, extract, normalize, min_chars, max_chars, min_words, max_words`},
	})
}
