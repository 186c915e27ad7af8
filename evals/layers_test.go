package evals_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// layers lists, for each package of the module, the packages of the module
// it may import (tests aside). Imports point one way: the domain (evals)
// imports nothing of the module; criteria, datasets, providers, reports and
// the store depend on the domain and on leaves below them; runner, the
// engine, depends on the domain and statistics; only the packages that
// drive a run, and cmd, may import runner. A new package must be added
// here with what it may import, so that its place is a decision.
var layers = map[string][]string{
	"evals":                      {},
	"evals/criteria/textmetric":  {},
	"evals/criteria":             {"evals", "evals/criteria/textmetric", "evals/proc"},
	"evals/proc":                 {"evals"},
	"evals/mock":                 {"evals", "evals/proc"},
	"evals/evalstest":            {"evals"},
	"evals/leak":                 {"evals"},
	"datasets":                   {"evals"},
	"runner/stats":               {},
	"runner/store":               {"evals"},
	"runner/history":             {"evals", "runner", "runner/rundir", "runner/store"},
	"runner/history/historytest": {"runner/history", "runner/rundir"},
	"runner/provider":            {"evals", "evals/proc", "runner/store"},
	"runner/provider/batchfake":  {},
	"runner/report":              {"evals"},
	"runner/rundir":              {"evals"},
	"runner":                     {"evals", "evals/mock", "runner/stats"},
	"runner/export":              {"evals", "evals/leak", "datasets", "runner/rundir"},
	// rubric view: reads the history and run folders, compares with runner.
	"runner/view": {"evals", "datasets", "runner", "runner/history", "runner/rundir"},
	// The packages that drive a run.
	"runner/build":   {"evals", "evals/criteria", "evals/mock", "datasets", "runner/provider", "runner/store"},
	"runner/batch":   {"evals", "datasets", "runner/provider", "runner/rundir", "runner/store"},
	"runner/session": {"evals", "evals/leak", "datasets", "runner", "runner/batch", "runner/build", "runner/rundir", "runner/report", "runner/history", "runner/queue"},
	// Workers on a shared queue: they build a run's suite and run its
	// cases one job at a time.
	"runner/queue":     {"evals", "datasets", "runner", "runner/build", "runner/history", "runner/provider", "runner/rundir", "runner/store"},
	"cmd/rubric":       nil, // nil: anything
	"cmd/rubric-bench": nil,
}

// TestImportLayers fails when a package of the module imports one it may
// not: an upward edge, which is how a cycle starts.
func TestImportLayers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/rubric-eval/rubric/"
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		seen[pkg] = true
		allowed, ok := layers[pkg]
		if !ok {
			t.Errorf("package %s is not in the layers table of evals/layers_test.go: add it with the packages of the module it may import", pkg)
			continue
		}
		if allowed == nil {
			continue
		}
		for _, imp := range fields[1:] {
			dep, internal := strings.CutPrefix(imp, mod)
			if internal && !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s, which it may not (it may import: %s); see docs/architecture.md", pkg, dep, strings.Join(allowed, ", "))
			}
		}
	}
	for pkg := range layers {
		if !seen[pkg] {
			t.Errorf("the layers table names %s, which is not a package of the module", pkg)
		}
	}
}
