// Package queue spreads a run over worker processes on any number of
// machines through a job queue in PostgreSQL (River, riverqueue/river):
// rubric run --queue enqueues a job per case, target and repeat (Enqueue);
// rubric worker processes take them (Work), send each case as runner.Run
// would (runner.RunCase), and store its result and complete its job in one
// transaction, so that a case never has two results; the coordinator reads
// the results as they come (Results) into the run's journal.
//
// A target's rate limit holds across the workers of a run: its buckets are
// rows of rubric_queue_rates, which every worker takes its turns from
// (Buckets). See docs/workers.md.
package queue
