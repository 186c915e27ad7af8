package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// Latest names the run that started last: "latest" where a run is accepted.
const Latest = "latest"

// Find returns the folder of a run given as a folder, as a run id under the
// runs folder out, or as Latest; the folder must hold a journal.
func Find(ref, out string) (string, error) {
	if ref == Latest {
		return LatestRun(out)
	}
	for _, dir := range []string{ref, filepath.Join(out, ref)} {
		if _, err := os.Stat(filepath.Join(dir, ResultsFile)); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%s is not a run: neither it nor %s is a folder with a %s", ref, filepath.Join(out, ref), ResultsFile)
}

// Locate returns the folder a run reference names, as --resume reads it:
// Latest, an existing folder, or else a run id under out. The folder need
// not be a run; reading its manifest says so.
func Locate(ref, out string) (string, error) {
	if ref == Latest {
		return LatestRun(out)
	}
	if st, err := os.Stat(ref); err == nil && st.IsDir() {
		return ref, nil
	}
	return filepath.Join(out, ref), nil
}

// LatestRun returns the run under out that started last, by the start time
// in its run.json (to the nanosecond: two runs may start within the second
// their ids name).
func LatestRun(out string) (string, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return "", fmt.Errorf("latest: %w", err)
	}
	var best string
	var bestTime time.Time
	for _, e := range entries {
		dir := filepath.Join(out, e.Name())
		if _, err := os.Stat(filepath.Join(dir, ResultsFile)); err != nil || !e.IsDir() {
			continue
		}
		m, err := ReadManifest(dir)
		if err != nil {
			continue
		}
		if best == "" || !m.Started.Before(bestTime) {
			best, bestTime = dir, m.Started
		}
	}
	if best == "" {
		return "", fmt.Errorf("latest: no run in %s", out)
	}
	return best, nil
}

// Finished is a finished run: its report and where its files are.
type Finished struct {
	Summary *evals.Summary
	// Report and Results are the paths of report.json and of the journal.
	Report  string
	Results string
}

// ReadRun reads the report of the run ref names: a folder, its report.json,
// a run id under out, or Latest, the run under out that started last.
func ReadRun(ref, out string) (*Finished, error) {
	if ref == Latest {
		dir, err := LatestRun(out)
		if err != nil {
			return nil, err
		}
		ref = dir
	}
	dir := ref
	if st, err := os.Stat(ref); err == nil && !st.IsDir() {
		dir = filepath.Dir(ref) // report.json itself
	} else if err != nil || !st.IsDir() {
		dir = filepath.Join(out, ref)
	}
	path := filepath.Join(dir, ReportFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if _, merr := os.Stat(filepath.Join(dir, ManifestFile)); merr == nil {
			return nil, fmt.Errorf("run %s: it has no %s: it did not finish; finish it with rubric run --resume %s", ref, ReportFile, ref)
		}
		return nil, fmt.Errorf("run %s: not a run folder (no %s); give a folder or id that rubric run printed, with the same --out", ref, ReportFile)
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", ref, err)
	}
	var sum evals.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sum.ReportVersion != evals.ReportVersion {
		return nil, fmt.Errorf("%s: report_version %d: expected %d, which this rubric writes and reads", path, sum.ReportVersion, evals.ReportVersion)
	}
	results := sum.ResultsFile
	if results == "" {
		results = ResultsFile
	}
	if !filepath.IsAbs(results) {
		results = filepath.Join(dir, results)
	}
	return &Finished{Summary: &sum, Report: path, Results: results}, nil
}
