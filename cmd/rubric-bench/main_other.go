//go:build !unix

// Command rubric-bench measures the rubric binary's peak memory through
// wait4's rusage, which only Unix systems have; see main.go.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "rubric-bench: runs on Unix only: it reads the rubric process's peak RSS from wait4")
	os.Exit(1)
}
