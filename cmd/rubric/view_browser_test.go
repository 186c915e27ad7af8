package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// readmeShot is the screenshot of rubric view that the README shows:
// TestViewScreenshot takes it from runs of examples/triage, and -update
// rewrites it.
const readmeShot = "../../docs/view.png"

// TestViewScreenshot opens a run of examples/triage in rubric view with
// headless Chromium and checks the page; with -update it saves the
// screenshot the README shows. Without chromium it skips, loudly; in CI
// (CI=1 or RUBRIC_CI=1) it fails instead.
func TestViewScreenshot(t *testing.T) {
	chromium := ""
	for _, name := range []string{os.Getenv("RUBRIC_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); name != "" && err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		msg := "no chromium on PATH: the screenshot of rubric view was not checked; install it with: apt-get install -y chromium"
		if os.Getenv("CI") == "1" || os.Getenv("CI") == "true" || os.Getenv("RUBRIC_CI") == "1" {
			t.Fatal(msg)
		}
		fmt.Fprintf(os.Stderr, "\n!!! SKIPPED %s: %s\n\n", t.Name(), msg)
		t.Skip(msg)
	}
	out := triageRuns(t)
	run := filepath.Base(triageRun(t, out, "triage-v1"))
	url, _ := startView(t, "--no-open", "--out", out)

	actx, cancelA := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 860))
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, time.Minute)
	defer cancelT()
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"runs/"+run), chromedp.WaitVisible("#run-facts")); err != nil {
		t.Fatalf("the run's page: %v", err)
	}
	verdict, err := chromedp.Run(ctx, chromedp.Text("#gate-verdict"))
	if err != nil || verdict != "failed" {
		t.Errorf("gate %q, %v: triage-v1 fails its gate", verdict, err)
	}
	gates, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.gates tr.broken").length`))
	if err != nil || gates != 2 {
		t.Errorf("%d gates shown broken, %v; want 2", gates, err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatal("the screenshot is not a PNG")
	}
	if *update {
		if err := os.WriteFile(readmeShot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(readmeShot); err != nil {
		t.Errorf("%s: %v (go test ./cmd/rubric -run TestViewScreenshot -update writes it)", readmeShot, err)
	}
}
