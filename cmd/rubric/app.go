package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/session"
)

// Exit codes, as documented in the README.
const (
	exitOK          = session.ExitOK
	exitGateFailed  = session.ExitGateFailed
	exitBadInput    = session.ExitBadInput
	exitIncomplete  = session.ExitIncomplete
	exitInterrupted = session.ExitInterrupted
)

// version, when set at build time with -ldflags "-X main.version=...", is
// the version rubric reports; otherwise it comes from the build information.
var version string

// versionString is the version --version prints.
func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return buildVersion(info)
}

// buildVersion is the version of a binary built as info says: the main
// module's version ("v0.3.0" when installed with go install ...@v0.3.0, a
// pseudo-version that holds the commit when built from a clone of a tagged
// or untagged commit, "(devel)", shown as devel, when the toolchain knew
// none), followed by the VCS revision in parentheses when the version does
// not already hold it, its first 12 characters as Go's pseudo-versions
// write it, with "-dirty" for a work tree with changes not committed.
func buildVersion(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	rev = rev[:min(len(rev), 12)]
	if strings.Contains(v, rev) {
		return v
	}
	if modified && !strings.HasSuffix(v, "+dirty") {
		rev += "-dirty"
	}
	return v + " (" + rev + ")"
}

// withCode marks err with the exit code it ends the process with.
func withCode(code int, err error) error { return session.WithCode(code, err) }

// usageError marks a mistake on the command line.
func usageError(format string, args ...any) error {
	return withCode(exitBadInput, fmt.Errorf(format, args...))
}

// Main runs the command line in args and returns the exit code. It calls
// os.Exit only on a second Ctrl-C, so tests run it in-process.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := onSignals(cancel, stderr, os.Exit)
	defer stop()
	return run(ctx, args, stdout, stderr)
}

// onSignals watches for Ctrl-C (SIGINT) and SIGTERM from now until stop is
// called. The first calls cancel: loading stops, a run stops dispatching and
// keeps what completed. The second writes a line to stderr and calls exit
// with 130 at once, whatever the process is doing. It is handled here rather
// than by restoring the signal's default: a process started with SIGINT
// ignored, as a script's background job is, would go back to ignoring it.
func onSignals(cancel func(), stderr io.Writer, exit func(int)) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for n := 0; ; n++ {
			select {
			case <-sigs:
			case <-done:
				return
			}
			if n == 0 {
				cancel()
				continue
			}
			fmt.Fprintln(stderr, "rubric: interrupted again: exiting at once, without a report; the results recorded so far are kept")
			exit(exitInterrupted)
			return
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	var err error
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") && args[1] != "help" && app.Command(args[1]) == nil {
		err = usageError("unknown command %q: expected one of %s", args[1], strings.Join(commandNames(app), ", "))
	} else {
		err = app.RunContext(ctx, flagsFirst(app, args))
	}
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	var probs evals.Problems
	switch {
	case errors.As(err, &probs):
		for _, p := range probs {
			fmt.Fprintln(stderr, p.String())
		}
		fmt.Fprintf(stderr, "rubric: %s\n", plural(len(probs), "problem"))
	default:
		fmt.Fprintf(stderr, "rubric: %v\n", err)
	}
	return code
}

func exitCode(err error) int {
	// Anything else the CLI library reports is a usage mistake: an unknown
	// flag, a missing argument.
	return session.Code(err, exitBadInput)
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func commandNames(app *cli.App) []string {
	var names []string
	for _, c := range app.Commands {
		if c.Name != "help" {
			names = append(names, c.Name)
		}
	}
	return names
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "rubric",
		Usage:     "run your own eval suites against your language models",
		Version:   versionString(),
		Writer:    stdout,
		ErrWriter: stderr,
		// urfave/cli calls os.Exit for an ExitCoder when this is nil; exit codes
		// are mapped once, in Main.
		ExitErrHandler: func(*cli.Context, error) {},
		// Repeatable flags take each value whole: a --set value is JSON, and
		// a JSON array or object holds commas the library would split on.
		DisableSliceFlagSeparator: true,
		Description: `Exit codes: 0 every gate held; 1 a gate failed; 2 usage or invalid input;
3 the run could not complete; 130 interrupted (completed results are kept).`,
		Commands: []*cli.Command{
			runCommand(),
			validateCommand(),
			schemaCommand(),
			initCommand(),
			cacheCommand(),
			reportCommand(),
			compareCommand(),
			historyCommand(),
			trendCommand(),
			pushCommand(),
			workerCommand(),
			scoreCommand(),
			mergeCommand(),
			exportCommand(),
			importReviewCommand(),
			viewCommand(),
			agreementCommand(),
		},
		OnUsageError: onUsageError,
		Flags:        []cli.Flag{profileFlag()},
	}
	var stopProfile func() error
	app.Before = func(cliCtx *cli.Context) (err error) {
		stopProfile, err = startProfile(cliCtx)
		return err
	}
	app.After = func(*cli.Context) error {
		if stopProfile == nil {
			return nil
		}
		return stopProfile()
	}
	for _, c := range app.Commands {
		c.OnUsageError = onUsageError
	}
	return app
}

// onUsageError reports a flag mistake without printing the whole help to
// stdout, where it would pollute redirected output.
func onUsageError(cliCtx *cli.Context, err error, _ bool) error {
	return withCode(exitBadInput, fmt.Errorf("%w (see rubric %s --help)", err, cliCtx.Command.Name))
}
