package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/runner/history"
)

// PageSize is the number of cases a page of the cases table shows.
const PageSize = 50

// caseQuery is the filter of a run's cases table, as its URL holds it.
type caseQuery struct {
	Target    string
	Status    string
	Criterion string // a criterion that failed or could not score
	Slice     string // KEY=VALUE
	ErrorKind string
	// Q is searched in case ids and, unless IDsOnly, in outputs: as text
	// (any case) or, with Regex, as a regular expression.
	Q       string
	Regex   bool
	IDsOnly bool
	Page    int // from 1
	// From is where a search of outputs goes on from: the position of the
	// case after the last one it showed.
	From int
}

// parseCaseQuery reads a cases table's filter from its URL's query.
func parseCaseQuery(v url.Values) (caseQuery, error) {
	q := caseQuery{
		Target: v.Get("target"), Status: v.Get("status"), Criterion: v.Get("criterion"), Slice: v.Get("slice"),
		ErrorKind: v.Get("error"), Q: v.Get("q"), Regex: v.Get("re") == "1", IDsOnly: v.Get("in") == "id", Page: 1,
	}
	for _, p := range []struct {
		name string
		to   *int
		min  int
	}{{"page", &q.Page, 1}, {"from", &q.From, 0}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < p.min {
			return q, fmt.Errorf("%s=%q: expected a whole number from %d", p.name, s, p.min)
		}
		*p.to = n
	}
	return q, nil
}

// values is the query in a URL's form, without its empty fields; page and
// from are left to the caller.
func (q caseQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("target", q.Target)
	set("status", q.Status)
	set("criterion", q.Criterion)
	set("slice", q.Slice)
	set("error", q.ErrorKind)
	set("q", q.Q)
	if q.Regex {
		v.Set("re", "1")
	}
	if q.IDsOnly {
		v.Set("in", "id")
	}
	return v
}

// searchesOutputs says whether the query reads outputs.
func (q caseQuery) searchesOutputs() bool { return q.Q != "" && !q.IDsOnly }

// Bounds of a search of outputs, per request: the results it reads and the
// time it takes. Past either it stops and offers to go on.
var (
	maxOutputReads = 20_000
	maxOutputTime  = 150 * time.Millisecond
)

// matcher is a compiled caseQuery.
type matcher struct {
	target, status, criterion, slice, errKind int  // -1: any
	none                                      bool // a value the run has not: nothing matches
	text                                      func([]byte) bool
}

// compile resolves the query's names against the index.
func (q caseQuery) compile(x *caseIndex) (*matcher, error) {
	m := &matcher{target: -1, status: -1, criterion: -1, slice: -1, errKind: -1}
	for _, f := range []struct {
		val string
		set *names
		to  *int
	}{{q.Target, &x.targets, &m.target}, {q.Status, &x.statuses, &m.status}, {q.Criterion, &x.criteria, &m.criterion},
		{q.Slice, &x.slices, &m.slice}, {q.ErrorKind, &x.errKinds, &m.errKind}} {
		if f.val == "" {
			continue
		}
		*f.to = f.set.find(f.val)
		if *f.to < 0 {
			m.none = true
		}
	}
	if q.Q != "" {
		t, err := textMatcher(q.Q, q.Regex)
		if err != nil {
			return nil, err
		}
		m.text = t
	}
	return m, nil
}

// textMatcher matches text containing s, in any case, or matching the
// regular expression s.
func textMatcher(s string, regex bool) (func([]byte) bool, error) {
	if regex {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("the regular expression %q: %v", s, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		return re.Match, nil
	}
	if !isASCII(s) {
		re := regexp.MustCompile("(?i)" + regexp.QuoteMeta(s))
		return re.Match, nil
	}
	sub := []byte(strings.ToLower(s))
	return func(b []byte) bool { return containsFoldASCII(b, sub) }, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// containsFoldASCII reports whether b holds sub (lower case ASCII), in any
// case.
func containsFoldASCII(b, sub []byte) bool {
	if len(sub) == 0 {
		return true
	}
	first := sub[0]
	upper := first
	if 'a' <= first && first <= 'z' {
		upper -= 'a' - 'A'
	}
	for i := 0; i+len(sub) <= len(b); i++ {
		c := b[i]
		if c != first && c != upper {
			continue
		}
		ok := true
		for j := 1; j < len(sub); j++ {
			c := b[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// fields reports whether entry i matches the query's fields (all but the
// text).
func (m *matcher) fields(x *caseIndex, i int, e *entry) bool {
	switch {
	case m.none:
		return false
	case m.target >= 0 && int(e.target) != m.target:
		return false
	case m.status >= 0 && int(e.status) != m.status:
		return false
	case m.errKind >= 0 && int(e.errKnd) != m.errKind+1:
		return false
	case m.criterion >= 0 && !x.hasCriterion(i, e, m.criterion):
		return false
	}
	if m.slice >= 0 {
		for _, k := range x.slicesOf(e) {
			if int(k) == m.slice {
				return true
			}
		}
		return false
	}
	return true
}

// casePage is one page of a run's cases table.
type casePage struct {
	Cases []history.Case
	// Total counts the cases that match; with Partial, only those found
	// in the Searched cases of the run read so far.
	Total    int
	Partial  bool
	Searched int
	Page     int
	Pages    int
	// Next is the position a search of outputs goes on from; -1 when it
	// has searched to the end.
	Next int
}

// outputOf reads the output of a result from its line in the journal.
type outputReader func(off int64, n int) ([]byte, error)

// page returns the cases of the index that q selects: page q.Page of
// PageSize, all counted; or, for a query that searches outputs, the next
// PageSize matches from q.From, within the bounds of a search, reading
// outputs with read.
func (x *caseIndex) page(run string, q caseQuery, read outputReader) (*casePage, error) {
	m, err := q.compile(x)
	if err != nil {
		return nil, err
	}
	if q.searchesOutputs() {
		return x.searchOutputs(run, q, m, read)
	}
	p := &casePage{Page: q.Page, Next: -1}
	skip := (q.Page - 1) * PageSize
	n := x.len()
	for pos := range n {
		i, e := x.pos(pos)
		if !m.fields(x, i, e) {
			continue
		}
		if m.text != nil && !m.text(x.idOf(e)) {
			continue
		}
		if p.Total >= skip && len(p.Cases) < PageSize {
			p.Cases = append(p.Cases, x.caseOf(run, i))
		}
		p.Total++
	}
	p.Searched = n
	p.Pages = max(1, (p.Total+PageSize-1)/PageSize)
	return p, nil
}

// searchOutputs is page for a query that reads outputs.
func (x *caseIndex) searchOutputs(run string, q caseQuery, m *matcher, read outputReader) (*casePage, error) {
	p := &casePage{Page: 1, Pages: 1, Next: -1}
	start := time.Now()
	reads := 0
	n := x.len()
	pos := min(q.From, n)
	for ; pos < n; pos++ {
		i, e := x.pos(pos)
		if !m.fields(x, i, e) {
			continue
		}
		hit := m.text(x.idOf(e))
		if !hit {
			if reads >= maxOutputReads || (reads%64 == 0 && time.Since(start) > maxOutputTime) {
				break
			}
			reads++
			line, err := read(e.off, int(e.len))
			if err != nil {
				return nil, err
			}
			out, err := outputField(line)
			if err != nil {
				return nil, fmt.Errorf("the result of case %s at byte %d: %w", x.idOf(e), e.off, err)
			}
			hit = m.text(out)
		}
		if !hit {
			continue
		}
		if len(p.Cases) == PageSize {
			p.Next = pos
			break
		}
		p.Cases = append(p.Cases, x.caseOf(run, i))
		p.Total++
	}
	if pos < n && p.Next < 0 {
		p.Next = pos // the bounds stopped it
	}
	p.Searched = pos - min(q.From, n)
	p.Partial = p.Next >= 0
	return p, nil
}

// outputField decodes the output of a result's line, leaving the rest.
func outputField(line []byte) ([]byte, error) {
	var r struct {
		Output string `json:"output"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(line), &r); err != nil {
		return nil, err
	}
	return []byte(r.Output), nil
}

// readerAt reads lines of a journal.
func readerAt(f io.ReaderAt) outputReader {
	var buf []byte
	return func(off int64, n int) ([]byte, error) {
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := f.ReadAt(buf, off); err != nil {
			return nil, fmt.Errorf("reading the result at byte %d: %w", off, err)
		}
		return buf, nil
	}
}
