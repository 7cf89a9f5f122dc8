"""Unicode bidirectional controls out of names, subjects and file names.

U+202E (right-to-left override) makes "invoice‮gpj.exe" read as "invoiceexe.jpg"; the
embedding, override and isolate controls reorder whatever follows them. Plain left-to-right
and right-to-left marks stay (they cannot turn a run of text around, and RTL writing uses
them). Used where such text is stored and where it is shown.
"""

from __future__ import annotations

import re

CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def neutralise(value: str) -> str:
    return CONTROLS.sub("", value) if value else value
