package main

import (
	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals/leak"
	"github.com/rubric-eval/rubric/runner/session"
)

// leakFlags are the flags of the leakage check, for run and validate.
func leakFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "training-manifest", Usage: "check every case against the prompts of manifest `FILE` (written by rubric export beside its output); a case found fails with exit 2 unless --allow-leaks (repeatable; adds to the config's training_manifests)"},
		&cli.BoolFlag{Name: "allow-leaks", Usage: "run even when cases are found in training data: their results are marked leaked and the report gives pass rates with and without them"},
		&cli.BoolFlag{Name: "leak-ngrams", Usage: "also flag cases whose messages share 13-word sequences with the exported prompts (reads the .ngrams file beside each manifest)"},
		&cli.Float64Flag{Name: "leak-ngram-threshold", Value: leak.DefaultThreshold, Usage: "with --leak-ngrams, flag a case when at least `SHARE` (0 to 1) of its 13-grams are in exported prompts"},
	}
}

// leakOptions reads the leakage check's flags. The options are set even
// without a manifest given: a suite's config may list some.
func leakOptions(cliCtx *cli.Context) (*session.LeakOptions, error) {
	lo := &session.LeakOptions{
		Manifests: cliCtx.StringSlice("training-manifest"),
		NGrams:    cliCtx.Bool("leak-ngrams"),
		Allow:     cliCtx.Bool("allow-leaks"),
	}
	if th := cliCtx.Float64("leak-ngram-threshold"); cliCtx.IsSet("leak-ngram-threshold") {
		if !(th > 0 && th <= 1) {
			return nil, usageError("%s: --leak-ngram-threshold must be above 0 and at most 1, got %v", cliCtx.Command.Name, th)
		}
		if !lo.NGrams {
			return nil, usageError("%s: --leak-ngram-threshold applies to the n-gram check: add --leak-ngrams", cliCtx.Command.Name)
		}
		lo.Threshold = th
	}
	return lo, nil
}
