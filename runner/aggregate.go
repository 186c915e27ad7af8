package runner

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/stats"
)

// aggregate accumulates one target's results. Only the collector goroutine
// touches it, so it needs no lock.
type aggregate struct {
	spec      evals.TargetSpec
	stats     evals.Statistics
	target    tally
	failed    []evals.FailedCase  // see keepFailed
	judges    *evals.JudgeSummary // nil until a criterion calls a judge
	judgeCost stats.Sum           // its Cost, added exactly
	// criteria are the suite's, for the tallies of new slices.
	criteria []Criterion
	// corpus holds, for each criterion whose scorer is an
	// evals.CorpusScorer, its corpus of the target's verdicts; nil for
	// the others.
	corpus []evals.Corpus

	sliceBy map[string]bool // metadata fields the suite slices by
	slices  map[sliceKey]*tally
	values  map[string]int // distinct values seen per slice key
	keys    []sliceKey     // scratch: the slices of the result being added

	conv *evals.ConversationSummary // nil until a result has a transcript

	// leaked and leakedPassed count the results of cases found in
	// training data, and those that passed.
	leaked, leakedPassed int

	repeat  int // repeats per case; > 1 turns on the repeats section
	reduce  string
	open    map[string]*caseRepeats // cases with repeats still to come
	reduced repeatAgg
}

func newAggregate(spec evals.TargetSpec, criteria []Criterion, suite *evals.Suite, st evals.Statistics, repeat int) *aggregate {
	a := &aggregate{
		spec:     spec,
		stats:    st,
		target:   newTally(criteria, st),
		criteria: criteria,
		slices:   map[sliceKey]*tally{},
		values:   map[string]int{},
		repeat:   repeat,
	}
	for i, c := range criteria {
		if cs, ok := c.Scorer.(evals.CorpusScorer); ok {
			if a.corpus == nil {
				a.corpus = make([]evals.Corpus, len(criteria))
			}
			a.corpus[i] = cs.NewCorpus()
		}
	}
	if suite != nil {
		a.reduce = suite.Reduce
		a.sliceBy = map[string]bool{}
		for _, f := range suite.Slices {
			a.sliceBy[f] = true
		}
	}
	if a.reduce == "" {
		a.reduce = evals.ReduceMean
	}
	if repeat > 1 {
		a.open = map[string]*caseRepeats{}
		a.reduced.hist = make([]int, repeat+1)
	}
	return a
}

func (a *aggregate) add(r *evals.Result) {
	a.target.add(r)
	if r.Leaked {
		a.leaked++
		if r.Status == evals.StatusPassed {
			a.leakedPassed++
		}
	}
	if r.Status != evals.StatusPassed {
		a.keepFailed(r)
	}
	a.addCorpus(r.Scores)
	a.addJudges(r.Scores)
	if r.Transcript != nil {
		a.addConversation(r)
	}
	a.keys = a.keys[:0]
	for _, tag := range r.Tags {
		a.keys = append(a.keys, tagSlice(tag))
	}
	for field := range a.sliceBy {
		if v, ok := sliceValue(r.Metadata[field]); ok {
			a.keys = append(a.keys, sliceKey{field, v})
		}
	}
	for i, k := range a.keys {
		if !slices.Contains(a.keys[:i], k) { // a tag "lang=de" and metadata lang "de"
			a.slice(k).add(r)
		}
	}
	if a.open != nil {
		a.addRepeat(r)
	}
}

// addJudges sums the calls of the LLM judges that scored r.
func (a *aggregate) addJudges(scores []evals.Score) {
	for _, sc := range scores {
		if sc.Judge == nil {
			continue
		}
		if a.judges == nil {
			a.judges = &evals.JudgeSummary{}
		}
		j := a.judges
		for _, v := range sc.Judge.Votes {
			j.Calls++
			if v.Cached {
				j.Cached++
			}
			if v.Verdict == "" {
				j.Failed++
			}
			if u := v.Usage; u != nil {
				j.Usage.Add(*u)
			}
			if v.Cost != nil {
				if j.Cost == nil {
					j.Cost, j.Currency = new(float64), v.Currency
				}
				a.judgeCost.Add(*v.Cost)
			}
		}
	}
}

// addConversation counts a result that records a conversation.
func (a *aggregate) addConversation(r *evals.Result) {
	if a.conv == nil {
		a.conv = &evals.ConversationSummary{}
	}
	c := a.conv
	c.Cases++
	c.Steps += r.Steps
	c.ToolCalls += r.ToolCalls
	c.ToolErrors += r.ToolErrors
	switch r.Outcome {
	case evals.OutcomeMaxSteps:
		c.MaxSteps++
	case evals.OutcomeMaxTurns:
		c.MaxTurns++
	}
}

// addCorpus adds the verdicts of the criteria that have a corpus to it;
// a target's only, not a slice's.
func (a *aggregate) addCorpus(scores []evals.Score) {
	for i := range scores {
		if i >= len(a.corpus) {
			break // a resumed run's criteria changed; the suite hash forbids it
		}
		if c := a.corpus[i]; c != nil && !scores[i].Unscored {
			c.Add(&scores[i])
		}
	}
}

// keepFailed keeps the failed cases with the smallest ids, so the list does
// not depend on the order in which requests completed.
func (a *aggregate) keepFailed(r *evals.Result) {
	f := evals.FailedCase{CaseID: r.CaseID, Repeat: r.Repeat, Status: r.Status}
	fs := a.failed
	if len(fs) < evals.MaxFailedCases {
		f.Reason, f.Conversation = why(r), evals.TailOf(r)
		a.failed = append(fs, f)
		return
	}
	worst := 0
	for i := range fs {
		if failedLess(fs[worst], fs[i]) {
			worst = i
		}
	}
	if failedLess(f, fs[worst]) {
		f.Reason, f.Conversation = why(r), evals.TailOf(r)
		fs[worst] = f
	}
}

func failedLess(a, b evals.FailedCase) bool {
	if a.CaseID != b.CaseID {
		return a.CaseID < b.CaseID
	}
	return a.Repeat < b.Repeat
}

// why says in one line why a result did not pass: its error, or each criterion
// that failed or could not score, with its reason.
func why(r *evals.Result) string {
	if r.Error != nil {
		return r.Error.Kind + ": " + r.Error.Message
	}
	var parts []string
	for _, sc := range r.Scores {
		switch {
		case sc.Unscored:
			parts = append(parts, sc.Name+" unscored: "+sc.Reason)
		case !sc.Pass:
			parts = append(parts, sc.Name+": "+sc.Reason)
		}
	}
	return strings.Join(parts, "; ")
}

func (a *aggregate) summary() evals.TargetSummary {
	st := a.stats
	s := evals.TargetSummary{
		Name: a.spec.Name, Provider: a.spec.Provider, Model: a.spec.Model,
		Figures: a.target.figures(a.spec.Price, st, true),
	}
	for i, c := range a.corpus {
		if c != nil {
			c.Report(&s.Criteria[i])
		}
	}
	s.FailedCases = slices.Clone(a.failed)
	slices.SortFunc(s.FailedCases, func(x, y evals.FailedCase) int {
		if failedLess(x, y) {
			return -1
		}
		if failedLess(y, x) {
			return 1
		}
		return 0
	})
	if a.leaked > 0 {
		l := &evals.LeakSummary{Cases: a.leaked, Passed: a.leakedPassed,
			CleanCases: s.Cases - a.leaked, CleanPassed: s.Passed - a.leakedPassed}
		l.PassRate = ratio(l.Passed, l.Cases)
		l.CleanPassRate = ratio(l.CleanPassed, l.CleanCases)
		s.Leaks = l
	}
	if a.conv != nil {
		c := *a.conv
		c.StepsMean = float64(c.Steps) / float64(c.Cases)
		s.Conversations = &c
	}
	if a.judges != nil {
		j := *a.judges
		if j.Cost != nil {
			c := a.judgeCost.Value()
			j.Cost = &c
		}
		s.Judges = &j
	}
	keys := slices.Collect(maps.Keys(a.slices))
	slices.SortFunc(keys, func(x, y sliceKey) int {
		if c := cmp.Compare(x.key, y.key); c != 0 {
			return c
		}
		return cmp.Compare(x.value, y.value)
	})
	for _, k := range keys {
		s.Slices = append(s.Slices, evals.SliceSummary{Key: k.key, Value: k.value, Figures: a.slices[k].figures(a.spec.Price, st, false)})
	}
	if a.open != nil {
		s.Repeats = a.repeatSummary()
	}
	return s
}
