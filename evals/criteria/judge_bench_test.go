package criteria

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// benchAnswer is a judge's typical answer: a paragraph of reasoning, then
// the verdict.
var benchAnswer = strings.Repeat("The response names the right city and gives the reason asked for. ", 12) + "\n\n**VERDICT: Y**\n"

func BenchmarkJudgeParseText(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchAnswer)))
	for b.Loop() {
		if c, _, why := parseText(benchAnswer, defaultChoices); c == nil {
			b.Fatal(why)
		}
	}
}

func BenchmarkJudgeParseJSON(b *testing.B) {
	answer := `{"reasoning": "` + strings.Repeat("The response names the right city. ", 20) + `", "verdict": "Y"}`
	b.ReportAllocs()
	b.SetBytes(int64(len(answer)))
	for b.Loop() {
		if c, _, why := parseJSON(answer, defaultChoices); c == nil {
			b.Fatal(why)
		}
	}
}

// BenchmarkJudgePrompt renders a rubric with the prompt, the expected answer
// and an output of 1 KB and of 100 KB, quoting each line.
func BenchmarkJudgePrompt(b *testing.B) {
	t, err := evals.ParseTemplate(builtins["factual"].text)
	if err != nil {
		b.Fatal(err)
	}
	j := &Judge{rubric: t}
	c := &evals.Case{ID: "c1", Expected: "Paris is the capital of France.", Vars: map[string]any{"q": "What is the capital of France?"}}
	for _, size := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"100KB", 100 << 10}} {
		line := "Paris is the capital and largest city of France, on the Seine.\n"
		out := strings.Repeat(line, size.n/len(line))
		in := &evals.Input{Case: c, Messages: []evals.Message{{Role: "system", Content: "Answer briefly."}, {Role: "user", Content: "What is the capital of France?"}}, Output: out}
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(out)))
			for b.Loop() {
				if _, err := j.prompt(in, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCosine(b *testing.B) {
	for _, dims := range []int{384, 1536, 3072} {
		r := rand.New(rand.NewPCG(1, 2))
		x, y := make([]float64, dims), make([]float64, dims)
		for i := range x {
			x[i], y[i] = r.NormFloat64(), r.NormFloat64()
		}
		b.Run(strconv.Itoa(dims), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, why := cosine(x, y); why != "" {
					b.Fatal(why)
				}
			}
		})
	}
}
