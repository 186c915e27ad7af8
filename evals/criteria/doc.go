// Package criteria implements the criteria a suite can judge responses by:
// the scorers behind the "type" of each entry of a suite's criteria list.
//
// Registry maps each criterion type to the Factory that builds its scorer
// from the criterion's JSON object; New looks the type up and builds it. A
// factory decodes the object strictly: a field the type does not accept is an
// error, and every error about a field is an *evals.FieldError naming the
// field's dotted path within the criterion ("pattern", "extract.regex",
// "value.1"). Everything that can be prepared is prepared once, at
// construction: regular expressions are compiled, schemas loaded and
// compiled, static values normalised. Scoring never fails and never panics: a
// response that cannot be judged gets an unscored verdict.
//
// # Fields every type accepts
//
//	name         string, required
//	type         string, required: one of Names()
//	weight       number >= 0, default 1 (used by the runner, not the scorer)
//	threshold    number from 0 to 1, default 1: the verdict passes when
//	             score >= threshold
//	description  string, free text
//	extract      object: which part of the output to judge (below)
//	normalize    array of "lowercase", "strip_punctuation",
//	             "collapse_whitespace", "trim"
//
// extract is applied to the output only, in this order:
//
//	code_fence  true: when the output has a ``` fenced block, judge the
//	            content of the first one (the opening fence may carry a
//	            language tag; the block ends at the next ```, or at the end of
//	            the output when it is never closed); an output without a fence
//	            is judged whole
//	then at most one of:
//	json        "items.0.name": parse the text as JSON and take the value at the
//	            path of dotted keys and array indexes; a string is taken as it
//	            is (unescaped), any other value as compact JSON, numbers as
//	            written (1.0 stays "1.0"); of repeated keys the last counts
//	regex       a pattern (Go RE2 syntax): take the first match, or its group
//	group       with regex: the group's number or name; default 1 when the
//	            pattern has a group, else 0 (the whole match)
//	last_line   true: take the last line that is not blank, trimmed
//
// When extraction fails (the text is not JSON, the path or a match is
// missing) the verdict is score 0, with the reason.
//
// normalize applies its steps to the extracted output and to every value it
// is compared with, always in this order, whatever the order written:
// lowercase (Unicode lower case), strip_punctuation (removes every rune for
// which unicode.IsPunct is true: .,;:!?'"()[]{}-_/@#%&*\ and their Unicode
// kin, but not symbols such as $+<=>^`|~), collapse_whitespace (every run of
// Unicode white space becomes one space), trim (removes leading and trailing
// white space).
//
// # Types
//
//	equals        the output equals one of the values
//	starts-with   the output starts with one of the values
//	contains      mode "any" (default): the output contains one of the values;
//	              mode "all": it contains every one
//	not-contains  the output contains none of the values
//	regex         pattern (required): the pattern matches the output; with
//	              value, the first match's group ("group": number or name,
//	              default 1 when the pattern has a group, else the whole match)
//	              equals one of the values
//	json-valid    the output is one JSON value
//	json-schema   the output is JSON that the schema accepts: schema (an
//	              inline JSON Schema object) or schema_file (a path, relative
//	              to the suite's folder), exactly one of them
//	judge         an LLM (judge: a target) or several voting (judges) grade the
//	              output by a rubric (a template, every value quoted so that
//	              it cannot pass for instructions) or a built-in template
//	              (closed-qa with criterion, factual), and end with a verdict
//	              that choices turn into a score; no verdict is unscored
//	embedding     the cosine similarity of the embeddings of the output and
//	              of the values, from target's /embeddings; threshold required
//
// equals takes label: true, and its verdicts then carry the labels compared
// (runner.Verdict.Label), from which reports compute classification metrics.
//
// Scores are 1 or 0, but for judge and embedding. For regex, the pattern is matched against the extracted,
// normalised output, and the group is normalised again before comparing.
//
// # Values
//
// value, for equals, starts-with, contains, not-contains and regex, is a
// string or an array of strings. Each is a template (see evals.Template)
// resolved against the case: its variables, id, expected, tags, metadata and
// output. A template that is a single placeholder ("{{expected.labels}}")
// keeps the type of what it names: an array gives one value per element; a
// number or boolean is written as JSON. When value is absent, the comparison
// types compare with the case's expected answer: a string, a number or
// boolean (as JSON), or an array of them. regex without value only checks that
// the pattern matches. A case without the value to compare is left unscored,
// with the reason.
package criteria
