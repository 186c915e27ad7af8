package export

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
)

// Reasons for skipping a conversation.
const (
	SkipNoAnswer = "no assistant answer in the conversation"
	SkipBadTools = "the request's tools are not function definitions (OpenAI's or Anthropic's)"
	// SkipDiverged: a pair needs one prompt; with a chosen target, it is
	// the conversation the two share, and the answers where they part.
	SkipDiverged = "the chosen target's conversation does not part from this one at an answer"
)

// buildConversation makes the example for a result that is a conversation:
// the prompt is its transcript up to its last assistant message, which is
// the answer (the rejected one of a pair), and the tools are those the
// request offered. With a chosen target, chat data is that target's own
// conversation, and a pair's prompt is what the two conversations share
// before their first different assistant messages, its answers.
func buildConversation(opts Options, r *evals.Result, f io.ReaderAt, chosen map[string][]entry, buf *[]byte) (ex *datasets.Example, id [sha256.Size]byte, reason string, err error) {
	tools, terr := requestTools(r.Request)
	if terr != nil {
		return nil, id, SkipBadTools, nil
	}
	prompt, last := splitAnswer(r.Transcript)
	id = promptID(prompt)
	ex = &datasets.Example{
		Prompt: prompt, Tools: tools, CaseID: r.CaseID, Target: r.Target, Repeat: r.Repeat, Status: r.Status, Score: r.Score,
		Response: r.Output, Expected: r.Expected, Scores: r.Scores, Vars: r.Vars, Tags: r.Tags, Metadata: r.Metadata,
	}
	if last != nil && len(last.ToolCalls) > 0 {
		ex.Response = datasets.AnswerText(*last)
	}
	if datasets.IsReview(opts.Format) {
		return ex, id, "", nil
	}
	pair := datasets.IsPreference(opts.Format)
	if pair {
		switch {
		case r.Status == evals.StatusError:
			return nil, id, SkipNoResponse, nil
		case r.Status != evals.StatusFailed:
			return nil, id, SkipNotFailed, nil
		case last == nil:
			return nil, id, SkipNoAnswer, nil
		}
		ex.Rejected, ex.RejectedCalls = last.Content, last.ToolCalls
	}
	if opts.ChosenTarget == "" {
		reason, err := reference(opts, r, ex)
		return ex, id, reason, err
	}
	other, reason, err := chosenResult(opts, r, f, chosen, buf)
	if other == nil {
		return nil, id, reason, err
	}
	if len(other.Transcript) == 0 { // a single answer for the same case
		ex.Chosen = other.Output
		return ex, id, "", nil
	}
	if !pair {
		oprompt, olast := splitAnswer(other.Transcript)
		otools, terr := requestTools(other.Request)
		switch {
		case terr != nil:
			return nil, id, SkipBadTools, nil
		case olast == nil:
			return nil, id, SkipNoAnswer, nil
		}
		ex.Prompt, ex.Tools, ex.Chosen, ex.ChosenCalls = oprompt, otools, olast.Content, olast.ToolCalls
		return ex, promptID(oprompt), "", nil
	}
	i := parting(r.Transcript, other.Transcript)
	if i == len(r.Transcript) || i == len(other.Transcript) ||
		r.Transcript[i].Role != evals.RoleAssistant || other.Transcript[i].Role != evals.RoleAssistant {
		return nil, id, SkipDiverged, nil
	}
	ex.Prompt = r.Transcript[:i]
	ex.Chosen, ex.ChosenCalls = other.Transcript[i].Content, other.Transcript[i].ToolCalls
	ex.Rejected, ex.RejectedCalls = r.Transcript[i].Content, r.Transcript[i].ToolCalls
	return ex, promptID(ex.Prompt), "", nil
}

// splitAnswer splits a transcript at its last assistant message: the
// messages before it, and it; the whole transcript and nil when no
// assistant message.
func splitAnswer(transcript []evals.Message) ([]evals.Message, *evals.Message) {
	for i := len(transcript) - 1; i >= 0; i-- {
		if transcript[i].Role == evals.RoleAssistant {
			return transcript[:i], &transcript[i]
		}
	}
	return transcript, nil
}

// parting returns the index of the first message in which two transcripts
// differ (call ids aside: each run names its calls), or the length of the
// shorter one.
func parting(a, b []evals.Message) int {
	n := min(len(a), len(b))
	for i := range n {
		if !sameMessage(a[i], b[i]) {
			return i
		}
	}
	return n
}

func sameMessage(a, b evals.Message) bool {
	if a.Role != b.Role || a.Content != b.Content || a.Name != b.Name || len(a.ToolCalls) != len(b.ToolCalls) {
		return false
	}
	for i := range a.ToolCalls {
		if a.ToolCalls[i].Name != b.ToolCalls[i].Name || a.ToolCalls[i].ArgumentsText() != b.ToolCalls[i].ArgumentsText() {
			return false
		}
	}
	return true
}

// requestTools reads the tools of a recorded request body, as OpenAI's
// chat API writes them ({"type": "function", "function": {...}}), or as
// Anthropic's Messages API and OpenAI's Responses API do ({"name",
// "description", "input_schema" or "parameters"}). None when the body has
// no tools.
func requestTools(req *evals.SentRequest) ([]evals.Tool, error) {
	if req == nil || len(req.Body) == 0 {
		return nil, nil
	}
	var body struct {
		Tools []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return nil, err
	}
	tools := make([]evals.Tool, 0, len(body.Tools))
	for i, raw := range body.Tools {
		var t struct {
			Function    *evals.ToolFunction `json:"function"`
			Name        string              `json:"name"`
			Description string              `json:"description"`
			Parameters  json.RawMessage     `json:"parameters"`
			InputSchema json.RawMessage     `json:"input_schema"`
			Strict      *bool               `json:"strict"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("tools[%d]: %w", i, err)
		}
		switch {
		case t.Function != nil && t.Function.Name != "":
			tools = append(tools, evals.Tool{Type: "function", Function: *t.Function})
		case t.Name != "":
			params := t.InputSchema
			if len(params) == 0 {
				params = t.Parameters
			}
			tools = append(tools, evals.Tool{Type: "function", Function: evals.ToolFunction{
				Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict}})
		default:
			return nil, fmt.Errorf("tools[%d]: not a function definition", i)
		}
	}
	if len(tools) == 0 {
		return nil, nil
	}
	return tools, nil
}
