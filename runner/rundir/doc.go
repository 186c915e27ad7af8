// Package rundir owns a run folder: the names of its files, and reading and
// writing each of them in one place.
//
//	DIR/RUN_ID/run.json       Manifest: what the run was started with, for --resume
//	DIR/RUN_ID/results.jsonl  the journal: one result per line, as each completes
//	DIR/RUN_ID/report.json    the summary (evals.Summary), written when the run ends
//	DIR/RUN_ID/run.lock       held by the process writing in the folder
//	DIR/RUN_ID/batch.db       the answers of the run's batches (docs/batch.md)
//
// A run is named by its folder, its id under the runs folder, or "latest"
// (Find, ReadRun). The journal survives a crash: a torn last line is cut
// when the run resumes (ReadJournal, AppendJournal).
package rundir

// The files of a run folder.
const (
	ManifestFile = "run.json"
	ResultsFile  = "results.jsonl"
	ReportFile   = "report.json"
	// BatchFile holds the answers a run's batches returned (docs/batch.md),
	// a response cache of the run's own (runner/store).
	BatchFile = "batch.db"
)

// DefaultOut is the runs folder when none is given.
const DefaultOut = "rubric-runs"
