package leak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// TestHashGolden pins the normalisation and the hash. The sums were
// checked against an independent implementation (the Python of
// docs/leakage.md: NFC, str.split, json.dumps with sorted keys and
// ensure_ascii=False, SHA-256); a change here changes every manifest.
func TestHashGolden(t *testing.T) {
	tests := []struct {
		name      string
		msgs      []evals.Message
		canonical string
		sum       string
	}{
		{"system and user",
			[]evals.Message{{Role: "system", Content: "You answer questions about Acme's shop in one sentence."}, {Role: "user", Content: "How long does a refund take?"}},
			`[{"content":"You answer questions about Acme's shop in one sentence.","role":"system"},{"content":"How long does a refund take?","role":"user"}]`,
			"7568f57e3af1cc4e6d55fcb84c68135c9fcbcc762ea214b285097ff8018670c2"},
		{"developer is system, white space collapsed, NFC",
			[]evals.Message{{Role: "developer", Content: "  Be\tbrief.\r\n"}, {Role: "user", Content: "Cafe\u0301  \u00a0ok?"}},
			`[{"content":"Be brief.","role":"system"},{"content":"Café ok?","role":"user"}]`,
			"817612bd6b7c19792c4c222b897c128b9eaea200b36a8c9d86b2694b545b3295"},
		{"tool calls by name and arguments, ids and tool names left out",
			[]evals.Message{{Role: "user", Content: "Where is A1?"},
				{Role: "assistant", ToolCalls: []evals.ToolCall{evals.NewToolCall("call_1", "lookup_order", `{"order_id": "A1"}`)}},
				{Role: "tool", Content: `{"status":"shipped"}`, ToolCallID: "call_1", Name: "lookup_order"}},
			`[{"content":"Where is A1?","role":"user"},{"content":"","role":"assistant","tool_calls":[{"arguments":"{\"order_id\": \"A1\"}","name":"lookup_order"}]},{"content":"{\"status\":\"shipped\"}","role":"tool"}]`,
			"b06a7e709d704f073e0f848c11164038976cf7ae9579cc6000ffdea1f78f9977"},
		{"escapes as RFC 8785; U+2028 is white space",
			[]evals.Message{{Role: "user", Content: "quote \" backslash \\ bell \x07 \u2028 end"}},
			`[{"content":"quote \" backslash \\ bell \u0007 end","role":"user"}]`,
			"fe0836c84fc242a629b0541bc33b05eea4afb5312b207e27471fe68a006de1bf"},
		{"no messages", nil, `[]`, "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Canonical(tt.msgs)); got != tt.canonical {
				t.Errorf("Canonical:\n got %s\nwant %s", got, tt.canonical)
			}
			if got := Hash(tt.msgs).String(); got != tt.sum {
				t.Errorf("Hash = %s, want %s", got, tt.sum)
			}
		})
	}
}

// TestHashSame lists prompts that must hash alike, and prompts that must
// not.
func TestHashSame(t *testing.T) {
	user := func(s string) []evals.Message { return []evals.Message{{Role: "user", Content: s}} }
	same := [][2][]evals.Message{
		{user("a  b\n"), user(" a b")},
		{user("é"), user("e\u0301")},
		{{{Role: "developer", Content: "x"}}, {{Role: "system", Content: "x"}}},
	}
	for i, p := range same {
		if Hash(p[0]) != Hash(p[1]) {
			t.Errorf("same %d: %q and %q hash differently", i, Canonical(p[0]), Canonical(p[1]))
		}
	}
	differ := [][2][]evals.Message{
		{user("a b"), user("A b")},
		{user("a b"), user("a, b")},
		{user("ab"), {{Role: "user", Content: "a"}, {Role: "user", Content: "b"}}},
		{user("x"), {{Role: "system", Content: "x"}}},
		{user(`a","role":"user"},{"content":"b`), {{Role: "user", Content: "a"}, {Role: "user", Content: "b"}}},
	}
	for i, p := range differ {
		if Hash(p[0]) == Hash(p[1]) {
			t.Errorf("differ %d: %q and %q hash alike", i, Canonical(p[0]), Canonical(p[1]))
		}
	}
}

func TestPoints(t *testing.T) {
	m := func(roles ...string) []evals.Message {
		var out []evals.Message
		for _, r := range roles {
			out = append(out, evals.Message{Role: r})
		}
		return out
	}
	tests := []struct {
		msgs []evals.Message
		want []int
	}{
		{m("system", "user"), []int{2}},
		{m("system", "user", "assistant", "user"), []int{2, 4}}, // a few-shot example
		{m("system", "user", "assistant", "tool", "assistant", "user"), []int{2, 4, 6}},
		{m("assistant", "user"), []int{2}},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := Points(tt.msgs); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Points(%v) = %v, want %v", tt.msgs, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Don't stop, OK?", "don t stop ok"},
		{"Café — CAFE\u0301!", "café café"},
		{"  ", ""},
		{"ticket #4521: 500-error", "ticket 4521 500 error"},
	}
	for _, tt := range tests {
		if got := strings.Join(Words(tt.in), " "); got != tt.want {
			t.Errorf("Words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// writeManifest writes a manifest and its n-gram file in dir, of the
// prompts given, and returns the manifest's path.
func writeManifest(t *testing.T, dir string, prompts map[string][]evals.Message) string {
	t.Helper()
	path := filepath.Join(dir, "train.jsonl.manifest.jsonl")
	var buf bytes.Buffer
	mw, err := NewWriter(&buf, Header{Run: "run-1", Suite: "s", Format: "chat", Created: time.Unix(0, 0).UTC(), NGrams: "train.jsonl.ngrams"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range sortedKeys(prompts) {
		if err := mw.Add(prompts[id], id, "t"); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var ng bytes.Buffer
	if err := WriteNGrams(&ng, mw.NGrams()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train.jsonl.ngrams"), ng.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sortedKeys(m map[string][]evals.Message) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// suite makes a suite of a fixed system prompt and a user message of the
// case's variable "q".
func suite(t *testing.T) *evals.Suite {
	t.Helper()
	s := &evals.Suite{Messages: []evals.Message{{Role: "system", Content: "You answer questions about the shop of Acme in one sentence and never more than that, politely."}, {Role: "user", Content: "{{ q }}"}}}
	for _, m := range s.Messages {
		s.Templates = append(s.Templates, evals.MustParseTemplate(m.Content))
	}
	return s
}

type caseList []*evals.Case

func (l *caseList) Next() (*evals.Case, error) {
	if len(*l) == 0 {
		return nil, io.EOF
	}
	c := (*l)[0]
	*l = (*l)[1:]
	return c, nil
}

func TestCheck(t *testing.T) {
	s := suite(t)
	render := func(q string) []evals.Message {
		msgs, err := s.Render(&evals.Case{ID: "x", Vars: map[string]any{"q": q}})
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	const (
		long   = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"
		shared = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu" // 13 words
	)
	dir := t.TempDir()
	path := writeManifest(t, dir, map[string][]evals.Message{
		"exported": render(long),
		"other":    render("Something else entirely, then " + shared + " and more after it that is new text here"),
		// A conversation: its first point is the suite's prompt for "conv".
		"conv": append(render("Where is my order A1 please?"), evals.Message{Role: "assistant", ToolCalls: []evals.ToolCall{evals.NewToolCall("c1", "lookup", `{}`)}},
			evals.Message{Role: "tool", Content: "shipped"}),
	})
	x, err := Load(context.Background(), []string{path}, true)
	if err != nil {
		t.Fatal(err)
	}
	if x.Entries != 4 || x.Prompts() != 4 {
		t.Errorf("Entries, Prompts = %d, %d; want 4, 4 (a line per point)", x.Entries, x.Prompts())
	}
	cases := caseList{
		{ID: "copy", Vars: map[string]any{"q": long}, Source: "cases.jsonl:1"},
		{ID: "spaced", Vars: map[string]any{"q": "  one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty\n"}, Source: "cases.jsonl:2"},
		{ID: "cased", Vars: map[string]any{"q": "One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, thirteen, fourteen, fifteen, sixteen, seventeen, eighteen, nineteen, twenty!"}, Source: "cases.jsonl:3"},
		{ID: "short", Vars: map[string]any{"q": "Do you ship to Norway?"}, Source: "cases.jsonl:4"},
		{ID: "conv", Vars: map[string]any{"q": "Where is my order A1 please?"}, Source: "cases.jsonl:5"},
		{ID: "clean", Vars: map[string]any{"q": "What are your opening hours on public holidays in the north of the country this year?"}, Source: "cases.jsonl:6"},
	}
	rep, err := Check(context.Background(), s, &cases, x, Options{NGrams: true, Threshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Finding{}
	for _, f := range rep.Findings {
		got[f.CaseID] = f
	}
	if len(got) != 4 {
		t.Errorf("findings %v, want copy, spaced, cased and conv", rep.Findings)
	}
	// An exact copy: found, and every n-gram found.
	if f := got["copy"]; !f.Exact || f.Overlap != 1 || f.NGrams != 8 || f.Found != 8 {
		t.Errorf("copy: %+v; want exact, overlap 1 (8 of 8 13-grams)", f)
	}
	if f := got["copy"]; len(f.Refs) != 1 || f.Refs[0] != (Ref{Manifest: path, Line: 4, Case: "exported", Run: "run-1"}) || f.Lines != 1 {
		t.Errorf("copy's refs: %+v (lines %d); want line 4 of the manifest, case exported of run-1", f.Refs, f.Lines)
	}
	if f := got["spaced"]; !f.Exact {
		t.Errorf("spaced: %+v; want exact: white space is normalised", f)
	}
	// Case and punctuation are kept in the exact check, dropped in words.
	if f := got["cased"]; f.Exact || f.Overlap != 1 {
		t.Errorf("cased: %+v; want not exact, overlap 1", f)
	}
	if f := got["conv"]; !f.Exact || f.Refs[0].Line != 2 {
		t.Errorf("conv: %+v; want exact, from its conversation's first point (line 2)", f)
	}
	// One shared 13-gram: under the default threshold, not flagged; at a
	// threshold of 1%, flagged with 1 of its 24 13-grams.
	oneShared := &evals.Case{ID: "one-shared", Vars: map[string]any{"q": "A different question that happens to quote " + shared + " in its middle and then goes on for a good many more words of its own"}}
	cases = caseList{oneShared}
	if rep, err = Check(context.Background(), s, &cases, x, Options{NGrams: true}); err != nil || len(rep.Findings) != 0 {
		t.Errorf("one-shared at the default threshold: %+v, %v; want no finding", rep, err)
	}
	cases = caseList{oneShared}
	rep, err = Check(context.Background(), s, &cases, x, Options{NGrams: true, Threshold: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Exact || rep.Findings[0].Found != 1 || rep.Findings[0].NGrams != 24 {
		t.Errorf("one-shared at threshold 0.01: %+v; want one finding, not exact, 1 of 24 13-grams", rep.Findings)
	}
	// A short prompt has no 13-gram: counted as short, checked exactly only.
	cases = caseList{{ID: "short", Vars: map[string]any{"q": "Do you ship to Norway?"}}}
	rep, err = Check(context.Background(), s, &cases, x, Options{NGrams: true, Threshold: 0.0001})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 || rep.Short != 1 || rep.Cases != 1 {
		t.Errorf("short: findings %v, short %d, cases %d; want none, 1, 1", rep.Findings, rep.Short, rep.Cases)
	}
}

func TestScanErrors(t *testing.T) {
	head := `{"rubric_manifest":1,"normalization":"rubric-prompt/1","run":"r","suite":"s","format":"chat","created":"2026-01-01T00:00:00Z"}`
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", `:1: the file is empty: expected a header line {"rubric_manifest": 1, ...}`},
		{"not JSON", "hello\n", `:1: expected a header line {"rubric_manifest": 1, "normalization": "rubric-prompt/1", ...}: invalid character 'h'`},
		{"the export itself", `{"messages":[]}` + "\n", `:1: expected a header line {"rubric_manifest": 1, "normalization": "rubric-prompt/1", ...}: there is no "rubric_manifest" key (is this the export itself rather than its .manifest.jsonl?)`},
		{"newer version", `{"rubric_manifest":2,"normalization":"rubric-prompt/1"}` + "\n", `:1: manifest version 2: this rubric reads version 1`},
		{"other normalisation", `{"rubric_manifest":1,"normalization":"rubric-prompt/0"}` + "\n", `:1: prompts normalised as "rubric-prompt/0": this rubric hashes them as "rubric-prompt/1", so nothing would match; export again with this rubric`},
		{"bad JSON line", head + "\n" + `{"hash":"` + sum + `","case":"a","run":"r"}` + "\n{oops\n", `:3: expected an entry {"hash": SHA256, "case": ID, "run": RUN_ID}: invalid character 'o'`},
		{"no hash", head + "\n" + `{"case":"a","run":"r"}` + "\n", `:2: "hash" is missing: expected the SHA-256 of a prompt in hex`},
		{"short hash", head + "\n" + `{"hash":"abc","case":"a","run":"r"}` + "\n", `:2: "hash": expected 64 lower-case hex digits (a SHA-256), got 3 characters`},
		{"upper-case hash", head + "\n" + `{"hash":"` + strings.ToUpper(sum) + `","case":"a","run":"r"}` + "\n", `:2: "hash": expected 64 lower-case hex digits (a SHA-256), got 'A' at 1`},
		{"hash of the wrong type", head + "\n" + `{"hash":12,"case":"a","run":"r"}` + "\n", `:2: expected an entry {"hash": SHA256, "case": ID, "run": RUN_ID}: json: cannot unmarshal number into Go struct field Entry.hash of type string`},
		{"no case", head + "\n" + `{"hash":"` + sum + `","run":"r"}` + "\n", `:2: "case" is missing: expected the id of the exported case`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.jsonl")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(context.Background(), []string{path}, false)
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if want := path + tt.want; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err:\n got %s\nwant %s", err, want)
			}
		})
	}
}

func TestNGramFileErrors(t *testing.T) {
	dir := t.TempDir()
	var good bytes.Buffer
	if err := WriteNGrams(&good, []uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	head, _, _ := bytes.Cut(good.Bytes(), []byte("\n"))
	body := good.Bytes()[len(head)+1:]
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"good", good.Bytes(), ""},
		{"cut short", good.Bytes()[:good.Len()-3], "the header counts 3 hashes (24 bytes) but 21 bytes follow it"},
		{"out of order", append(append(append([]byte{}, head...), '\n'), append(append([]byte{}, body[8:16]...), append(body[:8:8], body[16:]...)...)...), "hashes out of order"},
		{"not n-grams", []byte("{}\n"), "expected a header line of JSON"},
		{"other n", []byte(`{"rubric_ngrams":1,"tokenizer":"rubric-words/1","n":8,"hash":"fnv1a-64","count":0}` + "\n"), `n 8, hash "fnv1a-64": this rubric reads layout 1, "rubric-words/1", 13, "fnv1a-64"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadNGrams(p, nil)
			if tt.want == "" {
				if err != nil || fmt.Sprint(got) != "[1 2 3]" {
					t.Errorf("ReadNGrams = %v, %v; want [1 2 3]", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), p+": ") {
				t.Errorf("err = %v; want %s: ...%s...", err, p, tt.want)
			}
		})
	}
}

func TestNGramSetCompacts(t *testing.T) {
	var s NGramSet
	for i := range 1 << 18 {
		s.Add(uint64(i % 1000))
	}
	if cap(s.h) > 1<<18 {
		t.Errorf("the set grew to %d slots for 1000 distinct hashes", cap(s.h))
	}
	if got := s.Sorted(); len(got) != 1000 || got[0] != 0 || got[999] != 999 {
		t.Errorf("Sorted: %d hashes, want 1000 from 0 to 999", len(got))
	}
}
