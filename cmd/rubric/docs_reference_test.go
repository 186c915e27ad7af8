package main

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/criteria"
)

// These tests keep README.md and docs/*.md true to the code: every link
// lands on a heading, every contents list is complete, every field of the
// suite schema and of each criterion type is documented, and every command
// and flag the docs name exists.

// mdHeading is one heading of a Markdown file, outside code blocks.
type mdHeading struct {
	line   int
	level  int    // 1 for #, 2 for ##, ...
	text   string // as written, without the #s
	anchor string // the id GitHub gives it
}

// mdDoc is a Markdown file read for these tests.
type mdDoc struct {
	rel      string   // path from the repository root, for messages
	lines    []string // every line
	inCode   []bool   // whether each line is inside a fenced code block (fences included)
	headings []mdHeading
}

// readMarkdown reads the Markdown file at rel, relative to the repository root.
func readMarkdown(t *testing.T, rel string) *mdDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	d := &mdDoc{rel: rel, lines: strings.Split(string(b), "\n")}
	d.inCode = make([]bool, len(d.lines))
	seen := map[string]int{}
	fence := ""
	for i, line := range d.lines {
		if fence != "" {
			d.inCode[i] = true
			if f, rest := codeFence(line); f != "" && f[0] == fence[0] && len(f) >= len(fence) && strings.TrimSpace(rest) == "" {
				fence = ""
			}
			continue
		}
		if f, rest := codeFence(line); f != "" && !(f[0] == '`' && strings.Contains(rest, "`")) {
			fence = f
			d.inCode[i] = true
			continue
		}
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if level == 0 || level > 6 || !strings.HasPrefix(line[level:], " ") {
			continue
		}
		text := strings.TrimSpace(line[level:])
		anchor := githubAnchor(text)
		if n := seen[anchor]; n > 0 {
			seen[anchor]++
			anchor += "-" + strconv.Itoa(n)
		} else {
			seen[anchor] = 1
		}
		d.headings = append(d.headings, mdHeading{line: i + 1, level: level, text: text, anchor: anchor})
	}
	return d
}

// codeFence returns the fence that starts line (three or more backticks or
// tildes, indented by at most three spaces) and the text after it, as
// CommonMark reads a fenced code block's fences; "" when there is none.
func codeFence(line string) (fence, rest string) {
	trimmed := strings.TrimLeft(line, " ")
	if len(line)-len(trimmed) > 3 || trimmed == "" || (trimmed[0] != '`' && trimmed[0] != '~') {
		return "", ""
	}
	n := len(trimmed) - len(strings.TrimLeft(trimmed, trimmed[:1]))
	if n < 3 {
		return "", ""
	}
	return trimmed[:n], trimmed[n:]
}

// mdLink matches an inline Markdown link's text and target.
var mdLink = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]+)\)`)

// githubAnchor is the id GitHub gives a heading: the text as rendered (link
// targets and markup dropped), lower case, with every character other than
// letters, digits, spaces, '-' and '_' removed and each space made a '-'.
func githubAnchor(text string) string {
	text = mdLink.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the set of heading ids of d.
func (d *mdDoc) anchors() map[string]bool {
	m := map[string]bool{}
	for _, h := range d.headings {
		m[h.anchor] = true
	}
	return m
}

// section returns the lines (1-based [from, to)) of the heading h: up to the
// next heading of the same or a higher level.
func (d *mdDoc) section(h mdHeading) (from, to int) {
	to = len(d.lines) + 1
	for _, o := range d.headings {
		if o.line > h.line && o.level <= h.level {
			to = o.line
			break
		}
	}
	return h.line, to
}

// heading returns the first heading of level whose text is text.
func (d *mdDoc) heading(t *testing.T, level int, text string) mdHeading {
	t.Helper()
	for _, h := range d.headings {
		if h.level == level && h.text == text {
			return h
		}
	}
	t.Fatalf("%s: no heading %s %s", d.rel, strings.Repeat("#", level), text)
	return mdHeading{}
}

// docFiles are the Markdown files whose links and contents are checked.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	matches, err := filepath.Glob(filepath.Join(repoRoot(t), "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		files = append(files, filepath.Join("docs", filepath.Base(m)))
	}
	if len(files) < 4 {
		t.Fatalf("found only %v: expected README.md and the docs", files)
	}
	return files
}

// TestDocsLinksResolve checks every relative link of README.md and docs/*.md:
// the file it names exists, and an #anchor names a heading of that file.
func TestDocsLinksResolve(t *testing.T) {
	root := repoRoot(t)
	docs := map[string]*mdDoc{}
	load := func(rel string) *mdDoc {
		if docs[rel] == nil {
			docs[rel] = readMarkdown(t, rel)
		}
		return docs[rel]
	}
	checked := 0
	for _, rel := range docFiles(t) {
		d := load(rel)
		for i, line := range d.lines {
			if d.inCode[i] {
				continue
			}
			for _, m := range mdLink.FindAllStringSubmatch(stripCodeSpans(line), -1) {
				target := m[2]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				where := rel + ":" + strconv.Itoa(i+1)
				file, anchor, _ := strings.Cut(target, "#")
				dest := rel
				if file != "" {
					dest = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(rel), file)))
					if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
						t.Errorf("%s: link %q: %s does not exist", where, target, dest)
						continue
					}
				}
				checked++
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(dest, ".md") {
					t.Errorf("%s: link %q: an anchor into a file that is not Markdown", where, target)
					continue
				}
				if !load(dest).anchors()[anchor] {
					t.Errorf("%s: link %q: %s has no heading with the id %q", where, target, dest, anchor)
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d links: is the link syntax still recognised?", checked)
	}
}

// stripCodeSpans blanks `code spans`, where brackets are not links.
func stripCodeSpans(line string) string {
	var b strings.Builder
	in := false
	for _, r := range line {
		if r == '`' {
			in = !in
		}
		if in {
			b.WriteByte(' ')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDocsContentsListEverySection checks that a page's "## Contents" links
// every section (## and ###) that follows it, and nothing else.
func TestDocsContentsListEverySection(t *testing.T) {
	found := 0
	for _, rel := range docFiles(t) {
		d := readMarkdown(t, rel)
		i := slices.IndexFunc(d.headings, func(h mdHeading) bool { return h.level == 2 && h.text == "Contents" })
		if i < 0 {
			continue
		}
		found++
		from, to := d.section(d.headings[i])
		listed := map[string]bool{}
		for n := from; n < to-1; n++ {
			for _, m := range mdLink.FindAllStringSubmatch(d.lines[n], -1) {
				if a, ok := strings.CutPrefix(m[2], "#"); ok {
					listed[a] = true
				}
			}
		}
		want := map[string]bool{}
		for _, h := range d.headings[i+1:] {
			if h.level == 2 || h.level == 3 {
				want[h.anchor] = true
				if !listed[h.anchor] {
					t.Errorf("%s:%d: %q (%s) is not in the contents", rel, h.line, h.text, strings.Repeat("#", h.level))
				}
			}
		}
		for a := range listed {
			if !want[a] {
				t.Errorf("%s: the contents list #%s, which is not a ## or ### heading after them", rel, a)
			}
		}
	}
	if found < 3 {
		t.Fatalf("found %d pages with a ## Contents: expected suite.md, statistics.md and export.md", found)
	}
}

// leadingNames matches the code spans at the start of a table cell, such as
// "`min_chars`, `max_chars`" or "`max_ms` (number above 0)".
var leadingNames = regexp.MustCompile("^(?:`([^`]+)`(?:\\s*(?:,|and|or)\\s*)?)+")

// tableNames returns the names a section documents in its tables: the code
// spans that start a cell.
func (d *mdDoc) tableNames(from, to int) map[string]bool {
	names := map[string]bool{}
	for n := from; n < to && n <= len(d.lines); n++ {
		line := strings.TrimSpace(d.lines[n-1])
		if d.inCode[n-1] || !strings.HasPrefix(line, "|") {
			continue
		}
		for _, cell := range strings.Split(strings.ReplaceAll(line, `\|`, " "), "|") {
			lead := leadingNames.FindString(strings.TrimSpace(cell))
			for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(lead, -1) {
				names[m[1]] = true
			}
		}
	}
	return names
}

// TestDocsSuiteCoversSchema checks that docs/suite.md documents every
// property of the suite schema (evals/schema.json) in a table of the section
// that describes its object, nested objects such as a target's retry
// included. A property added to the schema fails here until it is documented.
func TestDocsSuiteCoversSchema(t *testing.T) {
	d := readMarkdown(t, "docs/suite.md")
	sections := schemaSections
	objects := schemaObjects(t)
	checked := 0
	for _, name := range slices.Sorted(maps.Keys(objects)) {
		props := schemaProperties(t, objects[name], "")
		if len(props) == 0 {
			continue // a definition without fields of its own, such as targetRef
		}
		ws, ok := sections[name]
		if !ok {
			t.Errorf("evals/schema.json: definition %q has properties: say in this test which section of docs/suite.md documents them", name)
			continue
		}
		documented := map[string]bool{}
		for _, w := range ws {
			from, to := d.section(d.heading(t, w.level, w.text))
			for n := range d.tableNames(from, to) {
				documented[n] = true
			}
		}
		for _, p := range props {
			checked++
			field := p[strings.LastIndexByte(p, '.')+1:]
			if !documented[field] {
				t.Errorf("docs/suite.md: %s field %q (%s in evals/schema.json) is in no table of section %q", name, field, p, ws[0].text)
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked %d schema properties: expected more than 100", checked)
	}
}

// docWhere is a heading of docs/suite.md, by level and text.
type docWhere struct {
	level int
	text  string
}

// schemaSections says where docs/suite.md describes each object of the
// suite schema.
var schemaSections = map[string][]docWhere{
	"suite":         {{2, "Top-level fields"}},
	"message":       {{3, "Messages"}},
	"dataset":       {{3, "Dataset fields"}},
	"case":          {{3, "Case fields"}},
	"criterion":     {{2, "Criteria"}},
	"extract":       {{3, "extract"}},
	"target":        {{2, "Targets and rubric.config.json"}, {2, "Providers"}},
	"params":        {{4, "params"}},
	"config":        {{3, "rubric.config.json"}},
	"tool":          {{3, "Tools"}},
	"mock":          {{3, "Mocks"}},
	"userSimulator": {{3, "Simulated user"}},
}

// schemaObjects returns the objects of the suite schema by name: "suite"
// for the top level, and each definition.
func schemaObjects(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	var schema struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(evals.SchemaJSON, &schema); err != nil {
		t.Fatal(err)
	}
	objects := map[string]json.RawMessage{"suite": evals.SchemaJSON}
	maps.Copy(objects, schema.Definitions)
	return objects
}

// schemaEnum returns the values of the enum of property prop of the schema
// object raw, or of its items for an array; nil when it has none.
func schemaEnum(t *testing.T, raw json.RawMessage, prop string) []string {
	t.Helper()
	var node struct {
		Properties map[string]struct {
			Enum  []string `json:"enum"`
			Items struct {
				Enum []string `json:"enum"`
			} `json:"items"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &node); err != nil {
		t.Fatal(err)
	}
	p := node.Properties[prop]
	return append(p.Enum, p.Items.Enum...)
}

// codeSpans returns the text of every code span on line, with the double
// quotes of a JSON string taken off: "`\"13a\"`" gives 13a.
func codeSpans(line string) map[string]bool {
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(line, -1) {
		out[m[1]] = true
		if v, err := strconv.Unquote(m[1]); err == nil && strings.HasPrefix(m[1], `"`) {
			out[v] = true
		}
	}
	return out
}

// TestDocsSuiteListsEnums checks that wherever docs/suite.md documents a
// schema property that takes one of a fixed set of values (a table row
// whose first cell names the property, in the section of its object), the
// row names every value, and that the section of such a property names no
// value the schema lacks. normalize, whose values have a section of their
// own, is checked there.
func TestDocsSuiteListsEnums(t *testing.T) {
	d := readMarkdown(t, "docs/suite.md")
	own := map[string]docWhere{"criterion.normalize": {3, "normalize"}}
	checked := 0
	for _, name := range slices.Sorted(maps.Keys(schemaObjects(t))) {
		raw := schemaObjects(t)[name]
		for _, prop := range schemaProperties(t, raw, "") {
			if strings.Contains(prop, ".") {
				continue // an inline object's property, such as a target's retry.max_attempts
			}
			values := schemaEnum(t, raw, prop)
			if len(values) == 0 {
				continue
			}
			ws := schemaSections[name]
			if w, ok := own[name+"."+prop]; ok {
				ws = []docWhere{w}
			}
			_, ownSection := own[name+"."+prop]
			var rows []int
			for _, w := range ws {
				from, to := d.section(d.heading(t, w.level, w.text))
				header := "" // the first cell of the current table's header row
				for n := from; n < to; n++ {
					line := strings.TrimSpace(d.lines[n-1])
					if d.inCode[n-1] || !strings.HasPrefix(line, "|") {
						header = ""
						continue
					}
					first := strings.TrimSpace(strings.Split(line, "|")[1])
					switch {
					case header == "":
						header = first
						continue
					case strings.HasPrefix(first, "---"):
						continue
					}
					// Field tables, or for a property with a section of its
					// own, every table of it.
					if ownSection || (header == "field" && codeSpans(leadingNames.FindString(first))[prop]) {
						rows = append(rows, n)
					}
				}
			}
			if len(rows) == 0 {
				t.Errorf("docs/suite.md: no table row documents %s field %q, whose values are %s", name, prop, strings.Join(values, ", "))
				continue
			}
			checked++
			if ownSection {
				// The values are the first cells of the section's rows.
				named := map[string]bool{}
				for _, n := range rows {
					first := strings.Split(strings.TrimSpace(d.lines[n-1]), "|")[1]
					maps.Copy(named, codeSpans(leadingNames.FindString(strings.TrimSpace(first))))
				}
				for _, v := range values {
					if !named[v] {
						t.Errorf("docs/suite.md: section %q has no row for %s value %q", ws[0].text, prop, v)
					}
				}
				continue
			}
			for _, n := range rows {
				spans := codeSpans(d.lines[n-1])
				for _, v := range values {
					if !spans[v] {
						t.Errorf("docs/suite.md:%d: the row of %s field %q does not name the value %q (the schema's values: %s)", n, name, prop, v, strings.Join(values, ", "))
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d properties with fixed values: expected at least 10", checked)
	}
}

// criteriaSummaries are the tables that list the criterion types with a word
// on each: for the types named, the row must name every value of the field
// that chooses how the type works.
var criteriaSummaries = []struct {
	rel     string
	heading docWhere
	// every: the table names every type. The README's sums up the families
	// and may leave a type to docs/suite.md, whose table names them all;
	// what either says of a type it names must be true.
	every bool
}{
	{"README.md", docWhere{2, "What rubric can check"}, false},
	{"docs/suite.md", docWhere{2, "Criteria"}, true},
}

// TestDocsCriteriaSummaries checks the tables that sum up the criterion
// types, in README.md and at the top of docs/suite.md's criteria: every type
// of the schema is in docs/suite.md's, and the rows of rouge and bleu name every
// variant and tokenizer the schema allows.
func TestDocsCriteriaSummaries(t *testing.T) {
	criterion := schemaObjects(t)["criterion"]
	types := schemaEnum(t, criterion, "type")
	choosers := map[string]string{"rouge": "variant", "bleu": "tokenize"}
	for _, sum := range criteriaSummaries {
		d := readMarkdown(t, sum.rel)
		from, to := d.section(d.heading(t, sum.heading.level, sum.heading.text))
		// The first table of the section.
		var rows []int
		for n := from; n < to; n++ {
			if d.inCode[n-1] || !strings.HasPrefix(strings.TrimSpace(d.lines[n-1]), "|") {
				if len(rows) > 0 {
					break
				}
				continue
			}
			rows = append(rows, n)
		}
		if len(rows) < 5 {
			t.Fatalf("%s: section %q has no table of criterion types", sum.rel, sum.heading.text)
		}
		for _, typ := range types {
			var row int
			for _, n := range rows {
				if codeSpans(d.lines[n-1])[typ] {
					row = n
					break
				}
			}
			if row == 0 {
				if sum.every {
					t.Errorf("%s: the table of criterion types under %q does not name %q", sum.rel, sum.heading.text, typ)
				}
				continue
			}
			field, ok := choosers[typ]
			if !ok {
				continue
			}
			spans := codeSpans(d.lines[row-1])
			for _, v := range schemaEnum(t, criterion, field) {
				if !spans[v] {
					t.Errorf("%s:%d: the row of %q does not name its %s %q (the schema's values: %s)", sum.rel, row, typ, field, v, strings.Join(schemaEnum(t, criterion, field), ", "))
				}
			}
		}
	}
}

// schemaProperties returns the dotted paths of the properties of the schema
// object raw, with those of inline object properties (a target's retry), not
// those reached through $ref.
func schemaProperties(t *testing.T, raw json.RawMessage, prefix string) []string {
	t.Helper()
	var node struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &node); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(node.Properties)) {
		out = append(out, prefix+name)
		out = append(out, schemaProperties(t, node.Properties[name], prefix+name+".")...)
	}
	return out
}

// commonCriterionFields are the fields every criterion type accepts, which
// docs/suite.md documents once, under "Common fields".
var commonCriterionFields = []string{"name", "type", "weight", "threshold", "description", "turn", "extract", "normalize"}

// TestDocsSuiteCriterionTypes checks that every criterion type has a section
// of docs/suite.md (a heading naming it, such as "### regex" or "### all, any
// and weighted") with a checked example of it, and a table row for each field
// the type accepts beyond the common ones. The fields a type accepts are
// found by asking the type's factory: a field it does not take is rejected
// as not applying to the type.
func TestDocsSuiteCriterionTypes(t *testing.T) {
	d := readMarkdown(t, "docs/suite.md")
	blocks := readDocBlocks(t, docsSuitePath)
	criteriaFrom, criteriaTo := d.section(d.heading(t, 2, "Criteria"))

	common := d.tableNames(d.section(d.heading(t, 3, "Common fields")))
	for _, f := range commonCriterionFields {
		if !common[f] {
			t.Errorf("docs/suite.md: common criterion field %q is not in the table of \"Common fields\"", f)
		}
	}

	var schema struct {
		Definitions struct {
			Criterion struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"criterion"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(evals.SchemaJSON, &schema); err != nil {
		t.Fatal(err)
	}
	fields := slices.Sorted(maps.Keys(schema.Definitions.Criterion.Properties))
	split := regexp.MustCompile(`,\s*|\s+and\s+`)

	for _, typ := range criteria.Names() {
		var h *mdHeading
		for i, o := range d.headings {
			if o.line <= criteriaFrom || o.line >= criteriaTo || o.level != 3 {
				continue
			}
			if slices.Contains(split.Split(strings.ReplaceAll(o.text, "`", ""), -1), typ) {
				h = &d.headings[i]
				break
			}
		}
		if h == nil {
			t.Errorf("docs/suite.md: criterion type %q has no ### section under ## Criteria", typ)
			continue
		}
		from, to := d.section(*h)

		// An example of the type, checked by TestDocsSuiteExamples.
		isType := regexp.MustCompile(`"type":\s*"` + regexp.QuoteMeta(typ) + `"`)
		if !slices.ContainsFunc(blocks, func(b docBlock) bool {
			return b.line > from && b.line < to && (b.marker == markCriterion || strings.HasPrefix(b.marker, markSuite)) && isType.MatchString(b.text)
		}) {
			t.Errorf("docs/suite.md:%d: section %q has no example of type %q marked <!-- %s --> or <!-- %s -->", h.line, h.text, typ, markCriterion, markSuite)
		}

		documented := d.tableNames(from, to)
		own := 0
		for _, f := range fields {
			if slices.Contains(commonCriterionFields, f) || !criterionTakes(t, typ, f) {
				continue
			}
			own++
			if !documented[f] {
				t.Errorf("docs/suite.md:%d: criterion type %q takes the field %q, which no table of section %q documents", h.line, typ, f, h.text)
			}
		}
		if own == 0 && typ != "json-valid" {
			t.Errorf("criterion type %q takes no field of its own, by this test's probe: has the error for a field of another type changed?", typ)
		}
	}
}

// criterionTakes reports whether criterion type typ accepts field: its
// factory does not reject it as a field of another type.
func criterionTakes(t *testing.T, typ, field string) bool {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"name": "probe", "type": typ, field: 0})
	if err != nil {
		t.Fatal(err)
	}
	_, err = criteria.New(evals.CriterionSpec{Name: "probe", Type: typ, Raw: raw}, criteria.Env{})
	var fe *evals.FieldError
	return !(errors.As(err, &fe) && fe.Field == field && strings.Contains(err.Error(), "does not apply to criterion type"))
}

// TestReadmeListsEveryCommand checks that the README's command table has a
// row for each command and subcommand of the binary.
func TestReadmeListsEveryCommand(t *testing.T) {
	d := readMarkdown(t, "README.md")
	from, to := d.section(d.heading(t, 2, "Commands"))
	// The first cell of each row, such as "`rubric cache info`, `rubric cache clear`".
	var cells []string
	for n := from; n < to; n++ {
		if line := d.lines[n-1]; strings.HasPrefix(line, "| `rubric ") {
			cells = append(cells, strings.SplitN(line, "|", 3)[1])
		}
	}
	app := newApp(io.Discard, io.Discard)
	n := 0
	for _, c := range app.Commands {
		if c.Name == "help" {
			continue
		}
		names := []string{c.Name}
		for _, sub := range c.Subcommands {
			if sub.Name != "help" {
				names = append(names, c.Name+" "+sub.Name)
			}
		}
		for _, name := range names {
			n++
			if !slices.ContainsFunc(cells, func(c string) bool {
				return strings.Contains(c, "`rubric "+name+" ") || strings.Contains(c, "`rubric "+name+"`")
			}) {
				t.Errorf("README.md: the table under ## Commands has no row for `rubric %s`", name)
			}
		}
	}
	if n < 10 {
		t.Fatalf("the app has %d commands: expected at least 10", n)
	}
}

// docFlag matches a long flag written in the docs: --name.
var docFlag = regexp.MustCompile(`(?:^|[\s\x60(\[])--([a-z][a-z0-9-]*)`)

// notRubricFlags are long flags the docs show for other programs.
var notRubricFlags = []string{
	"body-file", // gh pr comment
	"arg",       // jq, in the exec scorer in shell
	"lines",     // the exec scorer in Python, kept running
	// The servers docs/suite.md shows openai targets for.
	"api-key", "reasoning-parser", "enable-auto-tool-choice", "tool-call-parser", // vllm serve
	"port", "parallel", "jinja", // llama-server
	"gpus", "model-id", // docker run, text-generation-inference
}

// TestDocsFlags checks that every long flag README.md and docs/*.md name is
// a flag of some rubric command, so that a renamed flag cannot linger in the
// docs, and that every flag of every command is named somewhere in them.
func TestDocsFlags(t *testing.T) {
	known := map[string]bool{"help": true, "version": true}
	owner := map[string]string{} // a flag's long name -> a command that has it
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				for _, name := range f.Names() {
					known[name] = true
				}
				if name := f.Names()[0]; name != "help" {
					owner[name] = prefix + c.Name
				}
			}
			walk(prefix+c.Name+" ", c.Subcommands)
		}
	}
	walk("rubric ", newApp(io.Discard, io.Discard).Commands)
	for _, f := range notRubricFlags {
		known[f] = true
	}
	named := map[string]bool{}
	for _, rel := range docFiles(t) {
		d := readMarkdown(t, rel)
		var unknown []string
		for i, line := range d.lines {
			for _, m := range docFlag.FindAllStringSubmatch(line, -1) {
				named[m[1]] = true
				if !known[m[1]] {
					unknown = append(unknown, "--"+m[1]+" (line "+strconv.Itoa(i+1)+")")
				}
			}
		}
		sort.Strings(unknown)
		if len(unknown) > 0 {
			t.Errorf("%s names flags that no rubric command has: %s", rel, strings.Join(unknown, ", "))
		}
	}
	if len(named) < 30 {
		t.Fatalf("found %d flags in the docs: is the pattern still right?", len(named))
	}
	for _, name := range slices.Sorted(maps.Keys(owner)) {
		if !named[name] {
			t.Errorf("--%s (%s) is named nowhere in README.md or docs/*.md", name, owner[name])
		}
	}
}
