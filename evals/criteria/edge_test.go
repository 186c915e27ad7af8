package criteria_test

import (
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// TestEdgeOutputsMore pins the verdicts of the criteria added with issue 4 on
// empty, Unicode, invalid UTF-8 and 1 MB outputs.
func TestEdgeOutputsMore(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	longJSON := `{"items":[` + strings.Repeat(`{"n":1},`, 1<<17) + `{"n":1}],"category":"x"}`
	runScoreTests(t, []scoreTest{
		{name: "ends-with/empty", spec: `{"name":"c","type":"ends-with","value":"x"}`, output: "", want: fail(`got "", expected it to end with "x"`)},
		{name: "ends-with/unicode", spec: `{"name":"c","type":"ends-with","normalize":["lowercase","strip_punctuation"],"value":"東京 🙂"}`, output: "Grüße, 東京! 🙂", want: pass()},
		{name: "ends-with/invalid utf-8", spec: `{"name":"c","type":"ends-with","value":"x"}`, output: "\xffx", want: pass()},
		{name: "ends-with/invalid utf-8 quoted", spec: `{"name":"c","type":"ends-with","value":"x"}`, output: "x\xff", want: fail(`got "x\xff", expected it to end with "x"`)},
		{name: "ends-with/1MB", spec: `{"name":"c","type":"ends-with","value":"b"}`, output: long,
			want: fail(`got …"` + long[:80] + `" (1048576 bytes), expected it to end with "b"`)},

		{name: "one-of/empty", spec: `{"name":"c","type":"one-of","values":["a","b"]}`, output: "", want: fail(`got "", expected one of "a", "b"`)},
		{name: "one-of/unicode", spec: `{"name":"c","type":"one-of","values":["ÉTÉ","東京"],"normalize":["lowercase"]}`, output: "été", want: pass()},
		{name: "one-of/invalid utf-8", spec: `{"name":"c","type":"one-of","values":["a"]}`, output: "a\xff", want: fail(`got "a\xff", expected "a"`)},
		{name: "one-of/1MB", spec: `{"name":"c","type":"one-of","values":["a"]}`, output: long, want: fail(`got "` + long[:80] + `"… (1048576 bytes), expected "a"`)},

		{name: "length/empty", spec: `{"name":"c","type":"length","min_words":1}`, output: "", want: fail(`0 word(s), expected at least 1`)},
		{name: "length/unicode", spec: `{"name":"c","type":"length","max_chars":14,"min_words":4,"max_words":4}`, output: "Grüße, 東京! 🙂 x", want: pass()},
		{name: "length/invalid utf-8", spec: `{"name":"c","type":"length","max_chars":3}`, output: "\xff\xfe\xfdx", want: fail(`4 character(s), expected at most 3`)},
		{name: "length/1MB", spec: `{"name":"c","type":"length","max_chars":1000000}`, output: long, want: fail(`1048576 character(s), expected at most 1000000`)},

		{name: "not/empty", spec: `{"name":"c","type":"not","criterion":{"type":"contains","value":"x"}}`, output: "", want: pass()},
		{name: "not/unicode", spec: `{"name":"c","type":"not","criterion":{"type":"contains","value":"東京"}}`, output: "Grüße, 東京!",
			want: fail(`"c/0" (contains) passed with score 1, expected it to fail`)},
		{name: "not/invalid utf-8", spec: `{"name":"c","type":"not","criterion":{"type":"contains","value":"x"}}`, output: "\xff\xfe", want: pass()},
		{name: "not/1MB", spec: `{"name":"c","type":"not","criterion":{"type":"contains","value":"b"}}`, output: long, want: pass()},

		{name: "all/empty", spec: `{"name":"c","type":"all","criteria":[{"type":"length","max_chars":0},{"type":"not","criterion":{"type":"contains","value":"x"}}]}`, output: "", want: pass()},
		{name: "any/unicode", spec: `{"name":"c","type":"any","criteria":[{"type":"contains","value":"東京"},{"type":"contains","value":"x"}]}`, output: "Grüße, 東京!", want: pass()},
		{name: "weighted/invalid utf-8", spec: `{"name":"c","type":"weighted","threshold":0.5,"criteria":[{"type":"contains","value":"x"},{"type":"json-valid"}]}`, output: "x\xff",
			want: evals.Verdict{Score: 0.5, Pass: true, Reason: `score 0.5: "c/1" failed (0): output is not JSON: invalid character 'x' looking for beginning of value at offset 1, near "x\xff"`}},
		{name: "all/1MB", spec: `{"name":"c","type":"all","criteria":[{"type":"starts-with","value":"a"},{"type":"ends-with","value":"a"}]}`, output: long, want: pass()},

		{name: "json-match/empty", spec: `{"name":"c","type":"json-match","value":{}}`, output: "", want: fail(`output is not JSON: the text is empty`)},
		{name: "json-match/unicode", spec: `{"name":"c","type":"json-match","value":{"Grüße":"東京 🙂"}}`, output: `{"Gr\u00fc\u00dfe":"東京 \ud83d\ude42"}`, want: pass()},
		{name: "json-match/invalid utf-8", spec: `{"name":"c","type":"json-match","value":"\ufffd"}`, output: "\"\xff\"", want: pass()},
		{name: "json-match/1MB", spec: `{"name":"c","type":"json-match","subset":true,"value":{"category":"x"}}`, output: longJSON, want: pass()},
		{name: "json-match/1MB differs at the end", spec: `{"name":"c","type":"json-match","value":{"category":"x","items":[]}}`, output: longJSON,
			want: fail(`at $.items: got 131073 element(s), expected 0`)},

		{name: "json-field/empty", spec: `{"name":"c","type":"json-field","path":"a","criterion":{"type":"equals","value":"x"}}`, output: "", want: fail(`output is not JSON: the text is empty`)},
		{name: "json-field/unicode", spec: `{"name":"c","type":"json-field","path":"東京","criterion":{"type":"equals","value":"🙂"}}`, output: `{"東京":"🙂"}`, want: pass()},
		{name: "json-field/invalid utf-8", spec: `{"name":"c","type":"json-field","path":"a","criterion":{"type":"equals","value":"x"}}`, output: "{\"a\":\"x\xff\"}",
			want: fail(`field "a": got "x\xff", expected "x"`)}, // as extract json takes it: bytes as they are
		{name: "json-field/1MB", spec: `{"name":"c","type":"json-field","path":"category","criterion":{"type":"equals","value":"x"}}`, output: longJSON, want: pass()},
	})
}
