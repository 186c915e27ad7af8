// Package proc runs the programs a suite names, for the exec criterion and
// the exec provider alike: a command given as a JSON array and run without a
// shell (ParseCommand, Resolve), in its folder, with an environment that
// withholds rubric's credentials unless told otherwise (Environ); once per
// request (Cmd.Run), or kept running to answer a line per request (Pool,
// protocol "lines"). A command that runs past its timeout is killed with
// every process it started (its process group, on Unix); on Linux the kept
// processes are also killed if rubric dies. What a process writes on stderr
// is kept, its start and its end (Stderr), for the messages of its callers,
// which word every failure (Error) in their own terms.
//
// It imports nothing of the module but evals, for the errors about a field
// of the suite (evals.FieldError).
package proc
