"""Secrets never reach a log line: tokens inside URLs and known secret parameters are masked
in every record, whatever logger wrote it (an HTTP client logging a Telegram Bot API address
would otherwise write the bot's token)."""

from __future__ import annotations

import logging
import re
from typing import Any

PATTERNS = (
    # Telegram Bot API addresses carry the token in the path: /bot123456:AA.../sendMessage
    (re.compile(r"/bot\d+:[A-Za-z0-9_-]+"), "/bot<redacted>"),
    # access_token=..., verify_token=..., password=... in query strings and form bodies
    (
        re.compile(r"((?:access|verify|page_access|bot)_token|password|secret)=([^&\s\"']+)", re.I),
        r"\1=<redacted>",
    ),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]{12,}", re.I), r"\1<redacted>"),
)

_installed = False


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def install() -> None:
    """Wraps the log record factory once per process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
