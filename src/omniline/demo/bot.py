"""The demo lender's greeting bot in Russian, Ukrainian and English, and the small CRM it asks
about loan applications (demo mode only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bots import service as bots
from omniline.config import get_settings
from omniline.errors import NotFound, Unauthorized

CRM_TOKEN = "demo-crm-token"

router = APIRouter(include_in_schema=False)

# What the demo CRM knows: by client number, then by phone number (the hotline asks by the
# number a customer calls from).
APPLICATIONS: dict[str, dict[str, Any]] = {
    "client-42": {
        "status": "approved",
        "amount": 50000,
        "next_payment": "2026-12-20",
        "next_amount": 4250,
    },
    "+380501234567": {
        "status": "approved",
        "amount": 50000,
        "next_payment": "2026-12-20",
        "next_amount": 4250,
    },
    "+380671112233": {
        "status": "in_review",
        "amount": 15000,
        "next_payment": "—",
        "next_amount": 0,
    },
}
# The CRM answers in the language the bot asks in (Accept-Language).
STATUS_WORDS = {
    "approved": {"en": "approved", "ru": "одобрена", "uk": "схвалена"},
    "in_review": {"en": "being reviewed", "ru": "на рассмотрении", "uk": "на розгляді"},
}


@router.get("/demo/crm/applications")
async def demo_crm(
    client: str = "",
    phone: str = "",
    authorization: str = Header(default=""),
    accept_language: str = Header(default="en"),
) -> dict[str, Any]:
    """The lender's CRM, as the bot's HTTP step calls it."""
    if not get_settings().demo_mode:
        raise NotFound("the demo CRM exists only in demo mode")
    if authorization != f"Bearer {CRM_TOKEN}":
        raise Unauthorized("send the demo CRM token")
    found = APPLICATIONS.get(client[:200]) or APPLICATIONS.get(phone[:32])
    if found is None:
        raise NotFound("no application for this client")
    lang = accept_language[:2].lower()
    words = STATUS_WORDS[found["status"]]
    return {"application": {**found, "status_text": words.get(lang, words["en"])}}


def _t(en: str, ru: str, uk: str) -> dict[str, str]:
    return {"en": en, "ru": ru, "uk": uk}


GREETING: dict[str, Any] = {
    "languages": ["ru", "uk", "en"],
    "fallback_language": "en",
    "start": "menu",
    "nodes": [
        {
            "id": "menu",
            "type": "menu",
            "faq": True,
            "position": {"x": 40, "y": 180},
            "text": _t(
                "Hello! I am the MicroLend assistant. Choose a topic or type your question.",
                "Здравствуйте! Я помощник MicroLend. Выберите тему или напишите вопрос.",
                "Вітаємо! Я помічник MicroLend. Оберіть тему або напишіть запитання.",
            ),
            "options": [
                {"label": _t("Application status", "Статус заявки", "Статус заявки"),
                 "next": "known"},
                {"label": _t("How to repay", "Как погасить", "Як погасити"), "next": "repay"},
                {"label": _t("Credit holidays", "Кредитные каникулы", "Кредитні канікули"),
                 "next": "holidays"},
                {"label": _t("Complaint", "Жалоба", "Скарга"), "next": "complaint"},
                {"label": _t("Talk to a person", "Позвать человека", "Покликати людину"),
                 "next": "person"},
            ],
        },
        {
            "id": "known",
            "type": "condition",
            "position": {"x": 330, "y": 20},
            "branches": [{"all": [{"subject": "contact.external_id", "op": "exists"}],
                          "next": "crm_client"}],
            "otherwise": "phone",
        },
        {
            "id": "phone",
            "type": "ask",
            "position": {"x": 600, "y": 120},
            "variable": "phone",
            "check": "phone",
            "text": _t(
                "Please type the phone number from your application, e.g. +380 67 111 22 33.",
                "Напишите номер телефона из заявки, например +380 67 111 22 33.",
                "Напишіть номер телефону із заявки, наприклад +380 67 111 22 33.",
            ),
            "retry_text": _t(
                "That does not look like a phone number. Please try again with the country code.",
                "Это не похоже на номер телефона. Попробуйте ещё раз с кодом страны.",
                "Це не схоже на номер телефону. Спробуйте ще раз із кодом країни.",
            ),
            "next": "crm_phone",
            "failed": "person",
        },
        {
            "id": "crm_client",
            "type": "http",
            "position": {"x": 600, "y": -80},
            "url": "{{omniline.base_url}}/demo/crm/applications?client={{contact.external_id}}",
            "headers": {"Authorization": "Bearer {{secret.crm_token}}",
                        "Accept-Language": "{{language}}"},
            "save": {"status": "application.status_text", "amount": "application.amount",
                     "next_payment": "application.next_payment"},
            "next": "status",
            "error": "not_found",
        },
        {
            "id": "crm_phone",
            "type": "http",
            "position": {"x": 870, "y": 120},
            "url": "{{omniline.base_url}}/demo/crm/applications?phone={{phone}}",
            "headers": {"Authorization": "Bearer {{secret.crm_token}}",
                        "Accept-Language": "{{language}}"},
            "save": {"status": "application.status_text", "amount": "application.amount",
                     "next_payment": "application.next_payment"},
            "next": "status",
            "error": "not_found",
        },
        {
            "id": "status",
            "type": "message",
            "position": {"x": 1140, "y": 0},
            "text": _t(
                "Your application for {{amount}} UAH: {{status}}. Next payment: {{next_payment}}.",
                "Ваша заявка на {{amount}} грн: {{status}}. Следующий платёж: {{next_payment}}.",
                "Ваша заявка на {{amount}} грн: {{status}}. Наступний платіж: {{next_payment}}.",
            ),
            "next": "more",
        },
        {
            "id": "not_found",
            "type": "handoff",
            "position": {"x": 1140, "y": 200},
            "topic": "application status",
            "text": _t(
                "I could not find your application. A colleague will check it for you.",
                "Я не нашёл вашу заявку. Коллега проверит её для вас.",
                "Я не знайшов вашу заявку. Колега перевірить її для вас.",
            ),
        },
        {
            "id": "repay",
            "type": "message",
            "position": {"x": 330, "y": 260},
            "text": _t(
                "You can repay in the MicroLend app, by card on our site, or at any bank by "
                "the contract number. Early repayment has no fee.",
                "Погасить можно в приложении MicroLend, картой на сайте или в любом банке по "
                "номеру договора. Досрочное погашение без комиссии.",
                "Погасити можна в застосунку MicroLend, карткою на сайті або в будь-якому банку "
                "за номером договору. Дострокове погашення без комісії.",
            ),
            "next": "more",
        },
        {
            "id": "holidays",
            "type": "menu",
            "position": {"x": 330, "y": 420},
            "text": _t(
                "Credit holidays postpone payments for up to 3 months if your income fell. "
                "Shall I pass you to a specialist to apply?",
                "Кредитные каникулы откладывают платежи до 3 месяцев, если ваш доход снизился. "
                "Передать вас специалисту для оформления?",
                "Кредитні канікули відкладають платежі до 3 місяців, якщо ваш дохід знизився. "
                "Передати вас фахівцю для оформлення?",
            ),
            "options": [
                {"label": _t("Yes, apply", "Да, оформить", "Так, оформити"),
                 "next": "holidays_person"},
                {"label": _t("No, thanks", "Нет, спасибо", "Ні, дякую"), "next": "more"},
            ],
        },
        {
            "id": "holidays_person",
            "type": "handoff",
            "position": {"x": 600, "y": 420},
            "topic": "credit holidays",
            "queue": "Business assistants",
        },
        {
            "id": "complaint",
            "type": "handoff",
            "position": {"x": 330, "y": 580},
            "topic": "complaint",
            "queue": "Complaints",
            "priority": 5,
            "text": _t(
                "I am sorry to hear that. I am passing you to our complaints team.",
                "Нам жаль это слышать. Передаю вас отделу жалоб.",
                "Нам шкода це чути. Передаю вас відділу скарг.",
            ),
        },
        {
            "id": "person",
            "type": "handoff",
            "position": {"x": 330, "y": 720},
            "topic": "person",
        },
        {
            "id": "more",
            "type": "menu",
            "faq": True,
            "position": {"x": 1410, "y": 260},
            "text": _t("Anything else?", "Что-нибудь ещё?", "Щось іще?"),
            "options": [
                {"label": _t("Back to the menu", "В меню", "До меню"), "next": "menu"},
                {"label": _t("No, thank you", "Нет, спасибо", "Ні, дякую"), "next": "bye"},
            ],
        },
        {
            "id": "bye",
            "type": "end",
            "position": {"x": 1680, "y": 260},
            "text": _t(
                "Thank you for contacting MicroLend. Have a good day!",
                "Спасибо, что обратились в MicroLend. Хорошего дня!",
                "Дякуємо, що звернулися до MicroLend. Гарного дня!",
            ),
        },
    ],
    "faq": [
        {
            "key": "repay_methods",
            "examples": {
                "en": ["how can I pay my loan", "where do I make a payment",
                       "can I pay by card", "payment methods for the loan"],
                "ru": ["как оплатить кредит", "где внести платёж", "можно оплатить картой",
                       "способы погашения займа"],
            },
            "answer": _t(
                "Pay in the MicroLend app, by card on our site, or at any bank by the contract "
                "number.",
                "Оплатить можно в приложении MicroLend, картой на сайте или в любом банке по "
                "номеру договора.",
                "Сплатити можна в застосунку MicroLend, карткою на сайті або в будь-якому банку "
                "за номером договору.",
            ),
        },
        {
            "key": "early_repayment",
            "examples": {
                "en": ["can I repay early", "I want to close the loan before the term",
                       "early repayment fee", "pay off the whole loan now"],
                "ru": ["можно погасить досрочно", "хочу закрыть займ раньше срока",
                       "есть ли комиссия за досрочное погашение", "погасить весь кредит сейчас"],
            },
            "answer": _t(
                "Yes, at any time and without a fee: choose \"Repay in full\" in the app.",
                "Да, в любой момент и без комиссии: выберите «Погасить полностью» в приложении.",
                "Так, будь-коли й без комісії: оберіть «Погасити повністю» в застосунку.",
            ),
        },
        {
            "key": "interest_rate",
            "examples": {
                "en": ["what is the interest rate", "how much interest do you charge",
                       "annual rate of the loan", "how much will I overpay"],
                "ru": ["какая процентная ставка", "сколько процентов по займу",
                       "годовая ставка кредита", "какая переплата"],
            },
            "answer": _t(
                "The rate is in your contract; for new Micro 50 loans it is 0.9 % a day, with "
                "the full cost shown before you sign.",
                "Ставка указана в договоре; для новых займов Micro 50 — 0,9 % в день, полная "
                "стоимость видна до подписания.",
                "Ставка зазначена в договорі; для нових позик Micro 50 — 0,9 % на день, повна "
                "вартість видна до підписання.",
            ),
        },
        {
            "key": "documents",
            "examples": {
                "en": ["what documents do I need", "which papers are required for a loan",
                       "do I need a passport", "documents to apply"],
                "ru": ["какие документы нужны", "что нужно для оформления займа",
                       "нужен ли паспорт", "документы для заявки"],
            },
            "answer": _t(
                "A passport or ID card and your tax number; a salary statement for loans above "
                "50,000 UAH.",
                "Паспорт или ID-карта и ИНН; справка о доходах для займов больше 50 000 грн.",
                "Паспорт або ID-картка та РНОКПП; довідка про доходи для позик понад 50 000 грн.",
            ),
        },
    ],
}  # fmt: skip


async def install(session: AsyncSession, workspace_id: int, inbox_id: int) -> None:
    """The greeting flow published, its CRM secret stored, and the widget greeting with it."""
    await bots.do_set_secret(session, workspace_id, "crm_token", CRM_TOKEN)
    flow = await bots.do_create_flow(session, workspace_id, "greeting", "MicroLend greeting")
    await bots.do_save_draft(session, workspace_id, flow.id, GREETING)
    await bots.do_publish(session, workspace_id, flow.id, user_name="demo", note="demo flow")
    await bots.do_set_inbox_flow(session, workspace_id, inbox_id, flow.id)
