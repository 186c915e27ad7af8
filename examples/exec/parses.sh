#!/bin/sh
# A rubric exec scorer: can sh parse the command? It is checked with sh -n,
# never run. rubric gives the case as JSON on stdin (the answer is in
# .output) and reads {"score": 0..1, "reason": "..."} from stdout. Needs jq.
set -u
command=$(jq -r '.output') || exit 1
if errors=$(printf '%s\n' "$command" | sh -n 2>&1); then
	echo '{"score": 1}'
else
	jq -cn --arg e "$errors" '{score: 0, reason: ("sh cannot parse it: " + $e)}'
fi
