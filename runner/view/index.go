package view

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/rubric-eval/rubric/runner/history"
)

// A run's case index, held compactly: a fixed-size entry per result (40
// bytes), its case id in an arena of bytes and its slices in an arena of
// small numbers, the names (targets, statuses, criteria, slices, error
// kinds) once each. A million cases take about 55 MB, and the pages filter
// them in memory; the results themselves stay in results.jsonl and are read
// by offset when a page wants them.

// entry is one result of the index.
type entry struct {
	off    int64  // where its line starts in results.jsonl
	failed uint32 // the criteria that failed, by bit (the first 32; more in caseIndex.more)
	len    uint32 // its line's length
	score  float32
	repeat int32
	id     uint32 // the case id in caseIndex.ids, idN bytes
	sl     uint32 // the slices in caseIndex.sl, slN of them
	idN    uint16
	slN    uint8
	target uint8
	status uint8
	errKnd uint8 // 0: none; else errKinds.list[errKnd-1]
}

// failedBits is the number of criteria an entry's bits hold.
const failedBits = 32

// Arenas are chunks of arenaChunk values; a place in one is the chunk
// (12 bits) and the offset in it (20 bits), so that growing an arena never
// copies what it holds. A value longer than a chunk gets a chunk of its
// own.
const (
	arenaShift = 20
	arenaChunk = 1 << arenaShift
	maxChunks  = 1 << (32 - arenaShift)
)

// arena holds runs of values in chunks.
type arena[T any] struct{ chunks [][]T }

// add stores v, cut to max values, and returns where and how many.
func (a *arena[T]) add(v []T, max int) (at uint32, n int, err error) {
	v = v[:min(len(v), max)]
	if len(v) == 0 {
		return 0, 0, nil
	}
	last := len(a.chunks) - 1
	if last < 0 || len(a.chunks[last])+len(v) > cap(a.chunks[last]) {
		if len(a.chunks) == maxChunks {
			return 0, 0, errors.New("the run is too big to index: its case ids take more than 4 GB")
		}
		size := arenaChunk
		if len(v) > size {
			size = len(v)
		}
		a.chunks = append(a.chunks, make([]T, 0, size))
		last++
	}
	c := a.chunks[last]
	at = uint32(last)<<arenaShift | uint32(len(c))
	a.chunks[last] = append(c, v...)
	return at, len(v), nil
}

func (a *arena[T]) get(at uint32, n int) []T {
	if n == 0 {
		return nil
	}
	off := at & (arenaChunk - 1)
	return a.chunks[at>>arenaShift][off : off+uint32(n)]
}

// entryChunk is the number of entries of a chunk.
const entryChunk = 1 << 14

// names interns a set of names as small numbers, in the order first seen.
type names struct {
	list  []string
	index map[string]int
	limit int
}

func newNames(limit int) names { return names{index: map[string]int{}, limit: limit} }

// id returns the number of s, or -1 when the set is full.
func (n *names) id(s string) int {
	if i, ok := n.index[s]; ok {
		return i
	}
	if len(n.list) >= n.limit {
		return -1
	}
	n.index[s] = len(n.list)
	n.list = append(n.list, s)
	return len(n.list) - 1
}

// find returns the number of s, or -1 when s is not in the set.
func (n *names) find(s string) int {
	if i, ok := n.index[s]; ok {
		return i
	}
	return -1
}

// otherSlice stands for the slices past the index's limit, as a report's
// "(other)" does for a field's values past its limit.
const otherSlice = "(other)"

// caseIndex is the index of one run's results.
type caseIndex struct {
	targets, statuses, errKinds, criteria, slices names

	chunks [][]entry
	n      int
	ids    arena[byte]
	sl     arena[uint16]
	// more holds the failed criteria past the 32nd, by entry number.
	more map[int][]uint16
	// order is the entries in target, case id and repeat order when they
	// did not come in it; nil when they did.
	order []uint32
	// Bytes is an estimate of the memory the index holds.
	bytes int64
}

func newCaseIndex() *caseIndex {
	return &caseIndex{
		targets: newNames(math.MaxUint8 + 1), statuses: newNames(math.MaxUint8 + 1), errKinds: newNames(math.MaxUint8),
		criteria: newNames(math.MaxUint16 + 1), slices: newNames(math.MaxUint16), more: map[int][]uint16{},
	}
}

func (x *caseIndex) at(i int) *entry { return &x.chunks[i/entryChunk][i%entryChunk] }

// pos returns the entry at position p of the ordered cases.
func (x *caseIndex) pos(p int) (int, *entry) {
	i := p
	if x.order != nil {
		i = int(x.order[p])
	}
	return i, x.at(i)
}

// indexer builds a caseIndex from cases given one at a time.
type indexer struct {
	x        *caseIndex
	sorted   bool
	prev     history.Case
	slBuf    []uint16
	lastTgt  string
	lastTgtI int
}

func newIndexer() *indexer { return &indexer{x: newCaseIndex(), sorted: true, lastTgtI: -1} }

// add indexes c.
func (b *indexer) add(c *history.Case) error {
	x := b.x
	if x.n > 0 && b.sorted && caseLess(c, &b.prev) {
		b.sorted = false
	}
	if b.sorted {
		b.prev = history.Case{Target: c.Target, CaseID: c.CaseID, Repeat: c.Repeat}
	}
	ti := b.lastTgtI
	if c.Target != b.lastTgt || ti < 0 {
		ti = x.targets.id(c.Target)
		if ti < 0 {
			return fmt.Errorf("more than %d targets: the viewer shows up to that many", x.targets.limit)
		}
		b.lastTgt, b.lastTgtI = c.Target, ti
	}
	si := x.statuses.id(c.Status)
	if si < 0 {
		return fmt.Errorf("case %s: status %q: more than %d statuses", c.CaseID, c.Status, x.statuses.limit)
	}
	e := entry{off: c.Off, len: uint32(c.Len), target: uint8(ti), status: uint8(si), repeat: int32(min(c.Repeat, math.MaxInt32))}
	e.score = float32(math.NaN())
	if c.Score != nil {
		e.score = float32(*c.Score)
	}
	if c.ErrorKind != "" {
		if k := x.errKinds.id(c.ErrorKind); k >= 0 {
			e.errKnd = uint8(k + 1)
		}
	}
	var more []uint16
	for _, f := range c.Failed {
		k := x.criteria.id(f)
		switch {
		case k < 0:
		case k < failedBits:
			e.failed |= 1 << k
		default:
			more = append(more, uint16(k))
		}
	}
	b.slBuf = b.slBuf[:0]
	for _, s := range c.Slices {
		k := x.slices.id(s)
		if k < 0 {
			k = x.slices.find(otherSlice)
			if k < 0 {
				// The last number is kept for it.
				x.slices.limit++
				k = x.slices.id(otherSlice)
			}
		}
		if !slices.Contains(b.slBuf, uint16(k)) {
			b.slBuf = append(b.slBuf, uint16(k))
		}
	}
	at, n, err := x.sl.add(b.slBuf, math.MaxUint8)
	if err != nil {
		return err
	}
	e.sl, e.slN = at, uint8(n)
	if at, n, err = x.ids.add([]byte(c.CaseID), math.MaxUint16); err != nil {
		return err
	}
	e.id, e.idN = at, uint16(n)
	if x.n%entryChunk == 0 {
		x.chunks = append(x.chunks, make([]entry, 0, entryChunk))
		x.bytes += entryChunk * int64(entrySize)
	}
	last := len(x.chunks) - 1
	x.chunks[last] = append(x.chunks[last], e)
	if more != nil {
		x.more[x.n] = more
	}
	x.n++
	return nil
}

// entrySize is the size of an entry in memory.
const entrySize = 40

func caseLess(a, b *history.Case) bool {
	return cmp.Or(strings.Compare(a.Target, b.Target), strings.Compare(a.CaseID, b.CaseID), cmp.Compare(a.Repeat, b.Repeat)) < 0
}

// done finishes the index: when the cases did not come in order, it orders
// them, keeping of two results of one case and repeat the one written
// last (a resumed run's journal may hold both).
func (b *indexer) done() *caseIndex {
	x := b.x
	for _, c := range x.ids.chunks {
		x.bytes += int64(cap(c))
	}
	for _, c := range x.sl.chunks {
		x.bytes += int64(cap(c)) * 2
	}
	if b.sorted {
		return x
	}
	order := make([]uint32, x.n)
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(i, j uint32) int {
		a, b := x.at(int(i)), x.at(int(j))
		return cmp.Or(strings.Compare(x.targets.list[a.target], x.targets.list[b.target]),
			bytes.Compare(x.idOf(a), x.idOf(b)), cmp.Compare(a.repeat, b.repeat), cmp.Compare(a.off, b.off))
	})
	kept := order[:0]
	for k, i := range order {
		if k+1 < len(order) {
			a, b := x.at(int(i)), x.at(int(order[k+1]))
			if a.target == b.target && a.repeat == b.repeat && bytes.Equal(x.idOf(a), x.idOf(b)) {
				continue
			}
		}
		kept = append(kept, i)
	}
	x.order = slices.Clip(kept)
	x.bytes += int64(cap(x.order)) * 4
	return x
}

// len is the number of results indexed.
func (x *caseIndex) len() int {
	if x.order != nil {
		return len(x.order)
	}
	return x.n
}

func (x *caseIndex) idOf(e *entry) []byte { return x.ids.get(e.id, int(e.idN)) }

func (x *caseIndex) slicesOf(e *entry) []uint16 { return x.sl.get(e.sl, int(e.slN)) }

// caseOf returns the entry at i as a history.Case of run.
func (x *caseIndex) caseOf(run string, i int) history.Case {
	e := x.at(i)
	c := history.Case{RunID: run, Target: x.targets.list[e.target], CaseID: string(x.idOf(e)), Repeat: int(e.repeat),
		Status: x.statuses.list[e.status], Off: e.off, Len: int(e.len)}
	if !math.IsNaN(float64(e.score)) {
		s := float64(e.score)
		c.Score = &s
	}
	if e.errKnd > 0 {
		c.ErrorKind = x.errKinds.list[e.errKnd-1]
	}
	c.Failed = x.failedNames(i, e)
	for _, k := range x.slicesOf(e) {
		c.Slices = append(c.Slices, x.slices.list[k])
	}
	return c
}

func (x *caseIndex) failedNames(i int, e *entry) []string {
	var out []string
	for f := e.failed; f != 0; f &= f - 1 {
		out = append(out, x.criteria.list[bits.TrailingZeros32(f)])
	}
	for _, k := range x.more[i] {
		out = append(out, x.criteria.list[k])
	}
	return out
}

// hasCriterion reports whether criterion k failed in entry i.
func (x *caseIndex) hasCriterion(i int, e *entry, k int) bool {
	if k < failedBits {
		return e.failed&(1<<k) != 0
	}
	return slices.Contains(x.more[i], uint16(k))
}

// walk calls fn with each case of the index, in order, until fn returns an
// error; history.ErrStop ends the walk without one.
func (x *caseIndex) walk(run string, fn func(history.Case) error) error {
	for p := range x.len() {
		i, _ := x.pos(p)
		if err := fn(x.caseOf(run, i)); err != nil {
			if err == history.ErrStop {
				return nil
			}
			return err
		}
	}
	return nil
}
