"""Cost, on the ingest hot path, of asking whether a message answers a survey.

    .venv/bin/python bench/bench_survey_replies.py

Every incoming message of every channel passes ``surveys.replies.wants`` before the ingest
writer stores it (conversations/ingest.py). It must stay a test without I/O: prints
microseconds per call for typical messages; only bare digits and survey button payloads
go on to a database lookup.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_machine
from omniline.conversations.inbound import InboundMessage
from omniline.surveys.replies import wants

CASES = {
    "short chat line": InboundMessage(1, 1, "Hello, when will my loan be approved? Thanks"),
    "2 KB letter": InboundMessage(1, 1, "Dear support, " + "the payment did not arrive. " * 75),
    "bot button payload": InboundMessage(1, 1, "Loan status", meta={"button_payload": "menu/0"}),
    "bare digit (looked up)": InboundMessage(1, 1, " 4 "),
    "survey button (looked up)": InboundMessage(1, 1, "4", meta={"button_payload": "survey:123:4"}),
}


def main() -> None:
    print_machine()
    print(f"{'message':28} {'wants µs':>9} {'answer?':>8}")
    for name, item in CASES.items():
        n = 200_000
        cost = timeit.timeit(lambda i=item: wants(i), number=n) / n * 1e6
        print(f"{name:28} {cost:9.3f} {wants(item)!s:>8}")


if __name__ == "__main__":
    main()
