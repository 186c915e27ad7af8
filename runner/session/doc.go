// Package session runs the life of a run: it creates or resumes the run
// folder (runner/rundir), runs the pipeline (runner.Run, runner.Score) on
// suites that runner/build made ready, compares the results with a baseline
// run or between targets, computes the gate's verdict once with all of that
// and the error budget, writes the report, hands each suite to the outputs
// beside the folder, records the run in the run history (runner/history),
// closes everything the suites hold, and returns an Outcome that carries
// the exit code. rubric run and rubric score are thin layers over it.
package session
