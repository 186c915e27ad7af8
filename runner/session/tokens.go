package session

import (
	"github.com/tiktoken-go/tokenizer"

	"github.com/rubric-eval/rubric/evals"
)

// DefaultTokenizer is the encoding a dry run counts the tokens of a model
// with when the tokenizer does not know the model: OpenAI's for GPT-4o and
// later. Other families' tokenizers and chat templates differ from it: for
// their models the count is an estimate.
const DefaultTokenizer = tokenizer.O200kBase

// tokenCounter counts tokens with OpenAI's tokenizers: tiktoken's
// byte-pair encodings, ported to pure Go with their vocabularies built in
// (github.com/tiktoken-go/tokenizer), so that nothing is downloaded. An
// encoding's vocabulary is loaded the first time a model needs it (some
// 20 ms).
type tokenCounter struct {
	models map[string]tokenizer.Codec
}

func newTokenCounter() *tokenCounter {
	return &tokenCounter{models: map[string]tokenizer.Codec{}}
}

// forModel returns the encoding of model: the one OpenAI uses for it, or
// DefaultTokenizer when the tokenizer does not know the model (every model
// not OpenAI's).
func (tc *tokenCounter) forModel(model string) tokenizer.Codec {
	if c, ok := tc.models[model]; ok {
		return c
	}
	c, err := tokenizer.ForModel(tokenizer.Model(model))
	if err != nil {
		if c, err = tokenizer.Get(DefaultTokenizer); err != nil {
			panic("tokenizer: " + err.Error()) // built in: cannot happen
		}
	}
	tc.models[model] = c
	return c
}

// Message framing as OpenAI's cookbook counts it (num_tokens_from_messages):
// each message costs its role's and content's tokens and a few more, and
// every reply is primed with a few.
const (
	tokensPerMessage = 3
	tokensPerReply   = 3
)

// messageTokens counts the tokens of a chat prompt: each message's role
// and content, and the framing above.
func messageTokens(c tokenizer.Codec, msgs []evals.Message) int {
	n := tokensPerReply
	for _, m := range msgs {
		n += tokensPerMessage + textTokens(c, m.Role) + textTokens(c, m.Content)
	}
	return n
}

// textTokens counts the tokens of one text.
func textTokens(c tokenizer.Codec, s string) int {
	if s == "" {
		return 0
	}
	n, err := c.Count(s)
	if err != nil {
		// Only a codec in strict mode fails (on invalid UTF-8); ours are
		// not. Fall back on OpenAI's rule of thumb, 4 bytes a token.
		return (len(s) + 3) / 4
	}
	return n
}
