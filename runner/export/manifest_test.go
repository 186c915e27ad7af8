package export

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/leak"
)

// manifestOf exports with a manifest and returns the export and the
// manifest's entries.
func manifestOf(t *testing.T, results string, opts Options) (string, []leak.Entry) {
	t.Helper()
	var mbuf bytes.Buffer
	mw, err := leak.NewWriter(&mbuf, leak.Header{Run: "run", Suite: "s", Format: opts.Format, Created: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	opts.Manifest = mw
	out, _ := export(t, results, opts)
	if err := mw.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(mbuf.String()), "\n")
	var entries []leak.Entry
	for _, l := range lines[1:] {
		var e leak.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	return out, entries
}

// TestExportManifest: the manifest has a line for each example written,
// the hash of its prompt as the example holds it, and nothing for the
// results skipped; a conversation's line for its first answer is the hash
// of the prompt the suite rendered.
func TestExportManifest(t *testing.T) {
	results := writeResults(t, fixture())
	for _, format := range []string{datasets.ExportChat, datasets.ExportPreferenceTRL, datasets.ExportPreferenceOpenAI, datasets.ExportReviewJSONL} {
		out, entries := manifestOf(t, results, Options{Format: format})
		written := strings.Count(out, "\n")
		if len(entries) != written || written == 0 {
			t.Errorf("%s: %d manifest entries for %d lines written", format, len(entries), written)
		}
		for _, e := range entries {
			prompt := []evals.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Question " + e.Case}}
			if want := leak.Hash(prompt).String(); e.Hash != want || e.Run != "run" || e.Messages != 2 {
				t.Errorf("%s: entry %+v; want hash %s of case %s's prompt, run run, 2 messages", format, e, want, e.Case)
			}
		}
	}
	if _, entries := manifestOf(t, results, Options{Format: datasets.ExportChat, Select: Selection{Below: new(float64)}}); len(entries) != 0 {
		t.Errorf("nothing written, yet the manifest lists %v", entries)
	}

	conv := writeResults(t, convResults())
	_, entries := manifestOf(t, conv, Options{Format: datasets.ExportPreferenceTRL})
	opening := leak.Hash([]evals.Message{{Role: "system", Content: "You are ACME's support assistant. Use the tools."}, {Role: "user", Content: "Where is my order A1?"}}).String()
	var got []string
	for _, e := range entries {
		got = append(got, e.Case)
		if e.Case == "where-is-a1" && e.Messages == 2 && e.Hash != opening {
			t.Errorf("where-is-a1's first point %s, want the opening's hash %s", e.Hash, opening)
		}
	}
	// where-is-a1 (small, max_steps): its prompt ends before the last call,
	// with two calls in it: points 2, 4, 6. eta: one answer before the
	// last: points 2, 4.
	if want := "eta eta where-is-a1 where-is-a1 where-is-a1"; strings.Join(got, " ") != want {
		t.Errorf("entries for %v, want %s", got, want)
	}
}
