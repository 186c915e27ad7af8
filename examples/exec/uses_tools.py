#!/usr/bin/env python3
"""A rubric exec scorer: does the shell command use the tools the case expects?

rubric runs it with the case as one JSON document on stdin:
  {"case_id": ..., "input": [messages], "output": "the answer",
   "expected": ..., "vars": {...}, "metadata": {...}, "tags": [...]}
and reads one JSON object from stdout:
  {"score": 0..1, "pass": true/false (optional), "reason": "..." (optional)}

With --lines (for "protocol": "lines") it keeps running: it reads one case
per line of stdin and answers each with one line on stdout, until stdin ends.

The score is the share of the words in expected.must_use (programs and
flags, such as "wc" and "-l") that appear as words of the command.
Diagnostics go to stderr; a non-zero exit leaves the case unscored.
"""

import json
import shlex
import sys


def words(command):
    """The words of a shell command, without $( ) ` ; | & around them."""
    try:
        parts = shlex.split(command, comments=True)
    except ValueError:  # an unclosed quote: split on white space instead
        parts = command.split()
    return {p.lstrip("$(`").rstrip(")`;&|") for p in parts}


def score(doc):
    """The result object for one case, or None after saying why on stderr."""
    wanted = (doc.get("expected") or {}).get("must_use")
    if not wanted:
        print("case %s has no expected.must_use" % doc["case_id"], file=sys.stderr)
        return None
    used = words(doc["output"])
    missing = [w for w in wanted if w not in used]
    if missing:
        reason = "does not use " + ", ".join(missing)
    else:
        reason = "uses " + ", ".join(wanted)
    return {"score": round((len(wanted) - len(missing)) / len(wanted), 4), "reason": reason}


def main():
    if sys.argv[1:] == ["--lines"]:
        for line in sys.stdin:
            result = score(json.loads(line))
            if result is None:
                return 1  # rubric leaves the case unscored and starts anew
            print(json.dumps(result), flush=True)
        return 0
    result = score(json.load(sys.stdin))
    if result is None:
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
