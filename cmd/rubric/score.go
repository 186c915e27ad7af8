package main

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
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// scoreOptions are rubric score's flags.
type scoreOptions struct {
	load        evals.LoadOptions
	out         string
	run         string // rescore this run
	preset      string
	maps        []string
	skipInvalid bool
	target      string
	concurrency int
	progress    bool
}

func scoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "score",
		Usage:     "score recorded responses with a suite's criteria, without calling the model: a log of interactions, or an earlier run",
		ArgsUsage: "SUITE LOG.jsonl | SUITE --run RUN",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "rescore the responses of run `RUN` (its id under --out, its folder, or latest) with the suite's current criteria"},
			&cli.StringFlag{Name: "preset", Value: "plain", Usage: "the log's layout: `NAME` is plain ({input, output, expected}), chat ({messages: [..., assistant]}), openai ({request, response}) or none (--map gives every field)"},
			&cli.StringSliceFlag{Name: "map", Usage: "where a field is on a log line: `FIELD=PATH`, a dotted path such as response.choices.0.message.content; FIELD is id, messages, input, output, expected, vars, tags, metadata, target, usage, latency_ms, vars.NAME or metadata.NAME (repeatable; replaces the preset's path)"},
			&cli.BoolFlag{Name: "skip-invalid", Usage: "skip log lines that are not JSON or lack a mapped field, and count them, instead of stopping with exit 2"},
			&cli.StringFlag{Name: "target-name", Usage: "the target `NAME` that a log's responses are reported under, unless --map target=PATH names one per line (default: the log's file name without its extension)"},
			&cli.IntFlag{Name: "concurrency", DefaultText: "the number of CPUs", Usage: "score `N` responses at once"},
			&cli.StringFlag{Name: "out", Value: "rubric-runs", Usage: "folder for run outputs; the scores go to `DIR`/RUN_ID/{results.jsonl,report.json,run.json}"},
			configFlag(),
			gateFlag(),
			&cli.BoolFlag{Name: "no-progress", Usage: "no progress line, even on a terminal"},
		},
		Action: func(cliCtx *cli.Context) error {
			opts := scoreOptions{
				load:        evals.LoadOptions{ConfigPath: cliCtx.String("config"), Gates: cliCtx.StringSlice("gate")},
				out:         cliCtx.String("out"),
				run:         cliCtx.String("run"),
				preset:      cliCtx.String("preset"),
				maps:        cliCtx.StringSlice("map"),
				skipInvalid: cliCtx.Bool("skip-invalid"),
				target:      cliCtx.String("target-name"),
				concurrency: cliCtx.Int("concurrency"),
				progress:    !cliCtx.Bool("no-progress") && isTerminal(cliCtx.App.ErrWriter),
			}
			args := cliCtx.Args().Slice()
			switch {
			case opts.concurrency < 0:
				return usageError("score: --concurrency must not be negative, got %d", opts.concurrency)
			case opts.run != "" && len(args) != 1:
				return usageError("score: with --run, expected the suite alone, as in: rubric score suite.json --run RUN")
			case opts.run == "" && len(args) != 2:
				return usageError("score: expected a suite and a log, as in: rubric score suite.json log.jsonl (or a suite and --run RUN)")
			}
			if opts.run != "" {
				for _, f := range []string{"preset", "map", "skip-invalid", "target-name"} {
					if cliCtx.IsSet(f) {
						return usageError("score: --%s reads a log; with --run the responses come from the run", f)
					}
				}
			}
			return scoreSuite(cliCtx.Context, args, opts, cliCtx.App.Writer, cliCtx.App.ErrWriter)
		},
	}
}

// badLine marks an error in the log or the run read: exit 2.
type badLine struct{ err error }

func (e *badLine) Error() string { return e.err.Error() }
func (e *badLine) Unwrap() error { return e.err }

func scoreSuite(ctx context.Context, args []string, opts scoreOptions, stdout, stderr io.Writer) error {
	var mapping *datasets.Mapping
	var runDir string
	var err error
	if opts.run == "" {
		preset := opts.preset
		if preset == "none" {
			preset = ""
		}
		if mapping, err = datasets.NewMapping(preset, opts.maps); err != nil {
			return usageError("score: %v", err)
		}
	} else if runDir, err = rundir.Find(opts.run, opts.out); err != nil {
		return withCode(exitBadInput, fmt.Errorf("score --run: %w", err))
	}
	l, err := loadCriteria(ctx, args[0], opts.load)
	if err != nil {
		return err
	}

	id := newRunID(time.Now())
	m, err := newManifest(ctx, id, l.suite, runOptions{load: opts.load}, 1)
	if err != nil {
		return interruptedLoading(args[0])
	}
	dir := filepath.Join(opts.out, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return withCode(exitIncomplete, fmt.Errorf("creating the run folder: %w", err))
	}
	lock, err := rundir.LockDir(dir)
	if err != nil {
		return lockError("score", err)
	}
	defer lock.Release()
	m.Kind = rundir.KindScore
	so := runner.ScoreOptions{RunID: id, Suite: l.suite, Criteria: l.criteria, Concurrency: opts.concurrency}
	var skipped *skips
	if opts.run != "" {
		m.Source = runDir
		so.Targets, so.Total, so.Repeat = priorTargets(runDir)
		resultsPath := filepath.Join(runDir, "results.jsonl")
		so.Read = func(emit func(*runner.Recorded) error) error {
			var emitErr error
			_, err := rundir.ReadJournal(resultsPath, func(r *evals.Result) error {
				rec, err := runner.RecordedResult(r)
				if err != nil {
					return fmt.Errorf("%s: %w", resultsPath, err)
				}
				emitErr = emit(rec)
				return emitErr
			})
			if err != nil && err != emitErr {
				return &badLine{err} // the run's results are damaged
			}
			return err
		}
		fmt.Fprintf(stderr, "rubric: run %s: suite %s, rescoring run %s\n", id, l.suite.Name, runDir)
	} else {
		logPath := args[1]
		m.Source, m.Mapping = logPath, mapping.String()
		target := opts.target
		if target == "" {
			target = strings.TrimSuffix(filepath.Base(logPath), filepath.Ext(logPath))
		}
		so.Provider = "log"
		if !mapping.Has(datasets.LogTarget) {
			// Listed even when no line is read, so that a gate has a target
			// with no data to fail on.
			so.Targets = []evals.TargetSpec{{Name: target, Provider: so.Provider}}
		}
		skipped = &skips{n: map[string]int{}, first: map[string]string{}}
		so.Read = logReader(logPath, mapping, l.suite, target, opts.skipInvalid, skipped)
		fmt.Fprintf(stderr, "rubric: run %s: suite %s, scoring %s (%s)\n", id, l.suite.Name, logPath, mapping)
	}
	if err := rundir.WriteManifest(dir, m); err != nil {
		return withCode(exitIncomplete, err)
	}
	resultsPath := filepath.Join(dir, "results.jsonl")
	sink, err := rundir.CreateJournal(resultsPath)
	if err != nil {
		return withCode(exitIncomplete, err)
	}
	so.Sink = sink
	var prog *progressLine
	if opts.progress {
		prog = newProgressLine(stderr)
		so.Progress = prog.update
	}
	sum, scoreErr := runner.Score(ctx, so)
	prog.clear()
	closeErr := sink.Close()
	var bad *badLine
	if errors.As(scoreErr, &bad) {
		// Nothing of this run is worth keeping: the input must be fixed, or
		// the bad lines skipped, and the whole log scored again.
		os.RemoveAll(dir)
		return withCode(exitBadInput, fmt.Errorf("%w (nothing kept; fix the line, or add --skip-invalid to skip such lines)", bad.err))
	}
	if sum == nil {
		return withCode(exitIncomplete, scoreErr)
	}
	if skipped != nil {
		skipped.report(stderr)
		if scoreErr == nil && skipped.total > 0 && skipped.total == skipped.read {
			os.RemoveAll(dir)
			return withCode(exitBadInput, fmt.Errorf("every line of %s was skipped: nothing to score; check the mapping", m.Source))
		}
	}
	if err := writeReport(sum, dir, stdout, stderr); err != nil {
		return err
	}
	switch {
	case errors.Is(scoreErr, runner.ErrInterrupted):
		return withCode(exitInterrupted, fmt.Errorf("%w; the scores so far are in %s", scoreErr, resultsPath))
	case scoreErr != nil:
		return withCode(exitIncomplete, fmt.Errorf("run %s stopped: %w (the results completed are in %s)", id, scoreErr, resultsPath))
	case closeErr != nil:
		return withCode(exitIncomplete, fmt.Errorf("writing results: %w", closeErr))
	}
	return gateError(l.suite.Name, sum)
}

// loadCriteria loads a suite for scoring: its criteria are built, but
// neither its targets (nothing is sent) nor its dataset (the recordings hold
// the cases) are checked.
func loadCriteria(ctx context.Context, path string, opts evals.LoadOptions) (*loaded, error) {
	l := &loaded{}
	opts.Criterion = l.buildCriterion
	s, err := evals.Load(ctx, path, opts)
	if ctx.Err() != nil {
		return nil, interruptedLoading(path)
	}
	if err != nil {
		return nil, err
	}
	l.suite = s
	return l, nil
}

// priorTargets reads the targets of a run from its report, in its order, the
// number of results and the repeats per case (0 without repeats); none when
// the run has no report (it crashed).
func priorTargets(dir string) ([]evals.TargetSpec, int, int) {
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
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
					Latency: time.Duration(rec.LatencyMS * float64(time.Millisecond)),
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
