package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// No XSD validator in pure Go is available to this module, so this file
// checks JUnit documents against the rules of the schema CI readers use,
// restated from the Jenkins xUnit plugin's junit-10.xsd
// (github.com/jenkinsci/xunit-plugin, src/main/resources/org/jenkinsci/
// plugins/xunit/types/model/xsd/junit-10.xsd, MIT): which elements may
// appear where, which attributes each may and must have, and the format of
// time. It adds what the schema leaves to readers: counts that agree with the
// test cases, and the timestamp format of the Ant schema
// (github.com/windyroad/JUnit-Schema, JUnit.xsd). The golden file was also
// validated with xmllint against junit-10.xsd; validateWithXmllint repeats
// that where $RUBRIC_JUNIT_XSD names the schema.

// tb is the part of testing.TB the checker uses, so that a test can check
// the checker.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// recorder is a tb that notes failures; Fatalf panics with the recorder.
type recorder struct{ failed bool }

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic(r) }

// node is an element of a parsed document.
type node struct {
	name string
	attr map[string]string
	kids []*node
	text string
}

func (n *node) find(name string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// parseXML parses doc strictly; encoding/xml rejects characters that XML 1.0
// forbids, so a document that parses has none.
func parseXML(t tb, doc []byte) *node {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				n.attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else if root != nil {
				t.Fatalf("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	if root == nil {
		t.Fatalf("no root element")
	}
	return root
}

// junitElement is what junit-10.xsd allows of an element.
type junitElement struct {
	required, optional []string
	children           []string
	textOnly           bool // mixed or simple content without child elements
}

var (
	junitTime  = regexp.MustCompile(`^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$`) // SUREFIRE_TIME
	antTime    = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`)
	junitRules = map[string]junitElement{
		"testsuites": {optional: []string{"name", "time", "tests", "failures", "errors"}, children: []string{"testsuite"}},
		"testsuite": {
			required: []string{"name", "tests", "failures", "errors"},
			optional: []string{"group", "time", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url"},
			children: []string{"testsuite", "properties", "testcase", "system-out", "system-err"},
		},
		"properties": {children: []string{"property"}},
		"property":   {required: []string{"name", "value"}},
		"testcase": {
			required: []string{"name"}, optional: []string{"time", "classname", "group"},
			children: []string{"skipped", "error", "failure", "rerunFailure", "rerunError", "flakyFailure", "flakyError", "system-out", "system-err"},
		},
		"failure":    {optional: []string{"type", "message"}, textOnly: true},
		"error":      {optional: []string{"type", "message"}, textOnly: true},
		"skipped":    {optional: []string{"type", "message"}, textOnly: true},
		"system-out": {textOnly: true},
		"system-err": {textOnly: true},
	}
)

// checkJUnitSchema checks doc against junitRules, and the counts of each
// test suite and of the whole against its test cases.
func checkJUnitSchema(t tb, doc []byte) {
	t.Helper()
	root := parseXML(t, doc)
	if root.name != "testsuites" {
		t.Fatalf("root element <%s>, want <testsuites>", root.name)
	}
	var check func(n *node, path string)
	check = func(n *node, path string) {
		rule, ok := junitRules[n.name]
		if !ok {
			t.Errorf("%s: element not in the schema", path)
			return
		}
		for _, a := range rule.required {
			if _, ok := n.attr[a]; !ok {
				t.Errorf("%s: required attribute %s missing", path, a)
			}
		}
		for a := range n.attr {
			if !slices.Contains(rule.required, a) && !slices.Contains(rule.optional, a) {
				t.Errorf("%s: attribute %s not allowed", path, a)
			}
		}
		if v, ok := n.attr["time"]; ok && n.name != "testcase" && !junitTime.MatchString(v) {
			t.Errorf("%s: time %q does not match SUREFIRE_TIME", path, v)
		}
		if v, ok := n.attr["time"]; ok {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				t.Errorf("%s: time %q is not a decimal", path, v)
			}
		}
		if v, ok := n.attr["timestamp"]; ok && !antTime.MatchString(v) {
			t.Errorf("%s: timestamp %q is not YYYY-MM-DDThh:mm:ss", path, v)
		}
		if rule.textOnly && len(n.kids) > 0 {
			t.Errorf("%s: has child elements; the schema allows text only", path)
		}
		for i, k := range n.kids {
			if !slices.Contains(rule.children, k.name) {
				t.Errorf("%s: child <%s> not allowed", path, k.name)
				continue
			}
			check(k, path+"/"+k.name+"["+strconv.Itoa(i)+"]")
		}
	}
	check(root, "testsuites")

	counted := func(n *node, attr string) int {
		v, err := strconv.Atoi(n.attr[attr])
		if err != nil {
			t.Errorf("<%s name=%q>: %s=%q is not an integer", n.name, n.attr["name"], attr, n.attr[attr])
		}
		return v
	}
	var tests, failures, errors int
	for _, ts := range root.find("testsuite") {
		var c [4]int
		for _, tc := range ts.find("testcase") {
			c[0]++
			outcomes := 0
			for i, kind := range []string{"failure", "error", "skipped"} {
				if n := len(tc.find(kind)); n > 0 {
					c[i+1]++
					outcomes += n
				}
			}
			if outcomes > 1 {
				t.Errorf("test case %q has %d outcomes; readers expect one", tc.attr["name"], outcomes)
			}
		}
		got := [4]int{counted(ts, "tests"), counted(ts, "failures"), counted(ts, "errors"), counted(ts, "skipped")}
		if got != c {
			t.Errorf("test suite %q: tests, failures, errors, skipped = %v, its test cases %v", ts.attr["name"], got, c)
		}
		tests, failures, errors = tests+c[0], failures+c[1], errors+c[2]
	}
	if got := [3]int{counted(root, "tests"), counted(root, "failures"), counted(root, "errors")}; got != [3]int{tests, failures, errors} {
		t.Errorf("testsuites: tests, failures, errors = %v, the test cases %v", got, [3]int{tests, failures, errors})
	}
}

// TestCheckJUnitSchemaBites runs the checker on documents that break the
// schema, so that a checker that passes everything fails here.
func TestCheckJUnitSchemaBites(t *testing.T) {
	for name, doc := range map[string]string{
		"skipped_on_testsuites": `<testsuites skipped="1"></testsuites>`,
		"no_errors_attribute":   `<testsuites><testsuite name="a" tests="0" failures="0"></testsuite></testsuites>`,
		"testcase_without_name": `<testsuites><testsuite name="a" tests="1" failures="0" errors="0"><testcase/></testsuite></testsuites>`,
		"child_in_failure":      `<testsuites><testsuite name="a" tests="1" failures="1" errors="0"><testcase name="x"><failure><b/></failure></testcase></testsuite></testsuites>`,
		"wrong_count":           `<testsuites><testsuite name="a" tests="2" failures="0" errors="0"><testcase name="x"/></testsuite></testsuites>`,
		"bad_time":              `<testsuites><testsuite name="a" tests="0" failures="0" errors="0" time="1s"></testsuite></testsuites>`,
		"unknown_element":       `<testsuites><testsuite name="a" tests="0" failures="0" errors="0"><case/></testsuite></testsuites>`,
		"zoned_timestamp":       `<testsuites><testsuite name="a" tests="0" failures="0" errors="0" timestamp="2026-01-01T00:00:00Z"></testsuite></testsuites>`,
	} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			func() {
				defer func() {
					if p := recover(); p != nil && p != any(rec) {
						panic(p)
					}
				}()
				checkJUnitSchema(rec, []byte(doc))
			}()
			if !rec.failed {
				t.Errorf("the checker accepts %s", doc)
			}
		})
	}
}
