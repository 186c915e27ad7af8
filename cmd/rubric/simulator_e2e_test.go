package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rubric-eval/rubric/evals"
)

// TestSimulatedUserE2E runs a suite whose user is played by a target: the
// built binary against one OpenAI-compatible server that answers as the
// agent (model "agent") or as the user (model "sim"), with a persona from
// the case. One user stops with the marker after two messages; one never
// does and meets max_turns.
func TestSimulatedUserE2E(t *testing.T) {
	var mu sync.Mutex
	var simPrompts [][]map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body struct {
			Model    string           `json:"model"`
			Messages []map[string]any `json:"messages"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		last, _ := body.Messages[len(body.Messages)-1]["content"].(string)
		var text string
		switch body.Model {
		case "agent":
			text = "agent heard: " + last
		case "sim":
			mu.Lock()
			simPrompts = append(simPrompts, body.Messages)
			mu.Unlock()
			persona, _ := body.Messages[0]["content"].(string)
			written := 0 // the user's messages so far: the simulator's own, as assistant
			for _, m := range body.Messages {
				if m["role"] == "assistant" {
					written++
				}
			}
			switch {
			case strings.Contains(persona, "patient") && written >= 2:
				text = "Thanks, that is all. [DONE]"
			default:
				text = fmt.Sprintf("user message %d", written+1)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
			"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
		})
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	target := func(name, model string) string {
		return fmt.Sprintf(`{"name": %q, "provider": "openai", "base_url": %q, "model": %q, "retry": {"attempts": 1}}`, name, srv.URL+"/v1", model)
	}
	writeFiles(t, dir, map[string]string{
		"suite.json": `{
  "name": "simulated",
  "messages": [{"role": "system", "content": "Help the customer."}, {"role": "user", "content": "{{ opening }}"}],
  "user_simulator": {"target": ` + target("user", "sim") + `, "max_turns": 3,
    "messages": [{"role": "system", "content": "You are a {{ persona }} customer. End with [DONE] when you are done."}]},
  "dataset": {"cases": [
    {"id": "patient", "opening": "Hello", "persona": "patient"},
    {"id": "endless", "opening": "Hi", "persona": "restless"}
  ]},
  "criteria": [
    {"name": "heard", "type": "starts-with", "value": "agent heard", "turn": "each"}
  ],
  "targets": [` + target("assistant", "agent") + `]
}`,
	})
	r := rubric(t, dir, nil, "run", "suite.json", "--no-cache", "--no-progress", "--out", "runs")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r)
	}
	id := runIDs(t, r.stderr)[0]
	results, _ := runFiles(t, dir, "runs", id)
	var rep evals.Summary
	readJSON(t, filepath.Join(dir, "runs", id, "report.json"), &rep)
	byID := map[string]map[string]any{}
	for _, res := range results {
		byID[res["case_id"].(string)] = res
	}
	users := func(res map[string]any) []string {
		var out []string
		for _, m := range res["transcript"].([]any) {
			if msg := m.(map[string]any); msg["role"] == "user" {
				out = append(out, msg["content"].(string))
			}
		}
		return out
	}
	if got := users(byID["patient"]); strings.Join(got, "|") != "Hello|user message 2" || byID["patient"]["outcome"] != nil {
		t.Errorf("patient: users %q, outcome %v; want the opening and one simulated message, then the marker", got, byID["patient"]["outcome"])
	}
	if got := users(byID["endless"]); strings.Join(got, "|") != "Hi|user message 2|user message 3|user message 4" {
		t.Errorf("endless: users %q; want the opening and max_turns (3) simulated messages", got)
	}
	if byID["endless"]["outcome"] != "max_turns" {
		t.Errorf("endless: outcome %v, want max_turns", byID["endless"]["outcome"])
	}
	for id, res := range byID {
		if res["status"] != "passed" {
			t.Errorf("%s: status %v: every turn was answered", id, res["status"])
		}
	}
	if c := rep.Targets[0].Conversations; c == nil || c.Cases != 2 || c.MaxTurns != 1 {
		t.Errorf("report conversations %+v", c)
	}
	// The simulated user saw its persona and the conversation from its
	// side: the agent's answers as the user's words.
	mu.Lock()
	defer mu.Unlock()
	first := simPrompts[0]
	if len(first) < 3 || first[1]["role"] != "assistant" || first[2]["role"] != "user" || !strings.HasPrefix(first[2]["content"].(string), "agent heard: ") {
		t.Errorf("the simulator's first prompt: %v", first)
	}
}
