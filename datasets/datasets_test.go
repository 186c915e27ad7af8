package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// writeFile writes content to name in a fresh folder and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads r to the end. Each problem is kept as Problem.String() writes
// it, with the folder of dir taken out; a non-Problems error fails the test.
func readAll(t testing.TB, r Reader, dir string) (cases []*evals.Case, probs []string) {
	t.Helper()
	for range 10000 {
		c, err := r.Next()
		if err == io.EOF {
			return cases, probs
		}
		if err != nil {
			probs = append(probs, problemStrings(t, err, dir)...)
			continue
		}
		cases = append(cases, c)
	}
	t.Fatal("the reader never returned io.EOF")
	return nil, nil
}

func problemStrings(t testing.TB, err error, dir string) []string {
	t.Helper()
	var ps evals.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T %v is not evals.Problems", err, err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, strings.ReplaceAll(p.String(), dir+string(filepath.Separator), ""))
	}
	return out
}

// sourced returns cases with their Source set to file plus each suffix.
func sourced(file string, suffixes []string, cases ...*evals.Case) []*evals.Case {
	for i, c := range cases {
		c.Source = file + suffixes[i]
	}
	return cases
}

func TestJSONL(t *testing.T) {
	lines := []string{
		`{"id": "a", "vars": {"q": "hi", "n": 2}, "expected": "yes", "tags": ["t1", "t2"], "metadata": {"src": "web"}}`,
		`{"q": "flat", "n": 1.5, "ok": true, "none": null, "list": [1, "x"], "obj": {"k": "v"}, "expected": ["x", "y"]}`,
		``,
		`{"id": 7, "vars": {}, "expected": {"category": "billing"}}`,
		"   {\"id\": null, \"q\": \"spaces\"}  \t",
		`{"id": -3, "tags": []}`,
		`{"id": "é 1", "vars": {"q": "日本"}, "vars2": null}`,
	}
	want := func(file string) []*evals.Case {
		return sourced(file, []string{":1", ":2", ":4", ":5", ":6"},
			&evals.Case{ID: "a", Vars: map[string]any{"q": "hi", "n": 2.0}, Expected: "yes", Tags: []string{"t1", "t2"}, Metadata: map[string]any{"src": "web"}},
			&evals.Case{ID: "2", Vars: map[string]any{"q": "flat", "n": 1.5, "ok": true, "none": nil, "list": []any{1.0, "x"}, "obj": map[string]any{"k": "v"}}, Expected: []any{"x", "y"}},
			&evals.Case{ID: "7", Vars: map[string]any{}, Expected: map[string]any{"category": "billing"}},
			&evals.Case{ID: "4", Vars: map[string]any{"q": "spaces"}},
			&evals.Case{ID: "-3", Tags: []string{}},
		)
	}
	tests := []struct {
		name    string
		content string
		probs   []string
	}{
		{"LF", strings.Join(lines[:6], "\n") + "\n", nil},
		{"CRLF", strings.Join(lines[:6], "\r\n") + "\r\n", nil},
		{"no final newline", strings.Join(lines[:6], "\n"), nil},
		{"BOM", "\ufeff" + strings.Join(lines[:6], "\n") + "\n", nil},
		{"trailing blank lines", strings.Join(lines[:6], "\n") + "\n\n  \n\t\n", nil},
		{
			"vars with a stray field after the good lines", strings.Join(lines, "\n"),
			[]string{`f.jsonl:7:1: unknown field "vars2": with vars present, every variable goes in vars (case fields are id, vars, expected, tags, metadata, turns, tools, mocks)`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "f.jsonl", tc.content)
			r, err := OpenFile(path, evals.FormatJSONL)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, probs := readAll(t, r, filepath.Dir(path))
			if !reflect.DeepEqual(probs, tc.probs) {
				t.Errorf("problems = %q, want %q", probs, tc.probs)
			}
			assertCases(t, got, want(path))
		})
	}
}

func assertCases(t *testing.T, got, want []*evals.Case) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d cases, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("case %d =\n%#v\nwant\n%#v", i, *got[i], *want[i])
		}
	}
}

func TestJSONLProblems(t *testing.T) {
	const good = `{"q": "fine"}`
	tests := []struct {
		name string
		line string // written as line 2, after a good line
		want string
	}{
		{"malformed JSON", `{"q": tru}`, `f.jsonl:2:10: invalid JSON: invalid character '}' in literal true (expecting 'e')`},
		{"missing comma", `{"q": 1 "r": 2}`, `f.jsonl:2:9: invalid JSON: invalid character '"' after object key:value pair`},
		{"column after leading white space", "  \t{\"q\": tru}", `f.jsonl:2:13: invalid JSON: invalid character '}' in literal true (expecting 'e')`},
		{"column counted in characters", `{"q": "日本", x}`, `f.jsonl:2:13: invalid JSON: invalid character 'x' looking for beginning of object key string`},
		{"truncated line", `{"q": "abc`, `f.jsonl:2:10: invalid JSON: unexpected end of JSON input`},
		{"truncated after a wide character", `{"q": "日`, `f.jsonl:2:8: invalid JSON: unexpected end of JSON input`},
		{"not UTF-8", "{\"q\": \"caf\xe9\"}", `f.jsonl:2:11: invalid UTF-8 (byte 0xE9): the file must be encoded as UTF-8`},
		{"two objects on a line", `{"q": 1} {"q": 2}`, `f.jsonl:2:10: invalid JSON: invalid character '{' after top-level value`},
		{"array line", `[1, 2]`, `f.jsonl:2:1: expected a JSON object for the case`},
		{"string line", `"q"`, `f.jsonl:2:1: expected a JSON object for the case`},
		{"null line", `null`, `f.jsonl:2:1: expected a JSON object for the case`},
		{"number line", `42`, `f.jsonl:2:1: expected a JSON object for the case`},
		{"tags not an array", `{"tags": "a;b"}`, `f.jsonl:2:1: field "tags": expected an array of strings, got string`},
		{"tags of numbers", `{"tags": ["a", 1]}`, `f.jsonl:2:1: field "tags": expected an array of strings, got number`},
		{"vars not an object", `{"vars": ["q"]}`, `f.jsonl:2:1: field "vars": expected an object, got array`},
		{"metadata not an object", `{"metadata": "web"}`, `f.jsonl:2:1: field "metadata": expected an object, got string`},
		{"id boolean", `{"id": true}`, `f.jsonl:2:1: field "id": expected a string or an integer, got true`},
		{"id fraction", `{"id": 1.5}`, `f.jsonl:2:1: field "id": expected a string or an integer, got 1.5`},
		{"id exponent", `{"id": 1e3}`, `f.jsonl:2:1: field "id": expected a string or an integer, got 1e3`},
		{"id object", `{"id": {"n": 1}}`, `f.jsonl:2:1: field "id": expected a string or an integer, got {"n": 1}`},
		{"id empty string", `{"id": ""}`, `f.jsonl:2:1: field "id": expected a non-empty string or an integer`},
		{"vars plus a stray field", `{"vars": {"q": 1}, "q2": 2}`, `f.jsonl:2:1: unknown field "q2": with vars present, every variable goes in vars (case fields are id, vars, expected, tags, metadata, turns, tools, mocks)`},
		{"vars plus several stray fields: the first by name", `{"vars": {}, "zz": 1, "bb": 2, "mm": 3}`, `f.jsonl:2:1: unknown field "bb": with vars present, every variable goes in vars (case fields are id, vars, expected, tags, metadata, turns, tools, mocks)`},
		{"reserved output in vars", `{"vars": {"output": "x"}}`, `f.jsonl:2:1: variable "output" is reserved for the model's response: rename it`},
		{"reserved output as a flat field", `{"q": 1, "output": "x"}`, `f.jsonl:2:1: variable "output" is reserved for the model's response: rename it`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The bad line sits between good ones, after a blank line: reading
			// goes on after it, and line numbers count every line.
			path := writeFile(t, "f.jsonl", good+"\n"+tc.line+"\n\n"+good+"\n")
			r, err := OpenFile(path, evals.FormatJSONL)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cases, probs := readAll(t, r, filepath.Dir(path))
			if !reflect.DeepEqual(probs, []string{tc.want}) {
				t.Errorf("problems = %q\nwant        %q", probs, []string{tc.want})
			}
			if len(cases) != 2 || cases[0].ID != "1" || cases[1].ID != "3" || cases[1].Source != path+":4" {
				t.Errorf("cases around the bad line: %+v", cases)
			}
		})
	}
}

func TestDecodeCase(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		n    int
		want *evals.Case
		err  string
	}{
		{"position as id", `{}`, 12, &evals.Case{ID: "12"}, ""},
		{"null id is the position", `{"id": null}`, 3, &evals.Case{ID: "3"}, ""},
		{"string id", `{"id": "x-1"}`, 1, &evals.Case{ID: "x-1"}, ""},
		{"escaped string id", `{"id": "a\u00e9\"b"}`, 1, &evals.Case{ID: `aé"b`}, ""},
		{"leading zeros are invalid JSON", `{"id": 0042}`, 1, nil, `invalid character '0' after object key:value pair`},
		{"negative integer id", `{"id": -5}`, 1, &evals.Case{ID: "-5"}, ""},
		{"large integer id", `{"id": 9223372036854775807}`, 1, &evals.Case{ID: "9223372036854775807"}, ""},
		{"integer id too large for int64", `{"id": 9223372036854775808}`, 1, nil, `field "id": expected a string or an integer, got 9223372036854775808`},
		{"white space around the object", " \n\t{\"q\": 1}\r\n ", 1, &evals.Case{ID: "1", Vars: map[string]any{"q": 1.0}}, ""},
		{"only reserved fields", `{"id": "i", "expected": null, "tags": null, "metadata": null}`, 1, &evals.Case{ID: "i"}, ""},
		{"vars null means flat", `{"vars": null, "q": 1}`, 1, &evals.Case{ID: "1", Vars: map[string]any{"q": 1.0}}, ""},
		{"expected number", `{"expected": 4}`, 1, &evals.Case{ID: "1", Expected: 4.0}, ""},
		{"expected bool", `{"expected": false}`, 1, &evals.Case{ID: "1", Expected: false}, ""},
		{"nested vars", `{"vars": {"u": {"name": "a", "roles": ["x"]}}}`, 1, &evals.Case{ID: "1", Vars: map[string]any{"u": map[string]any{"name": "a", "roles": []any{"x"}}}}, ""},
		{"vars named id", `{"vars": {"tags": 2, "id": 1}}`, 1, nil, `variable "id" in vars is reserved: {{ id }} means the case's own id field; rename the variable`},
		{"vars named expected", `{"vars": {"expected": "x"}}`, 1, nil, `variable "expected" in vars is reserved: {{ expected }} means the case's own expected field; rename the variable`},
		{"vars named tags", `{"vars": {"tags": []}}`, 1, nil, `variable "tags" in vars is reserved: {{ tags }} means the case's own tags field; rename the variable`},
		{"vars named metadata", `{"vars": {"metadata": {}}}`, 1, nil, `variable "metadata" in vars is reserved: {{ metadata }} means the case's own metadata field; rename the variable`},
		{"vars named vars", `{"vars": {"vars": 1}}`, 1, &evals.Case{ID: "1", Vars: map[string]any{"vars": 1.0}}, ""},
		{"turns", `{"q": "hi", "turns": ["and {{ q }}?", "thanks"]}`, 1, &evals.Case{ID: "1", Vars: map[string]any{"q": "hi"}, Turns: []string{"and {{ q }}?", "thanks"}}, ""},
		{"turns beside vars", `{"vars": {"q": 1}, "turns": ["t"]}`, 1, &evals.Case{ID: "1", Vars: map[string]any{"q": 1.0}, Turns: []string{"t"}}, ""},
		{"turns not strings", `{"turns": [1]}`, 1, nil, `field "turns": expected an array of strings, the user's messages`},
		{"tools and mocks", `{"tools": [{"type": "function", "function": {"name": "f"}}], "mocks": {"f": {"result": {"ok": true}}}}`, 1,
			&evals.Case{ID: "1", Tools: []evals.Tool{{Type: "function", Function: evals.ToolFunction{Name: "f"}}}, Mocks: map[string]evals.ToolMock{"f": {Result: json.RawMessage(`{"ok": true}`)}}}, ""},
		{"tool misspelt", `{"tools": [{"type": "function", "function": {"name": "f", "params": {}}}]}`, 1, nil, `field "tools": json: unknown field "params" (expected an array of {"type": "function", "function": {"name", "description", "parameters"}, "mock"})`},
		{"tool without a name", `{"tools": [{"type": "function", "function": {}}]}`, 1, nil, `field "tools[0]": function.name: expected 1 to 64 letters, digits, _ or -, got ""`},
		{"mock with no answer", `{"mocks": {"f": {"rules": [{"result": 1}]}}}`, 1, nil, `field "mocks.f": rules.0.when: required: the arguments (a subset) the rule answers`},
		{"empty", ``, 1, nil, "expected a JSON object for the case"},
		{"blank", "  \n", 1, nil, "expected a JSON object for the case"},
		{"array", `[{}]`, 1, nil, "expected a JSON object for the case"},
		{"unclosed object", `{"q": 1`, 1, nil, "unexpected end of JSON input"},
		{"tags of objects", `{"tags": [{}]}`, 1, nil, `field "tags": expected an array of strings, got object`},
		{"expected any type but vars typed", `{"expected": [], "vars": 3}`, 1, nil, `field "vars": expected an object, got number`},
		{"id array", `{"id": [1]}`, 1, nil, `field "id": expected a string or an integer, got [1]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeCase([]byte(tc.raw), tc.n)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("DecodeCase(%q) = %+v, %v; want error %q", tc.raw, got, err, tc.err)
				}
				if got != nil {
					t.Errorf("DecodeCase returned a case with its error")
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeCase(%q): %v", tc.raw, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DecodeCase(%q) =\n%#v\nwant\n%#v", tc.raw, *got, *tc.want)
			}
		})
	}
}

func TestCSV(t *testing.T) {
	t.Run("special columns, quoting, BOM and CRLF", func(t *testing.T) {
		content := "\ufeffid,question, tags ,metadata.source,expected.category,expected.priority\r\n" +
			"c1,\"multi\r\nline\",a; b ;;c,web,billing,high\r\n" +
			",plain,,,x,y\r\n" +
			"\r\n" +
			"c3,\"with \"\"quotes\"\", and comma\",t,,,\r\n"
		path := writeFile(t, "f.csv", content)
		r, err := OpenFile(path, evals.FormatCSV)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, probs := readAll(t, r, filepath.Dir(path))
		if probs != nil {
			t.Errorf("problems: %q", probs)
		}
		assertCases(t, got, sourced(path, []string{":2", ":4", ":6"},
			&evals.Case{ID: "c1", Vars: map[string]any{"question": "multi\nline"}, Tags: []string{"a", "b", "c"},
				Metadata: map[string]any{"source": "web"}, Expected: map[string]any{"category": "billing", "priority": "high"}},
			&evals.Case{ID: "2", Vars: map[string]any{"question": "plain"},
				Metadata: map[string]any{"source": ""}, Expected: map[string]any{"category": "x", "priority": "y"}},
			&evals.Case{ID: "c3", Vars: map[string]any{"question": `with "quotes", and comma`}, Tags: []string{"t"},
				Metadata: map[string]any{"source": ""}, Expected: map[string]any{"category": "", "priority": ""}},
		))
	})
	t.Run("expected column, no id column", func(t *testing.T) {
		path := writeFile(t, "f.csv", "q,expected\nhello,yes\n\"a,b\",\n")
		r, err := OpenFile(path, evals.FormatCSV)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, probs := readAll(t, r, filepath.Dir(path))
		if probs != nil {
			t.Errorf("problems: %q", probs)
		}
		assertCases(t, got, sourced(path, []string{":2", ":3"},
			&evals.Case{ID: "1", Vars: map[string]any{"q": "hello"}, Expected: "yes"},
			&evals.Case{ID: "2", Vars: map[string]any{"q": "a,b"}, Expected: ""},
		))
	})
	t.Run("BOM before a quoted header", func(t *testing.T) {
		path := writeFile(t, "f.csv", "\ufeff\"id\",\"q\"\n1,x\n")
		r, err := OpenFile(path, evals.FormatCSV)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, probs := readAll(t, r, filepath.Dir(path))
		if probs != nil {
			t.Errorf("problems: %q", probs)
		}
		assertCases(t, got, sourced(path, []string{":2"}, &evals.Case{ID: "1", Vars: map[string]any{"q": "x"}}))
	})
	t.Run("header only", func(t *testing.T) {
		path := writeFile(t, "f.csv", "id,q\n")
		r, err := OpenFile(path, evals.FormatCSV)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if got, probs := readAll(t, r, filepath.Dir(path)); got != nil || probs != nil {
			t.Errorf("cases %v, problems %q; want none", got, probs)
		}
	})
}

func TestCSVProblems(t *testing.T) {
	tests := []struct {
		name    string
		content string
		open    string   // the problem OpenFile reports
		next    []string // the problems Next reports, reading to the end
		cases   int      // cases read around them
	}{
		{name: "empty file", content: "", open: "f.csv:1:1: empty CSV file: expected a header row naming the columns"},
		{name: "duplicate header", content: "a,b,a\n1,2,3\n", open: `f.csv:1:0: columns 1 and 3 are both named "a"`},
		{name: "duplicate header after trimming", content: "q, q\n", open: `f.csv:1:0: columns 1 and 2 are both named "q"`},
		{name: "empty header", content: "a,,b\n", open: "f.csv:1:0: column 2 has no name in the header row"},
		{name: "blank header", content: "a,  \n", open: "f.csv:1:0: column 2 has no name in the header row"},
		{name: "column named vars", content: "id,vars\n", open: `f.csv:1:0: column "vars": the name is reserved; rename the column`},
		{name: "column named output", content: "output\n", open: `f.csv:1:0: column "output": the name is reserved; rename the column`},
		{name: "expected and expected.KEY", content: "expected,expected.category\nx,y\n", open: "f.csv:1:0: columns expected and expected.category cannot both be used"},
		{name: "expected.KEY and expected", content: "expected.category,q,expected\nx,y,z\n", open: "f.csv:1:0: columns expected and expected.category cannot both be used"},
		{name: "bad quote in the header", content: "a,b\"c\n", open: "f.csv:1:4: bare \" in non-quoted-field"},
		{name: "wrong field count", content: "a,b\n1,2\n3\n4,5\n", next: []string{"f.csv:3:1: expected 2 fields (a, b), got 1"}, cases: 2},
		{name: "too many fields", content: "a,b\n1,2,3\n", next: []string{"f.csv:2:1: expected 2 fields (a, b), got 3"}},
		{name: "bare quote", content: "a,b\n1,x\"y\n", next: []string{"f.csv:2:4: bare \" in non-quoted-field"}},
		// csv reports where the input ran out, not where the quote opened.
		{name: "unterminated quote", content: "a,b\n1,\"xy\n2,3\n", next: []string{"f.csv:3:5: extraneous or missing \" in quoted-field"}},
		{
			name:    "error on a line after a quoted newline",
			content: "a,b\n\"1\n2\",x\n3,\"y\"z\n",
			next:    []string{"f.csv:4:5: extraneous or missing \" in quoted-field"},
			cases:   1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "f.csv", tc.content)
			dir := filepath.Dir(path)
			r, err := OpenFile(path, evals.FormatCSV)
			if tc.open != "" {
				if err == nil {
					r.Close()
					t.Fatalf("OpenFile succeeded, want %q", tc.open)
				}
				if got := problemStrings(t, err, dir); !reflect.DeepEqual(got, []string{tc.open}) {
					t.Errorf("OpenFile problems = %q\nwant                %q", got, []string{tc.open})
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cases, probs := readAll(t, r, dir)
			if !reflect.DeepEqual(probs, tc.next) {
				t.Errorf("problems = %q\nwant       %q", probs, tc.next)
			}
			if len(cases) != tc.cases {
				t.Errorf("%d cases, want %d", len(cases), tc.cases)
			}
		})
	}
}

func TestJSONArray(t *testing.T) {
	content := "\n [\n" +
		`  {"id": "a", "q": 1, "tags": ["x"]},` + "\n" +
		`  {"vars": {"q": 2}, "expected": {"k": "v"}},` + "\n" +
		`  {}` + "\n" +
		"]\n"
	for _, bom := range []string{"", "\ufeff"} {
		t.Run(fmt.Sprintf("byte order mark %q", bom), func(t *testing.T) {
			path := writeFile(t, "f.json", bom+content)
			r, err := OpenFile(path, evals.FormatJSON)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, probs := readAll(t, r, filepath.Dir(path))
			if probs != nil {
				t.Errorf("problems: %q", probs)
			}
			assertCases(t, got, sourced(path, []string{": $[0]", ": $[1]", ": $[2]"},
				&evals.Case{ID: "a", Vars: map[string]any{"q": 1.0}, Tags: []string{"x"}},
				&evals.Case{ID: "2", Vars: map[string]any{"q": 2.0}, Expected: map[string]any{"k": "v"}},
				&evals.Case{ID: "3"},
			))
			// Past the end it stays at the end.
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF", err)
			}
		})
	}
}

func TestJSONArrayProblems(t *testing.T) {
	tests := []struct {
		name    string
		content string
		open    string
		next    []string
		cases   int
	}{
		{name: "empty file", content: "", open: "f.json:1:1: $: invalid JSON: EOF"},
		{name: "not JSON", content: "cases", open: "f.json:1:1: $: invalid JSON: invalid character 'c' looking for beginning of value"},
		{name: "an object", content: `{"cases": []}`, open: "f.json:1:1: $: expected a JSON array of cases"},
		{name: "a string", content: `"x"`, open: "f.json:1:1: $: expected a JSON array of cases"},
		{name: "empty array", content: "[]"},
		// The decoder's offset is where the element's decoding began, not
		// where the error is (byte 17).
		{name: "broken element", content: `[{"q": 1}, {"q": }]`, next: []string{"f.json: $[1]: invalid JSON at byte 10: invalid character '}' looking for beginning of value"}, cases: 1},
		{name: "broken element after a byte order mark", content: "\ufeff" + `[{"q": 1}, {"q": }]`, next: []string{"f.json: $[1]: invalid JSON at byte 13: invalid character '}' looking for beginning of value"}, cases: 1},
		{name: "a byte order mark alone", content: "\ufeff", open: "f.json:1:1: $: invalid JSON: EOF"},
		{name: "trailing comma", content: `[{"q": 1},]`, next: []string{"f.json: $[1]: invalid JSON at byte 10: invalid character ']' looking for beginning of value"}, cases: 1},
		{name: "truncated", content: `[{"q": 1}`, next: []string{"f.json: $: invalid JSON at byte 9: EOF"}, cases: 1},
		{name: "truncated element", content: `[{"q": 1}, {"q"`, next: []string{"f.json: $[1]: invalid JSON at byte 10: unexpected EOF"}, cases: 1},
		{name: "element not an object", content: `[1, {"q": 2}]`, next: []string{"f.json: $[0]: expected a JSON object for the case"}, cases: 1},
		{name: "element with bad tags", content: `[{"tags": "a"}]`, next: []string{`f.json: $[0]: field "tags": expected an array of strings, got string`}},
		{name: "element with output", content: `[{"output": 1}]`, next: []string{`f.json: $[0]: variable "output" is reserved for the model's response: rename it`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "f.json", tc.content)
			dir := filepath.Dir(path)
			r, err := OpenFile(path, evals.FormatJSON)
			if tc.open != "" {
				if err == nil {
					r.Close()
					t.Fatalf("OpenFile succeeded, want %q", tc.open)
				}
				if got := problemStrings(t, err, dir); !reflect.DeepEqual(got, []string{tc.open}) {
					t.Errorf("OpenFile problems = %q\nwant                %q", got, []string{tc.open})
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cases, probs := readAll(t, r, dir)
			if !reflect.DeepEqual(probs, tc.next) {
				t.Errorf("problems = %q\nwant       %q", probs, tc.next)
			}
			if len(cases) != tc.cases {
				t.Errorf("%d cases, want %d", len(cases), tc.cases)
			}
		})
	}
}

func TestInline(t *testing.T) {
	raw := []json.RawMessage{
		json.RawMessage(`{"q": "a"}`),
		json.RawMessage(`{"id": "x", "vars": {"q": "b"}, "expected": "e"}`),
		json.RawMessage(`"not a case"`),
		json.RawMessage(`{"vars": {"output": 1}}`),
		json.RawMessage(`{"id": 5}`),
	}
	s := &evals.Suite{Path: "/suites/s.json", Dir: "/suites", Dataset: evals.DatasetSpec{Cases: raw}}
	r, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, probs := readAll(t, r, "/suites")
	want := []string{
		`s.json: $.dataset.cases[2]: expected a JSON object for the case`,
		`s.json: $.dataset.cases[3]: variable "output" is reserved for the model's response: rename it`,
	}
	if !reflect.DeepEqual(probs, want) {
		t.Errorf("problems = %q\nwant       %q", probs, want)
	}
	assertCases(t, got, sourced("/suites/s.json", []string{": $.dataset.cases[0]", ": $.dataset.cases[1]", ": $.dataset.cases[4]"},
		&evals.Case{ID: "1", Vars: map[string]any{"q": "a"}},
		&evals.Case{ID: "x", Vars: map[string]any{"q": "b"}, Expected: "e"},
		&evals.Case{ID: "5"},
	))
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"d.jsonl": `{"q": 1}` + "\n", "d.ndjson": `{"q": 1}` + "\n", "d.csv": "q\n1\n", "d.json": `[{"q": 1}]`,
		"d.txt": `{"q": 1}` + "\n", "D.JSONL": `{"q": 1}` + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		dataset evals.DatasetSpec
		want    any    // the value of the one case's variable q
		err     string // the problem instead, dir taken out
	}{
		{name: "jsonl", dataset: evals.DatasetSpec{Path: "d.jsonl"}, want: 1.0},
		{name: "ndjson", dataset: evals.DatasetSpec{Path: "d.ndjson"}, want: 1.0},
		{name: "upper-case extension", dataset: evals.DatasetSpec{Path: "D.JSONL"}, want: 1.0},
		{name: "csv", dataset: evals.DatasetSpec{Path: "d.csv"}, want: "1"},
		{name: "json", dataset: evals.DatasetSpec{Path: "d.json"}, want: 1.0},
		{name: "format wins over the extension", dataset: evals.DatasetSpec{Path: "d.txt", Format: evals.FormatJSONL}, want: 1.0},
		{name: "absolute path", dataset: evals.DatasetSpec{Path: filepath.Join(dir, "d.jsonl")}, want: 1.0},
		{name: "inline", dataset: evals.DatasetSpec{Cases: []json.RawMessage{json.RawMessage(`{"q": 1}`)}}, want: 1.0},
		{name: "unknown extension", dataset: evals.DatasetSpec{Path: "d.txt"},
			err: "d.txt: cannot tell the dataset format from the extension: expected .jsonl, .ndjson, .csv or .json"},
		{name: "unknown format", dataset: evals.DatasetSpec{Path: "d.jsonl", Format: "yaml"},
			err: `d.jsonl: unknown dataset format "yaml": expected jsonl, csv or json`},
		{name: "missing file", dataset: evals.DatasetSpec{Path: "nope.jsonl"},
			err: "nope.jsonl: open nope.jsonl: no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &evals.Suite{Path: filepath.Join(dir, "suite.json"), Dir: dir, Dataset: tc.dataset}
			r, err := Open(s)
			if tc.err != "" {
				if err == nil {
					r.Close()
					t.Fatalf("Open succeeded, want %q", tc.err)
				}
				if got := problemStrings(t, err, dir); !reflect.DeepEqual(got, []string{tc.err}) {
					t.Errorf("Open problems = %q, want %q", got, []string{tc.err})
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cases, probs := readAll(t, r, dir)
			if probs != nil || len(cases) != 1 || cases[0].Vars["q"] != tc.want {
				t.Errorf("cases %+v, problems %q; want one case with q = %v", cases, probs, tc.want)
			}
		})
	}
}
