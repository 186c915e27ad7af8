package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/runner/rundir"
	"github.com/rubric-eval/rubric/runner/view"
)

func viewCommand() *cli.Command {
	return &cli.Command{
		Name:      "view",
		Usage:     "serve a local web app to browse runs, their cases, comparisons and trends, and review cases",
		ArgsUsage: "[RUN...]",
		Description: `The viewer shows the runs of the run history and, besides, the runs given: a
run folder, a run id, latest, SUITE@latest or SUITE@~N; with none, every run
folder under --out. It listens on 127.0.0.1, on a free port unless --port,
prints its URL and opens it in the browser unless --no-open. It reads the
history and the run folders and changes nothing in them but reviews.jsonl,
where the verdicts given in the browser go (rubric export --format
review-csv shows them). Ctrl-C stops it.

--host ADDR listens on another address (0.0.0.0 for every interface): the
viewer then wants a token that it prints in its URL, and every request must
carry it.`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "port", DefaultText: "a free one", Usage: "listen on `PORT`"},
			&cli.StringFlag{Name: "host", Usage: "listen on `ADDR` instead of 127.0.0.1, with a token that every request must carry"},
			&cli.BoolFlag{Name: "no-open", Usage: "do not open the browser"},
			outFlag("`DIR` where run ids are looked up, and whose runs are shown when no RUN is given"),
		},
		Action: viewRuns,
	}
}

// openBrowser opens url in the browser; tests replace it.
var openBrowser = func(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		// start, through cmd, would read the & of a query as its own.
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// viewRuns is rubric view.
func viewRuns(cliCtx *cli.Context) error {
	ctx := cliCtx.Context
	stdout, stderr := cliCtx.App.Writer, cliCtx.App.ErrWriter
	out := cliCtx.String("out")
	var dirs []string
	for _, ref := range cliCtx.Args().Slice() {
		dir, err := findRun(ctx, ref, out)
		if err != nil {
			return withCode(exitBadInput, fmt.Errorf("view: %w", err))
		}
		dirs = append(dirs, dir)
	}
	if cliCtx.NArg() == 0 {
		var err error
		if dirs, err = runFolders(out); err != nil {
			return withCode(exitBadInput, fmt.Errorf("view: %w", err))
		}
	}
	port := cliCtx.Int("port")
	if port < 0 || port > 65535 {
		return usageError("view: --port %d: expected a port from 1 to 65535, or 0 for a free one", port)
	}
	host, token := "127.0.0.1", ""
	if cliCtx.IsSet("host") {
		host, token = cliCtx.String("host"), view.NewToken()
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("view: %w", err))
	}
	defer ln.Close()
	addr := ln.Addr().String()
	h, err := openHistoryToRead(ctx)
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("view: %w", err))
	}
	if h != nil {
		defer h.Close()
	}
	// The runs given are indexed as the viewer starts; those found under
	// --out when a page wants them.
	opts := view.Options{Runs: dirs, Token: token, IndexAtStart: cliCtx.NArg() > 0}
	if h != nil {
		opts.History = h
	}
	url := "http://" + addr + "/"
	if token != "" {
		url += "?token=" + token
		if h, _, _ := net.SplitHostPort(addr); net.ParseIP(h).IsUnspecified() {
			fmt.Fprintf(stderr, "rubric: view: listening on every interface, port %s: open it with this machine's name or address, with the token\n", portOf(addr))
		}
	} else {
		// Only this machine's names: a site whose name points at 127.0.0.1
		// cannot read the pages.
		opts.Hosts = view.LoopbackHosts(addr)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(view.MemoryLimit)
	}
	s, err := view.New(ctx, opts)
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("view: %w", err))
	}
	what := plural(len(dirs), "run folder")
	if h != nil {
		what = "the history " + historyWhere(h) + " and " + what
	}
	fmt.Fprintf(stderr, "rubric: view: %s; Ctrl-C stops it\n", what)
	fmt.Fprintln(stdout, url)
	if !cliCtx.Bool("no-open") {
		if err := openBrowser(url); err != nil {
			fmt.Fprintf(stderr, "rubric: view: could not open the browser (%v): open %s\n", err, url)
		}
	}
	if err := s.Serve(ctx, ln); err != nil {
		return withCode(exitIncomplete, fmt.Errorf("view: %w", err))
	}
	fmt.Fprintln(stderr, "rubric: view: stopped")
	return nil
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// runFolders lists the run folders under out: those with a journal. None
// when out does not exist.
func runFolders(out string) ([]string, error) {
	entries, err := os.ReadDir(out)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range entries {
		dir := filepath.Join(out, e.Name())
		if _, err := os.Stat(filepath.Join(dir, rundir.ResultsFile)); err == nil && e.IsDir() {
			dirs = append(dirs, dir)
		}
	}
	return dirs, nil
}
