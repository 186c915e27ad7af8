package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on the text taken from a response for a message.
const (
	snippetLen = 200  // bytes of a body quoted as it is
	messageLen = 1000 // bytes of a server's own message
)

// errorMessage extracts the server's own message from an error response body,
// whatever its shape; failing that it returns the start of the body, or the
// status text when the body is empty. Secrets are redacted before anything is
// cut, so that no part of one survives.
func errorMessage(status int, body []byte, redact func(string) string) string {
	if m := serverMessage(body); m != "" {
		return clip(redact(m))
	}
	if t := htmlTitle(body); t != "" {
		return clip(redact(t))
	}
	if s := snippet(redact(string(body))); s != "" {
		return s
	}
	if t := http.StatusText(status); t != "" {
		return t + " (empty body)"
	}
	return "(empty body)"
}

// serverMessage returns the message of a JSON error body in any of the shapes
// OpenAI-compatible servers use:
//
//	{"error": {"message": "…", "type": "…", "code": …}}  OpenAI, vLLM, llama.cpp, Ollama /v1
//	{"error": "…", "error_type": "…"}                    TGI, Ollama's native API
//	{"detail": "…"}                                      FastAPI
//	{"detail": [{"loc": [...], "msg": "…"}]}             FastAPI request validation
//	{"message": "…"}                                     vLLM before 0.6, many gateways
//	[{"error": {…}}]                                     Google's OpenAI endpoint
//
// It returns "" when the body is not JSON or has no message.
func serverMessage(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' && body[0] != '[' {
		return ""
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return strings.TrimSpace(messageIn(v, 0))
}

func messageIn(v any, depth int) string {
	if depth > 4 {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var parts []string
		for _, e := range v {
			if m := messageIn(e, depth+1); m != "" {
				parts = append(parts, m)
			}
		}
		return strings.Join(parts, "; ")
	case map[string]any:
		if msg, ok := v["msg"].(string); ok { // a FastAPI validation error
			if loc := locPath(v["loc"]); loc != "" {
				return loc + ": " + msg
			}
			return msg
		}
		for _, key := range []string{"error", "detail", "message", "errors"} {
			if m := messageIn(v[key], depth+1); m != "" {
				return m
			}
		}
	}
	return ""
}

// locPath joins a FastAPI "loc" array with dots: body.messages.0.content.
func locPath(v any) string {
	loc, ok := v.([]any)
	if !ok {
		return ""
	}
	parts := make([]string, 0, len(loc))
	for _, e := range loc {
		parts = append(parts, fmt.Sprint(e))
	}
	return strings.Join(parts, ".")
}

// htmlTitle returns the title of an HTML page (a proxy's "502 Bad Gateway"),
// or "".
func htmlTitle(body []byte) string {
	lower := bytes.ToLower(body)
	i := bytes.Index(lower, []byte("<title"))
	if i < 0 {
		return ""
	}
	start := bytes.IndexByte(lower[i:], '>')
	if start < 0 {
		return ""
	}
	start += i + 1
	end := bytes.Index(lower[start:], []byte("</title"))
	if end < 0 {
		return ""
	}
	return strings.Join(strings.Fields(html.UnescapeString(string(body[start:start+end]))), " ")
}

// snippet returns the first snippetLen bytes of s, on one line, trimmed.
func snippet(s string) string {
	return strings.TrimSpace(strings.Join(strings.Fields(cut(s, snippetLen)), " ")) + ellipsis(s, snippetLen)
}

// clip shortens a server's message to messageLen bytes.
func clip(s string) string {
	return cut(s, messageLen) + ellipsis(s, messageLen)
}

// cut returns at most n bytes of s, not splitting a rune.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func ellipsis(s string, n int) string {
	if len(s) > n {
		return "…"
	}
	return ""
}

// maxRetryAfter bounds the wait a server may ask for.
const maxRetryAfter = 24 * time.Hour

// retryAfter returns the wait the server asked for: Retry-After-Ms (Azure,
// OpenAI) in milliseconds, or Retry-After in seconds or as an HTTP date.
// It returns 0 when there is none, it cannot be parsed, or it has passed.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil {
			return clampWait(ms / 1000)
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return clampWait(s)
	}
	if t, err := http.ParseTime(v); err == nil {
		return clampWait(t.Sub(now).Seconds())
	}
	return 0
}

func clampWait(seconds float64) time.Duration {
	switch {
	case math.IsNaN(seconds) || seconds <= 0:
		return 0
	case seconds >= maxRetryAfter.Seconds():
		return maxRetryAfter
	}
	return time.Duration(seconds * float64(time.Second))
}

// retryAfterStatus returns the wait a response with the given status asks
// for: retryAfter's, or, for a 429 without Retry-After (or Retry-After-Ms),
// the larger of OpenAI's x-ratelimit-reset-requests and
// x-ratelimit-reset-tokens, the times until its rate limits reset. Other
// statuses ignore those headers, which describe the rate limits, not an
// outage: a 503 is retried on the usual backoff. statusError reads it.
func retryAfterStatus(status int, h http.Header, now time.Time) time.Duration {
	if d := retryAfter(h, now); d > 0 || status != http.StatusTooManyRequests ||
		h.Get("Retry-After") != "" || h.Get("Retry-After-Ms") != "" {
		return d
	}
	return max(rateLimitReset(h.Get("X-Ratelimit-Reset-Requests")),
		rateLimitReset(h.Get("X-Ratelimit-Reset-Tokens")))
}

// rateLimitReset parses an x-ratelimit-reset-* value, a Go-style duration
// such as "1s", "6m0s", "20ms" or "1m30.5s"; a bare number is taken as
// seconds. It returns 0 when the value is empty, unparsable or not positive.
func rateLimitReset(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return clampWait(s)
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0
	}
	return clampWait(d.Seconds())
}
