package criteria_test

import (
	"context"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// benchOutput is a typical structured answer: about 300 bytes of JSON.
const benchOutput = `{"category": "billing", "priority": "high", "language": "en",
 "summary": "Customer was charged twice for the March invoice and asks for the duplicate charge to be refunded to the original card.",
 "entities": [{"type": "invoice", "id": "INV-2291"}, {"type": "amount", "value": 49.99}],
 "confidence": 0.92}`

const benchSchema = `{
	"type": "object",
	"required": ["category", "priority", "summary"],
	"properties": {
		"category": {"enum": ["billing", "refund", "technical", "account"]},
		"priority": {"enum": ["low", "medium", "high"]},
		"language": {"type": "string", "minLength": 2, "maxLength": 2},
		"summary": {"type": "string", "maxLength": 500},
		"entities": {"type": "array", "items": {"type": "object", "required": ["type"]}},
		"confidence": {"type": "number", "minimum": 0, "maximum": 1}
	}
}`

var benchSpecs = []struct {
	name string
	spec string
}{
	{"equals/json-field-vs-expected", `{"name":"c","type":"equals","extract":{"json":"category"},"value":"{{expected.category}}"}`},
	{"equals/json-field-vs-static", `{"name":"c","type":"equals","extract":{"json":"entities.0.id"},"value":"INV-2291"}`},
	{"equals/whole-output-normalised-fails", `{"name":"c","type":"equals","normalize":["trim","lowercase","collapse_whitespace"],"value":"x"}`},
	{"starts-with", `{"name":"c","type":"starts-with","value":"{\"category\""}`},
	{"contains/any", `{"name":"c","type":"contains","value":["refund","chargeback"]}`},
	{"contains/all-lowercase", `{"name":"c","type":"contains","mode":"all","normalize":["lowercase"],"value":["charged twice","refund","march"]}`},
	{"not-contains", `{"name":"c","type":"not-contains","value":["sorry","as an ai","I cannot"]}`},
	{"regex/match", `{"name":"c","type":"regex","pattern":"\"priority\":\\s*\"(low|medium|high)\""}`},
	{"regex/group-vs-expected", `{"name":"c","type":"regex","pattern":"\"priority\":\\s*\"(\\w+)\"","value":"{{expected.priority}}"}`},
	{"json-valid", `{"name":"c","type":"json-valid"}`},
	{"json-schema", `{"name":"c","type":"json-schema","schema":` + benchSchema + `}`},
	{"levenshtein/300B", `{"name":"c","type":"levenshtein","value":` + jsonString(benchReference) + `,"threshold":0.5}`},
	{"exact-match/json-field", `{"name":"c","type":"exact-match","extract":{"json":"category"},"value":"{{expected.category}}"}`},
	{"f1/300B", `{"name":"c","type":"f1","value":` + jsonString(benchReference) + `,"threshold":0.5}`},
	{"rouge/rougeL-300B", `{"name":"c","type":"rouge","value":` + jsonString(benchReference) + `,"threshold":0.5}`},
	{"rouge/rouge2-300B", `{"name":"c","type":"rouge","variant":"rouge2","value":` + jsonString(benchReference) + `,"threshold":0.5}`},
	{"rouge/rougeL-stemmer-300B", `{"name":"c","type":"rouge","stemmer":true,"value":` + jsonString(benchReference) + `,"threshold":0.5}`},
	{"bleu/300B", `{"name":"c","type":"bleu","value":` + jsonString(benchReference) + `,"threshold":0.5}`},
	{"numeric/json-field", `{"name":"c","type":"numeric","extract":{"json":"entities.1.value"},"value":"49.99","tolerance":0.01}`},
	{"ends-with", `{"name":"c","type":"ends-with","value":"}","normalize":["trim"]}`},
	{"one-of/json-field", `{"name":"c","type":"one-of","extract":{"json":"priority"},"values":["low","medium","high"]}`},
	{"length/chars-and-words", `{"name":"c","type":"length","max_chars":1000,"max_words":200}`},
	{"not/contains", `{"name":"c","type":"not","criterion":{"type":"contains","value":"sorry"}}`},
	{"all/three", `{"name":"c","type":"all","criteria":[{"type":"json-valid"},{"type":"contains","value":"refund"},{"type":"length","max_words":200}]}`},
	{"any/two", `{"name":"c","type":"any","criteria":[{"type":"contains","value":"chargeback"},{"type":"contains","value":"refund"}]}`},
	{"weighted/two", `{"name":"c","type":"weighted","threshold":0.5,"criteria":[{"type":"contains","value":"refund","weight":2},{"type":"contains","value":"chargeback"}]}`},
	{"json-match/subset", `{"name":"c","type":"json-match","subset":true,"value":{"category":"billing","priority":"high","entities":[{"type":"invoice"},{"type":"amount","value":49.990}]}}`},
	{"json-match/whole-vs-expected", `{"name":"c","type":"json-match","extract":{"json":"entities"},"value":"{{expected.entities}}"}`},
	{"json-field/equals-expected", `{"name":"c","type":"json-field","path":"category","criterion":{"type":"equals","value":"{{expected.category}}"}}`},
	{"latency", `{"name":"c","type":"latency","max_ms":2000}`},
	{"tokens", `{"name":"c","type":"tokens","max_completion":500,"max_total":2000}`},
	{"cost", `{"name":"c","type":"cost","max":0.01}`},
	{"exec/sh", `{"name":"c","type":"exec","command":["sh","-c","cat >/dev/null; echo '{\"score\": 1}'"]}`},
	{"exec/sh-lines", `{"name":"c","type":"exec","protocol":"lines","command":["sh","-c","while read -r line; do echo '{\"score\": 1}'; done"]}`},
}

func BenchmarkScore(b *testing.B) {
	c := caseOf(b, `{"category":"billing","priority":"high","entities":[{"type":"invoice","id":"INV-2291"},{"type":"amount","value":49.99}]}`, `{"ticket":"I was charged twice"}`)
	in := &evals.Input{Case: c, Output: benchOutput, Latency: 800 * time.Millisecond, Target: &pricedTarget,
		Response: &evals.Response{Text: benchOutput, Usage: evals.Usage{PromptTokens: 420, CompletionTokens: 95, TotalTokens: 515}}}
	ctx := context.Background()
	for _, bs := range benchSpecs {
		b.Run(bs.name, func(b *testing.B) {
			sc := build(b, bs.spec, criteria.Env{})
			b.Cleanup(func() { criteria.CloseExec(sc) })
			if v := sc.Score(ctx, in); v.Unscored {
				b.Fatalf("unscored: %s", v.Reason)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(benchOutput)))
			for b.Loop() {
				sc.Score(ctx, in)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for _, bs := range benchSpecs {
		b.Run(bs.name, func(b *testing.B) {
			spec := specOf(b, bs.spec)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := criteria.New(spec, criteria.Env{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestScoreAllocs keeps the hot path allocation-free where it is now.
func TestScoreAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	c := caseOf(t, `{"category":"billing","priority":"high"}`, "")
	in := &evals.Input{Case: c, Output: benchOutput}
	tests := []struct {
		spec string
		max  float64
	}{
		{`{"name":"c","type":"equals","extract":{"json":"entities.0.id"},"value":"INV-2291"}`, 0},
		{`{"name":"c","type":"equals","extract":{"json":"category"},"value":"{{expected.category}}"}`, 1}, // the template's scope
		{`{"name":"c","type":"contains","value":["refund","chargeback"],"normalize":["trim"]}`, 0},
		{`{"name":"c","type":"not-contains","value":["sorry","as an ai"]}`, 0},
		{`{"name":"c","type":"regex","pattern":"\"priority\":\\s*\"(low|medium|high)\""}`, 0},
		{`{"name":"c","type":"json-valid"}`, 0},
	}
	for _, tt := range tests {
		sc := build(t, tt.spec, criteria.Env{})
		if v := sc.Score(context.Background(), in); !v.Pass {
			t.Fatalf("%s: %+v, want a pass", tt.spec, v)
		}
		got := testing.AllocsPerRun(100, func() { sc.Score(context.Background(), in) })
		if got > tt.max {
			t.Errorf("%s: %v allocations per score, want at most %v", tt.spec, got, tt.max)
		}
	}
}
