package evals

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// mapScope is a Scope over a plain map.
type mapScope map[string]any

func (m mapScope) Lookup(name string) (any, bool) {
	v, ok := m[name]
	return v, ok
}

// testScope has a value of every kind a dataset can produce.
var testScope = mapScope{
	"name":    "Ann",
	"age":     30.0,
	"ratio":   0.25,
	"big":     1e21,
	"neg":     -2.5,
	"int":     7,
	"int64":   int64(-9),
	"num":     "12.50",
	"yes":     true,
	"no":      false,
	"nothing": nil,
	"quote":   "say \"hi\"\n\tand <b>&</b>",
	"uni":     "héllo 日本 🎉",
	"empty":   "",
	"user": map[string]any{
		"name":    "Bo",
		"address": map[string]any{"city": "Oslo", "zip": "0150"},
		"roles":   []any{"admin", "dev"},
	},
	"items": []any{"zero", map[string]any{"k": "v", "n": 2.0}, []any{1.0, 2.0}},
	"obj":   map[string]any{"b": 1.0, "a": "x<y", "c": []any{true, nil}},
	"arr":   []any{"x", 1.5, false, nil},
	"nan":   math.NaN(),
	"a-b_c": "dash",
	"0":     "zero-name",
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"empty", "", ""},
		{"plain text", "hello, world", "hello, world"},
		{"only placeholder", "{{name}}", "Ann"},
		{"several placeholders", "Hi {{name}}, you are {{ age }}; {{name}} again.", "Hi Ann, you are 30; Ann again."},
		{"adjacent placeholders", "{{name}}{{name}}", "AnnAnn"},
		{"whitespace inside braces", "[{{   name   }}][{{\tname\n}}][{{ name}}][{{name }}]", "[Ann][Ann][Ann][Ann]"},
		{"dotted map path", "{{ user.name }} lives in {{ user.address.city }} {{user.address.zip}}", "Bo lives in Oslo 0150"},
		{"dotted array index", "{{ items.0 }}/{{ user.roles.1 }}", "zero/dev"},
		{"array then map", "{{ items.1.k }}={{ items.1.n }}", "v=2"},
		{"array in array", "{{ items.2.1 }}", "2"},
		{"name with dash and underscore", "{{ a-b_c }}", "dash"},
		{"numeric top-level name", "{{ 0 }}", "zero-name"},
		{"string written as is", "{{ quote }}", "say \"hi\"\n\tand <b>&</b>"},
		{"empty string", "<{{ empty }}>", "<>"},
		{"float integer", "{{ age }}", "30"},
		{"float fraction", "{{ ratio }}", "0.25"},
		{"float negative", "{{ neg }}", "-2.5"},
		{"float large, no exponent", "{{ big }}", "1000000000000000000000"},
		{"NaN float", "{{ nan }}", "NaN"},
		{"int", "{{ int }}", "7"},
		{"int64", "{{ int64 }}", "-9"},
		{"string that looks like a number", "{{ num }}", "12.50"},
		{"bool true", "{{ yes }}", "true"},
		{"bool false", "{{ no }}", "false"},
		{"nil", "{{ nothing }}", "null"},
		{"object as JSON, keys sorted, no HTML escaping", "{{ obj }}", `{"a":"x<y","b":1,"c":[true,null]}`},
		{"array as JSON", "{{ arr }}", `["x",1.5,false,null]`},
		{"nested array as JSON", "{{ items.2 }}", `[1,2]`},
		{"nested object as JSON", "{{ user.address }}", `{"city":"Oslo","zip":"0150"}`},
		{"json filter on string quotes and escapes", "{{ quote | json }}", `"say \"hi\"\n\tand <b>&</b>"`},
		{"json filter on plain string", "{{name|json}}", `"Ann"`},
		{"json filter on unicode", "{{ uni | json }}", `"héllo 日本 🎉"`},
		{"json filter on object", "{{ obj | json }}", `{"a":"x<y","b":1,"c":[true,null]}`},
		{"json filter on number", "{{ ratio | json }}", "0.25"},
		{"json filter on large number", "{{ big | json }}", "1e+21"},
		{"json filter on bool", "{{ yes | json }}", "true"},
		{"json filter on nil", "{{ nothing | json }}", "null"},
		{"json filter on nested path", "{{ user.roles | json }}", `["admin","dev"]`},
		{"json filter with spaces", "{{ name   |   json }}", `"Ann"`},
		{"escaped braces", `\{{ name }}`, "{{ name }}"},
		{"escaped then placeholder", `\{{ name }} is {{ name }}`, "{{ name }} is Ann"},
		{"escape needs no closing", `a \{{ b`, "a {{ b"},
		{"escaped triple brace", `\{{{name}}`, "{{{name}}"},
		{"backslash before escape", `\\{{x}}`, `\{{x}}`},
		{"lone backslash and brace", `\{ } }} {`, `\{ } }} {`},
		{"closing braces alone", "}} {{name}} }}", "}} Ann }}"},
		{"extra closing brace after placeholder", "{{name}}}", "Ann}"},
		{"unicode text around", "日本 {{ name }} 語 🎉 {{ uni }}", "日本 Ann 語 🎉 héllo 日本 🎉"},
		{"newlines kept", "line1\n{{name}}\r\nline3\n", "line1\nAnn\r\nline3\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := ParseTemplate(tc.src)
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tc.src, err)
			}
			if got := tpl.String(); got != tc.src {
				t.Errorf("String() = %q, want %q", got, tc.src)
			}
			got, err := tpl.Render(testScope)
			if err != nil {
				t.Fatalf("Render(%q): %v", tc.src, err)
			}
			if got != tc.want {
				t.Errorf("Render(%q) = %q, want %q", tc.src, got, tc.want)
			}
		})
	}
}

// TestRenderQuoted checks that every substituted value, and nothing else,
// goes through the quote function, as Render would write it.
func TestRenderQuoted(t *testing.T) {
	tmpl := MustParseTemplate("Hi {{ name }}: {{ user.address | json }}, {{ age }}{{ empty }}.")
	var paths []string
	got, err := tmpl.RenderQuoted(testScope, func(b *strings.Builder, path, text string) {
		paths = append(paths, path)
		b.WriteString("<" + text + ">")
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `Hi <Ann>: <{"city":"Oslo","zip":"0150"}>, <30><>.`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if want := []string{"name", "user.address", "age", "empty"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("paths %q, want %q", paths, want)
	}
	if _, err := tmpl.RenderQuoted(mapScope{}, func(*strings.Builder, string, string) {}); err == nil {
		t.Error("a missing variable rendered")
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		path    string // MissingVarError.Path; "" for other errors
		wantErr string
	}{
		{"missing top-level", "Hi {{ nope }}", "nope", `variable "nope" is not defined for this case`},
		{"missing second of two", "{{ name }} {{ ghost }}", "ghost", `variable "ghost" is not defined for this case`},
		{"missing map key", "{{ user.email }}", "user.email", `variable "user.email" is not defined for this case`},
		{"missing deep map key", "{{ user.address.street.number }}", "user.address.street", `variable "user.address.street" is not defined for this case`},
		{"path into a string", "{{ name.first }}", "name.first", `variable "name.first" is not defined for this case`},
		{"path into a number", "{{ age.x }}", "age.x", `variable "age.x" is not defined for this case`},
		{"path into nil", "{{ nothing.x }}", "nothing.x", `variable "nothing.x" is not defined for this case`},
		{"index out of range", "{{ items.3 }}", "items.3", `variable "items.3" is not defined for this case`},
		{"negative index", "{{ items.-1 }}", "items.-1", `variable "items.-1" is not defined for this case`},
		{"non-numeric index", "{{ items.first }}", "items.first", `variable "items.first" is not defined for this case`},
		{"missing after array element", "{{ items.1.zzz }}", "items.1.zzz", `variable "items.1.zzz" is not defined for this case`},
		{"missing with json filter", "{{ ghost | json }}", "ghost", `variable "ghost" is not defined for this case`},
		{"json filter cannot encode NaN", "{{ nan | json }}", "", "{{nan}}: json: unsupported value: NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl := MustParseTemplate(tc.src)
			got, err := tpl.Render(testScope)
			if err == nil {
				t.Fatalf("Render(%q) = %q, want error %q", tc.src, got, tc.wantErr)
			}
			if got != "" {
				t.Errorf("Render(%q) returned %q with the error, want \"\"", tc.src, got)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("Render(%q) error = %q, want %q", tc.src, err.Error(), tc.wantErr)
			}
			var mv *MissingVarError
			if isMissing := errors.As(err, &mv); isMissing != (tc.path != "") {
				t.Fatalf("error %T is a *MissingVarError: %v, want %v", err, isMissing, tc.path != "")
			}
			if tc.path != "" && mv.Path != tc.path {
				t.Errorf("MissingVarError.Path = %q, want %q", mv.Path, tc.path)
			}
			// Value reports the same error.
			if _, verr := tpl.Value(testScope); verr == nil || verr.Error() != tc.wantErr {
				t.Errorf("Value(%q) error = %v, want %q", tc.src, verr, tc.wantErr)
			}
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		offset  int
		msg     string
		wantErr string
	}{
		{
			name: "unclosed", src: "Hi {{ name", offset: 3,
			msg:     `"{{" is never closed by "}}"`,
			wantErr: `template: "{{" is never closed by "}}" at character 4`,
		},
		{
			name: "unclosed with single brace", src: "{{ name }", offset: 0,
			msg:     `"{{" is never closed by "}}"`,
			wantErr: `template: "{{" is never closed by "}}" at character 1`,
		},
		{
			name: "second placeholder unclosed", src: "{{a}} and {{b", offset: 10,
			msg:     `"{{" is never closed by "}}"`,
			wantErr: `template: "{{" is never closed by "}}" at character 11`,
		},
		{
			name: "empty", src: "x{{}}", offset: 1,
			msg:     "empty placeholder {{ }}: expected a variable name",
			wantErr: "template: empty placeholder {{ }}: expected a variable name at character 2",
		},
		{
			name: "blank", src: "ab {{   }}", offset: 3,
			msg:     "empty placeholder {{ }}: expected a variable name",
			wantErr: "template: empty placeholder {{ }}: expected a variable name at character 4",
		},
		{
			name: "filter without name", src: "{{ | json }}", offset: 0,
			msg:     "empty placeholder {{ }}: expected a variable name",
			wantErr: "template: empty placeholder {{ }}: expected a variable name at character 1",
		},
		{
			name: "space inside name", src: "{{ first name }}", offset: 0,
			msg:     `invalid variable name "first name" in {{ first name }}: expected letters, digits, '_' or '-' separated by dots`,
			wantErr: `template: invalid variable name "first name" in {{ first name }}: expected letters, digits, '_' or '-' separated by dots at character 1`,
		},
		{
			name: "empty path segment", src: "say {{a..b}}", offset: 4,
			msg:     `invalid variable name "a..b" in {{a..b}}: expected letters, digits, '_' or '-' separated by dots`,
			wantErr: `template: invalid variable name "a..b" in {{a..b}}: expected letters, digits, '_' or '-' separated by dots at character 5`,
		},
		{
			name: "trailing dot", src: "{{ a. }}", offset: 0,
			msg:     `invalid variable name "a." in {{ a. }}: expected letters, digits, '_' or '-' separated by dots`,
			wantErr: `template: invalid variable name "a." in {{ a. }}: expected letters, digits, '_' or '-' separated by dots at character 1`,
		},
		{
			name: "leading dot", src: "{{.a}}", offset: 0,
			msg:     `invalid variable name ".a" in {{.a}}: expected letters, digits, '_' or '-' separated by dots`,
			wantErr: `template: invalid variable name ".a" in {{.a}}: expected letters, digits, '_' or '-' separated by dots at character 1`,
		},
		{
			name: "non-ASCII name", src: "{{ név }}", offset: 0,
			msg:     `invalid variable name "név" in {{ név }}: expected letters, digits, '_' or '-' separated by dots`,
			wantErr: `template: invalid variable name "név" in {{ név }}: expected letters, digits, '_' or '-' separated by dots at character 1`,
		},
		{
			name: "Go template syntax", src: "{{ .Name }}", offset: 0,
			msg:     `invalid variable name ".Name" in {{ .Name }}: expected letters, digits, '_' or '-' separated by dots`,
			wantErr: `template: invalid variable name ".Name" in {{ .Name }}: expected letters, digits, '_' or '-' separated by dots at character 1`,
		},
		{
			name: "a single } does not close", src: "{{ a } and {{ b }}", offset: 0,
			msg:     `invalid variable name "a } and {{ b" in {{ a } and {{ b }}: expected letters, digits, '_' or '-' separated by dots`,
			wantErr: `template: invalid variable name "a } and {{ b" in {{ a } and {{ b }}: expected letters, digits, '_' or '-' separated by dots at character 1`,
		},
		{
			name: "unknown filter", src: "{{ name | upper }}", offset: 0,
			msg:     `unknown filter "upper" in {{ name | upper }}: expected json`,
			wantErr: `template: unknown filter "upper" in {{ name | upper }}: expected json at character 1`,
		},
		{
			name: "empty filter", src: "..{{ name | }}", offset: 2,
			msg:     `unknown filter "" in {{ name | }}: expected json`,
			wantErr: `template: unknown filter "" in {{ name | }}: expected json at character 3`,
		},
		{
			name: "two filters", src: "{{ name | json | json }}", offset: 0,
			msg:     `unknown filter "json | json" in {{ name | json | json }}: expected json`,
			wantErr: `template: unknown filter "json | json" in {{ name | json | json }}: expected json at character 1`,
		},
		{
			name: "filter names are case sensitive", src: "{{ name | JSON }}", offset: 0,
			msg:     `unknown filter "JSON" in {{ name | JSON }}: expected json`,
			wantErr: `template: unknown filter "JSON" in {{ name | JSON }}: expected json at character 1`,
		},
		{
			// Offset is in bytes ("é" and "日本" take 2 and 6); the message counts characters.
			name: "unicode before the error", src: "é日本 {{ x", offset: 9,
			msg:     `"{{" is never closed by "}}"`,
			wantErr: `template: "{{" is never closed by "}}" at character 5`,
		},
		{
			name: "error after an escape", src: `\{{ {{ }}`, offset: 4,
			msg:     "empty placeholder {{ }}: expected a variable name",
			wantErr: "template: empty placeholder {{ }}: expected a variable name at character 5",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := ParseTemplate(tc.src)
			if err == nil {
				t.Fatalf("ParseTemplate(%q) = %v, want an error", tc.src, tpl)
			}
			if tpl != nil {
				t.Errorf("ParseTemplate(%q) returned a template with the error", tc.src)
			}
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("error %T %v is not a *TemplateError", err, err)
			}
			if te.Offset != tc.offset {
				t.Errorf("Offset = %d, want %d", te.Offset, tc.offset)
			}
			if te.Msg != tc.msg {
				t.Errorf("Msg = %q\nwant  %q", te.Msg, tc.msg)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("Error() = %q\nwant    %q", err.Error(), tc.wantErr)
			}
		})
	}
}

func TestTemplateErrorWithoutSource(t *testing.T) {
	// A TemplateError built by hand has no text to count characters in: the
	// byte offset stands in.
	err := &TemplateError{Offset: 4, Msg: "boom"}
	if got, want := err.Error(), "template: boom at character 5"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestMustParseTemplatePanics(t *testing.T) {
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok {
			t.Fatalf("recover() = %v, want an error", r)
		}
		if got, want := err.Error(), `template: "{{" is never closed by "}}" at character 1`; got != want {
			t.Errorf("panic = %q, want %q", got, want)
		}
	}()
	MustParseTemplate("{{ x")
	t.Fatal("MustParseTemplate did not panic")
}

func TestTemplateVarsAndStatic(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		vars   []string
		static bool
	}{
		{"empty", "", nil, true},
		{"plain", "just text", nil, true},
		{"escaped only", `\{{ a }}`, nil, true},
		{"one", "{{ a }}", []string{"a"}, false},
		{"order of first use, deduplicated", "{{ b }} {{ a }} {{ b }} {{ c | json }} {{ a }}", []string{"b", "a", "c"}, false},
		{"top-level names of paths", "{{ expected.category }} {{ user.roles.0 }} {{ expected.priority }}", []string{"expected", "user"}, false},
		{"escaped not counted", `\{{ a }} {{ b }}`, []string{"b"}, false},
		{"reserved names are names too", "{{ id }} {{ output }} {{ tags }}", []string{"id", "output", "tags"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl := MustParseTemplate(tc.src)
			if got := tpl.Vars(); !reflect.DeepEqual(got, tc.vars) {
				t.Errorf("Vars() = %#v, want %#v", got, tc.vars)
			}
			if got := tpl.Static(); got != tc.static {
				t.Errorf("Static() = %v, want %v", got, tc.static)
			}
		})
	}
}

func TestTemplatePathsAndSingle(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		paths  []string
		filter string
		single bool
	}{
		{"empty", "", nil, "", false},
		{"text", "just text", nil, "", false},
		{"one", "{{ a }}", []string{"a"}, "", true},
		{"one with json", "{{ messages | json }}", []string{"messages"}, "json", true},
		{"a path with json", "{{ params.max_tokens|json }}", []string{"params.max_tokens"}, "json", true},
		{"text around", " {{ a | json }}", []string{"a"}, "", false},
		{"text after", "{{ a | json }}!", []string{"a"}, "", false},
		{"two", "{{ a | json }}{{ b | json }}", []string{"a", "b"}, "", false},
		{"paths in order with repeats", "{{ b.x }} {{ a }} {{ b.x }}", []string{"b.x", "a", "b.x"}, "", false},
		{"escaped only", `\{{ a }}`, nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl := MustParseTemplate(tc.src)
			if got := tpl.Paths(); !reflect.DeepEqual(got, tc.paths) {
				t.Errorf("Paths() = %#v, want %#v", got, tc.paths)
			}
			if filter, ok := tpl.Single(); filter != tc.filter || ok != tc.single {
				t.Errorf("Single() = %q, %v; want %q, %v", filter, ok, tc.filter, tc.single)
			}
		})
	}
}

func TestTemplateValue(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want any
	}{
		{"string", "{{ name }}", "Ann"},
		{"number keeps its type", "{{ age }}", 30.0},
		{"bool keeps its type", "{{ yes }}", true},
		{"nil keeps its type", "{{ nothing }}", nil},
		{"array keeps its type", "{{ user.roles }}", []any{"admin", "dev"}},
		{"object keeps its type", "{{ user.address }}", map[string]any{"city": "Oslo", "zip": "0150"}},
		{"surrounding spaces inside braces still one placeholder", "{{   items.2   }}", []any{1.0, 2.0}},
		{"filter renders", "{{ age | json }}", "30"},
		{"text around renders", " {{ age }}", " 30"},
		{"two placeholders render", "{{ age }}{{ yes }}", "30true"},
		{"plain text", "abc", "abc"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MustParseTemplate(tc.src).Value(testScope)
			if err != nil {
				t.Fatalf("Value(%q): %v", tc.src, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Value(%q) = %#v (%T), want %#v (%T)", tc.src, got, got, tc.want, tc.want)
			}
		})
	}
}

func TestCaseScope(t *testing.T) {
	full := &Case{
		ID:       "c-1",
		Vars:     map[string]any{"ticket": "help", "id": "shadowed", "output": "shadowed", "n": 2.0},
		Expected: map[string]any{"category": "billing"},
		Tags:     []string{"a=1", "b"},
		Metadata: map[string]any{"source": "web"},
	}
	bare := &Case{ID: "7"}
	tests := []struct {
		name  string
		scope CaseScope
		src   string
		want  string
		err   string
	}{
		{"id", CaseScope{Case: full}, "{{ id }}", "c-1", ""},
		{"id wins over a variable named id", CaseScope{Case: full}, "{{ id }}/{{ ticket }}", "c-1/help", ""},
		{"variable", CaseScope{Case: full}, "{{ ticket }} {{ n }}", "help 2", ""},
		{"expected path", CaseScope{Case: full}, "{{ expected.category }}", "billing", ""},
		{"expected whole", CaseScope{Case: full}, "{{ expected }}", `{"category":"billing"}`, ""},
		{"expected missing key", CaseScope{Case: full}, "{{ expected.priority }}", "", `variable "expected.priority" is not defined for this case`},
		{"expected absent", CaseScope{Case: bare}, "{{ expected }}", "", `variable "expected" is not defined for this case`},
		{"expected absent, nested path", CaseScope{Case: bare}, "{{ expected.category }}", "", `variable "expected" is not defined for this case`},
		{"expected string", CaseScope{Case: &Case{ID: "1", Expected: "yes"}}, "{{ expected }}", "yes", ""},
		{"expected empty string is defined", CaseScope{Case: &Case{ID: "1", Expected: ""}}, "[{{ expected }}]", "[]", ""},
		{"tags", CaseScope{Case: full}, "{{ tags }}", `["a=1","b"]`, ""},
		{"tag by index", CaseScope{Case: full}, "{{ tags.1 }}", "b", ""},
		{"tags always defined", CaseScope{Case: bare}, "{{ tags }}", "[]", ""},
		{"metadata", CaseScope{Case: full}, "{{ metadata.source }}", "web", ""},
		{"metadata absent", CaseScope{Case: bare}, "{{ metadata }}", "", `variable "metadata" is not defined for this case`},
		{"output when set", CaseScope{Case: full, Output: "the answer", HasOutput: true}, "{{ output }}", "the answer", ""},
		{"empty output when set", CaseScope{Case: full, HasOutput: true}, "[{{ output }}]", "[]", ""},
		{"output not set hides a variable named output", CaseScope{Case: full, Output: "ignored"}, "{{ output }}", "", `variable "output" is not defined for this case`},
		{"unknown variable", CaseScope{Case: bare}, "{{ ticket }}", "", `variable "ticket" is not defined for this case`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MustParseTemplate(tc.src).Render(tc.scope)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Render(%q) = %q, %v; want error %q", tc.src, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render(%q): %v", tc.src, err)
			}
			if got != tc.want {
				t.Errorf("Render(%q) = %q, want %q", tc.src, got, tc.want)
			}
		})
	}
}

func TestReserved(t *testing.T) {
	want := []string{"id", "expected", "tags", "metadata", "output"}
	if !reflect.DeepEqual(Reserved, want) {
		t.Fatalf("Reserved = %v, want %v", Reserved, want)
	}
	// Every reserved name resolves in a full scope, whatever the variables say.
	c := &Case{ID: "x", Expected: "e", Metadata: map[string]any{}, Vars: map[string]any{}}
	for _, name := range Reserved {
		c.Vars[name] = "variable"
	}
	scope := CaseScope{Case: c, Output: "o", HasOutput: true}
	for _, name := range Reserved {
		v, ok := scope.Lookup(name)
		if !ok {
			t.Errorf("Lookup(%q) not found", name)
		}
		if v == "variable" {
			t.Errorf("Lookup(%q) = the case variable, want the reserved value", name)
		}
	}
}

// fuzzScope defines every path a template names: each path's parents are
// objects, its leaf a string unless a longer path goes through it.
func fuzzScope(t *Template) mapScope {
	root := map[string]any{}
	for _, p := range t.parts {
		if p.path == nil {
			continue
		}
		m := root
		for i, seg := range p.path {
			if i == len(p.path)-1 {
				if _, ok := m[seg]; !ok {
					m[seg] = "v"
				}
				break
			}
			next, ok := m[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[seg] = next
			}
			m = next
		}
	}
	return mapScope(root)
}

func FuzzParseTemplate(f *testing.F) {
	for _, seed := range []string{
		"",
		"plain",
		"{{ a }}",
		"{{a}}{{b.c}}",
		"{{ a.0.b | json }}",
		`\{{ a }}`,
		`\\{{a}}`,
		"{{",
		"}}",
		"{{ }}",
		"{{ a | nope }}",
		"{{ a } }}",
		"{{{a}}}",
		"日本 {{ 語 }}",
		"{{ a\n}}",
		"{{ a.b }} {{ a }}",
		"{{ a }} {{ a.b }}",
		"\xff{{ a }}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := ParseTemplate(src)
		if err != nil {
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not a *TemplateError", err)
			}
			if te.Offset < 0 || te.Offset >= len(src) {
				t.Fatalf("Offset %d outside [0, %d)", te.Offset, len(src))
			}
			if !strings.HasPrefix(src[te.Offset:], "{{") {
				t.Fatalf("Offset %d does not point at a {{ in %q", te.Offset, src)
			}
			return
		}
		if tpl.String() != src {
			t.Fatalf("String() = %q, want %q", tpl.String(), src)
		}
		scope := fuzzScope(tpl)
		out, err := tpl.Render(scope)
		if err != nil {
			t.Fatalf("Render(%q) with every name defined: %v", src, err)
		}
		if _, err := tpl.Value(scope); err != nil {
			t.Fatalf("Value(%q) with every name defined: %v", src, err)
		}
		if tpl.Static() {
			if len(tpl.Vars()) != 0 {
				t.Fatalf("static template %q has vars %v", src, tpl.Vars())
			}
			if want := strings.ReplaceAll(src, `\{{`, "{{"); out != want {
				t.Fatalf("static Render(%q) = %q, want %q", src, out, want)
			}
		}
		for _, v := range tpl.Vars() {
			if _, err := tpl.Render(without(scope, v)); err == nil {
				t.Fatalf("Render(%q) without %q did not fail", src, v)
			}
		}
	})
}

func without(s mapScope, name string) mapScope {
	out := mapScope{}
	for k, v := range s {
		if k != name {
			out[k] = v
		}
	}
	return out
}
