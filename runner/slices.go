package runner

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// sliceKey names a slice: "tag" and a tag, or a metadata field and a value.
type sliceKey struct{ key, value string }

// MaxSliceValues caps the slices of one metadata field; further values are
// counted together in the slice "(other)".
const MaxSliceValues = 100

// tagSlice is the slice of a tag: a tag "KEY=VALUE" is the slice KEY=VALUE,
// so that tags such as "lang=de" slice like metadata; any other tag is the
// slice tag=TAG.
func tagSlice(tag string) sliceKey {
	if k, v, ok := strings.Cut(tag, "="); ok && k != "" && v != "" {
		return sliceKey{k, v}
	}
	return sliceKey{"tag", tag}
}

// sliceValue is a metadata value as a slice names it; objects, arrays and
// null make no slice.
func sliceValue(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// slice returns the slice k, made on first use; past MaxSliceValues values
// of one field, the slice "(other)".
func (a *aggregate) slice(k sliceKey) *tally {
	if sa, ok := a.slices[k]; ok {
		return sa
	}
	if a.values[k.key] >= MaxSliceValues {
		k.value = "(other)"
		if sa, ok := a.slices[k]; ok {
			return sa
		}
	}
	a.values[k.key]++
	t := newTally(a.criteria, a.stats)
	a.slices[k] = &t
	return &t
}

// SliceNames are the slices result r is in, named as gates and reports
// name them (evals.SliceSummary.Name): "tag=TAG" for a tag, or the tag
// itself when it is KEY=VALUE, and "FIELD=VALUE" for each metadata field
// of fields that r has; each once. Unlike the report's slices, values are
// not capped at MaxSliceValues.
func SliceNames(r *evals.Result, fields []string) []string {
	var names []string
	add := func(k sliceKey) {
		if n := k.key + "=" + k.value; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, tag := range r.Tags {
		add(tagSlice(tag))
	}
	for _, field := range fields {
		if v, ok := sliceValue(r.Metadata[field]); ok {
			add(sliceKey{field, v})
		}
	}
	return names
}
