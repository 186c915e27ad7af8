package criteria_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// TestCallsAreWhatScoreSends checks evals.Caller on every criterion that
// calls a model, alone and held by another: for a response, Calls says
// exactly the requests Score then sends, to the targets it sends them to;
// and for the empty output of a dry run, it still says one call per judge,
// extract or not, where Score would send none.
func TestCallsAreWhatScoreSends(t *testing.T) {
	const judge = `{"type":"judge","judges":["a","b"],"rubric":"Is {{ output }} the capital of {{ country }}?"}`
	const embed = `{"type":"embedding","target":"e","threshold":0.5,"value":["Paris","{{ country }}"]}`
	tests := []struct {
		name, spec string
		targets    []string // of the calls, in order
	}{
		{"judge", `{"name":"c","type":"judge","judges":["a","b"],"rubric":"Is {{ output }} the capital of {{ country }}?"}`, []string{"a", "b"}},
		{"judge with extract", `{"name":"c","type":"judge","judge":"a","extract":{"json":"city"},"rubric":"Is {{ output }} right?"}`, []string{"a"}},
		{"embedding", `{"name":"c","type":"embedding","target":"e","threshold":0.5,"value":["Paris","{{ country }}"]}`, []string{"e"}},
		{"not", `{"name":"c","type":"not","criterion":` + judge + `}`, []string{"a", "b"}},
		{"all", `{"name":"c","type":"all","criteria":[{"type":"contains","value":"P"},` + judge + `,` + embed + `]}`, []string{"a", "b", "e"}},
		{"all with extract", `{"name":"c","type":"all","extract":{"json":"city"},"criteria":[` + judge + `]}`, []string{"a", "b"}},
		{"json-field", `{"name":"c","type":"json-field","path":"city","criterion":` + embed + `}`, []string{"e"}},
		{"tool-call", `{"name":"c","type":"tool-call","tool":"locate","field":"city","criterion":` + embed + `}`, []string{"e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakes := map[string]*evalstest.Provider{}
			env := criteria.Env{Dir: t.TempDir(), Target: func(field string, ref json.RawMessage) (*evals.Endpoint, error) {
				var name string
				json.Unmarshal(ref, &name)
				fakes[name] = &evalstest.Provider{Text: "VERDICT: Y", Vectors: func(string) []float64 { return []float64{1, 0} }}
				return fakes[name].Endpoint(evals.TargetSpec{Name: name, Provider: "openai", Model: "m"}), nil
			}}
			sc := build(t, tt.spec, env)
			cl, ok := sc.(evals.Caller)
			if !ok {
				t.Fatalf("%T is not an evals.Caller", sc)
			}
			in := &evals.Input{Case: caseOf(t, `"Paris"`, `{"country":"France"}`),
				Messages: []evals.Message{{Role: "user", Content: "The capital of France?"}}, Output: `{"city":"Paris"}`,
				Response: &evals.Response{ToolCalls: []evals.ToolCall{evals.NewToolCall("1", "locate", `{"city":"Paris"}`)}}}
			calls, err := cl.Calls(in)
			if err != nil {
				t.Fatal(err)
			}
			sc.Score(context.Background(), in)
			var sent []evals.Call
			for _, name := range tt.targets {
				for _, c := range fakes[name].Calls() {
					if c.Request != nil {
						sent = append(sent, evals.Call{Target: name, Messages: c.Request.Messages})
					} else {
						sent = append(sent, evals.Call{Target: name, Texts: c.Embed.Input})
					}
				}
			}
			if !reflect.DeepEqual(calls, sent) {
				t.Errorf("Calls:\n%+v\nScore sent:\n%+v", calls, sent)
			}

			in.Output = ""
			calls, err = cl.Calls(in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range calls {
				got = append(got, c.Target)
				if len(c.Messages) == 0 && len(c.Texts) == 0 {
					t.Errorf("a call to %s with nothing in it", c.Target)
				}
			}
			if !reflect.DeepEqual(got, tt.targets) {
				t.Errorf("for an empty output, calls to %q, want %q", got, tt.targets)
			}
		})
	}
}
