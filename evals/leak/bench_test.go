package leak

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// benchManifest writes a manifest of n exported prompts, each a fixed
// system prompt and a user message of about 60 words, and its n-grams.
func benchManifest(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	path := filepath.Join(dir, "train.jsonl.manifest.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	mw, err := NewWriter(f, Header{Run: "r", Suite: "s", Format: "chat", Created: time.Now(), NGrams: "train.jsonl.ngrams"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := mw.Add(benchPrompt(i), fmt.Sprint("case-", i), "t"); err != nil {
			b.Fatal(err)
		}
	}
	if err := mw.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	var ng bytes.Buffer
	if err := WriteNGrams(&ng, mw.NGrams()); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train.jsonl.ngrams"), ng.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

const benchSystem = "You triage support tickets for Acme Cloud, a hosting company. Answer with one JSON object and nothing else."

func benchText(i int) string {
	return fmt.Sprintf("Customer %d (plan: pro)\n\nMy server number %d has been down since %d this morning and the status page says nothing at all; "+
		"we lose orders every minute it stays down, ticket %d, please call me back on %d as soon as you can, thanks a lot for %d", i, i*7, i%24, i, i*13, i)
}

func benchPrompt(i int) []evals.Message {
	return []evals.Message{{Role: "system", Content: benchSystem}, {Role: "user", Content: benchText(i)}}
}

// BenchmarkLoad reads a manifest of 100,000 prompts and its n-grams.
func BenchmarkLoad(b *testing.B) {
	path := benchManifest(b, 100_000)
	b.ResetTimer()
	for b.Loop() {
		x, err := Load(context.Background(), []string{path}, true)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(x.Prompts()), "prompts")
		b.ReportMetric(float64(x.NGramCount()), "ngrams")
	}
}

// BenchmarkCheck checks 10,000 cases, 1 in 10 of them exported, against
// a manifest of 100,000 prompts, exactly and with n-grams; it reports the
// index's heap and the time per case.
func BenchmarkCheck(b *testing.B) {
	path := benchManifest(b, 100_000)
	s := &evals.Suite{Messages: []evals.Message{{Role: "system", Content: benchSystem}, {Role: "user", Content: "{{ ticket }}"}}}
	for _, m := range s.Messages {
		s.Templates = append(s.Templates, evals.MustParseTemplate(m.Content))
	}
	const cases = 10_000
	all := make([]*evals.Case, cases)
	for i := range all {
		k := i*10 + 1 // not exported...
		if i%10 == 0 {
			k = i * 10 // ...but one in ten is
		}
		text := benchText(k)
		if i%10 != 0 {
			text = fmt.Sprintf("A new ticket %d that nobody exported before: %s", i, benchText(k))
		}
		all[i] = &evals.Case{ID: fmt.Sprint("c", i), Vars: map[string]any{"ticket": text}}
	}
	for _, ngrams := range []bool{false, true} {
		b.Run(fmt.Sprintf("ngrams=%v", ngrams), func(b *testing.B) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			x, err := Load(context.Background(), []string{path}, ngrams)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			heap := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
			b.ResetTimer()
			for b.Loop() {
				list := caseList(append([]*evals.Case(nil), all...))
				rep, err := Check(context.Background(), s, &list, x, Options{NGrams: ngrams})
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Findings) < cases/10 {
					b.Fatalf("%d findings, want at least %d", len(rep.Findings), cases/10)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*cases), "ns/case")
			b.ReportMetric(heap, "index-MiB")
			runtime.KeepAlive(x)
		})
	}
}
