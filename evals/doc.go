// Package evals is rubric's domain: what a suite says and what a run
// produces, with no dependency on the rest of the module; everything else
// depends on it.
//
//   - The suite: Suite, Case, TargetSpec, CriterionSpec, the templates of its
//     prompts (Suite.Render is the one place a prompt is rendered) and its
//     gates (ParseGate, and the gate-metric table).
//   - Loading it: Parse and Load read a suite file and the project config,
//     validate them against the embedded JSON Schema, decode strictly and
//     check what they say, reporting every Problem at once with its file,
//     line:column and JSON path. Building the criteria and targets through
//     their registries is runner/build's.
//   - The small interfaces the pipeline calls, which criteria, providers and
//     sinks implement elsewhere: Provider (and Embedder, BodyBuilder), Scorer
//     and Sink, with Request, Response, Input, Verdict and Endpoint.
//   - What a run produces: Result (a line of results.jsonl) and Summary
//     (report.json).
package evals
