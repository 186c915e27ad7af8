package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

var caseSeeds = []string{
	`{}`,
	`{"id": "a", "vars": {"q": "hi"}, "expected": "yes", "tags": ["t"], "metadata": {"m": 1}}`,
	`{"q": 1, "n": [1, 2], "o": {"k": null}}`,
	`{"id": 7}`, `{"id": -1}`, `{"id": 1.5}`, `{"id": ""}`, `{"id": null}`, `{"id": true}`,
	`{"id": 99999999999999999999}`,
	`{"vars": {"q": 1}, "x": 2, "y": 3}`,
	`{"vars": {"output": 1}}`, `{"output": 1}`, `{"vars": {"id": 1, "tags": 2}}`, `{"vars": {"vars": 1}}`,
	`{"tags": "a"}`, `{"tags": [1]}`, `{"vars": []}`, `{"metadata": 1}`,
	`[1]`, `"s"`, `null`, ``, `   `, `{`, `{"q": tru}`, `{"q": "日本", x}`,
	"\ufeff{}", `{"a":1} {"b":2}`, `{"q": "\ud83c"}`,
}

func FuzzDecodeCase(f *testing.F) {
	for i, s := range caseSeeds {
		f.Add([]byte(s), i+1)
	}
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		c, err := DecodeCase(data, n)
		again, err2 := DecodeCase(data, n)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("DecodeCase(%q) is not deterministic: %v, then %v", data, err, err2)
		}
		if err != nil {
			if c != nil {
				t.Fatalf("DecodeCase(%q) returned a case with error %v", data, err)
			}
			return
		}
		trimmed := bytes.TrimSpace(data)
		if !json.Valid(trimmed) || trimmed[0] != '{' {
			t.Fatalf("DecodeCase(%q) accepted something that is not a JSON object", data)
		}
		if c.ID == "" {
			t.Fatalf("DecodeCase(%q) gave an empty id", data)
		}
		for _, k := range evals.Reserved {
			if _, ok := c.Vars[k]; ok {
				t.Fatalf("DecodeCase(%q) kept a variable named %q, which templates cannot reach", data, k)
			}
		}
		if !sameCase(c, again) {
			t.Fatalf("DecodeCase(%q) is not deterministic", data)
		}
	})
}

// sameCase compares two cases through their JSON form, which is all
// that matters of them.
func sameCase(a, b *evals.Case) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func FuzzJSONL(f *testing.F) {
	f.Add([]byte(strings.Join(caseSeeds, "\n")))
	f.Add([]byte(strings.Join(caseSeeds, "\r\n")))
	for _, s := range caseSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("{}\r\n\r\n{\"id\": 1}\r"))
	f.Add([]byte("\ufeff  {\"q\": \"é\", }\n"))
	f.Add([]byte("{\"q\": \"caf\xe9\"}\n{\"q\": 1}"))
	f.Add([]byte("{}\n{\"0\": \"日"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newJSONL("f.jsonl", io.NopCloser(bytes.NewReader(data)))
		defer r.Close()
		fileLines := bytes.Split(data, []byte("\n"))
		for calls := 0; ; calls++ {
			if calls > len(fileLines)+1 {
				t.Fatalf("more than %d results from %d lines", calls, len(fileLines))
			}
			c, err := r.Next()
			if err == io.EOF {
				if _, err := r.Next(); err != io.EOF {
					t.Fatalf("Next after io.EOF = %v", err)
				}
				return
			}
			if err != nil {
				var ps evals.Problems
				if !errors.As(err, &ps) || len(ps) != 1 {
					t.Fatalf("error %T %v is not one problem", err, err)
				}
				p := ps[0]
				if p.File != "f.jsonl" || p.Line < 1 || p.Line > len(fileLines) || p.Col < 1 {
					t.Fatalf("problem %+v: bad place", p)
				}
				if width := utf8.RuneCount(fileLines[p.Line-1]); p.Col > width+1 {
					t.Fatalf("problem %+v: column past the line's %d characters", p, width)
				}
				continue
			}
			if c.ID == "" || !strings.HasPrefix(c.Source, "f.jsonl:") {
				t.Fatalf("case %+v", c)
			}
			n, _ := strconv.Atoi(strings.TrimPrefix(c.Source, "f.jsonl:"))
			if n < 1 || n > len(fileLines) || !utf8.Valid(fileLines[n-1]) {
				t.Fatalf("case %+v read from a line that is not UTF-8", c)
			}
		}
	})
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"id,q\n1,x\n", "q,expected.a,metadata.m,tags\nx,y,z,a;b\n", "\ufeff\"id\",q\r\n1,\"a\r\nb\"\r\n",
		"a,b\n1\n", "a,a\n", "", "a,b\"c\n", "expected,expected.x\n", "vars\n", "a\n\"x", "q\nx\xff\ny\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := newCSV("f.csv", io.NopCloser(bytes.NewReader(data)))
		if err != nil {
			var ps evals.Problems
			if !errors.As(err, &ps) || len(ps) != 1 || ps[0].File != "f.csv" {
				t.Fatalf("error %T %v is not one problem in f.csv", err, err)
			}
			return
		}
		defer r.Close()
		for calls := 0; ; calls++ {
			if calls > len(data)+1 {
				t.Fatalf("more than %d results from %d bytes", calls, len(data))
			}
			c, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var ps evals.Problems
				if !errors.As(err, &ps) || len(ps) != 1 || ps[0].File != "f.csv" {
					t.Fatalf("error %T %v is not one problem in f.csv", err, err)
				}
				continue
			}
			if c.ID == "" || !strings.HasPrefix(c.Source, "f.csv:") {
				t.Fatalf("case %+v", c)
			}
			if _, ok := c.Vars["output"]; ok {
				t.Fatalf("case %+v has a variable named output", c)
			}
			for k, v := range c.Vars {
				if s, _ := v.(string); !utf8.ValidString(s) || !utf8.ValidString(k) {
					t.Fatalf("case %+v: variable %q is not UTF-8", c, k)
				}
			}
		}
	})
}
