"""What a survey says to the customer, in the customer's language.

An inbox's own texts (``SurveySetting.texts``) come first; every text it leaves empty
falls back to the defaults below, which exist in English, Russian and Ukrainian. Other
languages get the English defaults unless the admin wrote their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from omniline.autoreplies import languages

FIELDS = ("question", "comment", "thanks")
LANGUAGES = ("en", "ru", "uk")

DEFAULTS: dict[str, dict[str, dict[str, str]]] = {
    "csat": {
        "en": {
            "question": "How would you rate our help? 1 is very bad, 5 is excellent.",
            "comment": "Anything you would like to add?",
            "thanks": "Thank you for your rating!",
        },
        "ru": {
            "question": "Оцените, пожалуйста, нашу помощь: 1 — очень плохо, 5 — отлично.",
            "comment": "Хотите что-нибудь добавить?",
            "thanks": "Спасибо за оценку!",
        },
        "uk": {
            "question": "Оцініть, будь ласка, нашу допомогу: 1 — дуже погано, 5 — чудово.",
            "comment": "Бажаєте щось додати?",
            "thanks": "Дякуємо за оцінку!",
        },
    },
    "nps": {
        "en": {
            "question": "How likely are you to recommend us to a friend? 0 is not at all, "
            "10 is extremely likely.",
            "comment": "What is the main reason for your score?",
            "thanks": "Thank you for your answer!",
        },
        "ru": {
            "question": "Насколько вероятно, что вы порекомендуете нас другу? 0 — точно нет, "
            "10 — обязательно.",
            "comment": "Что главное повлияло на вашу оценку?",
            "thanks": "Спасибо за ответ!",
        },
        "uk": {
            "question": "Наскільки ймовірно, що ви порекомендуєте нас другові? 0 — точно ні, "
            "10 — обов'язково.",
            "comment": "Що найбільше вплинуло на вашу оцінку?",
            "thanks": "Дякуємо за відповідь!",
        },
    },
}


def language_of(candidates: Iterable[str | None]) -> str:
    """The first known language of the candidates, as its primary code; ``en`` otherwise."""
    code = languages.wanted(candidates)
    return languages.primary(code) if code else "en"


def texts_for(kind: str, own: Mapping[str, Any], language: str) -> dict[str, str]:
    """question, comment and thanks for ``language``: the inbox's text, else the default."""
    defaults = DEFAULTS.get(kind, DEFAULTS["csat"])
    base = defaults.get(language, defaults["en"])
    mine = own.get(language) if isinstance(own.get(language), dict) else {}
    return {f: str((mine or {}).get(f) or "").strip() or base[f] for f in FIELDS}
