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
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// Replay answers each request with a recorded response, read from a JSONL
// file when the provider is built. Lines use the field names of rubric's own
// results.jsonl, so a previous run's results can be replayed as they are. It
// is safe for concurrent use.
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

// recording is what Complete returns for one key, and nothing more.
type recording struct {
	text    string
	finish  string
	usage   evals.Usage
	latency time.Duration
	stream  *evals.StreamTiming
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
// spec.Dir. Recordings are keyed by case and repeat; lines for another target
// (by their "target", matched against replay_as or else the target's name)
// and lines that record an error are skipped.
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

// Complete returns the recording for the request's case and repeat.
func (r *Replay) Complete(ctx context.Context, req *evals.Request) (*evals.Response, error) {
	if ctx.Err() != nil {
		return nil, canceledError(ctx, nil, "canceled before the recording was looked up")
	}
	body := make([]byte, 0, len(`{"messages":}`)+messagesSize(req.Messages))
	body = append(body, `{"messages":`...)
	body = appendMessages(body, req.Messages)
	body = append(body, '}')
	sent := &evals.SentRequest{URL: r.url, Body: body}

	rec, ok := r.recs[replayKey{req.CaseID, req.Repeat}]
	if !ok {
		return nil, &evals.ProviderError{
			Kind:    evals.ErrKindReplay,
			Message: fmt.Sprintf("no recording for case %q (repeat %d) in %s", req.CaseID, req.Repeat, r.file),
			Sent:    sent,
		}
	}
	return &evals.Response{
		Text:    rec.text,
		Finish:  rec.finish,
		Usage:   rec.usage,
		Sent:    sent,
		Latency: rec.latency,
		Stream:  rec.stream,
	}, nil
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
				if s, ok := finishes[rec.finish]; ok {
					rec.finish = s
				} else {
					finishes[rec.finish] = rec.finish
				}
				lineOf[key] = n
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
	if l.Target != "" && l.Target != target {
		return key, rec, false, nil
	}
	return replayKey{*l.CaseID, l.Repeat}, recording{
		text:    *l.Output,
		finish:  l.Finish,
		usage:   l.Usage.usage(),
		latency: time.Duration(l.LatencyMS * float64(time.Millisecond)),
		stream:  l.Stream,
	}, true, nil
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
