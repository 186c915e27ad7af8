package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/runner/history"
)

func trendCommand() *cli.Command {
	return &cli.Command{
		Name:      "trend",
		Usage:     "follow a metric of a suite across the runs in the run history",
		ArgsUsage: "SUITE",
		Description: `SUITE is a suite's name, as rubric history shows it. For each target, the
metric in every complete run, oldest first, with its interval and a
sparkline; a change the paired comparison of the two runs' cases calls
significant (McNemar's test for a pass rate, the paired bootstrap interval
for a mean) is marked with ▲ or ▼.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "only target `NAME`"},
			&cli.StringFlag{Name: "metric", Aliases: []string{"m"}, Value: "pass_rate", Usage: "the `METRIC`, as a gate names it: pass_rate, mean, error_rate, latency.p95, criteria.NAME.mean, slice(tag=X).pass_rate, ..."},
			&cli.IntFlag{Name: "limit", Value: 20, Usage: "the newest `N` runs; 0 for all"},
			&cli.BoolFlag{Name: "json", Usage: "print the trends as one JSON array"},
		},
		Action: showTrend,
	}
}

// showTrend is rubric trend.
func showTrend(cliCtx *cli.Context) error {
	if cliCtx.NArg() != 1 {
		return usageError("trend: expected one suite name, as in: rubric trend support-triage --metric pass_rate")
	}
	limit := cliCtx.Int("limit")
	if limit < 0 {
		return usageError("trend: --limit must be 0 (all) or more, got %d", limit)
	}
	h, err := openHistoryToRead(cliCtx.Context)
	if err != nil {
		return withCode(historyErrorCode(err), err)
	}
	if h == nil {
		return withCode(exitBadInput, fmt.Errorf("trend: the run history is empty: runs are recorded as rubric run ends"))
	}
	defer h.Close()
	trends, err := history.Trends(cliCtx.Context, h, cliCtx.Args().First(), cliCtx.String("target"), cliCtx.String("metric"), limit)
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("trend: %w", err))
	}
	if cliCtx.Bool("json") {
		enc := json.NewEncoder(cliCtx.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(trends)
	}
	return writeTrends(cliCtx.App.Writer, trends)
}
