package datasets

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the output of the tests")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update to accept it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func fptr(f float64) *float64 { return &f }

// exportExamples are examples with what makes formats hard: a system message
// and a few-shot exchange, a developer message, JSON and markup in the text,
// non-ASCII, quotes, commas and newlines, an unscored criterion.
func exportExamples() []*Example {
	sys := evals.Message{Role: "system", Content: "Answer with one JSON object: {\"intent\": ...}. Never <script>."}
	return []*Example{
		{
			Prompt: []evals.Message{sys, {Role: "user", Content: "I was charged twice, refund me"}},
			Chosen: `{"intent": "refund"}`, Rejected: `{"intent": "cancel"}`,
			CaseID: "c1", Target: "v1", Status: evals.StatusFailed, Score: fptr(0.5), Response: `{"intent": "cancel"}`,
			Expected: map[string]any{"intent": "refund"},
			Scores: []evals.Score{
				{Name: "json", Score: 1, Pass: true},
				{Name: "intent", Score: 0, Reason: `got "cancel", expected "refund"`},
			},
			Vars: map[string]any{"message": "I was charged twice, refund me"}, Tags: []string{"domain=billing", "lang=en"},
			Metadata: map[string]any{"source": "email", "priority": 2.0},
		},
		{
			Prompt: []evals.Message{
				{Role: "developer", Content: "Réponds en français, s'il te plaît."},
				{Role: "user", Content: "Exemple : « annuler »"}, {Role: "assistant", Content: `{"intent": "cancel"}`},
				{Role: "user", Content: "Fermez mon compte,\nmerci & à bientôt"},
			},
			Chosen: `{"intent": "cancel"}`, Rejected: "Je ne sais pas.",
			CaseID: "c2", Target: "v1", Repeat: 1, Status: evals.StatusFailed, Score: fptr(0), Response: "=HYPERLINK(\"http://x\")",
			Expected: "cancel",
			Scores: []evals.Score{
				{Name: "json", Score: 0, Reason: "output is not JSON"},
				{Name: "intent", Unscored: true, Reason: "extract: output is not JSON"},
			},
			Vars: map[string]any{"message": "Fermez mon compte,\nmerci & à bientôt"},
		},
	}
}

func TestExportGolden(t *testing.T) {
	for _, format := range ExportFormats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			w, err := NewExportWriter(&b, format, []string{"json", "intent"})
			if err != nil {
				t.Fatal(err)
			}
			for _, ex := range exportExamples() {
				if err := w.Write(ex); err != nil {
					t.Fatalf("%s: %v", ex.CaseID, err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if w.Lines() != 2 {
				t.Errorf("Lines() = %d, want 2", w.Lines())
			}
			ext := ".jsonl"
			if format == ExportReviewCSV {
				ext = ".csv"
			}
			golden(t, filepath.Join("export", format+ext), b.Bytes())
			// Every line is valid on its own, as the format's checker reads it.
			lines := strings.SplitAfter(b.String(), "\n")
			if format == ExportReviewCSV {
				return // records span lines; the writer checked each one
			}
			for _, l := range lines[:len(lines)-1] {
				if err := CheckLine(format, []byte(l), nil); err != nil {
					t.Errorf("line %q: %v", l, err)
				}
			}
		})
	}
}

// TestExportInvalidExamples gives each format examples it cannot hold: the
// writer must refuse them with a reason and write nothing.
func TestExportInvalidExamples(t *testing.T) {
	user := evals.Message{Role: "user", Content: "q"}
	for _, tc := range []struct {
		name    string
		formats []string
		ex      Example
		reason  string
	}{
		{"no prompt", []string{ExportChat, ExportPreferenceTRL}, Example{Chosen: "a", Rejected: "b"}, "no prompt recorded"},
		{"empty user message", []string{ExportChat, ExportPreferenceOpenAI}, Example{Prompt: []evals.Message{{Role: "user", Content: " \n"}}, Chosen: "a", Rejected: "b"}, "prompt has an empty user message"},
		{"tool message", []string{ExportChat}, Example{Prompt: []evals.Message{{Role: "tool", Content: "x"}, user}, Chosen: "a"}, "prompt has a tool message: expected system, user and assistant messages only"},
		{"prompt ends with the assistant", []string{ExportChat, ExportPreferenceTRL}, Example{Prompt: []evals.Message{user, {Role: "assistant", Content: "pre"}}, Chosen: "a", Rejected: "b"}, "prompt does not end with a user message"},
		{"empty reference", []string{ExportChat}, Example{Prompt: []evals.Message{user}, Chosen: ""}, "empty reference answer"},
		{"empty rejected", []string{ExportPreferenceOpenAI}, Example{Prompt: []evals.Message{user}, Chosen: "a", Rejected: "\t"}, "empty rejected answer"},
		{"same answers", []string{ExportPreferenceOpenAI, ExportPreferenceTRL}, Example{Prompt: []evals.Message{user}, Chosen: "a", Rejected: "a"}, "chosen and rejected answers are the same"},
		{"review without a prompt", []string{ExportReviewJSONL}, Example{CaseID: "c", Target: "t"}, "review row without a prompt"},
	} {
		for _, format := range tc.formats {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				var b bytes.Buffer
				w, err := NewExportWriter(&b, format, nil)
				if err != nil {
					t.Fatal(err)
				}
				err = w.Write(&tc.ex)
				var inv *Invalid
				if !errors.As(err, &inv) || inv.Reason != tc.reason {
					t.Errorf("error %v, want *Invalid %q", err, tc.reason)
				}
				w.Flush()
				if b.Len() != 0 || w.Lines() != 0 {
					t.Errorf("wrote %q for an invalid example", b.String())
				}
			})
		}
	}
}

// TestCheckLine feeds the checker lines that break each rule, as a bug in a
// writer could produce them.
func TestCheckLine(t *testing.T) {
	for _, tc := range []struct {
		format, line, want string
	}{
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}` + "\n", ""},
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`, "not exactly one line"},
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]` + "\n", "not valid JSON of the chat layout: unexpected EOF"},
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"extra":1}` + "\n", `not valid JSON of the chat layout: json: unknown field "extra"`},
		{ExportChat, `{"messages":[{"role":"assistant","content":"a"}]}` + "\n", "chat example has 1 messages, expected a prompt and an answer"},
		{ExportChat, `{"messages":[{"role":"tool","content":"q"},{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}` + "\n", `message 0 has role "tool": expected system, user or assistant`},
		{ExportChat, `{"messages":[{"role":"system","content":""},{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}` + "\n", "message 0 (system) is empty"},
		{ExportChat, `{"messages":[{"role":"user","content":"q","weight":0},{"role":"assistant","content":"a"}]}` + "\n", "message 0 has weight 0: only assistant messages take a weight, 0 or 1"},
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"user","content":"a"}]}` + "\n", "the assistant turn is not one assistant message"},
		{ExportChat, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"  "}]}` + "\n", "the assistant turn is empty"},
		{ExportPreferenceOpenAI, `{"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[{"role":"assistant","content":"a"}],"non_preferred_output":[{"role":"assistant","content":"b"}]}` + "\n", ""},
		{ExportPreferenceOpenAI, `{"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[{"role":"assistant","content":"a"}]}` + "\n", "the rejected answer is not one assistant message"},
		{ExportPreferenceOpenAI, `{"input":{"messages":[{"role":"system","content":"q"}]},"preferred_output":[{"role":"assistant","content":"a"}],"non_preferred_output":[{"role":"assistant","content":"b"}]}` + "\n", "the prompt ends with a system message, expected user"},
		{ExportPreferenceTRL, `{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"a"}]}` + "\n", "chosen and rejected answers are the same"},
		{ExportPreferenceTRL, `{"prompt":"q","chosen":"a","rejected":"b"}` + "\n", "not valid JSON of the TRL preference layout: json: cannot unmarshal string"},
		{ExportReviewJSONL, `{"case_id":"","target":"t","prompt":[]}` + "\n", "review row without case_id or target"},
	} {
		t.Run(tc.format+" "+tc.want, func(t *testing.T) {
			err := CheckLine(tc.format, []byte(tc.line), nil)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("a valid line was refused: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	hdr := []string{"a", "b"}
	for line, want := range map[string]string{
		"x,y\n":        "",
		"\"x\ny\",z\n": "",
		"x\n":          "CSV record has 1 fields, expected 2",
		"x,y\nz,w\n":   "more than one CSV record",
		"\"x,y\n":      "not a CSV record",
		"x,\xff\n":     "CSV field is not valid UTF-8",
	} {
		err := CheckLine(ExportReviewCSV, []byte(line), hdr)
		if (want == "" && err != nil) || (want != "" && (err == nil || !strings.HasPrefix(err.Error(), want))) {
			t.Errorf("CSV %q: error %v, want %q", line, err, want)
		}
	}
}

func TestReference(t *testing.T) {
	withRef := func(src string) *evals.Suite {
		return &evals.Suite{ReferenceTemplate: evals.MustParseTemplate(src)}
	}
	for _, tc := range []struct {
		name     string
		suite    *evals.Suite
		expected any
		want     string
		reason   string
	}{
		{"expected text", nil, "refund", "refund", ""},
		{"no expected", nil, nil, "", "no reference answer: the case has no expected value"},
		{"expected object", nil, map[string]any{"a": 1.0}, "", `no reference answer: expected is an object, not text (set the suite's "reference")`},
		{"expected number", &evals.Suite{}, 3.0, "", `no reference answer: expected is a number, not text (set the suite's "reference")`},
		{"template field", withRef("{{ expected.answer }}"), map[string]any{"answer": "Paris"}, "Paris", ""},
		{"template object as JSON", withRef("{{ expected }}"), map[string]any{"intent": "refund", "n": 2.0}, `{"intent":"refund","n":2}`, ""},
		{"template with a missing field", withRef("{{ expected.answer }}"), map[string]any{"a": 1.0}, "", "no reference answer: the suite's reference uses {{ expected.answer }}, which the case does not define"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Reference(tc.suite, &evals.Case{ID: "c", Expected: tc.expected})
			if tc.reason != "" {
				var inv *Invalid
				if !errors.As(err, &inv) || inv.Reason != tc.reason {
					t.Errorf("error %v, want *Invalid %q", err, tc.reason)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
