package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// CachedResponse is a model's answer as the cache keeps it.
type CachedResponse struct {
	Text   string
	Finish string
	Usage  evals.Usage
	// Latency is the latency of the call whose answer this is.
	Latency time.Duration
	// Stream is when that call's tokens came, when it was streamed; nil
	// otherwise.
	Stream *evals.StreamTiming
	// ToolCalls are the tools the answer called, in order, their
	// arguments kept byte for byte; nil when it called none.
	ToolCalls []evals.ToolCall
	// Created is when the answer was stored; PutResponse sets it to now when
	// it is zero. It is kept to the millisecond.
	Created time.Time
}

// cacheKeyVersion starts every key, so that a change to the encoding, or to
// what a cached response means, can retire every old entry at once.
const cacheKeyVersion = "rubric response cache v1\x00"

// CacheKey returns the cache key of a request: a SHA-256 over the provider
// name, the base URL, the model, the exact request body and the repeat index,
// each prefixed by its length so that no two different requests can encode
// alike by moving bytes across a field boundary. Credentials in the base URL
// (https://user:password@host) are left out, and headers, which carry the API
// key, are not an input: a key depends on what is asked, never on who asks.
func CacheKey(provider, baseURL, model string, body []byte, repeat int) [32]byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	field := func(s string) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	h.Write([]byte(cacheKeyVersion))
	field(provider)
	field(withoutUserinfo(baseURL))
	field(model)
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(body)))])
	h.Write(body)
	h.Write(n[:binary.PutVarint(n[:], int64(repeat))])
	var key [32]byte
	h.Sum(key[:0])
	return key
}

// withoutUserinfo drops the user and password from a URL, and leaves every
// other byte as it is.
func withoutUserinfo(s string) string {
	scheme := strings.Index(s, "://")
	if scheme < 0 {
		return s
	}
	host := s[scheme+3:]
	if end := strings.IndexAny(host, "/?#"); end >= 0 {
		host = host[:end]
	}
	at := strings.LastIndexByte(host, '@')
	if at < 0 {
		return s
	}
	return s[:scheme+3] + s[scheme+3+at+1:]
}

// Write-behind settings: a transaction writes at most batchSize entries; an
// entry waits at most maxDelay before its batch is written; past maxQueue
// entries waiting, PutResponse drops new ones rather than grow without bound
// while another process holds the write lock.
const (
	batchSize = 256
	maxDelay  = 50 * time.Millisecond
	maxQueue  = 1 << 16
)

// ErrBacklog is returned by PutResponse when too many entries are waiting to
// be written; the entry is not cached.
var ErrBacklog = errors.New("store: too many cache entries waiting to be written")

// GetResponse returns the response cached under key; ok is false when there
// is none. Responses queued by PutResponse but not yet written are found too.
func (db *DB) GetResponse(ctx context.Context, key [32]byte) (r CachedResponse, ok bool, err error) {
	if r, ok := db.w.pending(key); ok {
		return r, true, nil
	}
	if db.w.isClosed() {
		return r, false, ErrClosed
	}
	var latency, created int64
	var stream, calls []byte
	err = db.get.QueryRowContext(ctx, key[:]).Scan(&r.Text, &r.Finish,
		&r.Usage.PromptTokens, &r.Usage.CompletionTokens, &r.Usage.TotalTokens, &latency, &created, &stream, &calls)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return CachedResponse{}, false, nil
	case err != nil:
		return CachedResponse{}, false, fmt.Errorf("reading the response cache: %w", explain(err))
	}
	r.Latency = time.Duration(latency)
	r.Created = time.UnixMilli(created)
	if r.Stream, err = decodeStream(stream); err != nil {
		return CachedResponse{}, false, fmt.Errorf("reading the response cache: %w", err)
	}
	if r.ToolCalls, err = decodeCalls(calls); err != nil {
		return CachedResponse{}, false, fmt.Errorf("reading the response cache: %w", err)
	}
	return r, true, nil
}

// PutResponse caches r under key, replacing any response there. It only
// queues the entry, which is written within about 50ms; Flush or Close waits
// for it. It fails only when the DB is closed (ErrClosed) or the queue is
// full (ErrBacklog).
func (db *DB) PutResponse(ctx context.Context, key [32]byte, r CachedResponse) error {
	if r.Created.IsZero() {
		r.Created = time.Now()
	}
	return db.w.add(key, r)
}

// Flush waits until every response queued before the call is written, and
// returns the errors of the writes that failed since the last Flush.
func (db *DB) Flush() error {
	var err error
	if !db.w.do(func() { err = db.w.drain() }) {
		return ErrClosed
	}
	return err
}

// ClearCache deletes every cached response, those still queued included, and
// returns how many there were. Other tables are untouched. The file does not
// shrink: SQLite reuses the freed pages.
func (db *DB) ClearCache(ctx context.Context) (int64, error) {
	return db.deleteResponses(ctx, `DELETE FROM responses`)
}

// PruneCache deletes the cached responses stored before t, those still
// queued included, and returns how many there were.
func (db *DB) PruneCache(ctx context.Context, t time.Time) (int64, error) {
	return db.deleteResponses(ctx, `DELETE FROM responses WHERE created_ms < ?`, t.UnixMilli())
}

func (db *DB) deleteResponses(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	var err error
	// The writer does it, between two batches, so that no batch already
	// taken from the queue lands after the delete. It writes the queue
	// first, so that the count is of distinct responses.
	if !db.w.do(func() {
		db.w.keep(db.w.drain())
		var res sql.Result
		if res, err = db.sql.ExecContext(ctx, query, args...); err != nil {
			err = fmt.Errorf("clearing the response cache: %w", explain(err))
			return
		}
		n, _ = res.RowsAffected()
	}) {
		return 0, ErrClosed
	}
	return n, err
}

// CacheStats describes the response cache.
type CacheStats struct {
	Entries int64
	// Bytes approximates the space the entries take: their keys, texts and
	// numbers, without SQLite's own overhead.
	Bytes int64
}

// CacheStats writes the queue and counts the cached responses. A failed
// write is left for Flush or Close to report.
func (db *DB) CacheStats(ctx context.Context) (CacheStats, error) {
	var s CacheStats
	if !db.w.do(func() { db.w.keep(db.w.drain()) }) {
		return s, ErrClosed
	}
	err := db.read.QueryRowContext(ctx, `SELECT count(*),
		coalesce(sum(length(key) + length(CAST(text AS BLOB)) + length(CAST(finish AS BLOB)) + coalesce(length(stream), 0) + coalesce(length(tool_calls), 0) + 5*8), 0)
		FROM responses`).Scan(&s.Entries, &s.Bytes)
	if err != nil {
		return s, fmt.Errorf("reading the response cache: %w", err)
	}
	return s, nil
}

// DroppedWrites returns how many responses were not cached because their
// write failed or the queue was full.
func (db *DB) DroppedWrites() int64 { return db.w.dropped.Load() }

// writer is the write-behind queue and the goroutine that empties it.
type writer struct {
	db *DB

	mu     sync.Mutex
	queue  []entry
	index  map[[32]byte]entry // the newest queued entry per key, for reads
	seq    uint64
	closed bool
	err    error // of failed writes since the last Flush
	limit  int   // maxQueue; tests lower it

	first   chan struct{} // an entry arrived in an empty queue: start the clock
	full    chan struct{} // the queue holds a batch: write now
	reqs    chan func()   // run by the writer goroutine between batches
	stop    chan struct{}
	exited  chan struct{}
	dropped atomic.Int64
}

type entry struct {
	key [32]byte
	seq uint64
	r   CachedResponse
}

func newWriter(db *DB) *writer {
	w := &writer{
		db:     db,
		limit:  maxQueue,
		index:  make(map[[32]byte]entry),
		first:  make(chan struct{}, 1),
		full:   make(chan struct{}, 1),
		reqs:   make(chan func()),
		stop:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go w.loop()
	return w
}

func (w *writer) loop() {
	defer close(w.exited)
	timer := time.NewTimer(maxDelay)
	timer.Stop()
	for {
		select {
		case <-w.first:
			timer.Reset(maxDelay)
			continue
		case <-timer.C:
		case <-w.full:
		case f := <-w.reqs:
			f()
			continue
		case <-w.stop:
			w.keep(w.drain())
			return
		}
		w.keep(w.drain())
	}
}

// keep remembers a write error for the next Flush or Close.
func (w *writer) keep(err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// do runs f on the writer goroutine and waits for it; it reports false when
// the writer has stopped.
func (w *writer) do(f func()) bool {
	done := make(chan struct{})
	select {
	case w.reqs <- func() { f(); close(done) }:
		<-done
		return true
	case <-w.exited:
		return false
	}
}

func (w *writer) add(key [32]byte, r CachedResponse) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if len(w.queue) >= w.limit {
		w.dropped.Add(1)
		return ErrBacklog
	}
	w.seq++
	e := entry{key: key, seq: w.seq, r: r}
	w.queue = append(w.queue, e)
	w.index[key] = e
	switch len(w.queue) {
	case 1:
		signal(w.first)
	case batchSize:
		signal(w.full)
	}
	return nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (w *writer) pending(key [32]byte) (CachedResponse, bool) {
	w.mu.Lock()
	e, ok := w.index[key]
	w.mu.Unlock()
	return e.r, ok
}

func (w *writer) isClosed() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

// drain writes the whole queue, a batch per transaction, and returns the
// errors since the last drain that returned them.
func (w *writer) drain() error {
	for {
		w.mu.Lock()
		n := min(len(w.queue), batchSize)
		if n == 0 {
			err := w.err
			w.err = nil
			w.mu.Unlock()
			return err
		}
		batch := w.queue[:n:n]
		w.queue = w.queue[n:]
		if len(w.queue) == 0 {
			w.queue = nil
		}
		w.mu.Unlock()

		err := w.write(batch)

		w.mu.Lock()
		for _, e := range batch {
			if w.index[e.key].seq == e.seq {
				delete(w.index, e.key)
			}
		}
		if err != nil {
			w.dropped.Add(int64(len(batch)))
			if w.err == nil {
				w.err = err
			}
		}
		w.mu.Unlock()
	}
}

// write stores a batch in one transaction.
func (w *writer) write(batch []entry) error {
	// Background, not a caller's context: the write must not be cut short by
	// the end of a run. busy_timeout bounds the wait for the lock.
	ctx := context.Background()
	tx, err := w.db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("writing the response cache: %w", explain(err))
	}
	defer tx.Rollback()
	put := tx.StmtContext(ctx, w.db.put)
	for _, e := range batch {
		r := e.r
		if _, err := put.ExecContext(ctx, e.key[:], r.Text, r.Finish, r.Usage.PromptTokens, r.Usage.CompletionTokens,
			r.Usage.TotalTokens, int64(r.Latency), r.Created.UnixMilli(), encodeStream(r.Stream), encodeCalls(r.ToolCalls)); err != nil {
			return fmt.Errorf("writing the response cache: %w", explain(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("writing the response cache: %w", explain(err))
	}
	return nil
}

// encodeStream is the stream column's value for st: its three numbers as
// little-endian float64s, or nil (NULL) for none.
func encodeStream(st *evals.StreamTiming) []byte {
	if st == nil {
		return nil
	}
	b := make([]byte, 0, 24)
	for _, v := range []float64{st.FirstTokenMS, st.FirstContentMS, st.TokensPerSecond} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// decodeStream reads a stream column; nil for NULL.
func decodeStream(b []byte) (*evals.StreamTiming, error) {
	if b == nil {
		return nil, nil
	}
	if len(b) != 24 {
		return nil, fmt.Errorf("a stream timing of %d bytes, expected 24", len(b))
	}
	v := func(i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])) }
	return &evals.StreamTiming{FirstTokenMS: v(0), FirstContentMS: v(1), TokensPerSecond: v(2)}, nil
}

// encodeCalls is the tool_calls column's value for calls: for each call,
// its ID, Name, Arguments and ArgumentsError, each as a uvarint length and
// the bytes; or nil (NULL) for none. Lengths, not JSON, so that the
// arguments come back exactly as the model wrote them, whatever bytes they
// hold.
func encodeCalls(calls []evals.ToolCall) []byte {
	if len(calls) == 0 {
		return nil
	}
	n := 0
	for _, c := range calls {
		n += 4*binary.MaxVarintLen32 + len(c.ID) + len(c.Name) + len(c.Arguments) + len(c.ArgumentsError)
	}
	b := make([]byte, 0, n)
	for _, c := range calls {
		for _, f := range [...]string{c.ID, c.Name, string(c.Arguments), c.ArgumentsError} {
			b = binary.AppendUvarint(b, uint64(len(f)))
			b = append(b, f...)
		}
	}
	return b
}

// decodeCalls reads a tool_calls column; nil for NULL.
func decodeCalls(b []byte) ([]evals.ToolCall, error) {
	if b == nil {
		return nil, nil
	}
	var calls []evals.ToolCall
	for len(b) > 0 {
		var f [4][]byte
		for i := range f {
			n, size := binary.Uvarint(b)
			if size <= 0 || n > uint64(len(b)-size) {
				return nil, fmt.Errorf("the tool calls are malformed after %d calls", len(calls))
			}
			f[i], b = b[size:size+int(n)], b[size+int(n):]
		}
		c := evals.ToolCall{ID: string(f[0]), Name: string(f[1]), ArgumentsError: string(f[3])}
		if len(f[2]) > 0 {
			c.Arguments = json.RawMessage(bytes.Clone(f[2]))
		}
		calls = append(calls, c)
	}
	return calls, nil
}

// close stops taking entries, writes those queued, and stops the goroutine.
func (w *writer) close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.exited
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.err
	w.err = nil
	return err
}
