package view

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/runner/history"
)

// buildIndex indexes n cases of target "t", in order, every third failed.
func buildIndex(t testing.TB, n int) *caseIndex {
	t.Helper()
	b := newIndexer()
	for i := range n {
		c := history.Case{Target: "t", CaseID: fmt.Sprintf("c%07d", i), Status: "passed", Off: int64(i) * 100, Len: 100}
		if i%3 == 0 {
			c.Status, c.Failed = "failed", []string{"fact"}
		}
		if err := b.add(&c); err != nil {
			t.Fatal(err)
		}
	}
	return b.done()
}

// TestIndexOrder: cases that come out of order are listed in target, case
// id and repeat order, and of two results of one case and repeat the one
// written last is kept.
func TestIndexOrder(t *testing.T) {
	b := newIndexer()
	score := 0.5
	for _, c := range []history.Case{
		{Target: "b", CaseID: "x", Off: 0, Status: "passed"},
		{Target: "a", CaseID: "y", Off: 10, Status: "failed", Failed: []string{"f"}},
		{Target: "a", CaseID: "x", Repeat: 1, Off: 20, Status: "passed"},
		{Target: "a", CaseID: "x", Off: 30, Status: "error", ErrorKind: "timeout"},
		{Target: "a", CaseID: "y", Off: 40, Status: "passed", Score: &score, Slices: []string{"tag=z", "tag=z"}}, // y again, resumed
	} {
		if err := b.add(&c); err != nil {
			t.Fatal(err)
		}
	}
	x := b.done()
	var got []string
	x.walk("r", func(c history.Case) error {
		got = append(got, fmt.Sprintf("%s/%s#%d@%d:%s", c.Target, c.CaseID, c.Repeat, c.Off, c.Status))
		return nil
	})
	want := "a/x#0@30:error a/x#1@20:passed a/y#0@40:passed b/x#0@0:passed"
	if strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
	if s, e := x.find("a", "y"); e-s != 1 {
		t.Errorf("find a/y: %d..%d", s, e)
	}
	i, _ := x.pos(2)
	c := x.caseOf("r", i)
	if c.Score == nil || *c.Score != 0.5 || len(c.Slices) != 1 || c.Slices[0] != "tag=z" || c.RunID != "r" {
		t.Errorf("a/y: %+v", c)
	}
}

// TestIndexManyCriteria: criteria past the 64th that a bit holds are kept
// too, and filter.
func TestIndexManyCriteria(t *testing.T) {
	b := newIndexer()
	var all []string
	for k := range 70 {
		all = append(all, fmt.Sprintf("k%02d", k))
	}
	b.add(&history.Case{Target: "t", CaseID: "a", Status: "failed", Failed: all})
	b.add(&history.Case{Target: "t", CaseID: "b", Status: "failed", Failed: []string{"k00", "k69"}})
	b.add(&history.Case{Target: "t", CaseID: "c", Status: "failed", Failed: []string{"k01"}})
	x := b.done()
	if got := x.caseOf("r", 0).Failed; len(got) != 70 {
		t.Errorf("case a: %d criteria failed, want 70", len(got))
	}
	p, err := x.page("r", caseQuery{Criterion: "k69", Page: 1}, nil)
	if err != nil || p.Total != 2 {
		t.Errorf("criterion k69: %+v, %v; want a and b", p, err)
	}
}

// TestIndexSliceLimit: past its limit of slices, the index counts the
// others as "(other)", as a report does.
func TestIndexSliceLimit(t *testing.T) {
	b := newIndexer()
	b.x.slices.limit = 2
	for i := range 4 {
		b.add(&history.Case{Target: "t", CaseID: fmt.Sprint(i), Status: "passed", Slices: []string{fmt.Sprintf("tag=%d", i)}})
	}
	x := b.done()
	if got := strings.Join(x.slices.list, ","); got != "tag=0,tag=1,(other)" {
		t.Errorf("slices %s", got)
	}
	p, _ := x.page("r", caseQuery{Slice: otherSlice, Page: 1}, nil)
	if p.Total != 2 {
		t.Errorf("(other): %d cases, want 2", p.Total)
	}
}

func TestContainsFoldASCII(t *testing.T) {
	for _, tc := range []struct {
		s, sub string
		want   bool
	}{
		{"Hello World", "world", true}, {"Hello", "hello!", false}, {"abc", "", true}, {"ABC", "bc", true}, {"a-b", "-b", true}, {"xyz", "yx", false},
	} {
		if got := containsFoldASCII([]byte(tc.s), []byte(tc.sub)); got != tc.want {
			t.Errorf("containsFoldASCII(%q, %q) = %v", tc.s, tc.sub, got)
		}
	}
}
