package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

func TestLogPresetsAndMaps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		preset string
		maps   []string
		line   string
		want   LogRecord
	}{
		{
			name: "plain", preset: "plain",
			line: `{"id": "q1", "input": "2+2?", "output": "4", "expected": "4", "tags": ["math"], "metadata": {"user": 7}}`,
			want: LogRecord{
				Case:     &evals.Case{ID: "q1", Vars: map[string]any{"input": "2+2?"}, Expected: "4", Tags: []string{"math"}, Metadata: map[string]any{"user": 7.0}},
				Messages: []evals.Message{{Role: "user", Content: "2+2?"}}, Output: "4",
			},
		},
		{
			name: "plain without the optional fields: the line number is the id", preset: "plain",
			line: `{"input": "hi", "output": "hello"}`,
			want: LogRecord{Case: &evals.Case{ID: "3", Vars: map[string]any{"input": "hi"}}, Messages: []evals.Message{{Role: "user", Content: "hi"}}, Output: "hello"},
		},
		{
			name: "plain with messages as input", preset: "plain",
			line: `{"id": 12, "input": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "output": {"a": 1}}`,
			want: LogRecord{Case: &evals.Case{ID: "12"}, Messages: []evals.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}}, Output: `{"a":1}`},
		},
		{
			name: "chat: the last assistant message is the output", preset: "chat",
			line: `{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}]}, {"role": "assistant", "content": "hi!"}], "expected": {"x": [1, 2]}}`,
			want: LogRecord{
				Case:     &evals.Case{ID: "3", Expected: map[string]any{"x": []any{1.0, 2.0}}},
				Messages: []evals.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hello"}}, Output: "hi!",
			},
		},
		{
			name: "openai request and response, with maps", preset: "openai",
			maps: []string{"id=trace_id", "expected=label", "target=response.model", "metadata.route=meta.route", "latency_ms=ms"},
			line: `{"trace_id": "t-9", "request": {"messages": [{"role": "user", "content": "q"}]}, "response": {"model": "m-2", "choices": [{"message": {"role": "assistant", "content": "a"}}], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}, "label": "a", "meta": {"route": "eu"}, "ms": 812.5}`,
			want: LogRecord{
				Case:     &evals.Case{ID: "t-9", Expected: "a", Metadata: map[string]any{"route": "eu"}},
				Target:   "m-2",
				Messages: []evals.Message{{Role: "user", Content: "q"}}, Output: "a",
				Usage:     evals.Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7},
				LatencyMS: 812.5,
			},
		},
		{
			name: "no preset: vars only, for the suite's templates; keys that gjson would read as patterns", preset: "",
			maps: []string{`vars=v`, `vars.extra=a?.#`, "output=out.*", "usage=u"},
			line: `{"v": {"ticket": "t"}, "a?": {"#": true}, "ab": {"#": false}, "out": {"*": "x", "y": "z"}, "u": {"input_tokens": 3, "output_tokens": 4}}`,
			want: LogRecord{Case: &evals.Case{ID: "3", Vars: map[string]any{"ticket": "t", "extra": true}}, Output: "x", Usage: evals.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMapping(tc.preset, tc.maps)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Record([]byte(tc.line), "log.jsonl", 3)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Case.Source = "log.jsonl:3"
			if !reflect.DeepEqual(got, &tc.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(&tc.want)
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func TestMappingErrors(t *testing.T) {
	for _, tc := range []struct {
		preset string
		maps   []string
		want   string
	}{
		{"jsonl", nil, `unknown preset "jsonl": expected one of chat, openai, plain`},
		{"plain", []string{"output"}, `mapping "output": expected FIELD=PATH, e.g. output=response.choices.0.message.content`},
		{"plain", []string{"answer=a"}, `mapping "answer=a": unknown field "answer": expected one of id, messages, input, output, expected, vars, tags, metadata, target, usage, latency_ms, vars.NAME or metadata.NAME`},
		{"plain", []string{"vars.a.b=x"}, `mapping "vars.a.b=x": unknown field "vars.a.b"`},
		{"plain", []string{"vars.output=x"}, `variable "output" is reserved`},
		{"plain", []string{"output=a..b"}, `mapping "output=a..b": path "a..b" has an empty key`},
		{"plain", []string{"messages=m"}, "messages and input are both mapped: expected one of them for the prompt"},
		{"", []string{"output=o"}, "nothing gives the prompt: map messages, input, or vars"},
		{"", []string{"input=i"}, "nothing gives the output: map output, or map messages ending with the assistant's answer"},
	} {
		t.Run(strings.Join(append([]string{tc.preset}, tc.maps...), " "), func(t *testing.T) {
			_, err := NewMapping(tc.preset, tc.maps)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestLogLineErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		preset string
		maps   []string
		line   string
		want   string
		reason string
	}{
		{"not JSON", "plain", nil, `{"input": "a", "output": }`, `log.jsonl:4: invalid JSON: invalid character '}' looking for beginning of value (at character 26)`, "not valid JSON"},
		{"not an object", "plain", nil, `["input"]`, `log.jsonl:4: expected a JSON object, got JSON`, "not a JSON object"},
		{"missing required", "plain", nil, `{"input": "a"}`, `log.jsonl:4: output (mapped from output): no field "output"`, "output: missing"},
		{"null counts as missing", "plain", nil, `{"input": "a", "output": null}`, `log.jsonl:4: output (mapped from output): "output" is null`, "output: missing"},
		{"mapped optional field is required", "openai", []string{"expected=label"}, `{"request": {"messages": [{"role": "user", "content": "q"}]}, "response": {"choices": [{"message": {"content": "a"}}]}}`,
			`log.jsonl:4: expected (mapped from label): no field "label"`, "expected: missing"},
		{"index past the end", "openai", nil, `{"request": {"messages": [{"role": "user", "content": "q"}]}, "response": {"choices": []}}`,
			`log.jsonl:4: output (mapped from response.choices.0.message.content): no element "response.choices.0": "response.choices" is an array of 0`, "output: missing"},
		{"path through a string", "openai", nil, `{"request": {"messages": [{"role": "user", "content": "q"}]}, "response": "oops"}`,
			`log.jsonl:4: output (mapped from response.choices.0.message.content): no field "response.choices": "response" is the string "oops"`, "output: missing"},
		{"id of the wrong kind", "plain", nil, `{"id": 1.5, "input": "a", "output": "b"}`, `log.jsonl:4: id (mapped from id): expected a non-empty string or an integer, got the number 1.5`, "id: expected a non-empty string or an integer"},
		{"tags not strings", "plain", nil, `{"tags": ["a", 1], "input": "a", "output": "b"}`, `log.jsonl:4: tags (mapped from tags): expected an array of strings, got an array`, "tags: expected an array of strings"},
		{"vars not an object", "", []string{"vars=v", "output=o"}, `{"v": [1], "o": "b"}`, `log.jsonl:4: vars (mapped from v): expected an object, got an array`, "vars: expected an object"},
		{"chat without the answer last", "chat", nil, `{"messages": [{"role": "user", "content": "q"}]}`,
			`log.jsonl:4: messages (mapped from messages): the messages do not end with the assistant's answer: map output, or log the answer as the last message`, "messages: no assistant answer last"},
		{"chat with only the answer", "chat", nil, `{"messages": [{"role": "assistant", "content": "a"}]}`,
			`log.jsonl:4: messages (mapped from messages): no prompt: expected at least one message before the answer`, "messages: empty prompt"},
		{"unknown role", "chat", nil, `{"messages": [{"role": "robot", "content": "q"}, {"role": "assistant", "content": "a"}]}`,
			`log.jsonl:4: messages (mapped from messages): message 0: role: expected one of system, developer, user, assistant, tool, got the string "robot"`, "messages: not chat messages"},
		{"image part", "chat", nil, `{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}, {"role": "assistant", "content": "a"}]}`,
			`log.jsonl:4: messages (mapped from messages): message 0: content part 0: expected a text part, got an object`, "messages: not chat messages"},
		{"negative latency", "plain", []string{"latency_ms=ms"}, `{"input": "a", "output": "b", "ms": -1}`, `log.jsonl:4: latency_ms (mapped from ms): expected a number >= 0, got the number -1`, "latency_ms: expected a number >= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMapping(tc.preset, tc.maps)
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Record([]byte(tc.line), "log.jsonl", 4)
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %v (%T), want a *LineError", err, err)
			}
			if le.Error() != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", le.Error(), tc.want)
			}
			if le.Reason != tc.reason {
				t.Errorf("reason %q, want %q", le.Reason, tc.reason)
			}
		})
	}
}

func TestLogReaderGoesOnAfterABadLine(t *testing.T) {
	path := writeFile(t, "log.jsonl", "\xef\xbb\xbf"+`{"input": "a", "output": "1"}`+"\n\n"+`{"input": "b"}`+"\n"+`{"input": "c", "output": "3"}`)
	m, err := NewMapping("plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenLog(path, m)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		var le *LineError
		if errors.As(err, &le) {
			got = append(got, fmt.Sprintf("line %d: %s", le.Line, le.Reason))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s=%s", rec.Case.ID, rec.Output))
	}
	if want := "1=1, line 3: output: missing, 4=3"; strings.Join(got, ", ") != want {
		t.Errorf("read %q, want %q", strings.Join(got, ", "), want)
	}
}

func FuzzLogRecord(f *testing.F) {
	for _, s := range []string{
		`{"input": "a", "output": "b"}`,
		`{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}`,
		`{"request": {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}, "response": {"choices": [{"message": {"content": {"k": 1}}}], "usage": {"total_tokens": 3}}}`,
		`{"id": 9007199254740993, "input": ["x"], "output": 1e400}`,
		`{"input": "\ud800", "output": "\u0000", "tags": [], "metadata": null}`,
		`[`, `"x"`, `{"a\\.b": 1}`, "{\"input\": \"a\", \"output\": \"b\"}\x00",
	} {
		f.Add(s)
	}
	maps := make([]*Mapping, 0, len(LogPresets)+1)
	for _, p := range PresetNames() {
		m, err := NewMapping(p, nil)
		if err != nil {
			f.Fatal(err)
		}
		maps = append(maps, m)
	}
	m, err := NewMapping("", []string{"vars=v", "vars.x=a.0.b", "metadata.y=a.*", "output=o", "target=t", "latency_ms=l", "usage=u", "id=i", "tags=g", "expected=e"})
	if err != nil {
		f.Fatal(err)
	}
	maps = append(maps, m)
	f.Fuzz(func(t *testing.T, line string) {
		for _, m := range maps {
			rec, err := m.Record([]byte(line), "f", 1)
			var le *LineError
			if err != nil && !errors.As(err, &le) {
				t.Fatalf("error %T %v is not a *LineError", err, err)
			}
			if err == nil && (rec.Case == nil || rec.Case.ID == "") {
				t.Fatalf("record without a case id: %+v", rec)
			}
			if err == nil && json.Valid([]byte(line)) == false {
				t.Fatalf("accepted a line that is not JSON: %q", line)
			}
		}
	})
}
