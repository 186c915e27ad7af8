package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// JUnit writes a run as JUnit XML for the test reporters of CI systems: one
// <testsuite> per suite and target, named SUITE/TARGET, and one <testcase>
// per case and repeat. A case that failed has a <failure> listing the
// criteria that failed with their reasons, a request that failed an <error>
// with its kind and message, an unscored case <skipped> with why; these three
// carry the model's output in <system-out>, and, for a conversation, its
// counts, outcome and last messages in the element's text. A case's time is its latency. A
// target that broke the error budget gets one more test case, "(error
// budget)", with a <failure> that says by how much.
//
// The document follows the JUnit schema of the Jenkins xUnit plugin
// (junit-10.xsd), which the JUnit readers of Jenkins, GitLab, GitHub Actions
// reporters and Azure Pipelines accept: testsuites > testsuite(name, tests,
// failures, errors, skipped, time, timestamp) > properties, testcase(name,
// classname, time) > failure|error|skipped(message, type), system-out.
//
// A <testsuite> opens with its counts, which are known only after its last
// result, and a journal interleaves the targets' results. So each target's
// test cases go to a temporary file as they stream by, and End writes each
// finished <testsuite> to another temporary file that Finish copies out
// under the totals: one reading of the journal, memory bounded by a buffer per
// target whatever the number of cases.
type JUnit struct {
	dir    string // for the temporary files; "" is the system's
	body   *os.File
	bw     *bufio.Writer
	totals junitCounts

	sum   *evals.Summary
	parts map[string]*junitPart
	order []*junitPart
}

var _ SuiteWriter = (*JUnit)(nil)

// junitPart collects the test cases of one target of the suite being written.
type junitPart struct {
	target    *evals.TargetSummary
	classname string // SUITE/TARGET
	f         *os.File
	w         *bufio.Writer
	counts    junitCounts
}

type junitCounts struct {
	tests, failures, errors, skipped int
	seconds                          float64
}

func (c *junitCounts) add(o junitCounts) {
	c.tests += o.tests
	c.failures += o.failures
	c.errors += o.errors
	c.skipped += o.skipped
	c.seconds += o.seconds
}

// maxSystemOut caps the output kept in a test case's <system-out>, in bytes;
// results.jsonl has it whole.
const maxSystemOut = 64 << 10

// maxMessage caps a failure's message attribute, in characters; the element's
// text has every reason whole.
const maxMessage = 500

// NewJUnit returns a JUnit writer whose temporary files go to dir (the
// system's temporary folder when dir is "").
func NewJUnit(dir string) *JUnit {
	return &JUnit{dir: dir}
}

// Begin starts the test suites of s, one per target.
func (j *JUnit) Begin(s *evals.Summary) error {
	if j.body == nil {
		f, err := os.CreateTemp(j.dir, "rubric-junit-*.xml")
		if err != nil {
			return err
		}
		j.body, j.bw = f, bufio.NewWriterSize(f, 64<<10)
	}
	j.sum = s
	j.parts = make(map[string]*junitPart, len(s.Targets))
	j.order = j.order[:0]
	for i := range s.Targets {
		f, err := os.CreateTemp(j.dir, "rubric-junit-*.xml")
		if err != nil {
			j.dropParts()
			return err
		}
		p := &junitPart{target: &s.Targets[i], classname: s.Suite + "/" + s.Targets[i].Name, f: f, w: bufio.NewWriterSize(f, 32<<10)}
		j.parts[s.Targets[i].Name] = p
		j.order = append(j.order, p)
	}
	return nil
}

// Write adds r as a test case of its target's test suite.
func (j *JUnit) Write(r *evals.Result) error {
	p := j.parts[r.Target]
	if p == nil {
		return fmt.Errorf("junit: case %s: target %q is not in the summary", r.CaseID, r.Target)
	}
	w := p.w
	sec := r.LatencyMS / 1000
	p.counts.tests++
	p.counts.seconds += sec
	w.WriteString(`    <testcase name="`)
	writeXMLAttr(w, caseName(r.CaseID, r.Repeat))
	w.WriteString(`" classname="`)
	writeXMLAttr(w, p.classname)
	w.WriteString(`" time="`)
	w.WriteString(seconds(sec))
	switch r.Status {
	case evals.StatusPassed:
		w.WriteString("\"/>\n")
		return nil
	case evals.StatusFailed:
		p.counts.failures++
		msg, typ, body := failure(r)
		writeElement(w, "failure", msg, typ, body+conversationText(r))
	case evals.StatusError:
		p.counts.errors++
		e := r.Error
		if e == nil {
			e = &evals.ResultError{Kind: "unknown", Message: "the result records an error status but no error"}
		}
		text := errorText(r, e)
		if c := conversationText(r); c != "" {
			text += "\n" + c
		}
		writeElement(w, "error", e.Kind+": "+e.Message, e.Kind, text)
	case evals.StatusUnscored:
		p.counts.skipped++
		var parts []string
		for _, sc := range r.Scores {
			if sc.Unscored {
				parts = append(parts, sc.Name+" unscored: "+sc.Reason)
			}
		}
		writeElement(w, "skipped", strings.Join(parts, "; "), "unscored", conversationText(r))
	default:
		return fmt.Errorf("junit: case %s: unknown status %q", r.CaseID, r.Status)
	}
	if r.Output != "" {
		out := r.Output
		if len(out) > maxSystemOut {
			cut := maxSystemOut
			for cut > 0 && !isRuneStart(out[cut]) {
				cut--
			}
			out = fmt.Sprintf("%s\n… (%d more bytes in results.jsonl)", out[:cut], len(out)-cut)
		}
		w.WriteString("      <system-out>")
		writeXMLText(w, out)
		w.WriteString("</system-out>\n")
	}
	w.WriteString("    </testcase>\n")
	return nil
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// writeElement closes the open <testcase> tag and writes a failure, error or
// skipped element: the message clipped to one line, the text whole.
func writeElement(w *bufio.Writer, name, msg, typ, text string) {
	w.WriteString("\">\n      <")
	w.WriteString(name)
	w.WriteString(` message="`)
	writeXMLAttr(w, clip(visible(msg), maxMessage))
	w.WriteString(`" type="`)
	writeXMLAttr(w, typ)
	if text == "" {
		w.WriteString("\"/>\n")
		return
	}
	w.WriteString(`">`)
	writeXMLText(w, text)
	w.WriteString("</")
	w.WriteString(name)
	w.WriteString(">\n")
}

// failure describes a failed case: a one-line message, the names of the
// criteria that failed as its type, and a line per criterion that failed or
// could not score, with its score and reason.
func failure(r *evals.Result) (msg, typ, text string) {
	var msgs, names []string
	var b strings.Builder
	for _, sc := range r.Scores {
		switch {
		case sc.Unscored:
			msgs = append(msgs, sc.Name+" unscored: "+sc.Reason)
			fmt.Fprintf(&b, "%s (%s): unscored: %s\n", sc.Name, sc.Type, sc.Reason)
		case !sc.Pass:
			msgs = append(msgs, sc.Name+": "+sc.Reason)
			names = append(names, sc.Name)
			fmt.Fprintf(&b, "%s (%s): score %s: %s\n", sc.Name, sc.Type, num(sc.Score), sc.Reason)
		}
	}
	if r.Score != nil {
		fmt.Fprintf(&b, "case score %s\n", num(*r.Score))
	}
	if len(names) == 0 {
		// Every criterion passed, yet the case did not: its weighted score
		// is under the suite's pass_score.
		msgs = append(msgs, "the case score is below the suite's pass_score")
		names = append(names, "pass_score")
	}
	return strings.Join(msgs, "; "), strings.Join(names, ", "), b.String()
}

// conversationText says how a conversation ended: its counts and outcome,
// then its last messages, one line each; "" for a single answer.
func conversationText(r *evals.Result) string {
	tail := evals.TailOf(r)
	if tail == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("conversation: " + tail.Heading() + "\n")
	for _, line := range tail.Last {
		b.WriteString("  " + line + "\n")
	}
	return b.String()
}

// errorText describes a failed request: kind, HTTP status, attempts, message.
func errorText(r *evals.Result, e *evals.ResultError) string {
	head := e.Kind
	if e.Status != 0 {
		head += " " + strconv.Itoa(e.Status)
	}
	if r.Attempts > 1 {
		head += fmt.Sprintf(" after %d attempts", r.Attempts)
	}
	return head + ": " + e.Message
}

// End writes the suite's test suites, one per target.
func (j *JUnit) End() error {
	defer j.dropParts()
	s := j.sum
	for _, p := range j.order {
		j.budgetCase(p)
		if err := p.w.Flush(); err != nil {
			return err
		}
		if _, err := p.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		c := p.counts
		j.totals.add(c)
		w := j.bw
		w.WriteString(`  <testsuite name="`)
		writeXMLAttr(w, p.classname)
		fmt.Fprintf(w, `" tests="%d" failures="%d" errors="%d" skipped="%d" time="%s" timestamp="%s">`+"\n",
			c.tests, c.failures, c.errors, c.skipped, seconds(c.seconds), s.Started.UTC().Format("2006-01-02T15:04:05"))
		w.WriteString("    <properties>\n")
		props := [][2]string{
			{"run_id", s.RunID},
			{"suite", s.Suite},
			{"suite_version", s.SuiteVersion},
			{"suite_path", s.SuitePath},
			{"target", p.target.Name},
			{"provider", p.target.Provider},
			{"model", p.target.Model},
		}
		if s.Interrupted {
			props = append(props, [2]string{"interrupted", "true"})
		}
		if eb := s.ErrorBudget; eb != nil && eb.Budget != nil {
			props = append(props, [2]string{"error_budget", num(*eb.Budget)})
		}
		for _, kv := range props {
			if kv[1] == "" {
				continue
			}
			w.WriteString(`      <property name="`)
			w.WriteString(kv[0])
			w.WriteString(`" value="`)
			writeXMLAttr(w, kv[1])
			w.WriteString("\"/>\n")
		}
		w.WriteString("    </properties>\n")
		if _, err := io.Copy(w, p.f); err != nil {
			return err
		}
		w.WriteString("  </testsuite>\n")
	}
	return j.bw.Flush()
}

// budgetCaseName names the test case of a target that broke the error
// budget, in parentheses, which set it apart from the case ids of any usual
// dataset.
const budgetCaseName = "(error budget)"

// budgetCase adds to p a failed test case when its target broke the error
// budget, so that CI readers show the breach (exit 3) among the failures.
func (j *JUnit) budgetCase(p *junitPart) {
	eb := j.sum.ErrorBudget
	if eb == nil {
		return
	}
	for _, br := range eb.Over {
		if br.Target != p.target.Name {
			continue
		}
		p.counts.tests++
		p.counts.failures++
		w := p.w
		w.WriteString(`    <testcase name="` + budgetCaseName + `" classname="`)
		writeXMLAttr(w, p.classname)
		w.WriteString(`" time="0.000`)
		text := fmt.Sprintf("%s: %s\nerrors by kind: %s; results.jsonl has each one\n", br.Target, br.Reason, ErrorCounts(p.target.Errors))
		writeElement(w, "failure", br.Reason, "error_budget", text)
		w.WriteString("    </testcase>\n")
	}
}

// dropParts closes and removes the current suite's temporary files.
func (j *JUnit) dropParts() {
	for _, p := range j.parts {
		p.f.Close()
		os.Remove(p.f.Name())
	}
	j.parts, j.order = nil, j.order[:0]
}

// Finish writes the whole document to w: the totals over every suite
// written, then the test suites.
func (j *JUnit) Finish(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	c := j.totals
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<testsuites name="rubric" tests="%d" failures="%d" errors="%d" time="%s">`+"\n",
		c.tests, c.failures, c.errors, seconds(c.seconds))
	if j.body != nil {
		if err := j.bw.Flush(); err != nil {
			return err
		}
		if _, err := j.body.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(bw, j.body); err != nil {
			return err
		}
	}
	bw.WriteString("</testsuites>\n")
	return bw.Flush()
}

// Close removes the temporary files.
func (j *JUnit) Close() error {
	j.dropParts()
	if j.body == nil {
		return nil
	}
	name := j.body.Name()
	err := j.body.Close()
	j.body = nil
	return errors.Join(err, os.Remove(name))
}

// seconds formats a duration in seconds as JUnit readers expect: a plain
// decimal, milliseconds at most.
func seconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

// num formats a score or metric with at most four decimals, as gate messages
// do.
func num(v float64) string {
	s := strings.TrimRight(strings.TrimRight(strconv.FormatFloat(v, 'f', 4, 64), "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}
