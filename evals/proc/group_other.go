//go:build !unix

package proc

import "os/exec"

// killGroup leaves cancelling to os/exec, which kills the process itself.
func killGroup(*exec.Cmd) {}
