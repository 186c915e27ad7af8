package criteria

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/rubric-eval/rubric/evals"
)

// child is a criterion written inside another one: the criterion of not and
// json-field, an entry of a group's criteria.
type child struct {
	name   string
	typ    string
	weight float64
	scorer evals.Scorer
}

// Close closes the scorer if it holds resources: a scorer that starts
// processes (exec with protocol "lines") is an io.Closer, and so is every
// criterion that holds others.
func Close(sc evals.Scorer) error {
	if c, ok := sc.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// closeChildren closes the criteria a criterion holds.
func closeChildren(cs ...child) error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, Close(c.scorer))
	}
	return errors.Join(errs...)
}

// childCalls are the calls the criteria held would make for in: every one
// of them, as if each were scored (a group stops at none).
func childCalls(in *evals.Input, cs ...child) ([]evals.Call, error) {
	var calls []evals.Call
	for _, c := range cs {
		if cl, ok := c.scorer.(evals.Caller); ok {
			more, err := cl.Calls(in)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			calls = append(calls, more...)
		}
	}
	return calls, nil
}

// newChild builds the criterion raw, found at field of the criterion named
// parent ("criterion", "criteria.2"). Its name is optional and defaults to
// PARENT/N, N being index. weighted says whether its weight means anything:
// only a weighted group's criteria take one. Errors about its fields come
// back with paths relative to the parent ("criteria.2.value"), so that the
// loader points at the exact place however deep the nesting.
func newChild(parent, field string, index int, raw json.RawMessage, weighted bool, env Env) (child, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return child{}, evals.FieldErrorf(field, "expected a criterion object, got %s", evals.JSONKind(raw))
	}
	var head struct {
		Name   json.RawMessage `json:"name"`
		Weight json.RawMessage `json:"weight"`
		Turn   json.RawMessage `json:"turn"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return child{}, within(field, err)
	}
	name := parent + "/" + strconv.Itoa(index)
	if head.Name == nil {
		raw = withName(raw, name)
	}
	if head.Weight != nil && !weighted {
		return child{}, evals.FieldErrorf(field+".weight", "applies only to the criteria of a weighted group")
	}
	if head.Turn != nil {
		return child{}, evals.FieldErrorf(field+".turn", "applies only to a criterion at the top of the suite's criteria, which picks the turns its criteria see")
	}
	var spec evals.CriterionSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return child{}, within(field, err)
		}
		// A field of the wrong type: the factory says which, exactly.
	}
	spec.Raw = raw
	sc, err := build(Registry(), spec, env.within(field))
	if err != nil {
		return child{}, within(field, err)
	}
	return child{name: spec.Name, typ: spec.Type, weight: spec.WeightOr(), scorer: sc}, nil
}

// newChildren builds the criteria of a group, given as the array raw in field.
func newChildren(parent, field string, raw json.RawMessage, weighted bool, env Env) ([]child, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, evals.FieldErrorf(field, "missing: expected an array of criteria")
	}
	if raw[0] != '[' {
		return nil, evals.FieldErrorf(field, "expected an array of criteria, got %s", evals.JSONKind(raw))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, evals.FieldErrorf(field, "%v", err)
	}
	if len(elems) == 0 {
		return nil, evals.FieldErrorf(field, "empty array: expected at least one criterion")
	}
	children := make([]child, len(elems))
	var errs []error
	for i, e := range elems {
		c, err := newChild(parent, field+"."+strconv.Itoa(i), i, e, weighted, env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		children[i] = c
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return children, nil
}

// withName returns the criterion object raw with a "name" member added first.
func withName(raw json.RawMessage, name string) json.RawMessage {
	q, _ := json.Marshal(name) // a string always marshals
	rest := bytes.TrimSpace(raw[1:])
	out := make([]byte, 0, len(raw)+len(q)+10)
	out = append(out, `{"name":`...)
	out = append(out, q...)
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

// within returns env for a criterion nested at field: a target it resolves is
// located at the nested field, and the errors of resolving it, located
// already, are left alone by within(field, err).
func (e Env) within(field string) Env {
	if resolve := e.Target; resolve != nil {
		e.Target = func(f string, ref json.RawMessage) (*evals.Endpoint, error) {
			ep, err := resolve(field+"."+f, ref)
			if err != nil {
				return nil, &located{err}
			}
			return ep, nil
		}
	}
	return e
}

// located is an error whose position in the suite file is known already.
type located struct{ err error }

func (l *located) Error() string { return l.err.Error() }
func (l *located) Unwrap() error { return l.err }

// within makes the field paths of err, an error from building a criterion
// nested at field, relative to the parent: "value" becomes "criterion.value".
// An error about no field in particular is put on field itself.
func within(field string, err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = within(field, e)
		}
		return errors.Join(out...)
	}
	var l *located
	if errors.As(err, &l) {
		return l
	}
	var fe *evals.FieldError
	if errors.As(err, &fe) {
		return &evals.FieldError{Field: field + "." + fe.Field, Err: fe.Err}
	}
	return &evals.FieldError{Field: field, Err: err}
}
