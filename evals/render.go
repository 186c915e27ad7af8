package evals

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Render fills the suite's message templates for a case: the prompt sent
// for it. It is the one place a prompt is rendered, for a run, for the
// dataset check before it and for rescoring a log. Its error is a
// *RenderError.
func (s *Suite) Render(c *Case) ([]Message, error) {
	msgs := make([]Message, len(s.Messages))
	scope := CaseScope{Case: c}
	for i, m := range s.Messages {
		text, err := s.Templates[i].Render(scope)
		if err != nil {
			return nil, &RenderError{Message: i, Case: c, Err: err}
		}
		msgs[i] = Message{Role: m.Role, Content: text}
	}
	return msgs, nil
}

// RenderError is a message template that could not be rendered for a case.
type RenderError struct {
	Message int // the index of the message in the suite
	// Field, when set, names the template instead: "turns[1]",
	// "user_simulator.messages[0]".
	Field string
	Case  *Case
	Err   error
}

func (e *RenderError) Error() string { return fmt.Sprintf("%s: %v", e.where(), e.Err) }

func (e *RenderError) where() string {
	if e.Field != "" {
		return e.Field
	}
	return fmt.Sprintf("messages[%d]", e.Message)
}

func (e *RenderError) Unwrap() error { return e.Err }

// Explain says what went wrong in the words of a dataset check: for a
// variable the case does not define, which one and the variables it has.
func (e *RenderError) Explain() string {
	var mv *MissingVarError
	if errors.As(e.Err, &mv) {
		return fmt.Sprintf("%s uses {{%s}}, which the case does not define (it has: %s)", e.where(), mv.Path, varNames(e.Case))
	}
	return e.Error()
}

// varNames lists a case's variables, sorted, for a message.
func varNames(c *Case) string {
	if len(c.Vars) == 0 {
		return "no variables"
	}
	names := make([]string, 0, len(c.Vars))
	for k := range c.Vars {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// RenderTurn renders the user's message of a case's scripted turn i (its
// turns[i]); its error is a *RenderError.
func (s *Suite) RenderTurn(c *Case, i int) (string, error) {
	field := fmt.Sprintf("turns[%d]", i)
	t, err := ParseTemplate(c.Turns[i])
	if err != nil {
		return "", &RenderError{Field: field, Case: c, Err: err}
	}
	text, err := t.Render(CaseScope{Case: c})
	if err != nil {
		return "", &RenderError{Field: field, Case: c, Err: err}
	}
	return text, nil
}

// RenderSimulator renders the opening of the simulated user's prompt for a
// case; its error is a *RenderError.
func (s *Suite) RenderSimulator(c *Case) ([]Message, error) {
	sim := s.UserSimulator
	msgs := make([]Message, len(sim.Messages))
	for i, m := range sim.Messages {
		text, err := sim.Templates[i].Render(CaseScope{Case: c})
		if err != nil {
			return nil, &RenderError{Field: fmt.Sprintf("user_simulator.messages[%d]", i), Case: c, Err: err}
		}
		msgs[i] = Message{Role: m.Role, Content: text}
	}
	return msgs, nil
}

// CheckConversation checks what a case run as a conversation needs beyond
// its prompt: its turns and the simulated user's prompt render, its tools
// have distinct names, and its mocks name tools it has.
func (s *Suite) CheckConversation(c *Case) error {
	for i := range c.Turns {
		if _, err := s.RenderTurn(c, i); err != nil {
			return err
		}
	}
	if s.UserSimulator != nil {
		if _, err := s.RenderSimulator(c); err != nil {
			return err
		}
	}
	if len(c.Tools) == 0 && len(c.Mocks) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, t := range c.Tools {
		if seen[t.Function.Name] {
			return fmt.Errorf("tools: two tools named %q", t.Function.Name)
		}
		seen[t.Function.Name] = true
	}
	tools := s.CaseTools(c)
	for _, name := range slices.Sorted(maps.Keys(c.Mocks)) {
		if !slices.ContainsFunc(tools, func(t Tool) bool { return t.Function.Name == name }) {
			return fmt.Errorf("mocks.%s: the case has no tool named %q (its tools: %s)", name, name, toolNames(tools))
		}
	}
	return nil
}

// toolNames lists tools by name for a message.
func toolNames(tools []Tool) string {
	if len(tools) == 0 {
		return "none"
	}
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.Function.Name
	}
	return strings.Join(names, ", ")
}
