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
//	             score >= threshold; required by levenshtein, f1, rouge
//	             and bleu, whose scores are graded
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
//	levenshtein   1 - edit distance / max length, in code points
//	exact-match   equal after SQuAD v1.1 answer normalisation
//	f1            SQuAD v1.1 token F1
//	rouge         variant "rouge1", "rouge2", "rougeL" (default) or "rougeLsum";
//	              measure "f" (default), "precision" or "recall"; stemmer
//	              (default false); as rouge-score with use_stemmer=stemmer
//	bleu          sentence BLEU / 100, as sacrebleu's sentence_bleu; tokenize
//	              "13a" (default), "none" or "char"
//	numeric       the first or last number of the output (pick, default
//	              "last") is within tolerance (absolute) or
//	              relative_tolerance (times |expected|) of a value;
//	              percent "number" (default: 12.5% is 12.5) or "fraction"
//	ends-with     the output ends with one of the values
//	one-of        the output is one of a fixed label set (values, or value)
//	length        min_chars, max_chars (code points), min_words, max_words
//	              (runs between Unicode white space): inclusive bounds
//	json-match    the output is JSON structurally equal to value (any JSON;
//	              a string is a template) or to expected: keys in any order,
//	              numbers as exact decimals; subset, ignore_order
//	json-field    criterion judges the field at path of the output's JSON; a
//	              missing field fails
//	not           passes when criterion fails; score 1 - its score
//	all, any      every / some criterion of criteria passes, in three-valued
//	              logic (unscored is unknown); score min / max
//	weighted      the weighted mean score of criteria reaches the threshold
//	latency       max_ms: the recorded latency of the call; max_ttft_ms:
//	              the time to a streamed response's first token
//	tokens        max_completion, max_prompt, max_total: reported counts
//	cost          max: the cost at the target's price table
//	exec          command: a program run without a shell, the case as JSON
//	              on stdin, {"score", "pass", "reason"} on stdout
//	judge         an LLM (judge: a target) or several voting (judges) grade the
//	              output by a rubric (a template, every value quoted so that
//	              it cannot pass for instructions) or a built-in template
//	              (closed-qa with requirement, factual), and end with a verdict
//	              that choices turn into a score; no verdict is unscored
//	embedding     the cosine similarity of the embeddings of the output and
//	              of the values, from target's /embeddings; threshold required
//	tool-call     the model called tool (a template), as call step or any,
//	              with arguments (json-match, subset by default) and an
//	              argument field that criterion passes
//	trajectory    the tool calls against expected ({name, arguments}, or a
//	              template), by mode exact, in_order, any_order or subset;
//	              the score is the fraction of the expected calls matched,
//	              the reason gives precision, recall and F1
//	no-tool-call  no tool was called, or none of names
//	steps         min, max: the model requests of the conversation
//	tool-errors   max (default 0): the tool calls answered with an error
//
// The criteria of tool use (tools.go) read the conversation's transcript;
// for a single answer, the response's tool calls, one step, no tool error.
//
// equals takes label: true, and its verdicts then carry the labels compared
// (evals.Verdict.Label), from which reports compute classification metrics.
//
// A criterion with a statistic of all the responses it scored implements
// evals.CorpusScorer, next to its scorer: an equals with label: true counts
// its labels (classify.go), a bleu criterion sums its verdicts' BLEU counts
// (corpusbleu.go), and a json-field gives the corpus of the criterion it
// holds. The aggregation of each target feeds them the verdicts.
//
// The text metrics (levenshtein to bleu) score the output against references
// and keep the best score; package textmetric defines each one exactly.
// Levenshtein and ROUGE-L leave unscored a pair whose table would exceed
// 25 million cells.
//
// Most scores are 1 or 0; weighted, not, exec, judge, embedding and
// trajectory give any score from 0 to 1.
// For regex, the pattern is matched against the extracted, normalised
// output, and the group is normalised again before comparing.
//
// # Nested criteria
//
// not, json-field and tool-call (criterion) and the groups (criteria) hold
// criteria of any type, built by newChild: a nested name is optional and defaults to
// PARENT/N, weight applies only under weighted, and errors about nested
// fields carry their full path from the top-level criterion
// ("criteria.1.criterion.pattern").
//
// # Values
//
// value, for equals, starts-with, contains, not-contains, regex, the text
// metrics and numeric, is a string or an array of strings (numeric also takes
// JSON numbers). Each is a template (see evals.Template)
// resolved against the case: its variables, id, expected, tags, metadata and
// output. A template that is a single placeholder ("{{expected.labels}}")
// keeps the type of what it names: an array gives one value per element; a
// number or boolean is written as JSON. When value is absent, the comparison
// types, the text metrics and numeric compare with the case's expected answer: a string, a number or
// boolean (as JSON), or an array of them. regex without value only checks that
// the pattern matches. A case without the value to compare is left unscored,
// with the reason.
package criteria
