package evals

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"
)

// zeros returns n zeros separated by commas.
func zeros(n int) string { return strings.TrimSuffix(strings.Repeat("0,", n), ",") }

// casesDoc returns a suite document whose inline cases are cases.
func casesDoc(cases ...string) string {
	return `{"dataset": {"cases": [` + strings.Join(cases, ",") + `]}}`
}

func TestParseLimits(t *testing.T) {
	// A case of n values: an array of n-1 zeros.
	caseOf := func(n int) string { return "[" + zeros(n-1) + "]" }
	tests := []struct {
		name  string
		doc   string
		suite bool
		want  string // the problem, or "" when the document is within the limits
	}{
		{name: "nesting at the limit", doc: strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)},
		{
			name: "nesting past the limit",
			doc:  strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
			want: "f.json:1:129: arrays and objects nest more than 128 levels deep, the limit for a suite or config file",
		},
		{
			name: "objects nest too",
			doc:  "{\n" + strings.Repeat(`"a": {`, MaxDepth) + strings.Repeat("}", MaxDepth+1),
			want: "f.json:2:768: arrays and objects nest more than 128 levels deep, the limit for a suite or config file",
		},
		{name: "brackets in strings do not nest", doc: `["` + strings.Repeat("[{", 200) + `"]`},
		{name: "brackets after an escaped quote do not nest", doc: `["\"` + strings.Repeat("[", 200) + `", "\\"]`},
		{
			name: "a syntax error before the limit is the problem",
			doc:  "[1 2, " + strings.Repeat("[", 200),
			want: "f.json:1:4: invalid JSON: invalid character '2' after array element",
		},
		{
			name: "brackets in a string left open do not nest",
			doc:  `["abc` + strings.Repeat("[", 200),
			want: "f.json:1:206: invalid JSON: unexpected end of file",
		},
		{
			name: "the limit before a syntax error",
			doc:  strings.Repeat("[", 200) + "x",
			want: "f.json:1:129: arrays and objects nest more than 128 levels deep, the limit for a suite or config file",
		},
		{name: "values at the limit", doc: "[" + zeros(MaxValues-1) + "]"},
		{
			name: "values past the limit",
			doc:  "[" + zeros(MaxValues) + "]",
			want: fmt.Sprintf("f.json:1:%d: more than 50000 JSON values, the limit for a config file: keep bulk data in a dataset file", 2*MaxValues),
		},
		{
			name: "keys are not values",
			doc:  "{" + strings.TrimSuffix(strings.Repeat(`"k": 0,`, MaxValues-1), ",") + "}",
		},
		{
			name:  "inline cases count one by one",
			doc:   casesDoc(caseOf(MaxValues), caseOf(MaxValues), "{}"),
			suite: true,
		},
		{
			name: "inline cases of a config count as any values",
			doc:  casesDoc(caseOf(MaxValues/2), caseOf(MaxValues/2)),
			// The value past the limit is a zero of the second case.
			want: fmt.Sprintf("f.json:1:%d: more than 50000 JSON values, the limit for a config file: keep bulk data in a dataset file", 2*MaxValues+17),
		},
		{
			name:  "a case past the limit",
			doc:   casesDoc("{}", caseOf(MaxValues+1)),
			suite: true,
			want:  fmt.Sprintf("f.json:1:%d: $.dataset.cases[1]: the case holds more than 50000 JSON values, the limit for an inline case: keep big cases in a dataset file (dataset.path)", 26+2*MaxValues),
		},
		{
			name:  "values outside the cases past the limit",
			doc:   `{"dataset": {"cases": [{}]}, "x": [` + zeros(MaxValues) + "]}",
			suite: true,
			want:  fmt.Sprintf("f.json:1:%d: more than 50000 JSON values, the limit for a suite outside its inline cases (dataset.cases): keep bulk data in a dataset file", 36+2*(MaxValues-4)),
		},
		{
			name:  "an array named cases elsewhere is not the inline cases",
			doc:   `{"x": {"cases": [` + zeros(MaxValues) + "]}}",
			suite: true,
			want:  fmt.Sprintf("f.json:1:%d: more than 50000 JSON values, the limit for a suite outside its inline cases (dataset.cases): keep bulk data in a dataset file", 17+2*(MaxValues-3)+1),
		},
		{
			name:  "escaped keys name the inline cases too",
			doc:   `{"d\u0061taset": {"c\u0061ses": [` + caseOf(MaxValues) + "," + caseOf(MaxValues) + "]}}",
			suite: true,
		},
		{
			name:  "cases at the limit",
			doc:   casesDoc(slices.Repeat([]string{"{}"}, MaxCases)...),
			suite: true,
		},
		{
			name:  "cases past the limit",
			doc:   casesDoc(strings.Repeat("0,", MaxCases) + "0"),
			suite: true,
			want:  fmt.Sprintf("f.json:1:%d: $.dataset.cases[100000]: more than 100000 inline cases, the limit for a suite: keep the cases in a dataset file (dataset.path)", 24+2*MaxCases),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.doc)
			_, _, err := parseJSON(data, tc.suite)
			got := ""
			if err != nil {
				got = syntaxProblem("f.json", data, err).String()
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestReadSourceTooBig(t *testing.T) {
	// The limit's own size takes seconds to parse; the message names it.
	maxFileSize = 1 << 20
	t.Cleanup(func() { maxFileSize = MaxFileSize })
	dir := t.TempDir()
	// A file of exactly size bytes: one string, on one line after the first.
	write := func(name string, size int, prefix string) string {
		t.Helper()
		doc := bytes.Repeat([]byte("a"), size)
		copy(doc, "{\n"+prefix+`"s": "`)
		copy(doc[size-2:], `"}`)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, prefix string
		size         int
		want         string // the problem, or "" when the file is read
	}{
		{name: "at the limit", size: 1 << 20},
		{
			name: "past the limit",
			size: 1<<20 + 1,
			want: fmt.Sprintf("%s:2:%d: the file is larger than 64 MiB, the limit for a suite or config file: keep the cases in a dataset file (dataset.path)", "past.json", 1<<20-1),
		},
		{
			name: "far past the limit",
			size: 3 << 20,
			want: fmt.Sprintf("%s:2:%d: the file is larger than 64 MiB, the limit for a suite or config file: keep the cases in a dataset file (dataset.path)", "far.json", 1<<20-1),
		},
		{
			name:   "a syntax error before the limit",
			prefix: `"a": tru, `,
			size:   1<<20 + 1000,
			want:   "syntax.json:2:9: invalid JSON: invalid character ',' in literal true (expecting 'e')",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.Fields(tc.name)[0] + ".json"
			if tc.prefix != "" {
				name = "syntax.json"
			}
			p := write(name, tc.size, tc.prefix)
			src, probs := readSource(p, true)
			got := ""
			if len(probs) > 0 {
				got = strings.TrimPrefix(Problems(probs).Error(), dir+string(filepath.Separator))
			} else if len(src.data) != tc.size {
				t.Errorf("read %d bytes, want %d", len(src.data), tc.size)
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestValidateSuiteInPieces checks that validating a suite's inline cases
// apart from the rest, a few at a time, finds what validating the whole
// document finds, at the same places.
func TestValidateSuiteInPieces(t *testing.T) {
	head := `{"name": "t", "messages": [{"role": "user", "content": "{{ q }}"}], "criteria": [{"name": "c", "type": "equals"}],` + "\n"
	// many returns n cases, one a line, with bad ones at the given indexes.
	many := func(n int, bad ...int) string {
		cases := make([]string, n)
		for i := range cases {
			cases[i] = fmt.Sprintf(`{"id": "c%d", "q": "question %d %s", "tags": ["a"]}`, i, i, strings.Repeat("x", 150))
		}
		for _, i := range bad {
			cases[i] = fmt.Sprintf(`{"id": true, "q": "bad %d", "tags": "a", "vars": 1}`, i)
		}
		return strings.Join(cases, ",\n")
	}
	big := `{"q": "` + strings.Repeat("y", caseChunk+100) + `", "metadata": []}`
	tests := []struct {
		name string
		doc  string
	}{
		{"valid cases", head + `"dataset": {"cases": [{"q": "a"}, {"id": 2, "q": "b", "expected": {"x": [1]}}]}}`},
		{"bad cases", head + `"dataset": {"cases": [0, {"id": 1.5}, {"tags": [1, "a", null]}, {"vars": "v", "metadata": 3}, [], {"id": "ok"}]}}`},
		{"no cases", head + `"dataset": {"cases": []}}`},
		{"cases over several chunks", head + `"dataset": {"cases": [` + "\n" + many(5000, 0, 1234, 2500, 4999) + "\n]}}"},
		{"a case bigger than a chunk", head + `"dataset": {"cases": [` + many(3, 1) + ",\n" + big + ",\n" + many(2, 0) + "]}}"},
		{"problems around the cases", `{"nam": "t", "messages": 1, "dataset": {"cases": [{"tags": 0}], "format": "xml"}, "repeat": 0}`},
		{"an overridden dataset", head + `"dataset": {"cases": [0, 1]}, "dataset": {"cases": [{"tags": 1}, 2]}}`},
		{"an overridden cases", head + `"dataset": {"cases": [{"tags": 1}], "cases": [{"vars": []}]}}`},
		{"cases overridden by a path", head + `"dataset": {"cases": [0]}, "dataset": {"path": "x.jsonl"}}`},
		{"cases that are not an array", head + `"dataset": {"cases": {"a": 1}}}`},
		{"a dataset that is not an object", head + `"dataset": [{"cases": [0]}]}`},
	}
	sc, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.doc)
			pos, cases, err := parseJSON(data, true)
			if err != nil {
				t.Fatalf("parseJSON: %v", err)
			}
			src := &source{file: "f.json", data: data, pos: pos, cases: cases}
			whole, _ := validate(sc.suite, "suite", "f.json", gojsonschema.NewBytesLoader(data), pos, nil, -1)
			doc, elems := src.splitCases()
			pieces := validateSuite(sc, src, doc, elems)
			g, w := problemStrings(pieces), problemStrings(whole)
			sort.Strings(g)
			sort.Strings(w)
			if strings.Join(g, "\n") != strings.Join(w, "\n") {
				t.Errorf("in pieces:\n%s\nwhole:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
		})
	}
}

// TestLoadCaseProblemsCapped checks that the schema stops checking the inline
// cases after maxCaseProblems problems, and says so.
func TestLoadCaseProblemsCapped(t *testing.T) {
	cases := make([]string, 30)
	for i := range cases {
		cases[i] = fmt.Sprintf(`{"q": "%d", "tags": "t"}`, i)
	}
	suite := `{"name": "t", "messages": [{"role": "user", "content": "{{ q }}"}], "criteria": [{"name": "c", "type": "equals"}],
"dataset": {"cases": [
` + strings.Join(cases, ",\n") + "\n]}}"
	_, dir, err := loadIn(t, map[string]string{"suite.json": suite}, LoadOptions{})
	got := problemLines(t, err, dir)
	want := []string{"suite.json:2:22: $.dataset.cases: the inline cases have more than 20 problems: the first 20 follow, the rest are not listed"}
	for i := range maxCaseProblems {
		want = append(want, fmt.Sprintf("suite.json:%d:%d: $.dataset.cases[%d].tags: expected array, got string", i+3, 19+len(fmt.Sprint(i)), i))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLoadInlineCasesAsWritten checks that a suite's inline cases are their
// text in the file, which nothing can write through.
func TestLoadInlineCasesAsWritten(t *testing.T) {
	cases := []string{`{"q": "a"}`, "{\n  \"q\": \"b\", \"expected\": [1, {\"x\": \"]\"}]\n}", `{"id": 3, "q": "c\"}"}`}
	suite := `{"name": "t", "messages": [{"role": "user", "content": "{{ q }}"}], "criteria": [{"name": "c", "type": "equals"}],
"dataset": {"cases": [ ` + strings.Join(cases, " ,\n ") + " ]}}"
	s, _, err := loadIn(t, map[string]string{"suite.json": suite}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Dataset.Cases) != len(cases) {
		t.Fatalf("%d cases, want %d", len(s.Dataset.Cases), len(cases))
	}
	for i, c := range s.Dataset.Cases {
		if !bytes.Equal(c, []byte(cases[i])) {
			t.Errorf("case %d = %s, want %s", i, c, cases[i])
		}
		if cap(c) != len(c) {
			t.Errorf("case %d: capacity %d beyond its %d bytes: an append would write over the file", i, cap(c), len(c))
		}
	}
}

func TestParseInvalidUTF8(t *testing.T) {
	const msg = "invalid UTF-8 (byte 0x%02X): the file must be encoded as UTF-8"
	tests := []struct {
		name, doc, want string
	}{
		{"in a string", "{\"name\": \"caf\xe9\"}", "f.json:1:14: " + fmt.Sprintf(msg, 0xE9)},
		{"after characters on a later line", "{\n  \"é\": \"日本\xff\"}", "f.json:2:11: " + fmt.Sprintf(msg, 0xFF)},
		{"in a key", "{\"k\xc3\": 1}", "f.json:1:4: " + fmt.Sprintf(msg, 0xC3)},
		{"a character cut short", "[\"\xe6\x97\"]", "f.json:1:3: " + fmt.Sprintf(msg, 0xE6)},
		{"an encoded surrogate", "[\"\xed\xa0\x80\"]", "f.json:1:3: " + fmt.Sprintf(msg, 0xED)},
		{"an overlong encoding", "[\"\xc0\xaf\"]", "f.json:1:3: " + fmt.Sprintf(msg, 0xC0)},
		{"outside a string", "[1, \xff]", "f.json:1:5: " + fmt.Sprintf(msg, 0xFF)},
		{"after an escaped quote", "[\"\\\"\xff\"]", "f.json:1:5: " + fmt.Sprintf(msg, 0xFF)},
		{"a syntax error before it", "[1 2, \"\xff\"]", "f.json:1:4: invalid JSON: invalid character '2' after array element"},
		{"valid characters and escapes", "[\"é日本🎉\ufffd\", \"\\u00e9\\ud83c\\udf89\"]", ""},
		{"valid characters outside a string", "[1, é]", "f.json:1:5: invalid JSON: invalid character 'Ã' looking for beginning of value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.doc)
			_, _, err := parseJSON(data, true)
			got := ""
			if err != nil {
				got = syntaxProblem("f.json", data, err).String()
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
