// Package provider holds the clients that send rendered prompts to model
// endpoints, each an evals.Provider, the registry that builds them from a
// target, and the decorators (retry, rate limit, adaptive limit, cache) that
// make a provider a ready evals.Endpoint.
//
// # Registry
//
// A Registry maps each provider name to its factory; Default holds the
// providers rubric ships, and New and Endpoint build from it. Register adds
// a provider with its own config type: the target's object (TargetSpec.Config)
// holds the fields every target has, which evals.TargetSpec decodes, and the
// provider's own, which are decoded strictly into its config. A field of
// another provider, or model and params for a provider that has no use for
// them (a config type with an Unused method), is rejected ("field does not
// apply to provider"); then the factory checks the rest: required fields
// must be set, environment variables present (read through an injected
// Env). Every such problem is an *evals.FieldError naming the JSON field, so
// the loader can point at it; when there are several, they are joined.
//
// # Endpoints
//
// Endpoint and Decorate compose the decorators in one place and find out
// once, by interface, what the provider can do besides chat completions
// (see Remote, Cacheable, StructuredOutputter, SecretHolder; evals.Embedder;
// io.Closer). The decorators then never pass a capability on: an endpoint
// has a Complete chain and, when its provider embeds, an Embed chain through
// the same retry, rate limit and adaptive limit, sharing their state.
//
// # openai
//
// OpenAI posts to {base_url}/chat/completions, which OpenAI, Azure-style
// gateways, vLLM, llama.cpp's server, Ollama's /v1 and TGI all serve. The body
// is {"model", "messages", "tools" and "tool_choice" when the request offers
// tools, the params that are set, then extra_body's keys in sorted order}; it
// is encoded once per request and recorded as Response.Sent. The messages of
// a tool loop carry OpenAI's tool_calls (arguments as the model's string) and
// tool_call_id; the answer's tool calls, whole or streamed in pieces, become
// Response.ToolCalls.
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
// # anthropic
//
// Anthropic posts to Anthropic's Messages API, {base_url}/v1/messages
// (base_url defaults to https://api.anthropic.com), with the x-api-key
// (api_key_env) and anthropic-version headers. The suite's system messages
// make the top-level system field; user and assistant messages make
// messages, consecutive ones of a role joined into one turn of text blocks.
// The body is {"model", "max_tokens", "system", "messages", temperature,
// top_p and stop_sequences when set, "stream": true when streaming, then
// extra_body's keys in sorted order}. max_tokens is required, and the params
// the API lacks (seed, the penalties, response_format) fail construction;
// a request's own seed (a judge's) is dropped. The answer is the text of
// the text content blocks; the prompt tokens count the cache tokens too.
// Error bodies {"type": "error", "error": {"type", "message"}} give the
// message; 429 and 529 are retried as any 429 and 5xx. With stream, the
// server-sent events are read to message_stop, timed as openai's are
// (streamClock), and the rest of the body in the background; a stream that
// ends before message_stop is cut off, a transport error. It offers neither
// embeddings nor structured outputs.
//
// # http
//
// HTTP sends each case to an in-house service: the target gives the url, the
// method, the headers and the body, a JSON object whose strings are
// templates in the language of the suite's messages (httpScope says what
// they may name: messages, prompt, system, id, model, params and the case's
// variables, from evals.Request.Vars). Every template is parsed and its
// names checked when the provider is built; a string that is exactly one
// {{ x | json }} is replaced by x's JSON value. The body is compiled once
// into literal JSON between templates (bodyPlan), and rendered per request;
// values in the url are escaped for the path or the query. The answer is
// read from the response by gjson paths (or the whole body is the answer);
// a path missing is a decode error quoting the body. The rendered body is
// what is recorded and what the cache keys on, with the URL as sent and the
// response paths (Routed), so that a change of either is a new key.
//
// # replay
//
// Replay answers from a JSONL file of recordings, one per line, keyed by
// case_id and repeat, and answering a case's steps: a line with a transcript
// answers step k with its k-th assistant message, a line without one answers
// step 0 only. The fields are those of rubric's results.jsonl, so the
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
