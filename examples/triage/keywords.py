#!/usr/bin/env python3
"""A model for rubric's exec provider: ticket triage by keywords, the
baseline a language model has to beat.

rubric runs it with the request as one line of JSON on stdin:
  {"messages": [{"role": "system", "content": ...}, {"role": "user", ...}],
   "case_id": "T-1001", "repeat": 0, "model": "", "params": {}}
and reads the answer as one JSON object from stdout:
  {"text": "the answer", "usage": {...} (optional), "finish": "stop" (optional)}

With --lines (for "protocol": "lines") it keeps running: it reads one
request per line of stdin and answers each with one line on stdout,
flushed, until stdin ends.

The answer is what the triage suite asks of a model: JSON with the
category, the priority and a first reply, found from words in the ticket.
Diagnostics go to stderr; a non-zero exit fails the request.
"""

import json
import re
import sys

# The first category with a word in the ticket wins; the order matters.
CATEGORIES = [
    ("abuse", ["phishing", "spam", "brute-force", "copyright", "hammered", "abuse"]),
    ("feature_request", ["feature request", "could you add", "would love", "would be great",
                         "any chance", "plan to support", "we'd like to request"]),
    ("shipping", ["arrive", "shipped", "hoodie", "sticker", "yubikey", "security keys", "appliance"]),
    ("billing", ["charge", "invoice", "refund", "payment", "paiement", "billed", "discount",
                 "subscription", "non-payment"]),
    ("account", ["password", "log in", "authenticator", "saml", "owner", "account",
                 "company name", "cuenta"]),
]

# The first priority with a word in the ticket wins; medium otherwise.
PRIORITIES = [
    ("urgent", ["urgent", "losing", "nobody", "suspended"]),
    ("high", ["asap", "phishing", "hammered", "p99", "yesterday", "failed last night",
              "still listed", "lost my phone", "können"]),
    ("low", ["feature request", "could you add", "would love", "would be great", "any chance",
             "plan to support", "quick q", "how do i", "discount", "sticker", "hoodie", "413"]),
]

WHEN = {"urgent": "within the hour", "high": "today", "medium": "within one business day",
        "low": "within two business days"}


def first_match(rules, text, default):
    """The name of the first rule one of whose words text holds."""
    for name, words in rules:
        if any(w in text for w in words):
            return name
    return default


def triage(request):
    """The answer object for one request."""
    user = [m["content"] for m in request["messages"] if m["role"] == "user"][-1]
    ticket = user.lower()
    category = first_match(CATEGORIES, ticket, "technical")
    priority = first_match(PRIORITIES, ticket, "medium")
    name = re.match(r"Customer: (.+?) \(", user)
    reply = "Thank you for contacting Acme Cloud support{}. Your ticket is with our {} team, who will get back to you {}.".format(
        ", " + name.group(1) if name else "", category.replace("_", " "), WHEN[priority])
    answer = {"category": category, "priority": priority, "reply": reply}
    return {"text": json.dumps(answer), "finish": "stop"}


def main():
    if sys.argv[1:] == ["--lines"]:
        for line in sys.stdin:
            print(json.dumps(triage(json.loads(line))), flush=True)
        return 0
    print(json.dumps(triage(json.load(sys.stdin))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
