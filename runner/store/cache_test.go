package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

func TestCacheKeyStable(t *testing.T) {
	// The encoding, spelt out: a change to it changes every key and so
	// retires the whole cache. Do that on purpose (bump cacheKeyVersion),
	// not by accident.
	body := `{"model":"m","messages":[]}`
	enc := cacheKeyVersion +
		"\x06openai" +
		"\x18http://localhost:8000/v1" +
		"\x01m" +
		"\x1b" + body +
		"\x04" // repeat 2, zigzag varint
	want := sha256.Sum256([]byte(enc))
	if got := CacheKey("openai", "http://localhost:8000/v1", "m", []byte(body), 2); got != want {
		t.Errorf("CacheKey = %x, want %x", got, want)
	}
	const golden = "921a77dd25acd9d00f83611b122902fd4e6fa60b4b5d682bbd124521ecc9ef33"
	if got := hex.EncodeToString(want[:]); got != golden {
		t.Errorf("key = %s, want %s", got, golden)
	}
}

func TestCacheKeyInputs(t *testing.T) {
	type in struct {
		provider, baseURL, model, body string
		repeat                         int
	}
	base := in{"openai", "https://api.example.com/v1", "gpt", `{"model":"gpt","messages":[]}`, 0}
	key := func(v in) [32]byte { return CacheKey(v.provider, v.baseURL, v.model, []byte(v.body), v.repeat) }
	tests := []struct {
		name string
		edit func(*in)
		same bool
	}{
		{"provider", func(v *in) { v.provider = "vllm" }, false},
		{"base URL", func(v *in) { v.baseURL = "https://api.example.com/v2" }, false},
		{"base URL query", func(v *in) { v.baseURL += "?api-version=2024-06-01" }, false},
		{"model", func(v *in) { v.model = "gpt-mini" }, false},
		{"body", func(v *in) { v.body = `{"model":"gpt","messages":[],"temperature":0}` }, false},
		{"body whitespace", func(v *in) { v.body = `{"model":"gpt", "messages":[]}` }, false},
		{"repeat", func(v *in) { v.repeat = 1 }, false},
		{"negative repeat", func(v *in) { v.repeat = -1 }, false},
		{"boundary provider/URL", func(v *in) { v.provider, v.baseURL = "openaih", "ttps://api.example.com/v1" }, false},
		{"boundary model/body", func(v *in) { v.model, v.body = "gpt{", `"model":"gpt","messages":[]}` }, false},
		{"credentials in the URL", func(v *in) { v.baseURL = "https://me:s3cret@api.example.com/v1" }, true},
		{"user in the URL", func(v *in) { v.baseURL = "https://me@api.example.com/v1" }, true},
		{"@ in the password", func(v *in) { v.baseURL = "https://me:p@ss@api.example.com/v1" }, true},
		{"@ in the path", func(v *in) { v.baseURL = "https://api.example.com/v1/@x" }, false},
	}
	want := key(base)
	if key(base) != want {
		t.Fatal("CacheKey is not deterministic")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := base
			tt.edit(&v)
			if same := key(v) == want; same != tt.same {
				t.Errorf("same key = %v, want %v", same, tt.same)
			}
		})
	}
}

func testKey(who string, i int) [32]byte { return CacheKey("test", who, "", nil, i) }

func testResponse(who string, i int) CachedResponse {
	return CachedResponse{
		Text:    fmt.Sprintf("answer %s %d ✓", who, i),
		Finish:  "stop",
		Usage:   evals.Usage{PromptTokens: i, CompletionTokens: 2 * i, TotalTokens: 3 * i},
		Latency: time.Duration(i)*time.Millisecond + 123*time.Microsecond,
		Created: time.UnixMilli(1_700_000_000_000 + int64(i)),
	}
}

func mustGet(t testing.TB, db *DB, key [32]byte) CachedResponse {
	t.Helper()
	r, ok, err := db.GetResponse(context.Background(), key)
	if err != nil || !ok {
		t.Fatalf("GetResponse: ok %v, %v", ok, err)
	}
	return r
}

func sameResponse(t testing.TB, what string, got, want CachedResponse) {
	t.Helper()
	if got.Text != want.Text || got.Finish != want.Finish || got.Usage != want.Usage ||
		got.Latency != want.Latency || !got.Created.Equal(want.Created) ||
		(got.Stream == nil) != (want.Stream == nil) || got.Stream != nil && *got.Stream != *want.Stream ||
		!reflect.DeepEqual(got.ToolCalls, want.ToolCalls) {
		t.Errorf("%s: got %+v (stream %+v, calls %s), want %+v (stream %+v, calls %s)",
			what, got, got.Stream, callsText(got.ToolCalls), want, want.Stream, callsText(want.ToolCalls))
	}
}

// callsText shows tool calls for a message, their arguments as text.
func callsText(calls []evals.ToolCall) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "[%q %q %q %q]", c.ID, c.Name, c.Arguments, c.ArgumentsError)
	}
	return b.String()
}

// TestPutGetToolCalls: an answer's tool calls come back byte for byte, from
// the queue, from the file and from another handle: arguments with their
// spaces and escapes as the model wrote them, malformed ones with their
// mark, even bytes that are not UTF-8; an answer without calls has none.
func TestPutGetToolCalls(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	calls := testResponse("calls", 5)
	calls.Finish = "tool_calls"
	calls.ToolCalls = []evals.ToolCall{
		{ID: "call_1", Name: "lookup_order", Arguments: json.RawMessage(`{ "order_id" : "A1",  "note": "\u00e9 é <&>" }`)},
		{ID: "call_2", Name: "lookup_order", Arguments: json.RawMessage(`"{\"order_id\": A1}"`),
			ArgumentsError: "arguments are not JSON: invalid character 'A' looking for beginning of value"},
		{ID: "", Name: "refund", Arguments: json.RawMessage("{\"raw\":\"\xff\xfe\"}")},
	}
	none := testResponse("none", 6)
	for _, r := range []struct {
		key  [32]byte
		resp CachedResponse
	}{{testKey("calls", 5), calls}, {testKey("none", 6), none}} {
		if err := db.PutResponse(ctx, r.key, r.resp); err != nil {
			t.Fatal(err)
		}
		sameResponse(t, "queued", mustGet(t, db, r.key), r.resp)
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
		sameResponse(t, "written", mustGet(t, db, r.key), r.resp)
	}
	other, err := Open(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	got := mustGet(t, other, testKey("calls", 5))
	sameResponse(t, "other handle", got, calls)
	for i, c := range got.ToolCalls {
		if string(c.Arguments) != string(calls.ToolCalls[i].Arguments) {
			t.Errorf("call %d: arguments %q, want %q", i, c.Arguments, calls.ToolCalls[i].Arguments)
		}
	}
	if got := mustGet(t, other, testKey("none", 6)); got.ToolCalls != nil {
		t.Errorf("an answer without calls came back with %+v", got.ToolCalls)
	}

	// A value cut short is an error, not calls made up.
	bad := testKey("bad", 1)
	if _, err := db.sql.Exec(`INSERT INTO responses VALUES (?, 'x', 'tool_calls', 1, 1, 2, 5, 1700000000000, NULL, x'0663616c6c5f31')`, bad[:]); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.GetResponse(ctx, bad); ok || err == nil || !strings.Contains(err.Error(), "the tool calls are malformed after 0 calls") {
		t.Errorf("damaged tool calls: ok %v, %v", ok, err)
	}
}

// TestPutGetStream: a streamed answer's timings come back as they were
// stored, from the queue and from the file; an answer that came whole has
// none.
func TestPutGetStream(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	streamed := testResponse("s", 3)
	streamed.Stream = &evals.StreamTiming{FirstTokenMS: 81.25, FirstContentMS: 402.5, TokensPerSecond: 48.125}
	whole := testResponse("w", 4)
	for _, r := range []struct {
		key  [32]byte
		resp CachedResponse
	}{{testKey("s", 3), streamed}, {testKey("w", 4), whole}} {
		if err := db.PutResponse(ctx, r.key, r.resp); err != nil {
			t.Fatal(err)
		}
		sameResponse(t, "queued", mustGet(t, db, r.key), r.resp)
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
		sameResponse(t, "written", mustGet(t, db, r.key), r.resp)
	}
	// A value that is not three numbers is an error, not timings made up.
	bad := testKey("bad", 0)
	if _, err := db.sql.Exec(`INSERT INTO responses VALUES (?, 'x', 'stop', 1, 1, 2, 5, 1700000000000, x'0102', NULL)`, bad[:]); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.GetResponse(ctx, bad); ok || err == nil || !strings.Contains(err.Error(), "a stream timing of 2 bytes, expected 24") {
		t.Errorf("a damaged stream timing: ok %v, %v", ok, err)
	}
}

func TestPutGet(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if _, ok, err := db.GetResponse(ctx, testKey("a", 1)); ok || err != nil {
		t.Fatalf("empty cache: ok %v, %v", ok, err)
	}
	want := testResponse("a", 1)
	if err := db.PutResponse(ctx, testKey("a", 1), want); err != nil {
		t.Fatal(err)
	}
	sameResponse(t, "queued", mustGet(t, db, testKey("a", 1)), want)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := len(db.w.index); n != 0 {
		t.Errorf("%d entries still queued after Flush", n)
	}
	sameResponse(t, "written", mustGet(t, db, testKey("a", 1)), want)

	// A second handle reads it from the file.
	other, err := Open(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	sameResponse(t, "other handle", mustGet(t, other, testKey("a", 1)), want)

	// Put replaces; the newest queued entry wins over the stored one.
	newer := testResponse("b", 7)
	db.PutResponse(ctx, testKey("a", 1), newer)
	sameResponse(t, "replaced, queued", mustGet(t, db, testKey("a", 1)), newer)
	db.Flush()
	sameResponse(t, "replaced, written", mustGet(t, other, testKey("a", 1)), newer)

	// Created defaults to now.
	before := time.Now().Add(-time.Millisecond)
	db.PutResponse(ctx, testKey("c", 0), CachedResponse{Text: "x"})
	db.Flush()
	if got := mustGet(t, other, testKey("c", 0)); got.Created.Before(before) || got.Created.After(time.Now()) {
		t.Errorf("Created = %v, want about now", got.Created)
	}
}

func TestWrittenWithoutFlush(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	other, err := Open(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	db.PutResponse(ctx, testKey("a", 1), testResponse("a", 1))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok, _ := other.GetResponse(ctx, testKey("a", 1)); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("an entry put was not written within 5s without Flush")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseFlushes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rubric.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3*batchSize + 17
	for i := range n {
		if err := db.PutResponse(ctx, testKey("a", i), testResponse("a", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.PutResponse(ctx, testKey("a", 0), testResponse("a", 0)); err != ErrClosed {
		t.Errorf("PutResponse after Close: %v, want ErrClosed", err)
	}
	if _, _, err := db.GetResponse(ctx, testKey("a", 0)); err != ErrClosed {
		t.Errorf("GetResponse after Close: %v, want ErrClosed", err)
	}
	if err := db.Flush(); err != ErrClosed {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		sameResponse(t, fmt.Sprint("entry ", i), mustGet(t, db, testKey("a", i)), testResponse("a", i))
	}
	if db.DroppedWrites() != 0 {
		t.Errorf("DroppedWrites = %d", db.DroppedWrites())
	}
}

func TestClearCacheAndStats(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for i := range 10 {
		db.PutResponse(ctx, testKey("a", i), testResponse("a", i))
	}
	db.Flush()
	for i := 5; i < 15; i++ { // five replace, five are new and still queued
		db.PutResponse(ctx, testKey("a", i), testResponse("a", i))
	}
	st, err := db.CacheStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Entries != 15 || st.Bytes < int64(15*(32+len("answer a 0 ✓"))) {
		t.Errorf("CacheStats = %+v, want 15 entries and their bytes", st)
	}
	for i := 15; i < 20; i++ {
		db.PutResponse(ctx, testKey("a", i), testResponse("a", i))
	}
	n, err := db.ClearCache(ctx)
	if err != nil || n != 20 {
		t.Errorf("ClearCache = %d, %v; want 20", n, err)
	}
	for i := range 20 {
		if _, ok, _ := db.GetResponse(ctx, testKey("a", i)); ok {
			t.Errorf("entry %d still cached", i)
		}
	}
	if st, _ := db.CacheStats(ctx); st != (CacheStats{}) {
		t.Errorf("CacheStats after clear = %+v", st)
	}
}

func TestBacklog(t *testing.T) {
	db := openTest(t)
	const limit = 300
	db.w.limit = limit
	// Hold the writer goroutine, so that nothing is written.
	release := make(chan struct{})
	held := make(chan struct{})
	go db.w.do(func() { close(held); <-release })
	<-held
	ctx := context.Background()
	for i := range limit {
		if err := db.PutResponse(ctx, testKey("a", i), CachedResponse{}); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if err := db.PutResponse(ctx, testKey("a", -1), CachedResponse{}); err != ErrBacklog {
		t.Errorf("put past the queue's limit: %v, want ErrBacklog", err)
	}
	if db.DroppedWrites() != 1 {
		t.Errorf("DroppedWrites = %d, want 1", db.DroppedWrites())
	}
	close(release)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if st, _ := db.CacheStats(ctx); st.Entries != limit {
		t.Errorf("%d entries written, want %d", st.Entries, limit)
	}
}

func TestWriteFailure(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	// Another connection holds the write lock past the busy timeout? Too
	// slow; break the table instead.
	if _, err := db.sql.Exec(`ALTER TABLE responses RENAME TO gone`); err != nil {
		t.Fatal(err)
	}
	db.PutResponse(ctx, testKey("a", 1), testResponse("a", 1))
	db.PutResponse(ctx, testKey("a", 2), testResponse("a", 2))
	if err := db.Flush(); err == nil {
		t.Error("Flush: no error for a failed write")
	}
	if db.DroppedWrites() != 2 {
		t.Errorf("DroppedWrites = %d, want 2", db.DroppedWrites())
	}
	if err := db.Flush(); err != nil {
		t.Errorf("second Flush repeats the error: %v", err)
	}
	if _, ok, _ := db.GetResponse(ctx, testKey("a", 1)); ok {
		t.Error("an entry whose write failed is still served")
	}
	db.sql.Exec(`ALTER TABLE gone RENAME TO responses`)
}

// TestHandlesConcurrently has two handles on one file, each with several
// goroutines putting and getting, overlapping keys included.
func TestHandlesConcurrently(t *testing.T) {
	ctx := context.Background()
	a := openTest(t)
	b, err := Open(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const perWorker, workers = 300, 4
	var wg sync.WaitGroup
	for hi, db := range []*DB{a, b} {
		for w := range workers {
			wg.Go(func() {
				who := fmt.Sprintf("h%dw%d", hi, w)
				for i := range perWorker {
					if err := db.PutResponse(ctx, testKey(who, i), testResponse(who, i)); err != nil {
						t.Error(err)
						return
					}
					// Both handles write the shared keys.
					if err := db.PutResponse(ctx, testKey("shared", i%50), testResponse("shared", i%50)); err != nil {
						t.Error(err)
						return
					}
					other := fmt.Sprintf("h%dw%d", 1-hi, w)
					if _, _, err := db.GetResponse(ctx, testKey(other, i)); err != nil {
						t.Error(err)
						return
					}
					if i%97 == 0 {
						if err := db.Flush(); err != nil {
							t.Error(err)
							return
						}
					}
				}
			})
		}
	}
	wg.Wait()
	for _, db := range []*DB{a, b} {
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for hi := range 2 {
		for w := range workers {
			who := fmt.Sprintf("h%dw%d", hi, w)
			for i := range perWorker {
				sameResponse(t, who, mustGet(t, a, testKey(who, i)), testResponse(who, i))
				sameResponse(t, who, mustGet(t, b, testKey(who, i)), testResponse(who, i))
			}
		}
	}
	st, err := a.CacheStats(ctx)
	if err != nil || st.Entries != 2*workers*perWorker+50 {
		t.Errorf("CacheStats = %+v, %v; want %d entries", st, err, 2*workers*perWorker+50)
	}
	if a.DroppedWrites()+b.DroppedWrites() != 0 {
		t.Errorf("dropped writes: %d and %d", a.DroppedWrites(), b.DroppedWrites())
	}
}

// envWriter makes the test binary a second process that writes to a
// database: see TestProcessesConcurrently.
const envWriter = "RUBRIC_STORE_TEST_WRITER"

// processWrites writes n entries as who, flushing often, so that its
// transactions interleave with another process's.
func processWrites(path, who string, n int) error {
	db, err := Open(path)
	if err != nil {
		return err
	}
	ctx := context.Background()
	for i := range n {
		if err := db.PutResponse(ctx, testKey(who, i), testResponse(who, i)); err != nil {
			db.Close()
			return err
		}
		if _, _, err := db.GetResponse(ctx, testKey("shared", i)); err != nil {
			db.Close()
			return err
		}
		db.PutResponse(ctx, testKey("shared", i), testResponse("shared", i))
		if i%50 == 0 {
			if err := db.Flush(); err != nil {
				db.Close()
				return err
			}
		}
	}
	return db.Close()
}

func TestProcessesConcurrently(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	// A new file: both processes create the schema at once.
	path := filepath.Join(t.TempDir(), "rubric.db")
	const n = 1500
	var cmds []*exec.Cmd
	for i := range 2 {
		cmd := exec.Command(exe, "-test.run=^TestProcessWriter$", "-test.count=1")
		cmd.Env = append(os.Environ(), envWriter+"="+path, envWriter+"_WHO=p"+strconv.Itoa(i), envWriter+"_N="+strconv.Itoa(n))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	ownErr := processWrites(path, "self", n)
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	if ownErr != nil {
		t.Fatal(ownErr)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, who := range []string{"self", "p0", "p1", "shared"} {
		for i := range n {
			sameResponse(t, who, mustGet(t, db, testKey(who, i)), testResponse(who, i))
		}
	}
}

// TestProcessWriter is the second process of TestProcessesConcurrently.
func TestProcessWriter(t *testing.T) {
	path := os.Getenv(envWriter)
	if path == "" {
		t.Skip("run by TestProcessesConcurrently")
	}
	n, _ := strconv.Atoi(os.Getenv(envWriter + "_N"))
	if err := processWrites(path, os.Getenv(envWriter+"_WHO"), n); err != nil {
		t.Fatal(err)
	}
}

func TestWithoutUserinfo(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example.com/v1":              "https://api.example.com/v1",
		"https://me:pw@api.example.com/v1":        "https://api.example.com/v1",
		"https://me:p@ss@api.example.com:8443/v1": "https://api.example.com:8443/v1",
		"https://me@api.example.com":              "https://api.example.com",
		"http://h/v1/@x?q=a@b#f@g":                "http://h/v1/@x?q=a@b#f@g",
		"http://u:p@h?q=a@b":                      "http://h?q=a@b",
		"not a url @ all":                         "not a url @ all",
		"":                                        "",
	} {
		if got := withoutUserinfo(in); got != want {
			t.Errorf("withoutUserinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPruneCache deletes the responses stored before a time, queued ones
// included, and keeps the rest.
func TestPruneCache(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	old := time.Now().Add(-48 * time.Hour)
	for i := range 6 {
		r := testResponse("a", i)
		r.Created = old
		if i >= 3 {
			r.Created = time.Now()
		}
		db.PutResponse(ctx, testKey("a", i), r)
		if i == 1 {
			db.Flush() // some written, some still queued
		}
	}
	n, err := db.PruneCache(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("PruneCache = %d, %v; want 3", n, err)
	}
	for i := range 6 {
		_, ok, _ := db.GetResponse(ctx, testKey("a", i))
		if ok != (i >= 3) {
			t.Errorf("entry %d cached = %v, want %v", i, ok, i >= 3)
		}
	}
}
