"""Pictures inside a letter (HTML ``<img src="cid:...">`` naming a part of the letter): the
letter's HTML points them at the part's attachment URL, which checks access like any file,
and such parts are marked inline rather than listed as files."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

from omniline import db
from omniline.channels.email import inbound
from omniline.config import Settings
from tests.channels.email.support import SUPPORT, email_inbox, messages_of
from tests.conftest import Demo, bearer, staff_token

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


def letter_with_picture() -> bytes:
    """As mail programs write it: multipart/related holding the HTML and the picture it shows
    by Content-ID, plus a picture nobody refers to and an ordinary attachment."""
    msg = EmailMessage()
    msg["From"] = "Anna Petrova <anna@customer.example>"
    msg["To"] = SUPPORT
    msg["Subject"] = "Error on the payment page"
    msg["Message-ID"] = make_msgid(domain="customer.example")
    msg.set_content("The payment page shows an error, see the screenshot.")
    msg.add_alternative(
        '<p>The payment page shows an error:</p><img src="cid:shot.1@customer.example" '
        'alt="screenshot" onerror="steal()"><img src="https://tracker.example/p.gif">',
        subtype="html",
    )
    html = msg.get_body(("html",))
    assert html is not None
    html.add_related(PNG, maintype="image", subtype="png", cid="<shot.1@customer.example>")
    html.add_related(GIF, maintype="image", subtype="gif", cid="<unused@customer.example>")
    msg.add_attachment(b"%PDF-1.4 contract", maintype="application", subtype="pdf",
                       filename="contract.pdf")  # fmt: skip
    return msg.as_bytes()


async def store_letter(demo: Demo, settings: Settings, queue: str) -> int:
    """The letter received by a mailbox whose conversations go to ``queue``; its message id."""
    inbox_id = await email_inbox(demo, queue_id=demo.queues[queue])
    box = inbound.Mailbox(inbox_id, demo.workspace_id, SUPPORT)
    prepared = inbound.prepare(box, [inbound.Incoming(letter_with_picture())], settings)
    async with db.unit_of_work() as session:
        await inbound.store(session, box, prepared)
    (msg,) = await messages_of(inbox_id)
    return msg.conversation_id


async def test_a_picture_inside_a_letter_shows_through_the_checked_download(
    client: httpx.AsyncClient, demo: Demo, settings: Settings
) -> None:
    conv_id = await store_letter(demo, settings, "Business assistants")
    # agent2 works the queue; agent does not.
    member = bearer(await staff_token(client, "agent2@demo.omniline", "demo-agent"))
    outsider = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))

    r = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=member)
    assert r.status_code == 200, r.text
    (message,) = r.json()["items"]
    files = {a["content_type"]: a for a in message["attachments"]}
    assert sorted(files) == ["application/pdf", "image/gif", "image/png"]
    picture = files["image/png"]
    assert picture["inline"] is True
    assert files["application/pdf"]["inline"] is False
    assert files["image/gif"]["inline"] is False  # a part the HTML does not show is a file

    html = message["meta"]["html"]
    assert f'<img src="{picture["url"]}" alt="screenshot">' in html
    assert picture["url"] == f"/api/v1/attachments/{picture['id']}"
    for gone in ("cid:", "tracker.example", "onerror", "steal"):
        assert gone not in html

    r = await client.get(picture["url"], headers=member)
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert (await client.get(picture["url"], headers=outsider)).status_code == 404
    assert (await client.get(picture["url"])).status_code == 401
