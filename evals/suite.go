package evals

import (
	"encoding/json"
	"time"
)

// Suite is one eval suite as written in its JSON file, after loading.
type Suite struct {
	Schema      string          `json:"$schema,omitempty"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Version     string          `json:"version,omitempty"`
	Messages    []Message       `json:"messages"`
	Dataset     DatasetSpec     `json:"dataset"`
	Criteria    []CriterionSpec `json:"criteria"`
	Targets     []TargetRef     `json:"targets,omitempty"`
	Gate        []string        `json:"gate,omitempty"`
	CasePass    string          `json:"case_pass,omitempty"`
	PassScore   *float64        `json:"pass_score,omitempty"`
	Repeat      int             `json:"repeat,omitempty"`
	Reduce      string          `json:"reduce,omitempty"`
	Slices      []string        `json:"slices,omitempty"`
	ErrorBudget *float64        `json:"error_budget,omitempty"`
	// Reference is the template of a case's reference answer, for training
	// data exports; empty means the expected value when it is text.
	Reference string `json:"reference,omitempty"`
	// Tools are the functions the model may call in every case; ToolChoice
	// is OpenAI's tool_choice ("auto", "none", "required" or a named
	// function); MaxSteps caps the model's requests in one turn.
	Tools      []Tool          `json:"tools,omitempty"`
	ToolChoice json.RawMessage `json:"tool_choice,omitempty"`
	MaxSteps   int             `json:"max_steps,omitempty"`
	// UserSimulator, when set, has a target play the user after the
	// case's scripted turns.
	UserSimulator *UserSimulator `json:"user_simulator,omitempty"`

	// Path is the file the suite was loaded from; Dir is its folder, against which
	// relative paths in the suite resolve.
	Path string `json:"-"`
	Dir  string `json:"-"`
	// Templates are the parsed message templates, one per message.
	Templates []*Template `json:"-"`
	// ReferenceTemplate is Reference parsed; nil when the suite has none.
	ReferenceTemplate *Template `json:"-"`
	// Gates are the parsed gate expressions.
	Gates []Gate `json:"-"`
	// ResolvedTargets are the targets to run, after merging the project config
	// and command-line overrides.
	ResolvedTargets []TargetSpec `json:"-"`
	// TrainingManifests are the manifests of training data the project
	// config lists (training_manifests), resolved against its folder: the
	// leakage check reads them.
	TrainingManifests []string `json:"-"`

	// src is the suite file, for locating the problems found after Parse;
	// probs are Parse's, for Sound; resolve resolves the targets criteria
	// name, nil when the project config could not be read.
	src     *source
	probs   []Problem
	resolve *resolver
}

// Case-pass modes: how a case's verdict follows from its criteria.
const (
	CasePassAll   = "all"   // every scored criterion passes (the default)
	CasePassScore = "score" // the weighted mean score reaches PassScore
)

// Message is one chat message: of a prompt template, or of a conversation,
// where an assistant message may call tools and a tool message answers one
// call.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// ToolCalls are the calls of an assistant message.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID and Name, on a tool message, name the call it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	Name       string `json:"name,omitempty"`
	// Error, on a tool message, says why the call got no result (no mock
	// matched, the arguments do not fit the tool's schema, the mock
	// failed); Content is then what the model was told.
	Error string `json:"error,omitempty"`
}

// DatasetSpec says where a suite's cases come from: a file or inline cases.
type DatasetSpec struct {
	Path   string            `json:"path,omitempty"`
	Format string            `json:"format,omitempty"`
	Cases  []json.RawMessage `json:"cases,omitempty"`
}

// Dataset formats.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
	FormatJSON  = "json"
)

// Case is one row of a dataset.
type Case struct {
	ID       string         `json:"id"`
	Vars     map[string]any `json:"vars,omitempty"`
	Expected any            `json:"expected,omitempty"`
	Tags     []string       `json:"tags,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
	// Turns are the user's messages after the prompt, one per turn, as
	// templates; the target answers each.
	Turns []string `json:"turns,omitempty"`
	// Tools add to (or, by name, replace) the suite's tools for this case;
	// Mocks answer the calls of tools by name, before the tools' own mocks.
	Tools []Tool              `json:"tools,omitempty"`
	Mocks map[string]ToolMock `json:"mocks,omitempty"`
	// Source locates the case in its dataset, for error messages: "cases.jsonl:12".
	Source string `json:"-"`
}

// CriterionSpec is one entry of a suite's criteria list. The common fields are
// decoded here; the criterion's own factory decodes Raw for the rest.
type CriterionSpec struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Weight    *float64 `json:"weight,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
	// Turn says which turns of a conversation the criterion scores; the
	// final answer when nil.
	Turn *Turn `json:"turn,omitempty"`

	// Raw is the whole JSON object of the criterion.
	Raw json.RawMessage `json:"-"`
	// Pointer is its JSON pointer in the suite file, "/criteria/2".
	Pointer string `json:"-"`
}

// WeightOr returns the criterion's weight, 1 when unset.
func (c CriterionSpec) WeightOr() float64 {
	if c.Weight == nil {
		return 1
	}
	return *c.Weight
}

// TargetRef is an entry of a suite's targets: the name of a target defined in
// the project config, or a whole inline target.
type TargetRef struct {
	Name   string
	Inline json.RawMessage
}

// UnmarshalJSON accepts a string (a name) or an object (an inline target).
func (r *TargetRef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &r.Name)
	}
	r.Inline = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes the reference back as it was given.
func (r TargetRef) MarshalJSON() ([]byte, error) {
	if r.Inline != nil {
		return r.Inline, nil
	}
	return json.Marshal(r.Name)
}

// TargetSpec is a model endpoint: the fields every target has, which the
// engine reads, decoded here; the provider decodes its own fields (an
// openai target's base_url, a replay target's path) from Config, and
// rejects those it has no use for, model and params among them.
type TargetSpec struct {
	Name        string         `json:"name"`
	Provider    string         `json:"provider"`
	Model       string         `json:"model,omitempty"`
	Params      *Params        `json:"params,omitempty"`
	Concurrency int            `json:"concurrency,omitempty"`
	Timeout     Duration       `json:"timeout,omitempty"`
	Retry       *RetrySpec     `json:"retry,omitempty"`
	RateLimit   *RateLimitSpec `json:"rate_limit,omitempty"`
	Cache       *bool          `json:"cache,omitempty"`
	Price       *PriceSpec     `json:"price,omitempty"`

	// Config is the whole target object as resolved, after --set
	// overrides: the common fields above and the provider's own.
	Config json.RawMessage `json:"-"`
	// Dir is the folder the target was defined in; relative paths resolve against it.
	Dir string `json:"-"`
	// Source names where the target was defined, for error messages.
	Source string `json:"-"`

	// loc says where the target was defined and which --set changed it,
	// for Problems.
	loc *targetLoc
}

// RetrySpec says how a target's failed requests are retried: on transport
// errors, timeouts and the listed HTTP statuses, with exponential backoff and
// full jitter, honouring the server's Retry-After.
type RetrySpec struct {
	// Attempts is the most times a request is sent, the first included; 1
	// turns retries off. Default 4.
	Attempts int `json:"attempts,omitempty"`
	// MaxWait caps the total time spent waiting between attempts. Default 2m.
	MaxWait Duration `json:"max_wait,omitempty"`
	// BaseDelay is the backoff before the first retry, doubled each time up
	// to MaxDelay. Defaults 500ms and 30s.
	BaseDelay Duration `json:"base_delay,omitempty"`
	MaxDelay  Duration `json:"max_delay,omitempty"`
	// Statuses are the HTTP statuses retried. Default 408, 409, 429 and 5xx.
	Statuses []int `json:"statuses,omitempty"`
}

// RateLimitSpec caps what is sent to a target.
type RateLimitSpec struct {
	RequestsPerMinute float64 `json:"requests_per_minute,omitempty"`
	TokensPerMinute   float64 `json:"tokens_per_minute,omitempty"`
	// Adaptive halves the requests in flight on a 429 and raises them again,
	// one at a time, as requests succeed.
	Adaptive bool `json:"adaptive,omitempty"`
}

// PriceSpec is a target's price per million tokens.
type PriceSpec struct {
	Input    float64 `json:"input"`
	Output   float64 `json:"output"`
	Currency string  `json:"currency,omitempty"`
}

// Cost returns what the usage u cost at the target's prices; ok is false when
// the target has no price table.
func (t TargetSpec) Cost(u Usage) (cost float64, ok bool) {
	if t.Price == nil {
		return 0, false
	}
	return (float64(u.PromptTokens)*t.Price.Input + float64(u.CompletionTokens)*t.Price.Output) / 1e6, true
}

// BatchPriceFactor is what a batch API bills of the live price: OpenAI's
// Batch API (Azure's global batch too) and Anthropic's Message Batches
// bill half.
const BatchPriceFactor = 0.5

// ResponseCost is what r cost at the target's prices: BilledCost of its
// usage.
func (t TargetSpec) ResponseCost(r *Response) (cost float64, ok bool) {
	return t.BilledCost(r.Usage, r.Batch)
}

// BilledCost is what usage u cost at the target's prices: Cost, at
// BatchPriceFactor of it when the calls went in a batch.
func (t TargetSpec) BilledCost(u Usage, batch bool) (cost float64, ok bool) {
	if cost, ok = t.Cost(u); ok && batch {
		cost *= BatchPriceFactor
	}
	return cost, ok
}

// CacheOr reports whether the target's responses are cached, the default.
func (t TargetSpec) CacheOr() bool { return t.Cache == nil || *t.Cache }

// DefaultConcurrency is the number of requests in flight per target when the
// target does not say.
const DefaultConcurrency = 8

// DefaultTimeout bounds one request when the target does not say.
const DefaultTimeout = 60 * time.Second

// ConcurrencyOr returns the target's concurrency or the default.
func (t TargetSpec) ConcurrencyOr() int {
	if t.Concurrency > 0 {
		return t.Concurrency
	}
	return DefaultConcurrency
}

// TimeoutOr returns the target's per-request timeout or the default.
func (t TargetSpec) TimeoutOr() time.Duration {
	if t.Timeout > 0 {
		return time.Duration(t.Timeout)
	}
	return DefaultTimeout
}

// Params are generation parameters. Nil fields are not sent.
type Params struct {
	Temperature      *float64        `json:"temperature,omitempty"`
	TopP             *float64        `json:"top_p,omitempty"`
	MaxTokens        *int            `json:"max_tokens,omitempty"`
	Seed             *int64          `json:"seed,omitempty"`
	Stop             json.RawMessage `json:"stop,omitempty"`
	PresencePenalty  *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64        `json:"frequency_penalty,omitempty"`
	ResponseFormat   json.RawMessage `json:"response_format,omitempty"`
}

// Duration is a time.Duration written in JSON as a Go duration string ("30s").
type Duration time.Duration

// UnmarshalJSON parses "1m30s" style strings.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// ValidEnvName reports whether s can name an environment variable: letters,
// digits and '_', not starting with a digit.
func ValidEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}
