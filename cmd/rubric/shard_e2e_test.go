package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// shardRun runs examples/triage against triage-v2 (replayed, offline) with
// args, in out, and returns its run folder.
func shardRun(t *testing.T, out string, env []string, args ...string) (dir, stderr string) {
	t.Helper()
	root := repoRoot(t)
	r := rubric(t, root, env, append([]string{"run", "examples/triage/suite.json", "-t", "triage-v2", "--no-history", "--out", out}, args...)...)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("rubric run %v: %s", args, r)
	}
	return filepath.Join(out, runIDs(t, r.stderr)[0]), r.stderr
}

// shardIDs returns the case ids of a run folder's journal, in order.
func shardIDs(t *testing.T, dir string) []string {
	t.Helper()
	return journalIDs(t, filepath.Join(dir, rundir.ResultsFile))
}

// readShards returns the shard recorded in a run folder's run.json and its
// report.json.
func readShards(t *testing.T, dir string) (manifest, report *evals.Shard) {
	t.Helper()
	m, err := rundir.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, rundir.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var sum evals.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	return m.Shard, sum.Shard
}

func TestShardRunsPartition(t *testing.T) {
	out := t.TempDir()
	seen := map[string]int{} // case id -> its shard
	var dirs []string
	for k := 1; k <= 3; k++ {
		arg := []string{"1/3", "2/3", "3/3"}[k-1]
		dir, stderr := shardRun(t, out, nil, "--shard", arg)
		dirs = append(dirs, dir)
		ids := shardIDs(t, dir)
		// The count announced (and the progress total) is the shard's.
		if want := fmt.Sprintf(", %d cases of shard %s x 1 target", len(ids), arg); !strings.Contains(stderr, want) {
			t.Errorf("shard %s: stderr does not say %q:\n%s", arg, want, stderr)
		}
		if len(ids) == 0 || len(ids) >= 40 {
			t.Errorf("shard %s ran %d cases, want some of the 40", arg, len(ids))
		}
		for _, id := range ids {
			if prev, ok := seen[id]; ok {
				t.Errorf("case %s is in shard %d and shard %d", id, prev, k)
			}
			seen[id] = k
			if got := evals.ShardOf(id, 3); got != k {
				t.Errorf("case %s ran in shard %d, hashes to %d", id, k, got)
			}
		}
		want := evals.Shard{K: k, N: 3}
		if m, r := readShards(t, dir); m == nil || *m != want || r == nil || *r != want {
			t.Errorf("shard %s: run.json has %v, report.json %v; want %v in both", arg, m, r, want)
		}
	}
	if len(seen) != 40 {
		t.Errorf("the 3 shards ran %d distinct cases together, want all 40", len(seen))
	}

	// auto/3 takes K from a Kubernetes Indexed Job's completion index.
	auto, _ := shardRun(t, out, []string{"JOB_COMPLETION_INDEX=1"}, "--shard", "auto/3")
	got, want := shardIDs(t, auto), shardIDs(t, dirs[1])
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("auto/3 with JOB_COMPLETION_INDEX=1 ran %v, want shard 2/3's %v", got, want)
	}

	// --resume keeps the shard: nothing is left to send, and the report
	// still says which shard it is.
	r := rubric(t, repoRoot(t), nil, "run", "--resume", dirs[0], "--no-history", "--out", out)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("resume: %s", r)
	}
	if m, rep := readShards(t, dirs[0]); m == nil || m.K != 1 || rep == nil || rep.K != 1 || rep.N != 3 {
		t.Errorf("resumed shard 1/3: run.json has %v, report.json %v", m, rep)
	}
	if !strings.Contains(r.stderr, "of shard 1/3") {
		t.Errorf("resume does not say it runs shard 1/3:\n%s", r.stderr)
	}
}

func TestShardBadInput(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"K over N", nil, []string{"--shard", "4/3"}, "K must be a whole number from 1 to 3"},
		{"K zero", nil, []string{"--shard", "0/3"}, "K must be a whole number from 1 to 3"},
		{"N zero", nil, []string{"--shard", "1/0"}, "N must be a whole number of shards, 1 or more"},
		{"no slash", nil, []string{"--shard", "2"}, "expected K/N"},
		{"auto without index", nil, []string{"--shard", "auto/3"}, "JOB_COMPLETION_INDEX is not set"},
		{"auto index too big", []string{"JOB_COMPLETION_INDEX=3"}, []string{"--shard", "auto/3"}, `JOB_COMPLETION_INDEX="3" is not a completion index from 0 to 2`},
		{"auto index not a number", []string{"JOB_COMPLETION_INDEX=one"}, []string{"--shard", "auto/3"}, "is not a completion index"},
		{"with dry run", nil, []string{"--shard", "1/3", "--dry-run"}, "--dry-run sends nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rubric(t, repoRoot(t), tc.env, append([]string{"run", "examples/triage/suite.json", "-t", "triage-v2", "--no-history", "--out", out}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit 2 and %q on stderr; %s", tc.want, r)
			}
		})
	}
	r := rubric(t, repoRoot(t), nil, "run", "--resume", "latest", "--shard", "1/3", "--out", out)
	if r.code != 2 || !strings.Contains(r.stderr, "--shard cannot change them") {
		t.Errorf("--resume with --shard: want exit 2; %s", r)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("refused runs wrote %d run folders", len(entries))
	}
}
