// Package stats holds the statistics behind rubric's aggregates,
// comparisons and gates: confidence intervals for pass rates (Wilson) and
// means (percentile bootstrap), McNemar's exact test, reducers over a case's
// repeats, latency quantiles and win/tie/loss counts. The pass@k and pass^k
// estimators are evals.RepeatSummary.PassK, next to the figures they read,
// so that the gate metrics, which evals defines, can compute them.
//
// Every function is deterministic: the bootstrap draws from a PCG generator
// seeded by the caller and consumes it in a documented order, so the same
// seed gives the same interval on every run and platform. Each function's
// comment states its exact definition and where it comes from;
// docs/statistics.md says the same for users.
//
// Nothing here returns NaN or ±Inf or panics. A sample with nothing in it
// returns an error wrapping ErrNoData, so a caller can say "no data" instead
// of printing a number; an argument out of range (a negative count, a level
// outside (0, 1), a NaN value) returns an error naming the argument and what
// was expected.
package stats
