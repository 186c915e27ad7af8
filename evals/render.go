package evals

import (
	"errors"
	"fmt"
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
	Case    *Case
	Err     error
}

func (e *RenderError) Error() string { return fmt.Sprintf("messages[%d]: %v", e.Message, e.Err) }

func (e *RenderError) Unwrap() error { return e.Err }

// Explain says what went wrong in the words of a dataset check: for a
// variable the case does not define, which one and the variables it has.
func (e *RenderError) Explain() string {
	var mv *MissingVarError
	if errors.As(e.Err, &mv) {
		return fmt.Sprintf("messages[%d] uses {{%s}}, which the case does not define (it has: %s)", e.Message, mv.Path, varNames(e.Case))
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
