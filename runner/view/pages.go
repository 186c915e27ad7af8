package view

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/history"
	"github.com/rubric-eval/rubric/runner/rundir"
)

//go:embed templates static
var assets embed.FS

// page is what every page's template gets.
type page struct {
	Title string
	// Crumbs lead from the runs page to this one.
	Crumbs []crumb
	CSRF   string
	D      any
}

type crumb struct{ Name, Link string }

// parsePages parses each page's template with the layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(assets, f)
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"pct":      pct,
	"pctp":     func(v *float64) string { return optional(v, pct) },
	"num":      num,
	"nump":     func(v *float64) string { return optional(v, num) },
	"ci":       ciText,
	"signedpp": func(v float64) string { return fmt.Sprintf("%+.1f pp", v*100) },
	"signed":   func(v float64) string { return fmt.Sprintf("%+.3g", v) },
	"ms":       func(v float64) string { return fmt.Sprintf("%.0f ms", v) },
	"when":     func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"short": func(s string) string {
		if len(s) > 10 {
			return s[:10]
		}
		return s
	},
	"join": strings.Join,
	"list": func(s ...string) []string { return s },
	"runLink": func(id string) string {
		return "/runs/" + url.PathEscape(id)
	},
	"statusClass": func(s string) string { return "st-" + strings.ToLower(s) },
	"pvalue":      func(p float64) string { return fmt.Sprintf("%.3g", p) },
	"percentOf": func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return pct(float64(a) / float64(b))
	},
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func optional(v *float64, f func(float64) string) string {
	if v == nil {
		return "–"
	}
	return f(*v)
}

// ciText writes an interval as rates ("81.2–85.0%") when asRate, else as
// numbers.
func ciText(iv *evals.Interval, asRate bool) string {
	if iv == nil {
		return ""
	}
	if asRate {
		return strconv.FormatFloat(iv.Lo*100, 'f', 1, 64) + "–" + pct(iv.Hi)
	}
	return num(iv.Lo) + "–" + num(iv.Hi)
}

// render writes a page, or a failure when its template fails: into a
// buffer first, so that a failed page is never half written.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	p.CSRF = s.csrf
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		http.Error(w, "rubric view: the page "+name+" failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail shows an error page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", &page{Title: http.StatusText(status), D: struct {
		Status  int
		Message string
	}{status, msg}})
}

// failErr shows err: a run not found is a 404, a cancelled request
// nothing, anything else a 500.
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, history.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "no run "+r.PathValue("run")+" in the history or among the folders given")
	case errors.Is(err, fs.ErrNotExist):
		s.fail(w, r, http.StatusNotFound, err.Error())
	case errors.Is(err, context.Canceled):
	default:
		s.fail(w, r, http.StatusInternalServerError, err.Error())
	}
}

// ---- runs ----

type runRow struct {
	history.Run
	Link, Ago string
	Verdict   string // held, failed, none
}

type runsData struct {
	Rows                   []runRow
	Suites, Targets        []string
	Suite, Target, Verdict string
	Total                  int
	// More links to the next page of runs; "" on the last.
	More, Prev string
}

// runsPerPage is the number of runs the runs page shows at a time.
const runsPerPage = 100

func verdictOf(r *history.Run) string {
	switch {
	case !r.Complete:
		return "incomplete"
	case r.GateHeld == nil:
		return "none"
	case *r.GateHeld:
		return "held"
	default:
		return "failed"
	}
}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := runsData{Suite: q.Get("suite"), Target: q.Get("target"), Verdict: q.Get("verdict")}
	switch d.Verdict {
	case "", "held", "failed", "none", "incomplete":
	default:
		s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("verdict=%q: expected held, failed, none or incomplete", d.Verdict))
		return
	}
	pageN := 1
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("page=%q: expected a whole number from 1", p))
			return
		}
		pageN = n
	}
	all, err := s.cat.Runs(r.Context(), history.Filter{})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	for _, run := range all {
		if !slices.Contains(d.Suites, run.Suite) {
			d.Suites = append(d.Suites, run.Suite)
		}
		for _, t := range run.Targets {
			if !slices.Contains(d.Targets, t.Name) {
				d.Targets = append(d.Targets, t.Name)
			}
		}
	}
	sort.Strings(d.Suites)
	sort.Strings(d.Targets)
	now := s.opts.Now()
	var rows []runRow
	for _, run := range all {
		if d.Suite != "" && run.Suite != d.Suite {
			continue
		}
		if d.Target != "" && !slices.ContainsFunc(run.Targets, func(t history.Target) bool { return t.Name == d.Target }) {
			continue
		}
		v := verdictOf(&run)
		if d.Verdict != "" && v != d.Verdict {
			continue
		}
		rows = append(rows, runRow{Run: run, Link: "/runs/" + url.PathEscape(run.ID), Ago: since(now, run.Started), Verdict: v})
	}
	d.Total = len(rows)
	from := (pageN - 1) * runsPerPage
	if from > len(rows) {
		from = len(rows)
	}
	d.Rows = rows[from:min(len(rows), from+runsPerPage)]
	link := func(n int) string {
		v := url.Values{}
		for k, s := range map[string]string{"suite": d.Suite, "target": d.Target, "verdict": d.Verdict} {
			if s != "" {
				v.Set(k, s)
			}
		}
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		return "/?" + v.Encode()
	}
	if from+runsPerPage < len(rows) {
		d.More = link(pageN + 1)
	}
	if pageN > 1 {
		d.Prev = link(pageN - 1)
	}
	s.render(w, r, http.StatusOK, "runs", &page{Title: "Runs", D: d})
}

// ---- a run ----

type runData struct {
	Run     *history.Run
	Sum     *evals.Summary
	Verdict string
	Cases   string // the link to its cases
	// Indexed counts the results of a run still going.
	Indexed int
	// Previous is the run of the same suite before this one, for the
	// comparison; "" when there is none.
	Previous, Compare, Trend string
	Targets                  []targetView
	// RunGates are the gates checked once a run, on no target (a judge's
	// agreement with people).
	RunGates []evals.GateResult
}

type targetView struct {
	*evals.TargetSummary
	Cases, Failed string // links
	Errors        []kindCount
	Criteria      []criterionView
	Slices        []sliceView
	Gates         []evals.GateResult
	Classes       []classView
}

type kindCount struct {
	Kind  string
	N     int
	Cases string
}

type criterionView struct {
	*evals.CriterionSummary
	Failed string
}

type sliceView struct {
	*evals.SliceSummary
	Cases, Failed string
}

type classView struct {
	Criterion string
	*evals.Classification
}

// casesLink links to the cases of run that q selects.
func casesLink(run string, q caseQuery) string {
	v := q.values()
	u := "/runs/" + url.PathEscape(run) + "/cases"
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return u
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("run")
	run, err := s.cat.Get(ctx, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	sum, err := summaryOf(run)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	d := runData{Run: run, Sum: sum, Verdict: verdictOf(run), Cases: casesLink(id, caseQuery{})}
	if sum == nil && !run.Missing {
		x, err := s.cat.index(ctx, id)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		d.Indexed = x.len()
	}
	if run.Suite != "" {
		d.Trend = "/trend?" + url.Values{"suite": {run.Suite}}.Encode()
		runs, err := s.cat.Runs(ctx, history.Filter{Suite: run.Suite})
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		for i, o := range runs {
			if o.ID == id && i+1 < len(runs) {
				d.Previous = runs[i+1].ID
				d.Compare = "/compare?" + url.Values{"a": {id}, "b": {d.Previous}}.Encode()
			}
		}
	}
	if sum != nil {
		for i := range sum.Targets {
			t := &sum.Targets[i]
			multi := len(sum.Targets) > 1
			tq := caseQuery{}
			if multi {
				tq.Target = t.Name
			}
			tv := targetView{TargetSummary: t, Cases: casesLink(id, tq)}
			fq := tq
			fq.Status = string(evals.StatusFailed)
			tv.Failed = casesLink(id, fq)
			kinds := make([]string, 0, len(t.Errors))
			for k := range t.Errors {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				eq := tq
				eq.ErrorKind = k
				tv.Errors = append(tv.Errors, kindCount{k, t.Errors[k], casesLink(id, eq)})
			}
			for j := range t.Criteria {
				c := &t.Criteria[j]
				cq := tq
				cq.Criterion = c.Name
				tv.Criteria = append(tv.Criteria, criterionView{c, casesLink(id, cq)})
				if c.Classification != nil {
					tv.Classes = append(tv.Classes, classView{c.Name, c.Classification})
				}
			}
			for j := range t.Slices {
				sl := &t.Slices[j]
				sq := tq
				sq.Slice = sl.Name()
				sv := sliceView{SliceSummary: sl, Cases: casesLink(id, sq)}
				sq.Status = string(evals.StatusFailed)
				sv.Failed = casesLink(id, sq)
				tv.Slices = append(tv.Slices, sv)
			}
			for _, g := range sum.Gate.Results {
				if g.Target == t.Name {
					tv.Gates = append(tv.Gates, g)
				}
			}
			d.Targets = append(d.Targets, tv)
		}
		for _, g := range sum.Gate.Results {
			if g.Target == "" {
				d.RunGates = append(d.RunGates, g)
			}
		}
	}
	s.render(w, r, http.StatusOK, "run", &page{Title: "Run " + id, Crumbs: []crumb{{"Runs", "/"}}, D: d})
}

// ---- cases ----

type casesData struct {
	Run   *history.Run
	Q     caseQuery
	Page  *casePage
	Rows  []caseRow
	Error string
	// The values the filters offer.
	Targets, Statuses, Criteria, Slices, ErrorKinds []string
	Indexed                                         int
	First, Last                                     int // the rows' numbers, from 1
	Prev, Next                                      string
	Action                                          string
}

type caseRow struct {
	history.Case
	Link string
}

// caseLink links to the page of a case of a run.
func caseLink(run, target, id string, repeat int) string {
	v := url.Values{"target": {target}, "id": {id}}
	if repeat != 0 {
		v.Set("repeat", strconv.Itoa(repeat))
	}
	return "/runs/" + url.PathEscape(run) + "/case?" + v.Encode()
}

func (s *Server) casesPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("run")
	run, err := s.cat.Get(ctx, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	x, err := s.cat.index(ctx, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	d := casesData{Run: run, Indexed: x.len(), Action: "/runs/" + url.PathEscape(id) + "/cases"}
	d.Targets, d.Statuses, d.ErrorKinds = sorted(x.targets.list), sorted(x.statuses.list), sorted(x.errKinds.list)
	d.Criteria, d.Slices = sorted(x.criteria.list), sorted(x.slices.list)
	crumbs := []crumb{{"Runs", "/"}, {"Run " + id, "/runs/" + url.PathEscape(id)}}
	q, err := parseCaseQuery(r.URL.Query())
	d.Q = q
	if err != nil {
		d.Error = err.Error()
		s.render(w, r, http.StatusBadRequest, "cases", &page{Title: "Cases of " + id, Crumbs: crumbs, D: d})
		return
	}
	var read outputReader
	if q.searchesOutputs() {
		f, err := os.Open(resultsPath(run))
		if err != nil {
			d.Error = fmt.Sprintf("the run's results cannot be read (%v): search the case ids only", err)
			s.render(w, r, http.StatusNotFound, "cases", &page{Title: "Cases of " + id, Crumbs: crumbs, D: d})
			return
		}
		defer f.Close()
		read = readerAt(f)
	}
	p, err := x.page(id, q, read)
	if err != nil {
		d.Error = err.Error()
		s.render(w, r, http.StatusBadRequest, "cases", &page{Title: "Cases of " + id, Crumbs: crumbs, D: d})
		return
	}
	d.Page = p
	for _, c := range p.Cases {
		d.Rows = append(d.Rows, caseRow{Case: c, Link: caseLink(id, c.Target, c.CaseID, c.Repeat)})
	}
	link := func(set func(url.Values)) string {
		v := q.values()
		set(v)
		return d.Action + "?" + v.Encode()
	}
	if q.searchesOutputs() {
		if p.Next >= 0 {
			d.Next = link(func(v url.Values) { v.Set("from", strconv.Itoa(p.Next)) })
		}
	} else {
		d.First = (p.Page-1)*PageSize + 1
		d.Last = d.First + len(p.Cases) - 1
		if p.Page < p.Pages {
			d.Next = link(func(v url.Values) { v.Set("page", strconv.Itoa(p.Page+1)) })
		}
		if p.Page > 1 {
			d.Prev = link(func(v url.Values) {
				if p.Page > 2 {
					v.Set("page", strconv.Itoa(p.Page-1))
				}
			})
		}
	}
	s.render(w, r, http.StatusOK, "cases", &page{Title: "Cases of " + id, Crumbs: crumbs, D: d})
}

func sorted(list []string) []string {
	out := slices.Clone(list)
	sort.Strings(out)
	return out
}

// ---- a case ----

type caseData struct {
	Run     *history.Run
	Target  string
	CaseID  string
	Repeats []repeatView
	// Review is the case's review form, for the repeat shown first.
	Reviewable bool
	Action     string
	Compare    string
}

type repeatView struct {
	*evals.Result
	Selected   bool
	RequestURL string
	Body       string    // the request body, indented
	Messages   []msgView // the prompt as sent
	Transcript []msgView
	Vars       string
	Expected   string
	Metadata   string
	Review     *rundir.Review
}

type msgView struct {
	Role, Name, Content, ToolCallID, Error string
	Calls                                  []callView
}

type callView struct{ ID, Name, Args string }

func messagesView(msgs []evals.Message) []msgView {
	var out []msgView
	for _, m := range msgs {
		v := msgView{Role: m.Role, Name: m.Name, Content: m.Content, ToolCallID: m.ToolCallID, Error: m.Error}
		for _, c := range m.ToolCalls {
			v.Calls = append(v.Calls, callView{c.ID, c.Name, indentJSON([]byte(c.ArgumentsText()))})
		}
		out = append(out, v)
	}
	return out
}

// indentJSON indents JSON for reading; anything else is kept as it is.
func indentJSON(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

// jsonText writes a value as indented JSON; a string as it is.
func jsonText(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}

// find returns the positions of the results of one target's case: from
// start up to end.
func (x *caseIndex) find(target, id string) (start, end int) {
	cmpAt := func(p int) int {
		_, e := x.pos(p)
		if c := strings.Compare(x.targets.list[e.target], target); c != 0 {
			return c
		}
		return bytes.Compare(x.idOf(e), []byte(id))
	}
	n := x.len()
	start = sort.Search(n, func(p int) bool { return cmpAt(p) >= 0 })
	end = start
	for end < n && cmpAt(end) == 0 {
		end++
	}
	return start, end
}

// readResults reads the results of one target's case, every repeat.
func (s *Server) readResults(ctx context.Context, run *history.Run, target, id string) ([]*evals.Result, error) {
	x, err := s.cat.index(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	start, end := x.find(target, id)
	if start == end {
		return nil, nil
	}
	// A run of another machine is read from the history only: its folder
	// is there, and a folder of the same name here is not it.
	if run.Elsewhere() {
		out, err := s.storedResults(ctx, run, x, start, end)
		if err == nil && out == nil {
			err = fmt.Errorf("run %s was recorded on %s, and its results are in its folder there (%s): the history holds them for a run that rubric push uploaded", run.ID, run.Host, run.Dir)
		}
		return out, err
	}
	f, err := os.Open(resultsPath(run))
	if errors.Is(err, fs.ErrNotExist) {
		// A pushed run keeps its results in the history too.
		if out, serr := s.storedResults(ctx, run, x, start, end); serr != nil || out != nil {
			return out, serr
		}
		return nil, fmt.Errorf("run %s: its folder %s is gone (moved or deleted), and its results with it; rubric history --prune forgets such runs: %w", run.ID, run.Dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: its results cannot be read: %w", run.ID, err)
	}
	defer f.Close()
	var out []*evals.Result
	var buf []byte
	for p := start; p < end; p++ {
		_, e := x.pos(p)
		var res *evals.Result
		res, buf, err = rundir.ReadResultAt(f, rundir.Span{Off: e.off, Len: int(e.len)}, buf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", resultsPath(run), err)
		}
		out = append(out, res)
	}
	return out, nil
}

// storedResults reads the results at positions start to end of the index
// x from the history, where rubric push stores them; nil when the run was
// recorded without them.
func (s *Server) storedResults(ctx context.Context, run *history.Run, x *caseIndex, start, end int) ([]*evals.Result, error) {
	var out []*evals.Result
	for p := start; p < end; p++ {
		_, e := x.pos(p)
		target, id := x.targets.list[e.target], string(x.idOf(e))
		line, err := s.cat.Result(ctx, run.ID, target, id, int(e.repeat))
		if err != nil {
			return nil, err
		}
		if line == nil {
			return nil, nil
		}
		var res evals.Result
		if err := json.Unmarshal(line, &res); err != nil {
			return nil, fmt.Errorf("run %s: the stored result of case %s of target %s: %w", run.ID, id, target, err)
		}
		out = append(out, &res)
	}
	return out, nil
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("run")
	q := r.URL.Query()
	target, caseID := q.Get("target"), q.Get("id")
	repeat := 0
	if rs := q.Get("repeat"); rs != "" {
		n, err := strconv.Atoi(rs)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("repeat=%q: expected a whole number", rs))
			return
		}
		repeat = n
	}
	run, err := s.cat.Get(ctx, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	results, err := s.readResults(ctx, run, target, caseID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if len(results) == 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("run %s has no case %q of target %q", id, caseID, target))
		return
	}
	reviews, err := rundir.ReadReviews(run.Dir)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	d := caseData{Run: run, Target: target, CaseID: caseID, Reviewable: reviewable(run), Action: "/runs/" + url.PathEscape(id) + "/review"}
	selected := false
	for _, res := range results {
		v := repeatView{Result: res, Selected: res.Repeat == repeat}
		selected = selected || v.Selected
		if res.Request != nil {
			v.RequestURL = res.Request.URL
			v.Body = indentJSON(res.Request.Body)
			if msgs, ok, err := res.Request.Messages(); err == nil && ok {
				v.Messages = messagesView(msgs)
			}
		}
		v.Transcript = messagesView(res.Transcript)
		if res.Vars != nil {
			v.Vars = jsonText(res.Vars)
		}
		v.Expected = jsonText(res.Expected)
		if res.Metadata != nil {
			v.Metadata = jsonText(res.Metadata)
		}
		if rv, ok := reviews[rundir.ReviewKey{CaseID: res.CaseID, Target: res.Target, Repeat: res.Repeat}]; ok {
			v.Review = &rv
		}
		d.Repeats = append(d.Repeats, v)
	}
	if !selected {
		d.Repeats[0].Selected = true
	}
	title := "Case " + caseID
	s.render(w, r, http.StatusOK, "case", &page{Title: title, Crumbs: []crumb{{"Runs", "/"}, {"Run " + id, "/runs/" + url.PathEscape(id)},
		{"Cases", casesLink(id, caseQuery{})}}, D: d})
}
