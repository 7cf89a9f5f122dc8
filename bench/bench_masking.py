"""Cost of masking card and document numbers per message (conversations/card_numbers.py).

    .venv/bin/python bench/bench_masking.py

Prints microseconds per call for typical texts: most messages have fewer than 13
digits and stop at the pre-check; the worst case is a long letter full of numbers.
"""

from __future__ import annotations

import timeit

from omniline.conversations.card_numbers import mask_message_fields
from omniline.conversations.document_numbers import mask_documents

TEXTS = {
    "short chat line": "Hello, when will my loan be approved? Thanks",
    "order + phone (no card)": "Order 12345678, call me on +7 999 123-45-67 please",
    "card number": "My card is 4276 8301 2345 6781, please refund",
    "2 KB letter, no digits": "Dear support, " + "the payment did not arrive. " * 75,
    "2 KB letter, many numbers": "Invoice 2026-001234 line 12345 amount 99.50; " * 45,
}


def main() -> None:
    meta = {"subject": "Refund request"}
    print(f"{'text':28} {'cards µs':>9} {'documents µs':>13}")
    for name, text in TEXTS.items():
        n = 20_000
        cards = timeit.timeit(lambda t=text: mask_message_fields(t, meta), number=n) / n * 1e6
        docs = timeit.timeit(lambda t=text: mask_documents(t), number=n) / n * 1e6
        print(f"{name:28} {cards:9.2f} {docs:13.2f}")


if __name__ == "__main__":
    main()
