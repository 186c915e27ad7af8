package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// openaiBatch is the Batch API of an openai or azure target: the requests
// written as a JSONL file, uploaded (POST {root}/files, purpose batch), then
// a batch of it created (POST {root}/batches), polled (GET
// {root}/batches/{id}), and its output and error files read (GET
// {root}/files/{id}/content). Azure's global batch speaks the same under
// its own root, with its api-version.
type openaiBatch struct {
	*OpenAI
	files, batches *url.URL // {root}/files, {root}/batches, with the root's query
	// line is each line's url, and the batch's endpoint: /v1/chat/completions
	// (openai), /chat/completions (azure).
	line string
}

var _ BatchAPI = (*openaiBatch)(nil)

// Batch returns the target's batch API, nil when it does not set batch.
func (p *OpenAI) Batch() BatchAPI {
	if p.batch == nil {
		return nil
	}
	return p.batch
}

// newOpenAIBatch returns the batch API of p, whose chat completions URL
// ends in trim: the root of the files and batches is what precedes it.
func newOpenAIBatch(p *OpenAI, trim, line string) *openaiBatch {
	root := *p.endpoint
	root.Path = strings.TrimSuffix(root.Path, trim)
	root.RawPath = ""
	files, batches := root, root
	files.Path += "/files"
	batches.Path += "/batches"
	return &openaiBatch{OpenAI: p, files: &files, batches: &batches, line: line}
}

func (b *openaiBatch) API() string { return "openai" }

func (b *openaiBatch) Limits() BatchLimits { return OpenAIBatchLimits }

func (b *openaiBatch) BatchBody(req *evals.Request) (body, recorded []byte, err error) {
	body, recorded, perr := b.body(req)
	if perr != nil {
		return nil, nil, perr
	}
	return body, recorded, nil
}

// appendLine appends item's line of the input file.
func (b *openaiBatch) appendLine(dst []byte, item BatchItem) []byte {
	dst = append(dst, `{"custom_id":`...)
	dst = appendString(dst, item.CustomID)
	dst = append(dst, `,"method":"POST","url":`...)
	dst = appendString(dst, b.line)
	dst = append(dst, `,"body":`...)
	dst = append(dst, item.Body...)
	return append(dst, "}\n"...)
}

func (b *openaiBatch) Size(item BatchItem) int64 {
	return int64(len(`{"custom_id":"","method":"POST","url":"","body":}`+"\n") + len(item.CustomID) + len(b.line) + len(item.Body))
}

// batchID is an id the API gave (a file's, a batch's), which goes in a path.
var batchID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)

func checkID(what, id string) error {
	if !batchID.MatchString(id) {
		return &evals.ProviderError{Kind: evals.ErrKindDecode, Message: fmt.Sprintf("the API gave the %s id %q: expected letters, digits, '_' and '-'", what, clip(id))}
	}
	return nil
}

func (b *openaiBatch) Submit(ctx context.Context, items []BatchItem) (string, error) {
	var input []byte
	for _, it := range items {
		input = b.appendLine(input, it)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("purpose", "batch")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="rubric-batch.jsonl"`)
	h.Set("Content-Type", "application/jsonl")
	fw, _ := mw.CreatePart(h)
	_, _ = fw.Write(input)
	_ = mw.Close()
	header := b.header.Clone()
	header.Set("Content-Type", mw.FormDataContentType())
	header.Set("Accept", "application/json")
	var file struct {
		ID string `json:"id"`
	}
	if err := b.sendJSON(ctx, http.MethodPost, b.files, header, form.Bytes(), &file); err != nil {
		return "", fmt.Errorf("uploading the batch's input file: %w", err)
	}
	if err := checkID("file", file.ID); err != nil {
		return "", err
	}
	create := append([]byte(`{"input_file_id":`), appendString(nil, file.ID)...)
	create = append(create, `,"endpoint":`...)
	create = appendString(create, b.line)
	create = append(create, `,"completion_window":"24h"}`...)
	var batch struct {
		ID string `json:"id"`
	}
	if err := b.sendJSON(ctx, http.MethodPost, b.batches, b.jsonHeader(), create, &batch); err != nil {
		return "", fmt.Errorf("creating the batch: %w", err)
	}
	if err := checkID("batch", batch.ID); err != nil {
		return "", err
	}
	return batch.ID, nil
}

// jsonHeader is the header of a JSON request and answer.
func (b *openaiBatch) jsonHeader() http.Header {
	if b.header.Get("Accept") == "application/json" {
		return b.header
	}
	h := b.header.Clone()
	h.Set("Accept", "application/json")
	return h
}

// under returns u with id appended to its path, then the elems.
func under(u *url.URL, id string, elems ...string) *url.URL {
	c := *u
	c.Path += "/" + id
	for _, e := range elems {
		c.Path += "/" + e
	}
	c.RawPath = ""
	return &c
}

// openaiBatchObject is the part of a batch object that is read.
type openaiBatchObject struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	OutputFileID  string `json:"output_file_id"`
	ErrorFileID   string `json:"error_file_id"`
	RequestCounts struct {
		Completed int `json:"completed"`
		Failed    int `json:"failed"`
	} `json:"request_counts"`
	Errors *struct {
		Data []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Line    *int   `json:"line"`
		} `json:"data"`
	} `json:"errors"`
}

func (b *openaiBatch) Status(ctx context.Context, id string) (*BatchStatus, error) {
	if err := checkID("batch", id); err != nil {
		return nil, err
	}
	var o openaiBatchObject
	if err := b.sendJSON(ctx, http.MethodGet, under(b.batches, id), b.jsonHeader(), nil, &o); err != nil {
		return nil, fmt.Errorf("batch %s: %w", id, err)
	}
	st := &BatchStatus{ID: id, State: o.Status, Succeeded: o.RequestCounts.Completed, Failed: o.RequestCounts.Failed}
	switch o.Status {
	case "completed", "expired", "cancelled", "failed":
		st.Ended = true
	case "validating", "in_progress", "finalizing", "cancelling":
	default:
		return nil, &evals.ProviderError{Kind: evals.ErrKindDecode,
			Message: fmt.Sprintf("batch %s has the status %q: expected validating, in_progress, finalizing, completed, expired, cancelling, cancelled or failed", id, clip(o.Status))}
	}
	if o.Status == "failed" && o.Errors != nil && len(o.Errors.Data) > 0 {
		e := o.Errors.Data[0]
		st.Error = b.redact(strings.TrimSpace(e.Code + ": " + e.Message))
		if e.Line != nil {
			st.Error += fmt.Sprintf(" (line %d)", *e.Line)
		}
	}
	for _, f := range []string{o.OutputFileID, o.ErrorFileID} {
		if f == "" {
			continue
		}
		if err := checkID("file", f); err != nil {
			return nil, err
		}
		st.files = append(st.files, f)
	}
	return st, nil
}

// openaiBatchLine is a line of an output or error file.
type openaiBatchLine struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (b *openaiBatch) Results(ctx context.Context, st *BatchStatus, yield func(BatchAnswer) error) error {
	h := b.header.Clone()
	h.Set("Accept", "*/*")
	for _, f := range st.files {
		err := b.lines(ctx, under(b.files, f, "content"), h, func(line []byte, long bool) error {
			return yield(b.answer(line, long))
		})
		if err != nil {
			return fmt.Errorf("batch %s: reading the file %s: %w", st.ID, f, err)
		}
	}
	return nil
}

// answer reads one line of an output or error file.
func (b *openaiBatch) answer(line []byte, long bool) BatchAnswer {
	if long {
		return malformed("", fmt.Sprintf("longer than %d MiB", maxResponseBody>>20), line, b.redact)
	}
	var l openaiBatchLine
	if err := json.Unmarshal(line, &l); err != nil {
		return malformed("", err.Error(), line, b.redact)
	}
	if l.CustomID == "" {
		return malformed("", "no custom_id", line, b.redact)
	}
	if l.Error != nil && (l.Error.Code != "" || l.Error.Message != "") {
		reason := "errored: " + strings.TrimSpace(l.Error.Code+": "+l.Error.Message)
		if l.Error.Code == "batch_expired" {
			reason = "expired"
		} else if l.Error.Code == "batch_cancelled" {
			reason = "canceled"
		}
		return BatchAnswer{CustomID: l.CustomID, Reason: clip(b.redact(reason))}
	}
	if l.Response == nil {
		return malformed(l.CustomID, "neither response nor error", line, b.redact)
	}
	if l.Response.StatusCode < 200 || l.Response.StatusCode > 299 {
		msg := fmt.Sprintf("status %d", l.Response.StatusCode)
		if m := serverMessage(l.Response.Body); m != "" {
			msg += ": " + m
		}
		return BatchAnswer{CustomID: l.CustomID, Reason: clip(b.redact("errored: " + msg))}
	}
	resp, perr := b.decode(l.Response.Body)
	if perr != nil {
		return BatchAnswer{CustomID: l.CustomID, Malformed: true, Reason: "malformed answer: " + perr.Message}
	}
	return BatchAnswer{CustomID: l.CustomID, Response: resp}
}
