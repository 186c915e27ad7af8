// Package provider holds the clients that send rendered prompts to model
// endpoints, each a evals.Provider, and the registry that builds them from a
// target's "provider" field.
//
// # Registry
//
// Registry maps each provider name to its Factory; New looks a target's
// provider up and builds it. A factory checks the target before anything is
// sent: fields another provider uses are rejected ("field does not apply to
// provider"), required ones must be set, and environment variables must be
// present. Every such problem is an *evals.FieldError naming the JSON field,
// so the loader can point at it; when there are several, they are joined.
//
// # openai
//
// OpenAI posts to {base_url}/chat/completions, which OpenAI, Azure-style
// gateways, vLLM, llama.cpp's server, Ollama's /v1 and TGI all serve. The body
// is {"model", "messages", the params that are set, then extra_body's keys in
// sorted order}; it is encoded once per request and recorded as Response.Sent.
// The API key (api_key_env) and header values that refer to the environment
// (${NAME}) are read when the provider is built; they are never recorded, and
// are replaced by "[REDACTED]" in any message, even when a server echoes them.
// The values of extra_body keys that name a credential (evals.SecretName) are
// sent as given, and recorded, in Sent.Body and RequestBody, as
// "[REDACTED]"; the user and password of base_url are recorded as "xxxxx".
//
// Failures are *evals.ProviderError, classified for reports and retries:
// http_status (with the server's own message, whichever of the common error
// body shapes it uses, and Retry-After), transport (a 2xx body the connection
// cut short among them), timeout (the target's per-request timeout), decode (a
// complete 2xx body that is not a chat completion) and canceled (the run's
// context ended; the error wraps context.Canceled).
//
// # replay
//
// Replay answers from a JSONL file of recordings, one per line, keyed by
// case_id and repeat. The fields are those of rubric's results.jsonl, so the
// results of an earlier run can be replayed, for example to try new criteria
// without calling the model again. A line (only case_id and output are
// required; other fields are ignored):
//
//	{"case_id": "t-1", "target": "gpt", "repeat": 0, "output": "billing", "finish_reason": "stop", "usage": {"prompt_tokens": 50, "completion_tokens": 1}, "latency_ms": 412}
//
// Lines that record an error, and lines of other targets, are skipped; a
// line without a target serves any. The target matched is replay_as, or the
// target's own name. Two recordings for the same case and repeat, or a line
// that does not parse, fail construction with the file and line.
package provider
