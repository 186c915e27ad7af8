package view

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/history"
)

// maxFlipsShown caps the regressions and the fixes a comparison lists.
const maxFlipsShown = 200

type compareData struct {
	A, B *history.Run
	// Runs offer the choice of runs when a or b is missing.
	Runs  []history.Run
	Pairs []pairView
	Note  string
}

type pairView struct {
	C                   evals.Comparison
	A, B                *evals.TargetSummary // nil when the run has no report
	Regressions, Fixes  []flip
	MoreRegs, MoreFixes int
	Significant         bool
	ALink, BLink        string
	RegsLink, FixesLink string
}

type flip struct {
	CaseID string
	Repeat int
	Link   string
}

func (s *Server) comparePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	aID, bID := q.Get("a"), q.Get("b")
	d := compareData{}
	if aID != "" {
		a, err := s.cat.Get(ctx, aID)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		d.A = a
		if bID == "" && a.Suite != "" {
			runs, err := s.cat.Runs(ctx, history.Filter{Suite: a.Suite})
			if err != nil {
				s.failErr(w, r, err)
				return
			}
			for i, o := range runs {
				if o.ID == aID && i+1 < len(runs) {
					bID = runs[i+1].ID
				}
			}
		}
	}
	if bID != "" {
		b, err := s.cat.Get(ctx, bID)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		d.B = b
	}
	crumbs := []crumb{{"Runs", "/"}}
	if d.A == nil || d.B == nil {
		runs, err := s.cat.Runs(ctx, history.Filter{})
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		d.Runs = runs
		if d.A != nil {
			d.Note = "run " + d.A.ID + " has no earlier run of its suite: choose the run to compare it with"
		}
		s.render(w, r, http.StatusOK, "compare", &page{Title: "Compare runs", Crumbs: crumbs, D: d})
		return
	}
	pairs, err := s.pairs(ctx, d.A, d.B, q.Get("target"), q.Get("against"))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	d.Pairs = pairs
	s.render(w, r, http.StatusOK, "compare", &page{Title: "Compare " + d.A.ID + " with " + d.B.ID, Crumbs: crumbs, D: d})
}

// pairs compares the targets of run a with those of b: target with
// against when given, else each target with the one of the same name.
func (s *Server) pairs(ctx context.Context, a, b *history.Run, target, against string) ([]pairView, error) {
	sa, err := summaryOf(a)
	if err != nil {
		return nil, err
	}
	sb, err := summaryOf(b)
	if err != nil {
		return nil, err
	}
	xa, err := s.cat.index(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	xb, err := s.cat.index(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	var names [][2]string
	switch {
	case target != "" || against != "":
		t, g := cmp.Or(target, against), cmp.Or(against, target)
		if xa.targets.find(t) < 0 {
			return nil, fmt.Errorf("run %s has no target %q: it has %s", a.ID, t, strings.Join(xa.targets.list, ", "))
		}
		if xb.targets.find(g) < 0 {
			return nil, fmt.Errorf("run %s has no target %q: it has %s", b.ID, g, strings.Join(xb.targets.list, ", "))
		}
		names = append(names, [2]string{t, g})
	default:
		for _, t := range xa.targets.list {
			if xb.targets.find(t) >= 0 {
				names = append(names, [2]string{t, t})
			}
		}
		if len(names) == 0 && len(xa.targets.list) == 1 && len(xb.targets.list) == 1 {
			names = append(names, [2]string{xa.targets.list[0], xb.targets.list[0]})
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("runs %s and %s have no target in common: choose one of each with target= and against=", a.ID, b.ID)
		}
	}
	st := evals.DefaultStatistics()
	if sa != nil {
		st = sa.Statistics
	}
	var out []pairView
	for _, n := range names {
		oa, ob := outcomes(xa, n[0]), outcomes(xb, n[1])
		p := pairView{C: runner.Compare(oa, ob, n[0], n[1], st), A: targetOf(sa, n[0]), B: targetOf(sb, n[1])}
		p.C.AgainstRun = b.ID
		p.Significant = p.C.Matched > 0 && p.C.McNemarP < 1-st.Confidence
		var regs, fixes []runner.CaseKey
		for k, x := range oa {
			y, ok := ob[k]
			switch {
			case !ok || x.Pass == y.Pass:
			case x.Pass:
				fixes = append(fixes, k)
			default:
				regs = append(regs, k)
			}
		}
		side := func(keys []runner.CaseKey) ([]flip, int) {
			slices.SortFunc(keys, func(x, y runner.CaseKey) int {
				return cmp.Or(strings.Compare(x.CaseID, y.CaseID), cmp.Compare(x.Repeat, y.Repeat))
			})
			var fs []flip
			for _, k := range keys[:min(len(keys), maxFlipsShown)] {
				v := url.Values{"a": {a.ID}, "b": {b.ID}, "target": {n[0]}, "against": {n[1]}, "id": {k.CaseID}, "repeat": {strconv.Itoa(k.Repeat)}}
				fs = append(fs, flip{k.CaseID, k.Repeat, "/compare/case?" + v.Encode()})
			}
			return fs, len(keys) - len(fs)
		}
		p.Regressions, p.MoreRegs = side(regs)
		p.Fixes, p.MoreFixes = side(fixes)
		p.ALink = casesLink(a.ID, caseQuery{Target: n[0]})
		p.BLink = casesLink(b.ID, caseQuery{Target: n[1]})
		out = append(out, p)
	}
	return out, nil
}

// outcomes reads one target's results from a case index, for runner.Compare.
func outcomes(x *caseIndex, target string) runner.Outcomes {
	t := x.targets.find(target)
	o := runner.Outcomes{}
	passed := x.statuses.find(string(evals.StatusPassed))
	for p := range x.len() {
		_, e := x.pos(p)
		if int(e.target) != t {
			continue
		}
		score := float64(e.score)
		if score != score { // NaN: no score
			score = 0
		}
		o[runner.CaseKey{CaseID: string(x.idOf(e)), Repeat: int(e.repeat)}] = runner.Outcome{Pass: int(e.status) == passed, Score: score}
	}
	return o
}

func targetOf(s *evals.Summary, name string) *evals.TargetSummary {
	if s == nil {
		return nil
	}
	for i := range s.Targets {
		if s.Targets[i].Name == name {
			return &s.Targets[i]
		}
	}
	return nil
}

type sideBySide struct {
	A, B            *history.Run
	Target, Against string
	CaseID          string
	Repeat          int
	RA, RB          *evals.Result // nil when the run lacks the case
	Criteria        []criterionPair
	Sides           []side
	Back            string
}

type side struct {
	Run, Target, Link string
	R                 *evals.Result
}

type criterionPair struct {
	Name   string
	SA, SB *evals.Score
}

func (s *Server) compareCasePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := sideBySide{Target: q.Get("target"), Against: cmp.Or(q.Get("against"), q.Get("target")), CaseID: q.Get("id")}
	if rs := q.Get("repeat"); rs != "" {
		n, err := strconv.Atoi(rs)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("repeat=%q: expected a whole number", rs))
			return
		}
		d.Repeat = n
	}
	var err error
	if d.A, err = s.cat.Get(ctx, q.Get("a")); err != nil {
		s.failErr(w, r, err)
		return
	}
	if d.B, err = s.cat.Get(ctx, q.Get("b")); err != nil {
		s.failErr(w, r, err)
		return
	}
	pick := func(run *history.Run, target string) (*evals.Result, error) {
		rs, err := s.readResults(ctx, run, target, d.CaseID)
		if err != nil {
			return nil, err
		}
		for _, res := range rs {
			if res.Repeat == d.Repeat {
				return res, nil
			}
		}
		return nil, nil
	}
	if d.RA, err = pick(d.A, d.Target); err != nil {
		s.failErr(w, r, err)
		return
	}
	if d.RB, err = pick(d.B, d.Against); err != nil {
		s.failErr(w, r, err)
		return
	}
	if d.RA == nil && d.RB == nil {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("neither run has case %q (repeat %d)", d.CaseID, d.Repeat))
		return
	}
	var crit []string
	for _, res := range []*evals.Result{d.RA, d.RB} {
		if res == nil {
			continue
		}
		for _, sc := range res.Scores {
			if !slices.Contains(crit, sc.Name) {
				crit = append(crit, sc.Name)
			}
		}
	}
	score := func(res *evals.Result, name string) *evals.Score {
		if res == nil {
			return nil
		}
		for i := range res.Scores {
			if res.Scores[i].Name == name {
				return &res.Scores[i]
			}
		}
		return nil
	}
	for _, c := range crit {
		d.Criteria = append(d.Criteria, criterionPair{c, score(d.RA, c), score(d.RB, c)})
	}
	d.Sides = []side{
		{d.A.ID, d.Target, caseLink(d.A.ID, d.Target, d.CaseID, d.Repeat), d.RA},
		{d.B.ID, d.Against, caseLink(d.B.ID, d.Against, d.CaseID, d.Repeat), d.RB},
	}
	d.Back = "/compare?" + url.Values{"a": {d.A.ID}, "b": {d.B.ID}}.Encode()
	s.render(w, r, http.StatusOK, "comparecase", &page{Title: "Case " + d.CaseID + " side by side",
		Crumbs: []crumb{{"Runs", "/"}, {"Compare", d.Back}}, D: d})
}
