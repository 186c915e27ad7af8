package criteria

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// corpusBLEU feeds a bleu criterion's corpus verdicts with the counts
// given (nil for a verdict without counts) and returns what it reports.
func corpusBLEU(counts ...*evals.BLEUCounts) *float64 {
	c := (&TextMetric{metric: metricBLEU}).NewCorpus()
	for _, bc := range counts {
		c.Add(&evals.Score{Name: "bleu", Type: "bleu", BLEU: bc})
	}
	var sum evals.CriterionSummary
	c.Report(&sum)
	return sum.CorpusBLEU
}

// TestBLEUSumRefusesImpossibleCounts: counts no BLEU could give (from a
// journal edited by hand) leave corpus BLEU out rather than make it NaN, which
// report.json could not hold.
func TestBLEUSumRefusesImpossibleCounts(t *testing.T) {
	good := evals.BLEUCounts{HypLen: 6, RefLen: 6, Matches: [4]int{6, 5, 4, 3}, Totals: [4]int{6, 5, 4, 3}}
	tests := []struct {
		name string
		bad  evals.BLEUCounts
	}{
		{"negative length", evals.BLEUCounts{HypLen: -1, RefLen: 2}},
		{"negative reference length", evals.BLEUCounts{HypLen: 1, RefLen: -2}},
		{"negative matches", evals.BLEUCounts{HypLen: 2, RefLen: 2, Matches: [4]int{-1}, Totals: [4]int{2, 1}}},
		{"more matches than n-grams", evals.BLEUCounts{HypLen: 2, RefLen: 2, Matches: [4]int{2, 2}, Totals: [4]int{2, 1}}},
		{"negative n-grams", evals.BLEUCounts{HypLen: 2, RefLen: 2, Totals: [4]int{-2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := corpusBLEU(&good); v == nil || math.Abs(*v-100) > 1e-9 {
				t.Fatalf("one perfect response: corpus BLEU %v, want 100", v)
			}
			if v := corpusBLEU(&good, &tt.bad); v != nil {
				t.Errorf("corpus BLEU %v with impossible counts, want none", *v)
			}
		})
	}
	if v := corpusBLEU(nil, nil, nil); v != nil {
		t.Errorf("no counts: corpus BLEU %v", *v)
	}
	if v := corpusBLEU(&good, nil); v != nil {
		t.Errorf("counts for one of two verdicts: corpus BLEU %v, want none", *v)
	}
	if v := corpusBLEU(); v != nil {
		t.Errorf("no verdict: corpus BLEU %v", *v)
	}
}

// TestNewCorpus: the criteria that report a corpus statistic, as
// configured, and only those, give a corpus; a json-field gives its inner
// criterion's.
func TestNewCorpus(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string // "", "bleu" or "labels"
	}{
		{`{"name":"c","type":"bleu","threshold":0.3}`, "bleu"},
		{`{"name":"c","type":"rouge","threshold":0.3}`, ""},
		{`{"name":"c","type":"levenshtein","threshold":0.3}`, ""},
		{`{"name":"c","type":"equals","label":true}`, "labels"},
		{`{"name":"c","type":"equals"}`, ""},
		{`{"name":"c","type":"one-of","values":["a","b"]}`, ""},
		{`{"name":"c","type":"json-field","path":"intent","criterion":{"type":"equals","label":true}}`, "labels"},
		{`{"name":"c","type":"json-field","path":"intent","criterion":{"type":"contains","value":"x"}}`, ""},
		{`{"name":"c","type":"not","criterion":{"type":"equals","label":true}}`, ""},
	} {
		var spec evals.CriterionSpec
		if err := json.Unmarshal([]byte(tc.spec), &spec); err != nil {
			t.Fatal(err)
		}
		spec.Raw = json.RawMessage(tc.spec)
		sc, err := New(spec, Env{})
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		var c evals.Corpus
		if cs, ok := sc.(evals.CorpusScorer); ok {
			c = cs.NewCorpus()
		}
		got := ""
		switch c.(type) {
		case *bleuCorpus:
			got = "bleu"
		case *labelCounts:
			got = "labels"
		case nil:
		default:
			got = "?"
		}
		if got != tc.want {
			t.Errorf("%s: corpus %T, want %q", tc.spec, c, tc.want)
		}
	}
}
