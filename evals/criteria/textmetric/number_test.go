package textmetric_test

import (
	"reflect"
	"testing"

	"github.com/rubric-eval/rubric/evals/criteria/textmetric"
)

func TestNumbers(t *testing.T) {
	tests := []struct {
		in    string
		texts []string
		vals  []float64
	}{
		{"", nil, nil},
		{"no digits here", nil, nil},
		{"The answer is 42.", []string{"42"}, []float64{42}},
		{"1,234,567.89", []string{"1,234,567.89"}, []float64{1234567.89}},
		{"-3.5 and +2 and −7", []string{"-3.5", "+2", "−7"}, []float64{-3.5, 2, -7}},
		{"12.5% of 80 %", []string{"12.5%", "80 %"}, []float64{12.5, 80}},
		{".5 and 5. and 1e3 and 2.5E-2", []string{".5", "5", "1e3", "2.5E-2"}, []float64{0.5, 5, 1000, 0.025}},
		// A dash after a letter or digit is not a sign.
		{"3-4 COVID-19 x-1 (-2) =-3", []string{"3", "4", "19", "1", "-2", "-3"}, []float64{3, 4, 19, 1, -2, -3}},
		// Commas group thousands only in groups of exactly 3 digits.
		{"1,2,3", []string{"1", "2", "3"}, []float64{1, 2, 3}},
		{"1,5", []string{"1", "5"}, []float64{1, 5}},
		{"1,2345", []string{"1", "2345"}, []float64{1, 2345}},
		{"12345,678", []string{"12345", "678"}, []float64{12345, 678}},
		{"1,234,", []string{"1,234"}, []float64{1234}},
		{"$1,000,000!", []string{"1,000,000"}, []float64{1e6}},
		{"1.2.3", []string{"1.2", ".3"}, []float64{1.2, 0.3}},
		{"3 eggs, 2e", []string{"3", "2"}, []float64{3, 2}},
		{"H2O x٣", []string{"2"}, []float64{2}}, // ASCII digits only
		{"1e999 but 7", []string{"7"}, []float64{7}},
		{"00042", []string{"00042"}, []float64{42}},
		{"x\xff5\xfe", []string{"5"}, []float64{5}},
	}
	for _, tt := range tests {
		ns := textmetric.Numbers(tt.in, textmetric.PercentNumber)
		var texts []string
		var vals []float64
		for _, n := range ns {
			texts = append(texts, n.Text)
			vals = append(vals, n.Value)
			if tt.in[n.Start:n.End] != n.Text {
				t.Errorf("Numbers(%q): %+v: Text is not s[Start:End]", tt.in, n)
			}
		}
		if !reflect.DeepEqual(texts, tt.texts) || !reflect.DeepEqual(vals, tt.vals) {
			t.Errorf("Numbers(%q) = %q %v, want %q %v", tt.in, texts, vals, tt.texts, tt.vals)
		}
	}
}

func TestNumbersPercent(t *testing.T) {
	s := "grew 12.5% to 1,200 (-3 %)"
	for _, tt := range []struct {
		pct  textmetric.Percent
		want []float64
	}{
		{textmetric.PercentNumber, []float64{12.5, 1200, -3}},
		{textmetric.PercentFraction, []float64{0.125, 1200, -0.03}},
	} {
		var got []float64
		for _, n := range textmetric.Numbers(s, tt.pct) {
			got = append(got, n.Value)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Numbers(%q, %d) = %v, want %v", s, tt.pct, got, tt.want)
		}
	}
	n, _ := textmetric.FirstNumber(s, textmetric.PercentNumber)
	if !n.Percent {
		t.Errorf("FirstNumber = %+v, want Percent set", n)
	}
}

func TestFirstLastNumber(t *testing.T) {
	s := "Step 1: 3 apples. Step 2: 4 more. Answer: 7"
	if n, ok := textmetric.FirstNumber(s, 0); !ok || n.Value != 1 || n.Start != 5 {
		t.Errorf("FirstNumber = %+v, %v; want 1 at 5", n, ok)
	}
	if n, ok := textmetric.LastNumber(s, 0); !ok || n.Value != 7 || n.End != len(s) {
		t.Errorf("LastNumber = %+v, %v; want 7 at the end", n, ok)
	}
	for _, f := range []func(string, textmetric.Percent) (textmetric.Number, bool){textmetric.FirstNumber, textmetric.LastNumber} {
		if n, ok := f("none", 0); ok {
			t.Errorf("found %+v in a text without numbers", n)
		}
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		pct  textmetric.Percent
		want float64
		err  string
	}{
		{"42", 0, 42, ""},
		{" 1,234.5 ", 0, 1234.5, ""},
		{"$42 USD", 0, 42, ""},
		{"50%", textmetric.PercentFraction, 0.5, ""},
		{"50%", textmetric.PercentNumber, 50, ""},
		{"", 0, 0, "no number in it"},
		{"N/A", 0, 0, "no number in it"},
		{"3 to 4", 0, 0, "more than one number in it (3 and 4)"},
	}
	for _, tt := range tests {
		got, err := textmetric.ParseNumber(tt.in, tt.pct)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != tt.want || msg != tt.err {
			t.Errorf("ParseNumber(%q) = %v, %q; want %v, %q", tt.in, got, msg, tt.want, tt.err)
		}
	}
}
