package provider

import "github.com/rubric-eval/rubric/evals"

// What a provider can do besides chat completions, it says by the interfaces
// it implements. Endpoint asks once, of the provider itself before any
// decorator wraps it, and records the answers in the evals.Endpoint it
// returns; the decorators then never need to pass a capability on, and
// nothing compares provider names:
//
//   - evals.Embedder: texts to vectors; the endpoint gets an Embed chain
//     beside its Complete chain, sharing the retry, rate limit and adaptive
//     limit (Endpoint.Embedder is nil without it).
//   - Remote: it connects to a base URL, whose reachability Retry tracks.
//   - Cacheable: it can say what it would send, so the response cache may
//     answer for it; Routed when its requests go to URLs of their own.
//   - StructuredOutputter: it can ask for an answer that fits a JSON Schema.
//   - SecretHolder: it reads secrets from the environment.
//   - Batcher: it can send its requests as batches (batch.go), when the
//     target sets batch; the endpoint's Batch is its BatchAPI.
//   - io.Closer: it holds resources (idle connections) until closed.

// Remote is a provider that sends requests to an endpoint over the network.
type Remote interface {
	// BaseURL is the endpoint's base URL as the target gives it, password
	// and all: an unreachable endpoint is reported by it (without the
	// password), and the response cache keys on it (without user and
	// password).
	BaseURL() string
}

// Cacheable is a Remote provider whose successful answers the response cache
// may keep: it can say, without sending anything, the exact body it would
// send (evals.BodyBuilder), which with the base URL, the target's provider
// and model and the repeat index makes the key (store.CacheKey).
type Cacheable interface {
	Remote
	evals.BodyBuilder
	// SentURL is the URL requests go to, as recorded in Response.Sent
	// (without a password): what a response from the cache records.
	SentURL() string
}

// Routed is a Cacheable provider whose requests do not all go to one URL
// (an http target's url is a template), or whose answers depend on more
// than the body (how an http target reads its answer from the response).
// Route returns the URL req goes to, as recorded, and a key standing for
// everything besides the body that the answer depends on: the response
// cache keys on it in place of the base URL, and records the URL on a hit.
type Routed interface {
	Route(req *evals.Request) (url, key string, err error)
}

// StructuredOutputter is a provider that can ask for an answer that fits a
// JSON Schema (OpenAI's response_format), as a judge whose output is "json"
// needs.
type StructuredOutputter interface {
	StructuredOutputs() bool
}

// SecretHolder is a provider that reads secrets from the environment (an
// API key). SecretEnv names the variables, which no scorer process that
// scores the target's responses inherits.
type SecretHolder interface {
	SecretEnv() []string
}
