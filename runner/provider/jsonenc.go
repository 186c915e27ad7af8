package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// Request bodies are written by hand on the hot path: the messages are the
// only part that changes between requests, and appending them to a buffer
// costs a fraction of encoding/json's reflection. The output decodes to the
// same value encoding/json would produce (invalid UTF-8 becomes U+FFFD), but
// <, > and & are left as they are, so recorded bodies stay readable.

// appendMessages appends msgs as a JSON array of chat completion messages:
// {"role","content"} objects, but for the messages of a tool loop. An
// assistant message that calls tools adds its "tool_calls", each
// {"id","type":"function","function":{"name","arguments"}} with the
// arguments as the string the model wrote, and has a null content when it
// has no text; a tool message adds the "tool_call_id" of the call it
// answers. Message.Name and Message.Error are never sent: the content is
// what the model is told.
func appendMessages(b []byte, msgs []evals.Message) []byte {
	b = append(b, '[')
	for i := range msgs {
		m := &msgs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"role":`...)
		b = appendString(b, m.Role)
		b = append(b, `,"content":`...)
		if len(m.ToolCalls) > 0 {
			b = appendCalls(b, m)
			continue
		}
		b = appendString(b, m.Content)
		if m.ToolCallID != "" || m.Role == evals.RoleTool {
			b = append(b, `,"tool_call_id":`...)
			b = appendString(b, m.ToolCallID)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendCalls appends the rest of an assistant message that calls tools,
// from its content on.
func appendCalls(b []byte, m *evals.Message) []byte {
	if m.Content == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, m.Content)
	}
	b = append(b, `,"tool_calls":[`...)
	for i, tc := range m.ToolCalls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, tc.ID)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendString(b, tc.Name)
		b = append(b, `,"arguments":`...)
		b = appendString(b, tc.ArgumentsText())
		b = append(b, "}}"...)
	}
	return append(b, "]}"...)
}

// messagesSize estimates the encoded size of msgs, generously enough that
// ordinary text needs no second allocation.
func messagesSize(msgs []evals.Message) int {
	n := 2
	for i := range msgs {
		m := &msgs[i]
		n += len(`{"role":"","content":""},`) + len(m.Role) + len(m.Content) + len(m.Content)/16
		if m.ToolCallID != "" {
			n += len(`,"tool_call_id":""`) + len(m.ToolCallID)
		}
		for _, tc := range m.ToolCalls {
			n += len(`,"tool_calls":[{"id":"","type":"function","function":{"name":"","arguments":""}}]`) +
				len(tc.ID) + len(tc.Name) + len(tc.Arguments) + len(tc.Arguments)/4
		}
	}
	return n
}

// appendTools appends the tools offered, as OpenAI's "tools" member
// (,"tools":[…]), and choice, when set, as "tool_choice". Each tool is sent
// as {"type":"function","function":{…}} with the function's name,
// description, parameters and strict as they are set: never its mock. The
// parameters and choice are compacted JSON; they fail only when they are
// not JSON, which a loaded suite's never are.
func appendTools(b []byte, tools []evals.Tool, choice json.RawMessage) ([]byte, error) {
	b = append(b, `,"tools":[`...)
	for i := range tools {
		f := &tools[i].Function
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"function","function":{"name":`...)
		b = appendString(b, f.Name)
		if f.Description != "" {
			b = append(b, `,"description":`...)
			b = appendString(b, f.Description)
		}
		if len(f.Parameters) > 0 {
			b = append(b, `,"parameters":`...)
			var err error
			if b, err = appendCompact(b, f.Parameters); err != nil {
				return b, fmt.Errorf("tool %q: parameters: %w", f.Name, err)
			}
		}
		if f.Strict != nil {
			b = strconv.AppendBool(append(b, `,"strict":`...), *f.Strict)
		}
		b = append(b, "}}"...)
	}
	b = append(b, ']')
	if isSet(choice) {
		b = append(b, `,"tool_choice":`...)
		var err error
		if b, err = appendCompact(b, choice); err != nil {
			return b, fmt.Errorf("tool_choice: %w", err)
		}
	}
	return b, nil
}

// toolsSize estimates what appendTools appends.
func toolsSize(tools []evals.Tool, choice json.RawMessage) int {
	n := len(`,"tools":[]`) + len(`,"tool_choice":`) + len(choice)
	for i := range tools {
		f := &tools[i].Function
		n += len(`{"type":"function","function":{"name":"","description":"","parameters":,"strict":false}},`) +
			len(f.Name) + len(f.Description) + len(f.Description)/16 + len(f.Parameters)
	}
	return n
}

// appendCompact appends raw, a JSON value, without insignificant spaces.
func appendCompact(b []byte, raw json.RawMessage) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return b, err
	}
	return buf.Bytes(), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but end lines in JavaScript;
		// encoding/json escapes them, and so do we.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// marshalValue encodes v as compact JSON without HTML escaping.
func marshalValue(v any) ([]byte, error) {
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// appendMember appends ,"name":v to b, v encoded as JSON.
func appendMember(b []byte, name string, v any) ([]byte, error) {
	enc, err := marshalValue(v)
	if err != nil {
		return b, err
	}
	b = append(b, ',')
	b = appendString(b, name)
	b = append(b, ':')
	return append(b, enc...), nil
}

// paramsFields are the JSON names of the params fields.
var paramsFields = jsonFields(reflect.TypeFor[evals.Params]())

// appendExtraBody appends a target's extra_body to the tail of a request
// body, its keys in sorted order, each as ,"key":value. A key that the
// provider sets itself (reserved says why; "" for a key it does not set),
// or that names a params field, is an error instead.
func appendExtraBody(b []byte, extra map[string]any, reserved func(key string, v any) string) ([]byte, []error) {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(extra)) {
		field := "extra_body." + key
		if why := reserved(key, extra[key]); why != "" {
			errs = append(errs, evals.FieldErrorf(field, "%s", why))
			continue
		}
		if slices.Contains(paramsFields, key) {
			errs = append(errs, evals.FieldErrorf(field, "%q is a params field: set params.%s instead", key, key))
			continue
		}
		var err error
		if b, err = appendMember(b, key, extra[key]); err != nil {
			errs = append(errs, evals.FieldErrorf(field, "cannot encode as JSON: %v", err))
		}
	}
	return b, errs
}
