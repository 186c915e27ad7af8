package datasets

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// suiteOver returns a suite in dir whose dataset is the file name (or the
// inline cases) and whose messages are the templates.
func suiteOver(dir, name string, cases []json.RawMessage, templates ...string) *evals.Suite {
	s := &evals.Suite{Path: filepath.Join(dir, "suite.json"), Dir: dir, Dataset: evals.DatasetSpec{Path: name, Cases: cases}}
	for _, src := range templates {
		s.Messages = append(s.Messages, evals.Message{Role: "user", Content: src})
		s.Templates = append(s.Templates, evals.MustParseTemplate(src))
	}
	return s
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func repeat(n int, line string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.ReplaceAll(line, "%d", fmt.Sprint(i))
	}
	return out
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		file      string // the dataset's file name
		content   string
		inline    []json.RawMessage
		templates []string
		n         int
		want      []string
	}{
		{
			name:      "counts good cases",
			file:      "f.jsonl",
			content:   lines(`{"q": 1}`, ``, `{"q": 2}`, `{"id": "x", "vars": {"q": 3}}`),
			templates: []string{"{{ q }}"},
			n:         3,
		},
		{
			name: "empty file",
			file: "f.jsonl",
			n:    0,
		},
		{
			name:      "bad lines are reported and not counted",
			file:      "f.jsonl",
			content:   lines(`{"q": 1}`, `{"q": }`, `[]`, `{"q": 2}`),
			templates: []string{"{{ q }}"},
			n:         2,
			want: []string{
				`f.jsonl:2:7: invalid JSON: invalid character '}' looking for beginning of value`,
				`f.jsonl:3:1: expected a JSON object for the case`,
			},
		},
		{
			name: "duplicate ids with both places",
			file: "f.jsonl",
			content: lines(
				`{"id": "a", "q": 1}`,
				`{"id": "b", "q": 1}`,
				`{"id": "a", "q": 1}`,
				`{"q": 1}`,
				`{"id": 4, "q": 1}`,
				`{"id": "a", "q": 1}`,
			),
			templates: []string{"{{ q }}"},
			n:         6,
			want: []string{
				`f.jsonl:3:1: duplicate case id "a" (first at f.jsonl:1)`,
				`f.jsonl:5:1: duplicate case id "4" (first at f.jsonl:4)`,
				`f.jsonl:6:1: duplicate case id "a" (first at f.jsonl:1)`,
			},
		},
		{
			name:      "duplicate ids far apart",
			file:      "f.jsonl",
			content:   lines(append(repeat(30000, `{"id": "c%d", "q": 1}`), `{"id": "c12345", "q": 2}`)...),
			templates: []string{"{{ q }}"},
			n:         30001,
			want:      []string{`f.jsonl:30001:1: duplicate case id "c12345" (first at f.jsonl:12346)`},
		},
		{
			name:      "missing template variable lists the case's variables",
			file:      "f.jsonl",
			content:   lines(`{"q": 1, "n": 2, "ctx": "c"}`, `{"q": 1, "n": 2}`, `{"id": "x"}`),
			templates: []string{"You are terse.", "Q: {{ q }} ctx: {{ ctx }}"},
			n:         3,
			want: []string{
				`f.jsonl:2:1: case "2": messages[1] uses {{ctx}}, which the case does not define (it has: n, q)`,
				`f.jsonl:3:1: case "x": messages[1] uses {{q}}, which the case does not define (it has: no variables)`,
			},
		},
		{
			name: "nested missing path",
			file: "f.jsonl",
			content: lines(
				`{"q": 1, "expected": {"category": "billing"}}`,
				`{"q": 1}`,
				`{"q": 1, "expected": {"priority": "high"}}`,
				`{"q": 1, "expected": "billing"}`,
			),
			templates: []string{"{{ q }} {{ expected.category }}"},
			n:         4,
			want: []string{
				`f.jsonl:2:1: case "2": messages[0] uses {{expected}}, which the case does not define (it has: q)`,
				`f.jsonl:3:1: case "3": messages[0] uses {{expected.category}}, which the case does not define (it has: q)`,
				`f.jsonl:4:1: case "4": messages[0] uses {{expected.category}}, which the case does not define (it has: q)`,
			},
		},
		{
			name:      "reserved names resolve",
			file:      "f.jsonl",
			content:   lines(`{"id": "a", "q": 1, "tags": ["t"], "metadata": {"m": 1}, "expected": "e"}`),
			templates: []string{"{{ id }} {{ tags.0 }} {{ metadata.m }} {{ expected }} {{ q }}"},
			n:         1,
		},
		{
			name:      "output is not defined while checking",
			file:      "f.jsonl",
			content:   lines(`{"q": 1}`),
			templates: []string{"{{ output }}"},
			n:         1,
			want:      []string{`f.jsonl:1:1: case "1": messages[0] uses {{output}}, which the case does not define (it has: q)`},
		},
		{
			name:    "MaxProblems caps the list",
			file:    "f.jsonl",
			content: lines(repeat(25, `[%d]`)...),
			n:       0,
			want: append(func() []string {
				var out []string
				for i := 1; i <= MaxProblems; i++ {
					out = append(out, fmt.Sprintf("f.jsonl:%d:1: expected a JSON object for the case", i))
				}
				return out
			}(), "f.jsonl: and 5 more problems"),
		},
		{
			name:    "duplicates count towards the cap",
			file:    "f.jsonl",
			content: lines(append(repeat(19, `[%d]`), `{"id": "a"}`, `{"id": "a"}`, `{"id": "a"}`, `{"id": "a"}`)...),
			n:       4,
			want: append(func() []string {
				var out []string
				for i := 1; i <= 19; i++ {
					out = append(out, fmt.Sprintf("f.jsonl:%d:1: expected a JSON object for the case", i))
				}
				return out
			}(), `f.jsonl:21:1: duplicate case id "a" (first at f.jsonl:20)`, "f.jsonl: and 2 more problems"),
		},
		{
			name:      "csv: row problems at their line",
			file:      "f.csv",
			content:   "id,q\n1,\"multi\nline\"\n2,x\n1,y\n",
			templates: []string{"{{ q }} {{ ctx }}"},
			n:         3,
			want: []string{
				`f.csv:2:1: case "1": messages[0] uses {{ctx}}, which the case does not define (it has: q)`,
				`f.csv:4:1: case "2": messages[0] uses {{ctx}}, which the case does not define (it has: q)`,
				`f.csv:5:1: case "1": messages[0] uses {{ctx}}, which the case does not define (it has: q)`,
				`f.csv:5:1: duplicate case id "1" (first at f.csv:2)`,
			},
		},
		{
			name:    "csv: every bad row is reported, as in JSONL",
			file:    "f.csv",
			content: "a,b\n1,2\n3\n4,5\n6,7,8\n9,x\"y\n10,\"z\"w\n11,12\n",
			n:       3,
			want: []string{
				"f.csv:3:1: expected 2 fields (a, b), got 1",
				"f.csv:5:1: expected 2 fields (a, b), got 3",
				`f.csv:6:4: bare " in non-quoted-field`,
				`f.csv:7:6: extraneous or missing " in quoted-field`,
			},
		},
		{
			name:    "csv: MaxProblems caps the list",
			file:    "f.csv",
			content: "a,b\n" + lines(repeat(25, `%d`)...),
			n:       0,
			want: append(func() []string {
				var out []string
				for i := 2; i <= MaxProblems+1; i++ {
					out = append(out, fmt.Sprintf("f.csv:%d:1: expected 2 fields (a, b), got 1", i))
				}
				return out
			}(), "f.csv: and 5 more problems"),
		},
		{
			name:    "csv: a quote left open runs to the end of the file",
			file:    "f.csv",
			content: "a,b\n1,2\n3,\"open\n4,5\n",
			n:       1,
			want:    []string{`f.csv:4:5: extraneous or missing " in quoted-field`},
		},
		{
			name:    "csv: a bad header",
			file:    "f.csv",
			content: "a,a\n",
			want:    []string{`f.csv:1:0: columns 1 and 2 are both named "a"`},
		},
		{
			name:      "json: duplicates and missing variables by path",
			file:      "f.json",
			content:   `[{"id": "a", "q": 1}, {"id": "a"}]`,
			templates: []string{"{{ q }}"},
			n:         2,
			want: []string{
				`f.json: $[1]: case "a": messages[0] uses {{q}}, which the case does not define (it has: no variables)`,
				`f.json: $[1]: duplicate case id "a" (first at f.json: $[0])`,
			},
		},
		{
			name:    "json: every element that is not a case is reported",
			file:    "f.json",
			content: `[1, {"q": 1}, 2, {"id": ""}]`,
			n:       1,
			want: []string{
				`f.json: $[0]: expected a JSON object for the case`,
				`f.json: $[2]: expected a JSON object for the case`,
				`f.json: $[3]: field "id": expected a non-empty string or an integer`,
			},
		},
		{
			name:    "json: invalid JSON stops the check",
			file:    "f.json",
			content: `[1, {"q": 1} {"q": 2}, 3]`,
			n:       1,
			want: []string{
				`f.json: $[0]: expected a JSON object for the case`,
				`f.json: $[2]: invalid JSON at byte 13: expected comma after array element`,
			},
		},
		{
			name: "inline cases",
			inline: []json.RawMessage{
				json.RawMessage(`{"id": "a", "q": 1}`),
				json.RawMessage(`{"id": "a"}`),
				json.RawMessage(`7`),
			},
			templates: []string{"{{ q }}"},
			n:         2,
			want: []string{
				`suite.json: $.dataset.cases[1]: case "a": messages[0] uses {{q}}, which the case does not define (it has: no variables)`,
				`suite.json: $.dataset.cases[2]: expected a JSON object for the case`,
				`suite.json: $.dataset.cases[1]: duplicate case id "a" (first at suite.json: $.dataset.cases[0])`,
			},
		},
		{
			name: "missing file",
			file: "nope.jsonl",
			want: []string{"nope.jsonl: open nope.jsonl: no such file or directory"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != "" && tc.file != "nope.jsonl" {
				if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			n, err := Check(context.Background(), suiteOver(dir, tc.file, tc.inline, tc.templates...))
			if n != tc.n {
				t.Errorf("Check = %d cases, want %d", n, tc.n)
			}
			var got []string
			if err != nil {
				got = problemStrings(t, err, dir)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestCheckLineTooLong checks that a JSONL line longer than MaxLine is
// reported once, at its line, and ends the check: the line scanner cannot go
// past it, and Check used to ask it again for ever.
func TestCheckLineTooLong(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 64 MiB file")
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "f.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(`{"q": 1}` + "\n" + `{"q": "`)
	for range MaxLine / 1024 {
		w.WriteString(strings.Repeat("a", 1024))
	}
	w.WriteString(`"}` + "\n" + `{"q": 3}` + "\n")
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := Check(context.Background(), suiteOver(dir, "f.jsonl", nil, "{{ q }}"))
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		got := problemStrings(t, r.err, dir)
		want := []string{"f.jsonl:2:1: line longer than 64 MiB"}
		if r.n != 1 || !reflect.DeepEqual(got, want) {
			t.Errorf("Check = %d cases, %q; want 1 case, %q", r.n, got, want)
		}
	case <-time.After(time.Minute):
		t.Fatal("Check did not return within a minute")
	}
}

func TestMaxProblems(t *testing.T) {
	if MaxProblems != 20 {
		t.Errorf("MaxProblems = %d, want 20", MaxProblems)
	}
}

func TestLocate(t *testing.T) {
	tests := []struct {
		source    string
		file      string
		line, col int
		path      string
	}{
		{source: "/d/f.jsonl:12", file: "/d/f.jsonl", line: 12, col: 1},
		{source: "/d/f.json: $[3]", file: "/d/f.json", path: "$[3]"},
		{source: "s.json: $.dataset.cases[0]", file: "s.json", path: "$.dataset.cases[0]"},
		{source: "C:\\d\\f.csv:7", file: "C:\\d\\f.csv", line: 7, col: 1},
		{source: "no-line", file: "no-line"},
		{source: "f:x", file: "f:x"},
		{source: "", file: ""},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			c := &evals.Case{Source: tc.source}
			file, line, col := locate(c)
			if file != tc.file || line != tc.line || col != tc.col {
				t.Errorf("locate(%q) = %q, %d, %d; want %q, %d, %d", tc.source, file, line, col, tc.file, tc.line, tc.col)
			}
			if got := pathOf(c); got != tc.path {
				t.Errorf("pathOf(%q) = %q, want %q", tc.source, got, tc.path)
			}
		})
	}
}

// writeLines writes n generated JSONL cases to a file in a fresh folder.
func writeLines(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"id": "c%d", "vars": {"ticket": "Ticket number %d: my invoice is wrong", "plan": "pro"}, "expected": {"category": "billing"}, "tags": ["domain=billing"]}`+"\n", i, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStreamingLargeFile(t *testing.T) {
	const n = 200000
	path := writeLines(t, n)
	s := suiteOver(filepath.Dir(path), "big.jsonl", nil, "{{ ticket }} ({{ plan }})", "{{ expected.category }}")

	got, err := Check(context.Background(), s)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got != n {
		t.Errorf("Check = %d cases, want %d", got, n)
	}

	r, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	count := 0
	var last *evals.Case
	for {
		c, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
		last = c
	}
	if count != n {
		t.Errorf("read %d cases, want %d", count, n)
	}
	if last.ID != fmt.Sprintf("c%d", n-1) || last.Source != fmt.Sprintf("%s:%d", path, n) {
		t.Errorf("last case %q at %q", last.ID, last.Source)
	}
}

func BenchmarkJSONLNext(b *testing.B) {
	const n = 10000
	path := writeLines(b, n)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size() / n)
	b.ReportAllocs()
	r, err := OpenFile(path, evals.FormatJSONL)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		_, err := r.Next()
		if err == io.EOF {
			b.StopTimer()
			r.Close()
			if r, err = OpenFile(path, evals.FormatJSONL); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			_, err = r.Next()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	r.Close()
}

// TestCheckStopsWhenContextEnds: a check of a large dataset stops soon after
// its context ends, with the context's error and the cases read so far.
func TestCheckStopsWhenContextEnds(t *testing.T) {
	const n = 20000
	path := writeLines(t, n)
	s := suiteOver(filepath.Dir(path), "big.jsonl", nil, "{{ ticket }}")
	for _, asks := range []int{0, 1, 10} {
		got, err := Check(evalstest.CanceledAfter(asks), s)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ending after %d looks: Check = %d, %v; want context.Canceled", asks, got, err)
		}
		if got >= n || got > asks*ctxEvery {
			t.Errorf("ending after %d looks: Check read %d cases, want at most %d", asks, got, asks*ctxEvery)
		}
	}
}

// TestCheckInvalidUTF8 checks that a byte that is not UTF-8 is a problem at
// its place in every format, not a case sent with U+FFFD in its place.
func TestCheckInvalidUTF8(t *testing.T) {
	const msg = "invalid UTF-8 (byte 0x%02X): the file must be encoded as UTF-8"
	tests := []struct {
		name, file, content string
		n                   int
		want                []string
	}{
		{
			name:    "JSONL",
			file:    "f.jsonl",
			content: "{\"q\": \"ok\"}\n{\"q\": \"caf\xe9\"}\n{\"q\": \"日本\xff\"}\n{\"q\": \"\xe6\x97\"}\n{\"q\": \"\xed\xa0\x80\"}\n{\"q\": \"\ufffd is fine\"}\n",
			n:       2,
			want: []string{
				"f.jsonl:2:11: " + fmt.Sprintf(msg, 0xE9),
				"f.jsonl:3:10: " + fmt.Sprintf(msg, 0xFF),
				"f.jsonl:4:8: " + fmt.Sprintf(msg, 0xE6),
				"f.jsonl:5:8: " + fmt.Sprintf(msg, 0xED),
			},
		},
		{
			name:    "JSONL after a byte order mark",
			file:    "f.jsonl",
			content: "\ufeff{\"q\": \"\xff\"}\n",
			want:    []string{"f.jsonl:1:8: " + fmt.Sprintf(msg, 0xFF)},
		},
		{
			name:    "CSV",
			file:    "f.csv",
			content: "id,q\n1,caf\xe9\n2,ok\n3,\"x\ny\xff\"\n",
			n:       1,
			want: []string{
				`f.csv:2:3: column "q": ` + fmt.Sprintf(msg, 0xE9),
				`f.csv:4:3: column "q": ` + fmt.Sprintf(msg, 0xFF),
			},
		},
		{
			name:    "CSV header",
			file:    "f.csv",
			content: "\ufeffid,q\xff\n1,x\n",
			want:    []string{"f.csv:1:4: column 2 of the header row: " + fmt.Sprintf(msg, 0xFF)},
		},
		{
			name:    "JSON",
			file:    "f.json",
			content: "[\n  {\"q\": \"a\"},\n  {\"q\": \"caf\xe9\"}\n]\n",
			n:       1,
			want:    []string{"f.json:3:13: $[1]: " + fmt.Sprintf(msg, 0xE9)},
		},
		{
			name:    "JSON after a byte order mark",
			file:    "f.json",
			content: "\ufeff[{\"q\": \"é\xff\"}]",
			want:    []string{"f.json:1:10: $[0]: " + fmt.Sprintf(msg, 0xFF)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			n, err := Check(context.Background(), suiteOver(dir, tc.file, nil, "{{ q }}"))
			var got []string
			if err != nil {
				got = problemStrings(t, err, dir)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems = %q\nwant       %q", got, tc.want)
			}
			if n != tc.n {
				t.Errorf("%d cases, want %d", n, tc.n)
			}
		})
	}
}
