"""The demo hotline's phone menu in Ukrainian, Russian and English (demo mode only).

Heard, not read: the line reads each option with its digit and adds "press 0 for an
operator" by itself. 1 reads the caller's next payment from the demo CRM by the number
they call from; 2 books a callback (``callback=yes`` before a handoff); 0 is an operator.
"""

from __future__ import annotations

from typing import Any


def _t(en: str, ru: str, uk: str) -> dict[str, str]:
    return {"en": en, "ru": ru, "uk": uk}


CRM_HEADERS = {"Authorization": "Bearer {{secret.crm_token}}", "Accept-Language": "{{language}}"}

PHONE_MENU: dict[str, Any] = {
    "languages": ["uk", "ru", "en"],
    "fallback_language": "uk",
    "start": "menu",
    "nodes": [
        {
            "id": "menu",
            "type": "menu",
            "position": {"x": 40, "y": 160},
            "text": _t(
                "Welcome to MicroLend.",
                "Добро пожаловать в MicroLend.",
                "Вітаємо у MicroLend.",
            ),
            "options": [
                {"label": _t("your loan and next payment", "Ваш займ и следующий платёж",
                             "Ваша позика і наступний платіж"), "next": "crm"},
                {"label": _t("a call back", "Обратный звонок", "Зворотний дзвінок"),
                 "next": "want_callback"},
            ],
        },
        {
            "id": "crm",
            "type": "http",
            "position": {"x": 330, "y": 40},
            "url": "{{omniline.base_url}}/demo/crm/applications?phone={{contact.phone}}",
            "headers": CRM_HEADERS,
            "save": {"status": "application.status_text",
                     "next_payment": "application.next_payment",
                     "next_amount": "application.next_amount"},
            "next": "payment",
            "error": "not_found",
        },
        {
            "id": "payment",
            "type": "message",
            "position": {"x": 620, "y": 0},
            "text": _t(
                "Your loan is {{status}}. Your next payment of {{next_amount}} hryvnias is due "
                "on {{next_payment}}.",
                "Ваш займ: {{status}}. Следующий платёж — {{next_amount}} гривен, "
                "до {{next_payment}}.",
                "Ваша позика: {{status}}. Наступний платіж — {{next_amount}} гривень, "
                "до {{next_payment}}.",
            ),
            "next": "bye",
        },
        {
            "id": "not_found",
            "type": "handoff",
            "position": {"x": 620, "y": 120},
            "topic": "loan status",
            "text": _t(
                "We could not find a loan for this number. Connecting you to an operator.",
                "Мы не нашли займ по этому номеру. Соединяем с оператором.",
                "Ми не знайшли позику за цим номером. З'єднуємо з оператором.",
            ),
        },
        {
            "id": "want_callback",
            "type": "set",
            "position": {"x": 330, "y": 260},
            "name": "callback",
            "value": "yes",
            "next": "callback",
        },
        {
            "id": "callback",
            "type": "handoff",
            "position": {"x": 620, "y": 260},
            "topic": "callback",
            # The line then says when we will call back; "please wait" would mislead here.
            "text": _t("All right.", "Хорошо.", "Гаразд."),
        },
        {
            "id": "bye",
            "type": "end",
            "position": {"x": 900, "y": 0},
            "text": _t(
                "Thank you for calling MicroLend. Goodbye!",
                "Спасибо за звонок в MicroLend. До свидания!",
                "Дякуємо за дзвінок до MicroLend. До побачення!",
            ),
        },
    ],
}  # fmt: skip
