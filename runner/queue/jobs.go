package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rubric-eval/rubric/evals"
)

// Job is one case of a run for one target and repeat: River's job args.
// All four fields make the job unique: enqueuing it again while it waits,
// runs or is done (until River's cleaner removes it) adds nothing.
type Job struct {
	Run    string `json:"run" river:"unique"`
	Target string `json:"target" river:"unique"`
	Case   string `json:"case" river:"unique"`
	Repeat int    `json:"repeat" river:"unique"`
}

// Kind is River's name for rubric's jobs.
func (Job) Kind() string { return "rubric_case" }

// MaxAttempts is how many times a job is tried (a worker killed while it
// ran counts as one) before River discards it and the coordinator stops
// with its error.
const MaxAttempts = 5

// InsertOpts puts the job in rubric's queue, unique by its args.
func (Job) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Name, MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Source is the suite of a run, as the coordinator loaded it; a worker
// loads the same files, refusing them when their SHA-256 differ.
type Source struct {
	Suite         string            `json:"suite"` // an absolute path
	SuiteSHA256   string            `json:"suite_sha256"`
	Dataset       string            `json:"dataset,omitempty"`
	DatasetSHA256 string            `json:"dataset_sha256,omitempty"`
	Load          evals.LoadOptions `json:"load"`
}

// Start records the source of run id; a run started again (a coordinator
// re-attaching) keeps the source it has.
func (q *Queue) Start(ctx context.Context, id string, src Source) error {
	b, err := json.Marshal(src)
	if err != nil {
		return err
	}
	_, err = q.pool.Exec(ctx, `INSERT INTO rubric_queue_runs (run, source) VALUES ($1, $2) ON CONFLICT (run) DO NOTHING`, id, b)
	return q.wrap(err)
}

// source reads the source of run id.
func (q *Queue) source(ctx context.Context, id string) (*Source, error) {
	var b []byte
	err := q.pool.QueryRow(ctx, `SELECT source FROM rubric_queue_runs WHERE run = $1`, id).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("run %s is not in the queue (its coordinator has finished it, or never started it)", id)
	}
	if err != nil {
		return nil, q.wrap(err)
	}
	var src Source
	if err := json.Unmarshal(b, &src); err != nil {
		return nil, fmt.Errorf("run %s: its source: %w", id, err)
	}
	return &src, nil
}

// batch is how many jobs one InsertMany takes.
const batch = 1000

// Enqueuer adds the jobs of one run in batches: Add, then Flush.
type Enqueuer struct {
	q       *Queue
	pending []river.InsertManyParams
	// Added counts the jobs inserted, Skipped those that were there.
	Added, Skipped int
}

// Enqueuer returns an Enqueuer of q.
func (q *Queue) Enqueuer() *Enqueuer { return &Enqueuer{q: q} }

// Add queues j, inserting a batch when one is full.
func (e *Enqueuer) Add(ctx context.Context, j Job) error {
	e.pending = append(e.pending, river.InsertManyParams{Args: j})
	if len(e.pending) >= batch {
		return e.Flush(ctx)
	}
	return nil
}

// Flush inserts the jobs added since the last Flush.
func (e *Enqueuer) Flush(ctx context.Context) error {
	if len(e.pending) == 0 {
		return nil
	}
	res, err := e.q.river.InsertMany(ctx, e.pending)
	if err != nil {
		return e.q.wrap(fmt.Errorf("enqueuing: %w", err))
	}
	for _, r := range res {
		if r.UniqueSkippedAsDuplicate {
			e.Skipped++
		} else {
			e.Added++
		}
	}
	e.pending = e.pending[:0]
	return nil
}

// Results calls fn with up to limit results of run id that have not been
// marked journaled, in the order they were stored, and returns their
// numbers for Journaled.
func (q *Queue) Results(ctx context.Context, id string, limit int, fn func(line []byte) error) ([]int64, error) {
	rows, err := q.pool.Query(ctx, `SELECT n, result FROM rubric_queue_results
		WHERE run = $1 AND NOT journaled ORDER BY n LIMIT $2`, id, limit)
	if err != nil {
		return nil, q.wrap(err)
	}
	defer rows.Close()
	var ns []int64
	for rows.Next() {
		var n int64
		var line []byte
		if err := rows.Scan(&n, &line); err != nil {
			return nil, q.wrap(err)
		}
		if err := fn(line); err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	return ns, q.wrap(rows.Err())
}

// Journaled marks results of run id as written to its journal.
func (q *Queue) Journaled(ctx context.Context, id string, ns []int64) error {
	if len(ns) == 0 {
		return nil
	}
	_, err := q.pool.Exec(ctx, `UPDATE rubric_queue_results SET journaled = true WHERE run = $1 AND n = ANY($2)`, id, ns)
	return q.wrap(err)
}

// Failed returns the jobs of run id that River gave up on (discarded after
// MaxAttempts, or cancelled) since since, each with its last error, up to
// max of them.
func (q *Queue) Failed(ctx context.Context, id string, since time.Time, max int) ([]string, error) {
	res, err := q.river.JobList(ctx, river.NewJobListParams().Kinds(Job{}.Kind()).Queues(Name).
		States(rivertype.JobStateDiscarded, rivertype.JobStateCancelled).
		Where("args->>'run' = @run AND finalized_at >= @since", river.NamedArgs{"run": id, "since": since}).First(max))
	if err != nil {
		return nil, q.wrap(err)
	}
	var out []string
	for _, j := range res.Jobs {
		var a Job
		_ = json.Unmarshal(j.EncodedArgs, &a)
		msg := "no error recorded"
		if n := len(j.Errors); n > 0 {
			msg = j.Errors[n-1].Error
		}
		out = append(out, fmt.Sprintf("case %q, target %s, repeat %d: %s after %d attempts: %s", a.Case, a.Target, a.Repeat, j.State, j.Attempt, strings.TrimSpace(msg)))
	}
	return out, nil
}

// Now is the database's clock.
func (q *Queue) Now(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := q.pool.QueryRow(ctx, `SELECT now()`).Scan(&t)
	return t, q.wrap(err)
}

// Finish removes what the queue keeps of run id once its coordinator has
// every result: its results, its rate buckets, its source and its jobs.
func (q *Queue) Finish(ctx context.Context, id string) error {
	return q.wrap(pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
		for _, t := range []string{"rubric_queue_results", "rubric_queue_rates", "rubric_queue_runs"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE run = $1`, id); err != nil {
				return err
			}
		}
		// The run's jobs, done: River would keep them a day, which for a
		// queue of many large runs is a table of millions of rows to no
		// use (the run's results are in its journal).
		_, err := tx.Exec(ctx, `DELETE FROM river_job WHERE kind = $1 AND args @> jsonb_build_object('run', $2::text)
			AND state IN ('completed', 'cancelled', 'discarded')`, Job{}.Kind(), id)
		return err
	}))
}
