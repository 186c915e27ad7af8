// Package export selects results of a run and writes them as training data:
// chat fine-tuning examples, preference pairs and review sheets, through the
// writers of package datasets.
//
// Results are read from the run's results.jsonl twice: once to select them,
// keeping only each selected result's key and place in the file, and once,
// in order, to write them. Memory grows with the number of results
// selected (a few dozen bytes each), never with their size.
package export

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/leak"
	"github.com/rubric-eval/rubric/runner/rundir"
)

// Options say what to export and how.
type Options struct {
	// Results is the run's results.jsonl.
	Results string
	// Suite gives the reference template; nil when the reference is the
	// expected text.
	Suite  *evals.Suite
	Format string
	Select Selection
	// ChosenTarget, when set, makes the chosen answer (the assistant turn of
	// chat data, the preferred output of a pair) the passing answer of this
	// target for the same case, instead of the reference answer.
	ChosenTarget string
	// KeepDuplicates writes every selected result, even when an earlier one
	// had the same prompt.
	KeepDuplicates bool
	Out            io.Writer
	// Manifest, when set, records the prompt of each example written, for
	// the leakage check of rubric run and validate.
	Manifest *leak.Writer
}

// Stats say what an export wrote and what it skipped, and why.
type Stats struct {
	Results  int // results in the run
	Selected int // results the selection kept
	Written  int
	// Skipped counts the selected results not written, by reason.
	Skipped map[string]int
	// Example names the first result skipped for each reason.
	Example map[string]string
}

// Reasons for skipping that are not the format's own.
const (
	SkipDuplicate  = "duplicate prompt (an earlier example has the same messages)"
	SkipNoPrompt   = "no prompt recorded in the request"
	SkipNoResponse = "no response (the result is an error)"
	SkipNotFailed  = "not a failing answer, so no rejected output"
)

// key orders and matches results: case id, target, repeat.
type key struct {
	caseID string
	target string
	repeat int
}

func (k key) String() string {
	return fmt.Sprintf("%s (target %s, repeat %d)", k.caseID, k.target, k.repeat)
}

func compareKeys(a, b key) int {
	return cmp.Or(strings.Compare(a.caseID, b.caseID), strings.Compare(a.target, b.target), cmp.Compare(a.repeat, b.repeat))
}

type entry struct {
	key
	at rundir.Span
}

// Run selects results and writes them in the format, in the order of case
// id, then target, then repeat (byte order of the ids and names). Of results
// with identical prompts (the same rendered messages, role and content) only
// the first written is kept, unless KeepDuplicates. A selected result that
// lacks what the format needs is skipped and counted by reason.
func Run(opts Options) (*Stats, error) {
	st := &Stats{Skipped: map[string]int{}, Example: map[string]string{}}
	sel, err := opts.Select.compile()
	if err != nil {
		return nil, err
	}
	var criteria, targets []string
	var picked []entry
	chosen := map[string][]entry{} // the chosen target's passing results, by case
	_, err = rundir.ScanJournal(opts.Results, func(r *evals.Result, at rundir.Span) error {
		st.Results++
		for _, s := range r.Scores {
			if !slices.Contains(criteria, s.Name) {
				criteria = append(criteria, s.Name)
			}
		}
		if !slices.Contains(targets, r.Target) {
			targets = append(targets, r.Target)
		}
		k := key{r.CaseID, r.Target, r.Repeat}
		if opts.ChosenTarget != "" && r.Target == opts.ChosenTarget && r.Status == evals.StatusPassed {
			chosen[r.CaseID] = append(chosen[r.CaseID], entry{k, at})
		}
		if sel.match(r) {
			picked = append(picked, entry{k, at})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := sel.check(criteria, targets); err != nil {
		return nil, err
	}
	if opts.ChosenTarget != "" && !slices.Contains(targets, opts.ChosenTarget) {
		return nil, fmt.Errorf("--chosen-target %s: the run has no such target: expected one of %s", opts.ChosenTarget, strings.Join(targets, ", "))
	}
	st.Selected = len(picked)
	slices.SortFunc(picked, func(a, b entry) int { return compareKeys(a.key, b.key) })

	w, err := datasets.NewExportWriter(opts.Out, opts.Format, criteria)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(opts.Results)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reviews := map[rundir.ReviewKey]rundir.Review{}
	if datasets.IsReview(opts.Format) {
		// The verdicts given in rubric view, kept in the run folder.
		if reviews, err = rundir.ReadReviews(filepath.Dir(opts.Results)); err != nil {
			return nil, err
		}
	}
	var buf []byte
	seen := map[[sha256.Size]byte]struct{}{}
	for _, e := range picked {
		var r *evals.Result
		r, buf, err = rundir.ReadResultAt(f, e.at, buf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opts.Results, err)
		}
		ex, id, reason, err := build(opts, r, f, chosen, &buf)
		if err != nil {
			return nil, err
		}
		if rv, ok := reviews[rundir.ReviewKey{CaseID: r.CaseID, Target: r.Target, Repeat: r.Repeat}]; ok && ex != nil {
			ex.Verdict, ex.Corrected, ex.Comment = rv.Verdict, rv.Corrected, rv.Comment
		}
		if reason == "" && !opts.KeepDuplicates {
			if _, dup := seen[id]; dup {
				reason = SkipDuplicate
			}
		}
		if reason == "" {
			err := w.Write(ex)
			var inv *datasets.Invalid
			switch {
			case errors.As(err, &inv):
				reason = inv.Reason
			case err != nil:
				return nil, err
			default:
				seen[id] = struct{}{}
				st.Written++
				if opts.Manifest != nil {
					if err := opts.Manifest.Add(ex.Prompt, r.CaseID, r.Target); err != nil {
						return nil, err
					}
				}
				continue
			}
		}
		st.Skipped[reason]++
		if _, ok := st.Example[reason]; !ok {
			st.Example[reason] = e.key.String()
		}
	}
	return st, w.Flush()
}

// build makes the example for a result, or says why it has none.
func build(opts Options, r *evals.Result, f io.ReaderAt, chosen map[string][]entry, buf *[]byte) (ex *datasets.Example, id [sha256.Size]byte, reason string, err error) {
	if len(r.Transcript) > 0 {
		return buildConversation(opts, r, f, chosen, buf)
	}
	msgs, ok, merr := r.Request.Messages()
	switch {
	case merr != nil:
		return nil, id, "request body unreadable: " + merr.Error(), nil
	case !ok:
		return nil, id, SkipNoPrompt, nil
	}
	id = promptID(msgs)
	ex = &datasets.Example{
		Prompt: msgs, CaseID: r.CaseID, Target: r.Target, Repeat: r.Repeat, Status: r.Status, Score: r.Score,
		Response: r.Output, Expected: r.Expected, Scores: r.Scores, Vars: r.Vars, Tags: r.Tags, Metadata: r.Metadata,
	}
	if datasets.IsReview(opts.Format) {
		return ex, id, "", nil
	}
	if datasets.IsPreference(opts.Format) {
		switch r.Status {
		case evals.StatusError:
			return nil, id, SkipNoResponse, nil
		case evals.StatusFailed:
			ex.Rejected = r.Output
		default:
			return nil, id, SkipNotFailed, nil
		}
	}
	if opts.ChosenTarget == "" {
		reason, err := reference(opts, r, ex)
		return ex, id, reason, err
	}
	other, reason, err := chosenResult(opts, r, f, chosen, buf)
	if other == nil {
		return nil, id, reason, err
	}
	ex.Chosen = other.Output
	return ex, id, "", nil
}

// reference makes the case's reference answer ex's chosen answer, or says
// why it has none.
func reference(opts Options, r *evals.Result, ex *datasets.Example) (reason string, err error) {
	c := &evals.Case{ID: r.CaseID, Vars: r.Vars, Expected: r.Expected, Tags: r.Tags, Metadata: r.Metadata}
	ref, err := datasets.Reference(opts.Suite, c)
	var inv *datasets.Invalid
	if errors.As(err, &inv) {
		return inv.Reason, nil
	}
	ex.Chosen = ref
	return "", err
}

// chosenResult reads the passing result of the chosen target for r's case:
// the same repeat when it passed, else the lowest repeat that did. It is nil
// when there is none, with the reason.
func chosenResult(opts Options, r *evals.Result, f io.ReaderAt, chosen map[string][]entry, buf *[]byte) (*evals.Result, string, error) {
	cands := chosen[r.CaseID]
	if len(cands) == 0 {
		return nil, fmt.Sprintf("no passing answer of target %s for the case", opts.ChosenTarget), nil
	}
	best := slices.MinFunc(cands, func(a, b entry) int {
		return cmp.Or(cmp.Compare(boolInt(a.repeat != r.Repeat), boolInt(b.repeat != r.Repeat)), cmp.Compare(a.repeat, b.repeat))
	})
	other, nb, err := rundir.ReadResultAt(f, best.at, *buf)
	*buf = nb
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", opts.Results, err)
	}
	return other, "", nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// promptID identifies a prompt by its messages: role and content of each, in
// order, and in a conversation the tool calls (name and arguments, not the
// ids, which differ from run to run) and the names of the tools answering.
func promptID(msgs []evals.Message) [sha256.Size]byte {
	h := sha256.New()
	field := func(s string) {
		// Lengths first, so that no two different prompts write the same bytes.
		h.Write([]byte(strconv.Itoa(len(s)) + ":"))
		h.Write([]byte(s))
	}
	for _, m := range msgs {
		field(m.Role)
		field(m.Content)
		field(m.Name)
		h.Write([]byte(strconv.Itoa(len(m.ToolCalls)) + ";"))
		for _, c := range m.ToolCalls {
			field(c.Name)
			field(c.ArgumentsText())
		}
	}
	var id [sha256.Size]byte
	h.Sum(id[:0])
	return id
}

// Summary lists what was written and skipped, one reason a line, the most
// frequent first.
func (st *Stats) Summary() []string {
	skipped := 0
	reasons := make([]string, 0, len(st.Skipped))
	for r, n := range st.Skipped {
		skipped += n
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		a, b := reasons[i], reasons[j]
		if st.Skipped[a] != st.Skipped[b] {
			return st.Skipped[a] > st.Skipped[b]
		}
		return a < b
	})
	lines := []string{fmt.Sprintf("%d of %d results selected; %d written, %d skipped", st.Selected, st.Results, st.Written, skipped)}
	for _, r := range reasons {
		lines = append(lines, fmt.Sprintf("  %d skipped: %s (first: %s)", st.Skipped[r], r, st.Example[r]))
	}
	return lines
}
