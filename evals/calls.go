package evals

// Caller is a Scorer whose criterion calls a model for each response it
// scores (an LLM judge, an embeddings endpoint) and can say, without calling
// it, what it would send: rubric run --dry-run counts and sizes those calls
// with it. A criterion that holds others (not, all, json-field) is a Caller
// when one it holds is.
type Caller interface {
	Scorer
	// Calls returns the requests Score would make for in, one per call,
	// as if every response were judged: a dry run asks with an empty
	// Output, the response being unknown until it comes.
	Calls(in *Input) ([]Call, error)
}

// Call is one request a criterion would make.
type Call struct {
	// Target names the endpoint called: one of the judges a built suite
	// holds.
	Target string
	// Messages are the chat messages of a chat completion; Texts the inputs
	// of an embeddings request.
	Messages []Message
	Texts    []string
}
