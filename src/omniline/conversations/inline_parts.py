"""Pictures of a message's HTML that are parts of the message itself (an email's ``cid:``
images, RFC 2392): shown through the attachment download path, which checks access.

The stored HTML keeps ``cid:`` sources; :func:`link_inline_parts` points them at the
attachments when a message is shown, so the link is always the current one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import unquote

# <img ... src="cid:..."> in HTML cleaned by clean_html (attributes always in double quotes).
_CID_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")\s*cid:([^"]*)"', re.IGNORECASE)


def _cid(raw: str) -> str:
    return unquote(html.unescape(raw)).strip().strip("<>")


def cid_references(safe_html: str) -> set[str]:
    """The Content-IDs the pictures of a cleaned letter show."""
    return {_cid(m.group(2)) for m in _CID_SRC.finditer(safe_html)}


def link_inline_parts(safe_html: str, urls: Mapping[str, str]) -> str:
    """Cleaned HTML with ``cid:`` pictures pointing at ``urls[content_id]``; a picture whose
    part is not there keeps its ``cid:`` (the viewer shows nothing for it)."""

    def sub(m: re.Match[str]) -> str:
        url = urls.get(_cid(m.group(2)))
        return f'{m.group(1)}{html.escape(url)}"' if url else m.group(0)

    return _CID_SRC.sub(sub, safe_html)
