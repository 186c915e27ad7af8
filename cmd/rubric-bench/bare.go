//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The bare client is the yardstick of the throughput scenarios: the least a
// Go program must do to send the scenario's requests. It runs in a process
// of its own, as rubric does, so that the bench measures its wall time, CPU
// and memory the same way. It reads the same dataset, renders the same two
// messages into the same request bodies, byte for byte (the endpoint checks
// it: both runs must send the same number of body bytes), and sends them at
// the same concurrency through an http.Transport with the settings of
// rubric's openai provider. It reads each response whole and decodes the
// message content, as any client must, and counts the answers that carry
// the expected label. Streaming, it asks for events as rubric does, reads
// them line by line, decodes each chunk and joins the content, and counts
// an answer only when the stream ended with [DONE]. What it leaves out is what rubric adds: retries, rate
// limits, the cache, scoring, aggregates and the journal.
//
// The bench starts it by running its own executable with bareEnv set;
// TestMain does the same for the tests' binary.

// bareEnv, when set in the environment, makes the process the bare client.
const bareEnv = "RUBRIC_BENCH_BARE_CLIENT"

// bareArgs are what the bench tells the client, in the environment
// variable bareEnv as JSON.
type bareArgs struct {
	URL         string `json:"url"`
	Dataset     string `json:"dataset"`
	Concurrency int    `json:"concurrency"`
	Stream      bool   `json:"stream,omitempty"`
}

// bareMain runs the bare client when bareEnv is set, and returns whether it
// did and the exit code.
func bareMain(stderr io.Writer) (int, bool) {
	v, ok := os.LookupEnv(bareEnv)
	if !ok {
		return 0, false
	}
	var a bareArgs
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		fmt.Fprintf(stderr, "bare client: %s: %v\n", bareEnv, err)
		return 2, true
	}
	n, err := bareRun(context.Background(), a)
	if err != nil {
		fmt.Fprintf(stderr, "bare client: %v\n", err)
		return 1, true
	}
	fmt.Fprintf(stderr, "bare client: %d answers\n", n)
	return 0, true
}

// The messages the bench's suite renders (see writeInputs).
const (
	systemPrompt = `Label the support ticket. Answer with JSON such as {"label": "billing"}.`
	wantContent  = `{"label": "billing"}`
)

type bareMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type bareBody struct {
	Model         string             `json:"model"`
	Messages      []bareMessage      `json:"messages"`
	Stream        bool               `json:"stream,omitempty"`
	StreamOptions *bareStreamOptions `json:"stream_options,omitempty"`
}

type bareStreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// bareChunk is the part of a chunk of a streamed answer the client reads.
type bareChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
}

type bareCase struct {
	ID   string `json:"id"`
	Vars struct {
		Ticket string `json:"ticket"`
	} `json:"vars"`
}

type bareAnswer struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
}

// bareRun sends one request per line of the dataset and returns how many
// answers carried the expected content.
func bareRun(ctx context.Context, a bareArgs) (int64, error) {
	f, err := os.Open(a.Dataset)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(100, a.Concurrency),
		MaxIdleConnsPerHost:   a.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := a.URL + "/chat/completions"

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan []byte, a.Concurrency)
	var good atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	for range a.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for line := range lines {
				if ctx.Err() != nil {
					continue
				}
				ok, err := bareSend(ctx, client, url, line, a.Stream)
				if err != nil {
					fail(err)
					continue
				}
				if ok {
					good.Add(1)
				}
			}
		}()
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && ctx.Err() == nil {
		lines <- bytes.Clone(sc.Bytes())
	}
	close(lines)
	wg.Wait()
	if err := sc.Err(); err != nil {
		return good.Load(), err
	}
	return good.Load(), firstErr
}

// bareSend renders one case, sends it and checks the answer.
func bareSend(ctx context.Context, client *http.Client, url string, line []byte, stream bool) (bool, error) {
	var c bareCase
	if err := json.Unmarshal(line, &c); err != nil {
		return false, err
	}
	req := bareBody{Model: "bench", Messages: []bareMessage{
		{Role: "system", Content: systemPrompt},
		{Role: "user", Content: "Ticket " + c.ID + ": " + c.Vars.Ticket},
	}}
	if stream {
		req.Stream, req.StreamOptions = true, &bareStreamOptions{IncludeUsage: true}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return false, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hreq)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if stream {
		return bareStream(resp)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, errors.New("status " + strconv.Itoa(resp.StatusCode))
	}
	var ans bareAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		return false, err
	}
	return len(ans.Choices) > 0 && ans.Choices[0].Message.Content == wantContent, nil
}

// bareStream reads a streamed answer: the data lines of its events, each
// chunk decoded and its content joined, until [DONE].
func bareStream(resp *http.Response) (bool, error) {
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return false, errors.New("status " + strconv.Itoa(resp.StatusCode))
	}
	sc := bufio.NewScanner(resp.Body)
	var text []byte
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
		if !ok {
			continue // the empty line that ends an event
		}
		if string(data) == "[DONE]" {
			for sc.Scan() { // the end of the body, so that the connection is reused
			}
			return string(text) == wantContent, sc.Err()
		}
		var ch bareChunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return false, err
		}
		if len(ch.Choices) > 0 {
			text = append(text, ch.Choices[0].Delta.Content...)
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return false, errors.New("the stream ended without [DONE]")
}
