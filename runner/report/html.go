package report

import (
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// HTML writes one self-contained page for people, a section per suite: per
// target the figures and a chart of the pass rates with their intervals; the
// criteria with their classification and corpus figures; the slices; the
// repeats and flaky cases; each comparison, regressions first, with a chart
// of its paired intervals; the gate with margins; and the failed cases the
// summary lists, each with every criterion's verdict and reason, the error,
// the start of the output and, for a conversation, how it ended.
//
// The page loads nothing: its style is inline, allowed by a hash in its
// Content-Security-Policy, which allows nothing else (no script, no image,
// no font, no request); its charts are inline SVG; its links are to anchors
// of the page. Everything that comes from a model, a dataset or a suite goes
// through html/template's contextual escaping, with control characters made
// visible, so it shows as text and never becomes markup.
//
// HTML keeps what it shows of each suite (the failed cases' outputs
// clipped) until Finish writes the page.
type HTML struct {
	suites []*htmlSuite
	cur    *htmlSuite
	// cases are the failed cases of the current suite that the page lists,
	// filled as their results stream by.
	cases map[resultKey]*htmlCase
}

var _ SuiteWriter = (*HTML)(nil)

// NewHTML returns an HTML writer; Finish writes the page.
func NewHTML() *HTML { return &HTML{} }

// Clipping in the HTML report, in characters.
const (
	htmlName     = 80   // a name or case id in a table or heading
	htmlLine     = 300  // a reason on a failed case's summary line
	htmlReason   = 2000 // a criterion's reason, an error message
	htmlOutput   = 4000 // a model's output
	htmlLabelLen = 40   // a classification label
	htmlLabels   = 20   // the labels of the largest confusion matrix shown
)

// The charts' layout, in pixels, and the smallest half-range of a chart of
// differences.
const (
	chartWidth  = 640
	chartLabelW = 190 // the names' column
	chartValueW = 120 // the values' column
	chartRowH   = 24
	chartAxisH  = 26
	chartMinAbs = 0.05
)

//go:embed html.tmpl html.css
var htmlFiles embed.FS

var (
	htmlStyle = mustReadHTMLFile("html.css")
	// htmlCSP allows the page's own inline style, by its hash, and nothing
	// else. default-src does not cover base-uri and form-action.
	htmlCSP  = "default-src 'none'; style-src '" + styleHash(htmlStyle) + "'; base-uri 'none'; form-action 'none'"
	htmlPage = template.Must(template.New("html.tmpl").ParseFS(htmlFiles, "html.tmpl"))
)

func mustReadHTMLFile(name string) string {
	b, err := htmlFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// styleHash is the CSP source that allows a <style> element whose text is
// css: 'sha256-BASE64'.
func styleHash(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// Begin builds the suite's section from its summary, and notes which
// results it will quote.
func (h *HTML) Begin(s *evals.Summary) error {
	h.cur = newHTMLSuite(fmt.Sprintf("s%d", len(h.suites)+1), s)
	h.cases = map[resultKey]*htmlCase{}
	for _, f := range h.cur.Failures {
		for _, c := range f.Cases {
			h.cases[c.key] = c
		}
	}
	return nil
}

// Write keeps, for a failed case the section lists, its criteria's
// verdicts, its error and the start of its output.
func (h *HTML) Write(r *evals.Result) error {
	if c, ok := h.cases[resultKey{r.Target, r.CaseID, r.Repeat}]; ok {
		c.fill(r)
	}
	return nil
}

// End closes the suite's section.
func (h *HTML) End() error {
	h.suites = append(h.suites, h.cur)
	h.cur, h.cases = nil, nil
	return nil
}

// Finish writes the page with every suite written so far.
func (h *HTML) Finish(w io.Writer) error {
	p := htmlDoc{CSP: htmlCSP, Style: template.CSS(htmlStyle), Suites: h.suites}
	switch len(h.suites) {
	case 0:
		p.Title = "rubric report"
	case 1:
		s := h.suites[0]
		p.Title = "rubric: " + s.Title + ": " + s.Verdict.Text
	default:
		p.Title = fmt.Sprintf("rubric: %d suites", len(h.suites))
	}
	return htmlPage.Execute(w, p)
}

// htmlDoc is what the template shows: the page.
type htmlDoc struct {
	Title string
	CSP   string
	// Style is the page's own style sheet, from html.css: trusted, and
	// allowed by its hash in CSP.
	Style  template.CSS
	Suites []*htmlSuite
}

// htmlSuite is the section of one suite. Its text is as the page shows it
// (one line, clipped, control characters visible); the template escapes it.
type htmlSuite struct {
	ID       string // the section's anchor: s1, s2...
	Title    string
	Verdict  htmlOutcome
	RunID    string
	Path     string
	Started  string
	Finished string
	Baseline string
	// Interrupted says the run stopped before its end.
	Interrupted bool
	Level       string // "95%"
	Methods     string // how the intervals were computed

	Costs       bool
	Targets     []htmlTarget
	Chart       *htmlChart
	Notes       []string // cached, stream, judges, conversations
	Criteria    *htmlTable
	Classes     []htmlClassification
	Slices      *htmlTable
	Repeats     []htmlRepeats
	Comparisons []htmlComparison
	DeltaChart  *htmlChart
	GateNote    string
	Budget      []string
	Gates       []htmlGate
	Failures    []htmlFailures
}

type htmlOutcome struct{ Class, Text string }

func htmlOutcomeOf(o outcome) htmlOutcome {
	return htmlOutcome{Class: o.class, Text: line(o.text, htmlLine)}
}

type htmlTarget struct {
	Name, Model                                  string
	Verdict                                      htmlOutcome
	Cases, Passed, Failed, Errored, Unscored     int
	PassRate, CI, Mean, MeanCI, P50, P95, Tokens string
	Cost                                         string
}

// htmlTable is a table of text whose first column names the row.
type htmlTable struct {
	Head []string
	Rows []htmlRow
}

type htmlRow struct {
	Name, Kind string
	// Cells hold a line of text or more each.
	Cells [][]string
}

type htmlClassification struct {
	Criterion, Target string
	Summary           string
	Labels            []htmlLabel
	More              string
	// Matrix is the confusion matrix; nil, with MatrixNote, when too large.
	Matrix     [][]int
	MatrixHead []string
	MatrixNote string
}

type htmlLabel struct {
	Label                 string
	Precision, Recall, F1 string
	Support, Predicted    int
}

type htmlRepeats struct {
	Target  string
	Summary string
	K       []htmlK
	Flaky   string
	Cases   []string
	More    bool
}

type htmlK struct {
	K               int
	PassAt, PassHat string
}

type htmlComparison struct {
	Title                        string
	Only                         string
	Matched                      int
	RateA, RateB, Delta, DeltaCI string
	Mean, MeanCI                 string
	Wins, Ties, Losses           int
	BothPassed, BothFailed       int
	McNemar                      string
	Regressions, Fixes           int
	RegressionCases, FixCases    []string
	MoreRegressions, MoreFixes   bool
}

type htmlGate struct {
	Outcome                htmlOutcome
	Target, Expr           string
	Value, Margin, Message string
}

type htmlFailures struct {
	ID, Target string
	Summary    string
	Cases      []*htmlCase
	Errors     string
}

// htmlCase is a failed case: the summary's line, then, once its result
// has been read, every criterion's verdict, the error and the output.
type htmlCase struct {
	key                  resultKey
	ID                   string // its anchor
	Name, Status, Reason string
	StatusClass          string
	Found                bool
	Scores               []htmlScore
	Error                string
	Output               string
	OutputMore           int // characters left out
	Facts                string
	Conversation         *htmlTail
}

type htmlScore struct {
	Name, Type, Score, Verdict, Class, Reason string
}

type htmlTail struct {
	Heading string
	Last    []string
}

// line returns s as the page shows a name or a reason: control characters
// visible, on one line, clipped to n characters.
func line(s string, n int) string { return clip(pageText(s), n) }

// block returns s as the page shows an output or a reason in full: control
// characters other than tab and newline visible, clipped to n characters,
// and how many characters were left out.
func block(s string, n int) (string, int) {
	s = pageText(s)
	k := 0
	for i := range s {
		if k == n {
			return s[:i] + "…", utf8.RuneCountInString(s[i:])
		}
		k++
	}
	return s, 0
}

func newHTMLSuite(id string, s *evals.Summary) *htmlSuite {
	v := &htmlSuite{
		ID: id, Title: line(s.Suite, htmlName), Verdict: htmlOutcomeOf(suiteOutcome(s)),
		RunID: line(s.RunID, htmlName), Path: line(s.SuitePath, htmlLine),
		Interrupted: s.Interrupted, Level: level(s.Statistics),
	}
	if s.SuiteVersion != "" {
		v.Title += " (version " + line(s.SuiteVersion, htmlName) + ")"
	}
	if !s.Started.IsZero() {
		v.Started = s.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	if !s.Finished.IsZero() {
		v.Finished = s.Finished.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	if s.Baseline != nil {
		v.Baseline = line(s.Baseline.RunID, htmlName)
	}
	v.Methods = intervalMethods(s)
	v.targets(s)
	v.criteria(s)
	v.slices(s)
	for _, t := range s.Targets {
		if r := t.Repeats; r != nil {
			v.Repeats = append(v.Repeats, htmlRepeatsOf(t.Name, r))
		}
	}
	cmps := slices.Clone(s.Comparisons)
	for _, t := range s.Targets {
		if t.Comparison != nil {
			cmps = append(cmps, *t.Comparison)
		}
	}
	for _, c := range cmps {
		v.Comparisons = append(v.Comparisons, htmlComparisonOf(c))
	}
	v.DeltaChart = deltaChart(cmps)
	v.gate(s)
	v.failures(s)
	return v
}

// intervalMethods says how the intervals were computed, from the methods
// the report records.
func intervalMethods(s *evals.Summary) string {
	var rate, mean string
	for _, t := range s.Targets {
		if t.PassRateCI != nil && rate == "" {
			rate = t.PassRateCI.Method
		}
		if t.MeanCI != nil && mean == "" {
			mean = t.MeanCI.Method
		}
	}
	var parts []string
	if rate != "" {
		parts = append(parts, "pass rates "+rate)
	}
	if mean != "" {
		parts = append(parts, "means "+mean)
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ", ")
}

func (v *htmlSuite) targets(s *evals.Summary) {
	for _, t := range s.Targets {
		v.Costs = v.Costs || t.Cost != nil
	}
	var rows []chartRow
	for _, t := range s.Targets {
		got := t.Cases > t.Errored
		model := t.Provider
		if t.Model != "" {
			model += " " + t.Model
		}
		ht := htmlTarget{
			Name: line(t.Name, htmlName), Model: line(model, htmlName), Verdict: htmlOutcomeOf(targetOutcome(s, t.Name)),
			Cases: t.Cases, Passed: t.Passed, Failed: t.Failed, Errored: t.Errored, Unscored: t.Unscored,
			PassRate: pct(t.PassRate), CI: span(t.PassRateCI), Mean: fmt.Sprintf("%.3f", t.Mean), MeanCI: "-",
			P50: ms(t.LatencyMS.P50, got), P95: ms(t.LatencyMS.P95, got), Tokens: fmt.Sprint(t.Usage.TotalTokens), Cost: "-",
		}
		if t.MeanCI != nil {
			ht.MeanCI = fmt.Sprintf("%.3f-%.3f", t.MeanCI.Lo, t.MeanCI.Hi)
		}
		if t.Cost != nil {
			ht.Cost = money(t.Cost.Total, t.Cost.Currency)
		}
		v.Targets = append(v.Targets, ht)
		row := chartRow{Name: t.Name, Value: t.PassRate, Text: pct(t.PassRate)}
		if iv := t.PassRateCI; iv != nil {
			row.CI = &[2]float64{iv.Lo, iv.Hi}
			row.Text += " " + bracket(iv)
		}
		rows = append(rows, row)

		if t.Cached > 0 {
			n := fmt.Sprintf("%s: %d of %d responses came from the response cache", t.Name, t.Cached, t.Cases)
			if t.Cached == t.Cases {
				n += ", none from the endpoint"
			}
			v.Notes = append(v.Notes, n)
		}
		if ss := t.Stream; ss != nil {
			n := fmt.Sprintf("%s: %d streamed; first token %s", t.Name, ss.Responses, percentiles(ss.FirstTokenMS))
			if ss.ContentResponses > 0 {
				n += "; first content " + percentiles(ss.FirstContentMS)
			}
			if ss.RatedResponses > 0 {
				n += fmt.Sprintf("; %.1f tokens/s", ss.TokensPerSecond)
			}
			v.Notes = append(v.Notes, n)
		}
		if j := t.Judges; j != nil {
			n := fmt.Sprintf("%s: judges made %d calls (%d cached, %d without a verdict), %d tokens", t.Name, j.Calls, j.Cached, j.Failed, j.Usage.TotalTokens)
			if j.Cost != nil {
				n += ", cost " + money(*j.Cost, j.Currency)
			}
			v.Notes = append(v.Notes, n)
		}
		if c := t.Conversations; c != nil {
			v.Notes = append(v.Notes, t.Name+": conversations: "+ConversationText(c))
		}
	}
	for i, n := range v.Notes {
		v.Notes[i] = line(n, htmlLine)
	}
	if len(rows) > 0 {
		v.Chart = rateChart("Pass rate of each target, with its "+v.Level+" interval", rows)
	}
}

func (v *htmlSuite) criteria(s *evals.Summary) {
	if len(s.Targets) == 0 || len(s.Targets[0].Criteria) == 0 {
		return
	}
	tab := &htmlTable{Head: []string{"criterion", "type"}}
	for _, t := range s.Targets {
		tab.Head = append(tab.Head, line(t.Name, htmlName))
	}
	for i, c := range s.Targets[0].Criteria {
		row := htmlRow{Name: line(c.Name, htmlName), Kind: line(c.Type, htmlName)}
		for _, t := range s.Targets {
			if i >= len(t.Criteria) {
				row.Cells = append(row.Cells, []string{"no data"})
				continue
			}
			row.Cells = append(row.Cells, criterionLines(t.Criteria[i]))
		}
		tab.Rows = append(tab.Rows, row)
	}
	v.Criteria = tab
	for _, t := range s.Targets {
		for _, c := range t.Criteria {
			if c.Classification != nil {
				v.Classes = append(v.Classes, htmlClassificationOf(c, t.Name))
			}
		}
	}
}

// criterionLines sums up one criterion's verdicts on one target, a figure
// a line.
func criterionLines(c evals.CriterionSummary) []string {
	if c.N == 0 && c.Unscored == 0 {
		return []string{"no data"}
	}
	var out []string
	if c.N > 0 {
		out = append(out, fmt.Sprintf("%s pass %s", pct(c.PassRate), bracket(c.PassRateCI)),
			fmt.Sprintf("mean %.3f, %d scored", c.Mean, c.N))
	} else {
		out = append(out, "no data")
	}
	if c.CorpusBLEU != nil {
		out = append(out, fmt.Sprintf("corpus BLEU %.2f", *c.CorpusBLEU))
	}
	if tc := c.ToolCalls; tc != nil {
		out = append(out, fmt.Sprintf("tool calls: precision %.3f, recall %.3f, F1 %.3f (%d made, %d expected, %d matched)",
			tc.Precision, tc.Recall, tc.F1, tc.Made, tc.Expected, tc.Matched))
	}
	if cl := c.Classification; cl != nil {
		out = append(out, fmt.Sprintf("micro F1 %.3f, macro F1 %.3f", cl.MicroF1, cl.MacroF1))
	}
	if c.Unscored > 0 {
		out = append(out, fmt.Sprintf("%d unscored", c.Unscored))
	}
	return out
}

func htmlClassificationOf(c evals.CriterionSummary, target string) htmlClassification {
	cl := c.Classification
	hc := htmlClassification{
		Criterion: line(c.Name, htmlName), Target: line(target, htmlName),
		Summary: fmt.Sprintf("%d compared, %d right: micro F1 %.3f (accuracy), macro F1 %.3f over %d labels",
			cl.N, cl.Correct, cl.MicroF1, cl.MacroF1, len(cl.Labels)+cl.OtherLabels),
	}
	for _, l := range cl.Labels {
		hc.Labels = append(hc.Labels, htmlLabel{Label: pageLabel(l.Label),
			Precision: fmt.Sprintf("%.3f", l.Precision), Recall: fmt.Sprintf("%.3f", l.Recall), F1: fmt.Sprintf("%.3f", l.F1),
			Support: l.Support, Predicted: l.Predicted})
	}
	if cl.OtherLabels > 0 {
		hc.More = fmt.Sprintf("%d more labels in report.json, counted in the averages", cl.OtherLabels)
	}
	cm := cl.Confusion
	switch {
	case len(cm.Labels) == 0:
	case len(cm.Labels) > htmlLabels:
		hc.MatrixNote = fmt.Sprintf("The confusion matrix of %d labels is in report.json.", len(cm.Labels))
	default:
		for _, l := range cm.Labels {
			hc.MatrixHead = append(hc.MatrixHead, pageLabel(l))
		}
		hc.Matrix = cm.Counts
	}
	return hc
}

// pageLabel shows a label: "(none)" for the empty label, others on one
// line, clipped.
func pageLabel(l string) string {
	if strings.TrimSpace(l) == "" {
		return "(none)"
	}
	return line(l, htmlLabelLen)
}

func (v *htmlSuite) slices(s *evals.Summary) {
	type key struct{ k, v string }
	var keys []key
	cells := map[key][][]string{}
	for ti, t := range s.Targets {
		for _, sl := range t.Slices {
			k := key{sl.Key, sl.Value}
			if _, ok := cells[k]; !ok {
				keys = append(keys, k)
				cells[k] = make([][]string, len(s.Targets))
			}
			cells[k][ti] = []string{fmt.Sprintf("%d/%d %s %s", sl.Passed, sl.Cases, pct(sl.PassRate), bracket(sl.PassRateCI))}
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.k, b.k), cmp.Compare(a.v, b.v)) })
	tab := &htmlTable{Head: []string{"slice"}}
	for _, t := range s.Targets {
		tab.Head = append(tab.Head, line(t.Name, htmlName))
	}
	for _, k := range keys {
		row := htmlRow{Name: line(k.k+"="+k.v, htmlName)}
		for _, c := range cells[k] {
			if c == nil {
				c = []string{"-"}
			}
			row.Cells = append(row.Cells, c)
		}
		tab.Rows = append(tab.Rows, row)
	}
	v.Slices = tab
}

func htmlRepeatsOf(target string, r *evals.RepeatSummary) htmlRepeats {
	hr := htmlRepeats{Target: line(target, htmlName),
		Summary: fmt.Sprintf("%d cases × %d, reduced by %s: %d passed (%s), mean %.3f", r.Cases, r.N, line(r.Reducer, htmlName), r.Passed, pct(r.PassRate), r.Mean)}
	for i, kv := range r.PassAtK {
		k := htmlK{K: kv.K, PassAt: fmt.Sprintf("%.3f", kv.Value), PassHat: "-"}
		if i < len(r.PassHatK) {
			k.PassHat = fmt.Sprintf("%.3f", r.PassHatK[i].Value)
		}
		hr.K = append(hr.K, k)
	}
	if r.Flaky > 0 {
		hr.Flaky = fmt.Sprintf("%d of %d cases changed verdict between repeats (%s)", r.Flaky, r.Cases, pct(r.FlakyRate))
		for _, id := range r.FlakyCases {
			hr.Cases = append(hr.Cases, line(id, htmlName))
		}
		hr.More = r.Flaky > len(r.FlakyCases)
	}
	return hr
}

func htmlComparisonOf(c evals.Comparison) htmlComparison {
	against := c.Against
	if c.AgainstRun != "" {
		against += " (run " + c.AgainstRun + ")"
	}
	hc := htmlComparison{
		Title: line(c.Target+" vs "+against, htmlLine), Matched: c.Matched,
		Delta: points(c.DeltaPassRate), DeltaCI: pointsSpan(c.DeltaPassRateCI),
		Mean: fmt.Sprintf("%+.3f", c.DeltaMean), MeanCI: signedSpan(c.DeltaMeanCI),
		Wins: c.Wins, Ties: c.Ties, Losses: c.Losses, BothPassed: c.BothPassed, BothFailed: c.BothFailed,
		McNemar: pval(c.McNemarP), Regressions: c.Regressions, Fixes: c.Fixes,
		MoreRegressions: c.Regressions > len(c.RegressionCases), MoreFixes: c.Fixes > len(c.FixCases),
	}
	if c.OnlyA > 0 || c.OnlyB > 0 {
		hc.Only = line(fmt.Sprintf("%d only in %s, %d only in %s", c.OnlyA, c.Target, c.OnlyB, c.Against), htmlLine)
	}
	if c.Matched > 0 {
		// The pass rates over the matched cases, which the delta compares.
		hc.RateA = pct(float64(c.BothPassed+c.Fixes) / float64(c.Matched))
		hc.RateB = pct(float64(c.BothPassed+c.Regressions) / float64(c.Matched))
	}
	for _, id := range c.RegressionCases {
		hc.RegressionCases = append(hc.RegressionCases, line(id, htmlName))
	}
	for _, id := range c.FixCases {
		hc.FixCases = append(hc.FixCases, line(id, htmlName))
	}
	return hc
}

func (v *htmlSuite) gate(s *evals.Summary) {
	v.GateNote = line(s.Gate.Note, htmlLine)
	if s.ErrorBudget != nil {
		for _, br := range s.ErrorBudget.Over {
			v.Budget = append(v.Budget, line(br.Target+": "+br.Reason, htmlLine))
		}
	}
	for _, g := range s.Gate.Results {
		hg := htmlGate{Outcome: htmlOutcome{outcomeHeld, "held"}, Target: line(gateSubject(g), htmlName), Expr: line(g.Expr, htmlLine),
			Value: "no data", Margin: "—", Message: line(g.Message, htmlLine)}
		if !g.Held {
			hg.Outcome = htmlOutcome{outcomeFailed, "failed"}
		}
		if g.Value != nil {
			hg.Value, hg.Margin = num(*g.Value), num(g.Margin)
			if g.Margin > 0 && hg.Margin != "0" {
				hg.Margin = "+" + hg.Margin
			}
		}
		v.Gates = append(v.Gates, hg)
	}
}

func (v *htmlSuite) failures(s *evals.Summary) {
	for ti, t := range s.Targets {
		if len(t.FailedCases) == 0 && len(t.Errors) == 0 {
			continue
		}
		hf := htmlFailures{ID: fmt.Sprintf("%s-f%d", v.ID, ti+1), Target: line(t.Name, htmlName)}
		if len(t.FailedCases) > 0 {
			notPassed := t.Cases - t.Passed
			hf.Summary = fmt.Sprintf("%d of %d cases did not pass", notPassed, t.Cases)
			if notPassed > len(t.FailedCases) {
				hf.Summary += fmt.Sprintf(" (%d shown; all are in results.jsonl)", len(t.FailedCases))
			}
		}
		if len(t.Errors) > 0 {
			hf.Errors = line("errors: "+ErrorCounts(t.Errors), htmlLine)
		}
		for ci, f := range t.FailedCases {
			c := &htmlCase{key: resultKey{t.Name, f.CaseID, f.Repeat}, ID: fmt.Sprintf("%s-c%d", hf.ID, ci+1),
				Name: line(caseName(f.CaseID, f.Repeat), htmlName), Status: line(string(f.Status), htmlName),
				Reason: line(f.Reason, htmlLine), StatusClass: outcomeFailed}
			if f.Status == evals.StatusUnscored {
				c.StatusClass = outcomeWarn
			}
			c.tail(f.Conversation)
			hf.Cases = append(hf.Cases, c)
		}
		v.Failures = append(v.Failures, hf)
	}
}

// tail sets how the case's conversation ended, unless it is set.
func (c *htmlCase) tail(t *evals.ConversationTail) {
	if t == nil || c.Conversation != nil {
		return
	}
	ht := &htmlTail{Heading: line(t.Heading(), htmlLine)}
	for _, l := range t.Last {
		ht.Last = append(ht.Last, line(l, htmlLine))
	}
	c.Conversation = ht
}

// fill takes from the case's result what the page shows of it.
func (c *htmlCase) fill(r *evals.Result) {
	c.Found = true
	for _, sc := range r.Scores {
		hs := htmlScore{Name: line(sc.Name, htmlName), Type: line(sc.Type, htmlName), Score: fmt.Sprintf("%.3f", sc.Score)}
		switch {
		case sc.Unscored:
			hs.Score, hs.Verdict, hs.Class = "-", "unscored", outcomeWarn
		case sc.Pass:
			hs.Verdict, hs.Class = "pass", outcomeHeld
		default:
			hs.Verdict, hs.Class = "fail", outcomeFailed
		}
		hs.Reason, _ = block(sc.Reason, htmlReason)
		c.Scores = append(c.Scores, hs)
	}
	if e := r.Error; e != nil {
		msg := e.Kind
		if e.Status != 0 {
			msg += fmt.Sprintf(" (HTTP %d)", e.Status)
		}
		c.Error, _ = block(msg+": "+e.Message, htmlReason)
	}
	c.Output, c.OutputMore = block(r.Output, htmlOutput)
	facts := []string{fmt.Sprintf("latency %.0f ms", r.LatencyMS), fmt.Sprintf("%d tokens", r.Usage.TotalTokens)}
	if r.Score != nil {
		facts = append([]string{fmt.Sprintf("score %.3f", *r.Score)}, facts...)
	}
	if r.Attempts > 1 {
		facts = append(facts, fmt.Sprintf("%d attempts", r.Attempts))
	}
	if r.Cached {
		facts = append(facts, "from the response cache")
	}
	if r.Finish != "" {
		facts = append(facts, "finish reason "+line(r.Finish, htmlName))
	}
	c.Facts = strings.Join(facts, ", ")
	c.tail(evals.TailOf(r))
}

// htmlChart is an inline SVG chart of values with intervals, a row each:
// a dot at the value, a bar across the interval. Its coordinates are
// computed here; the template only places them.
type htmlChart struct {
	Label         string
	Width, Height int
	PlotX, PlotW  float64
	AxisY         int
	Ticks         []htmlTick
	Zero          *htmlTick // the zero line of a chart of differences
	Rows          []htmlChartRow
}

type htmlTick struct {
	X    float64
	Text string
}

type htmlChartRow struct {
	Y, TextY   int
	Name, Text string
	X, Lo, Hi  float64
	HasCI      bool
	Class      string
}

// chartRow is a value to chart, with its interval when it has one.
type chartRow struct {
	Name, Text string
	Value      float64
	CI         *[2]float64
	Class      string
}

// rateChart charts rates from 0 to 1.
func rateChart(label string, rows []chartRow) *htmlChart {
	ticks := []float64{0, 0.25, 0.5, 0.75, 1}
	return newChart(label, rows, 0, 1, ticks, func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) })
}

// deltaChart charts the comparisons' differences of pass rates around 0,
// over a range wide enough for every interval; nil with none.
func deltaChart(cmps []evals.Comparison) *htmlChart {
	var rows []chartRow
	half := chartMinAbs
	for _, c := range cmps {
		if c.Matched == 0 {
			continue
		}
		r := chartRow{Name: c.Target + " vs " + c.Against, Value: c.DeltaPassRate, Text: points(c.DeltaPassRate)}
		half = max(half, math.Abs(c.DeltaPassRate))
		if iv := c.DeltaPassRateCI; iv != nil {
			r.CI = &[2]float64{iv.Lo, iv.Hi}
			r.Text += " " + pointsSpan(iv)
			half = max(half, math.Abs(iv.Lo), math.Abs(iv.Hi))
		}
		switch {
		case c.DeltaPassRateCI != nil && c.DeltaPassRateCI.Hi < 0:
			r.Class = outcomeFailed
		case c.DeltaPassRateCI != nil && c.DeltaPassRateCI.Lo > 0:
			r.Class = outcomeHeld
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil
	}
	// A round range: the smallest of these that holds every interval.
	for _, r := range []float64{0.05, 0.1, 0.2, 0.25, 0.5, 1} {
		if half <= r {
			half = r
			break
		}
	}
	half = min(half, 1)
	ch := newChart("Difference of pass rates in each comparison, with its paired interval", rows, -half, half,
		[]float64{-half, -half / 2, 0, half / 2, half}, func(v float64) string {
			if v == 0 {
				return "0"
			}
			return fmt.Sprintf("%+.1f pts", v*100)
		})
	ch.Zero = &htmlTick{X: ch.x(0, -half, half)}
	return ch
}

func newChart(label string, rows []chartRow, lo, hi float64, ticks []float64, tick func(float64) string) *htmlChart {
	ch := &htmlChart{Label: label, Width: chartWidth, PlotX: chartLabelW, PlotW: chartWidth - chartLabelW - chartValueW}
	ch.AxisY = 8 + len(rows)*chartRowH
	ch.Height = ch.AxisY + chartAxisH
	for _, t := range ticks {
		ch.Ticks = append(ch.Ticks, htmlTick{X: ch.x(t, lo, hi), Text: tick(t)})
	}
	for i, r := range rows {
		y := 8 + i*chartRowH + chartRowH/2
		hr := htmlChartRow{Y: y, TextY: y + 4, Name: line(r.Name, 24), Text: r.Text,
			X: ch.x(r.Value, lo, hi), Class: r.Class}
		if r.CI != nil {
			hr.HasCI, hr.Lo, hr.Hi = true, ch.x(r.CI[0], lo, hi), ch.x(r.CI[1], lo, hi)
		}
		ch.Rows = append(ch.Rows, hr)
	}
	return ch
}

// x is the horizontal position of v on a chart from lo to hi, clamped to
// the plot and rounded to a tenth of a pixel.
func (ch *htmlChart) x(v, lo, hi float64) float64 {
	f := min(max((v-lo)/(hi-lo), 0), 1)
	if math.IsNaN(f) {
		f = 0
	}
	return math.Round((ch.PlotX+f*ch.PlotW)*10) / 10
}
