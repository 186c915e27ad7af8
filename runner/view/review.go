package view

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// reviewable reports whether a run's folder, where reviews are kept, is on
// this machine.
func reviewable(run *history.Run) bool { return !run.Missing && !run.Elsewhere() }

// maxReviewBytes bounds a review's form.
const maxReviewBytes = 1 << 20

// review records a reviewer's verdict on one result in the run folder's
// reviews.jsonl, where rubric export --format review-csv finds it.
func (s *Server) review(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxReviewBytes)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "the review's form: "+err.Error())
		return
	}
	if !sameToken(r.PostForm.Get("csrf"), s.csrf) {
		s.fail(w, r, http.StatusForbidden, "the review was refused: its form did not come from this viewer (reload the case's page and try again)")
		return
	}
	id := r.PathValue("run")
	run, err := s.cat.Get(ctx, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if !reviewable(run) {
		s.fail(w, r, http.StatusConflict, fmt.Sprintf("run %s cannot be reviewed here: reviews are kept in its folder, %s, which is not on this machine", id, run.Dir))
		return
	}
	f := r.PostForm
	rv := rundir.Review{CaseID: f.Get("id"), Target: f.Get("target"), Verdict: strings.ToLower(strings.TrimSpace(f.Get("verdict"))),
		Corrected: f.Get("corrected"), Comment: f.Get("comment"), At: s.opts.Now().UTC()}
	if strings.TrimSpace(rv.Corrected) == "" {
		rv.Corrected = ""
	}
	if rs := f.Get("repeat"); rs != "" {
		n, err := strconv.Atoi(rs)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("repeat=%q: expected a whole number", rs))
			return
		}
		rv.Repeat = n
	}
	switch rv.Verdict {
	case "", datasets.VerdictAccept, datasets.VerdictReject, datasets.VerdictSkip:
	default:
		s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("verdict %q: expected %s, %s, %s or none", rv.Verdict, datasets.VerdictAccept, datasets.VerdictReject, datasets.VerdictSkip))
		return
	}
	if rv.Corrected != "" && (rv.Verdict == datasets.VerdictReject || rv.Verdict == datasets.VerdictSkip) {
		s.fail(w, r, http.StatusBadRequest, "verdict "+rv.Verdict+" with a corrected answer: a corrected answer keeps the case; clear one of them")
		return
	}
	results, err := s.readResults(ctx, run, rv.Target, rv.CaseID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	found := false
	for _, res := range results {
		found = found || res.Repeat == rv.Repeat
	}
	if !found {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("run %s has no case %q of target %q, repeat %d", id, rv.CaseID, rv.Target, rv.Repeat))
		return
	}
	s.reviewMu.Lock()
	err = rundir.AppendReview(run.Dir, &rv)
	s.reviewMu.Unlock()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "the review could not be kept: "+err.Error())
		return
	}
	http.Redirect(w, r, caseLink(id, rv.Target, rv.CaseID, rv.Repeat)+"#review", http.StatusSeeOther)
}
