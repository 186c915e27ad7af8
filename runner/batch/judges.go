package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/runner/provider"
	"github.com/rubric-eval/rubric/runner/store"
)

// The phase of the judges. A judge criterion whose target batches asks
// its verdicts in batches too, after the answers: a first pass over the
// cases (pass, the pipeline with nothing journaled) scores each response
// with every judge routed to a recorder, which keeps the requests a
// batching judge would send and sends nothing; those neither answered
// by a batch before nor cached are submitted, waited for and collected as
// the answers are; the pipeline then runs for real, each batching judge
// answered from the run's store (provider.Answered). What the pipeline's
// own endpoints answered in the first pass (the live targets' answers,
// the user simulator's turns) is kept in the run's store too and answered
// again from it (keep), so that nothing is sent twice and the results are
// those of a run with live judges.

// errDeferred answers a judge's request in the pass that records them.
var errDeferred = errors.New("the judge's verdict is asked in a batch")

// Judges runs the phase of the judges, when some of judges (the built
// suite's, each a *provider.Switch) batch: see above. pass runs the
// pipeline once over the cases not yet recorded nor pending, with nothing
// journaled, its targets' providers taken from Wrap. Once Judges returns,
// each batching judge answers from the run's store, and the cases of which
// a judge's request went unanswered are Pending (for every target); with
// NoSubmit, those requests are sent live instead. An error is as Answers'.
func (r *Result) Judges(ctx context.Context, judges []*evals.Endpoint, pass func(ctx context.Context) error) error {
	var lanes []*lane
	switches := map[*provider.Switch]*lane{}
	for _, ep := range judges {
		sw, ok := ep.Provider.(*provider.Switch)
		if !ok {
			continue
		}
		switches[sw] = nil
		if api, ok := ep.Batch.(provider.BatchAPI); ok && api != nil {
			l := newLane(ep, api, PhaseJudges)
			switches[sw] = l
			lanes = append(lanes, l)
		}
	}
	if len(lanes) == 0 {
		return nil
	}
	if err := r.open(); err != nil {
		return err
	}
	r.caches(lanes)
	r.kept = true

	// The pass that records the judges' requests; the judges that do not
	// batch are not asked either: their verdicts are asked once, after.
	for sw, l := range switches {
		if l == nil {
			sw.Route(refuse{})
		} else {
			sw.Route(&recorder{l: l, run: r.opts.RunID})
		}
	}
	err := pass(ctx)
	for sw := range switches {
		sw.Route(nil)
	}
	if err != nil {
		return fmt.Errorf("the pass that finds the judges' requests: %w", err)
	}
	// What the pass was answered is on disk before the batches are made.
	if err := r.db.Flush(); err != nil {
		return fmt.Errorf("the run's batch answers: %w", err)
	}
	if err := r.run(ctx, lanes, func(l *lane, rq *request) {
		r.judged[caseRepeat{rq.caseID, rq.repeat}] = true
		for _, o := range rq.also {
			r.judged[o] = true
		}
	}); err != nil || r.Detached {
		return err
	}
	for sw, l := range switches {
		if l != nil {
			sw.Route(provider.Answered(sw.Live(), l.api, r.db, l.ep.Spec))
		}
	}
	return nil
}

// label names a lane in what the run says.
func (l *lane) label() string {
	if l.phase == PhaseJudges {
		return "judge " + l.ep.Spec.Name
	}
	return "target " + l.ep.Spec.Name
}

// judgeID is the custom id of a judge's request: a hash of the run, the
// judge and the request's key (its body and repeat), which is the same
// when the run is resumed, fits every API's pattern, and differs from the
// answers' ("r-").
func judgeID(run, judge string, key [32]byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00judge\x00%s\x00%x", run, judge, key)
	return "j-" + hex.EncodeToString(h.Sum(nil)[:24])
}

// recorder keeps the requests of a batching judge, in the pass that finds
// them, and sends nothing.
type recorder struct {
	l   *lane
	run string
}

func (rc *recorder) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	l := rc.l
	body, recorded, err := l.api.BatchBody(req)
	if err != nil {
		return nil, errDeferred // the real pass fails it as a live call does
	}
	key := provider.BatchKey(l.api, l.ep.Spec, recorded, req.Repeat)
	id := judgeID(rc.run, l.ep.Spec.Name, key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if rq, ok := l.reqs[id]; ok {
		if rq.caseID != req.CaseID || rq.repeat != req.Repeat {
			rq.also = append(rq.also, caseRepeat{req.CaseID, req.Repeat})
		}
		return nil, errDeferred
	}
	l.reqs[id] = &request{id: id, key: key, body: body, caseID: req.CaseID, repeat: req.Repeat}
	l.order = append(l.order, id)
	return nil, errDeferred
}

// refuse answers a judge that does not batch, in the pass that finds the
// requests of those that do.
type refuse struct{}

func (refuse) Complete(context.Context, *evals.Request) (*evals.Response, error) {
	return nil, errDeferred
}

// keep answers a request of the pipeline's own endpoints (a target, the
// user simulator) from the run's store, when a pass before answered it, or
// else sends it and keeps the answer, whole (what was sent, its latency,
// whether the cache answered it), so that the next pass records it as
// this one would have. Its key is a hash of the target and the request,
// apart from the keys of the answers (store.CacheKey).
type keep struct {
	p      evals.Provider
	db     *store.DB
	target string
}

func (k *keep) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return k.p.Complete(ctx, req)
	}
	h := sha256.New()
	fmt.Fprintf(h, "kept\x00%s\x00", k.target)
	h.Write(raw)
	var key [32]byte
	copy(key[:], h.Sum(nil))
	if cr, ok, err := k.db.GetResponse(ctx, key); err == nil && ok {
		var resp evals.Response
		if json.Unmarshal([]byte(cr.Text), &resp) == nil {
			return &resp, nil
		}
	}
	start := time.Now()
	resp, err := k.p.Complete(ctx, req)
	if err != nil {
		return resp, err
	}
	kept := *resp
	if kept.Latency <= 0 && !kept.Cached {
		kept.Latency = time.Since(start)
	}
	if b, err := json.Marshal(&kept); err == nil {
		// What cannot be kept is sent again by the next pass: never a
		// failed run.
		_ = k.db.PutResponse(ctx, key, store.CachedResponse{Text: string(b)})
	}
	return resp, nil
}
