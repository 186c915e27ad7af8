// Package batch sends a run's requests through the batch APIs of the
// targets that set batch: true (docs/batch.md), before the pipeline runs:
// it renders each case not yet recorded nor cached, writes the requests,
// submits them within each API's limits, records the batches in run.json,
// waits for them, polling with backoff, and keeps each answer in the run's
// own store (rundir.BatchFile) and in the response cache, where the
// pipeline then finds it (Wrap), so that the journal and the report are a
// live run's. Requests a batch did not answer are never sent live here:
// Pending names them, and the run ends incomplete until --resume sends them
// again (as a new batch, or live with --no-batch). Nothing answered is
// ever sent again.
package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rubric-eval/rubric/datasets"
	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/provider"
	"github.com/rubric-eval/rubric/runner/rundir"
	"github.com/rubric-eval/rubric/runner/store"
)

// Phases of a run's batches.
const (
	PhaseAnswers = "answers"
	PhaseJudges  = "judges"
)

// Options say what a run's batch phase sends and how.
type Options struct {
	RunID string
	// Dir is the run folder; Manifest its run.json, which records the
	// batches and is written again as each is submitted and collected.
	Dir      string
	Manifest *rundir.Manifest
	Suite    *evals.Suite
	// Targets are the run's endpoints; those whose Batch is set batch.
	Targets []*evals.Endpoint
	// Open opens the run's cases; Repeat is how often each is sent.
	Open   func() (datasets.Reader, error)
	Repeat int
	// Done reports the results recorded already, which are not sent.
	Done func(target, caseID string, repeat int) bool
	// Cache opens the response cache (nil, or a nil database, for none):
	// what it holds is not sent, and what the batches answer goes in it.
	Cache func() *store.DB
	// NoSubmit collects the batches submitted before, but submits no new
	// one: what they did not answer is sent live (--no-batch).
	NoSubmit bool
	// Detach submits, or checks the batches once, and returns without
	// waiting for them to end (--detach).
	Detach bool
	// Poll is the first wait between checks of a batch (it grows by half
	// each time, to MaxPoll); 10s and 5m when zero.
	Poll, MaxPoll time.Duration
	// Progress, when set, shows a line of progress as the batches are
	// waited for (on a terminal); nil shows nothing between checks.
	Progress func(line string)
	// Stderr takes what the phase says: batches submitted and ended.
	Stderr io.Writer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) say(format string, args ...any) {
	if o.Stderr != nil {
		fmt.Fprintf(o.Stderr, "rubric: "+format+"\n", args...)
	}
}

// Result is what the phases left for the pipeline.
type Result struct {
	opts    Options
	db      *store.DB
	shared  *store.DB                    // the response cache, nil for none
	apis    map[string]provider.BatchAPI // by target
	pending map[targetCase]bool
	// judged are the cases of which a
	// judge's batch left a request unanswered: not scored, for any target.
	judged map[caseRepeat]bool
	// kept: the pipeline's own requests are kept in db as they are
	// answered (a judge phase replays them; see keep).
	kept bool
	// Unanswered counts the requests a batch did not answer, which the run
	// does not send; Reasons counts them by why.
	Unanswered int
	Reasons    map[string]int
	// Detached is set when batches were left running (--detach): the run
	// stops here, submitted, its results pending; InFlight counts their
	// requests.
	Detached bool
	InFlight int
}

// Wrap returns the provider of ep, a target or the user simulator, for
// the pipeline: answering from the run's batches first, when ep's target
// batches; and, when the judges batch, from what an earlier pass over the
// cases was answered (keep).
func (r *Result) Wrap(ep *evals.Endpoint) evals.Provider {
	if r == nil || r.db == nil {
		return ep.Provider
	}
	p := ep.Provider
	if sw, ok := p.(*provider.Switch); ok {
		p = sw.Live() // the simulator, which a judge may share
	}
	if r.kept {
		p = &keep{p: p, db: r.db, target: ep.Spec.Name}
	}
	if api, ok := r.apis[ep.Spec.Name]; ok {
		p = provider.Answered(p, api, r.db, ep.Spec)
	}
	return p
}

// Pending reports a request a batch did not answer, of the target's or of
// a judge of the case: the run does not send it, so that --resume can.
func (r *Result) Pending(target, caseID string, repeat int) bool {
	if r == nil || r.Unanswered == 0 {
		return false // every run asks, for every case: most have no batch
	}
	cr := caseRepeat{caseID, repeat}
	return r.pending[targetCase{target, cr}] || r.judged[cr]
}

// Close closes the run's store of answers.
func (r *Result) Close() error {
	if r == nil || r.db == nil {
		return nil
	}
	return r.db.Close()
}

// Problem returns the error a run whose batches left requests unanswered
// ends with, nil when they answered all; resume is the command that
// resumes the run.
func (r *Result) Problem(resume string) error {
	if r == nil || r.Unanswered == 0 {
		return nil
	}
	var why []string
	for _, k := range slices.Sorted(maps.Keys(r.Reasons)) {
		why = append(why, fmt.Sprintf("%d %s", r.Reasons[k], k))
	}
	return fmt.Errorf("%d requests got no answer from their batch (%s) and were not sent; send them again as a new batch with: %s, or live with: %s --no-batch",
		r.Unanswered, strings.Join(why, ", "), resume, resume)
}

// request is one request a target's batch sends.
type request struct {
	id     string // custom id
	key    [32]byte
	body   []byte
	caseID string
	repeat int
	// also are the other cases whose judge sends the same request.
	also []caseRepeat
}

type caseRepeat struct {
	caseID string
	repeat int
}

// targetCase is a request of a target's answers.
type targetCase struct {
	target string
	caseRepeat
}

// lane is one batching target's part of a phase: a target's answers, or a
// judge's verdicts.
type lane struct {
	ep    *evals.Endpoint
	api   provider.BatchAPI
	phase string
	cache *store.DB // the response cache, when the target uses it
	mu    sync.Mutex
	reqs  map[string]*request
	order []string // custom ids, in the order of the cases
	// reasons are why requests got no answer, by custom id.
	reasons   map[string]string
	collected bool // a batch of it was collected by this process
}

// Answers runs the phase of the targets' answers: see the package's doc.
// An error is one of the API, of the run's store, or ctx's end; the
// batches submitted are in run.json by then, and --resume collects them.
func Answers(ctx context.Context, opts Options) (*Result, error) {
	res := &Result{opts: opts, apis: map[string]provider.BatchAPI{}, pending: map[targetCase]bool{}, judged: map[caseRepeat]bool{}, Reasons: map[string]int{}}
	var lanes []*lane
	for _, ep := range opts.Targets {
		api, ok := ep.Batch.(provider.BatchAPI)
		if !ok || api == nil {
			continue
		}
		res.apis[ep.Spec.Name] = api
		lanes = append(lanes, newLane(ep, api, PhaseAnswers))
	}
	if len(lanes) == 0 {
		return res, nil
	}
	if err := res.open(); err != nil {
		return nil, err
	}
	res.caches(lanes)
	if err := requests(ctx, &opts, lanes); err != nil {
		return res, err
	}
	err := res.run(ctx, lanes, func(l *lane, rq *request) {
		res.pending[targetCase{l.ep.Spec.Name, caseRepeat{rq.caseID, rq.repeat}}] = true
	})
	return res, err
}

func newLane(ep *evals.Endpoint, api provider.BatchAPI, phase string) *lane {
	return &lane{ep: ep, api: api, phase: phase, reqs: map[string]*request{}, reasons: map[string]string{}}
}

// open opens the run's store of batch answers, and the response cache.
func (r *Result) open() error {
	if r.db != nil {
		return nil
	}
	db, err := store.Open(filepath.Join(r.opts.Dir, rundir.BatchFile))
	if err != nil {
		return fmt.Errorf("the run's batch answers: %w", err)
	}
	r.db = db
	if r.opts.Cache != nil {
		r.shared = r.opts.Cache()
	}
	return nil
}

// caches gives the lanes whose target uses the response cache the cache.
func (r *Result) caches(lanes []*lane) {
	for _, l := range lanes {
		if l.ep.Spec.CacheOr() {
			l.cache = r.shared
		}
	}
}

// run collects what earlier attempts submitted of the lanes' phase, submits
// what is left, and collects that; pending is told of each request left
// unanswered, unless NoSubmit leaves those to the pipeline to send live.
func (r *Result) run(ctx context.Context, lanes []*lane, pending func(*lane, *request)) error {
	opts := &r.opts
	for round := 0; ; round++ {
		inFlight, err := collect(ctx, opts, r.db, lanes)
		if err != nil {
			return err
		}
		if inFlight > 0 {
			r.Detached, r.InFlight = true, inFlight
			return nil
		}
		if round > 0 || opts.NoSubmit {
			break
		}
		submitted := 0
		for _, l := range lanes {
			if l.collected {
				continue // what it did not answer waits for --resume
			}
			n, err := submit(ctx, opts, l, r.db)
			if err != nil {
				return err
			}
			submitted += n
		}
		if submitted == 0 {
			break
		}
		if opts.Detach {
			r.Detached, r.InFlight = true, submitted
			return nil
		}
	}
	if opts.NoSubmit {
		return nil // the pipeline sends the rest live
	}
	for _, l := range lanes {
		left, err := unanswered(ctx, l, r.db)
		if err != nil {
			return err
		}
		for _, rq := range left {
			pending(l, rq)
			r.Unanswered++
			why := l.reasons[rq.id]
			if why == "" {
				why = "without a line in the results"
			}
			r.Reasons[reasonClass(why)]++
		}
	}
	return nil
}

// reasonClass is the word a reason is counted under: expired, canceled,
// errored, malformed.
func reasonClass(why string) string {
	for _, w := range []string{"expired", "canceled", "errored", "malformed"} {
		if strings.HasPrefix(why, w) {
			return w
		}
	}
	return why
}

// customID is the custom id of a request: a hash of (run, case, target,
// repeat), which fits every API's pattern (^[a-zA-Z0-9_-]{1,64}$) whatever
// the case's id, and is unique within the run.
func customID(run, target, caseID string, repeat int) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d", run, target, caseID, repeat)
	return "r-" + hex.EncodeToString(h.Sum(nil)[:24])
}

// requests renders the cases and keeps, for each batching target, the
// requests neither recorded, nor answered by a batch, nor cached.
// Conversations are not batched: their steps depend on one another.
func requests(ctx context.Context, opts *Options, lanes []*lane) error {
	src, err := opts.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	for n := 0; ; n++ {
		if n%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		c, err := src.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if opts.Suite.Conversational(c) {
			continue
		}
		msgs, err := opts.Suite.Render(c)
		if err != nil {
			continue // recorded as the case's error by the pipeline
		}
		for _, l := range lanes {
			name := l.ep.Spec.Name
			for rep := range max(opts.Repeat, 1) {
				if opts.Done != nil && opts.Done(name, c.ID, rep) {
					continue
				}
				req := evals.CaseRequest(name, c, rep, msgs)
				body, recorded, err := l.api.BatchBody(req)
				if err != nil {
					continue // the pipeline records the case's error
				}
				key := provider.BatchKey(l.api, l.ep.Spec, recorded, rep)
				id := customID(opts.RunID, name, c.ID, rep)
				rq := &request{id: id, key: key, body: body, caseID: c.ID, repeat: rep}
				if _, dup := l.reqs[id]; dup {
					return fmt.Errorf("case %q: its batch request's custom id %s is another's", c.ID, id)
				}
				l.reqs[id] = rq
				l.order = append(l.order, id)
			}
		}
	}
}

// unanswered returns the requests of l that neither the run's batches nor
// the response cache answer.
func unanswered(ctx context.Context, l *lane, db *store.DB) ([]*request, error) {
	var out []*request
	for _, id := range l.order {
		rq := l.reqs[id]
		_, ok, err := db.GetResponse(ctx, rq.key)
		if err != nil {
			return nil, err
		}
		if !ok && l.cache != nil {
			_, ok, _ = l.cache.GetResponse(ctx, rq.key)
		}
		if !ok {
			out = append(out, rq)
		}
	}
	return out, nil
}

// submit sends l's unanswered requests as batches within the API's limits,
// recording each in run.json as soon as it is made; it returns the requests
// submitted.
func submit(ctx context.Context, opts *Options, l *lane, db *store.DB) (int, error) {
	todo, err := unanswered(ctx, l, db)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, part := range split(todo, l.api) {
		items := make([]provider.BatchItem, len(part))
		for i, rq := range part {
			items[i] = provider.BatchItem{CustomID: rq.id, Body: rq.body}
		}
		id, err := l.api.Submit(ctx, items)
		if err != nil {
			return total, fmt.Errorf("%s: %w", l.label(), err)
		}
		opts.Manifest.Batches = append(opts.Manifest.Batches, rundir.Batch{
			ID: id, API: l.api.API(), Target: l.ep.Spec.Name, Phase: l.phase,
			Requests: len(items), Submitted: opts.now().UTC(),
		})
		if err := rundir.WriteManifest(opts.Dir, opts.Manifest); err != nil {
			return total, fmt.Errorf("recording batch %s in %s: %w", id, rundir.ManifestFile, err)
		}
		opts.say("%s: submitted batch %s, %d requests", l.label(), id, len(items))
		total += len(items)
	}
	return total, nil
}

// split parts reqs into batches within api's limits, in order.
func split(reqs []*request, api provider.BatchAPI) [][]*request {
	lim := api.Limits()
	var parts [][]*request
	var cur []*request
	var size int64
	for _, rq := range reqs {
		n := api.Size(provider.BatchItem{CustomID: rq.id, Body: rq.body})
		if len(cur) > 0 && (len(cur) >= lim.Requests || size+n > lim.Bytes) {
			parts = append(parts, cur)
			cur, size = nil, 0
		}
		cur = append(cur, rq)
		size += n
	}
	if len(cur) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

// collect waits for the batches in run.json not yet collected, of the
// lanes (all of one phase), and collects each as it ends; with Detach it
// checks them once. It returns the requests of the batches still running.
func collect(ctx context.Context, opts *Options, db *store.DB, lanes []*lane) (int, error) {
	byName := map[string]*lane{}
	phase := ""
	for _, l := range lanes {
		byName[l.ep.Spec.Name] = l
		phase = l.phase
	}
	wait := opts.Poll
	if wait <= 0 {
		wait = 10 * time.Second
	}
	maxWait := opts.MaxPoll
	if maxWait <= 0 {
		maxWait = 5 * time.Minute
	}
	for {
		inFlight := 0
		var progress []string
		for i := range opts.Manifest.Batches {
			b := &opts.Manifest.Batches[i]
			l := byName[b.Target]
			if b.Collected || b.Phase != phase || l == nil {
				continue
			}
			st, err := l.api.Status(ctx, b.ID)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", l.label(), err)
			}
			b.State = st.State
			if !st.Ended {
				inFlight += b.Requests
				progress = append(progress, fmt.Sprintf("%s %s %d/%d", b.ID, st.State, st.Succeeded+st.Failed, b.Requests))
				continue
			}
			if err := collectOne(ctx, opts, db, l, b, st); err != nil {
				return 0, err
			}
		}
		if inFlight == 0 || opts.Detach {
			if opts.Progress != nil {
				opts.Progress("")
			}
			return inFlight, nil
		}
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf("  batches: %s; next check in %s", strings.Join(progress, ", "), wait.Round(time.Second)))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if opts.Progress != nil {
				opts.Progress("")
			}
			return 0, ctx.Err()
		case <-t.C:
		}
		wait = min(wait*3/2, maxWait)
	}
}

// collectOne reads the results of the ended batch b of l into the run's
// store (and the response cache), then marks it collected in run.json.
func collectOne(ctx context.Context, opts *Options, db *store.DB, l *lane, b *rundir.Batch, st *provider.BatchStatus) error {
	answered, unanswered := 0, 0
	err := l.api.Results(ctx, st, func(a provider.BatchAnswer) error {
		rq := l.reqs[a.CustomID]
		if rq == nil {
			if a.Malformed && a.CustomID == "" {
				unanswered++
			}
			return nil // recorded since, or not this run's
		}
		if a.Response == nil {
			unanswered++
			l.reasons[rq.id] = a.Reason
			return nil
		}
		answered++
		ans := provider.StoredAnswer(a.Response)
		if err := db.PutResponse(ctx, rq.key, ans); err != nil {
			return err
		}
		if l.cache != nil {
			_ = l.cache.PutResponse(ctx, rq.key, ans) // the cache never fails a run
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", l.label(), err)
	}
	// The answers are on disk before run.json says they are collected.
	if err := db.Flush(); err != nil {
		return fmt.Errorf("the run's batch answers: %w", err)
	}
	b.Collected, b.Answered, b.Unanswered = true, answered, max(unanswered, b.Requests-answered)
	l.collected = true
	if err := rundir.WriteManifest(opts.Dir, opts.Manifest); err != nil {
		return err
	}
	msg := fmt.Sprintf("%s: batch %s %s: %d of %d requests answered", l.label(), b.ID, st.State, answered, b.Requests)
	if st.Error != "" {
		msg += ": " + st.Error
	}
	opts.say("%s", msg)
	return nil
}
