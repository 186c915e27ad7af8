package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// Recordings are what Score scores instead of calling the model: an earlier
// run's responses, or a log of interactions read with a mapping.
type Recordings struct {
	// Run is the folder of the earlier run to rescore; empty for a log.
	Run string
	// Log is the log file, read with Mapping. Its responses are reported
	// under Target, unless the mapping names a target per line.
	Log     string
	Mapping *datasets.Mapping
	Target  string
	// SkipInvalid skips, and counts, the log lines that cannot be read,
	// instead of stopping with exit 2.
	SkipInvalid bool
	// Concurrency is the number of responses scored at once; the number of
	// CPUs when 0.
	Concurrency int
}

// badLine marks an error in the log or the run read: exit 2.
type badLine struct{ err error }

func (e *badLine) Error() string { return e.err.Error() }
func (e *badLine) Unwrap() error { return e.err }

// Score scores recorded responses with the criteria of s, without calling
// the model (judges still call theirs), into a run folder of its own, which
// report, export and compare read like any other. A line that cannot be read
// stops it with exit 2 and keeps nothing, unless rec.SkipInvalid.
func Score(ctx context.Context, s *build.Suite, rec Recordings, opts Options) *Outcome {
	defer s.Close()
	out := &Outcome{}
	sum, err := score(ctx, s, rec, opts)
	if sum != nil {
		out.Runs = append(out.Runs, sum)
	}
	out.Err = err
	return out
}

func score(ctx context.Context, s *build.Suite, rec Recordings, opts Options) (*evals.Summary, error) {
	m := &rundir.Manifest{Load: opts.Build.Load, Repeat: 1, Kind: rundir.KindScore, Source: rec.Run}
	target := rec.Target
	if rec.Run == "" {
		m.Source, m.Mapping = rec.Log, rec.Mapping.String()
		if target == "" {
			target = strings.TrimSuffix(filepath.Base(rec.Log), filepath.Ext(rec.Log))
		}
	}
	f, err := create(ctx, s, opts, "score", m)
	if err != nil {
		return nil, err
	}
	defer f.close()
	so := runner.ScoreOptions{RunID: f.id, Suite: s.Suite, Criteria: s.Criteria, Concurrency: rec.Concurrency}
	var skipped *skips
	if rec.Run != "" {
		so.Targets, so.Total, so.Repeat = priorTargets(rec.Run)
		so.Read = journalReader(filepath.Join(rec.Run, rundir.ResultsFile))
		fmt.Fprintf(opts.stderr(), "rubric: run %s: suite %s, rescoring run %s\n", f.id, s.Suite.Name, rec.Run)
	} else {
		so.Provider = "log"
		if !rec.Mapping.Has(datasets.LogTarget) {
			// Listed even when no line is read, so that a gate has a target
			// with no data to fail on.
			so.Targets = []evals.TargetSpec{{Name: target, Provider: so.Provider}}
		}
		skipped = &skips{n: map[string]int{}, first: map[string]string{}}
		so.Read = logReader(rec.Log, rec.Mapping, s.Suite, target, rec.SkipInvalid, skipped)
		fmt.Fprintf(opts.stderr(), "rubric: run %s: suite %s, scoring %s (%s)\n", f.id, s.Suite.Name, rec.Log, rec.Mapping)
	}
	so.Sink = f.journal
	var prog Progress
	if opts.Progress != nil {
		prog = opts.Progress()
		so.Progress = prog.Update
	}
	sum, scoreErr := runner.Score(ctx, so)
	if prog != nil {
		prog.Done()
	}
	closeErr := f.journal.Close()
	var bad *badLine
	if errors.As(scoreErr, &bad) {
		// Nothing of this run is worth keeping: the input must be fixed, or
		// the bad lines skipped, and the whole log scored again.
		os.RemoveAll(f.dir)
		return nil, WithCode(ExitBadInput, fmt.Errorf("%w (nothing kept; fix the line, or add --skip-invalid to skip such lines)", bad.err))
	}
	if sum == nil {
		return nil, WithCode(ExitIncomplete, scoreErr)
	}
	if skipped != nil {
		skipped.report(opts.stderr())
		if scoreErr == nil && skipped.total > 0 && skipped.total == skipped.read {
			os.RemoveAll(f.dir)
			return nil, WithCode(ExitBadInput, fmt.Errorf("every line of %s was skipped: nothing to score; check the mapping", m.Source))
		}
	}
	sum.ResultsFile = rundir.ResultsFile
	judgeAgreements(ctx, s, sum, opts)
	runner.Judge(sum, s.Suite.Gates)
	if err := writeRun(ctx, s.Suite, sum, f.dir, opts); err != nil {
		return sum, err
	}
	switch {
	case errors.Is(scoreErr, runner.ErrInterrupted):
		return sum, WithCode(ExitInterrupted, fmt.Errorf("%w; the scores so far are in %s", scoreErr, f.results()))
	case scoreErr != nil:
		return sum, WithCode(ExitIncomplete, fmt.Errorf("run %s stopped: %w (the results completed are in %s)", f.id, scoreErr, f.results()))
	case closeErr != nil:
		return sum, WithCode(ExitIncomplete, fmt.Errorf("writing results: %w", closeErr))
	}
	return sum, GateError(s.Suite.Name, sum)
}

// journalReader reads an earlier run's journal as recordings.
func journalReader(path string) func(emit func(*runner.Recorded) error) error {
	return func(emit func(*runner.Recorded) error) error {
		var emitErr error
		_, err := rundir.ReadJournal(path, func(r *evals.Result) error {
			rec, err := runner.RecordedResult(r)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			emitErr = emit(rec)
			return emitErr
		})
		if err != nil && err != emitErr {
			return &badLine{err} // the run's results are damaged
		}
		return err
	}
}

// priorTargets reads the targets of a run from its report, in its order, the
// number of results and the repeats per case (0 without repeats); none when
// the run has no report (it crashed).
func priorTargets(dir string) ([]evals.TargetSpec, int, int) {
	b, err := os.ReadFile(filepath.Join(dir, rundir.ReportFile))
	if err != nil {
		return nil, 0, 0
	}
	var sum evals.Summary
	if json.Unmarshal(b, &sum) != nil {
		return nil, 0, 0
	}
	var ts []evals.TargetSpec
	total, repeat := 0, 0
	for _, t := range sum.Targets {
		ts = append(ts, evals.TargetSpec{Name: t.Name, Provider: t.Provider, Model: t.Model})
		total += t.Cases
		if t.Repeats != nil {
			repeat = max(repeat, t.Repeats.N)
		}
	}
	return ts, total, repeat
}

// logReader reads the log at path as recordings for runner.Score. A line
// that cannot be read stops scoring with a *badLine error, or, with skip, is
// counted in skipped.
func logReader(path string, m *datasets.Mapping, s *evals.Suite, target string, skip bool, skipped *skips) func(emit func(*runner.Recorded) error) error {
	return func(emit func(*runner.Recorded) error) error {
		r, err := datasets.OpenLog(path, m)
		if err != nil {
			return &badLine{fmt.Errorf("log: %w", err)}
		}
		defer r.Close()
		url := "log:" + filepath.ToSlash(path) + ":"
		for {
			rec, err := r.Next()
			if err == io.EOF {
				return nil
			}
			if err == nil && rec.Messages == nil {
				rec.Messages, err = s.Render(rec.Case)
				if err != nil {
					err = &datasets.LineError{File: path, Line: r.Line(), Msg: "the suite's prompt does not render: " + err.Error(), Reason: "the suite's prompt does not render"}
				}
			}
			skipped.read++
			var le *datasets.LineError
			switch {
			case errors.As(err, &le) && skip:
				skipped.add(le.Reason, le.Error())
				continue
			case err != nil:
				return &badLine{err}
			}
			body, err := json.Marshal(struct {
				Messages []evals.Message `json:"messages"`
			}{rec.Messages})
			if err != nil {
				return err
			}
			t := target
			if rec.Target != "" {
				t = rec.Target
			}
			err = emit(&runner.Recorded{
				Case: rec.Case, Target: t, Messages: rec.Messages,
				Response: &evals.Response{
					Text:    rec.Output,
					Usage:   rec.Usage,
					Sent:    &evals.SentRequest{URL: url + strconv.Itoa(r.Line()), Body: body},
					Latency: evals.Millis(rec.LatencyMS),
				},
			})
			if err != nil {
				return err
			}
		}
	}
}

// skips counts log lines skipped, by reason, with the first of each.
type skips struct {
	n     map[string]int
	first map[string]string
	total int
	read  int // lines read, skipped or not
}

func (s *skips) add(reason, msg string) {
	s.total++
	if s.n[reason] == 0 {
		s.first[reason] = msg
	}
	s.n[reason]++
}

func (s *skips) report(w io.Writer) {
	if s.total == 0 {
		return
	}
	reasons := make([]string, 0, len(s.n))
	for r := range s.n {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if s.n[reasons[i]] != s.n[reasons[j]] {
			return s.n[reasons[i]] > s.n[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	fmt.Fprintf(w, "rubric: skipped %s of the log:\n", plural(s.total, "line"))
	for _, r := range reasons {
		fmt.Fprintf(w, "  %d  %s (first: %s)\n", s.n[r], r, s.first[r])
	}
}
