package session

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// RecordFinished records in h the run fin, read from its folder with the
// code that records a run when it ends: rubric push, which uploads a CI
// job's runs to a team's history. Only a finished run is recorded: one
// whose report says it was interrupted is refused (fin exists only for a
// folder with its report.json). Recording a run again replaces its
// record. Each result's line is stored with its case, so that the team's
// viewer shows the cases of a run whose folder is on the CI machine.
//
// The suite is not read (it may have changed since, or not be there): the
// metadata fields the cases are sliced by are those the report has slices
// of, and the commit is the one of the suite's folder as run.json names
// it, or $GITHUB_SHA, as when the run ended.
func RecordFinished(ctx context.Context, h history.Store, fin *rundir.Finished, getenv func(string) string) (*history.Run, error) {
	sum := fin.Summary
	dir := filepath.Dir(fin.Report)
	if !sum.Complete || sum.Interrupted {
		return nil, fmt.Errorf("run %s is not finished: it was interrupted or stopped early; finish it with rubric run --resume %s", dir, sum.RunID)
	}
	suiteDir := filepath.Dir(sum.SuitePath)
	if m, err := rundir.ReadManifest(dir); err == nil && m.Suite != "" {
		suiteDir = filepath.Dir(m.Suite)
	}
	return recordIn(ctx, h, sum, dir, fin.Results, reportFields(fin), suiteDir, getenv, true)
}

// reportFields are the metadata fields the run's report has slices of:
// every slice key but "tag". A tag written KEY=VALUE makes a slice of key
// KEY too, which a field of that name in a case's metadata then joins: the
// one way the index of a pushed run can differ from the one recorded when
// it ended.
func reportFields(fin *rundir.Finished) []string {
	var fields []string
	for _, t := range fin.Summary.Targets {
		for _, sl := range t.Slices {
			if sl.Key != "tag" && !slices.Contains(fields, sl.Key) {
				fields = append(fields, sl.Key)
			}
		}
	}
	return fields
}
