package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/urfave/cli/v2"
)

// profileFlag is the hidden --cpuprofile FILE, for measuring where rubric
// spends its CPU: go tool pprof FILE. rubric-bench passes it.
func profileFlag() cli.Flag {
	return &cli.StringFlag{Name: "cpuprofile", Hidden: true, Usage: "write a CPU profile of the command to `FILE`"}
}

// startProfile starts the CPU profile --cpuprofile asks for; the returned
// stop writes it.
func startProfile(cliCtx *cli.Context) (stop func() error, err error) {
	path := cliCtx.String("cpuprofile")
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, usageError("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, usageError("--cpuprofile: %v", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		return nil
	}, nil
}
