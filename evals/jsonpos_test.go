package evals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// loc is a line and column, both 1-based.
type loc struct{ line, col int }

func (l loc) String() string { return fmt.Sprintf("%d:%d", l.line, l.col) }

func TestIndexJSON(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		values map[string]loc // every value's position, exactly
		keys   map[string]loc // every member key's position, exactly
	}{
		{
			name: "nested objects and arrays over lines",
			doc: "{\n" +
				`  "a": {"b": [1, {"c": true}]},` + "\n" +
				`  "é": "x", "d": null,` + "\n" +
				`  "a/b": [], "t~": {},` + "\n" +
				`  "": 0` + "\n" +
				"}\n",
			values: map[string]loc{
				"":         {1, 1},
				"/a":       {2, 8},
				"/a/b":     {2, 14},
				"/a/b/0":   {2, 15},
				"/a/b/1":   {2, 18},
				"/a/b/1/c": {2, 24},
				"/é":       {3, 8},
				"/d":       {3, 18},
				"/a~1b":    {4, 10},
				"/t~0":     {4, 20},
				"/":        {5, 7},
			},
			keys: map[string]loc{
				"/a":       {2, 3},
				"/a/b":     {2, 9},
				"/a/b/1/c": {2, 19},
				"/é":       {3, 3},
				"/d":       {3, 13},
				"/a~1b":    {4, 3},
				"/t~0":     {4, 14},
				"/":        {5, 3},
			},
		},
		{
			name: "compact array",
			doc:  `[{"x":[[]]},"s",-1.5e3,false]`,
			values: map[string]loc{
				"":       {1, 1},
				"/0":     {1, 2},
				"/0/x":   {1, 7},
				"/0/x/0": {1, 8},
				"/1":     {1, 13},
				"/2":     {1, 17},
				"/3":     {1, 24},
			},
			keys: map[string]loc{"/0/x": {1, 3}},
		},
		{
			name: "columns count characters, not bytes",
			doc:  `{"日本語": "🎉", "z": 1, "w": ["é", "ü", 2]}`,
			values: map[string]loc{
				"":     {1, 1},
				"/日本語": {1, 9},
				"/z":   {1, 19},
				"/w":   {1, 27},
				"/w/0": {1, 28},
				"/w/1": {1, 33},
				"/w/2": {1, 38},
			},
			keys: map[string]loc{"/日本語": {1, 2}, "/z": {1, 14}, "/w": {1, 22}},
		},
		{
			name: "tabs and CRLF",
			doc:  "{\r\n\t\"k\" :\r\n\t\t[ 1 ,\r\n 2 ]\r\n}",
			values: map[string]loc{
				"":     {1, 1},
				"/k":   {3, 3},
				"/k/0": {3, 5},
				"/k/1": {4, 2},
			},
			keys: map[string]loc{"/k": {2, 2}},
		},
		{
			name:   "scalar document after blank lines",
			doc:    "\n\n   42  \n",
			values: map[string]loc{"": {3, 4}},
			keys:   map[string]loc{},
		},
		{
			name:   "escaped key",
			doc:    `{"a\"b\u00e9": 1}`,
			values: map[string]loc{"": {1, 1}, `/a"bé`: {1, 16}},
			keys:   map[string]loc{`/a"bé`: {1, 2}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := parseJSON([]byte(tc.doc), false)
			if err != nil {
				t.Fatalf("parseJSON: %v", err)
			}
			values, keys := indexAll(t, []byte(tc.doc))
			if g, w := sortedKeys(values), sortedKeys(tc.values); !reflect.DeepEqual(g, w) {
				t.Errorf("value pointers = %q, want %q", g, w)
			}
			if g, w := sortedKeys(keys), sortedKeys(tc.keys); !reflect.DeepEqual(g, w) {
				t.Errorf("key pointers = %q, want %q", g, w)
			}
			for ptr, w := range tc.values {
				off, keyOff, ok := p.find(ptr)
				if !ok {
					t.Errorf("find(%q) found no value", ptr)
					continue
				}
				if c := tc.doc[off]; strings.IndexByte(`{["-0123456789tfn`, c) < 0 {
					t.Errorf("value %q starts with %q", ptr, c)
				}
				if line, col := p.lineCol(off); (loc{line, col}) != w {
					t.Errorf("value %q at %v, want %v", ptr, loc{line, col}, w)
				}
				wk, member := tc.keys[ptr]
				switch {
				case !member && keyOff != -1:
					t.Errorf("value %q has a key at %d, want none", ptr, keyOff)
				case member && keyOff < 0:
					t.Errorf("member %q has no key", ptr)
				case member:
					if c := tc.doc[keyOff]; c != '"' {
						t.Errorf("key %q starts with %q", ptr, c)
					}
					if line, col := p.lineCol(keyOff); (loc{line, col}) != wk {
						t.Errorf("key %q at %v, want %v", ptr, loc{line, col}, wk)
					}
				}
			}
		})
	}
}

// indexAll records where every value of a valid document starts, and where
// every member's key does, by pointer: the eager index that positions
// replaced, kept as the oracle it must agree with. A repeated key counts
// once, its last time, as when decoding.
func indexAll(t testing.TB, data []byte) (values, keys map[string]int) {
	t.Helper()
	values, keys = map[string]int{}, map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	skip := func(off int) int {
		for off < len(data) && strings.IndexByte(" \t\r\n:,", data[off]) >= 0 {
			off++
		}
		return off
	}
	var walk func(ptr string) error
	walk = func(ptr string) error {
		values[ptr] = skip(int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				at := skip(int(dec.InputOffset()))
				k, err := dec.Token()
				if err != nil {
					return err
				}
				child := ptr + "/" + escapePointer(k.(string))
				for p := range values {
					if strings.HasPrefix(p, child+"/") {
						delete(values, p)
						delete(keys, p)
					}
				}
				keys[child] = at
				if err := walk(child); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(ptr + "/" + strconv.Itoa(i)); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		}
		return err
	}
	if err := walk(""); err != nil {
		t.Fatalf("indexAll(%q): %v", data, err)
	}
	return values, keys
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestPositionsAt(t *testing.T) {
	doc := "{\n" +
		`  "criteria": [` + "\n" +
		`    {"name": "a", "pattern": "x"}` + "\n" +
		"  ]\n" +
		"}"
	p, _, err := parseJSON([]byte(doc), false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ptr  string
		key  bool
		want loc
	}{
		{"root", "", false, loc{1, 1}},
		{"root with key", "", true, loc{1, 1}},
		{"value", "/criteria/0/pattern", false, loc{3, 30}},
		{"key", "/criteria/0/pattern", true, loc{3, 19}},
		{"array element has no key", "/criteria/0", true, loc{3, 5}},
		{"member of an array", "/criteria", true, loc{2, 3}},
		{"missing member falls back to its object", "/criteria/0/schema_file", false, loc{3, 5}},
		{"missing member with key falls back to its object", "/criteria/0/schema_file", true, loc{3, 5}},
		{"missing element falls back to its array", "/criteria/3/name", false, loc{2, 15}},
		{"missing top-level member falls back to the root", "/targets/0", true, loc{1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line, col := p.at(tc.ptr, tc.key)
			if got := (loc{line, col}); got != tc.want {
				t.Errorf("at(%q, %v) = %v, want %v", tc.ptr, tc.key, got, tc.want)
			}
		})
	}
}

func TestLineCol(t *testing.T) {
	data := []byte("ab\nçd\n\nx")
	p := &positions{data: data}
	tests := []struct {
		off  int
		want loc
	}{
		{0, loc{1, 1}},
		{1, loc{1, 2}},
		{2, loc{1, 3}}, // the newline itself
		{3, loc{2, 1}},
		{5, loc{2, 2}}, // after the two bytes of ç
		{6, loc{2, 3}},
		{7, loc{3, 1}},
		{8, loc{4, 1}},
		{9, loc{4, 2}},   // end of data
		{100, loc{4, 2}}, // past the end: clamped
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.off), func(t *testing.T) {
			line, col := p.lineCol(tc.off)
			if got := (loc{line, col}); got != tc.want {
				t.Errorf("lineCol(%d) = %v, want %v", tc.off, got, tc.want)
			}
		})
	}
}

func TestDisplayPath(t *testing.T) {
	tests := []struct {
		ptr, want string
	}{
		{"", "$"},
		{"/name", "$.name"},
		{"/criteria/2/pattern", "$.criteria[2].pattern"},
		{"/targets/0/headers/X-Key", "$.targets[0].headers.X-Key"},
		{"/targets/my target", `$.targets["my target"]`},
		{"/a~1b", `$["a/b"]`},
		{"/t~0", `$["t~"]`},
		{"/~01", `$["~1"]`},
		{"/a.b", `$["a.b"]`},
		{"/$schema", `$["$schema"]`},
		{"/é", `$["é"]`},
		{`/say "hi"`, `$["say \"hi\""]`},
		{"/x/", `$.x[""]`},
		{"/a/-1", "$.a[-1]"},
		{"/under_score/0/1", "$.under_score[0][1]"},
	}
	for _, tc := range tests {
		t.Run(tc.ptr, func(t *testing.T) {
			if got := displayPath(tc.ptr); got != tc.want {
				t.Errorf("displayPath(%q) = %q, want %q", tc.ptr, got, tc.want)
			}
		})
	}
}

func TestEscapePointer(t *testing.T) {
	tests := []struct {
		name, key, escaped string
	}{
		{"plain", "abc", "abc"},
		{"empty", "", ""},
		{"slash", "a/b", "a~1b"},
		{"tilde", "a~b", "a~0b"},
		{"tilde one is not a slash", "~1", "~01"},
		{"tilde zero", "~0", "~00"},
		{"slash tilde", "/~", "~1~0"},
		{"only slashes", "//", "~1~1"},
		{"unicode", "é/日", "é~1日"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := escapePointer(tc.key)
			if got != tc.escaped {
				t.Errorf("escapePointer(%q) = %q, want %q", tc.key, got, tc.escaped)
			}
			if back := unescapePointer(got); back != tc.key {
				t.Errorf("unescapePointer(%q) = %q, want %q", got, back, tc.key)
			}
			if strings.Contains(got, "/") {
				t.Errorf("escaped %q contains a slash", got)
			}
		})
	}
}

func TestSyntaxProblem(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"trailing comma in object", `{"a": 1,}`, `f.json:1:9: invalid JSON: invalid character '}' looking for beginning of object key string`},
		{"missing colon", `{"a" 1}`, `f.json:1:6: invalid JSON: invalid character '1' after object key`},
		{"missing comma in array", `[1 2]`, `f.json:1:4: invalid JSON: invalid character '2' after array element`},
		{"key not a string", `{1: 2}`, `f.json:1:2: invalid JSON: invalid character '1' looking for beginning of object key string`},
		{"bad literal on a later line", "{\n  \"a\": tru\n}", `f.json:2:11: invalid JSON: invalid character '\n' in literal true (expecting 'e')`},
		{"bad literal deep inside", "{\"a\": [1, {\"b\": nul}]}", `f.json:1:20: invalid JSON: invalid character '}' in literal null (expecting 'l')`},
		{"NaN", `{"a": NaN}`, `f.json:1:7: invalid JSON: invalid character 'N' looking for beginning of value`},
		{"unicode before the error", `{"é": x}`, `f.json:1:7: invalid JSON: invalid character 'x' looking for beginning of value`},
		{"single quotes", "{\n\t'a': 1}", `f.json:2:2: invalid JSON: invalid character '\'' looking for beginning of object key string`},
		{"trailing garbage", `{"a":1} x`, `f.json:1:9: invalid JSON: invalid character 'x' after top-level value`},
		{"second document", "{}\n{}", `f.json:2:1: invalid JSON: invalid character '{' after top-level value`},
		{"extra closing brace", "{\"a\": 1}}\n", `f.json:1:9: invalid JSON: invalid character '}' after top-level value`},
		{"byte order mark (readSource drops it before)", "\ufeff{}", `f.json:1:1: invalid JSON: invalid character 'ï' looking for beginning of value`},
		{"truncated array", `{"a": [1, 2`, `f.json:1:12: invalid JSON: unexpected end of file`},
		{"truncated string", `{"a": "abc`, `f.json:1:11: invalid JSON: unexpected end of file`},
		{"truncated literal", `[tru`, `f.json:1:5: invalid JSON: unexpected end of file`},
		{"truncated number", "{\"a\": -", `f.json:1:8: invalid JSON: unexpected end of file`},
		{"literal cut by a space at the end", `[tru `, `f.json:1:5: invalid JSON: invalid character ' ' in literal true (expecting 'e')`},
		{"bad last character", `[1}`, `f.json:1:3: invalid JSON: invalid character '}' after array element`},
		{"truncated after a comma and a newline", "{\n  \"a\": 1,\n", `f.json:3:1: invalid JSON: unexpected end of file`},
		{"empty", "", `f.json:1:1: invalid JSON: unexpected end of file`},
		{"white space only", "  \n ", `f.json:2:2: invalid JSON: unexpected end of file`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.doc)
			_, _, err := parseJSON(data, false)
			if err == nil {
				t.Fatalf("parseJSON(%q) succeeded", tc.doc)
			}
			if got := syntaxProblem("f.json", data, err).String(); got != tc.want {
				t.Errorf("syntaxProblem(%q)\n got %s\nwant %s", tc.doc, got, tc.want)
			}
		})
	}
}

func TestSyntaxProblemOtherError(t *testing.T) {
	got := syntaxProblem("f.json", []byte("{}"), errors.New("disk on fire"))
	want := Problem{File: "f.json", Msg: "invalid JSON: disk on fire"}
	if got != want {
		t.Errorf("syntaxProblem = %#v, want %#v", got, want)
	}
	if s := got.String(); s != "f.json: invalid JSON: disk on fire" {
		t.Errorf("String() = %q", s)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, seed := range []string{
		``, ` `, `{}`, `[]`, `1`, `"s"`, `null`, `{"a":1}`, `{"a":[1,{"b":null}]}`,
		`{"a": 1,}`, `{"a" 1}`, `[1 2]`, `{"a":1} x`, "{}\n{}", `{"a": [1, 2`, `{"a": "abc`,
		`[tru`, `{1: 2}`, `{"é": x}`, "\ufeff{}", `{"a/b~": {"": []}}`, "{\r\n\t\"k\": 1\r\n}",
		`[-0.5e10, true, false]`, `01`, `"\u00e9\ud83c"`, `{"a":1}}`, "\"\xff\"",
		`{"a":{"x":1},"a":{"y":[2]}}`, `{"k\u0031":1,"k1":[2]}`, "{\"\xbf\":{}}",
	} {
		f.Add([]byte(seed), true)
	}
	f.Add([]byte(strings.Repeat("[", 130)), false)
	f.Add([]byte(`{"dataset": {"cases": [{"a": [1]}, 2]}, "x": "]"}`), true)
	f.Fuzz(func(t *testing.T, data []byte, suite bool) {
		if len(data) > 10000 {
			return // json.Valid limits nesting to 10000 levels; keep inputs below that
		}
		p, cases, err := parseJSON(data, suite)
		var oe *offsetError
		if errors.As(err, &oe) {
			if oe.off < 0 || oe.off >= len(data) {
				t.Fatalf("parseJSON(%q): %v at offset %d", data, oe, oe.off)
			}
			switch c := data[oe.off]; {
			case c >= utf8.RuneSelf: // the first byte that is not UTF-8
				if r, n := utf8.DecodeRune(data[oe.off:]); r != utf8.RuneError || n != 1 || !utf8.Valid(data[:oe.off]) {
					t.Fatalf("parseJSON(%q): %v at offset %d", data, oe, oe.off)
				}
			case c != '[' && c != '{': // below MaxValues values, only the nesting can be too deep
				t.Fatalf("parseJSON(%q): %v at offset %d", data, oe, oe.off)
			}
			return
		}
		if err == nil && !utf8.Valid(data) {
			t.Fatalf("parseJSON(%q) accepted bytes that are not UTF-8", data)
		}
		for _, r := range cases {
			if !suite || r[0] < 0 || r[1] > len(data) || data[r[0]] != '[' || data[r[1]-1] != ']' {
				t.Fatalf("parseJSON(%q): inline cases at %v", data, r)
			}
		}
		if valid := json.Valid(data); valid != (err == nil) {
			t.Fatalf("parseJSON(%q) error %v, but json.Valid = %v", data, err, valid)
		}
		if err != nil {
			prob := syntaxProblem("f.json", data, err)
			if prob.Line < 1 || prob.Col < 1 {
				t.Fatalf("syntaxProblem(%q) = %+v: no position", data, prob)
			}
			if !strings.HasPrefix(prob.Msg, "invalid JSON: ") || prob.Msg == "invalid JSON: " {
				t.Fatalf("syntaxProblem(%q) message %q", data, prob.Msg)
			}
			var se *json.SyntaxError
			if errors.As(err, &se) && (se.Offset < 0 || se.Offset > int64(len(data))) {
				t.Fatalf("syntax error offset %d outside the document of %d bytes", se.Offset, len(data))
			}
			return
		}
		values, keys := indexAll(t, data)
		for ptr, want := range values {
			off, keyOff, ok := p.find(ptr)
			if !ok || off != want {
				t.Fatalf("find(%q) in %q = %d (found %v), want %d", ptr, data, off, ok, want)
			}
			if wk, member := keys[ptr]; (member && keyOff != wk) || (!member && keyOff != -1) {
				t.Fatalf("find(%q) in %q: key at %d, want %d (member %v)", ptr, data, keyOff, wk, member)
			}
			line, col := p.at(ptr, false)
			if line < 1 || col < 1 {
				t.Fatalf("at(%q) = %d:%d", ptr, line, col)
			}
			displayPath(ptr)
			// A pointer below it that does not exist falls back to it.
			if off2, _, ok := p.find(ptr + "/no such member"); ok || off2 != off {
				t.Fatalf("find(%q) below %q = %d (found %v), want the fallback %d", ptr+"/no such member", ptr, off2, ok, off)
			}
		}
	})
}

// TestProblemAt locates a problem in a file by its JSON pointer, and by its
// path alone in a file that no longer reads as JSON.
func TestProblemAt(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "suite.json")
	bad := filepath.Join(dir, "broken.json")
	os.WriteFile(good, []byte("{\n  \"description\": \"d\",\n  \"name\": \"t\"\n}\n"), 0o644)
	os.WriteFile(bad, []byte("{\"name\": "), 0o644)
	for _, tc := range []struct {
		path string
		want Problem
	}{
		{good, Problem{File: good, Line: 3, Col: 11, Path: "$.name", Msg: "named t"}},
		{bad, Problem{File: bad, Path: "$.name", Msg: "named t"}},
		{filepath.Join(dir, "missing.json"), Problem{File: filepath.Join(dir, "missing.json"), Path: "$.name", Msg: "named t"}},
	} {
		if got := ProblemAt(tc.path, "/name", "named %s", "t"); got != tc.want {
			t.Errorf("ProblemAt(%s) = %+v, want %+v", filepath.Base(tc.path), got, tc.want)
		}
	}
}
