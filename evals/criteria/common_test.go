package criteria_test

import (
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

func TestExtract(t *testing.T) {
	const doc = `{"category": "billing", "priority": 2, "score": 0.92, "ok": true, "none": null,
		"items": [{"name": "a"}, {"name": "b", "tags": ["x", "y"]}],
		"nested": {"deep": {"value": "found"}}, "obj": { "x" : 1, "y": [1, 2] },
		"escaped": "caf\u00e9 \"quoted\"", "k\u0065y": "escaped key", "0": "zero key",
		"skip": {"a": "}]\"[{", "b": [[], {}]}, "after": "ok"}`
	eq := func(extract, value string) string {
		return `{"name":"c","type":"equals","extract":` + extract + `,"value":` + jsonString(value) + `}`
	}
	runScoreTests(t, []scoreTest{
		{name: "json top-level key", spec: eq(`{"json":"category"}`, "billing"), output: doc, want: pass()},
		{name: "json top-level key fails", spec: eq(`{"json":"category"}`, "refund"), output: doc, want: fail(`got "billing", expected "refund"`)},
		{name: "json nested keys", spec: eq(`{"json":"nested.deep.value"}`, "found"), output: doc, want: pass()},
		{name: "json array index", spec: eq(`{"json":"items.1.name"}`, "b"), output: doc, want: pass()},
		{name: "json index then index", spec: eq(`{"json":"items.1.tags.0"}`, "x"), output: doc, want: pass()},
		{name: "json integer as written", spec: eq(`{"json":"priority"}`, "2"), output: doc, want: pass()},
		{name: "json number as written", spec: eq(`{"json":"score"}`, "0.92"), output: doc, want: pass()},
		{name: "json boolean", spec: eq(`{"json":"ok"}`, "true"), output: doc, want: pass()},
		{name: "json null", spec: eq(`{"json":"none"}`, "null"), output: doc, want: pass()},
		{name: "json object as compact JSON", spec: eq(`{"json":"obj"}`, `{"x":1,"y":[1,2]}`), output: doc, want: pass()},
		{name: "json array as compact JSON", spec: eq(`{"json":"items.1.tags"}`, `["x","y"]`), output: doc, want: pass()},
		{name: "json string unescaped", spec: eq(`{"json":"escaped"}`, `café "quoted"`), output: doc, want: pass()},
		{name: "json escaped key", spec: eq(`{"json":"key"}`, "escaped key"), output: doc, want: pass()},
		{name: "json numeric key of an object", spec: eq(`{"json":"0"}`, "zero key"), output: doc, want: pass()},
		{name: "json skips tricky values", spec: eq(`{"json":"after"}`, "ok"), output: doc, want: pass()},
		{name: "json repeated key: the last counts", spec: eq(`{"json":"a"}`, "2"), output: `{"a": 1, "b": {"a": 3}, "a": 2}`, want: pass()},
		{name: "json whole array output", spec: eq(`{"json":"1"}`, "b"), output: ` ["a", "b"] `, want: pass()},
		{name: "json compared with expected number", spec: `{"name":"c","type":"equals","extract":{"json":"priority"}}`, output: doc, expected: `2`, want: pass()},
		{name: "json not JSON", spec: eq(`{"json":"category"}`, "x"), output: "hello",
			want: fail(`extract: output is not JSON: invalid character 'h' looking for beginning of value at offset 1, near "hello"`)},
		{name: "json empty output", spec: eq(`{"json":"category"}`, "x"), output: "",
			want: fail(`extract: output is not JSON: the text is empty`)},
		{name: "json missing key", spec: eq(`{"json":"label"}`, "x"), output: doc, want: fail(`extract: no field "label"`)},
		{name: "json missing nested key", spec: eq(`{"json":"nested.deep.nope"}`, "x"), output: doc, want: fail(`extract: no field "nested.deep.nope"`)},
		{name: "json index out of range", spec: eq(`{"json":"items.5.name"}`, "x"), output: doc,
			want: fail(`extract: no element "items.5": "items" has 2 element(s)`)},
		{name: "json key into an array", spec: eq(`{"json":"items.name"}`, "x"), output: doc,
			want: fail(`extract: no field "items.name": "items" is an array, expected an index`)},
		{name: "json key into a string", spec: eq(`{"json":"category.x"}`, "x"), output: doc,
			want: fail(`extract: no field "category.x": "category" is a string`)},
		{name: "json key into a scalar output", spec: eq(`{"json":"a"}`, "x"), output: `42`,
			want: fail(`extract: no field "a": the output is a number`)},
		{name: "json extraction is not normalised before lookup", spec: `{"name":"c","type":"equals","extract":{"json":"Category"},"normalize":["lowercase"],"value":"billing"}`,
			output: `{"Category":"BILLING"}`, want: pass()},

		{name: "regex default group 1", spec: eq(`{"regex":"category: (\\w+)"}`, "billing"), output: "category: billing\npriority: high", want: pass()},
		{name: "regex without group takes the match", spec: eq(`{"regex":"[A-D]\\)"}`, "C)"), output: "answer C) yes", want: pass()},
		{name: "regex group by number", spec: eq(`{"regex":"(\\w+): (\\w+)","group":2}`, "billing"), output: "category: billing", want: pass()},
		{name: "regex group 0", spec: eq(`{"regex":"(\\w+): (\\w+)","group":0}`, "category: billing"), output: "category: billing", want: pass()},
		{name: "regex group by name", spec: eq(`{"regex":"(?P<k>\\w+): (?P<v>\\w+)","group":"v"}`, "billing"), output: "category: billing", want: pass()},
		{name: "regex first match", spec: eq(`{"regex":"#(\\d+)"}`, "1"), output: "#1 and #2", want: pass()},
		{name: "regex no match", spec: eq(`{"regex":"category: (\\w+)"}`, "x"), output: "nothing",
			want: fail(`extract: no match for /category: (\w+)/ in "nothing"`)},
		{name: "regex runs before normalize", spec: `{"name":"c","type":"equals","extract":{"regex":"Category: (\\w+)"},"normalize":["lowercase"],"value":"billing"}`,
			output: "Category: BILLING", want: pass()},

		{name: "code fence with language", spec: eq(`{"code_fence":true}`, `{"a":1}`), output: "Here:\n```json\n{\"a\":1}\n```\nThanks", want: pass()},
		{name: "code fence without language", spec: eq(`{"code_fence":true}`, "line 1\nline 2"), output: "```\nline 1\nline 2\n```", want: pass()},
		{name: "code fence first of two", spec: eq(`{"code_fence":true}`, "one"), output: "```\none\n```\n```\ntwo\n```", want: pass()},
		{name: "code fence CRLF", spec: eq(`{"code_fence":true}`, "x"), output: "```txt\r\nx\r\n```\r\n", want: pass()},
		{name: "code fence indented closing", spec: eq(`{"code_fence":true}`, "x"), output: "  ```\n  x\n  ```", want: fail(`got "  x", expected "x"`)},
		{name: "code fence never closed", spec: eq(`{"code_fence":true}`, "x\ny\n"), output: "```\nx\ny\n", want: pass()},
		{name: "code fence on one line", spec: eq(`{"code_fence":true}`, "x = 1"), output: "Run ```x = 1``` now", want: pass()},
		{name: "code fence empty block", spec: eq(`{"code_fence":true}`, ""), output: "```\n```", want: pass()},
		{name: "code fence alone at the end", spec: eq(`{"code_fence":true}`, ""), output: "text ```", want: pass()},
		{name: "no code fence takes the whole output", spec: eq(`{"code_fence":true}`, "plain"), output: "plain", want: pass()},
		{name: "code fence then json", spec: eq(`{"code_fence":true,"json":"category"}`, "billing"), output: "Result:\n```json\n{\"category\": \"billing\"}\n```", want: pass()},
		{name: "code fence then json, no fence", spec: eq(`{"code_fence":true,"json":"category"}`, "billing"), output: `{"category": "billing"}`, want: pass()},
		{name: "code fence then last line", spec: eq(`{"code_fence":true,"last_line":true}`, "b"), output: "x\n```\na\nb\n```\nz", want: pass()},

		{name: "last line", spec: eq(`{"last_line":true}`, "Answer: B"), output: "Let me think.\nIt is B.\n  Answer: B  \n\n \n", want: pass()},
		{name: "last line of one line", spec: eq(`{"last_line":true}`, "B"), output: "B", want: pass()},
		{name: "last line CRLF", spec: eq(`{"last_line":true}`, "B"), output: "A\r\nB\r\n", want: pass()},
		{name: "last line of blank output", spec: eq(`{"last_line":true}`, "B"), output: " \n\t\n",
			want: fail(`extract: no non-empty line in the output`)},
		{name: "last line of empty output", spec: eq(`{"last_line":true}`, "B"), output: "",
			want: fail(`extract: no non-empty line in the output`)},
		{name: "extract failure is scored, even at threshold 0", spec: `{"name":"c","type":"equals","threshold":0,"extract":{"last_line":true},"value":"B"}`, output: "",
			want: evals.Verdict{Pass: true, Reason: `extract: no non-empty line in the output`}},
		{name: "missing value is unscored before extraction", spec: `{"name":"c","type":"equals","extract":{"json":"category"}}`, output: "not json",
			want: unscoredV("no value to compare: set value or give the case an expected answer")},
	})
}

func TestNormalizeUnicode(t *testing.T) {
	const out = "Grüße, 東京! 🙂 ÀÉÎ—«ok»"
	runScoreTests(t, []scoreTest{
		{name: "lowercase is Unicode-aware", spec: `{"name":"c","type":"equals","normalize":["lowercase"],"value":"grüße, 東京! 🙂 àéî—«ok»"}`, output: out, want: pass()},
		{name: "strip_punctuation removes Unicode punctuation", spec: `{"name":"c","type":"equals","normalize":["strip_punctuation"],"value":"Grüße 東京 🙂 ÀÉÎok"}`, output: out, want: pass()},
		{name: "all options", spec: `{"name":"c","type":"equals","normalize":["trim","collapse_whitespace","strip_punctuation","lowercase"],"value":"grüße 東京 🙂 àéîok"}`, output: "  " + out + "\n", want: pass()},
		{name: "strip_punctuation keeps symbols", spec: `{"name":"c","type":"equals","normalize":["strip_punctuation"],"value":"$+<=>^` + "`" + `|~"}`, output: `$+<=>^` + "`" + `|~.,;:!?'"()[]{}-_/@#%&*\`, want: pass()},
		{name: "values are normalised the same way", spec: `{"name":"c","type":"equals","normalize":["lowercase","strip_punctuation"],"value":"GRÜSSE!"}`, output: "grüsse", want: pass()},
		{name: "invalid UTF-8 compared byte for byte", spec: `{"name":"c","type":"equals","value":"x"}`, output: "\xff\xfe",
			want: fail(`got "\xff\xfe", expected "x"`)},
		{name: "invalid UTF-8 under lowercase", spec: `{"name":"c","type":"contains","normalize":["lowercase"],"value":"ab"}`, output: "A\xffB", want: fail("got \"a\ufffdb\", expected it to contain \"ab\"")},
		{name: "invalid UTF-8 kept by collapse_whitespace", spec: `{"name":"c","type":"equals","normalize":["collapse_whitespace"],"value":"x"}`, output: "\xff  \xfe",
			want: fail(`got "\xff \xfe", expected "x"`)},
		{name: "long unicode output is cut at a rune boundary", spec: `{"name":"c","type":"equals","value":"x"}`, output: strings.Repeat("東", 100),
			want: fail(`got "` + strings.Repeat("東", 80) + `"… (300 bytes), expected "x"`)},
	})
}
