package main

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/history/historytest"
)

// withPassword returns the URL raw with the password pw.
func withPassword(t *testing.T, raw, pw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String()
}

// indexOf returns a store's case index of run id, a line per case.
func indexOf(t *testing.T, s history.Store, id string) []string {
	t.Helper()
	var out []string
	if err := s.Cases(context.Background(), id, func(c history.Case) error {
		j, err := json.Marshal(c)
		out = append(out, string(j))
		return err
	}); err != nil {
		t.Fatalf("Cases %s: %v", id, err)
	}
	return out
}

// TestPushEndToEnd runs the triage example with a local history, as a CI
// job does, pushes its run to a PostgreSQL history (twice: the second
// replaces the first), and checks that the team's record and case index
// are the ones the local history recorded; runs that are not finished
// are refused before anything is sent. Then a run with RUBRIC_DB set to
// the database records there, the response cache staying a local file.
func TestPushEndToEnd(t *testing.T) {
	t.Parallel()
	const pw = "Sup3r-S3cret-pw"
	team := withPassword(t, historytest.PostgresURL(t), pw)
	root := repoRoot(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "runs")
	local := filepath.Join(tmp, "history.db")
	env := []string{"RUBRIC_HISTORY=" + local}
	teamEnv := []string{"RUBRIC_DB=" + team, "RUBRIC_HISTORY=" + filepath.Join(tmp, "unused.db")}
	noSecret := func(what string, r cmdResult) {
		t.Helper()
		if strings.Contains(r.stdout+r.stderr, pw) {
			t.Errorf("%s shows the database's password:\n%s", what, r)
		}
	}

	r := rubric(t, root, env, "run", "examples/triage/suite.json", "--out", out)
	if r.code != exitOK {
		t.Fatalf("run: want exit 0\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	runDir := filepath.Join(out, id)

	for i := range 2 {
		r = rubric(t, root, teamEnv, "push", runDir)
		noSecret("push", r)
		if r.code != exitOK || !strings.Contains(r.stderr, "rubric: pushed run "+id+" (support-triage, 40 results) to postgres://rubric:[REDACTED]@") {
			t.Fatalf("push #%d: want exit 0 and a line saying what was pushed where\n%s", i+1, r)
		}
	}
	runs := historyJSON(t, root, teamEnv)
	if runIDsOf(runs) != id {
		t.Fatalf("the team's history after two pushes: %s, want %s once", runIDsOf(runs), id)
	}
	// The team's record and index are the local history's.
	ctx := context.Background()
	ls, err := history.OpenReadOnly(local)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	ts, err := history.OpenPostgres(ctx, team)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	lr, err := ls.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ts.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if lr.Suite != tr.Suite || lr.SuiteSHA256 != tr.SuiteSHA256 || lr.GitCommit != tr.GitCommit || lr.Dir != tr.Dir ||
		!lr.Started.Equal(tr.Started) || !lr.Finished.Equal(tr.Finished) || string(lr.Report) != string(tr.Report) ||
		len(tr.Targets) != 1 || tr.Targets[0] != lr.Targets[0] || *tr.GateHeld != *lr.GateHeld {
		t.Errorf("pushed record differs from the local one:\n local %+v\n team  %+v", lr, tr)
	}
	li, ti := indexOf(t, ls, id), indexOf(t, ts, id)
	if len(ti) != 40 || strings.Join(li, "\n") != strings.Join(ti, "\n") {
		t.Errorf("pushed case index (%d cases) differs from the local one (%d):\n%s\n---\n%s", len(ti), len(li), strings.Join(ti, "\n"), strings.Join(li, "\n"))
	}
	// The push stores each result's line with its case; the local record,
	// made as the run ended, does not. Both name this host.
	journal, err := os.ReadFile(filepath.Join(runDir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	if err := ts.Cases(ctx, id, func(c history.Case) error {
		line, err := ts.Result(ctx, id, c.Target, c.CaseID, c.Repeat)
		if err != nil {
			return err
		}
		if want := strings.TrimRight(string(journal[c.Off:c.Off+int64(c.Len)]), "\n"); string(line) != want {
			t.Errorf("pushed result of %s: %.60q, want the journal's line %.60q", c.CaseID, line, want)
		}
		if local, err := ls.Result(ctx, id, c.Target, c.CaseID, c.Repeat); err != nil || local != nil {
			t.Errorf("local result of %s: %.60q, %v; want none stored", c.CaseID, local, err)
		}
		stored++
		return nil
	}); err != nil || stored != 40 {
		t.Errorf("pushed results: %d, %v; want 40", stored, err)
	}
	if lr.Host != history.Hostname() || tr.Host != history.Hostname() {
		t.Errorf("hosts: local %q, pushed %q; want %q", lr.Host, tr.Host, history.Hostname())
	}

	// Runs that are not finished: killed (no report.json) and interrupted.
	killed := filepath.Join(tmp, "killed")
	interrupted := filepath.Join(tmp, "interrupted")
	for _, d := range []string{killed, interrupted} {
		if err := os.CopyFS(d, os.DirFS(runDir)); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(killed, "report.json"))
	rep, err := os.ReadFile(filepath.Join(interrupted, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep = []byte(strings.Replace(string(rep), `"complete": true`, `"complete": false`, 1))
	if err := os.WriteFile(filepath.Join(interrupted, "report.json"), rep, 0o644); err != nil {
		t.Fatal(err)
	}
	ts.Forget(ctx, id)
	for _, tc := range []struct{ dir, want string }{
		{killed, "it did not finish"},
		{interrupted, "is not finished: it was interrupted or stopped early"},
	} {
		r = rubric(t, root, teamEnv, "push", runDir, tc.dir)
		if r.code != exitBadInput || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("push of %s: want exit 2 and %q\n%s", tc.dir, tc.want, r)
		}
	}
	if runs := historyJSON(t, root, teamEnv); len(runs) != 0 {
		t.Errorf("a refused push sent %s", runIDsOf(runs))
	}
	r = rubric(t, root, env, "push", runDir)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "$RUBRIC_DB is not a PostgreSQL URL") {
		t.Errorf("push without a PostgreSQL RUBRIC_DB: want exit 2\n%s", r)
	}

	// RUBRIC_DB=postgres://...: runs record in the team's history, and the
	// response cache is a file in the user's cache folder, never a folder
	// named after the URL.
	cwd, cache := t.TempDir(), t.TempDir()
	r = rubric(t, cwd, append(teamEnv, "XDG_CACHE_HOME="+cache), "run", filepath.Join(root, "examples/triage/suite.json"), "--out", out)
	noSecret("run", r)
	if r.code != exitOK || strings.Contains(r.stderr, "history:") {
		t.Fatalf("run with RUBRIC_DB=postgres://: want exit 0, no history warning\n%s", r)
	}
	id2 := runIDs(t, r.stderr)[0]
	if runs := historyJSON(t, root, teamEnv); runIDsOf(runs) != id2 {
		t.Errorf("the team's history after a run: %s, want %s", runIDsOf(runs), id2)
	}
	r = rubric(t, cwd, append(teamEnv, "XDG_CACHE_HOME="+cache), "cache", "info")
	if want := "path     " + filepath.Join(cache, "rubric", "rubric.db"); r.code != exitOK || !hasLine(r.stdout, want) {
		t.Errorf("cache info with RUBRIC_DB=postgres://: want %q\n%s", want, r)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Errorf("rubric left %v in its working folder", entries)
	}
}

// TestTeamHistoryUnreachable: a team database that cannot be reached
// makes rubric history exit 3 and rubric run warn, without the password,
// and the run is done all the same.
func TestTeamHistoryUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	const pw = "Sup3r-S3cret-pw"
	env := []string{"RUBRIC_DB=postgres://rubric:" + pw + "@" + addr + "/rubric?connect_timeout=5", "XDG_CACHE_HOME=" + t.TempDir()}
	root := repoRoot(t)
	r := rubric(t, root, env, "history")
	if r.code != exitIncomplete || !strings.Contains(r.stderr, "history postgres://rubric:[REDACTED]@"+addr) || strings.Contains(r.stderr, pw) {
		t.Errorf("history with an unreachable team database: want exit 3 and the URL redacted\n%s", r)
	}
	r = rubric(t, root, env, "run", "examples/triage/suite.json", "--out", t.TempDir())
	if r.code != exitOK || !strings.Contains(r.stderr, "rubric: history: history postgres://rubric:[REDACTED]@") || strings.Contains(r.stderr, pw) {
		t.Errorf("run with an unreachable team database: want exit 0 and a warning without the password\n%s", r)
	}
	r = rubric(t, root, []string{"RUBRIC_DB=postgres://rubric:" + pw + "@db.example:port/x"}, "history")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "not a valid PostgreSQL URL (invalid port)") || strings.Contains(r.stderr, pw) {
		t.Errorf("history with a malformed URL: want exit 2\n%s", r)
	}
}
