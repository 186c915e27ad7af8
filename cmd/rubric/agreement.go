package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/runner/report"
	"github.com/rubric-eval/rubric/runner/session"
)

func agreementCommand() *cli.Command {
	return &cli.Command{
		Name:      "agreement",
		Usage:     "compare a run's LLM judge verdicts with people's, and record the agreement for judge.NAME gates",
		ArgsUsage: "RUN (a run's folder, its id, latest, SUITE@latest or SUITE@~N)",
		Description: `People's verdicts come from reviewed sheets (--reviews, as rubric export
writes them: accept is a pass, reject a fail, skip or none no verdict), a
run folder's reviews.jsonl from rubric view (--reviews DIR/reviews.jsonl, and
the run's own when nothing else is given), or a metadata field of the cases
(--label-field). Each judge criterion's agreement is printed and recorded in
the run history, under the judge's rubric and target, where the gates
judge.NAME.kappa, .agreement and .n find it.

Exit codes: 0 recorded; 2 a mistake on the command line, a sheet or a run
that does not read; 3 the history could not be written.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "reviews", Usage: "a reviewed sheet `FILE` (.csv, .jsonl) or a run's reviews.jsonl; repeatable, one reviewer each"},
			&cli.StringFlag{Name: "label-field", Usage: "the cases' metadata field `FIELD` that holds a person's verdict (true/false, pass/fail, accept/reject)"},
			&cli.StringSliceFlag{Name: "criterion", Usage: "only the judge criterion `NAME` (repeatable); all of them by default"},
			&cli.BoolFlag{Name: "json", Usage: "print the agreements as one JSON array"},
			&cli.BoolFlag{Name: "markdown", Usage: "print the agreements as Markdown"},
			outFlag("`DIR` where run ids (and latest) are looked up, as given to rubric run --out"),
		},
		Action: agreement,
	}
}

// agreement is rubric agreement.
func agreement(cliCtx *cli.Context) error {
	if cliCtx.NArg() != 1 {
		return usageError("agreement: expected one run, as in: rubric agreement latest --reviews reviewed.csv")
	}
	if cliCtx.Bool("json") && cliCtx.Bool("markdown") {
		return usageError("agreement: give --json or --markdown, not both")
	}
	ctx, stdout, stderr := cliCtx.Context, cliCtx.App.Writer, cliCtx.App.ErrWriter
	dir, err := findRun(ctx, cliCtx.Args().First(), cliCtx.String("out"))
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("agreement: %w", err))
	}
	as, err := session.Agreements(session.AgreementOptions{Run: dir, Reviews: cliCtx.StringSlice("reviews"),
		LabelField: cliCtx.String("label-field"), Judges: cliCtx.StringSlice("criterion")})
	if err != nil {
		return withCode(session.Code(err, exitBadInput), fmt.Errorf("agreement: %w", err))
	}
	switch {
	case cliCtx.Bool("json"):
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(as)
	case cliCtx.Bool("markdown"):
		err = report.AgreementMarkdown(stdout, as)
	default:
		err = report.AgreementText(stdout, as)
	}
	if err != nil {
		return withCode(exitIncomplete, err)
	}
	h, err := openHistory(ctx)
	if err != nil {
		return withCode(historyErrorCode(err), fmt.Errorf("agreement: not recorded: %w", err))
	}
	defer h.Close()
	for i := range as {
		if err := h.RecordAgreement(ctx, &as[i]); err != nil {
			return withCode(exitIncomplete, fmt.Errorf("agreement: not recorded: %w", err))
		}
		fmt.Fprintf(stderr, "rubric: recorded the agreement of judge %s (n %d) for its rubric and target: gate on it with judge.%s.kappa\n", as[i].Judge, as[i].N, as[i].Judge)
	}
	return nil
}
