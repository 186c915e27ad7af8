package criteria

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rubric-eval/rubric/evals"
)

var _ evals.Scorer = (*Judge)(nil)

type judgeConfig struct {
	commonConfig
	Judge     json.RawMessage   `json:"judge"`
	Judges    []json.RawMessage `json:"judges"`
	Rubric    *string           `json:"rubric"`
	Template  *string           `json:"template"`
	Criterion *string           `json:"requirement"`
	Choices   json.RawMessage   `json:"choices"`
	Output    string            `json:"output"`
}

// choice is a verdict a judge may give, and the score it stands for.
type choice struct {
	name  string
	score float64
}

// defaultChoices are a judge's choices when the suite names none.
var defaultChoices = []choice{{"Y", 1}, {"N", 0}}

// DefaultJudgeSeed is the seed of a judge's requests, and 0 their
// temperature, when the judge target's params set none.
const DefaultJudgeSeed = 42

// Judge is the scorer of the judge criterion: one LLM, or several voting,
// grade the response by a rubric and name a verdict, which the choices turn
// into a score. An answer without a verdict, or naming one not offered, and a
// judge call that fails, leave the response unscored: never passed or
// failed.
type Judge struct {
	common
	judges  []*judgeTarget
	rubric  *evals.Template
	choices []choice
	system  string
	json    bool
	// ownTranscript: the rubric places {{ transcript }} itself; otherwise
	// the prompt of a conversation opens with it.
	ownTranscript bool
	// key is what the verdicts depend on (JudgeKey).
	key evals.JudgeKey
}

var _ evals.JudgeKeyer = (*Judge)(nil)

// JudgeKey implements evals.JudgeKeyer: the judges' providers, models and
// params as their targets set them, the rubric as resolved (a built-in
// template with its requirement), the choices, the threshold and the
// output.
func (j *Judge) JudgeKey() evals.JudgeKey { return j.key }

// judgeTarget is one judge: the target called and what it is asked.
type judgeTarget struct {
	name, model string
	spec        *evals.TargetSpec // for the price of a call
	p           evals.Provider
	params      *evals.Params // asked of every request: temperature, seed, format
	temperature float64       // those in effect, for the record
	seed        int64
}

func newJudge(spec evals.CriterionSpec, env Env) (evals.Scorer, error) {
	var c judgeConfig
	if err := decode(spec, &c); err != nil {
		return nil, err
	}
	cm, err := newCommon(&c.commonConfig)
	if err != nil {
		return nil, err
	}
	j := &Judge{common: cm}

	refs, fields, err := judgeRefs(&c)
	if err != nil {
		return nil, err
	}
	switch c.Output {
	case "", "text":
	case "json":
		j.json = true
	default:
		return nil, evals.FieldErrorf("output", `unknown output %q: expected "text" (a last line "VERDICT: <choice>") or "json" (structured outputs)`, c.Output)
	}
	if err := j.parseRubric(&c); err != nil {
		return nil, err
	}
	j.system = systemPrompt(j.choices, j.json)

	if env.Target == nil {
		return nil, evals.FieldErrorf(fields[0], "cannot resolve the judge's target: the criterion was built without its suite's targets (criteria.Env.Target is nil)")
	}
	zero, seed := 0.0, int64(DefaultJudgeSeed)
	params := &evals.Params{Temperature: &zero, Seed: &seed}
	if j.json {
		params.ResponseFormat = responseFormat(j.choices)
	}
	seen := map[string]string{}
	for i, ref := range refs {
		ep, err := env.Target(fields[i], ref)
		if err != nil {
			return nil, err
		}
		ts := &ep.Spec
		if first, dup := seen[ts.Name]; dup {
			return nil, evals.FieldErrorf(fields[i], "judge %q is already listed at %s: each judge votes once", ts.Name, first)
		}
		seen[ts.Name] = fields[i]
		if j.json && !ep.StructuredOutputs {
			return nil, evals.FieldErrorf("output", `"json" asks for OpenAI structured outputs: expected judges of provider "openai", but %q is %q`, ts.Name, ts.Provider)
		}
		jt := &judgeTarget{name: ts.Name, model: ep.Model, spec: ts, p: ep.Provider, params: params, temperature: zero, seed: seed}
		if tp := ep.Params; tp != nil {
			if tp.Temperature != nil {
				jt.temperature = *tp.Temperature
			}
			if tp.Seed != nil {
				jt.seed = *tp.Seed
			}
		}
		j.judges = append(j.judges, jt)
		j.key.Targets = append(j.key.Targets, evals.JudgeKeyTarget{Provider: ts.Provider, Model: ts.Model, Params: ts.Params})
	}
	j.key.Threshold = cm.threshold
	for _, ch := range j.choices {
		j.key.Choices = append(j.key.Choices, evals.JudgeChoice{Name: ch.name, Score: ch.score})
	}
	if j.json {
		j.key.Output = "json"
	}
	if c.Extract != nil || len(c.Normalize) > 0 || c.Turn != nil {
		// What the judge sees changes its verdicts as much as its rubric.
		shown, err := json.Marshal(struct {
			Extract   *extractConfig `json:"extract,omitempty"`
			Normalize []string       `json:"normalize,omitempty"`
			Turn      *evals.Turn    `json:"turn,omitempty"`
		}{c.Extract, c.Normalize, c.Turn})
		if err != nil {
			return nil, err
		}
		j.key.Shown = shown
	}
	return j, nil
}

// judgeRefs returns the judge targets' references and their fields.
func judgeRefs(c *judgeConfig) ([]json.RawMessage, []string, error) {
	hasOne := len(bytes.TrimSpace(c.Judge)) > 0 && string(bytes.TrimSpace(c.Judge)) != "null"
	switch {
	case hasOne && c.Judges != nil:
		return nil, nil, evals.FieldErrorf("judges", `give either "judge" or "judges", not both`)
	case hasOne:
		return []json.RawMessage{c.Judge}, []string{"judge"}, nil
	case c.Judges == nil:
		return nil, nil, evals.FieldErrorf("judge", `missing: expected "judge" (a target's name or an inline target) or "judges" (a list of them, which vote)`)
	case len(c.Judges) == 0:
		return nil, nil, evals.FieldErrorf("judges", "empty list: expected at least one judge")
	}
	fields := make([]string, len(c.Judges))
	for i := range c.Judges {
		fields[i] = "judges." + strconv.Itoa(i)
	}
	return c.Judges, fields, nil
}

// parseRubric reads rubric, or template and criterion, and choices.
func (j *Judge) parseRubric(c *judgeConfig) error {
	j.choices = defaultChoices
	var src, field string
	switch {
	case c.Rubric != nil && c.Template != nil:
		return evals.FieldErrorf("template", `give either "rubric" (your own) or "template" (a built-in one), not both`)
	case c.Rubric != nil:
		if c.Criterion != nil {
			return evals.FieldErrorf("requirement", `applies only with "template": "closed-qa"; write the requirement into the rubric`)
		}
		if strings.TrimSpace(*c.Rubric) == "" {
			return evals.FieldErrorf("rubric", "empty: expected the grading instructions, with {{ output }} where the response goes")
		}
		src, field = *c.Rubric, "rubric"
	case c.Template != nil:
		b, ok := builtins[*c.Template]
		if !ok {
			return evals.FieldErrorf("template", "unknown template %q: expected %s", *c.Template, builtinNames)
		}
		j.choices = b.choices
		field = "template"
		src = b.text
		switch {
		case b.needsCriterion && (c.Criterion == nil || strings.TrimSpace(*c.Criterion) == ""):
			return evals.FieldErrorf("requirement", "missing: template %q grades the response against it: expected the requirement, such as \"The answer names the capital city\"", *c.Template)
		case b.needsCriterion:
			if _, err := evals.ParseTemplate(*c.Criterion); err != nil {
				return evals.FieldErrorf("requirement", "%v", err)
			}
			src = fmt.Sprintf(b.text, *c.Criterion)
		case c.Criterion != nil:
			return evals.FieldErrorf("requirement", "does not apply to template %q", *c.Template)
		}
	default:
		return evals.FieldErrorf("rubric", `missing: expected "rubric" (grading instructions, a template with {{ output }}) or "template" (%s)`, builtinNames)
	}
	t, err := evals.ParseTemplate(src)
	if err != nil {
		return evals.FieldErrorf(field, "%v", err)
	}
	j.key.Rubric = src
	if field == "rubric" && !slices.Contains(t.Vars(), "output") {
		return evals.FieldErrorf("rubric", "never shows the judge the response: expected {{ output }} in it")
	}
	j.rubric = t
	j.ownTranscript = slices.Contains(t.Vars(), "transcript")
	if len(bytes.TrimSpace(c.Choices)) > 0 {
		chosen, err := parseChoices(c.Choices)
		if err != nil {
			return err
		}
		if c.Template != nil {
			if err := sameChoices(*c.Template, j.choices, chosen); err != nil {
				return err
			}
		}
		j.choices = chosen
	}
	return nil
}

// parseChoices reads the choices object, keeping its order.
func parseChoices(raw json.RawMessage) ([]choice, error) {
	const example = `{"Y": 1, "N": 0}`
	if evals.JSONKind(raw) != "an object" {
		return nil, evals.FieldErrorf("choices", "expected an object mapping each verdict to its score, such as %s, got %s", example, evals.JSONKind(raw))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.Token() // {
	var out []choice
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, evals.FieldErrorf("choices", "%v", err)
		}
		name, _ := tok.(string)
		field := "choices." + name
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, evals.FieldErrorf(field, "%v", err)
		}
		var score float64
		if json.Unmarshal(v, &score) != nil {
			return nil, evals.FieldErrorf(field, "expected a score from 0 to 1, got %s", evals.JSONKind(v))
		}
		switch {
		case !(score >= 0 && score <= 1):
			return nil, evals.FieldErrorf(field, "expected a score from 0 to 1, got %v", score)
		case strings.TrimSpace(name) == "":
			return nil, evals.FieldErrorf("choices", "empty verdict name: expected a word such as Y, N or A")
		case strings.TrimSpace(name) != name || strings.ContainsAny(name, "\r\n\v\f\u0085\u2028\u2029"):
			return nil, evals.FieldErrorf(field, "verdict %q has white space at an end or a line break: expected a word such as Y, N or A", name)
		}
		for _, c := range out {
			if c.name == name {
				return nil, evals.FieldErrorf(field, "verdict %q is given twice", name)
			}
		}
		out = append(out, choice{name, score})
	}
	if len(out) < 2 {
		return nil, evals.FieldErrorf("choices", "%d choice(s): expected at least two, such as %s", len(out), example)
	}
	return out, nil
}

// sameChoices checks that the choices given for a built-in template are the
// template's own, and so described in its rubric.
func sameChoices(template string, want, got []choice) error {
	ok := len(want) == len(got)
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g.name == w.name
		}
		ok = ok && found
	}
	if !ok {
		return evals.FieldErrorf("choices", "template %q has the choices %s, which its rubric describes: expected scores for exactly those", template, choiceList(want))
	}
	return nil
}

// judgeScope is a case's scope plus {{ input }}, the prompt that was sent.
type judgeScope struct {
	evals.CaseScope
	msgs []evals.Message
}

func (s judgeScope) Lookup(name string) (any, bool) {
	if name == "input" {
		return inputText(s.msgs), true
	}
	return s.CaseScope.Lookup(name)
}

// vote is one judge's answer.
type vote struct {
	rec       evals.JudgeVote
	choice    *choice // nil when there is no verdict; rec.Error says why
	reasoning string
}

// Score implements evals.Scorer.
func (j *Judge) Score(ctx context.Context, in *evals.Input) evals.Verdict {
	if in == nil {
		return noInput
	}
	s, why, ok := j.subject(in.Output)
	if !ok {
		return j.verdict(0, why)
	}
	prompt, err := j.prompt(in, s)
	if err != nil {
		return unscored("rubric: " + err.Error())
	}
	c := in.Case
	if c == nil {
		c = &noCase
	}
	msgs := []evals.Message{{Role: "system", Content: j.system}, {Role: "user", Content: prompt}}
	votes := make([]vote, len(j.judges))
	if len(j.judges) == 1 {
		votes[0] = j.ask(ctx, j.judges[0], c.ID, in.Repeat, msgs)
	} else {
		var wg sync.WaitGroup
		for i, jt := range j.judges {
			wg.Go(func() { votes[i] = j.ask(ctx, jt, c.ID, in.Repeat, msgs) })
		}
		wg.Wait()
	}
	return j.decide(votes)
}

var _ evals.Caller = (*Judge)(nil)

// Calls implements evals.Caller: the prompt Score sends each judge for in,
// its rubric rendered with the response as the criterion sees it (after
// extract and normalize; the output as it is when extract finds nothing in
// it, as it does not in the empty output of a dry run).
func (j *Judge) Calls(in *evals.Input) ([]evals.Call, error) {
	s, _, ok := j.subject(in.Output)
	if !ok {
		s = in.Output
	}
	prompt, err := j.prompt(in, s)
	if err != nil {
		return nil, fmt.Errorf("rubric: %w", err)
	}
	msgs := []evals.Message{{Role: "system", Content: j.system}, {Role: "user", Content: prompt}}
	calls := make([]evals.Call, len(j.judges))
	for i, jt := range j.judges {
		calls[i] = evals.Call{Target: jt.name, Messages: msgs}
	}
	return calls, nil
}

// prompt renders the rubric for in, with subject as {{ output }} and every
// value quoted. For a conversation, unless the rubric places {{ transcript }}
// itself or the output is the transcript already (turn "transcript"), the
// whole transcript comes first, quoted too, so that the judge sees what the
// answer followed from: the tool calls and their results.
func (j *Judge) prompt(in *evals.Input, subject string) (string, error) {
	scope := caseScope(in)
	scope.Output = subject
	js := judgeScope{CaseScope: scope, msgs: in.Messages}
	text, err := j.rubric.RenderQuoted(js, writeBlock)
	if err != nil || in.Transcript == nil || j.ownTranscript {
		return text, err
	}
	// The output already is the transcript with turn "transcript".
	transcript := evals.TranscriptJSON(in.Transcript)
	if transcript == in.Output {
		return text, nil
	}
	var b strings.Builder
	b.Grow(len(transcriptIntro) + len(transcript) + len(text) + 64)
	b.WriteString(transcriptIntro)
	writeBlock(&b, "transcript", transcript)
	b.WriteByte('\n')
	b.WriteString(text)
	return b.String(), nil
}

// transcriptIntro opens the prompt of a judge of a conversation whose rubric
// does not place the transcript, before the transcript's block.
const transcriptIntro = "The whole conversation, as JSON: every message in order, with the model's tool calls and the tools' results.\n"

// ask sends the prompt to one judge and reads its verdict.
func (j *Judge) ask(ctx context.Context, jt *judgeTarget, caseID string, repeat int, msgs []evals.Message) vote {
	v := vote{rec: evals.JudgeVote{Target: jt.name, Model: jt.model, Temperature: jt.temperature, Seed: jt.seed}}
	resp, err := jt.p.Complete(ctx, &evals.Request{Target: jt.name, CaseID: caseID, Repeat: repeat, Messages: msgs, Params: jt.params})
	if err != nil {
		v.rec.Error = callError(err)
		return v
	}
	v.rec.Cached = resp.Cached
	if resp.Usage != (evals.Usage{}) {
		u := resp.Usage
		v.rec.Usage = &u
	}
	if c, ok := jt.spec.ResponseCost(resp); ok {
		v.rec.Cost, v.rec.Currency = &c, jt.spec.Price.Currency
		if v.rec.Currency == "" {
			v.rec.Currency = "USD"
		}
	}
	var why string
	if j.json {
		v.choice, v.reasoning, why = parseJSON(resp.Text, j.choices)
	} else {
		v.choice, v.reasoning, why = parseText(resp.Text, j.choices)
	}
	if v.choice == nil {
		if strings.TrimSpace(resp.Text) != "" {
			why += "; the judge said: " + strconv.Quote(clipText(resp.Text, maxRaw))
		}
		v.rec.Error = why
		return v
	}
	v.rec.Verdict = v.choice.name
	return v
}

// callError describes a failed call of a target: its kind, HTTP status and
// message, as a result's error would record them.
func callError(err error) string {
	re := evals.AsResultError(err)
	if re.Status != 0 {
		return re.Kind + " " + strconv.Itoa(re.Status) + ": " + re.Message
	}
	return re.Kind + ": " + re.Message
}

// maxReason caps a judge's reason, in runes.
const maxReason = 1000

// decide turns the votes into a verdict: the one judge's, or the choice with
// the most votes when a majority of the judges gave one; a tie for the most
// votes is unscored.
func (j *Judge) decide(votes []vote) evals.Verdict {
	rec := &evals.Judgement{Votes: make([]evals.JudgeVote, len(votes))}
	for i, v := range votes {
		rec.Votes[i] = v.rec
	}
	if len(votes) == 1 {
		v := votes[0]
		if v.choice == nil {
			out := unscored(clipText(fmt.Sprintf("judge %s: %s", v.rec.Target, v.rec.Error), maxReason))
			out.Judge = rec
			return out
		}
		rec.Verdict = v.choice.name
		out := j.verdict(v.choice.score, reasonOf(v.choice.name, v.reasoning))
		out.Judge = rec
		return out
	}
	counts := make([]int, len(j.choices))
	valid := 0
	var failed []string
	for _, v := range votes {
		if v.choice == nil {
			failed = append(failed, fmt.Sprintf("judge %s: %s", v.rec.Target, v.rec.Error))
			continue
		}
		valid++
		for i := range j.choices {
			if v.choice == &j.choices[i] {
				counts[i]++
			}
		}
	}
	if 2*valid <= len(votes) {
		out := unscored(clipText(fmt.Sprintf("%d of %d judges gave a verdict, not a majority: %s", valid, len(votes), strings.Join(failed, "; ")), maxReason))
		out.Judge = rec
		return out
	}
	best, tied := 0, false
	for i, n := range counts {
		switch {
		case n > counts[best]:
			best, tied = i, false
		case i != best && n == counts[best]:
			tied = true
		}
	}
	var tally []string
	for i, n := range counts {
		if n > 0 {
			tally = append(tally, fmt.Sprintf("%s %d", j.choices[i].name, n))
		}
	}
	if tied {
		out := unscored(fmt.Sprintf("the judges are split, with no majority: %s", strings.Join(tally, ", ")))
		out.Judge = rec
		return out
	}
	win := &j.choices[best]
	rec.Verdict = win.name
	reasoning := ""
	for _, v := range votes {
		if v.choice == win {
			reasoning = v.reasoning
			break
		}
	}
	out := j.verdict(win.score, fmt.Sprintf("majority %s (%s of %d judges): %s", win.name, strings.Join(tally, ", "), len(votes), clipText(reasoning, maxReasoning)))
	out.Judge = rec
	return out
}

// reasonOf is a verdict's reason: the choice and the judge's reasoning.
func reasonOf(name, reasoning string) string {
	if reasoning == "" {
		return "verdict " + name
	}
	return "verdict " + name + ": " + clipText(reasoning, maxReasoning)
}
