package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The secrets the tests below give with --set; none may be stored or shown.
const (
	headerSecret = "hk-e2e-header-0123456789"
	urlSecret    = "pw-e2e-url-0123456789"
	bodySecret   = "at-e2e-body-0123456789"
)

// findSecrets returns "file: secret" for each file under the roots that holds
// one of the secrets.
func findSecrets(t *testing.T, secrets []string, roots ...string) []string {
	t.Helper()
	var found []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					found = append(found, p+": "+s)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found
}

// TestSetSecretsNeverStored runs with a header, a URL password and an
// extra_body credential given by --set: all are sent, none is written under
// the run folder (results.jsonl records request bodies) nor into the
// response cache, and run.json keeps the overrides with the secrets
// redacted. A resume must be given them again, and only them.
func TestSetSecretsNeverStored(t *testing.T) {
	t.Parallel()
	srv := newChatServer(t, rightAnswers)
	dir := t.TempDir()
	suite := writeOpenAISuite(t, dir, srv.URL, 10, 2, "pass_rate >= 1")
	cacheDir := t.TempDir()
	env := []string{"RUBRIC_E2E_KEY=" + e2eKey, "RUBRIC_DB=" + filepath.Join(cacheDir, "rubric.db")}
	host := strings.TrimPrefix(srv.URL, "http://")
	setHeader := "local.headers.X-Api-Key=" + headerSecret
	setURL := "local.base_url=http://bob:" + urlSecret + "@" + host + "/v1"
	setBody := "local.extra_body.access_token=" + bodySecret
	secrets := []string{headerSecret, urlSecret, bodySecret}

	r := rubric(t, dir, env, "run", suite, "--out", "runs", "--set", setHeader, "--set", setURL, "--set", "local.model=tiny-2", "--set", setBody)
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	id := runIDs(t, r.stderr)[0]
	runDir := filepath.Join(dir, "runs", id)
	reqs := srv.requests()
	if len(reqs) != 10 {
		t.Fatalf("the server got %d requests, want 10", len(reqs))
	}
	for _, q := range reqs {
		if q.header.Get("X-Api-Key") != headerSecret || q.body["model"] != "tiny-2" || q.body["access_token"] != bodySecret {
			t.Fatalf("request with X-Api-Key %q, body %v: the --set values were not sent", q.header.Get("X-Api-Key"), q.body)
		}
	}
	if found := findSecrets(t, secrets, runDir, cacheDir); len(found) > 0 {
		t.Errorf("secrets given with --set are stored:\n%s", strings.Join(found, "\n"))
	}
	if strings.Contains(r.stdout+r.stderr, headerSecret) || strings.Contains(r.stdout+r.stderr, urlSecret) {
		t.Errorf("a secret appears in the output\n%s", r)
	}
	if ents, _ := os.ReadDir(cacheDir); len(ents) == 0 {
		t.Errorf("the run wrote no response cache to check")
	}
	var m struct {
		Load struct {
			Set []string `json:"set"`
		} `json:"load"`
		SecretSet []string `json:"secret_set"`
	}
	readJSON(t, filepath.Join(runDir, "run.json"), &m)
	storedHeader := "local.headers.X-Api-Key=[REDACTED]"
	storedURL := "local.base_url=http://[REDACTED]@" + host + "/v1"
	storedBody := "local.extra_body.access_token=[REDACTED]"
	if want := []string{storedHeader, storedURL, "local.model=tiny-2", storedBody}; !slices.Equal(m.Load.Set, want) {
		t.Errorf("run.json load.set = %q, want %q", m.Load.Set, want)
	}
	if want := []string{"local.headers.X-Api-Key", "local.base_url", "local.extra_body.access_token"}; !slices.Equal(m.SecretSet, want) {
		t.Errorf("run.json secret_set = %q, want %q", m.SecretSet, want)
	}

	// Cut the run short, as a crash would, and resume it.
	journal := filepath.Join(runDir, "results.jsonl")
	b, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if err := os.WriteFile(journal, []byte(strings.Join(lines[:4], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(runDir, "report.json")); err != nil {
		t.Fatal(err)
	}
	resume := []string{"run", "--resume", id, "--out", "runs"}
	for _, tc := range []struct {
		name   string
		sets   []string
		stderr string
	}{
		{
			name: "secrets_not_given",
			stderr: fmt.Sprintf("rubric: resume %s: run.json does not keep the secrets the run's --set gave; give them again, each [REDACTED] replaced by its value:\n  rubric run --resume %s --out runs --set '%s' --set '%s' --set '%s'\n",
				id, id, storedHeader, storedURL, storedBody),
		},
		{
			name: "one_secret_given",
			sets: []string{setHeader},
			stderr: fmt.Sprintf("rubric: resume %s: run.json does not keep the secrets the run's --set gave; give them again, each [REDACTED] replaced by its value:\n  rubric run --resume %s --out runs --set '%s' --set '%s' --set '%s'\n",
				id, id, storedHeader, storedURL, storedBody),
		},
		{
			name:   "another_field",
			sets:   []string{setHeader, setURL, setBody, "local.model=tiny-3"},
			stderr: "rubric: run: --resume keeps the options the run started with; --set cannot change them (local.model=tiny-3): it may give again only the secrets run.json does not keep, of local.headers.X-Api-Key, local.base_url, local.extra_body.access_token\n",
		},
		{
			name:   "url_changed",
			sets:   []string{setHeader, setBody, "local.base_url=http://bob:" + urlSecret + "@elsewhere/v1"},
			stderr: "rubric: --set local.base_url=http://[REDACTED]@elsewhere/v1 differs from the run's --set " + storedURL + " in more than its secrets: a resumed run keeps its options\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := slices.Clone(resume)
			for _, s := range tc.sets {
				args = append(args, "--set", s)
			}
			r := rubric(t, dir, env, args...)
			if r.code != exitBadInput || r.stderr != tc.stderr || r.stdout != "" {
				t.Errorf("want exit 2 and stderr\n%s\ngot %s", tc.stderr, r)
			}
		})
	}
	if n := len(srv.requests()); n != 10 {
		t.Fatalf("a refused resume sent %d requests", n-10)
	}

	// Without the cache, which has the answers: the requests are sent.
	r = rubric(t, dir, env, append(resume, "--no-cache", "--set", setBody, "--set", setURL, "--set", setHeader)...)
	if r.code != exitOK {
		t.Fatalf("resume with the secrets: want exit 0\n%s", r)
	}
	reqs = srv.requests()[10:]
	if len(reqs) != 6 {
		t.Errorf("the resumed run sent %d requests, want the 6 without a result", len(reqs))
	}
	for _, q := range reqs {
		if q.header.Get("X-Api-Key") != headerSecret || q.body["model"] != "tiny-2" || q.body["access_token"] != bodySecret {
			t.Errorf("resumed request with X-Api-Key %q, body %v: want the run's", q.header.Get("X-Api-Key"), q.body)
		}
	}
	if results, rep := runFiles(t, dir, "runs", id); len(results) != 10 || !rep.Complete {
		t.Errorf("after the resume: %d results, complete %v", len(results), rep.Complete)
	}
	if found := findSecrets(t, secrets, runDir, cacheDir); len(found) > 0 {
		t.Errorf("secrets given with --set to the resume are stored:\n%s", strings.Join(found, "\n"))
	}
}
