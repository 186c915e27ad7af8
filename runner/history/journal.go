package history

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tidwall/gjson"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// ScanJournal streams the case index of the results journal at path to
// fn: the Case of each result, in the journal's order; fields are the
// metadata fields the suite slices by. It returns the size of the
// journal's intact part, as rundir.ScanJournal does; a torn last line is
// left out.
func ScanJournal(path string, fields []string, fn func(Case) error) (int64, error) {
	// Each line is read with gjson, which picks the few fields the index
	// needs out of the line without decoding the rest (request, output,
	// transcript): several times faster than encoding/json, which made
	// recording a run cost a fifth of the run.
	var meta []string
	for _, f := range fields {
		meta = append(meta, gjson.Escape(f))
	}
	return rundir.ScanJournalLines(path, func(line []byte, sp rundir.Span) (bool, error) {
		if !gjson.ValidBytes(line) {
			return false, errors.New("not valid JSON")
		}
		c, err := indexLine(line, sp, fields, meta)
		if err != nil {
			return true, fmt.Errorf("%s: the result at byte %d: %w", path, sp.Off, err)
		}
		return true, fn(c)
	})
}

// indexLine is the case index's entry for the result line at sp, read in
// one pass over its top-level fields (the request, the output and the
// transcript are skipped, not decoded); fields are the metadata fields the
// suite slices by, meta their gjson paths within the metadata.
func indexLine(line []byte, sp rundir.Span, fields, meta []string) (Case, error) {
	c := Case{Off: sp.Off, Len: sp.Len}
	res := evals.Result{}
	var scores, metadata gjson.Result
	gjson.ParseBytes(line).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "run_id":
			c.RunID = v.String()
		case "case_id":
			c.CaseID = v.String()
		case "target":
			c.Target = v.String()
		case "repeat":
			c.Repeat = int(v.Int())
		case "status":
			c.Status = v.String()
		case "score":
			if v.Type == gjson.Number {
				score := v.Float()
				c.Score = &score
			}
		case "error":
			c.ErrorKind = v.Get("kind").String()
		case "tags":
			for _, t := range v.Array() {
				res.Tags = append(res.Tags, t.String())
			}
		case "scores":
			scores = v
		case "metadata":
			metadata = v
		}
		return true
	})
	if len(meta) > 0 && metadata.Exists() && metadata.Type != gjson.Null {
		if !metadata.IsObject() {
			return Case{}, fmt.Errorf("metadata: expected an object, got %s", evals.JSONKind([]byte(metadata.Raw)))
		}
		for i, m := range gjson.GetMany(metadata.Raw, meta...) {
			if !m.Exists() {
				continue
			}
			if res.Metadata == nil {
				res.Metadata = map[string]any{}
			}
			res.Metadata[fields[i]] = m.Value()
		}
	}
	c.Slices = runner.SliceNames(&res, fields)
	var bad error
	scores.ForEach(func(_, sc gjson.Result) bool {
		var name string
		named, pass, unscored := false, false, false
		sc.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "name":
				name, named = v.Str, v.Type == gjson.String
			case "pass":
				pass = v.Bool()
			case "unscored":
				unscored = v.Bool()
			}
			return true
		})
		if !named {
			bad = errors.New("a score without a name")
			return false
		}
		if (!pass || unscored) && !slices.Contains(c.Failed, name) {
			c.Failed = append(c.Failed, name)
		}
		return true
	})
	return c, bad
}
