// Package runner is the engine of a run: the pipeline that sends each case
// to each target and scores the responses (Run), or scores recorded
// responses (Score), both through one pipeline whose single collector
// writes every result and aggregates it; the aggregates per target,
// criterion, slice and repeat, with their intervals; the comparison of two
// runs or two targets case by case (Compare); and the gates' verdict
// (CheckGates, Judge, ApplyErrorBudget).
//
// It depends on evals and runner/stats only. What builds a run (runner/build)
// and lives it (runner/session) depend on it.
package runner
