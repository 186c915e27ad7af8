// Package report writes a run's results and summary for people and machines:
// the JSONL journal of results (one line each, written as they complete), the
// JSON report (versioned by evals.ReportVersion) and the terminal summary;
// and for CI, JUnit XML, a Markdown summary, CSV and a self-contained HTML
// page, streamed from the journal (see SuiteWriter), and GitHub Actions
// annotations for failed gates.
package report
