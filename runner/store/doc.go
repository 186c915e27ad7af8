// Package store keeps rubric's response cache on disk in a SQLite database,
// and opens each of rubric's SQLite files the same way (OpenSQLite): the
// cache here, the run history in runner/history.
//
// # Engine
//
// The database is SQLite through modernc.org/sqlite, a translation of SQLite's
// C source to Go. It needs no cgo, so `go install` builds rubric on every
// platform without a C toolchain, and the same engine will hold run history.
// (Teams will keep run history in PostgreSQL; the cache stays local.)
//
// # Location
//
// DefaultPath is $RUBRIC_DB when it is set to a path, otherwise (unset, or a
// postgres:// URL, which names a team's history) rubric/rubric.db under
// the user's cache directory (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on
// Linux, ~/Library/Caches on macOS, %LocalAppData% on Windows). Open creates
// the file and its folders (mode 0700 and 0600: the file holds prompts and
// outputs) when they do not exist.
//
// # Several processes
//
// The database is in WAL mode, so readers never wait for the writer, and every
// connection waits up to 10 seconds for a lock held by another (busy_timeout);
// write transactions take the write lock when they begin (BEGIN IMMEDIATE), so
// they wait rather than fail halfway. Several rubric processes can use the
// same file at once. synchronous=NORMAL makes a commit cost no fsync: a power
// loss can lose the last commits, never corrupt the file, which is the right
// trade for a cache.
//
// # Schema
//
// The schema_version table holds the number of migrations applied; Open
// applies the missing ones in one transaction, and refuses a database written
// by a newer rubric. New tables are added as new migrations, never by editing
// an old one. OpenSQLite does the same for every file given its migrations;
// a file it opens read-only is neither created nor migrated, and must have
// this rubric's schema.
//
// # Response cache
//
// A cached response is keyed by CacheKey: a SHA-256 over the provider name, the
// base URL without credentials, the model, the exact request body and the
// repeat index. Headers are not part of the key, so API keys and other
// credentials never enter the key or the database. The body never holds a
// credential unless the user writes one into a target's extra_body, where it
// would be recorded in every result as well. A cached response keeps the
// answer's text, finish reason, usage, latency, stream timings and tool
// calls (migration 3 added their column; a file of an older schema is
// upgraded when opened, its answers kept, without calls).
//
// GetResponse reads SQLite directly. PutResponse only queues the entry: one
// goroutine writes the queue in transactions of up to 256 entries, at the
// latest 50ms after an entry was queued, so that storing a response never
// waits for the disk. Entries queued but not yet written are served by
// GetResponse all the same. Flush waits until everything queued is written;
// Close flushes, and must be called before the program exits, or the last
// responses are not cached. Close is the only thing a caller must not forget;
// a write that fails is not retried (the response is simply not cached): it is
// counted by DroppedWrites and returned by the next Flush or Close.
package store
