package evalstest

import "context"

// CanceledAfter returns a context whose Err reports it canceled once it has
// been asked n times: a Ctrl-C at a known place in code that polls
// ctx.Err() as it goes (a dataset check every so many cases).
func CanceledAfter(n int) context.Context {
	return &endingCtx{Context: context.Background(), left: n}
}

type endingCtx struct {
	context.Context
	left int
}

func (c *endingCtx) Err() error {
	if c.left--; c.left < 0 {
		return context.Canceled
	}
	return nil
}
