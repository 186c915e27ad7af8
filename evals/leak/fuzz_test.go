package leak

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad reads arbitrary manifests: Load never panics, and a manifest it
// refuses is an *Error that names the file and a line.
func FuzzLoad(f *testing.F) {
	head := `{"rubric_manifest":1,"normalization":"rubric-prompt/1","run":"r","suite":"s","format":"chat","created":"2026-01-01T00:00:00Z"}`
	sum := strings.Repeat("ab", 32)
	for _, s := range []string{
		"", "hello\n", head + "\n",
		head + "\n" + `{"hash":"` + sum + `","case":"a","run":"r"}` + "\n",
		head + "\n" + `{"hash":"` + sum + `","case":"a","run":"r"}`, // no final newline
		head + "\n" + `{"hash":"abc","case":"a","run":"r"}` + "\n",
		head + "\n\n\n" + `{"hash":"` + sum + `","case":"a"}` + "\n",
		`{"rubric_manifest":1,"normalization":"rubric-prompt/1","ngrams":"x.ngrams"}` + "\n",
		"\xff\xfe\n", `{"rubric_manifest":"1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "m.manifest.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(context.Background(), []string{path}, false)
		if err == nil {
			return
		}
		var me *Error
		if !errors.As(err, &me) {
			t.Fatalf("%q: err %v (%T), want an *Error", data, err, err)
		}
		if !strings.HasPrefix(err.Error(), path+":") {
			t.Fatalf("%q: err %q does not start with the file and its line", data, err)
		}
	})
}
