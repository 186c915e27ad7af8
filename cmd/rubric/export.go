package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/leak"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/export"
	"github.com/rubric-eval/rubric/runner/rundir"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a run's selected results as training data: chat fine-tuning JSONL, preference pairs, or a review sheet",
		ArgsUsage: "RUN (a run's folder, its id, latest, SUITE@latest or SUITE@~N)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "`FORMAT`: " + strings.Join(datasets.ExportFormats, ", ")},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "-", Usage: "write to `FILE`; '-' is stdout"},
			&cli.BoolFlag{Name: "failed", Usage: "select results that failed (not errors, not unscored)"},
			&cli.StringSliceFlag{Name: "criterion", Usage: "select results on which criterion `NAME` failed (repeatable: each must have failed)"},
			&cli.Float64Flag{Name: "below", DefaultText: "none", Usage: "select results whose case score is below `SCORE`"},
			&cli.BoolFlag{Name: "unscored", Usage: "select results on which some criterion could not score"},
			&cli.StringFlag{Name: "regressed", Usage: "select results that fail now and passed in run `BASELINE` (its id, its folder, latest, SUITE@latest or SUITE@~N), matched by case, target and repeat"},
			&cli.StringFlag{Name: "baseline-target", Usage: "with --regressed, match against target `NAME` of the baseline, whatever the target now"},
			&cli.StringSliceFlag{Name: "slice", Usage: "select results in slice `SLICE`: tag=TAG, metadata.FIELD=VALUE, or a tag such as domain=billing (repeatable: in every slice)"},
			&cli.StringSliceFlag{Name: "target", Aliases: []string{"t"}, Usage: "select results of target `NAME` (repeatable: any of them)"},
			&cli.StringFlag{Name: "chosen-target", Usage: "the answer to learn is the passing answer of target `NAME` for the same case, instead of the reference answer"},
			&cli.BoolFlag{Name: "keep-duplicates", Usage: "write every selected result, even when an earlier one had the same prompt"},
			&cli.StringFlag{Name: "manifest", Usage: "write the manifest of the exported prompts, for rubric run --training-manifest, to `FILE` (default: the output's name + " + leakManifestExt + "; none when the output is stdout unless given)"},
			&cli.StringFlag{Name: "suite", Usage: "suite `FILE` whose reference template gives the reference answers (default: the run's suite, named in its run.json)"},
			outFlag("`DIR` where run ids (and latest) are looked up, as given to rubric run --out"),
			// --runs was the name of --out before the commands agreed on one.
			&cli.StringFlag{Name: "runs", Hidden: true, Usage: "the old name of --out"},
		},
		Action: exportRun,
	}
}

// exportRun is rubric export: the selected results of one run, written in
// one format.
func exportRun(cliCtx *cli.Context) error {
	if cliCtx.NArg() != 1 {
		return usageError("export: expected one run (its id or folder), as in: rubric export rubric-runs/RUN_ID --format chat --failed -o train.jsonl")
	}
	runs, err := exportRuns(cliCtx)
	if err != nil {
		return err
	}
	format := cliCtx.String("format")
	if format == "" {
		return usageError("export: --format is required: expected one of %s", strings.Join(datasets.ExportFormats, ", "))
	}
	if _, err := datasets.NewExportWriter(io.Discard, format, nil); err != nil {
		return usageError("export: --format: %v", err)
	}
	dir, err := findRun(cliCtx.Context, cliCtx.Args().First(), runs)
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("export: %w", err))
	}
	opts, err := exportOptions(cliCtx, dir, runs, format)
	if err != nil {
		return err
	}
	manifest := exportManifestPath(cliCtx)
	return writeOutput(cliCtx, "output", func(w io.Writer) (string, error) {
		opts.Out = w
		var m *manifestFiles
		if manifest != "" {
			var err error
			if m, err = createManifest(cliCtx, manifest, dir, format); err != nil {
				return "", err
			}
			defer m.discard()
			opts.Manifest = m.writer
		}
		st, err := export.Run(opts)
		if err != nil {
			return "", withCode(exitBadInput, fmt.Errorf("export: %w", err))
		}
		summary := "rubric: export " + format + " from " + dir + ": " + strings.Join(st.Summary(), "\n")
		if m == nil {
			return summary + "\nrubric: no manifest of the exported prompts: the export went to stdout; give --manifest FILE for one (see docs/leakage.md)", nil
		}
		if err := m.commit(); err != nil {
			return "", withCode(exitIncomplete, fmt.Errorf("export: writing %s: %w", manifest, err))
		}
		return summary + fmt.Sprintf("\nrubric: wrote %s (%s) and %s", manifest, plural(m.writer.Entries(), "prompt"), m.ngrams.path), nil
	})
}

// leakManifestExt ends the name of an export's manifest, after the
// export's own name; leakNGramsExt that of its n-grams.
const (
	leakManifestExt = ".manifest.jsonl"
	leakNGramsExt   = ".ngrams"
)

// exportManifestPath is where an export's manifest goes: --manifest, or
// beside the output file; "" for none (the output is stdout).
func exportManifestPath(cliCtx *cli.Context) string {
	if m := cliCtx.String("manifest"); m != "" {
		return m
	}
	if out := cliCtx.String("output"); out != "-" {
		return out + leakManifestExt
	}
	return ""
}

// manifestFiles are an export's manifest and n-gram file, written beside
// their names and put in place by commit.
type manifestFiles struct {
	manifest, ngrams *pending
	writer           *leak.Writer
}

// createManifest starts the manifest at path of an export of the run in
// dir, and its n-gram file beside it.
func createManifest(cliCtx *cli.Context, path, dir, format string) (*manifestFiles, error) {
	ngrams := strings.TrimSuffix(path, leakManifestExt) + leakNGramsExt
	m := &manifestFiles{}
	var err error
	if m.manifest, err = createPending(path, nil); err == nil {
		if m.ngrams, err = createPending(ngrams, nil); err != nil {
			m.manifest.discard()
		}
	}
	if err != nil {
		return nil, withCode(exitBadInput, fmt.Errorf("export: --manifest %s: %w", path, err))
	}
	h := leak.Header{Run: filepath.Base(dir), Format: format, Export: filepath.Base(cliCtx.String("output")),
		Created: time.Now().UTC().Truncate(time.Second), NGrams: filepath.Base(ngrams)}
	if rm, err := rundir.ReadManifest(dir); err == nil {
		h.Run = rm.RunID
	}
	if run, err := rundir.ReadRun(dir, ""); err == nil {
		h.Suite = run.Summary.Suite
	}
	if m.writer, err = leak.NewWriter(m.manifest.w, h); err != nil {
		m.discard()
		return nil, withCode(exitIncomplete, fmt.Errorf("export: writing %s: %w", path, err))
	}
	return m, nil
}

// commit writes the n-grams and puts both files in place.
func (m *manifestFiles) commit() error {
	if err := m.writer.Flush(); err != nil {
		return err
	}
	if err := leak.WriteNGrams(m.ngrams.w, m.writer.NGrams()); err != nil {
		return err
	}
	if err := m.ngrams.commit(); err != nil {
		return err
	}
	m.ngrams.file = nil
	err := m.manifest.commit()
	m.manifest.file = nil
	return err
}

// discard removes what commit did not put in place.
func (m *manifestFiles) discard() {
	m.manifest.discard()
	m.ngrams.discard()
}

// exportOptions reads the selection flags of an export of the run in dir.
func exportOptions(cliCtx *cli.Context, dir, runs, format string) (export.Options, error) {
	opts := export.Options{
		Results: filepath.Join(dir, rundir.ResultsFile),
		Format:  format,
		Select: export.Selection{
			Failed:         cliCtx.Bool("failed"),
			Criteria:       cliCtx.StringSlice("criterion"),
			Unscored:       cliCtx.Bool("unscored"),
			Targets:        cliCtx.StringSlice("target"),
			Slices:         cliCtx.StringSlice("slice"),
			BaselineTarget: cliCtx.String("baseline-target"),
		},
		ChosenTarget:   cliCtx.String("chosen-target"),
		KeepDuplicates: cliCtx.Bool("keep-duplicates"),
	}
	if cliCtx.IsSet("below") {
		b := cliCtx.Float64("below")
		opts.Select.Below = &b
	}
	if ref := cliCtx.String("regressed"); ref != "" {
		base, err := findRun(cliCtx.Context, ref, runs)
		if err != nil {
			return opts, withCode(exitBadInput, fmt.Errorf("export --regressed: %w", err))
		}
		opts.Select.Baseline = filepath.Join(base, rundir.ResultsFile)
	}
	if !datasets.IsReview(format) && opts.ChosenTarget == "" {
		// The reference answers may come from the suite's template.
		var err error
		if opts.Suite, err = exportSuite(cliCtx.Context, dir, cliCtx.String("suite")); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// exportRuns returns the folder where export looks up run ids: --out, as
// for report, compare and score, or --runs, its old name. --out used to be
// export's output file, now -o (--output): an --out that is not a folder is
// refused with that hint, so that an old command line never reads runs from
// a file name or writes the export somewhere else.
func exportRuns(cliCtx *cli.Context) (string, error) {
	if cliCtx.IsSet("runs") {
		if cliCtx.IsSet("out") {
			return "", usageError("export: --runs is the old name of --out: give one of them")
		}
		return cliCtx.String("runs"), nil
	}
	out := cliCtx.String("out")
	if !cliCtx.IsSet("out") {
		return out, nil
	}
	if st, err := os.Stat(out); err != nil || !st.IsDir() {
		what := "is not a folder"
		if err != nil {
			what = "does not exist"
		}
		return "", usageError("export: --out %s %s: --out is the folder of runs, as in rubric report and compare; to write the export to a file, use -o %s (--output)", out, what, out)
	}
	return out, nil
}

// exportSuite loads the suite whose reference template an export uses: the
// one given, or the run's own.
func exportSuite(ctx context.Context, dir, path string) (*evals.Suite, error) {
	var load evals.LoadOptions
	if path == "" {
		m, err := rundir.ReadManifest(dir)
		if err != nil {
			return nil, withCode(exitBadInput, fmt.Errorf("export: the reference answers may come from the suite: %w; or give --suite FILE", err))
		}
		path, load = m.Suite, m.Load
		load.Gates = nil
	}
	s, err := evals.Load(ctx, path, load)
	if ctx.Err() != nil {
		return nil, &build.Interrupted{Path: path}
	}
	if err != nil {
		var ps evals.Problems
		if errors.As(err, &ps) {
			return nil, err
		}
		return nil, withCode(exitBadInput, fmt.Errorf("export: suite %s: %w", path, err))
	}
	return s, nil
}

// writeOutput runs write with the output that flag names ('-' for stdout).
// A file is written beside its final name and renamed when write succeeds,
// so a failed command leaves no partial file. The summary write returns goes
// to stderr. A path that cannot be created is bad input (exit 2), found
// before write runs; a file that cannot be completed is exit 3.
func writeOutput(cliCtx *cli.Context, flag string, write func(io.Writer) (string, error)) error {
	path, stderr := cliCtx.String(flag), cliCtx.App.ErrWriter
	p, err := createPending(path, cliCtx.App.Writer)
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("%s: --%s %s: %w", cliCtx.Command.Name, flag, path, err))
	}
	summary, err := write(p.w)
	if err != nil {
		p.discard()
		return err
	}
	if err := p.commit(); err != nil {
		return withCode(exitIncomplete, fmt.Errorf("%s: writing %s: %w", cliCtx.Command.Name, path, err))
	}
	fmt.Fprintln(stderr, summary)
	if p.file != nil {
		fmt.Fprintf(stderr, "rubric: wrote %s\n", path)
	}
	return nil
}

func importReviewCommand() *cli.Command {
	return &cli.Command{
		Name:      "import-review",
		Usage:     "turn a reviewed sheet (from rubric export --format review-csv or review-jsonl) into a JSONL dataset; corrected answers become expected values",
		ArgsUsage: "SHEET.csv|SHEET.jsonl",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o", "out"}, Value: "-", Usage: "write the dataset to `FILE`; '-' is stdout"},
			&cli.BoolFlag{Name: "keep-unreviewed", Usage: "keep rows with no verdict and no corrected answer, with their expected value as it was"},
		},
		Action: func(cliCtx *cli.Context) error {
			if cliCtx.NArg() != 1 {
				return usageError("import-review: expected one sheet, as in: rubric import-review review.csv -o cases.jsonl")
			}
			sheet := cliCtx.Args().First()
			return writeOutput(cliCtx, "output", func(w io.Writer) (string, error) {
				st, err := datasets.ImportReview(sheet, w, datasets.ImportOptions{KeepUnreviewed: cliCtx.Bool("keep-unreviewed")})
				if errors.Is(err, datasets.ErrNotReviewed) && st.Rows > 0 {
					err = fmt.Errorf("%w; or keep every row as it is with --keep-unreviewed", err)
				}
				if err != nil {
					return "", withCode(exitBadInput, fmt.Errorf("import-review: %w", err))
				}
				return "rubric: import-review " + sheet + ": " + st.Summary(), nil
			})
		},
	}
}
