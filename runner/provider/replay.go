package provider

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// Replay answers each request with a recorded response, read from a JSONL
// file when the provider is built. Lines use the field names of rubric's own
// results.jsonl, so a previous run's results can be replayed as they are. A
// recording is found by case, repeat and step: a line with a transcript
// answers each step of a conversation with the transcript's next assistant
// message, one without answers step 0 only. It is safe for concurrent use.
type Replay struct {
	file string // the file as opened, for messages
	url  string // "replay:" and the path as the target gives it
	recs map[replayKey]recording
}

var _ evals.Provider = (*Replay)(nil)

type replayKey struct {
	caseID string
	repeat int
}

// recording is what Complete returns for one key, and nothing more: an
// answer per step, and the line's usage, latency and stream timings, which
// the last step reports (see Complete).
type recording struct {
	steps   []replayStep
	usage   evals.Usage
	latency time.Duration
	stream  *evals.StreamTiming
	line    int // in the file, for messages
}

// replayStep is the answer to one step of a case.
type replayStep struct {
	text   string
	finish string
	calls  []evals.ToolCall
}

// replayLine is one line of a recordings file. Other fields are ignored.
type replayLine struct {
	CaseID    *string             `json:"case_id"`
	Target    string              `json:"target"`
	Repeat    int                 `json:"repeat"`
	Output    *string             `json:"output"`
	Finish    string              `json:"finish_reason"`
	Usage     usageJSON           `json:"usage"`
	LatencyMS float64             `json:"latency_ms"`
	Stream    *evals.StreamTiming `json:"stream"`
	Status    string              `json:"status"`
	Error     json.RawMessage     `json:"error"`
	// Transcript is a conversation's, whose assistant messages answer its
	// steps in turn.
	Transcript []evals.Message `json:"transcript"`
}

// ReplayConfig is a replay target's own fields.
type ReplayConfig struct {
	// Path is the JSONL file of recordings, relative to the file that
	// defines the target.
	Path string `json:"path,omitempty"`
	// ReplayAs serves the recordings of this target name instead of the
	// target's own.
	ReplayAs string `json:"replay_as,omitempty"`
}

// Unused says that replay has no use for a model or generation parameters:
// it sends nothing.
func (ReplayConfig) Unused() []string { return []string{"model", "params"} }

// NewReplay reads the recordings for the target from cfg.Path, relative to
// spec.Dir. Recordings are keyed by case and repeat, and hold the answers of
// the case's steps; lines for another target (by their "target", matched
// against replay_as or else the target's name) and lines that record an
// error are skipped.
func NewReplay(cfg ReplayConfig, spec evals.TargetSpec, _ Env) (*Replay, error) {
	const name = "replay"
	if cfg.Path == "" {
		return nil, evals.FieldErrorf("path", "required by provider %q: the JSONL file of recorded responses", name)
	}
	file := cfg.Path
	if !filepath.IsAbs(file) {
		file = filepath.Join(spec.Dir, file)
	}
	recs, err := loadRecordings(file, cmp.Or(cfg.ReplayAs, spec.Name))
	if err != nil {
		return nil, &evals.FieldError{Field: "path", Err: err}
	}
	return &Replay{file: file, url: "replay:" + filepath.ToSlash(cfg.Path), recs: recs}, nil
}

// Complete returns the recording for the request's case, repeat and step.
// A step's answer is its text and tool calls, and its finish reason:
// "tool_calls" when it calls tools, the line's finish_reason otherwise. The
// line's usage, latency and stream timings are the last step's, and the
// other steps report none (a zero latency, which the run replaces with the
// lookup's own): a replayed conversation adds up to what its line records.
func (r *Replay) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	if ctx.Err() != nil {
		return nil, canceledError(ctx, nil, "canceled before the recording was looked up")
	}
	size := len(`{"messages":}`) + messagesSize(req.Messages)
	if len(req.Tools) > 0 {
		size += toolsSize(req.Tools, req.ToolChoice)
	}
	body := make([]byte, 0, size)
	body = append(body, `{"messages":`...)
	body = appendMessages(body, req.Messages)
	if len(req.Tools) > 0 {
		var err error
		if body, err = appendTools(body, req.Tools, req.ToolChoice); err != nil {
			return nil, &evals.ProviderError{Kind: evals.ErrKindRender, Err: err, Message: "the request's tools: " + err.Error()}
		}
	}
	body = append(body, '}')
	sent := &evals.SentRequest{URL: r.url, Body: body}

	rec, ok := r.recs[replayKey{req.CaseID, req.Repeat}]
	if !ok || req.Step < 0 || req.Step >= len(rec.steps) {
		where := fmt.Sprintf("repeat %d", req.Repeat)
		if req.Step != 0 {
			where += fmt.Sprintf(", step %d", req.Step)
		}
		msg := fmt.Sprintf("no recording for case %q (%s) in %s", req.CaseID, where, r.file)
		if ok && len(rec.steps) == 1 {
			msg += fmt.Sprintf(": line %d records step 0 only", rec.line)
		} else if ok {
			msg += fmt.Sprintf(": line %d records steps 0 to %d", rec.line, len(rec.steps)-1)
		}
		return nil, &evals.ProviderError{Kind: evals.ErrKindReplay, Message: msg, Sent: sent}
	}
	st := rec.steps[req.Step]
	resp := &evals.Response{
		Text:      st.text,
		Finish:    st.finish,
		ToolCalls: slices.Clone(st.calls),
		Sent:      sent,
	}
	if req.Step == len(rec.steps)-1 {
		resp.Usage, resp.Latency, resp.Stream = rec.usage, rec.latency, rec.stream
	}
	return resp, nil
}

// loadRecordings reads the recordings in file that apply to target.
func loadRecordings(file, target string) (map[replayKey]recording, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	recs := make(map[replayKey]recording)
	lineOf := make(map[replayKey]int)   // for duplicates; dropped on return
	finishes := make(map[string]string) // one copy of each finish reason
	br := bufio.NewReaderSize(f, 64<<10)
	var long []byte
	for n := 1; ; n++ {
		line, err := readLine(br, &long)
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		last := err == io.EOF
		terminated := bytes.HasSuffix(line, []byte{'\n'})
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(line)) > 0 {
			key, rec, use, err := parseRecording(line, target)
			if err != nil {
				return nil, lineError(file, n, err, !terminated)
			}
			if use {
				if prev, dup := lineOf[key]; dup {
					return nil, fmt.Errorf("%s:%d: duplicate recording for case %q (repeat %d): line %d records it already",
						file, n, key.caseID, key.repeat, prev)
				}
				for i := range rec.steps {
					st := &rec.steps[i]
					if s, ok := finishes[st.finish]; ok {
						st.finish = s
					} else {
						finishes[st.finish] = st.finish
					}
				}
				lineOf[key] = n
				rec.line = n
				recs[key] = rec
			}
		}
		if last {
			return recs, nil
		}
	}
}

// readLine returns the next line with its newline, however long; at the end
// of the file it returns the unterminated rest (maybe empty) and io.EOF. The
// line is valid until the next call.
func readLine(br *bufio.Reader, long *[]byte) ([]byte, error) {
	*long = (*long)[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			*long = append(*long, chunk...)
			continue
		}
		if len(*long) > 0 {
			*long = append(*long, chunk...)
			chunk = *long
		}
		return chunk, err
	}
}

// parseRecording decodes one line. use is false for a line to skip: an error
// recorded, or another target's recording.
func parseRecording(line []byte, target string) (key replayKey, rec recording, use bool, err error) {
	l := replayLine{Usage: newUsage()}
	if err := json.Unmarshal(line, &l); err != nil {
		return key, rec, false, err
	}
	switch {
	case l.CaseID == nil:
		return key, rec, false, errors.New("missing case_id")
	case *l.CaseID == "":
		return key, rec, false, errors.New("case_id is empty")
	}
	if (len(l.Error) > 0 && string(l.Error) != "null") || l.Status == string(evals.StatusError) {
		return key, rec, false, nil
	}
	switch {
	case l.Output == nil:
		return key, rec, false, errors.New("missing output")
	case l.Repeat < 0:
		return key, rec, false, fmt.Errorf("repeat is %d, less than 0", l.Repeat)
	case l.LatencyMS < 0:
		return key, rec, false, fmt.Errorf("latency_ms is %v, less than 0", l.LatencyMS)
	case l.Stream != nil && (l.Stream.FirstTokenMS < 0 || l.Stream.FirstContentMS < 0 || l.Stream.TokensPerSecond < 0):
		return key, rec, false, errors.New("stream: first_token_ms, first_content_ms and tokens_per_second may not be less than 0")
	}
	rec = recording{
		usage: l.Usage.usage(),
		// Rounded: 1.021 ms is 1020999.9999999999 ns as a float64.
		latency: evals.Millis(l.LatencyMS),
		stream:  l.Stream,
	}
	if len(l.Transcript) == 0 {
		rec.steps = []replayStep{{text: *l.Output, finish: l.Finish}}
	}
	for _, m := range l.Transcript {
		if m.Role != evals.RoleAssistant {
			continue
		}
		st := replayStep{text: m.Content, finish: l.Finish, calls: m.ToolCalls}
		if len(m.ToolCalls) > 0 {
			st.finish = "tool_calls"
		}
		rec.steps = append(rec.steps, st)
	}
	switch {
	case len(rec.steps) == 0:
		return key, rec, false, errors.New(`transcript: no "assistant" message, to answer the case's steps`)
	case l.Target != "" && l.Target != target:
		return key, rec, false, nil
	}
	return replayKey{*l.CaseID, l.Repeat}, rec, true, nil
}

// lineError locates a line's problem as FILE:LINE; torn says the line is the
// last and has no newline, as when a writer was interrupted.
func lineError(file string, n int, err error, torn bool) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && torn:
		return fmt.Errorf("%s:%d: truncated last line (no newline at end of file): %v", file, n, err)
	case errors.As(err, &syn):
		return fmt.Errorf("%s:%d:%d: invalid JSON: %v", file, n, syn.Offset, err)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Errorf("%s:%d: expected a JSON object, got %s", file, n, typ.Value)
	case errors.As(err, &typ):
		return fmt.Errorf("%s:%d: %s: expected %s, got %s", file, n, typ.Field, jsonKind(typ.Type), typ.Value)
	}
	return fmt.Errorf("%s:%d: %w", file, n, err)
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}
