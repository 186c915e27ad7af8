package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/leak"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// LeakOptions say what the cases of a run are checked against for leaks
// into training data (docs/leakage.md), besides the manifests each
// suite's project config lists; run.json keeps them for --resume.
type LeakOptions = rundir.LeakOptions

// manifests are the manifests a suite is checked against: those given,
// then those of its project config, each once.
func manifests(lo *LeakOptions, s *evals.Suite) []string {
	var out []string
	for _, m := range append(slices.Clone(lo.Manifests), s.TrainingManifests...) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// Leaks are the cases of each suite found in training data.
type Leaks map[*build.Suite]*leak.Report

// CheckLeaks renders every case each suite would send (those of
// opts.Limit and opts.Shard) and looks it up in the manifests of
// opts.Leaks and of the suite's config. Each case found is reported on
// opts.Stderr with the manifest lines that list it. Unless Allow, a leak
// is an error with exit 2, and so is a manifest that cannot be read.
func CheckLeaks(ctx context.Context, suites []*build.Suite, opts Options) (Leaks, error) {
	lo := opts.Leaks
	if lo == nil {
		return nil, nil
	}
	out := Leaks{}
	indexes := map[string]*leak.Index{}
	var found []string
	for _, s := range suites {
		paths := manifests(lo, s.Suite)
		if len(paths) == 0 {
			continue
		}
		key := strings.Join(paths, "\x00")
		x := indexes[key]
		if x == nil {
			var err error
			if x, err = leak.Load(ctx, paths, lo.NGrams); err != nil {
				return nil, leakLoadError(ctx, s, err)
			}
			indexes[key] = x
		}
		r, err := openCases(s, opts)
		if err != nil {
			return nil, WithCode(ExitIncomplete, err)
		}
		rep, err := leak.Check(ctx, s.Suite, r, x, leak.Options{NGrams: lo.NGrams, Threshold: lo.Threshold})
		r.Close()
		if err != nil {
			return nil, leakLoadError(ctx, s, err)
		}
		out[s] = rep
		reportLeaks(opts.stderr(), s.Suite.Name, x, rep, lo)
		if len(rep.Findings) > 0 {
			found = append(found, fmt.Sprintf("%s of suite %s", plural(len(rep.Findings), "case"), s.Suite.Name))
		}
	}
	if len(out) == 0 && (lo.Allow || lo.NGrams) {
		fmt.Fprintln(opts.stderr(), "rubric: warning: --allow-leaks and --leak-ngrams apply to the leak check, and no training manifest was given (--training-manifest) or listed in the config (training_manifests): nothing was checked")
	}
	if len(found) > 0 && !lo.Allow {
		return out, WithCode(ExitBadInput, fmt.Errorf("%s found in training data (listed above): take them out of the suite or out of the training data, or run anyway with --allow-leaks, which marks their results and reports pass rates with and without them", strings.Join(found, " and ")))
	}
	return out, nil
}

// leakLoadError is the error of a manifest that could not be read or a
// check cut short.
func leakLoadError(ctx context.Context, s *build.Suite, err error) error {
	if ctx.Err() != nil {
		return &build.Interrupted{Path: s.Suite.Path}
	}
	var me *leak.Error
	if errors.As(err, &me) {
		return WithCode(ExitBadInput, fmt.Errorf("training manifest %w", err))
	}
	return WithCode(ExitBadInput, fmt.Errorf("training manifest: %w", err))
}

// reportLeaks writes each case found, and a line of what was checked.
func reportLeaks(w io.Writer, suite string, x *leak.Index, rep *leak.Report, lo *LeakOptions) {
	for _, f := range rep.Findings {
		where := ""
		if f.Source != "" {
			where = " (" + f.Source + ")"
		}
		fmt.Fprintf(w, "rubric: leak: suite %s: case %s%s: %s", suite, f.CaseID, where, f.Flagged())
		for i, r := range f.Refs {
			sep := ", "
			if i == 0 {
				sep = ": "
			}
			fmt.Fprintf(w, "%s%s:%d (case %s of run %s)", sep, r.Manifest, r.Line, r.Case, r.Run)
		}
		if more := f.Lines - len(f.Refs); more > 0 {
			fmt.Fprintf(w, " and %d more", more)
		}
		fmt.Fprintln(w)
	}
	what := fmt.Sprintf("%s of %s", plural(x.Prompts(), "prompt"), plural(len(x.Manifests), "manifest"))
	if x.NGrams {
		threshold := leak.Options{Threshold: lo.Threshold}.Share()
		what += fmt.Sprintf(", and %s of them (a case is flagged from %.0f%% of its own)", plural(x.NGramCount(), fmt.Sprintf("distinct %d-gram", leak.N)), 100*threshold)
	}
	fmt.Fprintf(w, "rubric: leak check: suite %s: %d of %s found in training data (%s)\n", suite, len(rep.Findings), plural(rep.Cases, "case"), what)
	if rep.Short > 0 {
		fmt.Fprintf(w, "rubric: leak check: suite %s: %s had fewer than %d words in the messages filled from the case, so only their exact prompt was checked\n", suite, plural(rep.Short, "case"), leak.N)
	}
	if rep.NoText > 0 {
		fmt.Fprintf(w, "rubric: leak check: suite %s: no message template has a placeholder, so the %d-gram check compares nothing; the exact check still does\n", suite, leak.N)
	}
}

// leakCheck is what a summary says of the check of suite s.
func leakCheck(s *build.Suite, lo *LeakOptions, rep *leak.Report) *evals.LeakCheck {
	if lo == nil || rep == nil {
		return nil
	}
	lc := &evals.LeakCheck{Manifests: manifests(lo, s.Suite), NGrams: lo.NGrams, Leaked: len(rep.Findings)}
	if lo.NGrams {
		lc.Threshold = leak.Options{Threshold: lo.Threshold}.Share()
	}
	return lc
}
