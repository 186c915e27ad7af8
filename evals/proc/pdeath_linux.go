package proc

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill cmd's process if rubric dies, crash or
// not, so that the long-lived processes of protocol "lines" cannot outlive
// it. Call it after killGroup. The signal goes to the process alone, not to
// processes it started. (Linux sends it when the thread that started the
// process ends; Go ends threads only for goroutines locked to them, which
// rubric does not use.)
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
