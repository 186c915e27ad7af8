package provider

import (
	"strings"
	"testing"
)

// FuzzBatchAnswer feeds lines of a batch's results file, which come from
// the network, to each API's decoder: it never panics, an answer is either
// a response or a reason, never both nor neither, and no reason holds the
// key.
func FuzzBatchAnswer(f *testing.F) {
	for _, s := range []string{
		`{"id":"b","custom_id":"r-1","response":{"status_code":200,"body":{"choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}},"error":null}`,
		`{"custom_id":"r-2","response":null,"error":{"code":"batch_expired","message":"expired"}}`,
		`{"custom_id":"r-3","response":{"status_code":500,"body":{"error":{"message":"` + batchTestKey + `"}}}}`,
		`{"custom_id":"r-4","result":{"type":"succeeded","message":{"content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}}}`,
		`{"custom_id":"r-5","result":{"type":"errored","error":{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}}}`,
		`{"custom_id":"r-6","result":{"type":"expired"}}`,
		`{"custom_id":"r-7","result":{"type":"mystery"}}`,
		`{"custom_id":"","response":{}}`,
		`not json`, `{}`, `null`, `[]`,
	} {
		f.Add([]byte(s), false)
	}
	apis := map[string]interface {
		answer(line []byte, long bool) BatchAnswer
	}{}
	for _, p := range []string{"openai", "anthropic"} {
		api := batchAPIOf(f, p, "http://127.0.0.1:9", "")
		switch a := api.(type) {
		case *openaiBatch:
			apis[p] = a
		case *anthropicBatch:
			apis[p] = a
		default:
			f.Fatalf("%s: batch API %T", p, api)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte, long bool) {
		for name, api := range apis {
			a := api.answer(line, long)
			if (a.Response == nil) == (a.Reason == "") {
				t.Fatalf("%s: %q: response %v and reason %q: want exactly one", name, line, a.Response != nil, a.Reason)
			}
			if strings.Contains(a.Reason, batchTestKey) {
				t.Fatalf("%s: the key in the reason %q", name, a.Reason)
			}
		}
	})
}
