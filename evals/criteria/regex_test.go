package criteria_test

import "testing"

func TestRegex(t *testing.T) {
	runScoreTests(t, []scoreTest{
		{name: "match", spec: `{"name":"c","type":"regex","pattern":"^\\d{3}-\\d{4}$"}`, output: "555-1234", want: pass()},
		{name: "no match", spec: `{"name":"c","type":"regex","pattern":"^\\d{3}-\\d{4}$"}`, output: "call me",
			want: fail(`no match for /^\d{3}-\d{4}$/ in "call me"`)},
		{name: "matches anywhere unless anchored", spec: `{"name":"c","type":"regex","pattern":"\\bETA\\b"}`, output: "the ETA is 5pm", want: pass()},
		{name: "pattern sees the normalised output", spec: `{"name":"c","type":"regex","pattern":"^billing$","normalize":["trim","lowercase"]}`, output: " BILLING\n", want: pass()},
		{name: "without value, expected is ignored", spec: `{"name":"c","type":"regex","pattern":"^[a-z]+$"}`, output: "billing", expected: `"refund"`, want: pass()},
		{name: "without value, a case without expected is scored", spec: `{"name":"c","type":"regex","pattern":"^[a-z]+$"}`, output: "billing", want: pass()},

		{name: "value compares group 1 by default", spec: `{"name":"c","type":"regex","pattern":"category: (\\w+)","value":"billing"}`,
			output: "category: billing, priority: high", want: pass()},
		{name: "value mismatch", spec: `{"name":"c","type":"regex","pattern":"category: (\\w+)","value":"billing"}`,
			output: "category: refund", want: fail(`group 1 of /category: (\w+)/ is "refund", expected "billing"`)},
		{name: "value without groups compares the whole match", spec: `{"name":"c","type":"regex","pattern":"[A-D]\\)","value":"B)"}`,
			output: "The answer is B) Paris", want: pass()},
		{name: "group 0 is the whole match", spec: `{"name":"c","type":"regex","pattern":"answer: (\\w+)","group":0,"value":"answer: B"}`,
			output: "the answer: B", want: pass()},
		{name: "group by number", spec: `{"name":"c","type":"regex","pattern":"(\\w+)=(\\w+)","group":2,"value":"v"}`,
			output: "k=v", want: pass()},
		{name: "group by name", spec: `{"name":"c","type":"regex","pattern":"(?P<key>\\w+)=(?P<val>\\w+)","group":"val","value":"v"}`,
			output: "k=v", want: pass()},
		{name: "group by name mismatch", spec: `{"name":"c","type":"regex","pattern":"(?P<key>\\w+)=(?P<val>\\w+)","group":"val","value":"x"}`,
			output: "k=v", want: fail(`group "val" of /(?P<key>\w+)=(?P<val>\w+)/ is "v", expected "x"`)},
		{name: "value and no match", spec: `{"name":"c","type":"regex","pattern":"category: (\\w+)","value":"billing"}`,
			output: "nothing here", want: fail(`no match for /category: (\w+)/ in "nothing here"`)},
		{name: "group that took no part", spec: `{"name":"c","type":"regex","pattern":"(a)|(b)","group":1,"value":"a"}`,
			output: "b", want: fail(`group 1 of /(a)|(b)/ took no part in the match "b"`)},
		{name: "group is normalised", spec: `{"name":"c","type":"regex","pattern":"answer:(.*)","value":"paris","normalize":["trim"]}`,
			output: "answer:   paris", want: pass()},
		{name: "value from template", spec: `{"name":"c","type":"regex","pattern":"category: (\\w+)","value":"{{expected.category}}"}`,
			output: "category: billing", expected: `{"category":"billing"}`, want: pass()},
		{name: "value from template, missing variable", spec: `{"name":"c","type":"regex","pattern":"category: (\\w+)","value":"{{expected.category}}"}`,
			output: "category: billing", want: unscoredV(`value "{{expected.category}}": variable "expected" is not defined for this case`)},
		{name: "any of several values", spec: `{"name":"c","type":"regex","pattern":"category: (\\w+)","value":["refund","billing"]}`,
			output: "category: billing", want: pass()},
		{name: "extract then pattern", spec: `{"name":"c","type":"regex","pattern":"^[A-D]$","extract":{"last_line":true}}`,
			output: "Thinking...\nB\n", want: pass()},
	})
}
