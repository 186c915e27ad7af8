package criteria_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

func TestEquals(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "pass", spec: `{"name":"c","type":"equals","value":"billing"}`, output: "billing", want: pass()},
		{name: "fail", spec: `{"name":"c","type":"equals","value":"refund"}`, output: "billing",
			want: fail(`got "billing", expected "refund"`)},
		{name: "empty value matches empty output", spec: `{"name":"c","type":"equals","value":""}`, output: "", want: pass()},
		{name: "any of several values", spec: `{"name":"c","type":"equals","value":["refund","billing"]}`, output: "billing", want: pass()},
		{name: "none of several values", spec: `{"name":"c","type":"equals","value":["refund","cancel"]}`, output: "billing",
			want: fail(`got "billing", expected one of "refund", "cancel"`)},
		{name: "lists at most five values", spec: `{"name":"c","type":"equals","value":["a","b","c","d","e","f","g"]}`, output: "x",
			want: fail(`got "x", expected one of "a", "b", "c", "d", "e" and 2 more`)},
		{name: "white space counts without normalize", spec: `{"name":"c","type":"equals","value":"billing"}`, output: "billing\n",
			want: fail(`got "billing\n", expected "billing"`)},
		{name: "case counts without normalize", spec: `{"name":"c","type":"equals","value":"billing"}`, output: "Billing",
			want: fail(`got "Billing", expected "billing"`)},
		{name: "long output is cut in the reason", spec: `{"name":"c","type":"equals","value":"b"}`, output: strings.Repeat("a", 100),
			want: fail(`got "` + strings.Repeat("a", 80) + `"… (100 bytes), expected "b"`)},

		{name: "normalize trim", spec: `{"name":"c","type":"equals","value":"billing","normalize":["trim"]}`, output: " \n billing\t\n", want: pass()},
		{name: "normalize lowercase applies to values too", spec: `{"name":"c","type":"equals","value":"BiLLing","normalize":["lowercase"]}`, output: "BILLING", want: pass()},
		{name: "normalize strip_punctuation", spec: `{"name":"c","type":"equals","value":"billing","normalize":["lowercase","strip_punctuation"]}`, output: `"Billing!"`, want: pass()},
		{name: "normalize collapse_whitespace", spec: `{"name":"c","type":"equals","value":"a b c","normalize":["collapse_whitespace"]}`, output: "a \t\n b\u00a0\u00a0c", want: pass()},
		{name: "collapse_whitespace turns a lone tab or newline into a space", spec: `{"name":"c","type":"equals","value":"a b c","normalize":["collapse_whitespace"]}`, output: "a\tb\nc", want: pass()},
		{name: "collapse_whitespace does not trim", spec: `{"name":"c","type":"equals","value":"a b","normalize":["collapse_whitespace"]}`, output: "  a  b ",
			want: fail(`got " a b ", expected "a b"`)},
		{name: "normalize order is fixed: punctuation before trim", spec: `{"name":"c","type":"equals","value":"x","normalize":["trim","strip_punctuation"]}`, output: "( x )", want: pass()},
		{name: "normalize order is fixed: punctuation before collapse", spec: `{"name":"c","type":"equals","value":"a b","normalize":["collapse_whitespace","strip_punctuation"]}`, output: "a - b", want: pass()},
		{name: "reason shows normalised text", spec: `{"name":"c","type":"equals","value":"Refund","normalize":["lowercase","trim"]}`, output: " BILLING ",
			want: fail(`got "billing", expected "refund"`)},

		{name: "expected string", spec: `{"name":"c","type":"equals"}`, output: "billing", expected: `"billing"`, want: pass()},
		{name: "expected string fails", spec: `{"name":"c","type":"equals"}`, output: "refund", expected: `"billing"`,
			want: fail(`got "refund", expected "billing"`)},
		{name: "expected array", spec: `{"name":"c","type":"equals"}`, output: "refund", expected: `["billing","refund"]`, want: pass()},
		{name: "expected array of numbers", spec: `{"name":"c","type":"equals"}`, output: "3", expected: `[1,2,3]`, want: pass()},
		{name: "expected integer", spec: `{"name":"c","type":"equals"}`, output: "42", expected: `42`, want: pass()},
		{name: "expected fraction", spec: `{"name":"c","type":"equals"}`, output: "0.5", expected: `0.5`, want: pass()},
		{name: "expected tiny number as JSON", spec: `{"name":"c","type":"equals"}`, output: "1e-7", expected: `0.0000001`, want: pass()},
		{name: "expected boolean", spec: `{"name":"c","type":"equals"}`, output: "true", expected: `true`, want: pass()},
		{name: "expected normalised too", spec: `{"name":"c","type":"equals","normalize":["lowercase"]}`, output: "billing", expected: `"BILLING"`, want: pass()},
		{name: "expected missing", spec: `{"name":"c","type":"equals"}`, output: "billing",
			want: unscoredV("no value to compare: set value or give the case an expected answer")},
		{name: "expected null", spec: `{"name":"c","type":"equals"}`, output: "billing", expected: `null`,
			want: unscoredV("no value to compare: set value or give the case an expected answer")},
		{name: "expected object", spec: `{"name":"c","type":"equals"}`, output: "billing", expected: `{"priority":"high","category":"billing"}`,
			want: unscoredV(`cannot compare with expected: it is an object; set "value" to the part to compare (e.g. "{{expected.category}}") or extract the whole output as JSON`)},
		{name: "expected empty array", spec: `{"name":"c","type":"equals"}`, output: "billing", expected: `[]`,
			want: unscoredV("no value to compare: expected is an empty array")},
		{name: "expected array with an object", spec: `{"name":"c","type":"equals"}`, output: "billing", expected: `["a",{"b":1}]`,
			want: unscoredV("cannot compare with expected: element 1 is an object, expected strings, numbers or booleans")},

		{name: "template from expected field", spec: `{"name":"c","type":"equals","value":"{{expected.category}}"}`, output: "billing",
			expected: `{"category":"billing"}`, want: pass()},
		{name: "template from expected field fails", spec: `{"name":"c","type":"equals","value":"{{ expected.category }}"}`, output: "refund",
			expected: `{"category":"billing"}`, want: fail(`got "refund", expected "billing"`)},
		{name: "template naming an array gives each element", spec: `{"name":"c","type":"equals","value":"{{expected.labels}}"}`, output: "b",
			expected: `{"labels":["a","b"]}`, want: pass()},
		{name: "template naming a number", spec: `{"name":"c","type":"equals","value":"{{expected.n}}"}`, output: "7",
			expected: `{"n":7}`, want: pass()},
		{name: "template from vars", spec: `{"name":"c","type":"equals","value":"{{label}}"}`, output: "billing",
			vars: `{"label":"billing"}`, want: pass()},
		{name: "template with text around", spec: `{"name":"c","type":"equals","value":"ticket {{id}}: {{label}}"}`, output: "ticket case-1: billing",
			vars: `{"label":"billing"}`, want: pass()},
		{name: "static and template values mixed", spec: `{"name":"c","type":"equals","value":["other","{{label}}"]}`, output: "billing",
			vars: `{"label":"billing"}`, want: pass()},
		{name: "template values normalised", spec: `{"name":"c","type":"equals","value":"{{label}}","normalize":["lowercase"]}`, output: "billing",
			vars: `{"label":"BILLING"}`, want: pass()},
		{name: "template variable missing", spec: `{"name":"c","type":"equals","value":"{{expected.category}}"}`, output: "billing",
			expected: `{"priority":"high"}`, want: unscoredV(`value "{{expected.category}}": variable "expected.category" is not defined for this case`)},
		{name: "template naming an object", spec: `{"name":"c","type":"equals","value":"{{expected}}"}`, output: "billing",
			expected: `{"category":"billing"}`, want: unscoredV(`cannot compare with value "{{expected}}": it is an object; set "value" to the part to compare (e.g. "{{expected.FIELD}}") or extract the whole output as JSON`)},
		{name: "static value ignores expected", spec: `{"name":"c","type":"equals","value":"billing"}`, output: "billing", expected: `"refund"`, want: pass()},

		{name: "threshold 0 passes a failing score", spec: `{"name":"c","type":"equals","value":"refund","threshold":0}`, output: "billing",
			want: evals.Verdict{Score: 0, Pass: true, Reason: `got "billing", expected "refund"`}},
		{name: "threshold 0.5 fails a zero score", spec: `{"name":"c","type":"equals","value":"refund","threshold":0.5}`, output: "billing",
			want: fail(`got "billing", expected "refund"`)},
		{name: "threshold 0.5 passes a full score", spec: `{"name":"c","type":"equals","value":"billing","threshold":0.5}`, output: "billing", want: pass()},
		{name: "weight does not change the verdict", spec: `{"name":"c","type":"equals","value":"billing","weight":0}`, output: "billing", want: pass()},
		{name: "weight 2 does not change the verdict", spec: `{"name":"c","type":"equals","value":"refund","weight":2.5}`, output: "billing",
			want: fail(`got "billing", expected "refund"`)},
		{name: "unscored never passes, even at threshold 0", spec: `{"name":"c","type":"equals","threshold":0}`, output: "billing",
			want: unscoredV("no value to compare: set value or give the case an expected answer")},
	})
}

func TestStartsWith(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "pass", spec: `{"name":"c","type":"starts-with","value":"Yes"}`, output: "Yes, because", want: pass()},
		{name: "equal counts", spec: `{"name":"c","type":"starts-with","value":"Yes"}`, output: "Yes", want: pass()},
		{name: "fail", spec: `{"name":"c","type":"starts-with","value":"Yes"}`, output: "No, because",
			want: fail(`got "No, because", expected it to start with "Yes"`)},
		{name: "any of several", spec: `{"name":"c","type":"starts-with","value":["Yes","Sure"]}`, output: "Sure thing", want: pass()},
		{name: "none of several", spec: `{"name":"c","type":"starts-with","value":["Yes","Sure"]}`, output: "No",
			want: fail(`got "No", expected it to start with one of "Yes", "Sure"`)},
		{name: "normalised", spec: `{"name":"c","type":"starts-with","value":"yes","normalize":["trim","lowercase"]}`, output: "\n  YES, because", want: pass()},
		{name: "from expected", spec: `{"name":"c","type":"starts-with"}`, output: "B) Paris", expected: `"B"`, want: pass()},
		{name: "longer value than output", spec: `{"name":"c","type":"starts-with","value":"Yes indeed"}`, output: "Yes",
			want: fail(`got "Yes", expected it to start with "Yes indeed"`)},
	})
}

func TestContains(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "pass", spec: `{"name":"c","type":"contains","value":"refund"}`, output: "we will refund you", want: pass()},
		{name: "fail", spec: `{"name":"c","type":"contains","value":"refund"}`, output: "we will not help",
			want: fail(`got "we will not help", expected it to contain "refund"`)},
		{name: "any is the default", spec: `{"name":"c","type":"contains","value":["refund","credit"]}`, output: "a credit note", want: pass()},
		{name: "mode any", spec: `{"name":"c","type":"contains","mode":"any","value":["refund","credit"]}`, output: "nothing",
			want: fail(`got "nothing", expected it to contain one of "refund", "credit"`)},
		{name: "mode all pass", spec: `{"name":"c","type":"contains","mode":"all","value":["refund","credit"]}`, output: "refund or credit", want: pass()},
		{name: "mode all names the missing", spec: `{"name":"c","type":"contains","mode":"all","value":["a","b","c"]}`, output: "only a",
			want: fail(`missing "b", "c" (2 of 3) in "only a"`)},
		{name: "normalised", spec: `{"name":"c","type":"contains","value":"Paris","normalize":["lowercase"]}`, output: "The capital is PARIS.", want: pass()},
		{name: "from expected array", spec: `{"name":"c","type":"contains","mode":"all"}`, output: "red, green and blue", expected: `["red","blue"]`, want: pass()},
		{name: "from expected array, missing", spec: `{"name":"c","type":"contains","mode":"all"}`, output: "red", expected: `["red","blue"]`,
			want: fail(`missing "blue" (1 of 2) in "red"`)},
		{name: "from template array", spec: `{"name":"c","type":"contains","value":"{{keywords}}"}`, output: "the ETA is Tuesday",
			vars: `{"keywords":["eta","Tuesday"]}`, want: pass()},
	})
}

func TestNotContains(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "pass", spec: `{"name":"c","type":"not-contains","value":["sorry","as an AI"]}`, output: "Here is your answer", want: pass()},
		{name: "fail names the first found", spec: `{"name":"c","type":"not-contains","value":["sorry","as an AI"]}`, output: "As an AI, I am sorry",
			want: fail(`found "sorry" in "As an AI, I am sorry"`)},
		{name: "normalised", spec: `{"name":"c","type":"not-contains","value":["as an ai"],"normalize":["lowercase"]}`, output: "As an AI, I",
			want: fail(`found "as an ai" in "as an ai, i"`)},
		{name: "context around a match in a long output", spec: `{"name":"c","type":"not-contains","value":"BAD"}`,
			output: strings.Repeat("x", 100) + "BAD" + strings.Repeat("y", 100),
			want:   fail(`found "BAD" in …"` + strings.Repeat("x", 30) + "BAD" + strings.Repeat("y", 30) + `"…`)},
		{name: "context counts runes, not bytes", spec: `{"name":"c","type":"not-contains","value":"!"}`,
			output: strings.Repeat("é", 40) + "!" + strings.Repeat("東", 40),
			want:   fail(`found "!" in …"` + strings.Repeat("é", 30) + "!" + strings.Repeat("東", 30) + `"…`)},
		{name: "from expected", spec: `{"name":"c","type":"not-contains"}`, output: "fine", expected: `"error"`, want: pass()},
	})
}

// TestEmptyValueAtRunTime: a value that a case's variables make empty would
// match every output; the criterion leaves such a case unscored.
func TestEmptyValueAtRunTime(t *testing.T) {
	for _, tc := range []struct{ spec, why string }{
		{`{"name":"c","type":"contains","value":"{{ word }}"}`, "every output contains it"},
		{`{"name":"c","type":"not-contains","value":["x","{{ word }}"]}`, "every output contains it"},
		{`{"name":"c","type":"starts-with","value":"{{ word }}","normalize":["trim"]}`, "every output starts with it"},
		{`{"name":"c","type":"ends-with","value":"{{ word }}"}`, "every output ends with it"},
	} {
		sc := build(t, tc.spec, criteria.Env{})
		for _, word := range []string{`""`, `"  "`} {
			if !strings.Contains(tc.spec, "trim") && word == `"  "` {
				continue // not empty without normalize
			}
			c := caseOf(t, "", `{"word":`+word+`}`)
			v := sc.Score(context.Background(), &evals.Input{Case: c, Output: "anything"})
			if !v.Unscored || !strings.Contains(v.Reason, tc.why) {
				t.Errorf("%s with word %s: got %+v, want unscored: %s", tc.spec, word, v, tc.why)
			}
		}
		c := caseOf(t, "", `{"word":"any"}`)
		if v := sc.Score(context.Background(), &evals.Input{Case: c, Output: "anything"}); v.Unscored {
			t.Errorf("%s with a word: unscored: %s", tc.spec, v.Reason)
		}
	}
}
