"""Reading letters: the customer's words apart from quotes and signatures, safe HTML, automatic
letters recognised, and bad letters read as far as they go."""

from __future__ import annotations

import pytest

from omniline.channels.email import body
from omniline.channels.email.parse import parse
from tests.channels.email.support import letter

FOLDED = [
    (
        "English reply wrapped over two lines",
        "Still broken.\n\nOn Mon, 3 Nov 2026 at 10:00, MicroLend Support <\n"
        "support@microlend.example> wrote:\n> Please try again.\n",
        "Still broken.",
    ),
    (
        "Russian reply",
        "Спасибо, всё работает.\n\n3 ноября 2026 г., в 10:00, MicroLend "
        "<support@microlend.example> написал(а):\n> Попробуйте ещё раз.\n",
        "Спасибо, всё работает.",
    ),
    (
        "Russian Gmail without a verb",
        "Понял.\n\nПн, 3 нояб. 2026 г. в 10:00, Служба поддержки <support@microlend.example>:\n"
        "> Добрый день\n",
        "Понял.",
    ),
    (
        "Ukrainian Thunderbird",
        "Дякую!\n\n03.11.2026 10:00, Олена пише:\n> Добрий день\n",
        "Дякую!",
    ),
    (
        "Outlook separator",
        "See below.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nOld text",
        "See below.",
    ),
    (
        "Outlook header block in Russian",
        "Да, верно.\n\nОт: Служба поддержки <support@microlend.example>\n"
        "Отправлено: 3 ноября 2026 г. 10:00\nКому: Анна\nТема: Платёж\n\nСтарый текст",
        "Да, верно.",
    ),
    ("Signature", "Please call me.\n-- \nAnna Petrova\n+380 44 000 00 00", "Please call me."),
    ("Phone footer", "Ok thanks\n\nSent from my iPhone", "Ok thanks"),
    ("Trailing quote", "Yes.\n\n> Do you agree?\n> Reply yes or no.", "Yes."),
]


@pytest.mark.parametrize(("label", "text", "visible"), FOLDED, ids=[f[0] for f in FOLDED])
def test_quotes_and_signatures_are_folded(label: str, text: str, visible: str) -> None:
    shown, quoted = body.fold(text)
    assert shown == visible
    assert quoted and quoted in text.replace("\r\n", "\n")


@pytest.mark.parametrize(
    "text",
    [
        "> Is the rate fixed?\nYes, it is.\n> And the term?\nTwelve months.",  # inline answers
        "My friend wrote:\nthe app is broken",  # no date, not "On ...": the customer's own line
        "> only a quote, nothing new",  # nothing of their own: keep everything visible
    ],
)
def test_own_words_are_never_folded(text: str) -> None:
    assert body.fold(text) == (text, "")


@pytest.mark.parametrize(
    ("headers", "sender"),
    [
        ({"Auto-Submitted": "auto-replied"}, "anna@customer.example"),
        ({"Auto-Submitted": "auto-generated; owner=x"}, "anna@customer.example"),
        ({"Precedence": "bulk"}, "anna@customer.example"),
        ({"Precedence": "junk"}, "anna@customer.example"),
        ({"Precedence": "list"}, "anna@customer.example"),
        ({"X-Autoreply": "yes"}, "anna@customer.example"),
        ({"X-Autorespond": "Out of office"}, "anna@customer.example"),
        ({}, "MAILER-DAEMON@mx.example"),
        ({}, "postmaster@customer.example"),
        ({"Return-Path": "<>"}, "anna@customer.example"),
    ],
)
def test_automatic_letters_are_recognised(headers: dict[str, str], sender: str) -> None:
    assert parse(letter("Away", sender=sender, headers=headers)).auto_submitted


def test_a_delivery_report_is_automatic_and_readable() -> None:
    raw = (
        b"From: Mail Delivery <mailer@mx.example>\r\nSubject: Undelivered\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nYour letter could not be delivered.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--b--\r\n"
    )
    report = parse(raw)
    assert report.auto_submitted
    assert report.text == "Your letter could not be delivered."
    assert report.files == []


def test_ordinary_letters_are_not_automatic() -> None:
    assert not parse(letter("Hi", headers={"Auto-Submitted": "no"})).auto_submitted
    assert not parse(letter("Hi")).auto_submitted


def test_headers_and_charsets_are_decoded() -> None:
    raw = (
        b"From: =?koi8-r?B?98HT0A==?= <Vasya@Customer.Example>\r\n"
        b"To: =?utf-8?b?0J/QvtC00LTQtdGA0LbQutCw?= <support@microlend.example>\r\n"
        b"Cc: loans@microlend.example\r\n"
        b"Subject: =?windows-1251?B?z+vg8uXm?=\r\nMessage-ID: <ID.1@Customer.Example>\r\n"
        b"Content-Type: text/plain; charset=windows-1251\r\n\r\n"
    ) + "Деньги не пришли".encode("cp1251")
    parsed = parse(raw)
    assert (parsed.from_name, parsed.from_address) == ("Васп", "vasya@customer.example")
    assert parsed.recipients == ["support@microlend.example", "loans@microlend.example"]
    assert parsed.subject == "Платеж"
    assert parsed.message_id == "ID.1@customer.example"
    assert parsed.text == "Деньги не пришли"
    assert parsed.problems == []


def test_html_only_letters_get_safe_html_and_text() -> None:
    parsed = parse(
        letter(
            None,
            html="<style>p{color:red}</style><p>Hi <img src=x onerror=alert(1)>"
            "<a href='https://microlend.example/faq'>FAQ</a></p><script>alert(2)</script>",
        )
    )
    assert parsed.text == "Hi FAQ"
    assert parsed.html is not None
    assert "alert" not in parsed.html and "color:red" not in parsed.html
    assert 'href="https://microlend.example/faq"' in parsed.html


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage without headers",
        b"From: a@b.c\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all",
        b"From: a@b.c\r\nContent-Type: text/plain; charset=no-such\r\n\r\n\xd0\xdf\x00 text",
        b"From: a@b.c\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%not base64%%%",
        b"From: \xff\xfe <\xff@b.c>\r\nSubject: \xd0\xbf\xd1\r\n\r\nbody",
    ],
)
def test_bad_letters_never_raise_and_stay_storable(raw: bytes) -> None:
    parsed = parse(raw)
    for value in (parsed.text, parsed.subject, parsed.from_address, parsed.from_name):
        value.encode("utf-8")  # no lone surrogates
        assert "\x00" not in value


def test_an_unknown_charset_is_read_and_reported() -> None:
    parsed = parse(
        b"From: a@b.c\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n"
        + "Привет".encode("cp1251")
    )
    assert parsed.problems and "x-unknown" in parsed.problems[0]
    assert parsed.text  # replaced characters, but stored


def test_a_huge_html_body_is_cut() -> None:
    parsed = parse(letter(None, html="<p>" + "word " * 1_000_000 + "</p>"))
    assert len(parsed.text) <= body.TEXT_MAX
    assert parsed.problems  # cut: the original is kept as a file by the inbound side


def test_attachments_and_attached_letters_become_files() -> None:
    inner = letter("The original letter", subject="Original")
    parsed = parse(
        letter(
            "See the files.",
            files=[("a.pdf", "application/pdf", b"%PDF-1.4"), ("fwd.eml", "message/rfc822", inner)],
        )
    )
    assert parsed.text == "See the files."
    names = [(f.filename, f.content_type) for f in parsed.files]
    assert names == [("a.pdf", "application/pdf"), ("fwd.eml", "text/plain")]
    assert b"The original letter" in parsed.files[1].data


def test_remote_images_are_dropped_so_opening_a_letter_tells_no_one() -> None:
    safe, cut = body.clean_html(
        '<p>Statement attached</p><img src="https://track.example/p.gif?id=7" alt="logo">'
        '<table background="https://track.example/bg.png"><tr><td>x</td></tr></table>'
        '<a href="https://microlend.example/help">help</a>'
    )
    assert not cut
    assert "track.example" not in safe
    assert 'alt="logo"' in safe
    assert 'href="https://microlend.example/help"' in safe  # links stay (never auto-loaded)
