package runner

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

func outcomes(passes string, scores ...float64) Outcomes {
	o := Outcomes{}
	for i, p := range passes {
		if p == '.' {
			continue // the case is missing
		}
		s := b2f(p == 'P')
		if i < len(scores) {
			s = scores[i]
		}
		o[CaseKey{fmt.Sprintf("c%02d", i), 0}] = Outcome{Pass: p == 'P', Score: s}
	}
	return o
}

func TestCompare(t *testing.T) {
	st := evals.DefaultStatistics()
	// Cases c00-c09 in both; c10 only in A, c11 only in B.
	a := outcomes("PPPPPPPPFFP.")
	b := outcomes("PPPPPFFFPP.P")
	c := Compare(a, b, "new", "old", st)
	want := evals.Comparison{
		Target: "new", Against: "old", Matched: 10, OnlyA: 1, OnlyB: 1,
		Wins: 3, Ties: 5, Losses: 2, BothPassed: 5, BothFailed: 0,
		Fixes: 3, Regressions: 2,
		FixCases:        []string{"c05", "c06", "c07"},
		RegressionCases: []string{"c08", "c09"},
		// McNemar exact on 3 against 2: 2 * P(X <= 2), X ~ Bin(5, 1/2),
		// = 2 * (1 + 5 + 10) / 32 = 1.
		McNemarP:      1,
		DeltaPassRate: 0.1, DeltaMean: 0.1,
	}
	if c.DeltaPassRateCI == nil || c.DeltaMeanCI == nil || c.DeltaMeanCI.Method != "bootstrap" {
		t.Fatalf("intervals %+v %+v, want bootstrap intervals", c.DeltaPassRateCI, c.DeltaMeanCI)
	}
	if !(c.DeltaPassRateCI.Lo <= 0.1 && 0.1 <= c.DeltaPassRateCI.Hi) {
		t.Errorf("delta interval %+v does not hold the estimate 0.1", c.DeltaPassRateCI)
	}
	// The same seed gives the same interval.
	if again := Compare(a, b, "new", "old", st); !reflect.DeepEqual(again, c) {
		t.Errorf("a second comparison differs:\n%+v\n%+v", again, c)
	}
	got := c
	got.DeltaPassRateCI, got.DeltaMeanCI = nil, nil
	for _, f := range []*float64{&got.DeltaPassRate, &got.DeltaMean, &got.McNemarP} {
		w := map[*float64]float64{&got.DeltaPassRate: 0.1, &got.DeltaMean: 0.1, &got.McNemarP: 1}[f]
		if math.Abs(*f-w) < 1e-12 {
			*f = w
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Compare =\n%+v\nwant\n%+v", got, want)
	}
}

func TestCompareNothingMatched(t *testing.T) {
	c := Compare(outcomes("PP.."), outcomes("..PF"), "a", "b", evals.DefaultStatistics())
	if c.Matched != 0 || c.OnlyA != 2 || c.OnlyB != 2 || c.DeltaMeanCI != nil {
		t.Errorf("got %+v", c)
	}
}

// TestCompareLarge: past BootstrapMax pairs the interval is the normal one,
// mean ± z·SE of the paired differences.
func TestCompareLarge(t *testing.T) {
	st := evals.DefaultStatistics()
	st.BootstrapMax = 3
	// Differences 1, 0, 0, 0: mean 0.25, sd = 0.5, SE = 0.25.
	c := Compare(outcomes("PPPP"), outcomes("FPPP"), "a", "b", st)
	iv := c.DeltaPassRateCI
	z := 1.959963984540054
	if iv == nil || iv.Method != "normal" || math.Abs(iv.Lo-(0.25-z*0.25)) > 1e-12 || math.Abs(iv.Hi-(0.25+z*0.25)) > 1e-12 {
		t.Errorf("interval %+v, want normal 0.25 ± %v", iv, z*0.25)
	}
	// McNemar exact on 1 against 0: 2 * P(X <= 0), X ~ Bin(1, 1/2) = 1.
	if c.McNemarP != 1 || c.Fixes != 1 {
		t.Errorf("got %+v", c)
	}
}
