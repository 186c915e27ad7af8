package rundir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReviews(t *testing.T) {
	dir := t.TempDir()
	if got, err := ReadReviews(dir); err != nil || len(got) != 0 {
		t.Fatalf("no reviews.jsonl: %v, %v", got, err)
	}
	for _, r := range []Review{
		{CaseID: "a", Target: "t", Verdict: "reject"},
		{CaseID: "a", Target: "t", Verdict: "accept", Corrected: "42"}, // the last one counts
		{CaseID: "a", Target: "t", Repeat: 1, Verdict: "skip"},
		{CaseID: "b", Target: "t", Verdict: "skip"},
		{CaseID: "b", Target: "t"}, // cleared
		{CaseID: "c", Target: "t", Comment: "unsure"},
	} {
		if err := AppendReview(dir, &r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadReviews(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[ReviewKey{"a", "t", 0}].Corrected != "42" || got[ReviewKey{"a", "t", 1}].Verdict != "skip" ||
		got[ReviewKey{"c", "t", 0}].Comment != "unsure" {
		t.Errorf("reviews %+v", got)
	}
	path := filepath.Join(dir, ReviewsFile)
	// A last line cut short is left out; a bad line before others is an error.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"case_id":"d","tar`)
	f.Close()
	if got, err := ReadReviews(dir); err != nil || len(got) != 3 {
		t.Errorf("torn last line: %d reviews, %v", len(got), err)
	}
	// The next review cuts the torn line off.
	if err := AppendReview(dir, &Review{CaseID: "e", Target: "t", Verdict: "skip"}); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadReviews(dir); err != nil || len(got) != 4 || got[ReviewKey{"e", "t", 0}].Verdict != "skip" {
		t.Errorf("after a torn line: %+v, %v", got, err)
	}
	b, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte("not json\n"), b...), 0o644)
	if _, err := ReadReviews(dir); err == nil || !strings.Contains(err.Error(), "reviews.jsonl:1: not a review") {
		t.Errorf("a bad line in the middle: %v", err)
	}
}
