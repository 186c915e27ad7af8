package evals

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Render fills the suite's message templates for a case: the prompt sent
// for it. It is the one place a prompt is rendered, for a run, for the
// dataset check before it and for rescoring a log. A variable the case does
// not define is an error naming the message and the variables it has.
func (s *Suite) Render(c *Case) ([]Message, error) {
	msgs := make([]Message, len(s.Messages))
	scope := CaseScope{Case: c}
	for i, m := range s.Messages {
		text, err := s.Templates[i].Render(scope)
		if err != nil {
			var mv *MissingVarError
			if errors.As(err, &mv) {
				return nil, fmt.Errorf("messages[%d] uses {{%s}}, which the case does not define (it has: %s)", i, mv.Path, varNames(c))
			}
			return nil, fmt.Errorf("messages[%d]: %w", i, err)
		}
		msgs[i] = Message{Role: m.Role, Content: text}
	}
	return msgs, nil
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
