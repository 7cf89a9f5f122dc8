"""Email: one link per score in the letter, the rating page without a login or JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import update

from omniline import db
from omniline.kit.clock import utcnow
from omniline.surveys.models import SurveyRequest
from tests.channels.email.conftest import SmtpSink
from tests.channels.email.test_outbound_support import customer_writes, email_inbox, smtp_settings
from tests.conftest import Demo
from tests.surveys.support import answers, enable, handled_and_resolved, requests_of, run_jobs

LINK = re.compile(r"https?://\S+/rate/(\S+?)\?score=(\d+)")


async def _survey_letter(
    client: httpx.AsyncClient, demo: Demo, smtp: SmtpSink, subject: str = "Card blocked"
) -> tuple[int, dict[int, str]]:
    inbox_id = await email_inbox(demo, smtp_settings(smtp))
    await enable(client, inbox_id, texts={"en": {"question": "How did Anna do?"}})
    conv_id = await customer_writes(
        demo, inbox_id, subject=subject, text="My card is blocked", message_id=f"<{subject}@x>"
    )
    await handled_and_resolved(client, demo, conv_id)
    await run_jobs()
    letters = [s.message for s in smtp.letters]
    bodies = []
    for letter in letters:
        for part in letter.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                bodies.append(payload.decode(part.get_content_charset() or "utf-8"))
    survey = [b for b in bodies if "How did Anna do?" in b]
    assert len(survey) == 1, bodies
    links = {int(score): token for token, score in LINK.findall(survey[0])}
    assert sorted(links) == [1, 2, 3, 4, 5]
    return conv_id, links


def _path(token: str, score: int | None = None) -> str:
    return f"/rate/{token}" + (f"?score={score}" if score is not None else "")


async def test_one_click_score_then_one_comment(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    conv_id, links = await _survey_letter(client, demo, smtp_server)
    r = await client.get(_path(links[5], 5))
    assert r.status_code == 200
    assert "Thank you for your rating!" in r.text
    assert 'name="comment"' in r.text  # the comment is offered next
    (answer,) = await answers(client)
    assert (answer["score"], answer["channel"], answer["conversation_id"]) == (5, "email", conv_id)

    # Another star of the same letter changes nothing: one answer.
    r = await client.get(_path(links[1], 1))
    assert r.status_code == 200
    assert [a["score"] for a in await answers(client)] == [5]

    r = await client.post(_path(links[5]), data={"comment": "<script>alert(1)</script> great"})
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; great" in r.text
    r = await client.post(_path(links[5]), data={"comment": "second thoughts"})
    assert r.status_code == 409
    (answer,) = await answers(client)
    assert answer["comment"] == "<script>alert(1)</script> great"


async def test_the_form_works_without_javascript(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    _conv_id, links = await _survey_letter(client, demo, smtp_server)
    page = await client.get(_path(links[3]))
    assert page.status_code == 200
    assert page.text.count('type="radio" name="score"') == 5
    assert "How did Anna do?" in page.text
    r = await client.post(_path(links[3]), data={"comment": "no score"})
    assert r.status_code == 422  # a score is needed first
    r = await client.post(_path(links[3]), data={"score": "3", "comment": "ok"})
    assert r.status_code == 200
    (answer,) = await answers(client)
    assert (answer["score"], answer["comment"]) == (3, "ok")


async def test_expired_and_forged_links(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    conv_id, links = await _survey_letter(client, demo, smtp_server)
    (req,) = await requests_of(conv_id)
    async with db.unit_of_work() as session:
        await session.execute(
            update(SurveyRequest)
            .where(SurveyRequest.id == req.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    r = await client.get(_path(links[4], 4))
    assert r.status_code == 200
    assert "This survey has expired" in r.text
    r = await client.post(_path(links[4]), data={"score": "4"})
    assert r.status_code == 409
    assert await answers(client) == []
    forged = links[4][:-2] + ("AA" if not links[4].endswith("AA") else "BB")
    r = await client.get(_path(forged, 4))
    assert r.status_code == 404
    assert "This link is not valid" in r.text


async def test_the_page_speaks_the_customers_language(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    conv_id, links = await _survey_letter(client, demo, smtp_server)
    (req,) = await requests_of(conv_id)
    async with db.unit_of_work() as session:
        await session.execute(
            update(SurveyRequest).where(SurveyRequest.id == req.id).values(language="uk")
        )
    page = await client.get(_path(links[2]), headers={"Accept-Language": "en"})
    assert 'lang="uk"' in page.text
    assert "Оцініть нашу допомогу" in page.text  # the page's own words
    r = await client.get(_path(links[2], 2))
    assert "Дякуємо за оцінку!" in r.text  # the default thanks in Ukrainian
