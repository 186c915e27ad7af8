package leak

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/rubric-eval/rubric/evals"
)

// Normalization names the way prompts are normalised and hashed; every
// manifest's header records it, and a manifest written with another is
// refused rather than compared.
const Normalization = "rubric-prompt/1"

// Sum is the SHA-256 of a normalised prompt.
type Sum [sha256.Size]byte

// String returns the sum in lower-case hex, as a manifest writes it.
func (s Sum) String() string { return hex.EncodeToString(s[:]) }

// ParseSum reads a sum written by String: 64 lower-case hex digits.
func ParseSum(text string) (Sum, error) {
	var s Sum
	if len(text) != 2*len(s) {
		return s, fmt.Errorf("expected 64 lower-case hex digits (a SHA-256), got %d characters", len(text))
	}
	for i := 0; i < len(text); i++ {
		if c := text[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return s, fmt.Errorf("expected 64 lower-case hex digits (a SHA-256), got %q at %d", c, i+1)
		}
	}
	_, err := hex.Decode(s[:], []byte(text))
	return s, err
}

// Hash returns the SHA-256 of the prompt's canonical form (Canonical).
func Hash(msgs []evals.Message) Sum { return sha256.Sum256(Canonical(msgs)) }

// Canonical returns a prompt in the form that is hashed: a JSON array with
// an object per message, {"content": TEXT, "role": ROLE}, and
// "tool_calls": [{"arguments": TEXT, "name": NAME}, ...] after them on an
// assistant message that calls tools; the keys in that (sorted) order, no
// space between tokens, strings escaped as RFC 8785 (JSON Canonicalization
// Scheme) does. Each TEXT is Text of the message's content (of the call's
// arguments); the role "developer" is written "system", as the fine-tuning
// formats write it. Call ids, tool message names and tool errors are left
// out: they differ from run to run or never reach the model.
func Canonical(msgs []evals.Message) []byte {
	b := make([]byte, 0, 64)
	b = append(b, '[')
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"content":`...)
		b = appendString(b, Text(m.Content))
		b = append(b, `,"role":`...)
		b = appendString(b, role(m.Role))
		if len(m.ToolCalls) > 0 {
			b = append(b, `,"tool_calls":[`...)
			for j, c := range m.ToolCalls {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"arguments":`...)
				b = appendString(b, Text(c.ArgumentsText()))
				b = append(b, `,"name":`...)
				b = appendString(b, c.Name)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// role is a message's role as hashed: developer is system.
func role(r string) string {
	if r == "developer" {
		return "system"
	}
	return r
}

// Text normalises a message's text: Unicode NFC, every run of white space
// (Unicode's White_Space property: spaces, tabs, line breaks, no-break
// spaces) replaced by one space, and no space at either end. Case and
// punctuation are kept.
func Text(s string) string {
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// appendString appends s as a JSON string the way RFC 8785 writes it: '"'
// and '\' escaped, \b \t \n \f \r for those controls, \u00xx (lower-case
// hex) for the other controls below U+0020, every other character as its
// UTF-8. Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// Points returns the lengths of the prompts an example of these messages
// trains on: the messages before each assistant message, and all of them.
// A single answer's prompt has one point, its length; a conversation's
// prompt has one more for each assistant message in it, the first of
// which is the suite's prompt as rendered for the case.
func Points(msgs []evals.Message) []int {
	var pts []int
	for i, m := range msgs {
		if m.Role == evals.RoleAssistant && i > 0 {
			pts = append(pts, i)
		}
	}
	if len(msgs) > 0 {
		pts = append(pts, len(msgs))
	}
	return pts
}
