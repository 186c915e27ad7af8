// Package view is rubric view: a local web app over the run history and
// run folders. It lists runs, shows a run's summary (targets, criteria,
// slices, the gate with its margins, repeats, classification metrics),
// pages its cases from a compact in-memory case index filtered on the
// server, shows a case as it was sent and scored, compares two runs case
// by case, draws a suite's trends as SVG, and keeps reviewers' verdicts in
// the run folder's reviews.jsonl, where rubric export finds them.
//
// It reads the history and the run folders, never changing them (but for
// the reviews), and reads each result by its offset in results.jsonl, so a
// run may write while it serves. Pages are html/template, the stylesheet
// and the one small script are embedded: no build step, no remote asset.
// Every response has a strict Content-Security-Policy; a review needs a
// same-origin form with the server's token; a viewer bound to another
// address than loopback wants its token on every request.
package view
