package evals

// Endpoint is a target ready to be called: its provider behind the
// decorators its spec asks for (response cache, retries, rate limits, a cap
// on requests in flight), built once for a run and shared by everything that
// calls it, the pipeline and the criteria (an LLM judge, an embeddings
// endpoint) alike. What the provider can do besides chat completions is
// found out once, when the endpoint is built, and said here: nothing calls a
// capability it has not been given.
type Endpoint struct {
	Spec TargetSpec
	// Provider sends chat completions through the decorators.
	Provider Provider
	// Embedder sends embeddings requests through the same decorators; nil
	// when the provider has no embeddings endpoint.
	Embedder Embedder
	// Model is the model the endpoint answers with, as reports name it;
	// empty when the provider has no such notion (replay).
	Model string
	// Params are the generation parameters the target sets, which a request
	// asking for its own (a judge's temperature 0) does not override.
	Params *Params
	// StructuredOutputs says the provider can ask for an answer that fits a
	// JSON Schema (OpenAI's response_format), as a JSON-mode judge needs.
	StructuredOutputs bool
	// SecretEnv names the environment variables holding the target's
	// secrets (its API key), which no scorer process inherits.
	SecretEnv []string
	// Closer releases what the provider holds (idle connections); nil when
	// it holds nothing. The endpoint's owner closes it once, when the run
	// ends.
	Closer interface{ Close() error }
	// Batch is the provider's batch API (a provider.BatchAPI) when the
	// target sets batch: true; nil otherwise. The run sends the target's
	// requests through it before the pipeline (docs/batch.md).
	Batch any
}

// Close releases the provider's resources.
func (e *Endpoint) Close() error {
	if e == nil || e.Closer == nil {
		return nil
	}
	return e.Closer.Close()
}
