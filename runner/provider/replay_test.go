package provider

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// writeFile writes content to name in a new temporary folder and returns the
// folder.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// replayTarget is a replay target as a test writes it: the fields every
// target has, and the provider's own.
type replayTarget struct {
	evals.TargetSpec
	ReplayConfig
}

// spec returns the target as the loader gives it to the registry.
func (r replayTarget) spec() evals.TargetSpec { return withConfig(r.TargetSpec, r.ReplayConfig) }

func replaySpec(dir, path string) replayTarget {
	return replayTarget{evals.TargetSpec{Name: "gpt", Provider: "replay", Dir: dir}, ReplayConfig{Path: path}}
}

func newReplay(r replayTarget) (*Replay, error) {
	return NewReplay(r.ReplayConfig, r.TargetSpec, Env{})
}

func complete(t *testing.T, p evals.Provider, caseID string, repeat int) (*evals.Response, error) {
	t.Helper()
	return p.Complete(t.Context(), &evals.Request{Target: "gpt", CaseID: caseID, Repeat: repeat, Messages: testRequest.Messages})
}

const recordings = `{"case_id":"a","target":"gpt","repeat":0,"output":"billing","finish_reason":"stop","usage":{"prompt_tokens":50,"completion_tokens":1,"total_tokens":51},"latency_ms":412.5}
{"case_id":"a","target":"gpt","repeat":1,"output":"refund","finish_reason":"length","usage":{"prompt_tokens":50,"completion_tokens":2}}

{"case_id":"a","target":"claude","repeat":0,"output":"other target"}
{"case_id":"b","output":"any target"}
   
{"case_id":"c","target":"claude","output":"claude only"}
`

func TestReplay(t *testing.T) {
	dir := writeFile(t, "rec/recordings.jsonl", recordings)
	tests := []struct {
		name     string
		replayAs string
		caseID   string
		repeat   int
		want     evals.Response
		missing  bool
	}{
		{name: "recorded", caseID: "a", want: evals.Response{Text: "billing", Finish: "stop",
			Usage: evals.Usage{PromptTokens: 50, CompletionTokens: 1, TotalTokens: 51}, Latency: 412500 * time.Microsecond}},
		{name: "second repeat, total computed", caseID: "a", repeat: 1, want: evals.Response{Text: "refund", Finish: "length",
			Usage: evals.Usage{PromptTokens: 50, CompletionTokens: 2, TotalTokens: 52}}},
		{name: "recording without target", caseID: "b", want: evals.Response{Text: "any target"}},
		{name: "recording without target, other repeat", caseID: "b", repeat: 1, missing: true},
		{name: "other target's recording", caseID: "c", missing: true},
		{name: "no fallback to repeat 0", caseID: "a", repeat: 2, missing: true},
		{name: "replay_as", replayAs: "claude", caseID: "a", want: evals.Response{Text: "other target"}},
		{name: "replay_as, no target", replayAs: "claude", caseID: "b", want: evals.Response{Text: "any target"}},
		{name: "replay_as, target's own name unused", replayAs: "claude", caseID: "a", repeat: 1, missing: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := replaySpec(dir, "rec/recordings.jsonl")
			spec.ReplayAs = tt.replayAs
			p, err := newReplay(spec)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := complete(t, p, tt.caseID, tt.repeat)
			wantSent := evals.SentRequest{URL: "replay:rec/recordings.jsonl", Body: []byte(`{"messages":` + testMessagesJSON + `}`)}
			if tt.missing {
				pe := providerError(t, err)
				want := `no recording for case "` + tt.caseID + `" (repeat ` + string(rune('0'+tt.repeat)) + `) in ` + filepath.Join(dir, "rec/recordings.jsonl")
				if pe.Kind != evals.ErrKindReplay || pe.Message != want || pe.Retryable() {
					t.Errorf("got Kind %q Message %q, want replay %q", pe.Kind, pe.Message, want)
				}
				if pe.Sent == nil || pe.Sent.URL != wantSent.URL || string(pe.Sent.Body) != string(wantSent.Body) {
					t.Errorf("Sent = %+v, want %s %s", pe.Sent, wantSent.URL, wantSent.Body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != tt.want.Text || resp.Finish != tt.want.Finish || resp.Usage != tt.want.Usage || resp.Latency != tt.want.Latency {
				t.Errorf("got %q %q %+v %v\nwant %q %q %+v %v", resp.Text, resp.Finish, resp.Usage, resp.Latency,
					tt.want.Text, tt.want.Finish, tt.want.Usage, tt.want.Latency)
			}
			if resp.Sent == nil || resp.Sent.URL != wantSent.URL || string(resp.Sent.Body) != string(wantSent.Body) {
				t.Errorf("Sent = %+v, want %s %s", resp.Sent, wantSent.URL, wantSent.Body)
			}
		})
	}
}

// TestReplayLatencyExact replays a recorded latency to the nanosecond: a
// number of milliseconds such as 1.021, not exact as a float, is not cut
// to 1.020999 ms.
func TestReplayLatencyExact(t *testing.T) {
	dir := writeFile(t, "r.jsonl", `{"case_id":"a","output":"x","latency_ms":1.021}`+"\n")
	p, err := newReplay(replaySpec(dir, "r.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := complete(t, p, "a", 0)
	if err != nil || resp.Latency != 1021*time.Microsecond {
		t.Fatalf("latency %v, %v; want 1.021ms", resp.Latency, err)
	}
}

func TestReplayResultsFile(t *testing.T) {
	// Lines as rubric writes them to results.jsonl, including failures.
	results := strings.Join([]string{
		`{"run_id":"r1","case_id":"t-1","target":"gpt","repeat":0,"vars":{"ticket":"x"},"expected":"billing","tags":["a"],"request":{"url":"http://h/v1/chat/completions","body":{"model":"m"}},"output":"billing","finish_reason":"stop","usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11},"latency_ms":250,"scores":[{"name":"exact","type":"equals","weight":1,"score":1,"pass":true}],"score":1,"status":"passed"}`,
		`{"run_id":"r1","case_id":"t-2","target":"gpt","repeat":0,"output":"","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0},"latency_ms":30000,"status":"error","error":{"kind":"timeout","message":"no response within 30s"}}`,
		`{"run_id":"r1","case_id":"t-3","target":"gpt","repeat":0,"output":"","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0},"latency_ms":3,"status":"error"}`,
		`{"run_id":"r1","case_id":"t-4","target":"gpt","repeat":0,"output":"","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0},"latency_ms":3,"error":{"kind":"http_status","status":500,"message":"boom"}}`,
		`{"run_id":"r1","case_id":"t-5","target":"gpt","repeat":0,"output":"x","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2},"latency_ms":1,"status":"failed","error":null,"score":0}`,
		`{"run_id":"r1","case_id":"t-1","target":"other","repeat":0,"output":"no","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0},"latency_ms":1,"status":"passed"}`,
		// An errored line followed by its successful retry in a later run is no duplicate.
		`{"run_id":"r2","case_id":"t-2","target":"gpt","repeat":0,"output":"retried","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7},"latency_ms":9,"status":"passed"}`,
	}, "\r\n") + "\r\n"
	dir := writeFile(t, "results.jsonl", results)
	p, err := newReplay(replaySpec(dir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*evals.Response{
		"t-1": {Text: "billing", Finish: "stop", Usage: evals.Usage{PromptTokens: 10, CompletionTokens: 1, TotalTokens: 11}, Latency: 250 * time.Millisecond},
		"t-2": {Text: "retried", Usage: evals.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}, Latency: 9 * time.Millisecond},
		"t-3": nil,
		"t-4": nil,
		"t-5": {Text: "x", Usage: evals.Usage{PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2}, Latency: time.Millisecond},
	}
	for id, w := range want {
		resp, err := complete(t, p, id, 0)
		if w == nil {
			if pe := providerError(t, err); pe.Kind != evals.ErrKindReplay {
				t.Errorf("%s: error kind %q, want replay", id, pe.Kind)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if resp.Text != w.Text || resp.Finish != w.Finish || resp.Usage != w.Usage || resp.Latency != w.Latency {
			t.Errorf("%s: got %q %q %+v %v, want %q %q %+v %v", id, resp.Text, resp.Finish, resp.Usage, resp.Latency, w.Text, w.Finish, w.Usage, w.Latency)
		}
	}
	if len(p.recs) != 3 {
		t.Errorf("%d recordings kept, want 3", len(p.recs))
	}
}

func TestReplayFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // after "FILE:"
	}{
		{"duplicate", "{\"case_id\":\"a\",\"output\":\"x\"}\n\n{\"case_id\":\"a\",\"target\":\"gpt\",\"output\":\"y\"}\n",
			`3: duplicate recording for case "a" (repeat 0): line 1 records it already`},
		{"duplicate repeat", "{\"case_id\":\"a\",\"repeat\":1,\"output\":\"x\"}\n{\"case_id\":\"a\",\"repeat\":1,\"output\":\"x\"}\n",
			`2: duplicate recording for case "a" (repeat 1): line 1 records it already`},
		{"invalid JSON", "{\"case_id\":\"a\",\"output\":\"x\"}\n{\"case_id\":\"b\" \"output\":\"x\"}\n",
			`2:16: invalid JSON: invalid character '"' after object key:value pair`},
		{"torn last line", "{\"case_id\":\"a\",\"output\":\"x\"}\n{\"case_id\":\"b\",\"out",
			`2: truncated last line (no newline at end of file): unexpected end of JSON input`},
		{"incomplete line with a newline", "{\"case_id\":\"b\",\"out\n",
			`1:19: invalid JSON: unexpected end of JSON input`},
		{"missing case_id", "{\"output\":\"x\"}\n", `1: missing case_id`},
		{"empty case_id", "{\"case_id\":\"\",\"output\":\"x\"}\n", `1: case_id is empty`},
		{"case_id not a string", "{\"case_id\":7,\"output\":\"x\"}\n", `1: case_id: expected a string, got number`},
		{"repeat not an integer", "{\"case_id\":\"a\",\"repeat\":1.5,\"output\":\"x\"}\n", `1: repeat: expected an integer, got number 1.5`},
		{"usage of wrong type", "{\"case_id\":\"a\",\"output\":\"x\",\"usage\":{\"prompt_tokens\":\"5\"}}\n", `1: usage.prompt_tokens: expected an integer, got string`},
		{"not an object", "[1,2]\n", `1: expected a JSON object, got array`},
		{"missing output", "{\"case_id\":\"a\"}\n", `1: missing output`},
		{"negative repeat", "{\"case_id\":\"a\",\"repeat\":-1,\"output\":\"x\"}\n", `1: repeat is -1, less than 0`},
		{"negative latency", "{\"case_id\":\"a\",\"latency_ms\":-5,\"output\":\"x\"}\n", `1: latency_ms is -5, less than 0`},
		{"error in another target's line", "{\"case_id\":\"a\",\"target\":\"x\"}\n", `1: missing output`},
		{"transcript without an answer", "{\"case_id\":\"a\",\"target\":\"x\",\"output\":\"\",\"transcript\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n",
			`1: transcript: no "assistant" message, to answer the case's steps`},
		{"transcript not an array", "{\"case_id\":\"a\",\"output\":\"\",\"transcript\":\"hi\"}\n", `1: transcript: expected an array, got string`},
		{"tool call of the wrong shape", "{\"case_id\":\"a\",\"output\":\"\",\"transcript\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":7}]}]}\n",
			`1: transcript.tool_calls.id: expected a string, got number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFile(t, "r.jsonl", tt.content)
			p, err := newReplay(replaySpec(dir, "r.jsonl"))
			if err == nil {
				t.Fatalf("NewReplay succeeded with %d recordings", len(p.recs))
			}
			want := "path: " + filepath.Join(dir, "r.jsonl") + ":" + tt.want
			if err.Error() != want {
				t.Errorf("error\n got %q\nwant %q", err.Error(), want)
			}
			var fe *evals.FieldError
			if !errors.As(err, &fe) || fe.Field != "path" {
				t.Errorf("error %T is not a FieldError for path", err)
			}
		})
	}
}

func TestReplayFileEdges(t *testing.T) {
	t.Run("last line without newline", func(t *testing.T) {
		dir := writeFile(t, "r.jsonl", "\xef\xbb\xbf{\"case_id\":\"a\",\"output\":\"x\"}\n{\"case_id\":\"b\",\"output\":\"y\"}")
		p, err := newReplay(replaySpec(dir, "r.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := complete(t, p, "b", 0); err != nil || resp.Text != "y" {
			t.Errorf("got %v, %v; want y", resp, err)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		dir := writeFile(t, "r.jsonl", "")
		p, err := newReplay(replaySpec(dir, "r.jsonl"))
		if err != nil || len(p.recs) != 0 {
			t.Fatalf("got %v, want no recordings and no error", err)
		}
	})
	t.Run("line longer than the read buffer", func(t *testing.T) {
		long := strings.Repeat("é", 100_000)
		dir := writeFile(t, "r.jsonl", `{"case_id":"a","output":"`+long+"\"}\n"+`{"case_id":"b","output":"short"}`+"\n")
		p, err := newReplay(replaySpec(dir, "r.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := complete(t, p, "a", 0); err != nil || resp.Text != long {
			t.Errorf("long line: %v", err)
		}
		if resp, err := complete(t, p, "b", 0); err != nil || resp.Text != "short" {
			t.Errorf("line after the long one: %v, %v", resp, err)
		}
	})
	t.Run("absolute path ignores Dir", func(t *testing.T) {
		dir := writeFile(t, "r.jsonl", `{"case_id":"a","output":"x"}`+"\n")
		p, err := newReplay(replaySpec("/nonexistent", filepath.Join(dir, "r.jsonl")))
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := complete(t, p, "a", 0); err != nil || resp.Sent.URL != "replay:"+filepath.ToSlash(filepath.Join(dir, "r.jsonl")) {
			t.Errorf("got %+v, %v", resp, err)
		}
	})
}

func TestReplayMissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := newReplay(replaySpec(dir, "nope.jsonl"))
	want := "path: open " + filepath.Join(dir, "nope.jsonl") + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	var fe *evals.FieldError
	if !errors.As(err, &fe) || fe.Field != "path" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %T: want a FieldError for path wrapping fs.ErrNotExist", err)
	}
}

func TestReplayConstructionErrors(t *testing.T) {
	tests := []struct {
		name   string
		spec   evals.TargetSpec
		fields []string
		want   string
	}{
		{"missing path", targetOf(t, `{"name": "t", "provider": "replay"}`), []string{"path"},
			`path: required by provider "replay": the JSONL file of recorded responses`},
		{"openai fields", targetOf(t, `{
			"name": "t", "provider": "replay", "path": "r.jsonl",
			"base_url": "http://h/v1", "model": "m", "api_key_env": "K", "headers": {"a": "b"},
			"params": {}, "extra_body": {"x": 1}
		}`), []string{"base_url", "model", "api_key_env", "headers", "params", "extra_body"},
			strings.Join([]string{
				`base_url: field does not apply to provider "replay" (it is a field of providers "anthropic" and "openai")`,
				`model: field does not apply to provider "replay" (it is a field of providers "anthropic", "azure", "exec", "http" and "openai")`,
				`api_key_env: field does not apply to provider "replay" (it is a field of providers "anthropic", "azure" and "openai")`,
				`headers: field does not apply to provider "replay" (it is a field of providers "anthropic", "azure", "http" and "openai")`,
				`params: field does not apply to provider "replay" (it is a field of providers "anthropic", "azure", "exec", "http" and "openai")`,
				`extra_body: field does not apply to provider "replay" (it is a field of providers "anthropic", "azure" and "openai")`,
			}, "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			spec.Dir = writeFile(t, "r.jsonl", recordings)
			p, err := New(spec)
			if p != nil || err == nil || err.Error() != tt.want {
				t.Fatalf("error\n got %v\nwant %s", err, tt.want)
			}
			if got := fieldsOf(err); strings.Join(got, " ") != strings.Join(tt.fields, " ") {
				t.Errorf("FieldError fields %q, want %q", got, tt.fields)
			}
		})
	}
}

func TestReplayCanceled(t *testing.T) {
	dir := writeFile(t, "r.jsonl", `{"case_id":"a","output":"x"}`+"\n")
	p, err := newReplay(replaySpec(dir, "r.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	resp, err := p.Complete(ctx, &evals.Request{CaseID: "a"})
	pe := providerError(t, err)
	if resp != nil || pe.Kind != evals.ErrKindCanceled || !errors.Is(err, context.Canceled) ||
		pe.Message != "canceled before the recording was looked up" {
		t.Errorf("got %v, Kind %q Message %q; want canceled wrapping context.Canceled", resp, pe.Kind, pe.Message)
	}
}

// conversationResult is a conversation's result as rubric writes it to
// results.jsonl: the prompt, two parallel calls (one malformed) and their
// results, the answer; a second turn with one call and the final answer.
func conversationResult() evals.Result {
	return evals.Result{
		RunID: "r1", CaseID: "conv", Target: "gpt", Output: "It arrives on the 9th.", Finish: "stop",
		Usage: evals.Usage{PromptTokens: 400, CompletionTokens: 60, TotalTokens: 460}, LatencyMS: 900,
		Stream: &evals.StreamTiming{FirstTokenMS: 80, FirstContentMS: 80, TokensPerSecond: 50},
		Transcript: []evals.Message{
			{Role: "system", Content: "Use the tools."},
			{Role: "user", Content: "Where are A1 and B2?"},
			{Role: "assistant", ToolCalls: []evals.ToolCall{callA1, callBad}},
			{Role: "tool", ToolCallID: "call_1", Name: "lookup_order", Content: `{"status":"shipped"}`},
			{Role: "tool", ToolCallID: "call_3", Name: "refund", Content: "error: not JSON", Error: "arguments are not JSON"},
			{Role: "assistant", Content: "A1 has shipped."},
			{Role: "user", Content: "When will it arrive?"},
			{Role: "assistant", Content: "Checking.", ToolCalls: []evals.ToolCall{callB2}},
			{Role: "tool", ToolCallID: "call_2", Name: "lookup_order", Content: `{"eta":"9th"}`},
			{Role: "assistant", Content: "It arrives on the 9th."},
		},
		Steps: 4, ToolCalls: 3, ToolErrors: 1, Status: evals.StatusPassed,
	}
}

// TestReplayConversation replays a conversation's result step by step: step
// k answers with the transcript's k-th assistant message, its calls and
// text; the line's usage, latency and timings come with the last step. A
// step beyond the recording, or of a line without a transcript beyond step
// 0, is a replay error naming the case, repeat and step. The body recorded
// holds the tools.
func TestReplayConversation(t *testing.T) {
	line, err := json.Marshal(conversationResult())
	if err != nil {
		t.Fatal(err)
	}
	dir := writeFile(t, "results.jsonl", string(line)+"\n"+`{"case_id":"plain","target":"gpt","output":"billing","finish_reason":"stop","latency_ms":5}`+"\n")
	file := filepath.Join(dir, "results.jsonl")
	p, err := newReplay(replaySpec(dir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	last := evals.Response{Text: "It arrives on the 9th.", Finish: "stop", Usage: evals.Usage{PromptTokens: 400, CompletionTokens: 60, TotalTokens: 460},
		Latency: 900 * time.Millisecond, Stream: &evals.StreamTiming{FirstTokenMS: 80, FirstContentMS: 80, TokensPerSecond: 50}}
	tests := []struct {
		caseID string
		step   int
		want   *evals.Response // nil: an error
		err    string
	}{
		// results.jsonl holds the arguments as encoding/json writes a
		// RawMessage: compacted.
		{caseID: "conv", step: 0, want: &evals.Response{Finish: "tool_calls", ToolCalls: []evals.ToolCall{
			{ID: "call_1", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id":"A1"}`)}, callBad}}},
		{caseID: "conv", step: 1, want: &evals.Response{Text: "A1 has shipped.", Finish: "stop"}},
		{caseID: "conv", step: 2, want: &evals.Response{Text: "Checking.", Finish: "tool_calls", ToolCalls: []evals.ToolCall{callB2}}},
		{caseID: "conv", step: 3, want: &last},
		{caseID: "conv", step: 4, err: `no recording for case "conv" (repeat 0, step 4) in ` + file + `: line 1 records steps 0 to 3`},
		{caseID: "plain", step: 0, want: &evals.Response{Text: "billing", Finish: "stop", Latency: 5 * time.Millisecond}},
		{caseID: "plain", step: 1, err: `no recording for case "plain" (repeat 0, step 1) in ` + file + `: line 2 records step 0 only`},
		{caseID: "nope", step: 2, err: `no recording for case "nope" (repeat 0, step 2) in ` + file},
	}
	for _, tt := range tests {
		t.Run(tt.caseID+"/"+strconv.Itoa(tt.step), func(t *testing.T) {
			req := &evals.Request{Target: "gpt", CaseID: tt.caseID, Step: tt.step, Messages: loopMessages,
				Tools: []evals.Tool{lookupTool, refundTool}, ToolChoice: json.RawMessage(`"auto"`)}
			resp, err := p.Complete(t.Context(), req)
			wantBody := `{"messages":` + loopMessagesJSON + `,"tools":[` + lookupToolJSON + `,` + refundToolJSON + `],"tool_choice":"auto"}`
			if tt.want == nil {
				pe := providerError(t, err)
				if pe.Kind != evals.ErrKindReplay || pe.Message != tt.err || pe.Sent == nil || string(pe.Sent.Body) != wantBody {
					t.Errorf("error %s %q, Sent %+v\nwant replay %q", pe.Kind, pe.Message, pe.Sent, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Sent.Body) != wantBody {
				t.Errorf("recorded body\n%s\nwant\n%s", resp.Sent.Body, wantBody)
			}
			resp.Sent = nil
			if !reflect.DeepEqual(*resp, *tt.want) {
				t.Errorf("got  %+v (calls %s)\nwant %+v (calls %s)", *resp, callsString(resp.ToolCalls), *tt.want, callsString(tt.want.ToolCalls))
			}
		})
	}
}
