package runner

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/rubric-eval/rubric/evals"
	"github.com/rubric-eval/rubric/evals/evalstest"
)

// secretsSeen records the SecretEnv of every input it scores.
type secretsSeen struct {
	mu   sync.Mutex
	seen map[string][]string // by target
}

func (s *secretsSeen) Score(_ context.Context, in *evals.Input) evals.Verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[in.Target.Name] = in.SecretEnv
	return evals.Verdict{Score: 1, Pass: true}
}

// TestRunPassesSecretEnv checks that criteria learn which variables hold
// the secrets of the target that answered, so that an exec criterion's
// process does not inherit them.
func TestRunPassesSecretEnv(t *testing.T) {
	keyed := target("keyed", &evalstest.Provider{Respond: echo}, 2)
	keyed.SecretEnv = []string{"MODEL_KEY"}
	sc := &secretsSeen{seen: map[string][]string{}}
	_, err := Run(context.Background(), Options{
		RunID: "r", Suite: testSuite(t),
		Targets:  []Target{keyed, target("plain", &evalstest.Provider{Respond: echo}, 2)},
		Criteria: []Criterion{crit("seen", sc)},
		Open:     func() (CaseSource, error) { return &cases{list: makeCases(3)}, nil },
		Sink:     &memSink{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sc.seen["keyed"], []string{"MODEL_KEY"}) || sc.seen["plain"] != nil {
		t.Errorf("SecretEnv seen %q, want MODEL_KEY for keyed and none for plain", sc.seen)
	}
}
