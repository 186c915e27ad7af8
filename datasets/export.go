package datasets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rubric-eval/rubric/evals"
)

// Training-data export formats.
const (
	// ExportChat is OpenAI's chat fine-tuning JSONL: {"messages": [...]},
	// the prompt followed by the reference answer as the assistant turn.
	ExportChat = "chat"
	// ExportPreferenceOpenAI is OpenAI's preference (DPO) fine-tuning JSONL:
	// {"input": {"messages"}, "preferred_output", "non_preferred_output"}.
	ExportPreferenceOpenAI = "preference-openai"
	// ExportPreferenceTRL is the conversational preference layout of TRL's
	// DPOTrainer: {"prompt", "chosen", "rejected"}, each a list of messages.
	ExportPreferenceTRL = "preference-trl"
	// ExportReviewCSV and ExportReviewJSONL are review sheets: the prompt,
	// the response, the expected answer, each criterion's score and reason,
	// and empty verdict, corrected and comment columns for a reviewer.
	ExportReviewCSV   = "review-csv"
	ExportReviewJSONL = "review-jsonl"
)

// ExportFormats lists the formats.
var ExportFormats = []string{ExportChat, ExportPreferenceOpenAI, ExportPreferenceTRL, ExportReviewCSV, ExportReviewJSONL}

// IsPreference reports whether format is made of preference pairs.
func IsPreference(format string) bool {
	return format == ExportPreferenceOpenAI || format == ExportPreferenceTRL
}

// IsReview reports whether format is a review sheet.
func IsReview(format string) bool {
	return format == ExportReviewCSV || format == ExportReviewJSONL
}

// Example is one selected result, with what the formats need of it.
type Example struct {
	// Prompt is the prompt as it was sent. For a conversation, it is the
	// conversation before the answer: earlier assistant messages with
	// their tool calls, tool messages and user turns.
	Prompt []evals.Message
	// Tools are the functions the prompt offered the model, without their
	// mocks; nil when it offered none.
	Tools []evals.Tool
	// Chosen is the answer to learn: the assistant turn of chat data, the
	// preferred output of a pair; ChosenCalls are its tool calls, when the
	// answer calls tools.
	Chosen      string
	ChosenCalls []evals.ToolCall
	// Rejected is the non-preferred output of a pair, with its tool calls.
	Rejected      string
	RejectedCalls []evals.ToolCall

	// The result, for review sheets.
	CaseID   string
	Target   string
	Repeat   int
	Status   evals.Status
	Score    *float64
	Response string
	Expected any
	Scores   []evals.Score
	Vars     map[string]any
	Tags     []string
	Metadata map[string]any
	// Verdict, Corrected and Comment are a reviewer's, when the result was
	// reviewed in rubric view; review sheets fill their columns with them.
	Verdict   string
	Corrected string
	Comment   string
}

// Invalid is an example that a format cannot hold, and why; nothing was
// written for it. Reason is general, for counting examples skipped alike.
type Invalid struct {
	Reason string
}

func (e *Invalid) Error() string { return e.Reason }

func invalid(format string, args ...any) *Invalid {
	return &Invalid{Reason: fmt.Sprintf(format, args...)}
}

// ExportWriter writes examples in one format. Every line is encoded, then
// read back and checked against the format's rules (CheckLine) before it is
// written, so a file it wrote is valid line by line.
type ExportWriter struct {
	format   string
	w        *bufio.Writer
	criteria []string // review sheets: the criteria columns, in order
	buf      bytes.Buffer
	enc      *json.Encoder
	csvw     *csv.Writer
	header   []string
	lines    int
}

// NewExportWriter starts writing format to w. A review sheet has a score and
// a reason column for each criterion named; a CSV sheet's header is written
// at once.
func NewExportWriter(w io.Writer, format string, criteria []string) (*ExportWriter, error) {
	if !slices.Contains(ExportFormats, format) {
		return nil, fmt.Errorf("unknown format %q: expected one of %s", format, strings.Join(ExportFormats, ", "))
	}
	x := &ExportWriter{format: format, w: bufio.NewWriterSize(w, 64<<10), criteria: criteria}
	x.enc = json.NewEncoder(&x.buf)
	x.enc.SetEscapeHTML(false)
	if format == ExportReviewCSV {
		x.header = ReviewColumns(criteria)
		x.csvw = csv.NewWriter(&x.buf)
		if err := x.writeCSV(x.header); err != nil {
			return nil, err
		}
		if _, err := x.w.Write(x.buf.Bytes()); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// Lines is the number of examples written.
func (x *ExportWriter) Lines() int { return x.lines }

// Write writes one example. It returns an *Invalid error, and writes
// nothing, when the example breaks the format's rules.
func (x *ExportWriter) Write(e *Example) error {
	x.buf.Reset()
	var err error
	switch x.format {
	case ExportChat:
		err = x.chat(e)
	case ExportPreferenceOpenAI, ExportPreferenceTRL:
		err = x.preference(e)
	case ExportReviewJSONL:
		err = x.enc.Encode(reviewJSON(e))
	case ExportReviewCSV:
		err = x.writeCSV(x.reviewRecord(e))
	}
	if err != nil {
		return err
	}
	if err := CheckLine(x.format, x.buf.Bytes(), x.header); err != nil {
		return err
	}
	x.lines++
	_, err = x.w.Write(x.buf.Bytes())
	return err
}

// Flush writes what is buffered.
func (x *ExportWriter) Flush() error { return x.w.Flush() }

// chatMessage is a message as the training formats write it. Weight 0 on an
// assistant message of the prompt keeps a few-shot example, or an earlier
// turn of a conversation, out of training. An assistant message may call
// tools (ToolCalls, its content then possibly empty), and a tool message
// answers one call (ToolCallID; Name in TRL's layout).
type chatMessage struct {
	Role       string         `json:"role"`
	Content    string         `json:"content,omitempty"`
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
	Name       string         `json:"name,omitempty"`
	Weight     *int           `json:"weight,omitempty"`
}

// trainingRoles are the roles OpenAI's fine-tuning formats accept.
var trainingRoles = []string{"system", "user", "assistant", "tool"}

// prompt converts a prompt to training messages: developer messages become
// system messages, the roles that training formats do not accept and empty
// messages make the example invalid, and the prompt must end with a user
// message, or, in a conversation, with the tool messages that answer the
// calls of the assistant message before them. With weightAssistant, every
// assistant message gets weight 0.
func prompt(msgs []evals.Message, weightAssistant bool, d dialect) ([]chatMessage, error) {
	if len(msgs) == 0 {
		return nil, invalid("no prompt recorded")
	}
	out := make([]chatMessage, len(msgs))
	tools := false
	for i, m := range msgs {
		role := m.Role
		if role == "developer" {
			role = "system"
		}
		if !slices.Contains(trainingRoles, role) {
			return nil, invalid("prompt has a %s message: expected system, user, assistant and tool messages only", m.Role)
		}
		if strings.TrimSpace(m.Content) == "" && (role != "assistant" || len(m.ToolCalls) == 0) {
			return nil, invalid("prompt has an empty %s message", m.Role)
		}
		out[i] = chatMessage{Role: role, Content: m.Content}
		tools = tools || len(m.ToolCalls) > 0
		switch role {
		case "assistant":
			calls, err := d.calls(m.ToolCalls)
			if err != nil {
				return nil, err
			}
			out[i].ToolCalls = calls
			if weightAssistant {
				zero := 0
				out[i].Weight = &zero
			}
		case "tool":
			out[i].ToolCallID = m.ToolCallID
			if d == dialectTRL {
				out[i].Name = m.Name
			}
		}
	}
	switch last := out[len(out)-1].Role; {
	case last == "user", last == "tool":
	case tools:
		return nil, invalid("prompt does not end with a user or tool message")
	default:
		return nil, invalid("prompt does not end with a user message")
	}
	return out, nil
}

// answer makes the one assistant message of an answer: its text, and its
// tool calls when the answer is a call.
func answer(what, text string, calls []evals.ToolCall, d dialect) ([]chatMessage, error) {
	if strings.TrimSpace(text) == "" && len(calls) == 0 {
		return nil, invalid("empty %s answer", what)
	}
	tc, err := d.calls(calls)
	if err != nil {
		return nil, err
	}
	return []chatMessage{{Role: "assistant", Content: text, ToolCalls: tc}}, nil
}

func (x *ExportWriter) chat(e *Example) error {
	msgs, err := prompt(e.Prompt, true, dialectOpenAI)
	if err != nil {
		return err
	}
	a, err := answer("reference", e.Chosen, e.ChosenCalls, dialectOpenAI)
	if err != nil {
		return err
	}
	return x.enc.Encode(chatExample{Messages: append(msgs, a...), Tools: chatTools(e.Tools)})
}

// chatExample is a line of chat fine-tuning data.
type chatExample struct {
	Messages []chatMessage `json:"messages"`
	Tools    []chatTool    `json:"tools,omitempty"`
}

func (x *ExportWriter) preference(e *Example) error {
	d := dialectOpenAI
	if x.format == ExportPreferenceTRL {
		d = dialectTRL
	}
	msgs, err := prompt(e.Prompt, false, d)
	if err != nil {
		return err
	}
	chosen, err := answer("chosen", e.Chosen, e.ChosenCalls, d)
	if err != nil {
		return err
	}
	rejected, err := answer("rejected", e.Rejected, e.RejectedCalls, d)
	if err != nil {
		return err
	}
	if sameAnswer(chosen[0], rejected[0]) {
		return invalid("chosen and rejected answers are the same")
	}
	if x.format == ExportPreferenceOpenAI {
		return x.enc.Encode(openAIPreference{
			Input:              openAIInput{Messages: msgs, Tools: chatTools(e.Tools)},
			PreferredOutput:    chosen,
			NonPreferredOutput: rejected,
		})
	}
	return x.enc.Encode(trlPreference{Prompt: msgs, Chosen: chosen, Rejected: rejected, Tools: chatTools(e.Tools)})
}

type openAIPreference struct {
	Input              openAIInput   `json:"input"`
	PreferredOutput    []chatMessage `json:"preferred_output"`
	NonPreferredOutput []chatMessage `json:"non_preferred_output"`
}

type openAIInput struct {
	Messages []chatMessage `json:"messages"`
	Tools    []chatTool    `json:"tools,omitempty"`
}

type trlPreference struct {
	Prompt   []chatMessage `json:"prompt"`
	Chosen   []chatMessage `json:"chosen"`
	Rejected []chatMessage `json:"rejected"`
	Tools    []chatTool    `json:"tools,omitempty"`
}

// ReviewRow is one row of a review sheet in JSONL, as exported and as read
// back.
type ReviewRow struct {
	CaseID   string          `json:"case_id"`
	Target   string          `json:"target"`
	Repeat   int             `json:"repeat"`
	Status   evals.Status    `json:"status"`
	Score    *float64        `json:"score"`
	Prompt   []evals.Message `json:"prompt"`
	Response string          `json:"response"`
	Expected any             `json:"expected"`
	Scores   []ReviewScore   `json:"scores"`
	Vars     map[string]any  `json:"vars,omitempty"`
	Tags     []string        `json:"tags,omitempty"`
	Metadata map[string]any  `json:"metadata,omitempty"`
	// The reviewer's columns: the verdict (accept, reject, skip or empty),
	// the corrected answer (text, or any JSON value), a comment.
	Verdict   string `json:"verdict"`
	Corrected any    `json:"corrected"`
	Comment   string `json:"comment"`
}

// ReviewScore is one criterion's verdict in a review sheet.
type ReviewScore struct {
	Name     string   `json:"name"`
	Score    *float64 `json:"score"` // null when unscored
	Pass     bool     `json:"pass"`
	Unscored bool     `json:"unscored,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

func reviewJSON(e *Example) *ReviewRow {
	r := &ReviewRow{
		CaseID: e.CaseID, Target: e.Target, Repeat: e.Repeat, Status: e.Status, Score: e.Score,
		Prompt: e.Prompt, Response: e.Response, Expected: e.Expected, Scores: []ReviewScore{},
		Vars: e.Vars, Tags: e.Tags, Metadata: e.Metadata, Verdict: e.Verdict, Corrected: "", Comment: e.Comment,
	}
	if v := correctedText(e.Corrected); v != nil {
		r.Corrected = v // a JSON object or array as that value, as import-review reads a CSV cell
	}
	for _, s := range e.Scores {
		rs := ReviewScore{Name: s.Name, Pass: s.Pass, Unscored: s.Unscored, Reason: s.Reason}
		if !s.Unscored {
			rs.Score = &s.Score
		}
		r.Scores = append(r.Scores, rs)
	}
	return r
}

// Review sheet columns, besides one score and one reason column per
// criterion (NAME.score, NAME.reason) between expected and vars.
const (
	ColCaseID    = "case_id"
	ColTarget    = "target"
	ColRepeat    = "repeat"
	ColStatus    = "status"
	ColScore     = "score"
	ColPrompt    = "prompt"
	ColResponse  = "response"
	ColExpected  = "expected"
	ColVars      = "vars"
	ColTags      = "tags"
	ColMetadata  = "metadata"
	ColVerdict   = "verdict"
	ColCorrected = "corrected"
	ColComment   = "comment"
)

// ReviewColumns returns the header of a CSV review sheet.
func ReviewColumns(criteria []string) []string {
	cols := []string{ColCaseID, ColTarget, ColRepeat, ColStatus, ColScore, ColPrompt, ColResponse, ColExpected}
	for _, c := range criteria {
		cols = append(cols, c+".score", c+".reason")
	}
	return append(cols, ColVars, ColTags, ColMetadata, ColVerdict, ColCorrected, ColComment)
}

func (x *ExportWriter) reviewRecord(e *Example) []string {
	rec := []string{e.CaseID, e.Target, strconv.Itoa(e.Repeat), string(e.Status), formatScore(e.Score),
		PromptText(e.Prompt), noFormula(e.Response), CellText(e.Expected)}
	for _, name := range x.criteria {
		score, reason := "", ""
		for _, s := range e.Scores {
			if s.Name != name {
				continue
			}
			if s.Unscored {
				reason = "unscored: " + s.Reason
			} else {
				score, reason = formatScore(&s.Score), noFormula(s.Reason)
			}
		}
		rec = append(rec, score, reason)
	}
	var vars, md string
	if e.Vars != nil {
		vars = CellText(e.Vars)
	}
	if e.Metadata != nil {
		md = CellText(e.Metadata)
	}
	// The corrected answer is written as the reviewer typed it, so that
	// import-review reads it back unchanged.
	return append(rec, vars, strings.Join(e.Tags, ";"), md, e.Verdict, e.Corrected, noFormula(e.Comment))
}

func (x *ExportWriter) writeCSV(rec []string) error {
	if err := x.csvw.Write(rec); err != nil {
		return err
	}
	x.csvw.Flush()
	return x.csvw.Error()
}

// noFormula keeps a spreadsheet from running a model's output as a formula:
// a cell that starts with =, +, -, @, a tab or a carriage return gets a
// leading apostrophe, which spreadsheets show as text and hide. Only the
// columns that are not imported back (response, reasons) are changed.
func noFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func formatScore(s *float64) string {
	if s == nil {
		return ""
	}
	return strconv.FormatFloat(*s, 'f', -1, 64)
}

// PromptText writes a prompt for a person to read in one cell: each message
// as "[role]" on a line of its own, then its content, with a blank line
// between messages. In a conversation, an assistant message's tool calls
// follow its content, one a line, as → NAME(ARGUMENTS) (AnswerText), and a
// tool message is headed "[tool NAME]", or "[tool NAME: error]" when it
// reports a tool error.
func PromptText(msgs []evals.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		switch {
		case m.Role == evals.RoleTool && m.Error != "":
			b.WriteString("[tool " + m.Name + ": error]\n")
		case m.Role == evals.RoleTool:
			b.WriteString("[tool " + m.Name + "]\n")
		default:
			b.WriteString("[" + m.Role + "]\n")
		}
		b.WriteString(AnswerText(m))
	}
	return b.String()
}

// CellText writes a value in a CSV cell: a string as it is, nothing for
// null, anything else as compact JSON.
func CellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// CheckLine checks one line (one CSV record for review-csv, whose header is
// given) against the format's rules: valid JSON of the format's layout with
// no other fields, known roles, non-empty content, a prompt that ends with a
// user message and answers that are one assistant message. It returns an
// *Invalid error saying what is wrong.
func CheckLine(format string, line []byte, header []string) error {
	if format == ExportReviewCSV {
		r := csv.NewReader(bytes.NewReader(line))
		rec, err := r.Read()
		if err != nil {
			return invalid("not a CSV record: %v", err)
		}
		if len(rec) != len(header) {
			return invalid("CSV record has %d fields, expected %d", len(rec), len(header))
		}
		if _, err := r.Read(); err != io.EOF {
			return invalid("more than one CSV record")
		}
		for _, f := range rec {
			if !utf8.ValidString(f) {
				return invalid("CSV field is not valid UTF-8")
			}
		}
		return nil
	}
	if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
		return invalid("not exactly one line")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	switch format {
	case ExportChat:
		var v chatExample
		if err := dec.Decode(&v); err != nil {
			return invalid("not valid JSON of the chat layout: %v", err)
		}
		n := len(v.Messages)
		if n < 2 {
			return invalid("chat example has %d messages, expected a prompt and an answer", n)
		}
		cc := &callChecker{d: dialectOpenAI}
		if err := checkMessages(v.Messages[:n-1], cc); err != nil {
			return err
		}
		if err := checkAnswer(v.Messages[n-1:], "assistant turn", cc); err != nil {
			return err
		}
		return checkTools(v.Tools)
	case ExportPreferenceOpenAI:
		var v openAIPreference
		if err := dec.Decode(&v); err != nil {
			return invalid("not valid JSON of the OpenAI preference layout: %v", err)
		}
		if err := checkPair(v.Input.Messages, v.PreferredOutput, v.NonPreferredOutput, dialectOpenAI); err != nil {
			return err
		}
		return checkTools(v.Input.Tools)
	case ExportPreferenceTRL:
		var v trlPreference
		if err := dec.Decode(&v); err != nil {
			return invalid("not valid JSON of the TRL preference layout: %v", err)
		}
		if err := checkPair(v.Prompt, v.Chosen, v.Rejected, dialectTRL); err != nil {
			return err
		}
		return checkTools(v.Tools)
	case ExportReviewJSONL:
		var v ReviewRow
		if err := dec.Decode(&v); err != nil {
			return invalid("not valid JSON of a review row: %v", err)
		}
		if v.CaseID == "" || v.Target == "" {
			return invalid("review row without case_id or target")
		}
		if len(v.Prompt) == 0 {
			return invalid("review row without a prompt")
		}
		return nil
	}
	return fmt.Errorf("unknown format %q", format)
}

// checkPair checks a preference pair. The two answers are checked as
// answers to the same prompt: their tool call ids may repeat each other's,
// not the prompt's.
func checkPair(p, chosen, rejected []chatMessage, d dialect) error {
	cc := &callChecker{d: d}
	if err := checkMessages(p, cc); err != nil {
		return err
	}
	prompt := maps.Clone(cc.ids)
	if err := checkAnswer(chosen, "chosen answer", cc); err != nil {
		return err
	}
	if err := checkAnswer(rejected, "rejected answer", &callChecker{d: d, ids: prompt}); err != nil {
		return err
	}
	if sameAnswer(chosen[0], rejected[0]) {
		return invalid("chosen and rejected answers are the same")
	}
	return nil
}

// checkMessages checks a prompt: known roles, non-empty content (an
// assistant message that calls tools may have none), weights only on
// assistant messages, tool calls (cc), tool messages that each answer a call
// of the assistant message before them, every call answered before the
// conversation goes on, and the last message's role: user, or tool in a
// conversation.
func checkMessages(msgs []chatMessage, cc *callChecker) error {
	if len(msgs) == 0 {
		return invalid("empty prompt")
	}
	var open map[string]bool // the calls of the last assistant message not yet answered
	tools := false
	for i, m := range msgs {
		if !slices.Contains(trainingRoles, m.Role) {
			return invalid("message %d has role %q: expected system, user, assistant or tool", i, m.Role)
		}
		if m.Role != "tool" && len(open) > 0 {
			return invalid("message %d (%s) comes before every tool call of the assistant message before it is answered", i, m.Role)
		}
		if strings.TrimSpace(m.Content) == "" && (m.Role != "assistant" || len(m.ToolCalls) == 0) {
			return invalid("message %d (%s) is empty", i, m.Role)
		}
		if m.Weight != nil && (m.Role != "assistant" || *m.Weight < 0 || *m.Weight > 1) {
			return invalid("message %d has weight %d: only assistant messages take a weight, 0 or 1", i, *m.Weight)
		}
		if len(m.ToolCalls) > 0 && m.Role != "assistant" {
			return invalid("message %d (%s) has tool calls: only assistant messages call tools", i, m.Role)
		}
		if (m.ToolCallID != "" || m.Name != "") && m.Role != "tool" {
			return invalid("message %d (%s) has a tool_call_id or a name: only tool messages answer a call", i, m.Role)
		}
		tools = tools || m.Role == "tool" || len(m.ToolCalls) > 0
		switch m.Role {
		case "assistant":
			var err error
			if open, err = cc.check(fmt.Sprintf("message %d", i), m.ToolCalls); err != nil {
				return err
			}
		case "tool":
			if !open[m.ToolCallID] {
				return invalid("message %d (tool) answers no unanswered call of the assistant message before it", i)
			}
			delete(open, m.ToolCallID)
		}
	}
	last := msgs[len(msgs)-1].Role
	switch {
	case last == "user" || last == "tool" && len(open) == 0:
	case last == "tool":
		return invalid("the prompt ends before every tool call of its last assistant message is answered")
	case tools:
		return invalid("the prompt ends with %s message, expected user or tool", withArticle(last))
	default:
		return invalid("the prompt ends with %s message, expected user", withArticle(last))
	}
	return nil
}

// withArticle puts "a" or "an" before a role.
func withArticle(role string) string {
	if role != "" && strings.ContainsRune("aeiou", rune(role[0])) {
		return "an " + role
	}
	return "a " + role
}

// checkAnswer checks an answer: one assistant message, without a weight,
// with text or tool calls (cc).
func checkAnswer(msgs []chatMessage, what string, cc *callChecker) error {
	if len(msgs) != 1 || msgs[0].Role != "assistant" || msgs[0].Weight != nil || msgs[0].ToolCallID != "" || msgs[0].Name != "" {
		return invalid("the %s is not one assistant message", what)
	}
	if strings.TrimSpace(msgs[0].Content) == "" && len(msgs[0].ToolCalls) == 0 {
		return invalid("the %s is empty", what)
	}
	_, err := cc.check("the "+what, msgs[0].ToolCalls)
	return err
}

// Reference returns a case's reference answer: the suite's reference
// template rendered for the case, or else its expected value when that is
// a string. It returns an *Invalid error when there is none.
func Reference(s *evals.Suite, c *evals.Case) (string, error) {
	if s != nil && s.ReferenceTemplate != nil {
		text, err := s.ReferenceTemplate.Render(evals.CaseScope{Case: c})
		var mv *evals.MissingVarError
		switch {
		case errors.As(err, &mv):
			return "", invalid("no reference answer: the suite's reference uses {{ %s }}, which the case does not define", mv.Path)
		case err != nil:
			return "", invalid("no reference answer: %v", err)
		}
		return text, nil
	}
	switch x := c.Expected.(type) {
	case string:
		return x, nil
	case nil:
		return "", invalid("no reference answer: the case has no expected value")
	}
	return "", invalid(`no reference answer: expected is %s, not text (set the suite's "reference")`, kindOf(c.Expected))
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "true or false"
	case float64, json.Number, int:
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}
