// Package batchfake is a fake of the batch APIs rubric speaks, for tests:
// OpenAI's Files and Batches (under /v1: files, batches, files/{id}/content)
// and Anthropic's Message Batches (/v1/messages/batches, its results), with
// their live endpoints beside them (/v1/chat/completions, /v1/messages), as
// the APIs document them. It can complete slowly, expire with partial
// results, answer some requests with errored lines, and write malformed
// output; it counts what it was sent. It checks what the APIs check: the
// key, the purpose, the endpoint, custom ids unique and well formed.
package batchfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// Server is the fake; its zero value is not usable, see New.
type Server struct {
	// Key is the API key it expects (Authorization: Bearer, x-api-key,
	// api-key); "" expects none.
	Key string
	// Polls is how many status checks a batch stays in progress before it
	// ends (slow completion).
	Polls int
	// Expire, Error and Malform pick requests, by their body, that the
	// batch expires (the batch then ends expired), answers with an errored
	// line, or answers with a line that is not JSON.
	Expire, Error, Malform func(body []byte) bool
	// Answer is the text answering a request body; the last user
	// message's text when nil.
	Answer func(body []byte) string

	mu      sync.Mutex
	files   map[string][]byte
	batches map[string]*batch
	n       int
	// Live counts the live requests; Batches the batches created;
	// Requests the requests in them.
	Live, Batches, Requests int
	// Errors are what the fake refused, for the test to report.
	Errors []string
}

type batch struct {
	api    string // "openai" or "anthropic"
	polls  int
	items  []item
	output string // openai: output file, error file ids
	errors string
}

type item struct {
	id   string
	body json.RawMessage
}

// New returns an empty fake.
func New() *Server {
	return &Server{files: map[string][]byte{}, batches: map[string]*batch{}}
}

var customID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func (s *Server) fail(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.Errors = append(s.Errors, msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error", "message": msg}})
}

func (s *Server) authorized(r *http.Request) bool {
	if s.Key == "" {
		return true
	}
	return r.Header.Get("Authorization") == "Bearer "+s.Key || r.Header.Get("X-Api-Key") == s.Key || r.Header.Get("Api-Key") == s.Key
}

// ServeHTTP serves both APIs under /v1.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.authorized(r) {
		s.fail(w, http.StatusUnauthorized, "bad key")
		return
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && path == "/v1/chat/completions":
		s.Live++
		body, _ := io.ReadAll(r.Body)
		writeJSON(w, s.chatCompletion(body))
	case r.Method == http.MethodPost && path == "/v1/messages":
		s.Live++
		body, _ := io.ReadAll(r.Body)
		writeJSON(w, s.message(body))
	case r.Method == http.MethodPost && path == "/v1/files":
		s.upload(w, r)
	case r.Method == http.MethodPost && path == "/v1/batches":
		s.createOpenAI(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/batches/"):
		s.statusOpenAI(w, strings.TrimPrefix(path, "/v1/batches/"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/files/") && strings.HasSuffix(path, "/content"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/files/"), "/content")
		b, ok := s.files[id]
		if !ok {
			s.fail(w, http.StatusNotFound, "no file %s", id)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	case r.Method == http.MethodPost && path == "/v1/messages/batches":
		s.createAnthropic(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/messages/batches/") && strings.HasSuffix(path, "/results"):
		s.resultsAnthropic(w, strings.TrimSuffix(strings.TrimPrefix(path, "/v1/messages/batches/"), "/results"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/messages/batches/"):
		s.statusAnthropic(w, r, strings.TrimPrefix(path, "/v1/messages/batches/"))
	default:
		s.fail(w, http.StatusNotFound, "no route %s %s", r.Method, path)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// answer is the text answering body.
func (s *Server) answer(body []byte) string {
	if s.Answer != nil {
		return s.Answer(body)
	}
	return LastUser(body)
}

// LastUser is the text of the last user message of a request body, of
// either API: what the fake answers when Answer is nil.
func LastUser(body []byte) string {
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	json.Unmarshal(body, &req)
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if m := req.Messages[i]; m.Role == "user" {
			var text string
			if json.Unmarshal(m.Content, &text) == nil {
				return text
			}
			var blocks []struct {
				Text string `json:"text"`
			}
			json.Unmarshal(m.Content, &blocks)
			for _, b := range blocks {
				text += b.Text
			}
			return text
		}
	}
	return ""
}

func (s *Server) chatCompletion(body []byte) map[string]any {
	return map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": s.answer(body)}}},
		"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
	}
}

func (s *Server) message(body []byte) map[string]any {
	return map[string]any{
		"id": "msg_1", "type": "message", "role": "assistant", "stop_reason": "end_turn",
		"content": []any{map[string]any{"type": "text", "text": s.answer(body)}},
		"usage":   map[string]any{"input_tokens": 10, "output_tokens": 5},
	}
}

func (s *Server) newID(prefix string) string {
	s.n++
	return fmt.Sprintf("%s%d", prefix, s.n)
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		s.fail(w, http.StatusBadRequest, "not a multipart form: %v", err)
		return
	}
	if p := r.FormValue("purpose"); p != "batch" {
		s.fail(w, http.StatusBadRequest, "purpose %q, not batch", p)
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		s.fail(w, http.StatusBadRequest, "no file: %v", err)
		return
	}
	b, _ := io.ReadAll(f)
	id := s.newID("file-")
	s.files[id] = b
	writeJSON(w, map[string]any{"id": id, "object": "file", "purpose": "batch", "bytes": len(b)})
}

func (s *Server) createOpenAI(w http.ResponseWriter, r *http.Request) {
	var req struct {
		InputFileID      string `json:"input_file_id"`
		Endpoint         string `json:"endpoint"`
		CompletionWindow string `json:"completion_window"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.fail(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	if req.Endpoint != "/v1/chat/completions" || req.CompletionWindow != "24h" {
		s.fail(w, http.StatusBadRequest, "endpoint %q, completion_window %q", req.Endpoint, req.CompletionWindow)
		return
	}
	input, ok := s.files[req.InputFileID]
	if !ok {
		s.fail(w, http.StatusBadRequest, "no file %s", req.InputFileID)
		return
	}
	b := &batch{api: "openai"}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(input)), "\n") {
		var l struct {
			CustomID string          `json:"custom_id"`
			Method   string          `json:"method"`
			URL      string          `json:"url"`
			Body     json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Method != "POST" || l.URL != req.Endpoint || !customID.MatchString(l.CustomID) || seen[l.CustomID] {
			s.fail(w, http.StatusBadRequest, "bad input line %.200s", line)
			return
		}
		seen[l.CustomID] = true
		b.items = append(b.items, item{l.CustomID, l.Body})
	}
	if len(b.items) > 50_000 || len(input) > 200<<20 {
		s.fail(w, http.StatusBadRequest, "over the limits")
		return
	}
	id := s.newID("batch_")
	s.batches[id] = b
	s.Batches++
	s.Requests += len(b.items)
	writeJSON(w, map[string]any{"id": id, "object": "batch", "status": "validating", "input_file_id": req.InputFileID})
}

// pick reports whether the predicate f picks body.
func pick(f func([]byte) bool, body []byte) bool { return f != nil && f(body) }

func (s *Server) statusOpenAI(w http.ResponseWriter, id string) {
	b, ok := s.batches[id]
	if !ok || b.api != "openai" {
		s.fail(w, http.StatusNotFound, "no batch %s", id)
		return
	}
	o := map[string]any{"id": id, "object": "batch", "endpoint": "/v1/chat/completions"}
	counts := map[string]int{"total": len(b.items), "completed": 0, "failed": 0}
	o["request_counts"] = counts
	if b.polls < s.Polls {
		b.polls++
		o["status"] = "in_progress"
		writeJSON(w, o)
		return
	}
	if b.output == "" {
		var out, errs strings.Builder
		expired := false
		for _, it := range b.items {
			switch {
			case pick(s.Expire, it.body):
				expired = true
				counts["failed"]++
				fmt.Fprintf(&errs, `{"id":"req_x","custom_id":%q,"response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}`+"\n", it.id)
			case pick(s.Error, it.body):
				counts["failed"]++
				fmt.Fprintf(&errs, `{"id":"req_x","custom_id":%q,"response":{"status_code":400,"request_id":"r","body":{"error":{"message":"bad request","type":"invalid_request_error"}}},"error":null}`+"\n", it.id)
			case pick(s.Malform, it.body):
				counts["completed"]++
				fmt.Fprintf(&out, `{"id":"req_x","custom_id":%q,"response":{"status_code":200,"body":{"choi`+"\n", it.id)
			default:
				counts["completed"]++
				line, _ := json.Marshal(map[string]any{"id": "req_x", "custom_id": it.id, "error": nil,
					"response": map[string]any{"status_code": 200, "request_id": "r", "body": s.chatCompletion(it.body)}})
				out.Write(append(line, '\n'))
			}
		}
		b.output = s.newID("file-")
		s.files[b.output] = []byte(out.String())
		if errs.Len() > 0 {
			b.errors = s.newID("file-")
			s.files[b.errors] = []byte(errs.String())
		}
		if expired {
			b.polls = -1 // marks it expired
		}
	}
	o["status"] = "completed"
	if b.polls < 0 {
		o["status"] = "expired"
	}
	o["output_file_id"] = b.output
	if b.errors != "" {
		o["error_file_id"] = b.errors
	}
	writeJSON(w, o)
}

func (s *Server) createAnthropic(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Requests []struct {
			CustomID string          `json:"custom_id"`
			Params   json.RawMessage `json:"params"`
		} `json:"requests"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.fail(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	if len(req.Requests) == 0 || len(req.Requests) > 100_000 {
		s.fail(w, http.StatusBadRequest, "%d requests", len(req.Requests))
		return
	}
	b := &batch{api: "anthropic"}
	seen := map[string]bool{}
	for _, rq := range req.Requests {
		if !customID.MatchString(rq.CustomID) || seen[rq.CustomID] || len(rq.Params) == 0 {
			s.fail(w, http.StatusBadRequest, "bad request custom_id %q", rq.CustomID)
			return
		}
		seen[rq.CustomID] = true
		b.items = append(b.items, item{rq.CustomID, rq.Params})
	}
	id := s.newID("msgbatch_")
	s.batches[id] = b
	s.Batches++
	s.Requests += len(b.items)
	writeJSON(w, s.anthropicObject(id, b, nil))
}

func (s *Server) anthropicObject(id string, b *batch, r *http.Request) map[string]any {
	counts := map[string]int{"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
	o := map[string]any{"id": id, "type": "message_batch", "request_counts": counts, "results_url": nil}
	if b.polls < s.Polls || r == nil {
		o["processing_status"] = "in_progress"
		counts["processing"] = len(b.items)
		return o
	}
	o["processing_status"] = "ended"
	for _, it := range b.items {
		switch {
		case pick(s.Expire, it.body):
			counts["expired"]++
		case pick(s.Error, it.body):
			counts["errored"]++
		default:
			counts["succeeded"]++
		}
	}
	o["results_url"] = "http://" + r.Host + "/v1/messages/batches/" + id + "/results"
	return o
}

func (s *Server) statusAnthropic(w http.ResponseWriter, r *http.Request, id string) {
	b, ok := s.batches[id]
	if !ok || b.api != "anthropic" {
		s.fail(w, http.StatusNotFound, "no batch %s", id)
		return
	}
	o := s.anthropicObject(id, b, r)
	if b.polls < s.Polls {
		b.polls++
	}
	writeJSON(w, o)
}

func (s *Server) resultsAnthropic(w http.ResponseWriter, id string) {
	b, ok := s.batches[id]
	if !ok || b.api != "anthropic" || b.polls < s.Polls {
		s.fail(w, http.StatusNotFound, "no results for %s", id)
		return
	}
	w.Header().Set("Content-Type", "application/binary")
	for _, it := range b.items {
		switch {
		case pick(s.Expire, it.body):
			fmt.Fprintf(w, `{"custom_id":%q,"result":{"type":"expired"}}`+"\n", it.id)
		case pick(s.Error, it.body):
			fmt.Fprintf(w, `{"custom_id":%q,"result":{"type":"errored","error":{"type":"error","error":{"type":"invalid_request_error","message":"bad request"}}}}`+"\n", it.id)
		case pick(s.Malform, it.body):
			fmt.Fprintf(w, `{"custom_id":%q,"result":{"type":"succ`+"\n", it.id)
		default:
			line, _ := json.Marshal(map[string]any{"custom_id": it.id, "result": map[string]any{"type": "succeeded", "message": s.message(it.body)}})
			w.Write(append(line, '\n'))
		}
	}
}

// Counts returns Live, Batches and Requests, safely.
func (s *Server) Counts() (live, batches, requests int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Live, s.Batches, s.Requests
}

// Refused returns what the fake refused.
func (s *Server) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.Errors...)
}
