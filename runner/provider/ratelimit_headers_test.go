package provider

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRateLimitReset(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"1s", time.Second},
		{"6m0s", 6 * time.Minute},
		{"20ms", 20 * time.Millisecond},
		{"1m30.5s", 90500 * time.Millisecond},
		{"2m59.56s", 2*time.Minute + 59560*time.Millisecond},
		{" 1s ", time.Second},
		{"7", 7 * time.Second},
		{"0.25", 250 * time.Millisecond},
		{"0s", 0},
		{"-1s", 0},
		{"", 0},
		{"soon", 0},
		{"1x", 0},
		{"1000h", maxRetryAfter},
	}
	for _, tt := range tests {
		if got := rateLimitReset(tt.value); got != tt.want {
			t.Errorf("rateLimitReset(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestRetryAfterStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		header http.Header
		want   time.Duration
	}{
		{"reset-requests alone", 429, http.Header{"X-Ratelimit-Reset-Requests": {"1s"}}, time.Second},
		{"reset-tokens alone", 429, http.Header{"X-Ratelimit-Reset-Tokens": {"20ms"}}, 20 * time.Millisecond},
		{"the larger of the two", 429, http.Header{"X-Ratelimit-Reset-Requests": {"1m30.5s"}, "X-Ratelimit-Reset-Tokens": {"6m0s"}}, 6 * time.Minute},
		{"the larger, other order", 429, http.Header{"X-Ratelimit-Reset-Requests": {"6m0s"}, "X-Ratelimit-Reset-Tokens": {"1m30.5s"}}, 6 * time.Minute},
		{"one unparsable", 429, http.Header{"X-Ratelimit-Reset-Requests": {"later"}, "X-Ratelimit-Reset-Tokens": {"2s"}}, 2 * time.Second},
		{"Retry-After wins", 429, http.Header{"Retry-After": {"3"}, "X-Ratelimit-Reset-Tokens": {"6m0s"}}, 3 * time.Second},
		{"Retry-After-Ms wins", 429, http.Header{"Retry-After-Ms": {"40"}, "X-Ratelimit-Reset-Tokens": {"6m0s"}}, 40 * time.Millisecond},
		{"Retry-After 0 means now", 429, http.Header{"Retry-After": {"0"}, "X-Ratelimit-Reset-Tokens": {"6m0s"}}, 0},
		{"Retry-After as a date wins", 429, http.Header{"Retry-After": {now.Add(9 * time.Second).Format(http.TimeFormat)}, "X-Ratelimit-Reset-Tokens": {"6m0s"}}, 9 * time.Second},
		{"not on a 503", 503, http.Header{"X-Ratelimit-Reset-Requests": {"1s"}, "X-Ratelimit-Reset-Tokens": {"6m0s"}}, 0},
		{"not on a 500", 500, http.Header{"X-Ratelimit-Reset-Tokens": {"1s"}}, 0},
		{"Retry-After on a 503 still counts", 503, http.Header{"Retry-After": {"4"}, "X-Ratelimit-Reset-Tokens": {"6m0s"}}, 4 * time.Second},
		{"none", 429, http.Header{}, 0},
		{"lower-case names, as on the wire", 429, headerFromWire("x-ratelimit-reset-requests: 5s\r\nx-ratelimit-reset-tokens: 250ms\r\n"), 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfterStatus(tt.status, tt.header, now); got != tt.want {
				t.Errorf("retryAfterStatus(%d, %v) = %v, want %v", tt.status, tt.header, got, tt.want)
			}
		})
	}
}

// headerFromWire parses header lines as net/http would receive them.
func headerFromWire(lines string) http.Header {
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET / HTTP/1.1\r\nHost: x\r\n" + lines + "\r\n")))
	if err != nil {
		panic(err)
	}
	return req.Header
}
