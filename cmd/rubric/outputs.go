package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/build"
	"github.com/rubric-eval/rubric/runner/report"
	"github.com/rubric-eval/rubric/runner/rundir"
	"github.com/rubric-eval/rubric/runner/session"
)

// The outputs for CI that rubric run and rubric report write besides the run
// folder: --junit, --markdown, --csv and --html files, and, when rubric run
// is in GitHub Actions, the step summary and ::error annotations.

func ciFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "junit", Usage: "write JUnit XML to `FILE`: a test suite per suite and target, a test case per case and repeat"},
		&cli.StringFlag{Name: "markdown", Usage: "write a Markdown summary to `FILE`, for a pull-request comment (in GitHub Actions, rubric run also appends it to the step summary)"},
		&cli.StringFlag{Name: "csv", Usage: "write a CSV row per case and repeat to `FILE`"},
		&cli.StringFlag{Name: "html", Usage: "write a self-contained HTML report to `FILE`: figures, criteria, slices, comparisons, gates and failed cases, viewable offline"},
	}
}

// ciOutputs writes the CI outputs of the suites of one invocation: each file
// holds every suite, and appears, whole, when the last suite is written. A
// nil *ciOutputs writes nothing.
type ciOutputs struct {
	paths [4]string // --junit, --markdown, --csv, --html; "" when not asked for
	// stepSummary is $GITHUB_STEP_SUMMARY, which the Markdown is appended to.
	stepSummary string
	// annotate is set in GitHub Actions: failed gates become ::error lines.
	annotate       bool
	stdout, stderr io.Writer

	files   [4]*pending
	step    *os.File
	junit   *report.JUnit
	html    *report.HTML
	writers []report.SuiteWriter
	suites  int
}

const (
	outJUnit = iota
	outMarkdown
	outCSV
	outHTML
)

var ciFlagNames = [4]string{"junit", "markdown", "csv", "html"}

// newCIOutputs reads the flags. stdoutOK says whether "-" may name stdout:
// rubric run's stdout carries the terminal summary, so only rubric report
// allows it. github turns on the GitHub Actions outputs from the environment.
func newCIOutputs(cliCtx *cli.Context, stdoutOK, github bool) (*ciOutputs, error) {
	o := &ciOutputs{stdout: cliCtx.App.Writer, stderr: cliCtx.App.ErrWriter}
	seen := map[string]string{}
	dashes := 0
	for i, name := range ciFlagNames {
		p := cliCtx.String(name)
		if p == "" {
			if cliCtx.IsSet(name) {
				return nil, usageError("%s: --%s needs a file name", cliCtx.Command.Name, name)
			}
			continue
		}
		if p == "-" {
			dashes++
			if !stdoutOK {
				return nil, usageError("run: --%s -: stdout carries the run's summary; give a file, or write it from the run folder afterwards with: rubric report RUN --%s -", name, name)
			}
		} else if other, dup := seen[filepath.Clean(p)]; dup {
			return nil, usageError("%s: --%s and --%s both write %s", cliCtx.Command.Name, other, name, p)
		}
		seen[filepath.Clean(p)] = name
		o.paths[i] = p
	}
	if dashes > 1 {
		return nil, usageError("%s: only one output can go to stdout (-)", cliCtx.Command.Name)
	}
	if github {
		o.stepSummary = os.Getenv("GITHUB_STEP_SUMMARY")
		o.annotate = os.Getenv("GITHUB_ACTIONS") == "true"
	}
	return o, nil
}

// any reports whether o writes anything.
func (o *ciOutputs) any() bool {
	return o != nil && (o.paths != [4]string{} || o.stepSummary != "" || o.annotate)
}

// firstSeen returns names without repeats, in the order they first appear.
func firstSeen(names []string) []string {
	seen := make(map[string]bool, len(names))
	return slices.DeleteFunc(names, func(n string) bool {
		dup := seen[n]
		seen[n] = true
		return dup
	})
}

// ciSuite is what names a suite's part of the CI outputs: its name and its
// targets' names make the JUnit test suites SUITE/TARGET. file is the suite
// file or the run folder it comes from, as given.
type ciSuite struct {
	name    string
	targets []string
	file    string
}

// ciClash is a suite of one command whose JUnit test suites would repeat
// those of an earlier one: the same suite name and the targets both run.
type ciClash struct {
	earlier, later ciSuite
	targets        []string
	// same is set when both come from the same file, given twice.
	same bool
}

// junitName is the name of a suite's JUnit test suite for target.
func (c ciClash) junitName() string { return c.later.name + "/" + c.targets[0] }

// ciClashes finds the suites whose outputs could not be told apart from an
// earlier suite's: two <testsuite> entries named alike, their test cases
// merged or dropped by the CI reader. A command rejects them rather than
// renaming its test suites, whose names CI keeps a history under.
func ciClashes(suites []ciSuite) []ciClash {
	var out []ciClash
	for i, s := range suites {
		for _, e := range suites[:i] {
			if e.name != s.name {
				continue
			}
			var both []string
			for _, t := range s.targets {
				if slices.Contains(e.targets, t) && !slices.Contains(both, t) {
					both = append(both, t)
				}
			}
			if len(both) == 0 {
				continue
			}
			out = append(out, ciClash{earlier: e, later: s, targets: both, same: sameFile(e.file, s.file)})
			break
		}
	}
	return out
}

// sameFile reports whether a and b name the same file or folder.
func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// checkDistinctSuites rejects, before anything is sent, suites of one rubric
// run that share a name and a target: each problem is at the later suite's
// name and names the earlier suite's file.
func checkDistinctSuites(suites []*build.Suite) error {
	cs := make([]ciSuite, len(suites))
	for i, s := range suites {
		cs[i] = ciSuite{name: s.Suite.Name, file: s.Suite.Path}
		for _, t := range s.Targets {
			cs[i].targets = append(cs[i].targets, t.Spec.Name)
		}
	}
	var probs evals.Problems
	for _, c := range ciClashes(cs) {
		if c.same {
			probs = append(probs, evals.Problem{File: c.later.file,
				Msg: "the same file as " + c.earlier.file + ", given before: give each suite file once (--repeat sends each case more than once)"})
			continue
		}
		probs = append(probs, evals.ProblemAt(c.later.file, "/name",
			"suite %q is also the name of %s, and both run %s: their JUnit test suites would both be named %q, and their results could not be told apart; give one suite another name, or run them in separate commands",
			c.later.name, c.earlier.file, targetList(c.targets), c.junitName()))
	}
	if len(probs) > 0 {
		return probs
	}
	return nil
}

// targetList names targets: "target a", "targets a and b", "targets a, b and c".
func targetList(names []string) string {
	if len(names) == 1 {
		return "target " + names[0]
	}
	return "targets " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

var _ session.Outputs = (*ciOutputs)(nil)

// Open creates the outputs of a run of suites, before anything runs.
func (o *ciOutputs) Open(suites []*build.Suite) error {
	return o.open(build.CriterionNames(suites...))
}

// Suite writes one suite's part of every output.
func (o *ciOutputs) Suite(sum *evals.Summary, results string) error { return o.suite(sum, results) }

// open creates the outputs before anything runs, so that a path that cannot
// be written fails at once. criteria are the CSV's criterion columns.
func (o *ciOutputs) open(criteria []string) error {
	if !o.any() {
		return nil
	}
	for i, p := range o.paths {
		if p == "" {
			continue
		}
		f, err := createPending(p, o.stdout)
		if err != nil {
			o.discard()
			return withCode(exitBadInput, fmt.Errorf("--%s %s: %w", ciFlagNames[i], p, err))
		}
		o.files[i] = f
	}
	if o.stepSummary != "" {
		// Appended to, never truncated: earlier steps' summaries stay.
		// A summary that cannot be written is no reason not to run and gate.
		f, err := os.OpenFile(o.stepSummary, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintf(o.stderr, "rubric: warning: no step summary: GITHUB_STEP_SUMMARY: %v\n", err)
		} else {
			o.step = f
		}
	}
	if f := o.files[outJUnit]; f != nil {
		o.junit = report.NewJUnit(f.dir())
		o.writers = append(o.writers, o.junit)
	}
	var md []io.Writer
	if f := o.files[outMarkdown]; f != nil {
		md = append(md, f.w)
	}
	if o.step != nil {
		md = append(md, o.step)
	}
	if len(md) > 0 {
		o.writers = append(o.writers, report.NewMarkdown(io.MultiWriter(md...)))
	}
	if f := o.files[outCSV]; f != nil {
		c, err := report.NewCSV(f.w, criteria)
		if err != nil {
			o.discard()
			return withCode(exitIncomplete, err)
		}
		o.writers = append(o.writers, c)
	}
	if o.files[outHTML] != nil {
		o.html = report.NewHTML()
		o.writers = append(o.writers, o.html)
	}
	return nil
}

// suite writes one suite's part of every output, reading its results once
// from the journal, and annotates its failed gates in GitHub Actions.
func (o *ciOutputs) suite(sum *evals.Summary, resultsPath string) error {
	if !o.any() {
		return nil
	}
	if err := report.WriteSuite(sum, rundir.Results(resultsPath), o.writers...); err != nil {
		o.discard() // half a suite: no file rather than a wrong one
		return fmt.Errorf("writing the CI outputs: %w", err)
	}
	o.suites++
	if o.annotate {
		src, _ := os.ReadFile(sum.SuitePath) // without it, annotations have no line
		if err := report.Annotations(o.stdout, sum, repoPath(sum.SuitePath), src); err != nil {
			return err
		}
	}
	return nil
}

// finish puts the files in place once every suite is written, and returns
// err, the invocation's own outcome, joined with any failure to write them.
// A file that cannot be written is exit 3, whatever err is.
func (o *ciOutputs) finish(err error) error {
	if !o.any() {
		return err
	}
	var werr error
	if o.junit != nil {
		if f := o.files[outJUnit]; f != nil && o.suites > 0 {
			werr = o.junit.Finish(f.w)
		}
		werr = errors.Join(werr, o.junit.Close())
	}
	if f := o.files[outHTML]; f != nil && o.suites > 0 && werr == nil {
		werr = o.html.Finish(f.w)
	}
	if o.suites == 0 || werr != nil {
		// Nothing ran, or the JUnit or HTML is incomplete: leave no file
		// that a CI reader could take for a report.
		o.discard()
	}
	for i, f := range o.files {
		if f == nil {
			continue
		}
		if cerr := f.commit(); cerr != nil {
			werr = errors.Join(werr, fmt.Errorf("--%s %s: %w", ciFlagNames[i], f.path, cerr))
		} else if f.file != nil {
			fmt.Fprintf(o.stderr, "rubric: %s %s\n", ciFlagNames[i], f.path)
		}
	}
	if o.step != nil {
		werr = errors.Join(werr, o.step.Close())
	}
	if werr != nil {
		return errors.Join(withCode(exitIncomplete, werr), err)
	}
	return err
}

// discard removes the files not yet in place.
func (o *ciOutputs) discard() {
	for i, f := range o.files {
		if f != nil {
			f.discard()
			o.files[i] = nil
		}
	}
}

// repoPath is path as GitHub wants it in an annotation: relative to the
// workspace (or the current folder), with forward slashes. A path outside
// it is returned as it is.
func repoPath(path string) string {
	if path == "" || !filepath.IsAbs(path) {
		return filepath.ToSlash(path)
	}
	base := os.Getenv("GITHUB_WORKSPACE")
	if base == "" {
		base, _ = os.Getwd()
	}
	if rel, err := filepath.Rel(base, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(path)
}

// pending is an output file written under a temporary name beside it and
// renamed into place when complete, so that a reader never sees half a file.
// The path "-" is stdout, written as it goes. Errors name neither the
// temporary file nor the path: the caller names the path, which is what the
// user gave.
type pending struct {
	path string
	file *os.File // nil for stdout
	w    io.Writer
}

// createPending creates the temporary file of the output path. Its errors,
// which are the user's to fix (a folder that does not exist, a path that is
// a folder, no permission), say what is wrong with the path.
func createPending(path string, stdout io.Writer) (*pending, error) {
	if path == "-" {
		return &pending{path: path, w: stdout}, nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, errors.New("it is a folder: expected a file name")
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		switch st, serr := os.Stat(dir); {
		case errors.Is(serr, fs.ErrNotExist):
			return nil, fmt.Errorf("the folder %s does not exist", dir)
		case serr == nil && !st.IsDir():
			return nil, fmt.Errorf("%s is not a folder", dir)
		}
		return nil, bareError(err)
	}
	return &pending{path: path, file: f, w: f}, nil
}

// bareError drops the file names from an error of the os package, which for
// a pending file would name the temporary file.
func bareError(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// dir is the folder of the file, for temporary files on the same disk.
func (p *pending) dir() string {
	if p.file == nil {
		return ""
	}
	return filepath.Dir(p.path)
}

// commit closes the file and puts it in place, readable by all as a file
// the user asked for.
func (p *pending) commit() error {
	if p.file == nil {
		return nil
	}
	err := p.file.Close()
	if err == nil {
		err = os.Chmod(p.file.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(p.file.Name(), p.path)
	}
	if err != nil {
		os.Remove(p.file.Name())
		return bareError(err)
	}
	return nil
}

func (p *pending) discard() {
	if p.file != nil {
		p.file.Close()
		os.Remove(p.file.Name())
	}
}
